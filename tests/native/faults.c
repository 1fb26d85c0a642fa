/*
 * faults.c - faults through the C ABI (SPEC.md section 4, smmu.h "Faults"): the kinds and the
 * level where the walk stopped, the FSR / FSYNR0 / FAR images, the record kept without a handler
 * (first record + FSR.MULTI), and C fault handlers: cookie, FSR cleared after return, calls back
 * into the library (stats, unmap, map + RETRY, switch + RETRY, nested faults), destroy -> EBUSY.
 */
#include <string.h>

#include "check.h"

#define PAGE 0x1000ull
#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define RW (SMMU_PROT_READ | SMMU_PROT_WRITE)
#define RD SMMU_ACCESS_READ
#define WR SMMU_ACCESS_WRITE
#define EX SMMU_ACCESS_EXEC
#define PRIV SMMU_ACCESS_PRIV
#define POOL_BASE 0x40000000ull
#define ADDR_MASK 0x0000FFFFFFFFF000ull
#define AF (1ull << 10)
#define SID 6u

struct env {
    smmu_t smmu;
    smmu_domain_t base;
    uint32_t cb, asid;
};

static int env_up(struct env *e, const smmu_config *cfg)
{
    smmu_config def;
    if (!cfg) {
        smmu_config_init(&def);
        cfg = &def;
    }
    memset(e, 0, sizeof *e);
    e->smmu = make_smmu(cfg);
    if (!e->smmu)
        return 0;
    e->base = make_domain(e->smmu);
    if (!CHECK_RC(0, smmu_attach_device(e->smmu, e->base, SID)))
        return 0;
    e->cb = attr_u32(e->smmu, e->base, SMMU_ATTR_CONTEXT_BANK);
    e->asid = attr_u32(e->smmu, e->base, SMMU_ATTR_ASID);
    return 1;
}

/* Translates (expecting EFAULT) with no handler installed; returns the recorded fault and clears it. */
static smmu_fault fault_of(const struct env *e, uint64_t iova, uint32_t access, const char *what)
{
    smmu_fault f;
    int32_t rc;
    uint64_t pa = 0xA5A5A5A5A5A5A5A5ull;
    memset(&f, 0, sizeof f);
    rc = smmu_translate(e->smmu, SID, iova, access, &pa);
    CHECK(rc == SMMU_EFAULT, "%s: translate(0x%llx, access 0x%x) -> %d (%s), expected EFAULT", what,
          (unsigned long long)iova, access, rc, smmu_strerror(rc));
    CHECK(pa == 0xA5A5A5A5A5A5A5A5ull, "%s: a faulting translate leaves *out_pa untouched", what);
    f.size = sizeof f;
    if (CHECK_RC(0, smmu_get_fault(e->smmu, e->cb, &f))) {
        smmu_cb_state cb = cb_of(e->smmu, e->cb);
        CHECK(cb.fsr == f.fsr && cb.far == iova && cb.fsynr0 == f.fsynr,
              "%s: CB registers (fsr 0x%x far 0x%llx fsynr0 0x%x) match the record (fsr 0x%x fsynr 0x%x)", what, cb.fsr,
              (unsigned long long)cb.far, cb.fsynr0, f.fsr, f.fsynr);
        CHECK(f.size == sizeof f && f.iova == iova && f.access == access && f.stream_id == SID
                  && f.context_bank == e->cb && f.asid == e->asid && f.active_domain == e->base,
              "%s: record iova 0x%llx access 0x%x sid %u cb %u asid %u active 0x%08x", what, (unsigned long long)f.iova,
              f.access, f.stream_id, f.context_bank, f.asid, f.active_domain);
    }
    CHECK_RC(0, smmu_clear_fault(e->smmu, e->cb));
    return f;
}

static uint32_t fsynr_for(uint32_t level, uint32_t access)
{
    return (level & SMMU_FSYNR0_PLVL_MASK) | ((access & WR) ? SMMU_FSYNR0_WNR : 0)
           | ((access & PRIV) ? SMMU_FSYNR0_PNU : 0) | ((access & EX) ? SMMU_FSYNR0_IND : 0);
}

static void expect_fault(const struct env *e, uint64_t iova, uint32_t access, uint32_t type, uint32_t level,
                         const char *what)
{
    static const uint32_t fsr_of[] = { 0, SMMU_FSR_TF, SMMU_FSR_PF, SMMU_FSR_AFF, SMMU_FSR_ASF, SMMU_FSR_EF };
    smmu_fault f = fault_of(e, iova, access, what);
    CHECK(f.type == type, "%s: fault type %u, expected %u", what, f.type, type);
    CHECK(f.level == level, "%s: fault level %u, expected %u", what, f.level, level);
    CHECK(f.fsr == fsr_of[type], "%s: FSR 0x%x, expected 0x%x", what, f.fsr, fsr_of[type]);
    CHECK(f.fsynr == fsynr_for(level, access), "%s: FSYNR0 0x%x, expected 0x%x (PLVL %u, access 0x%x)", what, f.fsynr,
          fsynr_for(level, access), level, access);
}

