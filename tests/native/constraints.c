/*
 * constraints.c - the seed's three constraints, the attribute rules, the attach rules, ASID
 * allocation (uniqueness, exhaustion, reuse) and ASID tagging vs flush-on-switch, through the C ABI
 * (SPEC.md section 1, smmu.h).
 */
#include <string.h>

#include "check.h"

#define PAGE 0x1000ull
#define RW (SMMU_PROT_READ | SMMU_PROT_WRITE)
#define RD SMMU_ACCESS_READ
#define POOL_BASE 0x40000000ull
#define ADDR_MASK 0x0000FFFFFFFFF000ull

/* ---- a base domain with dynamic domains on its bank ---------------------------------------- */

#define MAX_DYN 4
struct rig {
    smmu_t smmu;
    uint32_t sid, cb;
    smmu_domain_t base;
    smmu_domain_t dyn[MAX_DYN];
    int ndyn;
};

/* Creates an instance with cfg (or the defaults), a base domain attached to sid and ndyn dynamic
 * domains attached on its bank. Returns 1 on success. */
static int rig_up(struct rig *r, const smmu_config *cfg, uint32_t sid, int ndyn)
{
    smmu_config def;
    int i;
    memset(r, 0, sizeof *r);
    if (!cfg) {
        smmu_config_init(&def);
        cfg = &def;
    }
    r->smmu = make_smmu(cfg);
    if (!r->smmu)
        return 0;
    r->sid = sid;
    r->base = make_domain(r->smmu);
    if (!CHECK_RC(0, smmu_attach_device(r->smmu, r->base, sid)))
        return 0;
    if (!CHECK_RC(0, smmu_domain_get_attr(r->smmu, r->base, SMMU_ATTR_CONTEXT_BANK, &r->cb, sizeof r->cb)))
        return 0;
    for (i = 0; i < ndyn; i++) {
        r->dyn[i] = make_domain(r->smmu);
        if (!CHECK_RC(0, make_dynamic(r->smmu, r->dyn[i], r->cb)))
            return 0;
        if (!CHECK_RC(0, smmu_attach_device(r->smmu, r->dyn[i], sid)))
            return 0;
    }
    r->ndyn = ndyn;
    return 1;
}

