/*
 * nested_vm.c - a VM whose GPU driver runs the seed's dynamic domains, through the C ABI: stage 2
 * (SMMU_ATTR_STAGE = 2) is the VM's memory, the guest's base domain names it as NEST_PARENT, and
 * every guest translation goes IOVA -> IPA -> PA.
 *
 *   - the hypervisor's stage 2 maps the table pool IPA = PA (the guest's tables are IPAs; see the
 *     attach comment in smmu.h), page by page as KVM faults guest memory in, and the guest's RAM at
 *     IPA 0x80000000 to host PAs that are not 2 MiB aligned (4 KiB leaves), plus one page read-only;
 *   - VMID: SMMU_ATTR_VMID and SMMU_ATTR_VTTBR of the stage-2 domain and of the guest's domains,
 *     cb_state vmid / vttbr / flags (regime 2), the VMID freed with the last user;
 *   - the seed in the guest: processes (dynamic domains) at the same IOVAs, switch, translate to the
 *     host PA behind each process's IPA; each nested miss reads 24 descriptors (4 stage-1 levels x
 *     (4 stage-2 reads + 1) + 4 for the output IPA), and switching processes on a warm working set
 *     costs 0 misses and invalidates nothing;
 *   - faults: stage 2 with S1PTW when the hypervisor unmaps a page holding a guest table (the record
 *     names the IPA of the descriptor the walk wanted), stage-2 permission on data the hypervisor
 *     mapped read-only, a stage-2 translation fault on an IPA it never backed, and for contrast a
 *     stage-1 permission fault;
 *   - with the pool backed by 2 MiB blocks instead, a nested miss reads 20 descriptors.
 *
 * The C# twin is bench/Seed/NestedVmScenario.cs.
 */
#include "scenario.h"

#define DEV 4u
#define PROCS 4
#define PAGE 0x1000ull
#define MIB (1ull << 20)
#define RW (SMMU_PROT_READ | SMMU_PROT_WRITE)
#define RD SMMU_ACCESS_READ
#define WR SMMU_ACCESS_WRITE
#define ADDR_MASK 0x0000ffffffffffffull

#define POOL_BASE 0x40000000ull
#define POOL_BYTES (16 * MIB)
#define GUEST_RAM_IPA 0x80000000ull         /* the guest's RAM, as the guest sees it */
#define GUEST_RAM_BYTES (2 * MIB)
#define HOST_RAM_PA 0x2000001000ull         /* where the host put it: one page off 2 MiB (4 KiB leaves) */
#define RO_IPA 0x80200000ull                /* a page the hypervisor shares read-only */
#define RO_PA 0x2000401000ull
#define UNBACKED_IPA 0x90000000ull          /* an IPA the hypervisor never mapped */

#define JOB_IOVA 0x10000000ull              /* the seed's IOVAs, the same in every process */
#define JOB_PAGES 16
#define SHARED_IOVA 0x20000000ull           /* process 0: the read-only shared page, mapped RW by the guest */
#define RO_S1_IOVA 0x20001000ull            /* process 0: a guest page the guest itself maps read-only */
#define HOLE_IOVA 0x20002000ull             /* process 0: mapped by the guest to UNBACKED_IPA */
#define WARM_ROUNDS 32

/* Process p's buffer (p = -1: the guest's base domain), in guest RAM. */
static uint64_t proc_ipa(int p) { return GUEST_RAM_IPA + (uint64_t)(p + 1) * JOB_PAGES * PAGE; }
static uint64_t host_pa(uint64_t ipa) { return HOST_RAM_PA + (ipa - GUEST_RAM_IPA); }

struct vm {
    smmu_t smmu;
    smmu_domain_t s2, other_s2, base, proc[PROCS];
    uint32_t cb, vmid, base_asid, proc_asid[PROCS];
};

static uint64_t attr_u64(smmu_t smmu, smmu_domain_t d, uint32_t attr)
{
    uint64_t v = UINT64_MAX;
    CHECK_RC(0, smmu_domain_get_attr(smmu, d, attr, &v, sizeof v));
    return v;
}