/* The leaf descriptor's PA for iova in the first domain of an instance (root at the pool's base),
 * walking from start_level; 0 if the walk does not reach a leaf. */
static uint64_t leaf_pa(smmu_t s, uint64_t iova, int start_level)
{
    uint64_t table = POOL_BASE, d = 0;
    int level;
    for (level = start_level; level <= 3; level++) {
        uint64_t at = table + 8 * ((iova >> (12 + 9 * (3 - level))) & 511);
        if (smmu_phys_read64(s, at, &d) != SMMU_OK || !(d & 1))
            return 0;
        if (level == 3 || (d & 3) == 1)
            return at;
        table = d & ADDR_MASK;
    }
    return 0;
}

static int translate_ok(const struct env *e, uint64_t iova, uint32_t access, uint64_t pa)
{
    int32_t rc;
    uint64_t got = xlate(e->smmu, SID, iova, access, &rc);
    return rc == 0 && got == pa;
}

/* ---- kinds, levels, syndrome (no handler) ------------------------------------------------------- */

static void test_translation_levels(void)
{
    struct env e;
    smmu_config cfg;

    if (!env_up(&e, NULL))
        return;
    TRY_OK(smmu_map(e.smmu, e.base, 0x1000, 0x10000, PAGE, RW));
    expect_fault(&e, 0x2000, RD, SMMU_FAULT_TRANSLATION, 3, "tf: unmapped page next to a mapped one");
    expect_fault(&e, 0x200000, RD, SMMU_FAULT_TRANSLATION, 2, "tf: no L3 table for this 2 MiB");
    expect_fault(&e, GIB, RD, SMMU_FAULT_TRANSLATION, 1, "tf: no L2 table for this 1 GiB");
    expect_fault(&e, 1ull << 39, RD, SMMU_FAULT_TRANSLATION, 0, "tf: nothing in this 512 GiB region");
    expect_fault(&e, (1ull << 48) - PAGE, RD, SMMU_FAULT_TRANSLATION, 0, "tf: the top of the input space, unmapped");
    expect_fault(&e, 1ull << 48, RD, SMMU_FAULT_TRANSLATION, 0, "tf: iova = 2^ias");
    expect_fault(&e, 0xFFFFFFFFFFFFF000ull, RD, SMMU_FAULT_TRANSLATION, 0, "tf: iova far beyond 2^ias");
    /* FSYNR0 bits for each kind of access */
    expect_fault(&e, 0x3000, WR, SMMU_FAULT_TRANSLATION, 3, "tf: write sets WNR");
    expect_fault(&e, 0x3000, RD | PRIV, SMMU_FAULT_TRANSLATION, 3, "tf: privileged sets PNU");
    expect_fault(&e, 0x3000, EX, SMMU_FAULT_TRANSLATION, 3, "tf: exec sets IND");
    expect_fault(&e, 0x3000, RD | WR | EX | PRIV, SMMU_FAULT_TRANSLATION, 3, "tf: every syndrome bit at once");
    CHECK(translate_ok(&e, 0x1008, RD, 0x10008), "tf: the mapped page next to them translates");
    {
        smmu_stats st = stats_of(e.smmu);
        CHECK(st.faults == 11, "tf: 11 faults counted, got %llu", (unsigned long long)st.faults);
    }
    CHECK_RC(0, smmu_destroy(e.smmu));

    /* ias picks the start level: 39..32 -> 1, 48..40 -> 0 */
    smmu_config_init(&cfg);
    cfg.ias = 39;
    if (!env_up(&e, &cfg))
        return;
    expect_fault(&e, 0x1000, RD, SMMU_FAULT_TRANSLATION, 1, "tf ias39: empty root is a level 1 table");
    expect_fault(&e, 1ull << 39, RD, SMMU_FAULT_TRANSLATION, 0, "tf ias39: iova >= 2^ias is level 0");
    TRY_OK(smmu_map(e.smmu, e.base, (1ull << 39) - PAGE, 0x5000, PAGE, RW));
    CHECK(translate_ok(&e, (1ull << 39) - 8, RD, 0x5ff8), "tf ias39: last page translates");
    expect_fault(&e, (1ull << 39) - 2 * PAGE, RD, SMMU_FAULT_TRANSLATION, 3, "tf ias39: its neighbour is level 3");
    CHECK_RC(0, smmu_destroy(e.smmu));
    cfg.ias = 32;
    if (!env_up(&e, &cfg))
        return;
    expect_fault(&e, 0x1000, RD, SMMU_FAULT_TRANSLATION, 1, "tf ias32: empty root is a level 1 table");
    expect_fault(&e, 1ull << 32, RD, SMMU_FAULT_TRANSLATION, 0, "tf ias32: iova >= 2^ias is level 0");
    CHECK_RC(0, smmu_destroy(e.smmu));
    cfg.ias = 40;
    if (!env_up(&e, &cfg))
        return;
    expect_fault(&e, 0x1000, RD, SMMU_FAULT_TRANSLATION, 0, "tf ias40: empty root is a level 0 table");
    expect_fault(&e, 1ull << 40, RD, SMMU_FAULT_TRANSLATION, 0, "tf ias40: iova >= 2^ias is level 0");
    CHECK_RC(0, smmu_destroy(e.smmu));
}