static int same_cb(const smmu_cb_state *a, const smmu_cb_state *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

static int same_stats(const smmu_stats *a, const smmu_stats *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* Translates n pages from iova for reading; returns how many gave pa + offset. */
static int translate_pages(smmu_t smmu, uint32_t sid, uint64_t iova, uint64_t pa, int n)
{
    int i, good = 0;
    for (i = 0; i < n; i++) {
        int32_t rc;
        uint64_t got = xlate(smmu, sid, iova + (uint64_t)i * PAGE + 0x18, RD, &rc);
        good += rc == 0 && got == pa + (uint64_t)i * PAGE + 0x18;
    }
    return good;
}

/* ---- seed constraint 1: no base detach while dynamic domains are attached ------------------- */

static void test_base_detach_busy(void)
{
    struct rig r;
    smmu_cb_state cb_before, cb_after;
    smmu_stats st_before, st_after;
    const uint32_t sid2 = 9;
    uint32_t base_asid;
    uint64_t base_ttbr0;

    if (!rig_up(&r, NULL, 8, 2))
        return;
    TRY_OK(smmu_attach_device(r.smmu, r.base, sid2));
    TRY_OK(smmu_map(r.smmu, r.base, 0x100000, 0x5000000, 4 * PAGE, RW));
    TRY_OK(smmu_map(r.smmu, r.dyn[0], 0x100000, 0x6000000, 4 * PAGE, RW));
    TRY_OK(smmu_switch_domain(r.smmu, r.dyn[0]));
    CHECK(translate_pages(r.smmu, r.sid, 0x100000, 0x6000000, 4) == 4, "c1: dyn0 translates before the detach attempt");

    base_asid = attr_u32(r.smmu, r.base, SMMU_ATTR_ASID);
    base_ttbr0 = attr_ttbr0(r.smmu, r.base);
    cb_before = cb_of(r.smmu, r.cb);
    st_before = stats_of(r.smmu);
    CHECK_RC(SMMU_EBUSY, smmu_detach_device(r.smmu, r.base, r.sid));
    CHECK_RC(SMMU_EBUSY, smmu_detach_device(r.smmu, r.base, sid2));
    cb_after = cb_of(r.smmu, r.cb);
    st_after = stats_of(r.smmu);
    CHECK(same_cb(&cb_before, &cb_after), "c1: a refused base detach leaves the context bank as it was "
          "(in_use %u->%u streams %u->%u dyn %u->%u ttbr0 0x%llx->0x%llx)", cb_before.in_use, cb_after.in_use,
          cb_before.stream_count, cb_after.stream_count, cb_before.dynamic_count, cb_after.dynamic_count,
          (unsigned long long)cb_before.ttbr0, (unsigned long long)cb_after.ttbr0);
    CHECK(same_stats(&st_before, &st_after), "c1: a refused base detach changes no counter (pages in use %llu->%llu, "
          "invalidations %llu->%llu)", (unsigned long long)st_before.pt_pages_in_use,
          (unsigned long long)st_after.pt_pages_in_use, (unsigned long long)st_before.tlb_invalidations,
          (unsigned long long)st_after.tlb_invalidations);
    CHECK(attr_u32(r.smmu, r.base, SMMU_ATTR_ASID) == base_asid && attr_ttbr0(r.smmu, r.base) == base_ttbr0,
          "c1: the base keeps its ASID and TTBR0 after the refused detach");
    CHECK(translate_pages(r.smmu, r.sid, 0x100000, 0x6000000, 4) == 4,
          "c1: after the refused detach dyn0 still translates on the first stream");
    CHECK(translate_pages(r.smmu, sid2, 0x100000, 0x6000000, 4) == 4,
          "c1: after the refused detach the second stream still translates");
    TRY_OK(smmu_switch_domain(r.smmu, r.base));
    CHECK(translate_pages(r.smmu, r.sid, 0x100000, 0x5000000, 4) == 4, "c1: the base still translates");

    /* One dynamic domain left is still too many. */
    CHECK_RC(0, smmu_detach_device(r.smmu, r.dyn[0], r.sid));
    CHECK_RC(SMMU_EBUSY, smmu_detach_device(r.smmu, r.base, r.sid));
    CHECK_RC(0, smmu_detach_device(r.smmu, r.dyn[1], r.sid));
    /* Now the base may go, stream by stream; only the last detach resets the bank. */
    CHECK_RC(0, smmu_detach_device(r.smmu, r.base, r.sid));
    cb_after = cb_of(r.smmu, r.cb);
    CHECK(cb_after.in_use == 1 && cb_after.stream_count == 1 && cb_after.base_domain == r.base,
          "c1: the base's first detach only unroutes that stream (in_use %u streams %u)", cb_after.in_use,
          cb_after.stream_count);
    CHECK_RC(SMMU_ENODEV, smmu_translate(r.smmu, r.sid, 0x100000, RD, &(uint64_t){ 0 }));
    CHECK_RC(0, smmu_detach_device(r.smmu, r.base, sid2));
    cb_after = cb_of(r.smmu, r.cb);
    CHECK(cb_after.in_use == 0 && cb_after.stream_count == 0 && cb_after.ttbr0 == 0,
          "c1: the base's last detach resets the bank (in_use %u ttbr0 0x%llx)", cb_after.in_use,
          (unsigned long long)cb_after.ttbr0);
    CHECK_RC(0, smmu_destroy(r.smmu));
}

/* ---- seed constraint 2: faults go to the base domain's handler ------------------------------ */

struct fault_log {
    int calls;
    smmu_t smmu;
    smmu_domain_t base;
    void *cookie;
    smmu_fault last;
};
static struct fault_log base_log, other_log;

/* Logs a fault into the struct fault_log its cookie points at. */
static int32_t log_fault(smmu_t smmu, smmu_domain_t base, const smmu_fault *fault, void *cookie)
{
    struct fault_log *log = cookie;
    log->calls++;
    log->smmu = smmu;
    log->base = base;
    log->cookie = cookie;
    log->last = *fault;
    return SMMU_FAULT_TERMINATE;
}

static void test_fault_to_base(void)
{
    struct rig r;
    smmu_domain_t unattached;
    int i;

    if (!rig_up(&r, NULL, 4, 2))
        return;
    memset(&base_log, 0, sizeof base_log);
    memset(&other_log, 0, sizeof other_log);
    CHECK_RC(0, smmu_set_fault_handler(r.smmu, r.base, log_fault, &base_log));
    CHECK_RC(SMMU_EINVAL, smmu_set_fault_handler(r.smmu, r.dyn[0], log_fault, &other_log));
    CHECK_RC(SMMU_EINVAL, smmu_set_fault_handler(r.smmu, r.dyn[1], NULL, NULL));
    unattached = make_domain(r.smmu);
    CHECK_RC(0, make_dynamic(r.smmu, unattached, r.cb));
    CHECK_RC(SMMU_EINVAL, smmu_set_fault_handler(r.smmu, unattached, log_fault, &other_log));

    for (i = 0; i <= 2; i++) {
        smmu_domain_t active = i < 2 ? r.dyn[i] : r.base;
        uint64_t iova = 0x7000000ull + (uint64_t)i * 0x10000;
        int before = base_log.calls;
        uint32_t asid = attr_u32(r.smmu, active, SMMU_ATTR_ASID);
        CHECK_RC(0, smmu_switch_domain(r.smmu, active));
        CHECK_RC(SMMU_EFAULT, smmu_translate(r.smmu, r.sid, iova, RD, &(uint64_t){ 0 }));
        CHECK(base_log.calls == before + 1, "c2[%d]: the base domain's handler was called once (calls %d)", i,
              base_log.calls - before);
        CHECK(base_log.base == r.base, "c2[%d]: handler's base_domain 0x%08x, expected the base 0x%08x", i,
              base_log.base, r.base);
        CHECK(base_log.smmu == r.smmu && base_log.cookie == &base_log, "c2[%d]: handler got the instance and cookie",
              i);
        CHECK(base_log.last.active_domain == active, "c2[%d]: fault.active_domain 0x%08x, expected the active domain "
              "0x%08x", i, base_log.last.active_domain, active);
        CHECK(base_log.last.asid == asid && asid != 0, "c2[%d]: fault.asid %u, expected the active domain's ASID %u", i,
              base_log.last.asid, asid);
        CHECK(base_log.last.context_bank == r.cb && base_log.last.stream_id == r.sid && base_log.last.iova == iova
                  && base_log.last.type == SMMU_FAULT_TRANSLATION,
              "c2[%d]: fault record cb %u sid %u iova 0x%llx type %u", i, base_log.last.context_bank,
              base_log.last.stream_id, (unsigned long long)base_log.last.iova, base_log.last.type);
    }
    CHECK(other_log.calls == 0, "c2: a handler refused for a dynamic domain is never called (%d calls)",
          other_log.calls);

    /* Without a handler the record on the bank says the same. */
    CHECK_RC(0, smmu_set_fault_handler(r.smmu, r.base, NULL, NULL));
    CHECK_RC(0, smmu_switch_domain(r.smmu, r.dyn[1]));
    CHECK_RC(SMMU_EFAULT, smmu_translate(r.smmu, r.sid, 0x7100000, SMMU_ACCESS_WRITE, &(uint64_t){ 0 }));
    {
        smmu_fault f;
        f.size = sizeof f;
        CHECK_RC(0, smmu_get_fault(r.smmu, r.cb, &f));
        CHECK(f.active_domain == r.dyn[1] && f.asid == attr_u32(r.smmu, r.dyn[1], SMMU_ATTR_ASID) && f.iova == 0x7100000,
              "c2: the recorded fault names the active dynamic domain 0x%08x and its ASID (got 0x%08x, %u)", r.dyn[1],
              f.active_domain, f.asid);
    }
    CHECK_RC(0, smmu_destroy(r.smmu));
}

/* ---- seed constraint 3: dynamic domains never own the bank ---------------------------------- */

static void test_dynamic_never_resets_cb(void)
{
    struct rig r;
    smmu_cb_state before, after;
    uint32_t procid = 77, dyn_procid = 88;

    if (!rig_up(&r, NULL, 2, 0))
        return;
    CHECK_RC(0, smmu_detach_device(r.smmu, r.base, r.sid));
    CHECK_RC(0, smmu_domain_set_attr(r.smmu, r.base, SMMU_ATTR_PROCID, &procid, sizeof procid));
    CHECK_RC(0, smmu_attach_device(r.smmu, r.base, r.sid));
    CHECK_RC(0, smmu_attach_device(r.smmu, r.base, r.sid + 1));
    r.cb = attr_u32(r.smmu, r.base, SMMU_ATTR_CONTEXT_BANK);
    for (r.ndyn = 0; r.ndyn < 2; r.ndyn++) {
        r.dyn[r.ndyn] = make_domain(r.smmu);
        CHECK_RC(0, make_dynamic(r.smmu, r.dyn[r.ndyn], r.cb));
        CHECK_RC(0, smmu_domain_set_attr(r.smmu, r.dyn[r.ndyn], SMMU_ATTR_PROCID, &dyn_procid, sizeof dyn_procid));
        CHECK_RC(0, smmu_attach_device(r.smmu, r.dyn[r.ndyn], r.sid));
    }
    TRY_OK(smmu_map(r.smmu, r.base, 0x200000, 0x3000000, PAGE, RW));
    TRY_OK(smmu_map(r.smmu, r.dyn[0], 0x200000, 0x4000000, PAGE, RW));
    TRY_OK(smmu_switch_domain(r.smmu, r.dyn[0]));

    /* dyn1 is not active: detach and free change nothing but dynamic_count. */
    before = cb_of(r.smmu, r.cb);
    CHECK_RC(0, smmu_detach_device(r.smmu, r.dyn[1], r.sid));
    after = cb_of(r.smmu, r.cb);
    CHECK(after.dynamic_count == before.dynamic_count - 1, "c3: dynamic_count %u -> %u", before.dynamic_count,
          after.dynamic_count);
    after.dynamic_count = before.dynamic_count;
    CHECK(same_cb(&before, &after), "c3: detaching an inactive dynamic domain leaves the bank's registers "
          "(in_use %u base 0x%08x active 0x%08x streams %u ttbr0 0x%llx)", after.in_use, after.base_domain,
          after.active_domain, after.stream_count, (unsigned long long)after.ttbr0);
    before = cb_of(r.smmu, r.cb);
    CHECK_RC(0, smmu_domain_free(r.smmu, r.dyn[1]));
    after = cb_of(r.smmu, r.cb);
    CHECK(same_cb(&before, &after), "c3: freeing a detached dynamic domain leaves the bank as it was");

    /* dyn0 is active: its detach falls back to the base's TTBR0/ASID/CONTEXTIDR, nothing else. */
    before = cb_of(r.smmu, r.cb);
    CHECK(before.active_domain == r.dyn[0] && before.contextidr == dyn_procid,
          "c3: dyn0 is active before its detach (active 0x%08x contextidr %u)", before.active_domain, before.contextidr);
    CHECK_RC(0, smmu_detach_device(r.smmu, r.dyn[0], r.sid));
    after = cb_of(r.smmu, r.cb);
    CHECK(after.in_use == 1 && after.base_domain == r.base && after.stream_count == 2 && after.dynamic_count == 0,
          "c3: the active dynamic's detach keeps the bank owned (in_use %u base 0x%08x streams %u dyn %u)",
          after.in_use, after.base_domain, after.stream_count, after.dynamic_count);
    CHECK(after.ttbr0 == attr_ttbr0(r.smmu, r.base) && after.asid == attr_u32(r.smmu, r.base, SMMU_ATTR_ASID)
              && after.active_domain == r.base && after.contextidr == procid,
          "c3: TTBR0/ASID/CONTEXTIDR fall back to the base (ttbr0 0x%llx asid %u active 0x%08x contextidr %u)",
          (unsigned long long)after.ttbr0, after.asid, after.active_domain, after.contextidr);
    CHECK(translate_pages(r.smmu, r.sid, 0x200000, 0x3000000, 1) == 1
              && translate_pages(r.smmu, r.sid + 1, 0x200000, 0x3000000, 1) == 1,
          "c3: both streams translate through the base's tables after the fallback");
    before = cb_of(r.smmu, r.cb);
    CHECK_RC(0, smmu_domain_free(r.smmu, r.dyn[0]));
    after = cb_of(r.smmu, r.cb);
    CHECK(same_cb(&before, &after), "c3: freeing the formerly active dynamic domain leaves the bank as it was");
    CHECK_RC(0, smmu_destroy(r.smmu));
}

/* Detaching a dynamic domain invalidates its ASID: its entries leave the TLB. */
static void test_detach_invalidates_asid(void)
{
    struct rig r;
    smmu_stats a, b;
    uint32_t old_asid, new_asid;
    const int n = 8;

    if (!rig_up(&r, NULL, 1, 1))
        return;
    TRY_OK(smmu_map(r.smmu, r.dyn[0], 0x400000, 0x9000000, (uint64_t)n * PAGE, RW));
    TRY_OK(smmu_switch_domain(r.smmu, r.dyn[0]));
    CHECK(translate_pages(r.smmu, r.sid, 0x400000, 0x9000000, n) == n, "c3-inv: dyn translates before detach");
    old_asid = attr_u32(r.smmu, r.dyn[0], SMMU_ATTR_ASID);

    a = stats_of(r.smmu);
    CHECK_RC(0, smmu_detach_device(r.smmu, r.dyn[0], r.sid));
    b = stats_of(r.smmu);
    CHECK(b.tlb_invalidations - a.tlb_invalidations == 1, "c3-inv: a dynamic detach is one TLB invalidation, got %llu",
          (unsigned long long)(b.tlb_invalidations - a.tlb_invalidations));
    CHECK(b.tlb_entries_invalidated - a.tlb_entries_invalidated == (uint64_t)n,
          "c3-inv: the detach removed the domain's %d cached entries, got %llu", n,
          (unsigned long long)(b.tlb_entries_invalidated - a.tlb_entries_invalidated));
    CHECK_RC(0, smmu_tlb_inv_asid(r.smmu, old_asid));
    a = stats_of(r.smmu);
    CHECK(a.tlb_entries_invalidated == b.tlb_entries_invalidated,
          "c3-inv: nothing of the old ASID %u was left in the TLB (inv_asid removed %llu)", old_asid,
          (unsigned long long)(a.tlb_entries_invalidated - b.tlb_entries_invalidated));

    /* Re-attach (CONTEXT_BANK is still set): the first translations miss. */
    CHECK_RC(0, smmu_attach_device(r.smmu, r.dyn[0], r.sid));
    new_asid = attr_u32(r.smmu, r.dyn[0], SMMU_ATTR_ASID);
    CHECK(new_asid != 0, "c3-inv: re-attached domain has an ASID");
    CHECK_RC(0, smmu_switch_domain(r.smmu, r.dyn[0]));
    a = stats_of(r.smmu);
    CHECK(translate_pages(r.smmu, r.sid, 0x400000, 0x9000000, n) == n, "c3-inv: re-attached domain translates");
    b = stats_of(r.smmu);
    CHECK(b.tlb_misses - a.tlb_misses == (uint64_t)n, "c3-inv: after re-attach every page misses once: %llu misses, "
          "expected %d", (unsigned long long)(b.tlb_misses - a.tlb_misses), n);
    CHECK_RC(0, smmu_destroy(r.smmu));
}

/* ---- attributes ------------------------------------------------------------------------------ */

static uint64_t expected_leaf(uint64_t pa, uint32_t prot, int level)
{
    uint64_t d = pa | (level == 3 ? 3u : 1u) | (1u << 10) | (1u << 11);
    if (!(prot & SMMU_PROT_WRITE))
        d |= 1u << 7;
    if (!(prot & SMMU_PROT_PRIV))
        d |= 1u << 6;
    if (prot & SMMU_PROT_MMIO)
        d |= 2u << 2;
    else if (prot & SMMU_PROT_CACHE)
        d |= 1u << 2;
    d |= (prot & SMMU_PROT_CACHE) ? (3u << 8) : (2u << 8);
    if (prot & SMMU_PROT_NOEXEC)
        d |= (1ull << 53) | (1ull << 54);
    return d;
}

/* Reads descriptor idx of the table at table_pa; UINT64_MAX on failure. */
static uint64_t desc(smmu_t smmu, uint64_t table_pa, unsigned idx)
{
    uint64_t v = UINT64_MAX;
    if (!CHECK_RC(0, smmu_phys_read64(smmu, table_pa + 8ull * idx, &v)))
        return UINT64_MAX;
    return v;
}

static void test_attributes(void)
{
    smmu_config cfg;
    smmu_t s;
    smmu_domain_t b, d;
    uint32_t u = 0xA5A5A5A5, asid_b, asid_d, cb;
    uint64_t q = 0xA5A5A5A5A5A5A5A5ull, ttbr0, root;
    int32_t one = 1, zero = 0;
    uint32_t attrs[] = { SMMU_ATTR_DYNAMIC, SMMU_ATTR_CONTEXT_BANK, SMMU_ATTR_ASID, SMMU_ATTR_TTBR0, SMMU_ATTR_PROCID };
    uint32_t unknown[] = { 0, 13, 14, 0x100, 0x7fffffff, 0xffffffff };
    size_t i;

    smmu_config_init(&cfg);
    cfg.num_context_banks = 4;
    s = make_smmu(&cfg);
    if (!s)
        return;
    b = make_domain(s);
    d = make_domain(s);

    /* Before attach. */
    CHECK_RC(0, smmu_domain_get_attr(s, b, SMMU_ATTR_DYNAMIC, &u, sizeof u));
    CHECK(u == 0, "attr: DYNAMIC defaults to 0, got %u", u);
    u = 0xA5A5A5A5;
    CHECK_RC(0, smmu_domain_get_attr(s, b, SMMU_ATTR_PROCID, &u, sizeof u));
    CHECK(u == 0, "attr: PROCID defaults to 0, got %u", u);
    u = 0xA5A5A5A5;
    CHECK_RC(SMMU_ENODEV, smmu_domain_get_attr(s, b, SMMU_ATTR_CONTEXT_BANK, &u, sizeof u));
    CHECK_RC(SMMU_ENODEV, smmu_domain_get_attr(s, b, SMMU_ATTR_ASID, &u, sizeof u));
    CHECK_RC(SMMU_ENODEV, smmu_domain_get_attr(s, b, SMMU_ATTR_TTBR0, &q, sizeof q));
    CHECK(u == 0xA5A5A5A5 && q == 0xA5A5A5A5A5A5A5A5ull, "attr: a failed get_attr leaves the output untouched");
    u = 1;
    CHECK_RC(SMMU_EINVAL, smmu_domain_set_attr(s, b, SMMU_ATTR_CONTEXT_BANK, &u, sizeof u));   /* not dynamic */
    CHECK_RC(SMMU_EPERM, smmu_domain_set_attr(s, b, SMMU_ATTR_ASID, &u, sizeof u));
    CHECK_RC(SMMU_EPERM, smmu_domain_set_attr(s, b, SMMU_ATTR_TTBR0, &q, sizeof q));
    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        if (!CHECK_RC(SMMU_EINVAL, smmu_domain_set_attr(s, b, unknown[i], &q, sizeof u))
            || !CHECK_RC(SMMU_EINVAL, smmu_domain_get_attr(s, b, unknown[i], &q, sizeof u))
            || !CHECK_RC(SMMU_EINVAL, smmu_domain_get_attr(s, b, unknown[i], &q, sizeof q)))
            fprintf(stdout, "  (unknown attribute %u)\n", unknown[i]);
    }
    /* Wrong sizes: the attribute's size exactly. */
    CHECK_RC(SMMU_EINVAL, smmu_domain_set_attr(s, b, SMMU_ATTR_DYNAMIC, &q, sizeof q));
    CHECK_RC(SMMU_EINVAL, smmu_domain_set_attr(s, b, SMMU_ATTR_DYNAMIC, &one, 2));
    CHECK_RC(SMMU_EINVAL, smmu_domain_set_attr(s, b, SMMU_ATTR_DYNAMIC, &one, 0));
    CHECK_RC(SMMU_EINVAL, smmu_domain_set_attr(s, b, SMMU_ATTR_PROCID, &q, sizeof q));
    CHECK_RC(SMMU_EINVAL, smmu_domain_set_attr(s, b, SMMU_ATTR_PROCID, &u, 1));
    CHECK_RC(SMMU_EINVAL, smmu_domain_get_attr(s, b, SMMU_ATTR_DYNAMIC, &q, sizeof q));
    CHECK_RC(SMMU_EINVAL, smmu_domain_get_attr(s, b, SMMU_ATTR_PROCID, &q, 2));
    CHECK_RC(SMMU_EINVAL, smmu_domain_set_attr(s, b, SMMU_ATTR_PROCID, &q, (size_t)-1));
    CHECK_RC(SMMU_EINVAL, smmu_domain_get_attr(s, b, SMMU_ATTR_PROCID, &q, (size_t)-1));
    CHECK_RC(SMMU_EINVAL, smmu_domain_get_attr(s, b, SMMU_ATTR_DYNAMIC, &q, 0));
    u = 0xA5A5A5A5;
    CHECK_RC(0, smmu_domain_get_attr(s, b, SMMU_ATTR_DYNAMIC, &u, sizeof u));
    CHECK(u == 0, "attr: failed sets left DYNAMIC at 0 (got %u)", u);

    /* Attach b as a base; make d dynamic on its bank. */
    CHECK_RC(0, smmu_attach_device(s, b, 0));
    cb = attr_u32(s, b, SMMU_ATTR_CONTEXT_BANK);
    CHECK(cb == 0, "attr: the first base takes bank 0 (got %u)", cb);
    CHECK_RC(SMMU_EINVAL, smmu_domain_get_attr(s, b, SMMU_ATTR_TTBR0, &u, sizeof u));
    CHECK_RC(SMMU_EINVAL, smmu_domain_get_attr(s, b, SMMU_ATTR_ASID, &q, sizeof q));
    CHECK_RC(SMMU_EINVAL, smmu_domain_get_attr(s, b, SMMU_ATTR_CONTEXT_BANK, &q, sizeof q));
    CHECK_RC(SMMU_EBUSY, smmu_domain_set_attr(s, b, SMMU_ATTR_DYNAMIC, &one, sizeof one));
    u = 1234;
    CHECK_RC(SMMU_EBUSY, smmu_domain_set_attr(s, b, SMMU_ATTR_PROCID, &u, sizeof u));
    CHECK(attr_u32(s, b, SMMU_ATTR_PROCID) == 0 && attr_u32(s, b, SMMU_ATTR_DYNAMIC) == 0,
          "attr: refused sets on an attached base changed nothing");
    CHECK_RC(SMMU_EPERM, smmu_domain_set_attr(s, b, SMMU_ATTR_ASID, &u, sizeof u));
    CHECK_RC(SMMU_EPERM, smmu_domain_set_attr(s, b, SMMU_ATTR_TTBR0, &q, sizeof q));

    CHECK_RC(0, smmu_domain_set_attr(s, d, SMMU_ATTR_DYNAMIC, &one, sizeof one));
    CHECK(attr_u32(s, d, SMMU_ATTR_DYNAMIC) == 1, "attr: DYNAMIC reads back 1");
    u = cfg.num_context_banks;
    CHECK_RC(SMMU_EINVAL, smmu_domain_set_attr(s, d, SMMU_ATTR_CONTEXT_BANK, &u, sizeof u));   /* beyond the banks */
    u = 0xffffffff;
    CHECK_RC(SMMU_EINVAL, smmu_domain_set_attr(s, d, SMMU_ATTR_CONTEXT_BANK, &u, sizeof u));
    CHECK_RC(SMMU_EINVAL, smmu_domain_set_attr(s, d, SMMU_ATTR_CONTEXT_BANK, &cb, 2));
    CHECK_RC(SMMU_ENODEV, smmu_attach_device(s, d, 0));   /* still no CONTEXT_BANK: the refused sets stored nothing */
    CHECK_RC(0, smmu_domain_set_attr(s, d, SMMU_ATTR_CONTEXT_BANK, &cb, sizeof cb));
    CHECK_RC(SMMU_ENODEV, smmu_domain_get_attr(s, d, SMMU_ATTR_CONTEXT_BANK, &u, sizeof u));   /* set, not attached */
    CHECK_RC(0, smmu_attach_device(s, d, 0));
    CHECK(attr_u32(s, d, SMMU_ATTR_CONTEXT_BANK) == cb, "attr: a dynamic domain reads back its bank");
    CHECK_RC(SMMU_EBUSY, smmu_domain_set_attr(s, d, SMMU_ATTR_DYNAMIC, &zero, sizeof zero));
    CHECK_RC(SMMU_EBUSY, smmu_domain_set_attr(s, d, SMMU_ATTR_CONTEXT_BANK, &cb, sizeof cb));
    u = 99;
    CHECK_RC(SMMU_EBUSY, smmu_domain_set_attr(s, d, SMMU_ATTR_PROCID, &u, sizeof u));
    CHECK_RC(SMMU_EPERM, smmu_domain_set_attr(s, d, SMMU_ATTR_ASID, &u, sizeof u));
    CHECK(attr_u32(s, d, SMMU_ATTR_DYNAMIC) == 1 && attr_u32(s, d, SMMU_ATTR_PROCID) == 0,
          "attr: refused sets on an attached dynamic changed nothing");

    /* TTBR0 = root PA | ASID << 48; the first domain's root is the pool's first page. */
    asid_b = attr_u32(s, b, SMMU_ATTR_ASID);
    asid_d = attr_u32(s, d, SMMU_ATTR_ASID);
    ttbr0 = attr_ttbr0(s, b);
    CHECK(ttbr0 == (POOL_BASE | (uint64_t)asid_b << 48), "attr: base TTBR0 0x%llx, expected 0x%llx",
          (unsigned long long)ttbr0, (unsigned long long)(POOL_BASE | (uint64_t)asid_b << 48));
    CHECK(attr_ttbr0(s, d) == ((POOL_BASE + PAGE) | (uint64_t)asid_d << 48),
          "attr: dynamic TTBR0 0x%llx, expected its root (second pool page) | ASID %u << 48",
          (unsigned long long)attr_ttbr0(s, d), asid_d);
    CHECK(cb_of(s, cb).ttbr0 == ttbr0, "attr: the bank's TTBR0 is the base's TTBR0 attribute");
    for (i = 0; i < sizeof attrs / sizeof attrs[0]; i++) {
        uint64_t big = 0;
        CHECK_RC(attrs[i] == SMMU_ATTR_TTBR0 ? 0 : SMMU_EINVAL,
                 smmu_domain_get_attr(s, d, attrs[i], &big, sizeof big));
    }

    /* The root's descriptors, bit by bit, through phys_read64. IOVA indices 3/5/7/9 at levels 0..3. */
    root = ttbr0 & ADDR_MASK;
    {
        const uint64_t iova = (3ull << 39) | (5ull << 30) | (7ull << 21) | (9ull << 12);
        const uint32_t prots[] = { RW, SMMU_PROT_READ, SMMU_PROT_WRITE, RW | SMMU_PROT_CACHE, RW | SMMU_PROT_MMIO,
                                   RW | SMMU_PROT_NOEXEC, RW | SMMU_PROT_PRIV, SMMU_PROT_READ | SMMU_PROT_PRIV | SMMU_PROT_NOEXEC };
        uint64_t l0, l1, l2, t1, t2, t3;
        size_t k;
        for (k = 0; k < sizeof prots / sizeof prots[0]; k++)
            CHECK_RC(0, smmu_map(s, b, iova + k * PAGE, 0xABCDE000ull + k * 0x11000, PAGE, prots[k]));
        l0 = desc(s, root, 3);
        CHECK((l0 & 3) == 3, "desc: L0[3] is a table descriptor (0x%llx)", (unsigned long long)l0);
        CHECK(desc(s, root, 0) == 0 && desc(s, root, 2) == 0 && desc(s, root, 511) == 0,
              "desc: the other L0 entries are invalid (0)");
        t1 = l0 & ADDR_MASK;
        CHECK(t1 >= POOL_BASE && t1 < POOL_BASE + (64ull << 20), "desc: L1 table 0x%llx lies in the pool",
              (unsigned long long)t1);
        l1 = desc(s, t1, 5);
        CHECK((l1 & 3) == 3, "desc: L1[5] is a table descriptor (0x%llx)", (unsigned long long)l1);
        t2 = l1 & ADDR_MASK;
        l2 = desc(s, t2, 7);
        CHECK((l2 & 3) == 3, "desc: L2[7] is a table descriptor (0x%llx)", (unsigned long long)l2);
        t3 = l2 & ADDR_MASK;
        for (k = 0; k < sizeof prots / sizeof prots[0]; k++) {
            uint64_t got = desc(s, t3, (unsigned)(9 + k));
            uint64_t want = expected_leaf(0xABCDE000ull + k * 0x11000, prots[k], 3);
            CHECK(got == want, "desc: page descriptor for prot 0x%x is 0x%016llx, expected 0x%016llx", prots[k],
                  (unsigned long long)got, (unsigned long long)want);
        }
        CHECK(desc(s, t3, 8) == 0 && desc(s, t3, 9 + (unsigned)k) == 0, "desc: neighbouring L3 entries are invalid");

        /* A 2 MiB block (level 2, type 0b01) and a 1 GiB block (level 1). */
        CHECK_RC(0, smmu_map(s, b, (3ull << 39) | (5ull << 30) | (8ull << 21), 0x1400000000ull + (6ull << 21),
                             2ull << 20, SMMU_PROT_READ | SMMU_PROT_CACHE));
        CHECK(desc(s, t2, 8) == expected_leaf(0x1400000000ull + (6ull << 21), SMMU_PROT_READ | SMMU_PROT_CACHE, 2),
              "desc: 2 MiB block descriptor 0x%016llx, expected 0x%016llx", (unsigned long long)desc(s, t2, 8),
              (unsigned long long)expected_leaf(0x1400000000ull + (6ull << 21), SMMU_PROT_READ | SMMU_PROT_CACHE, 2));
        CHECK_RC(0, smmu_map(s, b, (3ull << 39) | (6ull << 30), 0x8000000000ull, 1ull << 30, RW | SMMU_PROT_NOEXEC));
        CHECK(desc(s, t1, 6) == expected_leaf(0x8000000000ull, RW | SMMU_PROT_NOEXEC, 1),
              "desc: 1 GiB block descriptor 0x%016llx, expected 0x%016llx", (unsigned long long)desc(s, t1, 6),
              (unsigned long long)expected_leaf(0x8000000000ull, RW | SMMU_PROT_NOEXEC, 1));
        {
            uint64_t pa = 0;
            CHECK_RC(0, smmu_iova_to_phys(s, b, ((3ull << 39) | (6ull << 30)) + 0x12345678, &pa));
            CHECK(pa == 0x8000000000ull + 0x12345678, "desc: iova_to_phys through the 1 GiB block -> 0x%llx",
                  (unsigned long long)pa);
        }
    }

    /* Detach: the attributes that need an attach are gone again. */
    CHECK_RC(0, smmu_detach_device(s, d, 0));
    CHECK_RC(SMMU_ENODEV, smmu_domain_get_attr(s, d, SMMU_ATTR_ASID, &u, sizeof u));
    CHECK_RC(SMMU_ENODEV, smmu_domain_get_attr(s, d, SMMU_ATTR_TTBR0, &q, sizeof q));
    CHECK_RC(SMMU_ENODEV, smmu_domain_get_attr(s, d, SMMU_ATTR_CONTEXT_BANK, &u, sizeof u));
    u = 5;
    CHECK_RC(0, smmu_domain_set_attr(s, d, SMMU_ATTR_PROCID, &u, sizeof u));   /* detached: allowed again */
    CHECK(attr_u32(s, d, SMMU_ATTR_PROCID) == 5, "attr: PROCID settable after detach");
    CHECK_RC(0, smmu_destroy(s));
}

/* ---- attach rules ----------------------------------------------------------------------------- */

static void test_attach_rules(void)
{
    smmu_config cfg;
    smmu_t s;
    smmu_domain_t a, b, c, d, e;
    smmu_cb_state cb0, cb1, x0, x1;
    smmu_stats st0, st1;
    uint32_t u;
    int32_t one = 1;

    smmu_config_init(&cfg);
    cfg.num_context_banks = 2;
    cfg.num_stream_ids = 16;
    s = make_smmu(&cfg);
    if (!s)
        return;
    a = make_domain(s);
    b = make_domain(s);
    c = make_domain(s);
    d = make_domain(s);
    e = make_domain(s);

    /* A dynamic domain without CONTEXT_BANK, with no base anywhere, then with a base. */
    CHECK_RC(0, smmu_domain_set_attr(s, d, SMMU_ATTR_DYNAMIC, &one, sizeof one));
    CHECK_RC(SMMU_ENODEV, smmu_attach_device(s, d, 0));
    CHECK_RC(0, smmu_attach_device(s, a, 0));                       /* a: bank 0 */
    CHECK_RC(SMMU_ENODEV, smmu_attach_device(s, d, 0));
    /* CONTEXT_BANK = 1: nobody holds bank 1. */
    u = 1;
    CHECK_RC(0, smmu_domain_set_attr(s, d, SMMU_ATTR_CONTEXT_BANK, &u, sizeof u));
    cb0 = cb_of(s, 0);
    cb1 = cb_of(s, 1);
    st0 = stats_of(s);
    CHECK_RC(SMMU_ENODEV, smmu_attach_device(s, d, 0));
    /* CONTEXT_BANK = 0, but through a stream that no base routes to bank 0. */
    u = 0;
    CHECK_RC(0, smmu_domain_set_attr(s, d, SMMU_ATTR_CONTEXT_BANK, &u, sizeof u));
    CHECK_RC(SMMU_ENODEV, smmu_attach_device(s, d, 1));
    CHECK_RC(SMMU_EINVAL, smmu_attach_device(s, d, 16));             /* stream out of range */
    x0 = cb_of(s, 0);
    x1 = cb_of(s, 1);
    st1 = stats_of(s);
    CHECK(same_cb(&cb0, &x0) && same_cb(&cb1, &x1) && same_stats(&st0, &st1),
          "attach: refused dynamic attaches change no bank and no counter");
    CHECK_RC(SMMU_ENODEV, smmu_domain_get_attr(s, d, SMMU_ATTR_ASID, &u, sizeof u));

    CHECK_RC(0, smmu_attach_device(s, b, 1));                       /* b: bank 1 */
    CHECK(attr_u32(s, b, SMMU_ATTR_CONTEXT_BANK) == 1, "attach: the second base takes bank 1");
    CHECK_RC(SMMU_ENODEV, smmu_attach_device(s, d, 1));              /* stream 1 is bank 1's, d wants bank 0 */
    u = 1;
    CHECK_RC(0, smmu_domain_set_attr(s, d, SMMU_ATTR_CONTEXT_BANK, &u, sizeof u));
    CHECK_RC(0, smmu_attach_device(s, d, 1));
    cb0 = cb_of(s, 0);
    cb1 = cb_of(s, 1);
    CHECK(cb1.dynamic_count == 1 && cb0.dynamic_count == 0, "attach: d counts on bank 1 only (%u, %u)",
          cb0.dynamic_count, cb1.dynamic_count);
    u = attr_u32(s, d, SMMU_ATTR_ASID);
    CHECK_RC(SMMU_EBUSY, smmu_attach_device(s, d, 1));               /* twice */
    CHECK_RC(SMMU_EBUSY, smmu_attach_device(s, d, 0));
    x0 = cb_of(s, 0);
    x1 = cb_of(s, 1);
    CHECK(same_cb(&cb0, &x0) && same_cb(&cb1, &x1) && attr_u32(s, d, SMMU_ATTR_ASID) == u,
          "attach: a second attach of a dynamic domain changes nothing (dynamic_count %u, ASID %u->%u)",
          x1.dynamic_count, u, attr_u32(s, d, SMMU_ATTR_ASID));
    CHECK_RC(SMMU_ENODEV, smmu_detach_device(s, d, 0));              /* not attached through stream 0 */

    /* A base on a further stream shares its bank. */
    CHECK_RC(0, smmu_map(s, a, 0x10000, 0x7770000, PAGE, RW));
    CHECK_RC(0, smmu_attach_device(s, a, 2));
    x0 = cb_of(s, 0);
    CHECK(x0.stream_count == 2 && attr_u32(s, a, SMMU_ATTR_CONTEXT_BANK) == 0 && cb_of(s, 1).base_domain == b,
          "attach: a on stream 2 shares bank 0 (stream_count %u)", x0.stream_count);
    CHECK(translate_pages(s, 0, 0x10000, 0x7770000, 1) == 1 && translate_pages(s, 2, 0x10000, 0x7770000, 1) == 1,
          "attach: streams 0 and 2 translate through a's tables");

    /* Streams already attached to a base. */
    cb0 = cb_of(s, 0);
    cb1 = cb_of(s, 1);
    CHECK_RC(SMMU_EBUSY, smmu_attach_device(s, b, 0));
    CHECK_RC(SMMU_EBUSY, smmu_attach_device(s, a, 1));
    CHECK_RC(SMMU_EBUSY, smmu_attach_device(s, a, 0));
    CHECK_RC(SMMU_EBUSY, smmu_attach_device(s, c, 2));
    CHECK_RC(SMMU_ENODEV, smmu_domain_get_attr(s, c, SMMU_ATTR_CONTEXT_BANK, &u, sizeof u));
    /* No free bank. */
    st0 = stats_of(s);
    CHECK_RC(SMMU_ENOSPC, smmu_attach_device(s, c, 3));
    CHECK_RC(SMMU_ENODEV, smmu_domain_get_attr(s, c, SMMU_ATTR_ASID, &u, sizeof u));
    CHECK_RC(SMMU_ENODEV, smmu_translate(s, 3, 0x10000, RD, &(uint64_t){ 0 }));
    x0 = cb_of(s, 0);
    x1 = cb_of(s, 1);
    st1 = stats_of(s);
    CHECK(same_cb(&cb0, &x0) && same_cb(&cb1, &x1), "attach: refused base attaches (EBUSY, ENOSPC) change no bank");
    CHECK(st1.pt_pages_in_use == st0.pt_pages_in_use && st1.tlb_invalidations == st0.tlb_invalidations,
          "attach: refused base attach changed no counter");
    /* A domain made dynamic again after being a base? DYNAMIC is settable while detached. */
    CHECK_RC(0, smmu_domain_set_attr(s, e, SMMU_ATTR_DYNAMIC, &one, sizeof one));
    u = 0;
    CHECK_RC(0, smmu_domain_set_attr(s, e, SMMU_ATTR_CONTEXT_BANK, &u, sizeof u));
    CHECK_RC(0, smmu_attach_device(s, e, 2));                       /* through a's second stream: bank 0 */
    CHECK(cb_of(s, 0).dynamic_count == 1, "attach: e is a dynamic domain on bank 0 via stream 2");

    /* Release bank 1 and c can have it. */
    CHECK_RC(SMMU_EBUSY, smmu_detach_device(s, b, 1));
    CHECK_RC(0, smmu_detach_device(s, d, 1));
    CHECK_RC(0, smmu_detach_device(s, b, 1));
    CHECK_RC(0, smmu_attach_device(s, c, 3));
    CHECK(attr_u32(s, c, SMMU_ATTR_CONTEXT_BANK) == 1, "attach: c gets the released bank 1");
    CHECK_RC(SMMU_EBUSY, smmu_domain_free(s, c));                    /* attached */
    CHECK_RC(SMMU_EBUSY, smmu_domain_free(s, e));
    CHECK_RC(0, smmu_destroy(s));
}

/* ---- ASIDs ----------------------------------------------------------------------------------- */

static void test_asids(void)
{
    smmu_config cfg;
    smmu_t s;
    static smmu_domain_t dyn[300];
    smmu_domain_t a, b, c, extra, fresh;
    unsigned char seen[256];
    int i, ndyn = 0, dup = 0, zero = 0, big = 0;
    uint32_t asid, victim_asid;
    smmu_cb_state cb0, cb1, cb2, x0, x1, x2;
    smmu_stats st0, st1;
    int32_t rc;
    uint64_t pa;

    smmu_config_init(&cfg);
    cfg.asid_bits = 8;
    cfg.num_context_banks = 4;
    s = make_smmu(&cfg);
    if (!s)
        return;
    memset(seen, 0, sizeof seen);
    a = make_domain(s);
    b = make_domain(s);
    c = make_domain(s);
    TRY_OK(smmu_attach_device(s, a, 0));   /* bank 0 */
    TRY_OK(smmu_attach_device(s, b, 1));   /* bank 1 */
    /* 253 dynamic domains, alternating between the two banks: 255 attached domains in all. */
    for (i = 0; i < 253; i++) {
        uint32_t bank = (uint32_t)(i & 1);
        dyn[i] = make_domain(s);
        if (!CHECK_RC(0, make_dynamic(s, dyn[i], bank)) || !CHECK_RC(0, smmu_attach_device(s, dyn[i], bank))) {
            fprintf(stdout, "  (dynamic domain %d of 253)\n", i);
            break;
        }
        ndyn++;
    }
    CHECK(ndyn == 253, "asid: 2 bases + 253 dynamics attach with asid_bits = 8 (got %d dynamics)", ndyn);
    for (i = -2; i < ndyn; i++) {
        asid = attr_u32(s, i == -2 ? a : i == -1 ? b : dyn[i], SMMU_ATTR_ASID);
        if (asid == 0)
            zero++;
        else if (asid > 255)
            big++;
        else if (seen[asid]++)
            dup++;
    }
    CHECK(zero == 0 && big == 0 && dup == 0,
          "asid: 255 attached domains have 255 distinct ASIDs in 1..255 (%d zero, %d >255, %d duplicates)", zero, big,
          dup);

    /* The 256th: ENOSPC, nothing changed; a third base finds a free bank but no ASID. */
    extra = make_domain(s);
    CHECK_RC(0, make_dynamic(s, extra, 0));
    cb0 = cb_of(s, 0);
    cb1 = cb_of(s, 1);
    cb2 = cb_of(s, 2);
    st0 = stats_of(s);
    CHECK_RC(SMMU_ENOSPC, smmu_attach_device(s, extra, 0));
    CHECK_RC(SMMU_ENOSPC, smmu_attach_device(s, c, 2));
    x0 = cb_of(s, 0);
    x1 = cb_of(s, 1);
    x2 = cb_of(s, 2);
    st1 = stats_of(s);
    CHECK(same_cb(&cb0, &x0) && same_cb(&cb1, &x1) && same_cb(&cb2, &x2),
          "asid: refused attaches (out of ASIDs) change no bank (bank 2 in_use %u, bank 0 dynamic_count %u->%u)",
          x2.in_use, cb0.dynamic_count, x0.dynamic_count);
    CHECK(same_stats(&st0, &st1), "asid: refused attaches change no counter");
    CHECK_RC(SMMU_ENODEV, smmu_domain_get_attr(s, extra, SMMU_ATTR_ASID, &asid, sizeof asid));
    CHECK_RC(SMMU_ENODEV, smmu_domain_get_attr(s, c, SMMU_ATTR_ASID, &asid, sizeof asid));
    CHECK_RC(SMMU_ENODEV, smmu_translate(s, 2, 0, RD, &(uint64_t){ 0 }));

    /* Reuse: the victim caches IOVA V -> OLD; after its detach the newcomer gets its ASID and
     * maps V -> NEW; the newcomer must see NEW, never the victim's stale entry. */
    if (ndyn == 253) {
        const uint64_t V = 0x5550000, OLD = 0x1110000, NEW = 0x2220000;
        smmu_domain_t victim = dyn[100];   /* on bank 0 */
        CHECK_RC(0, smmu_map(s, victim, V, OLD, 4 * PAGE, RW));
        CHECK_RC(0, smmu_switch_domain(s, victim));
        CHECK(translate_pages(s, 0, V, OLD, 4) == 4, "asid-reuse: the victim translates V to OLD");
        victim_asid = attr_u32(s, victim, SMMU_ATTR_ASID);
        CHECK_RC(0, smmu_detach_device(s, victim, 0));
        fresh = extra;
        CHECK_RC(0, smmu_map(s, fresh, V, NEW, 4 * PAGE, RW));
        CHECK_RC(0, smmu_attach_device(s, fresh, 0));
        asid = attr_u32(s, fresh, SMMU_ATTR_ASID);
        CHECK(asid == victim_asid, "asid-reuse: the only free ASID (%u) goes to the newcomer (got %u)", victim_asid, asid);
        CHECK_RC(0, smmu_switch_domain(s, fresh));
        st0 = stats_of(s);
        pa = xlate(s, 0, V + 0x40, RD, &rc);
        st1 = stats_of(s);
        CHECK(rc == 0 && pa == NEW + 0x40, "asid-reuse: newcomer with the reused ASID translates V to 0x%llx, "
              "expected NEW 0x%llx (OLD would be 0x%llx: a stale entry)", (unsigned long long)pa,
              (unsigned long long)(NEW + 0x40), (unsigned long long)(OLD + 0x40));
        CHECK(st1.tlb_misses - st0.tlb_misses == 1 && st1.tlb_hits == st0.tlb_hits,
              "asid-reuse: the newcomer's first translation misses (misses +%llu, hits +%llu)",
              (unsigned long long)(st1.tlb_misses - st0.tlb_misses), (unsigned long long)(st1.tlb_hits - st0.tlb_hits));
        CHECK(translate_pages(s, 0, V, NEW, 4) == 4, "asid-reuse: all four pages translate to NEW");
        /* And the instance is full again. */
        CHECK_RC(SMMU_ENOSPC, smmu_attach_device(s, victim, 0));
    }
    CHECK_RC(0, smmu_destroy(s));
}

/* ---- ASID tagging vs flush-on-switch ------------------------------------------------------------ */

static void test_tagging(int flush)
{
    smmu_config cfg;
    struct rig r;
    const int pages = 64, rounds = 6;
    const uint64_t iova = 0x30000000;
    smmu_domain_t doms[3];
    uint64_t pas[3] = { 0x100000000ull, 0x200000000ull, 0x300000000ull };
    int i, k, wrong = 0;
    smmu_stats a, b;

    smmu_config_init(&cfg);
    if (flush)
        cfg.flags = SMMU_CFG_NO_ASID_TAGGING;
    if (!rig_up(&r, &cfg, 7, 2))
        return;
    doms[0] = r.dyn[0];
    doms[1] = r.dyn[1];
    doms[2] = r.base;
    for (k = 0; k < 3; k++)
        TRY_OK(smmu_map(r.smmu, doms[k], iova, pas[k], (uint64_t)pages * PAGE, RW));
    for (k = 0; k < 3; k++) {   /* warm up */
        TRY_OK(smmu_switch_domain(r.smmu, doms[k]));
        translate_pages(r.smmu, r.sid, iova, pas[k], pages);
    }
    for (i = 0; i < rounds; i++) {
        for (k = 0; k < 3; k++) {
            uint64_t misses, inval;
            a = stats_of(r.smmu);
            CHECK_RC(0, smmu_switch_domain(r.smmu, doms[k]));
            wrong += pages - translate_pages(r.smmu, r.sid, iova, pas[k], pages);
            b = stats_of(r.smmu);
            misses = b.tlb_misses - a.tlb_misses;
            inval = b.tlb_entries_invalidated - a.tlb_entries_invalidated;
            if (!flush) {
                CHECK(misses == 0, "tagging: round %d domain %d: %llu TLB misses after switching back, expected 0", i, k,
                      (unsigned long long)misses);
                CHECK(b.tlb_invalidations == a.tlb_invalidations && inval == 0,
                      "tagging: round %d domain %d: a switch invalidated %llu entries (%llu operations)", i, k,
                      (unsigned long long)inval, (unsigned long long)(b.tlb_invalidations - a.tlb_invalidations));
            } else {
                CHECK(misses == (uint64_t)pages, "flush: round %d domain %d: %llu TLB misses after the switch, "
                      "expected one per page (%d)", i, k, (unsigned long long)misses, pages);
                CHECK(inval == (uint64_t)pages && b.tlb_invalidations - a.tlb_invalidations == 1,
                      "flush: round %d domain %d: the switch invalidated the outgoing %d entries in one operation "
                      "(got %llu entries, %llu operations)", i, k, pages, (unsigned long long)inval,
                      (unsigned long long)(b.tlb_invalidations - a.tlb_invalidations));
            }
            CHECK(b.switches - a.switches == 1, "%s: one switch counted", flush ? "flush" : "tagging");
        }
    }
    CHECK(wrong == 0, "%s: %d translations gave the wrong PA", flush ? "flush" : "tagging", wrong);
    CHECK_RC(0, smmu_destroy(r.smmu));
}

/* TLB geometries and kernels: whatever the sets and ways, translations are right; a working set
 * that fits hits after warm-up (two ASIDs at the same IOVAs need 2 ways). */
static void test_tlb_geometries(void)
{
    static const uint32_t geo[][2] = { { 64, 1 }, { 64, 2 }, { 64, 4 }, { 64, 8 }, { 64, 16 }, { 64, 64 },
                                       { 8, 8 }, { 1024, 32 }, { 4096, 8 } };
    size_t g;
    int scalar;

    for (scalar = 0; scalar <= 1; scalar++) {
        for (g = 0; g < sizeof geo / sizeof geo[0]; g++) {
            smmu_config cfg;
            struct rig r;
            const int big = 96, small = 4;
            int round, wrong = 0, k, i;
            uint64_t iovas[96], pas[96];
            size_t done;
            smmu_stats a, b;

            smmu_config_init(&cfg);
            cfg.tlb_entries = geo[g][0];
            cfg.tlb_ways = geo[g][1];
            cfg.flags = scalar ? SMMU_CFG_SCALAR_TLB : 0;
            if (!rig_up(&r, &cfg, 1, 1))
                return;
            for (k = 0; k < 2; k++) {
                smmu_domain_t d = k ? r.dyn[0] : r.base;
                /* pages plus a 2 MiB block per domain */
                CHECK_RC(0, smmu_map(r.smmu, d, 0x1000000, 0x100000000ull * (k + 1), (uint64_t)big * PAGE, RW));
                CHECK_RC(0, smmu_map(r.smmu, d, 0x2000000, 0x100000000ull * (k + 1) + 0x2000000, 2ull << 20, RW));
            }
            for (round = 0; round < 3; round++) {
                for (k = 0; k < 2; k++) {
                    smmu_domain_t d = k ? r.dyn[0] : r.base;
                    uint64_t tag = 0x100000000ull * (k + 1);
                    CHECK_RC(0, smmu_switch_domain(r.smmu, d));
                    wrong += big - translate_pages(r.smmu, r.sid, 0x1000000, tag, big);
                    wrong += 8 - translate_pages(r.smmu, r.sid, 0x2000000 + 0x40000, tag + 0x2000000 + 0x40000, 8);
                    for (i = 0; i < big; i++)
                        iovas[i] = 0x1000000 + (uint64_t)((i * 37) % big) * PAGE + 0x20;
                    done = 0;
                    CHECK_RC(0, smmu_translate_batch(r.smmu, r.sid, iovas, pas, (size_t)big, RD, &done));
                    for (i = 0; i < big; i++)
                        wrong += pas[i] != tag + iovas[i] - 0x1000000;
                }
            }
            CHECK(wrong == 0, "tlb %ux%u%s: %d translations wrong", geo[g][0], geo[g][1], scalar ? " scalar" : "", wrong);
            if (geo[g][1] >= 2) {
                /* a small working set per domain, both domains: fits, so no misses after warm-up */
                for (k = 0; k < 2; k++) {
                    CHECK_RC(0, smmu_switch_domain(r.smmu, k ? r.dyn[0] : r.base));
                    translate_pages(r.smmu, r.sid, 0x1000000, 0x100000000ull * (k + 1), small);
                }
                a = stats_of(r.smmu);
                for (round = 0; round < 4; round++)
                    for (k = 0; k < 2; k++) {
                        CHECK_RC(0, smmu_switch_domain(r.smmu, k ? r.dyn[0] : r.base));
                        wrong += small - translate_pages(r.smmu, r.sid, 0x1000000, 0x100000000ull * (k + 1), small);
                    }
                b = stats_of(r.smmu);
                CHECK(b.tlb_misses == a.tlb_misses && wrong == 0, "tlb %ux%u%s: a working set of 2 x %d pages that fits "
                      "misses %llu times after warm-up", geo[g][0], geo[g][1], scalar ? " scalar" : "", small,
                      (unsigned long long)(b.tlb_misses - a.tlb_misses));
            }
            CHECK_RC(0, smmu_destroy(r.smmu));
        }
    }
}

/* Block entries: invalidating any byte of a cached block removes it. */
static void test_block_invalidation(void)
{
    struct rig r;
    smmu_stats a, b;
    uint32_t asid;

    if (!rig_up(&r, NULL, 1, 0))
        return;
    asid = attr_u32(r.smmu, r.base, SMMU_ATTR_ASID);
    TRY_OK(smmu_map(r.smmu, r.base, 2ull << 20, 0x40000000, 2ull << 20, RW));
    TRY_OK(smmu_map(r.smmu, r.base, 1ull << 30, 1ull << 31, 1ull << 30, RW));
    CHECK(translate_pages(r.smmu, r.sid, 2ull << 20, 0x40000000, 1) == 1
              && translate_pages(r.smmu, r.sid, 1ull << 30, 1ull << 31, 1) == 1,
          "blockinv: both blocks translate (cached)");
    a = stats_of(r.smmu);
    CHECK_RC(0, smmu_tlb_inv_va(r.smmu, asid, (2ull << 20) + 0x12345, 1));
    CHECK_RC(0, smmu_tlb_inv_va_all(r.smmu, (1ull << 30) + (512ull << 20), PAGE));
    b = stats_of(r.smmu);
    CHECK(b.tlb_entries_invalidated - a.tlb_entries_invalidated == 2,
          "blockinv: one byte inside each cached block removes it (%llu entries, expected 2)",
          (unsigned long long)(b.tlb_entries_invalidated - a.tlb_entries_invalidated));
    CHECK(translate_pages(r.smmu, r.sid, 2ull << 20, 0x40000000, 1) == 1, "blockinv: the block walks again");
    a = stats_of(r.smmu);
    CHECK(a.tlb_misses - b.tlb_misses == 1, "blockinv: ... with a miss (%llu)", (unsigned long long)(a.tlb_misses - b.tlb_misses));
    CHECK_RC(0, smmu_destroy(r.smmu));
}

int main(void)
{
    test_base_detach_busy();
    test_fault_to_base();
    test_dynamic_never_resets_cb();
    test_detach_invalidates_asid();
    test_attributes();
    test_attach_rules();
    test_asids();
    test_tagging(0);
    test_tagging(1);
    test_tlb_geometries();
    test_block_invalidation();
    return check_summary("constraints");
}