/* The hypervisor backs the table pool IPA = PA: page by page, or in one call (2 MiB blocks). */
static int map_pool(struct vm *v, int pages)
{
    uint64_t off;
    int bad = 0;
    if (!pages)
        return CHECK_RC(0, smmu_map(v->smmu, v->s2, POOL_BASE, POOL_BASE, POOL_BYTES, RW));
    for (off = 0; off < POOL_BYTES; off += PAGE)
        if (smmu_map(v->smmu, v->s2, POOL_BASE + off, POOL_BASE + off, PAGE, RW) != SMMU_OK)
            bad++;
    return CHECK(bad == 0, "the pool's %llu pages mapped IPA = PA, %d failed", POOL_BYTES / PAGE, bad);
}

/* ---- the VM ------------------------------------------------------------------------------------------ */

static int vm_up(struct vm *v)
{
    smmu_config cfg;
    uint32_t two = 2, u = 0;
    uint64_t pa = 0, vttbr;
    smmu_cb_state cb;
    smmu_domain_t s1_other;
    int p;

    memset(v, 0, sizeof *v);
    smmu_config_init(&cfg);
    cfg.pt_pool_base = POOL_BASE;
    cfg.pt_pool_bytes = POOL_BYTES;
    v->smmu = make_smmu(&cfg);
    if (!v->smmu)
        return 0;

    /* The hypervisor's stage 2: the VM's memory. */
    v->s2 = make_domain(v->smmu);
    if (!CHECK_RC(0, smmu_domain_set_attr(v->smmu, v->s2, SMMU_ATTR_STAGE, &two, sizeof two)))
        return 0;
    CHECK_RC(0, smmu_domain_get_attr(v->smmu, v->s2, SMMU_ATTR_STAGE, &u, sizeof u));
    CHECK(u == 2, "STAGE reads back 2, got %u", u);
    CHECK_RC(SMMU_ENODEV, smmu_domain_get_attr(v->smmu, v->s2, SMMU_ATTR_VMID, &u, sizeof u));
    CHECK_RC(SMMU_EINVAL, smmu_map(v->smmu, v->s2, GUEST_RAM_IPA, HOST_RAM_PA, PAGE, RW | SMMU_PROT_GLOBAL));
    if (!map_pool(v, 1))
        return 0;
    if (!CHECK_RC(0, smmu_map(v->smmu, v->s2, GUEST_RAM_IPA, HOST_RAM_PA, GUEST_RAM_BYTES, RW))
        || !CHECK_RC(0, smmu_map(v->smmu, v->s2, RO_IPA, RO_PA, PAGE, SMMU_PROT_READ)))
        return 0;
    CHECK_RC(0, smmu_iova_to_phys(v->smmu, v->s2, POOL_BASE + 0x123000, &pa));
    CHECK(pa == POOL_BASE + 0x123000, "stage 2: a pool IPA maps to the same PA, got 0x%llx", (unsigned long long)pa);
    CHECK_RC(0, smmu_iova_to_phys(v->smmu, v->s2, GUEST_RAM_IPA + 0x5008, &pa));
    CHECK(pa == HOST_RAM_PA + 0x5008, "stage 2: guest RAM -> host 0x%llx", (unsigned long long)pa);
    CHECK_RC(SMMU_ENOENT, smmu_iova_to_phys(v->smmu, v->s2, UNBACKED_IPA, &pa));
    v->other_s2 = make_domain(v->smmu);
    CHECK_RC(0, smmu_domain_set_attr(v->smmu, v->other_s2, SMMU_ATTR_STAGE, &two, sizeof two));

    /* The guest's base domain, nested under it. */
    v->base = make_domain(v->smmu);
    s1_other = make_domain(v->smmu);
    u = s1_other;
    CHECK_RC(SMMU_EINVAL, smmu_domain_set_attr(v->smmu, v->base, SMMU_ATTR_NEST_PARENT, &u, sizeof u));
    u = 0x8badf00du;
    CHECK_RC(SMMU_EBADF, smmu_domain_set_attr(v->smmu, v->base, SMMU_ATTR_NEST_PARENT, &u, sizeof u));
    CHECK_RC(0, smmu_domain_free(v->smmu, s1_other));
    u = v->s2;
    if (!CHECK_RC(0, smmu_domain_set_attr(v->smmu, v->base, SMMU_ATTR_NEST_PARENT, &u, sizeof u)))
        return 0;
    u = 0;
    CHECK_RC(0, smmu_domain_get_attr(v->smmu, v->base, SMMU_ATTR_NEST_PARENT, &u, sizeof u));
    CHECK(u == v->s2, "NEST_PARENT reads back the stage-2 domain 0x%08x, got 0x%08x", v->s2, u);
    CHECK_RC(SMMU_EINVAL, smmu_domain_set_attr(v->smmu, v->base, SMMU_ATTR_STAGE, &two, sizeof two));
    CHECK_RC(SMMU_EBUSY, smmu_domain_free(v->smmu, v->s2));
    if (!CHECK_RC(0, smmu_map(v->smmu, v->base, JOB_IOVA, proc_ipa(-1), JOB_PAGES * PAGE, RW))
        || !CHECK_RC(0, smmu_attach_device(v->smmu, v->base, DEV)))
        return 0;
    v->cb = attr_u32(v->smmu, v->base, SMMU_ATTR_CONTEXT_BANK);
    v->base_asid = attr_u32(v->smmu, v->base, SMMU_ATTR_ASID);

    /* VMID and VTTBR: given at the first user's attach, the same seen from either domain and the bank. */
    v->vmid = attr_u32(v->smmu, v->s2, SMMU_ATTR_VMID);
    vttbr = attr_u64(v->smmu, v->s2, SMMU_ATTR_VTTBR);
    cb = cb_of(v->smmu, v->cb);
    CHECK(v->vmid != 0 && v->vmid < 0x8000, "the VM has a VMID: %u", v->vmid);
    CHECK(cb.vmid == v->vmid, "CB vmid %u = the stage-2 domain's VMID %u", cb.vmid, v->vmid);
    CHECK(attr_u32(v->smmu, v->base, SMMU_ATTR_VMID) == v->vmid, "the guest's base domain reads its bank's VMID");
    CHECK(cb.vttbr == vttbr && attr_u64(v->smmu, v->base, SMMU_ATTR_VTTBR) == vttbr,
          "CB vttbr 0x%llx = SMMU_ATTR_VTTBR 0x%llx", (unsigned long long)cb.vttbr, (unsigned long long)vttbr);
    CHECK(vttbr >> 48 == v->vmid, "VTTBR[63:48] = VMID (%llu)", (unsigned long long)(vttbr >> 48));
    CHECK((vttbr & ADDR_MASK) >= POOL_BASE && (vttbr & ADDR_MASK) < POOL_BASE + POOL_BYTES && (vttbr & 0xfff) == 0,
          "VTTBR's table 0x%llx is a page of the pool", (unsigned long long)(vttbr & ADDR_MASK));
    CHECK(cb.flags == 2u << SMMU_CB_REGIME_SHIFT, "CB flags 0x%x: regime 2 (nested), not split, TTBR0 enabled", cb.flags);
    CHECK(cb.asid == v->base_asid && cb.ttbr0 == attr_ttbr0(v->smmu, v->base) && cb.active_domain == v->base
              && cb.granule == 4096 && cb.ttbr1 == 0,
          "CB stage 1: the guest's base domain, ASID %u, TTBR0 0x%llx", cb.asid, (unsigned long long)cb.ttbr0);
    CHECK(attr_u64(v->smmu, v->base, SMMU_ATTR_TTBR1) == 0, "SMMU_ATTR_TTBR1 of a bank that is not split reads 0");
    CHECK_RC(SMMU_EPERM, smmu_domain_set_attr(v->smmu, v->s2, SMMU_ATTR_VMID, &v->vmid, sizeof v->vmid));
    CHECK_RC(SMMU_EPERM, smmu_domain_set_attr(v->smmu, v->s2, SMMU_ATTR_VTTBR, &vttbr, sizeof vttbr));
    {
        /* The stage-2 walk of a guest table address: a pool page, read bit by bit (S2AP, AF, 4 KiB page). */
        struct sw_walk w = sw_walk(v->smmu, vttbr & ADDR_MASK, cb.ttbr0 & ADDR_MASK, 12, 48);
        CHECK(w.ok && w.leaf_level == 3 && desc_address(w.desc[3], 12) == (cb.ttbr0 & ADDR_MASK),
              "stage 2 maps the guest root's IPA to itself with a level-3 page (ok %d level %d)", w.ok, w.leaf_level);
        CHECK((w.desc[3] & DESC_AF) && (w.desc[3] & DESC_AP1) && (w.desc[3] & DESC_AP2) && !(w.desc[3] & DESC_NG),
              "stage-2 leaf 0x%llx: AF, S2AP read (6) and write (7), no nG", (unsigned long long)w.desc[3]);
        CHECK(((w.desc[3] >> 2) & 0xf) == 0x5, "stage-2 MemAttr (5:2) 0b0101 for a plain mapping, got 0x%llx",
              (unsigned long long)((w.desc[3] >> 2) & 0xf));
    }

    /* The guest's processes: dynamic domains on the nested bank. */
    for (p = 0; p < PROCS; p++) {
        smmu_domain_t d = make_domain(v->smmu);
        v->proc[p] = d;
        CHECK_RC(0, make_dynamic(v->smmu, d, v->cb));
        if (p == 1) {   /* naming the base's stage 2 is fine */
            u = v->s2;
            CHECK_RC(0, smmu_domain_set_attr(v->smmu, d, SMMU_ATTR_NEST_PARENT, &u, sizeof u));
        }
        if (p == 2) {   /* another stage 2 is not: the bank's VTTBR is the base's */
            u = v->other_s2;
            CHECK_RC(0, smmu_domain_set_attr(v->smmu, d, SMMU_ATTR_NEST_PARENT, &u, sizeof u));
            CHECK_RC(SMMU_EINVAL, smmu_attach_device(v->smmu, d, DEV));
            CHECK_RC(SMMU_ENODEV, smmu_domain_get_attr(v->smmu, v->other_s2, SMMU_ATTR_VMID, &u, sizeof u));
            u = 0;
            CHECK_RC(0, smmu_domain_set_attr(v->smmu, d, SMMU_ATTR_NEST_PARENT, &u, sizeof u));
        }
        if (!CHECK_RC(0, smmu_map(v->smmu, d, JOB_IOVA, proc_ipa(p), JOB_PAGES * PAGE, RW))
            || !CHECK_RC(0, smmu_attach_device(v->smmu, d, DEV)))
            return 0;
        v->proc_asid[p] = attr_u32(v->smmu, d, SMMU_ATTR_ASID);
        CHECK(attr_u32(v->smmu, d, SMMU_ATTR_VMID) == v->vmid, "process %d runs under the VM's VMID", p);
    }
    CHECK_RC(0, smmu_map(v->smmu, v->proc[0], SHARED_IOVA, RO_IPA, PAGE, RW));
    CHECK_RC(0, smmu_map(v->smmu, v->proc[0], RO_S1_IOVA, proc_ipa(0), PAGE, SMMU_PROT_READ));
    CHECK_RC(0, smmu_map(v->smmu, v->proc[0], HOLE_IOVA, UNBACKED_IPA, PAGE, RW));
    cb = cb_of(v->smmu, v->cb);
    CHECK(cb.dynamic_count == PROCS && cb.active_domain == v->base && cb.vmid == v->vmid,
          "%d processes attached, the bank untouched", PROCS);
    return 1;
}