static void test_permission(void)
{
    struct env e;

    if (!env_up(&e, NULL))
        return;
    TRY_OK(smmu_map(e.smmu, e.base, 0x10000, 0x100000, PAGE, SMMU_PROT_READ));
    TRY_OK(smmu_map(e.smmu, e.base, 0x20000, 0x200000, PAGE, RW | SMMU_PROT_PRIV));
    TRY_OK(smmu_map(e.smmu, e.base, 0x30000, 0x300000, PAGE, RW | SMMU_PROT_NOEXEC));
    TRY_OK(smmu_map(e.smmu, e.base, 0x40000, 0x400000, PAGE, SMMU_PROT_READ));
    TRY_OK(smmu_map(e.smmu, e.base, 4 * MIB, 8 * MIB, 2 * MIB, SMMU_PROT_READ));
    TRY_OK(smmu_map(e.smmu, e.base, 2 * GIB, 4 * GIB, GIB, SMMU_PROT_READ | SMMU_PROT_PRIV));

    /* from a walk (nothing cached yet) */
    expect_fault(&e, 0x10008, WR, SMMU_FAULT_PERMISSION, 3, "pf: write to a read-only page");
    CHECK(translate_ok(&e, 0x10008, RD, 0x100008), "pf: reading the read-only page works");
    expect_fault(&e, 0x20008, RD, SMMU_FAULT_PERMISSION, 3, "pf: unprivileged read of a PRIV page");
    expect_fault(&e, 0x20008, WR, SMMU_FAULT_PERMISSION, 3, "pf: unprivileged write of a PRIV page");
    CHECK(translate_ok(&e, 0x20008, RD | PRIV, 0x200008) && translate_ok(&e, 0x20008, WR | PRIV, 0x200008),
          "pf: privileged read and write of the PRIV page work");
    expect_fault(&e, 0x30008, EX, SMMU_FAULT_PERMISSION, 3, "pf: exec of a NOEXEC page");
    expect_fault(&e, 0x30008, EX | PRIV, SMMU_FAULT_PERMISSION, 3, "pf: privileged exec of a NOEXEC page");
    CHECK(translate_ok(&e, 0x30008, RD | WR, 0x300008), "pf: read/write of the NOEXEC page work");
    CHECK(translate_ok(&e, 0x40008, EX, 0x400008), "pf: unprivileged exec of a plain read-only page works");
    expect_fault(&e, 4 * MIB + 0x1234, WR, SMMU_FAULT_PERMISSION, 2, "pf: write to a read-only 2 MiB block");
    expect_fault(&e, 2 * GIB + 0x123458, RD, SMMU_FAULT_PERMISSION, 1, "pf: unprivileged read of a PRIV 1 GiB block");
    CHECK(translate_ok(&e, 2 * GIB + 0x123458, RD | PRIV, 4 * GIB + 0x123458), "pf: privileged read of the 1 GiB block");
    /* from a TLB hit: the entries are cached now, the rights still apply */
    expect_fault(&e, 0x10010, WR, SMMU_FAULT_PERMISSION, 3, "pf (cached): write to a read-only page");
    expect_fault(&e, 0x20010, RD, SMMU_FAULT_PERMISSION, 3, "pf (cached): unprivileged read of a PRIV page");
    expect_fault(&e, 0x30010, EX, SMMU_FAULT_PERMISSION, 3, "pf (cached): exec of a NOEXEC page");
    expect_fault(&e, 4 * MIB + 0x5678, WR, SMMU_FAULT_PERMISSION, 2, "pf (cached): write to the read-only block");
    expect_fault(&e, 2 * GIB + 0x8, WR | PRIV, SMMU_FAULT_PERMISSION, 1, "pf (cached): write to the read-only 1 GiB block");
    CHECK_RC(0, smmu_destroy(e.smmu));
}

