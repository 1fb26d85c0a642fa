/*
 * seed_fn.c - the seed's fn() example (seed-dynamic-domains.txt), line for line, through the C ABI:
 *
 *   base_domain = iommu_domain_alloc(bus); dyn_domain1 = ...; dyn_domain2 = ...;
 *   iommu_attach_device(base_domain, dev);
 *   iommu_domain_set_attr(dyn_domainN, DOMAIN_ATTR_DYNAMIC, &dynamic);   (+ CONTEXT_BANK from the base)
 *   iommu_attach_device(dyn_domainN, dev);
 *   while (keep_going) { map dyn1; map dyn2; use_domain(dyn1, job1); use_domain(dyn2, job2);
 *                        unmap dyn1; unmap dyn2; }
 *   iommu_detach_device(dyn_domain2, dev); ...(dyn_domain1)...; ...(base_domain)...;
 *
 * Every translation must go through the active domain's tables: the base and both dynamic domains
 * map the same IOVAs to different PAs, and the PAs change every iteration (so a stale TLB entry
 * left by an unmap would show). At the end, with every domain freed, no table page is in use.
 */
#include <string.h>

#include "check.h"

#define DEV 3u                          /* the GPU's stream ID */
#define KEEP_GOING 64                   /* iterations of the seed's while (keep_going) */
#define PAGE 0x1000ull
#define JOB_IOVA 0x10000000ull          /* the same IOVAs in every domain */
#define JOB_PAGES 16ull
#define JOB_SIZE (JOB_PAGES * PAGE)
#define BASE_PA 0x700000000ull          /* what the base domain maps at JOB_IOVA */
#define DYN1_PA 0x800000000ull
#define DYN2_PA 0x900000000ull
#define RW (SMMU_PROT_READ | SMMU_PROT_WRITE)

static smmu_t smmu;
static smmu_domain_t base_domain;

struct job {
    const char *name;
    smmu_domain_t domain;
    uint64_t pa;        /* where JOB_IOVA maps in this iteration */
    uint32_t procid;
};

/* The seed's use_domain(dyn_domain, job): point the bank at the domain, then run the job's
 * transactions: every page twice, the first pass walks (the pages were just mapped), the second hits. */
static void use_domain(smmu_domain_t d, const struct job *job, int iter)
{
    smmu_cb_state cb;
    smmu_stats before, after;
    uint64_t p;
    int pass, bad = 0;

    CHECK_RC(0, smmu_switch_domain(smmu, d));
    cb = cb_of(smmu, 0);
    CHECK(cb.active_domain == d, "iter %d %s: CB active_domain 0x%08x, expected 0x%08x", iter, job->name,
          cb.active_domain, d);
    CHECK(cb.asid == attr_u32(smmu, d, SMMU_ATTR_ASID), "iter %d %s: CB asid %u is not the domain's ASID", iter,
          job->name, cb.asid);
    CHECK(cb.ttbr0 == attr_ttbr0(smmu, d), "iter %d %s: CB ttbr0 0x%llx is not the domain's TTBR0 0x%llx", iter,
          job->name, (unsigned long long)cb.ttbr0, (unsigned long long)attr_ttbr0(smmu, d));
    CHECK(cb.contextidr == job->procid, "iter %d %s: CB contextidr %u, expected PROCID %u", iter, job->name,
          cb.contextidr, job->procid);
    CHECK(cb.in_use == 1 && cb.base_domain == base_domain && cb.dynamic_count == 2 && cb.stream_count == 1,
          "iter %d %s: CB ownership changed by a switch (in_use %u base 0x%08x dyn %u streams %u)", iter, job->name,
          cb.in_use, cb.base_domain, cb.dynamic_count, cb.stream_count);

    for (pass = 0; pass < 2; pass++) {
        before = stats_of(smmu);
        for (p = 0; p < JOB_PAGES; p++) {
            uint64_t off = p * PAGE + ((p * 0x88) & 0xff8);
            int32_t rc;
            uint64_t pa = xlate(smmu, DEV, JOB_IOVA + off, SMMU_ACCESS_READ | SMMU_ACCESS_WRITE, &rc);
            if (rc != 0 || pa != job->pa + off) {
                if (bad++ < 3)
                    CHECK(0, "iter %d %s pass %d: translate(0x%llx) -> rc %d pa 0x%llx, expected 0x%llx (%s)", iter,
                          job->name, pass, (unsigned long long)(JOB_IOVA + off), rc, (unsigned long long)pa,
                          (unsigned long long)(job->pa + off),
                          pa == BASE_PA + off ? "the base domain's tables" : "not the active domain's tables");
            }
        }
        after = stats_of(smmu);
        if (pass == 0)
            CHECK(after.tlb_misses - before.tlb_misses == JOB_PAGES,
                  "iter %d %s: first pass over freshly mapped pages: %llu TLB misses, expected %llu", iter, job->name,
                  (unsigned long long)(after.tlb_misses - before.tlb_misses), JOB_PAGES);
        else
            CHECK(after.tlb_hits - before.tlb_hits == JOB_PAGES && after.tlb_misses == before.tlb_misses,
                  "iter %d %s: second pass: %llu hits %llu misses, expected %llu hits 0 misses", iter, job->name,
                  (unsigned long long)(after.tlb_hits - before.tlb_hits),
                  (unsigned long long)(after.tlb_misses - before.tlb_misses), JOB_PAGES);
    }
    CHECK(bad == 0, "iter %d %s: %d of %llu translations went wrong", iter, job->name, bad, 2 * JOB_PAGES);
}