/* ---- the seed under the VM --------------------------------------------------------------------------- */

/* use_domain(p): switch, then read every page of the job once; returns the TLB misses. */
static uint64_t use_domain(struct vm *v, int p, int *bad)
{
    smmu_stats s0, s1;
    int i;
    CHECK_RC(0, smmu_switch_domain(v->smmu, p < 0 ? v->base : v->proc[p]));
    s0 = stats_of(v->smmu);
    for (i = 0; i < JOB_PAGES; i++) {
        uint64_t off = (uint64_t)i * PAGE + (((uint64_t)i * 0x88) & 0xff8);
        int32_t rc;
        uint64_t pa = xlate(v->smmu, DEV, JOB_IOVA + off, RD | WR, &rc);
        if ((rc != 0 || pa != host_pa(proc_ipa(p) + off)) && (*bad)++ < 3)
            CHECK(0, "process %d: 0x%llx -> rc %d pa 0x%llx, expected host PA 0x%llx", p,
                  (unsigned long long)(JOB_IOVA + off), rc, (unsigned long long)pa,
                  (unsigned long long)host_pa(proc_ipa(p) + off));
    }
    s1 = stats_of(v->smmu);
    return s1.tlb_misses - s0.tlb_misses;
}

static void seed_in_vm(struct vm *v)
{
    smmu_stats s0, s1;
    uint64_t misses, reads, walks;
    int p, round, bad = 0;

    /* Cold: every page of every process misses once, and each nested miss reads 24 descriptors. */
    s0 = stats_of(v->smmu);
    for (p = -1; p < PROCS; p++) {
        misses = use_domain(v, p, &bad);
        CHECK(misses == JOB_PAGES, "cold job of %s %d: %llu misses, expected %d", p < 0 ? "the base" : "process", p,
              (unsigned long long)misses, JOB_PAGES);
    }
    s1 = stats_of(v->smmu);
    walks = s1.walks - s0.walks;
    reads = s1.descriptor_reads - s0.descriptor_reads;
    CHECK(walks == (PROCS + 1) * JOB_PAGES && s1.stage2_walks - s0.stage2_walks == walks,
          "every miss is one nested walk: %llu walks, %llu stage-2 walks", (unsigned long long)walks,
          (unsigned long long)(s1.stage2_walks - s0.stage2_walks));
    CHECK(reads == 24 * walks, "a nested miss reads 24 descriptors: %llu reads for %llu walks (%.2f each)",
          (unsigned long long)reads, (unsigned long long)walks, walks ? (double)reads / (double)walks : 0.0);
    printf("nested miss: %.2f descriptor reads (pool backed by 4 KiB pages)\n", walks ? (double)reads / (double)walks : 0.0);

    /* Warm: switching processes under the VM invalidates nothing and misses nothing. */
    s0 = stats_of(v->smmu);
    for (round = 0; round < WARM_ROUNDS; round++)
        for (p = 0; p < PROCS; p++) {
            misses = use_domain(v, p, &bad);
            if (misses != 0 && bad++ < 3)
                CHECK(0, "warm round %d, process %d: %llu misses", round, p, (unsigned long long)misses);
        }
    s1 = stats_of(v->smmu);
    CHECK(s1.tlb_misses == s0.tlb_misses && s1.descriptor_reads == s0.descriptor_reads,
          "%d warm switches: %llu misses, %llu descriptor reads, expected 0", WARM_ROUNDS * PROCS,
          (unsigned long long)(s1.tlb_misses - s0.tlb_misses), (unsigned long long)(s1.descriptor_reads - s0.descriptor_reads));
    CHECK(s1.tlb_invalidations == s0.tlb_invalidations && s1.vmid_invalidations == s0.vmid_invalidations,
          "switching under the VM invalidates nothing (%llu, %llu VMID-wide)",
          (unsigned long long)(s1.tlb_invalidations - s0.tlb_invalidations),
          (unsigned long long)(s1.vmid_invalidations - s0.vmid_invalidations));
    CHECK(s1.switches - s0.switches == (uint64_t)WARM_ROUNDS * PROCS, "switches counted: %llu",
          (unsigned long long)(s1.switches - s0.switches));
    CHECK(s1.tlb_hits - s0.tlb_hits == (uint64_t)WARM_ROUNDS * PROCS * JOB_PAGES, "every warm translation hits");
    printf("warm switches under the VM: %.2f misses per switch\n",
           (double)(s1.tlb_misses - s0.tlb_misses) / (WARM_ROUNDS * PROCS));
    CHECK(bad == 0, "%d translations under the VM went wrong", bad);
}