static void test_access_flag_and_address_size(void)
{
    struct env e;
    smmu_config cfg;
    uint64_t at, d = 0, pa = 0;

    if (!env_up(&e, NULL))
        return;
    TRY_OK(smmu_map(e.smmu, e.base, 0x5000, 0x55000, PAGE, RW));
    TRY_OK(smmu_map(e.smmu, e.base, 6 * MIB, 10 * MIB, 2 * MIB, RW));
    CHECK(translate_ok(&e, 0x5008, RD, 0x55008), "aff: the page translates (cached)");
    at = leaf_pa(e.smmu, 0x5000, 0);
    CHECK(at != 0, "aff: found the page's descriptor");
    if (!at)
        return;
    CHECK_RC(0, smmu_phys_read64(e.smmu, at, &d));
    CHECK(d & AF, "aff: AF is set in a fresh mapping (0x%llx)", (unsigned long long)d);
    CHECK_RC(0, smmu_phys_write64(e.smmu, at, d & ~AF));
    CHECK(translate_ok(&e, 0x5010, RD, 0x55010), "aff: without TLB maintenance the cached entry still hits");
    CHECK_RC(0, smmu_tlb_inv_va(e.smmu, e.asid, 0x5000, PAGE));
    expect_fault(&e, 0x5018, RD, SMMU_FAULT_ACCESS_FLAG, 3, "aff: AF clear on a page");
    CHECK_RC(0, smmu_iova_to_phys(e.smmu, e.base, 0x5018, &pa));
    CHECK(pa == 0x55018, "aff: iova_to_phys ignores AF (0x%llx)", (unsigned long long)pa);
    CHECK_RC(0, smmu_phys_write64(e.smmu, at, d));   /* AF back: faults are never cached */
    CHECK(translate_ok(&e, 0x5018, RD, 0x55018), "aff: with AF restored the page translates again");
    /* a block */
    at = leaf_pa(e.smmu, 6 * MIB, 0);
    CHECK(at != 0, "aff: found the block's descriptor");
    if (!at)
        return;
    CHECK_RC(0, smmu_phys_read64(e.smmu, at, &d));
    CHECK_RC(0, smmu_phys_write64(e.smmu, at, d & ~AF));
    expect_fault(&e, 7 * MIB, WR, SMMU_FAULT_ACCESS_FLAG, 2, "aff: AF clear on a 2 MiB block");
    CHECK_RC(0, smmu_destroy(e.smmu));

    /* address size: oas 40, a leaf pointing at 2^41 */
    smmu_config_init(&cfg);
    cfg.oas = 40;
    if (!env_up(&e, &cfg))
        return;
    TRY_OK(smmu_map(e.smmu, e.base, 0x7000, (1ull << 40) - PAGE, PAGE, RW));
    CHECK(translate_ok(&e, 0x7008, RD, (1ull << 40) - PAGE + 8), "asf: the last page under 2^oas translates");
    at = leaf_pa(e.smmu, 0x7000, 0);
    CHECK(at != 0, "asf: found the page's descriptor");
    if (!at)
        return;
    CHECK_RC(0, smmu_phys_read64(e.smmu, at, &d));
    CHECK_RC(0, smmu_phys_write64(e.smmu, at, (d & ~ADDR_MASK) | (1ull << 41)));
    CHECK_RC(0, smmu_tlb_inv_va(e.smmu, e.asid, 0x7000, PAGE));
    expect_fault(&e, 0x7008, RD, SMMU_FAULT_ADDR_SIZE, 3, "asf: output address 2^41 with oas 40");
    CHECK_RC(0, smmu_phys_write64(e.smmu, at, (d & ~ADDR_MASK) | (1ull << 40)));
    expect_fault(&e, 0x7008, WR, SMMU_FAULT_ADDR_SIZE, 3, "asf: output address exactly 2^oas");
    CHECK_RC(0, smmu_phys_write64(e.smmu, at, d));
    CHECK(translate_ok(&e, 0x7008, RD, (1ull << 40) - PAGE + 8), "asf: restored descriptor translates");
    CHECK_RC(0, smmu_destroy(e.smmu));
}