static void fn(void)
{
    smmu_domain_t dyn_domain1, dyn_domain2;
    int32_t dynamic = 1;
    uint32_t cb_index = UINT32_MAX, procid;
    struct job job1 = { "dyn_domain1", 0, 0, 0x1111 }, job2 = { "dyn_domain2", 0, 0, 0x2222 };
    smmu_stats s;
    smmu_cb_state cb;
    uint64_t ttbr0_dyn1, ttbr0_dyn2;
    int iter;

    base_domain = make_domain(smmu);                               /* iommu_domain_alloc(bus) */
    dyn_domain1 = make_domain(smmu);
    dyn_domain2 = make_domain(smmu);
    CHECK(base_domain && dyn_domain1 && dyn_domain2 && base_domain != dyn_domain1 && dyn_domain1 != dyn_domain2
              && base_domain != dyn_domain2,
          "three distinct non-zero domain handles (0x%08x 0x%08x 0x%08x)", base_domain, dyn_domain1, dyn_domain2);
    s = stats_of(smmu);
    CHECK(s.pt_pages_in_use == 3, "three empty domains use three root pages, got %llu",
          (unsigned long long)s.pt_pages_in_use);

    CHECK_RC(0, smmu_attach_device(smmu, base_domain, DEV));      /* iommu_attach_device(base_domain, dev) */
    CHECK_RC(0, smmu_map(smmu, base_domain, JOB_IOVA, BASE_PA, JOB_SIZE, RW));

    CHECK_RC(0, smmu_domain_set_attr(smmu, dyn_domain1, SMMU_ATTR_DYNAMIC, &dynamic, sizeof dynamic));
    CHECK_RC(0, smmu_domain_set_attr(smmu, dyn_domain2, SMMU_ATTR_DYNAMIC, &dynamic, sizeof dynamic));
    CHECK_RC(0, smmu_domain_get_attr(smmu, base_domain, SMMU_ATTR_CONTEXT_BANK, &cb_index, sizeof cb_index));
    CHECK(cb_index == 0, "the first base domain takes context bank 0, got %u", cb_index);
    CHECK_RC(0, smmu_domain_set_attr(smmu, dyn_domain1, SMMU_ATTR_CONTEXT_BANK, &cb_index, sizeof cb_index));
    CHECK_RC(0, smmu_domain_set_attr(smmu, dyn_domain2, SMMU_ATTR_CONTEXT_BANK, &cb_index, sizeof cb_index));
    procid = job1.procid;
    CHECK_RC(0, smmu_domain_set_attr(smmu, dyn_domain1, SMMU_ATTR_PROCID, &procid, sizeof procid));
    procid = job2.procid;
    CHECK_RC(0, smmu_domain_set_attr(smmu, dyn_domain2, SMMU_ATTR_PROCID, &procid, sizeof procid));
    CHECK_RC(0, smmu_attach_device(smmu, dyn_domain1, DEV));      /* iommu_attach_device(dyn_domain1, dev) */
    CHECK_RC(0, smmu_attach_device(smmu, dyn_domain2, DEV));      /* iommu_attach_device(dyn_domain2, dev) */

    cb = cb_of(smmu, 0);
    CHECK(cb.active_domain == base_domain && cb.ttbr0 == attr_ttbr0(smmu, base_domain) && cb.dynamic_count == 2,
          "attaching dynamic domains leaves the bank at the base (active 0x%08x, dynamic_count %u)",
          cb.active_domain, cb.dynamic_count);
    {
        uint32_t a0 = attr_u32(smmu, base_domain, SMMU_ATTR_ASID), a1 = attr_u32(smmu, dyn_domain1, SMMU_ATTR_ASID),
                 a2 = attr_u32(smmu, dyn_domain2, SMMU_ATTR_ASID);
        CHECK(a0 && a1 && a2 && a0 != a1 && a1 != a2 && a0 != a2, "three distinct non-zero ASIDs (%u %u %u)", a0, a1,
              a2);
    }

    job1.domain = dyn_domain1;
    job2.domain = dyn_domain2;
    ttbr0_dyn1 = attr_ttbr0(smmu, dyn_domain1);
    ttbr0_dyn2 = attr_ttbr0(smmu, dyn_domain2);
    for (iter = 0; iter < KEEP_GOING; iter++) {                   /* while (keep_going) */
        int64_t n1, n2;
        job1.pa = DYN1_PA + (uint64_t)iter * JOB_SIZE;
        job2.pa = DYN2_PA + (uint64_t)iter * JOB_SIZE;
        CHECK_RC(0, smmu_map(smmu, dyn_domain1, JOB_IOVA, job1.pa, JOB_SIZE, RW));    /* iommu_map(dyn_domain1, ...) */
        CHECK_RC(0, smmu_map(smmu, dyn_domain2, JOB_IOVA, job2.pa, JOB_SIZE, RW));    /* iommu_map(dyn_domain2, ...) */
        use_domain(dyn_domain1, &job1, iter);                                          /* use_domain(dyn_domain1, job1) */
        use_domain(dyn_domain2, &job2, iter);                                          /* use_domain(dyn_domain2, job2) */
        n1 = smmu_unmap(smmu, dyn_domain1, JOB_IOVA, JOB_SIZE);                        /* iommu_unmap(dyn_domain1, ...) */
        n2 = smmu_unmap(smmu, dyn_domain2, JOB_IOVA, JOB_SIZE);                        /* iommu_unmap(dyn_domain2, ...) */
        CHECK(n1 == (int64_t)JOB_SIZE && n2 == (int64_t)JOB_SIZE, "iter %d: unmap returned %lld and %lld, expected %llu",
              iter, (long long)n1, (long long)n2, JOB_SIZE);
        CHECK(attr_ttbr0(smmu, dyn_domain1) == ttbr0_dyn1 && attr_ttbr0(smmu, dyn_domain2) == ttbr0_dyn2,
              "iter %d: the dynamic domains' roots and ASIDs (TTBR0) never move while they live", iter);
        s = stats_of(smmu);
        CHECK(s.pt_pages_in_use == 6, "iter %d: after both unmaps the emptied tables are back in the pool: "
              "%llu pages in use, expected 6 (3 roots + the base's 3 tables)", iter, (unsigned long long)s.pt_pages_in_use);
    }

    /* dyn_domain2 was active: its detach puts the bank back on the base domain's tables. */
    CHECK_RC(0, smmu_detach_device(smmu, dyn_domain2, DEV));      /* iommu_detach_device(dyn_domain2, dev) */
    cb = cb_of(smmu, 0);
    CHECK(cb.active_domain == base_domain && cb.ttbr0 == attr_ttbr0(smmu, base_domain) && cb.in_use == 1
              && cb.dynamic_count == 1 && cb.stream_count == 1,
          "detaching the active dynamic domain falls back to the base (active 0x%08x ttbr0 0x%llx dyn %u)",
          cb.active_domain, (unsigned long long)cb.ttbr0, cb.dynamic_count);
    {
        int32_t rc;
        uint64_t pa = xlate(smmu, DEV, JOB_IOVA + 0x123, SMMU_ACCESS_READ, &rc);
        CHECK(rc == 0 && pa == BASE_PA + 0x123, "after the fallback translations use the base's tables: rc %d pa 0x%llx",
              rc, (unsigned long long)pa);
    }
    CHECK_RC(0, smmu_detach_device(smmu, dyn_domain1, DEV));      /* iommu_detach_device(dyn_domain1, dev) */
    CHECK_RC(0, smmu_detach_device(smmu, base_domain, DEV));      /* iommu_detach_device(base_domain, dev) */
    cb = cb_of(smmu, 0);
    CHECK(cb.in_use == 0 && cb.ttbr0 == 0 && cb.stream_count == 0 && cb.dynamic_count == 0,
          "the base's last detach resets the bank (in_use %u ttbr0 0x%llx)", cb.in_use, (unsigned long long)cb.ttbr0);
    CHECK_RC(SMMU_ENODEV, smmu_translate(smmu, DEV, JOB_IOVA, SMMU_ACCESS_READ, &(uint64_t){ 0 }));

    CHECK_RC(0, smmu_domain_free(smmu, dyn_domain2));
    CHECK_RC(0, smmu_domain_free(smmu, dyn_domain1));
    CHECK_RC(0, smmu_domain_free(smmu, base_domain));             /* still holds its mapping: freed with it */
    s = stats_of(smmu);
    CHECK(s.pt_pages_in_use == 0, "after freeing every domain no table page is in use, got %llu",
          (unsigned long long)s.pt_pages_in_use);
    CHECK(s.pt_pages_in_use + s.pt_pages_free == (64ull << 20) / PAGE, "pool pages in use + free = %llu, expected %llu",
          (unsigned long long)(s.pt_pages_in_use + s.pt_pages_free), (64ull << 20) / PAGE);
    CHECK(s.switches == 2ull * KEEP_GOING, "switches counted: %llu, expected %d", (unsigned long long)s.switches,
          2 * KEEP_GOING);
    CHECK(s.tlb_hits + s.tlb_misses == s.translations, "hits %llu + misses %llu = translations %llu",
          (unsigned long long)s.tlb_hits, (unsigned long long)s.tlb_misses, (unsigned long long)s.translations);
}

int main(void)
{
    smmu_config cfg;
    smmu_config_init(&cfg);
    smmu = make_smmu(&cfg);
    if (smmu == 0)
        return check_summary("seed_fn");
    fn();
    CHECK_RC(0, smmu_destroy(smmu));
    return check_summary("seed_fn");
}