/* ---- faults -------------------------------------------------------------------------------------------- */

static void faults(struct vm *v)
{
    struct expected_fault e;
    struct sw_walk w;
    smmu_stats s0, s1;
    int32_t rc;
    uint64_t pa, ttbr0 = attr_ttbr0(v->smmu, v->proc[1]) & ADDR_MASK;
    int64_t n;

    memset(&e, 0, sizeof e);
    e.stream_id = DEV;
    e.context_bank = v->cb;

    /* The guest's tables for process 1, read through the pool: table IPAs = PAs. */
    w = sw_walk(v->smmu, ttbr0, JOB_IOVA, 12, 48);
    CHECK(w.ok && w.start_level == 0 && w.leaf_level == 3, "process 1's stage-1 tables: 4 levels to a page (ok %d)", w.ok);
    CHECK(desc_address(w.desc[3], 12) == proc_ipa(1), "process 1's leaf outputs the IPA 0x%llx, got 0x%llx",
          (unsigned long long)proc_ipa(1), (unsigned long long)desc_address(w.desc[3], 12));

    /* The hypervisor takes away the page holding process 1's level-3 table: a stage-2 unmap of that IPA,
     * which invalidates the VMID's combined entries (TLBIIPAS2 + TLBIVMALL). */
    s0 = stats_of(v->smmu);
    n = smmu_unmap(v->smmu, v->s2, w.table[3], PAGE);
    CHECK(n == (int64_t)PAGE, "stage-2 unmap of the guest table page 0x%llx -> %lld", (unsigned long long)w.table[3],
          (long long)n);
    s1 = stats_of(v->smmu);
    CHECK(s1.vmid_invalidations - s0.vmid_invalidations == 1, "a stage-2 unmap invalidates the VMID once (%llu)",
          (unsigned long long)(s1.vmid_invalidations - s0.vmid_invalidations));
    CHECK_RC(0, smmu_switch_domain(v->smmu, v->proc[1]));
    e.iova = JOB_IOVA + 0x48;
    e.access = RD;
    e.type = SMMU_FAULT_TRANSLATION;
    e.level = 3;                                 /* stage 2's level: its level-3 entry for the page is empty */
    e.stage = 2;
    e.s1ptw = 1;
    e.ipa = w.desc_pa[3];                        /* the descriptor's IPA in the lost table */
    e.asid = v->proc_asid[1];
    e.active_domain = v->proc[1];
    expect_fault(v->smmu, &e, "stage 2 faults on the guest's level-3 table fetch (S1PTW)");
    e.access = WR | SMMU_ACCESS_PRIV;
    e.iova = JOB_IOVA + 3 * PAGE;
    e.ipa = w.table[3] + 3 * 8;
    expect_fault(v->smmu, &e, "the same for a privileged write to page 3 (WNR, PNU)");
    /* Other processes' tables are elsewhere: unaffected (they walk again after the TLBIVMALL). */
    CHECK_RC(0, smmu_switch_domain(v->smmu, v->proc[2]));
    pa = xlate(v->smmu, DEV, JOB_IOVA + 0x48, RD, &rc);
    CHECK(rc == 0 && pa == host_pa(proc_ipa(2) + 0x48), "process 2 still translates: rc %d pa 0x%llx", rc,
          (unsigned long long)pa);
    /* The hypervisor gives the page back; process 1 runs again. */
    CHECK_RC(0, smmu_map(v->smmu, v->s2, w.table[3], w.table[3], PAGE, RW));
    CHECK_RC(0, smmu_switch_domain(v->smmu, v->proc[1]));
    pa = xlate(v->smmu, DEV, JOB_IOVA + 0x48, RD, &rc);
    CHECK(rc == 0 && pa == host_pa(proc_ipa(1) + 0x48), "process 1 after the remap: rc %d pa 0x%llx", rc,
          (unsigned long long)pa);

    /* The same one level up: the guest's root table page of process 3, fetched at stage-1 level 0. */
    ttbr0 = attr_ttbr0(v->smmu, v->proc[3]) & ADDR_MASK;
    CHECK(smmu_unmap(v->smmu, v->s2, ttbr0, PAGE) == (int64_t)PAGE, "stage-2 unmap of process 3's root page");
    CHECK_RC(0, smmu_switch_domain(v->smmu, v->proc[3]));
    e.iova = JOB_IOVA + 0x10;
    e.access = RD;
    e.ipa = ttbr0 + ((JOB_IOVA >> 39) & 511) * 8;
    e.asid = v->proc_asid[3];
    e.active_domain = v->proc[3];
    expect_fault(v->smmu, &e, "stage 2 faults on the guest's root table fetch (S1PTW)");
    CHECK_RC(0, smmu_map(v->smmu, v->s2, ttbr0, ttbr0, PAGE, RW));
    pa = xlate(v->smmu, DEV, JOB_IOVA + 0x10, RD, &rc);
    CHECK(rc == 0 && pa == host_pa(proc_ipa(3) + 0x10), "process 3 after the remap: rc %d", rc);

    /* Data the hypervisor maps read-only, the guest read/write: reads pass, a write is a stage-2
     * permission fault at stage 2's leaf (level 3), not a table walk's (no S1PTW). */
    CHECK_RC(0, smmu_switch_domain(v->smmu, v->proc[0]));
    pa = xlate(v->smmu, DEV, SHARED_IOVA + 0x100, RD, &rc);
    CHECK(rc == 0 && pa == RO_PA + 0x100, "the shared page reads: rc %d pa 0x%llx", rc, (unsigned long long)pa);
    e.iova = SHARED_IOVA + 0x100;
    e.access = WR;
    e.type = SMMU_FAULT_PERMISSION;
    e.level = 3;
    e.stage = 2;
    e.s1ptw = 0;
    e.ipa = RO_IPA + 0x100;
    e.asid = v->proc_asid[0];
    e.active_domain = v->proc[0];
    expect_fault(v->smmu, &e, "a write to data stage 2 maps read-only: stage-2 permission fault (TLB hit)");
    CHECK_RC(0, smmu_tlb_inv_all(v->smmu));
    expect_fault(v->smmu, &e, "the same on a TLB miss");

    /* An IPA the hypervisor never backed: a stage-2 translation fault at the level its walk stopped. */
    e.iova = HOLE_IOVA + 0x8;
    e.access = RD;
    e.type = SMMU_FAULT_TRANSLATION;
    e.level = 2;                                 /* 0x90000000 shares stage 2's level-1 entry with guest RAM */
    e.ipa = UNBACKED_IPA + 0x8;
    expect_fault(v->smmu, &e, "an IPA with no stage-2 mapping");

    /* For contrast, a guest's own read-only page: stage 1 denies, no IPA in the record. */
    pa = xlate(v->smmu, DEV, RO_S1_IOVA + 0x20, RD, &rc);
    CHECK(rc == 0 && pa == host_pa(proc_ipa(0) + 0x20), "the guest's read-only page reads: rc %d", rc);
    e.iova = RO_S1_IOVA + 0x20;
    e.access = WR;
    e.type = SMMU_FAULT_PERMISSION;
    e.level = 3;
    e.stage = 1;
    e.ipa = 0;
    expect_fault(v->smmu, &e, "a write to a page the guest maps read-only: stage-1 permission fault");
}