/* Without a handler: the first record stays, later faults set MULTI, clear_fault clears. */
static void test_record_without_handler(void)
{
    struct env e;
    smmu_fault f;
    smmu_cb_state cb;
    smmu_stats st;

    if (!env_up(&e, NULL))
        return;
    TRY_OK(smmu_map(e.smmu, e.base, 0x1000, 0x10000, PAGE, SMMU_PROT_READ));
    f.size = sizeof f;
    CHECK_RC(SMMU_ENOENT, smmu_get_fault(e.smmu, e.cb, &f));
    CHECK_RC(SMMU_EFAULT, smmu_translate(e.smmu, SID, 0x2008, RD, &(uint64_t){ 0 }));
    CHECK_RC(0, smmu_get_fault(e.smmu, e.cb, &f));
    CHECK(f.fsr == SMMU_FSR_TF && f.iova == 0x2008 && f.level == 3, "record: first fault recorded (fsr 0x%x iova 0x%llx)",
          f.fsr, (unsigned long long)f.iova);
    CHECK_RC(0, smmu_get_fault(e.smmu, e.cb, &f));   /* reading does not clear */
    CHECK(f.iova == 0x2008, "record: reading the fault does not clear it");
    CHECK_RC(SMMU_EFAULT, smmu_translate(e.smmu, SID, 0x1008, WR, &(uint64_t){ 0 }));   /* a permission fault */
    CHECK_RC(SMMU_EFAULT, smmu_translate(e.smmu, SID, 1ull << 40, EX, &(uint64_t){ 0 }));
    CHECK_RC(0, smmu_get_fault(e.smmu, e.cb, &f));
    CHECK(f.fsr == (SMMU_FSR_TF | SMMU_FSR_MULTI), "record: later faults only add MULTI: fsr 0x%x, expected 0x%x",
          f.fsr, SMMU_FSR_TF | SMMU_FSR_MULTI);
    CHECK(f.iova == 0x2008 && f.type == SMMU_FAULT_TRANSLATION && f.level == 3 && f.access == RD
              && f.fsynr == fsynr_for(3, RD),
          "record: the first record is kept (iova 0x%llx type %u level %u access 0x%x fsynr 0x%x)",
          (unsigned long long)f.iova, f.type, f.level, f.access, f.fsynr);
    cb = cb_of(e.smmu, e.cb);
    CHECK(cb.fsr == (SMMU_FSR_TF | SMMU_FSR_MULTI) && cb.far == 0x2008 && cb.fsynr0 == fsynr_for(3, RD),
          "record: CB FSR 0x%x FAR 0x%llx FSYNR0 0x%x keep the first fault", cb.fsr, (unsigned long long)cb.far,
          cb.fsynr0);
    st = stats_of(e.smmu);
    CHECK(st.faults == 3, "record: three faults counted (%llu)", (unsigned long long)st.faults);
    CHECK_RC(0, smmu_clear_fault(e.smmu, e.cb));
    CHECK_RC(SMMU_ENOENT, smmu_get_fault(e.smmu, e.cb, &f));
    cb = cb_of(e.smmu, e.cb);
    CHECK(cb.fsr == 0 && cb.far == 0 && cb.fsynr0 == 0, "record: clear_fault zeroes FSR/FAR/FSYNR0 (0x%x 0x%llx 0x%x)",
          cb.fsr, (unsigned long long)cb.far, cb.fsynr0);
    CHECK_RC(SMMU_EFAULT, smmu_translate(e.smmu, SID, 0x3000, WR | PRIV, &(uint64_t){ 0 }));
    CHECK_RC(0, smmu_get_fault(e.smmu, e.cb, &f));
    CHECK(f.fsr == SMMU_FSR_TF && f.iova == 0x3000 && f.fsynr == fsynr_for(3, WR | PRIV),
          "record: after a clear the next fault is a new first record (fsr 0x%x iova 0x%llx)", f.fsr,
          (unsigned long long)f.iova);
    CHECK_RC(0, smmu_destroy(e.smmu));
}

/* ---- handlers --------------------------------------------------------------------------------- */

enum mode { M_RECORD, M_INSPECT, M_UNMAP, M_MAP_RETRY, M_RETRY_NOFIX, M_NESTED, M_DESTROY, M_SWITCH_RETRY };

struct hctx {
    enum mode mode;
    int calls;
    smmu_t smmu;
    smmu_domain_t base;
    void *cookie;
    smmu_fault f;
    /* what the handler saw or did */
    int32_t rc1, rc2;
    int64_t unmapped;
    smmu_fault inner;
    smmu_cb_state cb;
    smmu_stats st;
    smmu_domain_t target;   /* M_UNMAP / M_MAP_RETRY: the domain; M_SWITCH_RETRY: the domain to switch to */
    uint64_t fix_pa;
};

static int32_t handler(smmu_t smmu, smmu_domain_t base, const smmu_fault *fault, void *cookie)
{
    struct hctx *h = (struct hctx *)cookie;
    h->calls++;
    h->smmu = smmu;
    h->base = base;
    h->cookie = cookie;
    h->f = *fault;
    switch (h->mode) {
    case M_RECORD:
        return SMMU_FAULT_TERMINATE;
    case M_INSPECT:
        h->inner.size = sizeof h->inner;
        h->rc1 = smmu_get_fault(smmu, fault->context_bank, &h->inner);
        h->cb = cb_of(smmu, fault->context_bank);
        h->st.size = sizeof h->st;
        h->rc2 = smmu_get_stats(smmu, &h->st);
        return SMMU_FAULT_TERMINATE;
    case M_UNMAP:
        h->unmapped = smmu_unmap(smmu, h->target, 0x1000, PAGE);
        return SMMU_FAULT_TERMINATE;
    case M_MAP_RETRY:
        h->rc1 = smmu_map(smmu, h->target, fault->iova & ~(PAGE - 1), h->fix_pa, PAGE, RW);
        return SMMU_FAULT_RETRY;
    case M_RETRY_NOFIX:
        return SMMU_FAULT_RETRY;
    case M_NESTED:
        h->rc1 = smmu_translate(smmu, fault->stream_id, 0x777000, RD, &(uint64_t){ 0 });
        h->inner.size = sizeof h->inner;
        h->rc2 = smmu_get_fault(smmu, fault->context_bank, &h->inner);
        return SMMU_FAULT_TERMINATE;
    case M_DESTROY:
        h->rc1 = smmu_destroy(smmu);
        h->rc2 = smmu_destroy(base);   /* a domain handle: EBADF */
        return SMMU_FAULT_TERMINATE;
    case M_SWITCH_RETRY:
        h->rc1 = smmu_switch_domain(smmu, h->target);
        return SMMU_FAULT_RETRY;
    }
    return SMMU_FAULT_TERMINATE;
}