/* ---- what 2 MiB blocks buy, teardown --------------------------------------------------------------------- */

static void blocks_and_teardown(struct vm *v)
{
    smmu_stats s0, s1;
    smmu_cb_state cb;
    int64_t n;
    int p, bad = 0;
    uint32_t u;
    double per_miss;

    /* The hypervisor backs the pool with 2 MiB blocks: every stage-2 walk of a table IPA stops at level 2. */
    n = smmu_unmap(v->smmu, v->s2, POOL_BASE, POOL_BYTES);
    CHECK(n == (int64_t)POOL_BYTES, "unmap the pool from stage 2: %lld bytes", (long long)n);
    map_pool(v, 0);
    s0 = stats_of(v->smmu);
    for (p = 0; p < PROCS; p++)
        use_domain(v, p, &bad);
    s1 = stats_of(v->smmu);
    per_miss = (double)(s1.descriptor_reads - s0.descriptor_reads) / (double)(s1.walks - s0.walks);
    CHECK(s1.walks - s0.walks == PROCS * JOB_PAGES && s1.descriptor_reads - s0.descriptor_reads == 20 * (s1.walks - s0.walks),
          "pool in 2 MiB blocks: 4 x (3 + 1) + 4 = 20 reads per nested miss, got %.2f", per_miss);
    printf("nested miss: %.2f descriptor reads (pool backed by 2 MiB blocks)\n", per_miss);
    CHECK(bad == 0, "translations after the remap");

    CHECK_RC(SMMU_EBUSY, smmu_detach_device(v->smmu, v->base, DEV));
    for (p = PROCS - 1; p >= 0; p--) {
        CHECK_RC(0, smmu_detach_device(v->smmu, v->proc[p], DEV));
        CHECK_RC(0, smmu_domain_free(v->smmu, v->proc[p]));
    }
    CHECK(attr_u32(v->smmu, v->s2, SMMU_ATTR_VMID) == v->vmid, "the VMID lives while the guest's base is attached");
    s0 = stats_of(v->smmu);
    CHECK_RC(0, smmu_detach_device(v->smmu, v->base, DEV));
    s1 = stats_of(v->smmu);
    CHECK(s1.vmid_invalidations - s0.vmid_invalidations == 1, "the last user's detach invalidates the VMID (%llu)",
          (unsigned long long)(s1.vmid_invalidations - s0.vmid_invalidations));
    CHECK_RC(SMMU_ENODEV, smmu_domain_get_attr(v->smmu, v->s2, SMMU_ATTR_VMID, &u, sizeof u));
    cb = cb_of(v->smmu, v->cb);
    CHECK(cb.in_use == 0 && cb.vmid == 0 && cb.vttbr == 0 && cb.flags == 0, "the bank is reset (vmid %u flags 0x%x)",
          cb.vmid, cb.flags);
    CHECK_RC(SMMU_EBUSY, smmu_domain_free(v->smmu, v->s2));   /* the guest's base still names it */
    CHECK_RC(0, smmu_domain_free(v->smmu, v->base));
    CHECK_RC(0, smmu_domain_free(v->smmu, v->s2));
    CHECK_RC(0, smmu_domain_free(v->smmu, v->other_s2));
    s1 = stats_of(v->smmu);
    CHECK(s1.pt_pages_in_use == 0, "every table page back in the pool: %llu in use", (unsigned long long)s1.pt_pages_in_use);
    CHECK_RC(0, smmu_destroy(v->smmu));
}

int main(void)
{
    struct vm v;
    if (!vm_up(&v))
        return check_summary("nested_vm");
    seed_in_vm(&v);
    faults(&v);
    blocks_and_teardown(&v);
    return check_summary("nested_vm");
}