static void test_handlers(void)
{
    struct env e;
    struct hctx h;
    smmu_fault f;
    smmu_stats st0, st1;
    smmu_cb_state cb;
    uint64_t pa;
    int32_t rc;

    if (!env_up(&e, NULL))
        return;
    memset(&h, 0, sizeof h);
    TRY_OK(smmu_map(e.smmu, e.base, 0x1000, 0x10000, PAGE, RW));
    CHECK_RC(0, smmu_set_fault_handler(e.smmu, e.base, handler, &h));
    f.size = sizeof f;

    /* called once with the cookie; FSR cleared after it returns */
    h.mode = M_RECORD;
    CHECK_RC(SMMU_EFAULT, smmu_translate(e.smmu, SID, 0x2010, WR, &(uint64_t){ 0 }));
    CHECK(h.calls == 1, "handler: called once (%d)", h.calls);
    CHECK(h.smmu == e.smmu && h.base == e.base && h.cookie == &h, "handler: got the instance 0x%08x, base 0x%08x and "
          "its cookie", h.smmu, h.base);
    CHECK(h.f.size == sizeof(smmu_fault) && h.f.type == SMMU_FAULT_TRANSLATION && h.f.level == 3 && h.f.iova == 0x2010
              && h.f.access == WR && h.f.stream_id == SID && h.f.context_bank == e.cb && h.f.asid == e.asid
              && h.f.active_domain == e.base && h.f.fsr == SMMU_FSR_TF && h.f.fsynr == fsynr_for(3, WR),
          "handler: the record (type %u level %u iova 0x%llx fsr 0x%x fsynr 0x%x)", h.f.type, h.f.level,
          (unsigned long long)h.f.iova, h.f.fsr, h.f.fsynr);
    CHECK_RC(SMMU_ENOENT, smmu_get_fault(e.smmu, e.cb, &f));
    cb = cb_of(e.smmu, e.cb);
    CHECK(cb.fsr == 0 && cb.far == 0 && cb.fsynr0 == 0, "handler: FSR/FAR/FSYNR0 cleared after it returned (0x%x)",
          cb.fsr);

    /* inside: the fault is visible on the bank, the stats readable */
    h.mode = M_INSPECT;
    h.calls = 0;
    st0 = stats_of(e.smmu);
    CHECK_RC(SMMU_EFAULT, smmu_translate(e.smmu, SID, 0x3000, RD, &(uint64_t){ 0 }));
    CHECK(h.calls == 1 && h.rc1 == SMMU_OK && h.inner.iova == 0x3000 && h.inner.fsr == SMMU_FSR_TF,
          "handler: inside, get_fault shows the fault (rc %d iova 0x%llx fsr 0x%x)", h.rc1,
          (unsigned long long)h.inner.iova, h.inner.fsr);
    CHECK(h.cb.fsr == SMMU_FSR_TF && h.cb.far == 0x3000, "handler: inside, the CB holds FSR 0x%x FAR 0x%llx", h.cb.fsr,
          (unsigned long long)h.cb.far);
    CHECK(h.rc2 == SMMU_OK && h.st.faults == st0.faults + 1 && h.st.translations == st0.translations + 1,
          "handler: inside, get_stats works and counts this fault (rc %d faults %llu -> %llu)", h.rc2,
          (unsigned long long)st0.faults, (unsigned long long)h.st.faults);
    CHECK_RC(SMMU_ENOENT, smmu_get_fault(e.smmu, e.cb, &f));

    /* inside: unmap */
    h.mode = M_UNMAP;
    h.target = e.base;
    h.unmapped = -999;
    CHECK(translate_ok(&e, 0x1000, RD, 0x10000), "handler: page 0x1000 translates before the unmapping handler");
    CHECK_RC(SMMU_EFAULT, smmu_translate(e.smmu, SID, 0x4000, RD, &(uint64_t){ 0 }));
    CHECK(h.unmapped == (int64_t)PAGE, "handler: smmu_unmap inside the handler returned %lld", (long long)h.unmapped);
    CHECK_RC(SMMU_ENOENT, smmu_iova_to_phys(e.smmu, e.base, 0x1000, &pa));
    rc = smmu_translate(e.smmu, SID, 0x1000, RD, &(uint64_t){ 0 });
    CHECK(rc == SMMU_EFAULT, "handler: the page the handler unmapped no longer translates (stale TLB entry?) rc %d", rc);

    /* inside: map, then RETRY -> the translation succeeds */
    h.mode = M_MAP_RETRY;
    h.calls = 0;
    h.fix_pa = 0xABC000;
    st0 = stats_of(e.smmu);
    pa = 0;
    rc = smmu_translate(e.smmu, SID, 0x9008, RD | WR, &pa);
    st1 = stats_of(e.smmu);
    CHECK(rc == SMMU_OK && pa == 0xABC008, "handler: map + RETRY: translate -> rc %d pa 0x%llx, expected 0 / 0xabc008",
          rc, (unsigned long long)pa);
    CHECK(h.calls == 1 && h.rc1 == SMMU_OK, "handler: map + RETRY: one call, map inside -> %d", h.rc1);
    CHECK(st1.translations - st0.translations == 1 && st1.faults - st0.faults == 1,
          "handler: map + RETRY counts one translation (%llu) and one fault (%llu)",
          (unsigned long long)(st1.translations - st0.translations), (unsigned long long)(st1.faults - st0.faults));
    CHECK((st1.tlb_hits - st0.tlb_hits) + (st1.tlb_misses - st0.tlb_misses) == 2,
          "handler: map + RETRY: hits + misses = translations + retries (%llu + %llu, expected 2)",
          (unsigned long long)(st1.tlb_hits - st0.tlb_hits), (unsigned long long)(st1.tlb_misses - st0.tlb_misses));
    CHECK_RC(SMMU_ENOENT, smmu_get_fault(e.smmu, e.cb, &f));
    CHECK(translate_ok(&e, 0x9010, RD, 0xABC010), "handler: the page mapped by the handler stays mapped");

    /* batch: the handler fixes one entry in the middle */
    {
        uint64_t iovas[8], pas[8];
        size_t done = 99;
        int i, good = 0;
        TRY_OK(smmu_map(e.smmu, e.base, 0x100000, 0x500000, 8 * PAGE, RW));
        TRY_OK(smmu_unmap(e.smmu, e.base, 0x103000, PAGE) == (int64_t)PAGE ? 0 : -1);
        for (i = 0; i < 8; i++)
            iovas[i] = 0x100000 + (uint64_t)i * PAGE + 0x40;
        h.calls = 0;
        h.fix_pa = 0x503000;
        rc = smmu_translate_batch(e.smmu, SID, iovas, pas, 8, RD, &done);
        for (i = 0; i < 8; i++)
            good += pas[i] == 0x500000 + (uint64_t)i * PAGE + 0x40;
        CHECK(rc == SMMU_OK && done == 8 && good == 8 && h.calls == 1,
              "handler: batch with map + RETRY completes (rc %d done %zu right %d calls %d)", rc, done, good, h.calls);
    }

    /* RETRY without a fix: EFAULT, no loop */
    h.mode = M_RETRY_NOFIX;
    h.calls = 0;
    rc = smmu_translate(e.smmu, SID, 0x60000, RD, &(uint64_t){ 0 });
    CHECK(rc == SMMU_EFAULT && h.calls >= 1 && h.calls <= 2,
          "handler: RETRY without a fix fails with EFAULT after one retry (rc %d, %d calls)", rc, h.calls);
    CHECK_RC(SMMU_ENOENT, smmu_get_fault(e.smmu, e.cb, &f));

    /* a fault raised by the handler's own call: recorded, not delivered again */
    h.mode = M_NESTED;
    h.calls = 0;
    CHECK_RC(SMMU_EFAULT, smmu_translate(e.smmu, SID, 0x61000, RD, &(uint64_t){ 0 }));
    CHECK(h.calls == 1, "handler: a fault inside the handler does not call it again (%d calls)", h.calls);
    CHECK(h.rc1 == SMMU_EFAULT, "handler: the nested translation fails with EFAULT (%d)", h.rc1);
    CHECK(h.rc2 == SMMU_OK && h.inner.fsr == (SMMU_FSR_TF | SMMU_FSR_MULTI) && h.inner.iova == 0x61000,
          "handler: the nested fault is recorded on the bank as MULTI, keeping the first (rc %d fsr 0x%x iova 0x%llx)",
          h.rc2, h.inner.fsr, (unsigned long long)h.inner.iova);
    CHECK_RC(SMMU_ENOENT, smmu_get_fault(e.smmu, e.cb, &f));

    /* destroy from inside: EBUSY; the instance lives on */
    h.mode = M_DESTROY;
    h.calls = 0;
    CHECK_RC(SMMU_EFAULT, smmu_translate(e.smmu, SID, 0x62000, RD, &(uint64_t){ 0 }));
    CHECK(h.calls == 1 && h.rc1 == SMMU_EBUSY, "handler: smmu_destroy inside the handler -> %d (%s), expected EBUSY",
          h.rc1, smmu_strerror(h.rc1));
    CHECK(h.rc2 == SMMU_EBADF, "handler: smmu_destroy(a domain handle) inside -> %d, expected EBADF", h.rc2);
    CHECK(translate_ok(&e, 0x9010, RD, 0xABC010), "handler: the instance still works after the refused destroy");

    /* removed: faults are recorded, no call */
    h.mode = M_RECORD;
    h.calls = 0;
    CHECK_RC(0, smmu_set_fault_handler(e.smmu, e.base, NULL, NULL));
    CHECK_RC(SMMU_EFAULT, smmu_translate(e.smmu, SID, 0x63000, RD, &(uint64_t){ 0 }));
    CHECK(h.calls == 0, "handler: a removed handler is not called (%d)", h.calls);
    CHECK_RC(0, smmu_get_fault(e.smmu, e.cb, &f));
    CHECK(f.iova == 0x63000, "handler: without a handler the fault stays recorded");
    /* installing a handler does not clear an earlier record; the next fault is delivered */
    CHECK_RC(0, smmu_set_fault_handler(e.smmu, e.base, handler, &h));
    CHECK_RC(SMMU_EFAULT, smmu_translate(e.smmu, SID, 0x64000, RD, &(uint64_t){ 0 }));
    CHECK(h.calls == 1 && h.f.iova == 0x64000, "handler: delivered after re-installation (calls %d iova 0x%llx)",
          h.calls, (unsigned long long)h.f.iova);
    CHECK_RC(0, smmu_destroy(e.smmu));
}

/* A handler that switches the bank to a domain that has the page, then RETRY. */
static void test_switch_retry(void)
{
    struct env e;
    struct hctx h;
    smmu_domain_t dyn;
    uint64_t pa = 0;
    int32_t rc;

    if (!env_up(&e, NULL))
        return;
    memset(&h, 0, sizeof h);
    dyn = make_domain(e.smmu);
    TRY_OK(make_dynamic(e.smmu, dyn, e.cb));
    TRY_OK(smmu_attach_device(e.smmu, dyn, SID));
    TRY_OK(smmu_map(e.smmu, dyn, 0x8000, 0x88000, PAGE, RW));
    h.mode = M_SWITCH_RETRY;
    h.target = dyn;
    CHECK_RC(0, smmu_set_fault_handler(e.smmu, e.base, handler, &h));
    rc = smmu_translate(e.smmu, SID, 0x8008, RD, &pa);
    CHECK(rc == SMMU_OK && pa == 0x88008, "switch-retry: the retried translation uses the new tables (rc %d pa 0x%llx)",
          rc, (unsigned long long)pa);
    CHECK(h.calls == 1 && h.rc1 == SMMU_OK && h.f.active_domain == e.base,
          "switch-retry: one call (%d), switch inside -> %d, fault seen on the base's tables", h.calls, h.rc1);
    CHECK(cb_of(e.smmu, e.cb).active_domain == dyn, "switch-retry: the bank stays on the dynamic domain");
    CHECK_RC(0, smmu_detach_device(e.smmu, dyn, SID));
    CHECK_RC(0, smmu_destroy(e.smmu));
}

int main(void)
{
    test_translation_levels();
    test_permission();
    test_access_flag_and_address_size();
    test_record_without_handler();
    test_handlers();
    test_switch_retry();
    return check_summary("faults");
}
