/*
 * errors.c - every function with bad input (smmu.h: "Every function documents its errors"):
 * bad handles, NULL pointers, invalid configs, map/unmap argument and resource errors with rollback,
 * translate/batch/TLB-maintenance argument errors, struct size fields, physical memory access,
 * smmu_strerror. A failed call changes nothing: checked with the stats and the context banks.
 */
#include <string.h>

#include "check.h"

#define PAGE 0x1000ull
#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define RW (SMMU_PROT_READ | SMMU_PROT_WRITE)
#define RD SMMU_ACCESS_READ
#define POOL_BASE 0x40000000ull
#define ADDR_MASK 0x0000FFFFFFFFF000ull

static int same_stats(const smmu_stats *a, const smmu_stats *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

static int same_cb(const smmu_cb_state *a, const smmu_cb_state *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

static smmu_t default_smmu(void)
{
    smmu_config cfg;
    smmu_config_init(&cfg);
    return make_smmu(&cfg);
}

static smmu_t pool_smmu(uint64_t pages)
{
    smmu_config cfg;
    smmu_config_init(&cfg);
    cfg.pt_pool_bytes = pages * PAGE;
    return make_smmu(&cfg);
}

static uint64_t in_use(smmu_t s)
{
    return stats_of(s).pt_pages_in_use;
}

/* 1 when iova_to_phys(iova) == pa. */
static int maps_to(smmu_t s, smmu_domain_t d, uint64_t iova, uint64_t pa)
{
    uint64_t got = ~0ull;
    return smmu_iova_to_phys(s, d, iova, &got) == SMMU_OK && got == pa;
}

/* ---- handles -------------------------------------------------------------------------------- */

/* Every function that takes an smmu_t, with h as the instance and otherwise valid arguments
 * (d is a live domain of some instance). */
static void expect_bad_smmu(smmu_t h, smmu_domain_t d, const char *what)
{
    uint64_t q = 0, iova = 0, pa = 0;
    uint32_t u = 0;
    size_t done = 7;
    smmu_domain_t nd = 0xA5A5A5A5;
    smmu_stats st;
    smmu_fault f;
    smmu_cb_state cb;
    int before = check_failed;

    st.size = sizeof st;
    f.size = sizeof f;
    cb.size = sizeof cb;
    CHECK_RC(SMMU_EBADF, smmu_domain_alloc(h, &nd));
    CHECK(nd == 0xA5A5A5A5, "%s: a failed domain_alloc leaves *out untouched", what);
    CHECK_RC(SMMU_EBADF, smmu_domain_free(h, d));
    CHECK_RC(SMMU_EBADF, smmu_domain_set_attr(h, d, SMMU_ATTR_PROCID, &u, sizeof u));
    CHECK_RC(SMMU_EBADF, smmu_domain_get_attr(h, d, SMMU_ATTR_PROCID, &u, sizeof u));
    CHECK_RC(SMMU_EBADF, smmu_attach_device(h, d, 0));
    CHECK_RC(SMMU_EBADF, smmu_detach_device(h, d, 0));
    CHECK_RC(SMMU_EBADF, smmu_map(h, d, 0x1000, 0x1000, PAGE, RW));
    CHECK_RC(SMMU_EBADF, smmu_unmap(h, d, 0x1000, PAGE));
    CHECK_RC(SMMU_EBADF, smmu_iova_to_phys(h, d, 0x1000, &q));
    CHECK_RC(SMMU_EBADF, smmu_phys_read64(h, POOL_BASE, &q));
    CHECK_RC(SMMU_EBADF, smmu_phys_write64(h, POOL_BASE, 0));
    CHECK_RC(SMMU_EBADF, smmu_switch_domain(h, d));
    CHECK_RC(SMMU_EBADF, smmu_translate(h, 0, 0x1000, RD, &q));
    CHECK_RC(SMMU_EBADF, smmu_translate_batch(h, 0, &iova, &pa, 1, RD, &done));
    CHECK_RC(SMMU_EBADF, smmu_tlb_inv_all(h));
    CHECK_RC(SMMU_EBADF, smmu_tlb_inv_asid(h, 1));
    CHECK_RC(SMMU_EBADF, smmu_tlb_inv_va(h, 1, 0, PAGE));
    CHECK_RC(SMMU_EBADF, smmu_tlb_inv_va_all(h, 0, PAGE));
    CHECK_RC(SMMU_EBADF, smmu_set_fault_handler(h, d, NULL, NULL));
    CHECK_RC(SMMU_EBADF, smmu_get_fault(h, 0, &f));
    CHECK_RC(SMMU_EBADF, smmu_clear_fault(h, 0));
    CHECK_RC(SMMU_EBADF, smmu_get_context_bank(h, 0, &cb));
    CHECK_RC(SMMU_EBADF, smmu_get_stats(h, &st));
    CHECK_RC(SMMU_EBADF, smmu_reset_stats(h));
    CHECK_RC(SMMU_EBADF, smmu_destroy(h));
    if (check_failed != before)
        fprintf(stdout, "  (the failures above are for the instance handle: %s, 0x%08x)\n", what, h);
}

/* Every function that takes a domain, with a live instance s and the bad domain d. */
static void expect_bad_domain(smmu_t s, smmu_domain_t d, const char *what)
{
    uint64_t q = 0;
    uint32_t u = 0;
    int before = check_failed;
    CHECK_RC(SMMU_EBADF, smmu_domain_free(s, d));
    CHECK_RC(SMMU_EBADF, smmu_domain_set_attr(s, d, SMMU_ATTR_PROCID, &u, sizeof u));
    CHECK_RC(SMMU_EBADF, smmu_domain_get_attr(s, d, SMMU_ATTR_PROCID, &u, sizeof u));
    CHECK_RC(SMMU_EBADF, smmu_attach_device(s, d, 0));
    CHECK_RC(SMMU_EBADF, smmu_detach_device(s, d, 0));
    CHECK_RC(SMMU_EBADF, smmu_map(s, d, 0x1000, 0x1000, PAGE, RW));
    CHECK_RC(SMMU_EBADF, smmu_unmap(s, d, 0x1000, PAGE));
    CHECK_RC(SMMU_EBADF, smmu_iova_to_phys(s, d, 0x1000, &q));
    CHECK_RC(SMMU_EBADF, smmu_switch_domain(s, d));
    CHECK_RC(SMMU_EBADF, smmu_set_fault_handler(s, d, NULL, NULL));
    if (check_failed != before)
        fprintf(stdout, "  (the failures above are for the domain handle: %s, 0x%08x)\n", what, d);
}

static void test_handles(void)
{
    smmu_t s, other, dead;
    smmu_domain_t d, d2, freed, o1, o2, o3;
    smmu_stats st0, st1;
    smmu_cb_state cb0, cb1;

    s = default_smmu();
    other = default_smmu();
    dead = default_smmu();
    if (!s || !other || !dead)
        return;
    d = make_domain(s);
    TRY_OK(smmu_attach_device(s, d, 0));
    TRY_OK(smmu_map(s, d, 0x1000, 0x1000, PAGE, RW));
    CHECK(s != other && s != dead && other != dead, "handles: three live instances have distinct handles");
    CHECK(s != 0, "handles: instance handle is non-zero (0x%08x)", s);
    CHECK(d != 0 && d != s, "handles: a domain handle is non-zero and not the instance's (0x%08x)", d);
    CHECK_RC(0, smmu_destroy(dead));

    st0 = stats_of(s);
    cb0 = cb_of(s, 0);
    expect_bad_smmu(0, d, "zero");
    expect_bad_smmu(0xdeadbeef, d, "forged 0xdeadbeef");
    expect_bad_smmu(0xffffffff, d, "forged 0xffffffff");
    expect_bad_smmu(s ^ 0x00100000u, d, "s with another generation");
    expect_bad_smmu(s + 4000, d, "s with another slot index");
    expect_bad_smmu(dead, d, "destroyed");
    expect_bad_smmu(d, d, "a domain handle as smmu_t");

    expect_bad_domain(s, 0, "zero");
    expect_bad_domain(s, 0xdeadbeef, "forged 0xdeadbeef");
    expect_bad_domain(s, 0xffffffff, "forged 0xffffffff");
    expect_bad_domain(s, d ^ 0x00100000u, "d with another generation");
    expect_bad_domain(s, d + 1000, "d with a slot index never used");
    expect_bad_domain(s, s, "the instance handle as a domain");
    expect_bad_domain(s, other, "another instance's handle as a domain");
    st1 = stats_of(s);
    cb1 = cb_of(s, 0);
    CHECK(same_stats(&st0, &st1), "handles: calls with bad handles change no counter of the live instance");
    CHECK(same_cb(&cb0, &cb1), "handles: calls with bad handles change no context bank of the live instance");
    CHECK(maps_to(s, d, 0x1000, 0x1000), "handles: the live domain's mapping survived");

    /* A domain freed: stale, also after its slot is reused. */
    freed = make_domain(s);
    CHECK_RC(0, smmu_domain_free(s, freed));
    expect_bad_domain(s, freed, "freed");
    CHECK_RC(SMMU_EBADF, smmu_domain_free(s, freed));
    d2 = make_domain(s);
    CHECK(d2 != freed, "handles: a domain allocated after a free gets a new handle (0x%08x vs 0x%08x)", d2, freed);
    expect_bad_domain(s, freed, "freed, slot reused");
    CHECK(maps_to(s, d, 0x1000, 0x1000), "handles: the live domain still maps after the stale calls");

    /* A domain of another instance: other has more domains than s would have at that index. */
    o1 = make_domain(other);
    o2 = make_domain(other);
    o3 = make_domain(other);
    (void)o1;
    (void)o2;
    expect_bad_domain(s, o3 + 16, "beyond any domain of this instance");
    expect_bad_smmu(other ^ 0x00300000u, o3, "other with a wrong generation");

    /* Destroy: the instance's and its domains' handles go stale. */
    CHECK_RC(0, smmu_destroy(other));
    expect_bad_smmu(other, o3, "destroyed other");
    CHECK_RC(SMMU_EBADF, smmu_destroy(other));
    CHECK_RC(0, smmu_detach_device(s, d, 0));
    CHECK_RC(0, smmu_destroy(s));
    expect_bad_smmu(s, d, "destroyed s");
}

/* Handles have a generation; a stale one must stay stale however often its slot is reused. */
static void test_handle_reuse(void)
{
    smmu_config cfg;
    smmu_t first, h, live;
    smmu_domain_t dfirst, dd;
    int i, inst_hits = 0, dom_hits = 0, first_inst = -1, first_dom = -1;
    const int cycles = 1100;
    uint32_t u;

    smmu_config_init(&cfg);
    cfg.pt_pool_bytes = 16 * PAGE;
    cfg.tlb_entries = 8;
    cfg.tlb_ways = 8;
    first = make_smmu(&cfg);
    if (!first)
        return;
    CHECK_RC(0, smmu_destroy(first));
    for (i = 0; i < cycles; i++) {
        h = 0;
        if (smmu_create(&cfg, &h) != SMMU_OK) {
            CHECK(0, "reuse: create %d failed", i);
            break;
        }
        if (smmu_reset_stats(first) != SMMU_EBADF) {
            inst_hits++;
            if (first_inst < 0)
                first_inst = i;
        }
        smmu_destroy(h);
    }
    CHECK(inst_hits == 0, "reuse: a destroyed instance handle stays EBADF through %d create/destroy cycles "
          "(it named a live instance in %d of them, first at cycle %d)", cycles, inst_hits, first_inst);

    live = make_smmu(&cfg);
    if (!live)
        return;
    dfirst = make_domain(live);
    CHECK_RC(0, smmu_domain_free(live, dfirst));
    for (i = 0; i < cycles; i++) {
        dd = 0;
        if (smmu_domain_alloc(live, &dd) != SMMU_OK) {
            CHECK(0, "reuse: domain_alloc %d failed", i);
            break;
        }
        if (smmu_domain_get_attr(live, dfirst, SMMU_ATTR_PROCID, &u, sizeof u) != SMMU_EBADF) {
            dom_hits++;
            if (first_dom < 0)
                first_dom = i;
        }
        smmu_domain_free(live, dd);
    }
    CHECK(dom_hits == 0, "reuse: a freed domain handle stays EBADF through %d alloc/free cycles "
          "(it named a live domain in %d of them, first at cycle %d)", cycles, dom_hits, first_dom);
    CHECK_RC(0, smmu_destroy(live));
}

/* ---- NULL pointers: EINVAL, checked before the handle ---------------------------------------- */

static void test_nulls(void)
{
    smmu_config cfg;
    smmu_t s, out = 0xA5A5A5A5;
    smmu_domain_t d;
    smmu_stats st0, st1;
    uint64_t iova = 0x1000, pa = 0;
    size_t done = 77;
    smmu_t handles[2];
    int k;

    smmu_config_init(&cfg);
    CHECK_RC(SMMU_EINVAL, smmu_create(NULL, &out));
    CHECK_RC(SMMU_EINVAL, smmu_create(&cfg, NULL));
    CHECK_RC(SMMU_EINVAL, smmu_create(NULL, NULL));
    CHECK(out == 0xA5A5A5A5, "null: failed create leaves *out untouched");
    smmu_config_init(NULL);   /* documented to do nothing */
    CHECK(smmu_abi_version() == SMMU_ABI_VERSION, "null: the library is alive after smmu_config_init(NULL)");

    s = default_smmu();
    if (!s)
        return;
    d = make_domain(s);
    TRY_OK(smmu_attach_device(s, d, 0));
    TRY_OK(smmu_map(s, d, 0x1000, 0x5000, PAGE, RW));
    st0 = stats_of(s);
    handles[0] = s;
    handles[1] = 0;   /* pointers are checked before handles */
    for (k = 0; k < 2; k++) {
        smmu_t h = handles[k];
        int before = check_failed;
        CHECK_RC(SMMU_EINVAL, smmu_domain_alloc(h, NULL));
        CHECK_RC(SMMU_EINVAL, smmu_domain_set_attr(h, d, SMMU_ATTR_PROCID, NULL, 4));
        CHECK_RC(SMMU_EINVAL, smmu_domain_set_attr(h, d, SMMU_ATTR_DYNAMIC, NULL, 4));
        CHECK_RC(SMMU_EINVAL, smmu_domain_get_attr(h, d, SMMU_ATTR_PROCID, NULL, 4));
        CHECK_RC(SMMU_EINVAL, smmu_domain_get_attr(h, d, SMMU_ATTR_TTBR0, NULL, 8));
        CHECK_RC(SMMU_EINVAL, smmu_iova_to_phys(h, d, 0x1000, NULL));
        CHECK_RC(SMMU_EINVAL, smmu_phys_read64(h, POOL_BASE, NULL));
        CHECK_RC(SMMU_EINVAL, smmu_translate(h, 0, 0x1000, RD, NULL));
        CHECK_RC(SMMU_EINVAL, smmu_translate_batch(h, 0, NULL, &pa, 1, RD, &done));
        CHECK_RC(SMMU_EINVAL, smmu_translate_batch(h, 0, &iova, NULL, 1, RD, &done));
        CHECK_RC(SMMU_EINVAL, smmu_translate_batch(h, 0, &iova, &pa, 1, RD, NULL));
        CHECK_RC(SMMU_EINVAL, smmu_translate_batch(h, 0, &iova, &pa, 0, RD, NULL));
        CHECK_RC(SMMU_EINVAL, smmu_get_fault(h, 0, NULL));
        CHECK_RC(SMMU_EINVAL, smmu_get_context_bank(h, 0, NULL));
        CHECK_RC(SMMU_EINVAL, smmu_get_stats(h, NULL));
        if (check_failed != before)
            fprintf(stdout, "  (the failures above pass NULL with the %s instance handle)\n", k ? "zero" : "live");
    }
    CHECK(done == 77 && pa == 0, "null: failed calls wrote no output (done %zu pa 0x%llx)", done, (unsigned long long)pa);
    st1 = stats_of(s);
    CHECK(same_stats(&st0, &st1), "null: calls with NULL pointers change no counter (translations %llu->%llu, "
          "pages %llu->%llu)", (unsigned long long)st0.translations, (unsigned long long)st1.translations,
          (unsigned long long)st0.pt_pages_in_use, (unsigned long long)st1.pt_pages_in_use);
    CHECK_RC(0, smmu_detach_device(s, d, 0));
    CHECK_RC(0, smmu_destroy(s));
}

/* ---- configs ---------------------------------------------------------------------------------- */

enum cfg_field { F_SIZE, F_CB, F_SID, F_ASID, F_IAS, F_OAS, F_TLBE, F_TLBW, F_FLAGS, F_PBASE, F_PBYTES };
static const char *const field_names[] = { "size", "num_context_banks", "num_stream_ids", "asid_bits", "ias", "oas",
                                           "tlb_entries", "tlb_ways", "flags", "pt_pool_base", "pt_pool_bytes" };

static void set_field(smmu_config *c, enum cfg_field f, uint64_t v)
{
    switch (f) {
    case F_SIZE: c->size = (uint32_t)v; break;
    case F_CB: c->num_context_banks = (uint32_t)v; break;
    case F_SID: c->num_stream_ids = (uint32_t)v; break;
    case F_ASID: c->asid_bits = (uint32_t)v; break;
    case F_IAS: c->ias = (uint32_t)v; break;
    case F_OAS: c->oas = (uint32_t)v; break;
    case F_TLBE: c->tlb_entries = (uint32_t)v; break;
    case F_TLBW: c->tlb_ways = (uint32_t)v; break;
    case F_FLAGS: c->flags = (uint32_t)v; break;
    case F_PBASE: c->pt_pool_base = v; break;
    case F_PBYTES: c->pt_pool_bytes = v; break;
    }
}

static void config_case(enum cfg_field f, uint64_t v, int32_t expected)
{
    smmu_config c;
    smmu_t h = 0xA5A5A5A5;
    int32_t rc;
    smmu_config_init(&c);
    set_field(&c, f, v);
    rc = smmu_create(&c, &h);
    CHECK(rc == expected, "config: %s = 0x%llx: smmu_create -> %d (%s), expected %d (%s)", field_names[f],
          (unsigned long long)v, rc, smmu_strerror(rc), expected, smmu_strerror(expected));
    if (rc == SMMU_OK)
        CHECK_RC(0, smmu_destroy(h));
    else
        CHECK(h == 0xA5A5A5A5, "config: %s = 0x%llx: a failed create leaves *out untouched", field_names[f],
              (unsigned long long)v);
}

static void test_configs(void)
{
    smmu_config c;
    smmu_t h;
    const uint32_t sz = (uint32_t)sizeof(smmu_config);

    /* out of range */
    config_case(F_SIZE, 0, SMMU_EINVAL);
    config_case(F_SIZE, sz - 4, SMMU_EINVAL);
    config_case(F_SIZE, 56, 0);   /* ABI 1.0's size: accepted, the newer fields at their defaults */
    config_case(F_SIZE, 48, SMMU_EINVAL);
    config_case(F_SIZE, sz - 1, SMMU_EINVAL);
    config_case(F_SIZE, sz + 8, SMMU_EINVAL);
    config_case(F_SIZE, 0xffffffff, SMMU_EINVAL);
    config_case(F_CB, 0, SMMU_EINVAL);
    config_case(F_CB, 129, SMMU_EINVAL);
    config_case(F_CB, 0xffffffff, SMMU_EINVAL);
    config_case(F_SID, 0, SMMU_EINVAL);
    config_case(F_SID, 65537, SMMU_EINVAL);
    config_case(F_SID, 0x80000000, SMMU_EINVAL);
    config_case(F_ASID, 0, SMMU_EINVAL);
    config_case(F_ASID, 7, SMMU_EINVAL);
    config_case(F_ASID, 9, SMMU_EINVAL);
    config_case(F_ASID, 12, SMMU_EINVAL);
    config_case(F_ASID, 15, SMMU_EINVAL);
    config_case(F_ASID, 17, SMMU_EINVAL);
    config_case(F_ASID, 32, SMMU_EINVAL);
    config_case(F_IAS, 0, SMMU_EINVAL);
    config_case(F_IAS, 31, SMMU_EINVAL);
    config_case(F_IAS, 49, SMMU_EINVAL);
    config_case(F_IAS, 64, SMMU_EINVAL);
    config_case(F_OAS, 0, SMMU_EINVAL);
    config_case(F_OAS, 31, SMMU_EINVAL);
    config_case(F_OAS, 49, SMMU_EINVAL);
    config_case(F_OAS, 52, SMMU_EINVAL);
    config_case(F_TLBE, 0, SMMU_EINVAL);
    config_case(F_TLBE, 3, SMMU_EINVAL);
    config_case(F_TLBE, 1000, SMMU_EINVAL);
    config_case(F_TLBE, 131072, SMMU_EINVAL);
    config_case(F_TLBW, 0, SMMU_EINVAL);
    config_case(F_TLBW, 3, SMMU_EINVAL);
    config_case(F_TLBW, 2048, SMMU_EINVAL);   /* > tlb_entries (1024) */
    config_case(F_FLAGS, 0x10, SMMU_EINVAL);
    config_case(F_FLAGS, 0x80000000, SMMU_EINVAL);
    config_case(F_PBASE, 0x40000800, SMMU_EINVAL);
    config_case(F_PBASE, 0x40000008, SMMU_EINVAL);
    config_case(F_PBASE, (1ull << 48) - (64ull << 20) + PAGE, SMMU_EINVAL);   /* ends beyond 2^oas */
    config_case(F_PBASE, 0xFFFFFFFFFFFFF000ull, SMMU_EINVAL);                  /* wraps */
    config_case(F_PBYTES, 0, SMMU_EINVAL);
    config_case(F_PBYTES, 100, SMMU_EINVAL);
    config_case(F_PBYTES, PAGE + 8, SMMU_EINVAL);
    config_case(F_PBYTES, (4ull << 30) + PAGE, SMMU_EINVAL);
    /* base + bytes beyond 2^oas with a small oas */
    smmu_config_init(&c);
    c.oas = 32;
    c.pt_pool_base = 0xFFFFF000;
    c.pt_pool_bytes = 2 * PAGE;
    h = 0xA5A5A5A5;
    CHECK_RC(SMMU_EINVAL, smmu_create(&c, &h));
    c.pt_pool_base = 1ull << 32;
    c.pt_pool_bytes = PAGE;
    CHECK_RC(SMMU_EINVAL, smmu_create(&c, &h));
    CHECK(h == 0xA5A5A5A5, "config: failed creates leave *out untouched");

    /* in range, at the edges */
    config_case(F_CB, 1, SMMU_OK);
    config_case(F_CB, 128, SMMU_OK);
    config_case(F_SID, 1, SMMU_OK);
    config_case(F_SID, 65536, SMMU_OK);
    config_case(F_ASID, 8, SMMU_OK);
    config_case(F_IAS, 32, SMMU_OK);
    config_case(F_IAS, 39, SMMU_OK);
    config_case(F_IAS, 40, SMMU_OK);
    config_case(F_OAS, 32, SMMU_OK);
    config_case(F_OAS, 40, SMMU_OK);
    config_case(F_TLBE, 4, SMMU_EINVAL);  /* fewer entries than the default 8 ways */
    config_case(F_TLBE, 65536, SMMU_OK);
    config_case(F_TLBW, 1, SMMU_OK);
    config_case(F_TLBW, 1024, SMMU_OK);
    config_case(F_FLAGS, SMMU_CFG_NO_ASID_TAGGING | SMMU_CFG_SCALAR_TLB, SMMU_OK);
    config_case(F_PBASE, 0, SMMU_OK);
    config_case(F_PBASE, (1ull << 48) - (64ull << 20), SMMU_OK);   /* ends exactly at 2^oas */
    config_case(F_PBYTES, PAGE, SMMU_OK);
    smmu_config_init(&c);
    c.oas = 32;
    c.pt_pool_base = 0xFFFFF000;
    c.pt_pool_bytes = PAGE;
    h = 0;
    if (CHECK_RC(0, smmu_create(&c, &h)))
        CHECK_RC(0, smmu_destroy(h));
    smmu_config_init(&c);
    c.tlb_entries = 1;
    c.tlb_ways = 1;
    h = 0;
    if (CHECK_RC(0, smmu_create(&c, &h)))
        CHECK_RC(0, smmu_destroy(h));
}

/* Translation through stream 0 for reading gives pa. */
static int translate_ok(smmu_t s, uint64_t iova, uint64_t pa)
{
    int32_t rc;
    uint64_t got = xlate(s, 0, iova, RD, &rc);
    return rc == SMMU_OK && got == pa;
}

/* ---- map ---------------------------------------------------------------------------------------- */

static void test_map(void)
{
    smmu_t s, s2;
    smmu_config cfg;
    smmu_domain_t d, d2;
    uint64_t pages;
    smmu_stats st0, st1;

    s = default_smmu();
    if (!s)
        return;
    d = make_domain(s);
    TRY_OK(smmu_map(s, d, 0x100000, 0x900000, 4 * PAGE, RW));
    st0 = stats_of(s);
    /* malformed */
    CHECK_RC(SMMU_EINVAL, smmu_map(s, d, 0x200001, 0x1000, PAGE, RW));
    CHECK_RC(SMMU_EINVAL, smmu_map(s, d, 0x200800, 0x1000, PAGE, RW));
    CHECK_RC(SMMU_EINVAL, smmu_map(s, d, 0x200000, 0x1001, PAGE, RW));
    CHECK_RC(SMMU_EINVAL, smmu_map(s, d, 0x200000, 0x1800, PAGE, RW));
    CHECK_RC(SMMU_EINVAL, smmu_map(s, d, 0x200000, 0x1000, 1, RW));
    CHECK_RC(SMMU_EINVAL, smmu_map(s, d, 0x200000, 0x1000, PAGE + 0x800, RW));
    CHECK_RC(SMMU_EINVAL, smmu_map(s, d, 0x200000, 0x1000, 0, RW));
    CHECK_RC(SMMU_EINVAL, smmu_map(s, d, 0x200000, 0x1000, PAGE, 0));
    CHECK_RC(SMMU_EINVAL, smmu_map(s, d, 0x200000, 0x1000, PAGE, SMMU_PROT_CACHE));
    CHECK_RC(SMMU_EINVAL, smmu_map(s, d, 0x200000, 0x1000, PAGE, SMMU_PROT_NOEXEC | SMMU_PROT_MMIO | SMMU_PROT_PRIV));
    CHECK_RC(SMMU_EINVAL, smmu_map(s, d, 0x200000, 0x1000, PAGE, RW | 0x80));
    CHECK_RC(SMMU_EINVAL, smmu_map(s, d, 0x200000, 0x1000, PAGE, SMMU_PROT_READ | 0x80000000u));
    /* beyond 2^ias / 2^oas (48 / 48) */
    CHECK_RC(SMMU_ERANGE, smmu_map(s, d, 1ull << 48, 0x1000, PAGE, RW));
    CHECK_RC(SMMU_ERANGE, smmu_map(s, d, (1ull << 48) - PAGE, 0x1000, 2 * PAGE, RW));
    CHECK_RC(SMMU_ERANGE, smmu_map(s, d, 0xFFFFFFFFFFFFF000ull, 0x1000, PAGE, RW));
    CHECK_RC(SMMU_ERANGE, smmu_map(s, d, (1ull << 48) - PAGE, 0x1000, 0xFFFFFFFFFFFFF000ull, RW));   /* iova+size wraps */
    CHECK_RC(SMMU_ERANGE, smmu_map(s, d, 0x200000, 1ull << 48, PAGE, RW));
    CHECK_RC(SMMU_ERANGE, smmu_map(s, d, 0x200000, (1ull << 48) - PAGE, 2 * PAGE, RW));
    CHECK_RC(SMMU_ERANGE, smmu_map(s, d, 0x200000, 0xFFFFFFFFFFFFF000ull, 2 * PAGE, RW));             /* pa+size wraps */
    /* overlaps */
    CHECK_RC(SMMU_EEXIST, smmu_map(s, d, 0x100000, 0x1000, PAGE, RW));
    CHECK_RC(SMMU_EEXIST, smmu_map(s, d, 0x103000, 0x1000, 2 * PAGE, RW));
    CHECK_RC(SMMU_EEXIST, smmu_map(s, d, 0x0, 0x0, 2 * MIB, RW));                  /* a block over the pages */
    CHECK_RC(SMMU_EEXIST, smmu_map(s, d, 0x0FF000, 0x1000, 2 * PAGE, RW));
    /* first part needs new tables (another 1 GiB region), last page overlaps */
    CHECK_RC(0, smmu_map(s, d, GIB, 0x700000, PAGE, RW));
    st0 = stats_of(s);
    CHECK_RC(SMMU_EEXIST, smmu_map(s, d, GIB - 2 * PAGE, 0x1000, 3 * PAGE, RW));
    st1 = stats_of(s);
    CHECK(same_stats(&st0, &st1), "map: an overlapping map that needed new tables allocated none "
          "(pages %llu -> %llu)", (unsigned long long)st0.pt_pages_in_use, (unsigned long long)st1.pt_pages_in_use);
    CHECK(smmu_iova_to_phys(s, d, GIB - 2 * PAGE, &(uint64_t){ 0 }) == SMMU_ENOENT,
          "map: the refused map left no half-built mapping at its start");
    CHECK(maps_to(s, d, 0x100000, 0x900000) && maps_to(s, d, 0x103000, 0x903000) && maps_to(s, d, GIB, 0x700000),
          "map: earlier mappings intact after refused maps");
    /* inside a block */
    CHECK_RC(0, smmu_map(s, d, 4 * GIB, 8 * GIB, GIB, RW));
    CHECK_RC(0, smmu_map(s, d, 6 * MIB, 10 * MIB, 2 * MIB, RW));
    CHECK_RC(SMMU_EEXIST, smmu_map(s, d, 4 * GIB + 5 * PAGE, 0x1000, PAGE, RW));
    CHECK_RC(SMMU_EEXIST, smmu_map(s, d, 4 * GIB + 2 * MIB, 0x200000, 2 * MIB, RW));
    CHECK_RC(SMMU_EEXIST, smmu_map(s, d, 7 * MIB, 0x1000, PAGE, RW));
    CHECK_RC(SMMU_EEXIST, smmu_map(s, d, 4 * GIB - PAGE, 0x1000, 2 * PAGE, RW));
    /* the edges are fine */
    CHECK_RC(0, smmu_map(s, d, (1ull << 48) - PAGE, (1ull << 48) - PAGE, PAGE, RW));
    CHECK(maps_to(s, d, (1ull << 48) - 8, (1ull << 48) - 8), "map: the last page of the IOVA and PA space maps");
    CHECK_RC(SMMU_ERANGE, smmu_iova_to_phys(s, d, 1ull << 48, &(uint64_t){ 0 }));
    CHECK_RC(SMMU_ENOENT, smmu_iova_to_phys(s, d, 0x5000000, &(uint64_t){ 0 }));
    CHECK_RC(0, smmu_destroy(s));

    /* smaller ias/oas */
    smmu_config_init(&cfg);
    cfg.ias = 32;
    cfg.oas = 36;
    s2 = make_smmu(&cfg);
    if (!s2)
        return;
    d2 = make_domain(s2);
    CHECK_RC(SMMU_ERANGE, smmu_map(s2, d2, 1ull << 32, 0x1000, PAGE, RW));
    CHECK_RC(SMMU_ERANGE, smmu_map(s2, d2, 0x1000, 1ull << 36, PAGE, RW));
    CHECK_RC(0, smmu_map(s2, d2, (1ull << 32) - 2 * MIB, (1ull << 36) - 2 * MIB, 2 * MIB, RW));
    CHECK_RC(SMMU_ERANGE, smmu_iova_to_phys(s2, d2, 1ull << 32, &(uint64_t){ 0 }));
    CHECK_RC(SMMU_ERANGE, smmu_unmap(s2, d2, 1ull << 32, PAGE));
    CHECK_RC(0, smmu_destroy(s2));

    /* pool exhaustion: 8 pages. Root + 3 tables per 512 GiB region. */
    s = pool_smmu(8);
    if (!s)
        return;
    d = make_domain(s);
    TRY_OK(smmu_attach_device(s, d, 0));
    TRY_OK(smmu_map(s, d, 0x1000, 0xA000, PAGE, RW));                 /* root + 3 = 4 */
    TRY_OK(smmu_map(s, d, (1ull << 39) + 0x1000, 0xB000, PAGE, RW));  /* 7 */
    pages = in_use(s);
    CHECK(pages == 7, "map-enomem: 7 pages in use, got %llu", (unsigned long long)pages);
    st0 = stats_of(s);
    CHECK_RC(SMMU_ENOMEM, smmu_map(s, d, (2ull << 39) + 0x1000, 0xC000, PAGE, RW));   /* needs 3, 1 free */
    st1 = stats_of(s);
    CHECK(same_stats(&st0, &st1), "map-enomem: pt_pages_in_use %llu -> %llu after the failed map",
          (unsigned long long)st0.pt_pages_in_use, (unsigned long long)st1.pt_pages_in_use);
    CHECK(translate_ok(s, 0x1008, 0xA008) && translate_ok(s, (1ull << 39) + 0x1008, 0xB008),
          "map-enomem: earlier mappings still translate");
    CHECK_RC(0, smmu_map(s, d, 0x2000, 0xD000, PAGE, RW));            /* same L3 table: no page needed */
    CHECK_RC(0, smmu_map(s, d, 0x200000, 0xE000, PAGE, RW));          /* a new L3: the last page */
    CHECK(in_use(s) == 8, "map-enomem: pool full (8 in use, got %llu)", (unsigned long long)in_use(s));
    st0 = stats_of(s);
    CHECK_RC(SMMU_ENOMEM, smmu_map(s, d, 0x400000, 0xF000, PAGE, RW));
    CHECK_RC(SMMU_ENOMEM, smmu_map(s, d, 0x3FE000, 0x10000, 4 * PAGE, RW));  /* 2 pages fit an existing L3, 2 need a new one */
    CHECK(smmu_iova_to_phys(s, d, 0x3FE000, &(uint64_t){ 0 }) == SMMU_ENOENT
              && smmu_iova_to_phys(s, d, 0x3FF000, &(uint64_t){ 0 }) == SMMU_ENOENT,
          "map-enomem: the failed map that spanned two tables left its first pages unmapped");
    CHECK_RC(0, smmu_map(s, d, 0x3FE000, 0x10000, 2 * PAGE, RW));     /* ...which on their own fit */
    {
        smmu_domain_t nd = 0xA5A5A5A5;
        CHECK_RC(SMMU_ENOMEM, smmu_domain_alloc(s, &nd));
        CHECK(nd == 0xA5A5A5A5, "map-enomem: failed domain_alloc leaves *out untouched");
    }
    st1 = stats_of(s);
    CHECK(st1.pt_pages_in_use == st0.pt_pages_in_use && st1.pt_pages_free == 0,
          "map-enomem: refused maps/allocs took no page (in use %llu free %llu)",
          (unsigned long long)st1.pt_pages_in_use, (unsigned long long)st1.pt_pages_free);
    CHECK(translate_ok(s, 0x2010, 0xD010) && translate_ok(s, 0x200010, 0xE010) && translate_ok(s, 0x1010, 0xA010),
          "map-enomem: mappings made at the limit translate");
    CHECK_RC(0, smmu_detach_device(s, d, 0));
    CHECK_RC(0, smmu_domain_free(s, d));
    CHECK(in_use(s) == 0, "map-enomem: freeing the domain returns every page (%llu in use)",
          (unsigned long long)in_use(s));
    CHECK_RC(0, smmu_destroy(s));
}

/* ---- unmap -------------------------------------------------------------------------------------- */

static void test_unmap(void)
{
    smmu_t s;
    smmu_domain_t d;
    smmu_stats st0, st1;
    uint64_t pages, l1, l2, blk_before = 0, blk_after = 0;
    int32_t rc;

    s = default_smmu();
    if (!s)
        return;
    d = make_domain(s);
    TRY_OK(smmu_attach_device(s, d, 0));
    TRY_OK(smmu_map(s, d, 0x100000, 0x900000, 4 * PAGE, RW));
    st0 = stats_of(s);
    CHECK_RC(SMMU_EINVAL, smmu_unmap(s, d, 0x100800, PAGE));
    CHECK_RC(SMMU_EINVAL, smmu_unmap(s, d, 0x100001, PAGE));
    CHECK_RC(SMMU_EINVAL, smmu_unmap(s, d, 0x100000, 0x800));
    CHECK_RC(SMMU_EINVAL, smmu_unmap(s, d, 0x100000, PAGE + 1));
    CHECK_RC(SMMU_EINVAL, smmu_unmap(s, d, 0x100000, 0));
    CHECK_RC(SMMU_ERANGE, smmu_unmap(s, d, 1ull << 48, PAGE));
    CHECK_RC(SMMU_ERANGE, smmu_unmap(s, d, (1ull << 48) - PAGE, 2 * PAGE));
    CHECK_RC(SMMU_ERANGE, smmu_unmap(s, d, 0x100000, 0xFFFFFFFFFFFFF000ull));   /* iova + size wraps */
    CHECK_RC(SMMU_ERANGE, smmu_unmap(s, d, 0xFFFFFFFFFFFFF000ull, PAGE));
    st1 = stats_of(s);
    CHECK(same_stats(&st0, &st1), "unmap: refused unmaps change no counter");
    CHECK(maps_to(s, d, 0x100000, 0x900000) && maps_to(s, d, 0x103000, 0x903000),
          "unmap: mappings intact after refused unmaps");
    CHECK_RC(0, smmu_unmap(s, d, 0x5000000, 16 * PAGE));                      /* nothing there */
    CHECK_RC(0, smmu_unmap(s, d, 0x104000, 2 * MIB));
    CHECK_RC(4 * PAGE, smmu_unmap(s, d, 0x0FE000, 8 * PAGE));                  /* holes on both sides */
    CHECK_RC(0, smmu_unmap(s, d, 0x100000, 4 * PAGE));                         /* already gone */
    CHECK(in_use(s) == 1, "unmap: emptied tables went back to the pool (%llu pages in use, expected the root)",
          (unsigned long long)in_use(s));

    /* Splitting a 2 MiB block: one table page; the rest still translates. */
    TRY_OK(smmu_map(s, d, 6 * MIB, 0x80000000, 2 * MIB, RW));
    CHECK(translate_ok(s, 6 * MIB + PAGE + 8, 0x80000000 + PAGE + 8), "split: the block translates (TLB filled)");
    pages = in_use(s);
    CHECK_RC(PAGE, smmu_unmap(s, d, 6 * MIB + PAGE, PAGE));
    CHECK(in_use(s) == pages + 1, "split: splitting a 2 MiB block costs one table page (%llu -> %llu)",
          (unsigned long long)pages, (unsigned long long)in_use(s));
    CHECK(maps_to(s, d, 6 * MIB, 0x80000000) && maps_to(s, d, 6 * MIB + 2 * PAGE + 0x10, 0x80000000 + 2 * PAGE + 0x10)
              && maps_to(s, d, 8 * MIB - 8, 0x80000000 + 2 * MIB - 8),
          "split: the rest of the block still maps");
    CHECK_RC(SMMU_ENOENT, smmu_iova_to_phys(s, d, 6 * MIB + PAGE, &(uint64_t){ 0 }));
    CHECK(translate_ok(s, 6 * MIB + 0x10, 0x80000000 + 0x10) && translate_ok(s, 8 * MIB - 8, 0x80000000 + 2 * MIB - 8),
          "split: the rest of the block still translates");
    rc = smmu_translate(s, 0, 6 * MIB + PAGE + 8, RD, &(uint64_t){ 0 });
    CHECK(rc == SMMU_EFAULT, "split: the unmapped page no longer translates: the cached 2 MiB entry was "
          "invalidated (rc %d %s)", rc, smmu_strerror(rc));
    CHECK_RC(0, smmu_clear_fault(s, 0));
    CHECK_RC(2 * MIB - PAGE, smmu_unmap(s, d, 6 * MIB, 2 * MIB));
    CHECK(in_use(s) == 1, "split: unmapping the rest returns every table (%llu in use)", (unsigned long long)in_use(s));

    /* Splitting a 1 GiB block down to a page: two splits, two pages. */
    TRY_OK(smmu_map(s, d, 2 * GIB, 4 * GIB, GIB, RW));
    pages = in_use(s);
    CHECK_RC(PAGE, smmu_unmap(s, d, 2 * GIB + 5 * PAGE, PAGE));
    CHECK(in_use(s) == pages + 2, "split: a page out of a 1 GiB block splits twice, two pages (%llu -> %llu)",
          (unsigned long long)pages, (unsigned long long)in_use(s));
    CHECK(maps_to(s, d, 2 * GIB + 4 * PAGE, 4 * GIB + 4 * PAGE) && maps_to(s, d, 2 * GIB + 300 * MIB, 4 * GIB + 300 * MIB),
          "split: the rest of the 1 GiB block maps");
    CHECK_RC(2 * MIB, smmu_unmap(s, d, 2 * GIB + 10 * MIB, 2 * MIB));          /* a whole 2 MiB piece: no split */
    CHECK_RC(GIB - 2 * MIB - PAGE, smmu_unmap(s, d, 2 * GIB, GIB));
    CHECK(in_use(s) == 1, "split: everything unmapped, only the root remains (%llu)", (unsigned long long)in_use(s));
    CHECK_RC(0, smmu_destroy(s));

    /* Splitting with an exhausted pool: ENOMEM, block intact. */
    s = pool_smmu(8);
    if (!s)
        return;
    d = make_domain(s);
    TRY_OK(smmu_attach_device(s, d, 0));
    TRY_OK(smmu_map(s, d, 2 * MIB, 0x80000000, 2 * MIB, RW | SMMU_PROT_CACHE)); /* root, L1, L2: 3 */
    TRY_OK(smmu_map(s, d, 1ull << 39, 0x1000, PAGE, RW));                      /* 6 */
    TRY_OK(smmu_map(s, d, GIB, 0x2000, PAGE, RW));                             /* 8 */
    CHECK(stats_of(s).pt_pages_free == 0, "split-enomem: the pool is full");
    /* the block's descriptor: root (first pool page) [0] -> L1 [0] -> L2 [1] */
    l1 = 0;
    l2 = 0;
    CHECK_RC(0, smmu_phys_read64(s, POOL_BASE, &l1));
    CHECK_RC(0, smmu_phys_read64(s, (l1 & ADDR_MASK), &l2));
    CHECK_RC(0, smmu_phys_read64(s, (l2 & ADDR_MASK) + 8, &blk_before));
    CHECK((blk_before & 3) == 1 && (blk_before & ADDR_MASK) == 0x80000000, "split-enomem: found the block "
          "descriptor (0x%llx)", (unsigned long long)blk_before);
    st0 = stats_of(s);
    CHECK_RC(SMMU_ENOMEM, smmu_unmap(s, d, 2 * MIB + 7 * PAGE, PAGE));
    CHECK_RC(SMMU_ENOMEM, smmu_unmap(s, d, 3 * MIB, 2 * MIB));                 /* half of it */
    st1 = stats_of(s);
    CHECK(same_stats(&st0, &st1), "split-enomem: the failed unmaps changed no counter (pages %llu -> %llu)",
          (unsigned long long)st0.pt_pages_in_use, (unsigned long long)st1.pt_pages_in_use);
    CHECK_RC(0, smmu_phys_read64(s, (l2 & ADDR_MASK) + 8, &blk_after));
    CHECK(blk_after == blk_before, "split-enomem: the block descriptor is intact (0x%llx -> 0x%llx)",
          (unsigned long long)blk_before, (unsigned long long)blk_after);
    CHECK(maps_to(s, d, 2 * MIB + 7 * PAGE, 0x80000000 + 7 * PAGE) && translate_ok(s, 2 * MIB + 7 * PAGE + 8, 0x80000000 + 7 * PAGE + 8)
              && translate_ok(s, 4 * MIB - 8, 0x80000000 + 2 * MIB - 8),
          "split-enomem: the whole block still translates");
    CHECK_RC(2 * MIB, smmu_unmap(s, d, 2 * MIB, 2 * MIB));                     /* whole: no split needed */
    CHECK_RC(0, smmu_destroy(s));
}

/* ---- translate ---------------------------------------------------------------------------------- */

static void test_translate(void)
{
    smmu_t s;
    smmu_domain_t d;
    smmu_stats st0, st1;
    uint64_t out = 0xA5A5A5A5A5A5A5A5ull, iovas[16], pas[16];
    size_t done;
    int i, good;
    int32_t rc;

    s = default_smmu();
    if (!s)
        return;
    d = make_domain(s);
    TRY_OK(smmu_attach_device(s, d, 0));
    TRY_OK(smmu_map(s, d, 0x100000, 0x900000, 16 * PAGE, RW));
    st0 = stats_of(s);
    CHECK_RC(SMMU_EINVAL, smmu_translate(s, 128, 0x100000, RD, &out));
    CHECK_RC(SMMU_EINVAL, smmu_translate(s, 0xffffffff, 0x100000, RD, &out));
    CHECK_RC(SMMU_EINVAL, smmu_translate(s, 0, 0x100000, 0, &out));
    CHECK_RC(SMMU_EINVAL, smmu_translate(s, 0, 0x100000, SMMU_ACCESS_PRIV, &out));
    CHECK_RC(SMMU_EINVAL, smmu_translate(s, 0, 0x100000, RD | 0x10, &out));
    CHECK_RC(SMMU_EINVAL, smmu_translate(s, 0, 0x100000, 0xffffffff, &out));
    CHECK_RC(SMMU_ENODEV, smmu_translate(s, 1, 0x100000, RD, &out));
    CHECK_RC(SMMU_ENODEV, smmu_translate(s, 127, 0x100000, RD, &out));
    st1 = stats_of(s);
    CHECK(same_stats(&st0, &st1), "translate: refused translations (EINVAL, ENODEV) change no counter "
          "(translations %llu -> %llu)", (unsigned long long)st0.translations, (unsigned long long)st1.translations);
    CHECK_RC(SMMU_EFAULT, smmu_translate(s, 0, 0x200000, RD, &out));
    CHECK(out == 0xA5A5A5A5A5A5A5A5ull, "translate: failed translations leave *out_pa untouched");
    st1 = stats_of(s);
    CHECK(st1.translations == st0.translations + 1 && st1.faults == st0.faults + 1,
          "translate: a faulting translation counts as a translation and a fault");
    CHECK_RC(0, smmu_clear_fault(s, 0));

    /* batch */
    for (i = 0; i < 16; i++) {
        iovas[i] = 0x100000 + (uint64_t)i * PAGE + 8u * (unsigned)i;
        pas[i] = 0;
    }
    done = 99;
    CHECK_RC(0, smmu_translate_batch(s, 0, iovas, pas, 0, RD, &done));
    CHECK(done == 0, "batch: count 0 -> done 0 (got %zu)", done);
    done = 99;
    CHECK_RC(0, smmu_translate_batch(s, 0, NULL, NULL, 0, RD, &done));
    CHECK(done == 0, "batch: count 0 with NULL arrays -> done 0 (got %zu)", done);
    st0 = stats_of(s);
    CHECK_RC(SMMU_EINVAL, smmu_translate_batch(s, 0, iovas, pas, (size_t)INT32_MAX + 1, RD, &done));
    CHECK_RC(SMMU_EINVAL, smmu_translate_batch(s, 0, iovas, pas, (size_t)-1, RD, &done));
    CHECK_RC(SMMU_EINVAL, smmu_translate_batch(s, 128, iovas, pas, 16, RD, &done));
    CHECK_RC(SMMU_EINVAL, smmu_translate_batch(s, 0, iovas, pas, 16, 0, &done));
    CHECK_RC(SMMU_EINVAL, smmu_translate_batch(s, 0, iovas, pas, 16, RD | 0x100, &done));
    CHECK_RC(SMMU_ENODEV, smmu_translate_batch(s, 5, iovas, pas, 16, RD, &done));
    st1 = stats_of(s);
    CHECK(same_stats(&st0, &st1), "batch: refused batches change no counter");
    done = 99;
    CHECK_RC(0, smmu_translate_batch(s, 0, iovas, pas, 16, RD, &done));
    for (good = 0, i = 0; i < 16; i++)
        good += pas[i] == iovas[i] - 0x100000 + 0x900000;
    CHECK(done == 16 && good == 16, "batch: 16 of 16 translated (done %zu, %d right)", done, good);
    st0 = stats_of(s);
    iovas[5] = 0x300000;   /* unmapped */
    memset(pas, 0, sizeof pas);
    done = 99;
    rc = smmu_translate_batch(s, 0, iovas, pas, 16, RD, &done);
    CHECK(rc == SMMU_EFAULT && done == 5, "batch: stops at the fault: rc %d (%s) done %zu, expected EFAULT, 5", rc,
          smmu_strerror(rc), done);
    for (good = 0, i = 0; i < 5; i++)
        good += pas[i] == iovas[i] - 0x100000 + 0x900000;
    CHECK(good == 5, "batch: the 5 before the fault are right (%d)", good);
    st1 = stats_of(s);
    CHECK(st1.translations - st0.translations == 6 && st1.faults - st0.faults == 1,
          "batch: 5 translations + the faulting one counted (%llu), one fault (%llu)",
          (unsigned long long)(st1.translations - st0.translations), (unsigned long long)(st1.faults - st0.faults));
    CHECK(st1.tlb_hits + st1.tlb_misses == st1.translations, "batch: hits + misses = translations (%llu + %llu vs %llu)",
          (unsigned long long)st1.tlb_hits, (unsigned long long)st1.tlb_misses, (unsigned long long)st1.translations);
    CHECK_RC(0, smmu_clear_fault(s, 0));
    iovas[0] = 0x300000;
    done = 99;
    rc = smmu_translate_batch(s, 0, iovas, pas, 16, RD, &done);
    CHECK(rc == SMMU_EFAULT && done == 0, "batch: a fault at index 0: rc %d done %zu", rc, done);
    CHECK_RC(0, smmu_clear_fault(s, 0));
    iovas[0] = 0x100000;
    iovas[15] = 1ull << 48;   /* beyond ias: a fault, not EINVAL */
    done = 99;
    rc = smmu_translate_batch(s, 0, iovas, pas, 16, RD, &done);
    CHECK(rc == SMMU_EFAULT && done == 5, "batch: stops at the first of two faults: rc %d done %zu", rc, done);
    CHECK_RC(0, smmu_destroy(s));
}

/* ---- TLB maintenance ------------------------------------------------------------------------------ */

static void test_tlb_inv(void)
{
    smmu_config cfg;
    smmu_t s;
    smmu_domain_t a, b;
    smmu_stats st0, st1;
    uint32_t asid_a;
    int bits;

    for (bits = 8; bits <= 16; bits += 8) {
        uint32_t limit = 1u << bits;
        smmu_config_init(&cfg);
        cfg.asid_bits = (uint32_t)bits;
        s = make_smmu(&cfg);
        if (!s)
            return;
        st0 = stats_of(s);
        CHECK_RC(SMMU_EINVAL, smmu_tlb_inv_asid(s, limit));
        CHECK_RC(SMMU_EINVAL, smmu_tlb_inv_asid(s, 0xffffffff));
        CHECK_RC(SMMU_EINVAL, smmu_tlb_inv_va(s, limit, 0, PAGE));
        CHECK_RC(SMMU_EINVAL, smmu_tlb_inv_va(s, 1, 0, 0));
        CHECK_RC(SMMU_EINVAL, smmu_tlb_inv_va(s, 1, 0xFFFFFFFFFFFFF000ull, 2 * PAGE));
        CHECK_RC(SMMU_EINVAL, smmu_tlb_inv_va(s, 1, 0x2000, 0xFFFFFFFFFFFFF000ull));
        CHECK_RC(SMMU_EINVAL, smmu_tlb_inv_va_all(s, 0, 0));
        CHECK_RC(SMMU_EINVAL, smmu_tlb_inv_va_all(s, 0xFFFFFFFFFFFFF000ull, 2 * PAGE));
        st1 = stats_of(s);
        CHECK(same_stats(&st0, &st1), "tlb-inv (asid_bits %d): refused invalidations are not counted", bits);
        CHECK_RC(0, smmu_tlb_inv_asid(s, limit - 1));
        CHECK_RC(0, smmu_tlb_inv_asid(s, 0));
        CHECK_RC(0, smmu_tlb_inv_va(s, limit - 1, 0xFFFFFFFFFFFFF000ull, PAGE));   /* ends at 2^64 - 1: no wrap */
        CHECK_RC(0, smmu_tlb_inv_va(s, 1, 0x1234, 1));                              /* any size, any alignment */
        CHECK_RC(0, smmu_tlb_inv_va(s, 1, 0x1000, 0xFFFFFFFFFFFFF000ull));          /* up to 2^64 exactly */
        CHECK_RC(0, smmu_tlb_inv_va_all(s, 0, 0xFFFFFFFFFFFFFFFFull));
        CHECK_RC(0, smmu_tlb_inv_all(s));
        CHECK_RC(0, smmu_destroy(s));
    }

    /* Invalidating one ASID never removes another ASID's entries. */
    smmu_config_init(&cfg);
    s = make_smmu(&cfg);
    if (!s)
        return;
    a = make_domain(s);
    b = make_domain(s);
    TRY_OK(smmu_attach_device(s, a, 0));
    TRY_OK(smmu_attach_device(s, b, 1));
    TRY_OK(smmu_map(s, a, 0x100000, 0x1100000, 8 * PAGE, RW));
    TRY_OK(smmu_map(s, b, 0x100000, 0x2100000, 8 * PAGE, RW));
    {
        int i, ok = 0;
        for (i = 0; i < 8; i++) {
            int32_t rc;
            ok += xlate(s, 0, 0x100000 + (uint64_t)i * PAGE, RD, &rc) == 0x1100000 + (uint64_t)i * PAGE;
            ok += xlate(s, 1, 0x100000 + (uint64_t)i * PAGE, RD, &rc) == 0x2100000 + (uint64_t)i * PAGE;
        }
        CHECK(ok == 16, "tlb-inv: both domains translate (%d of 16)", ok);
        asid_a = attr_u32(s, a, SMMU_ATTR_ASID);
        st0 = stats_of(s);
        CHECK_RC(0, smmu_tlb_inv_va(s, asid_a, 0x102000, 2 * PAGE));
        st1 = stats_of(s);
        CHECK(st1.tlb_entries_invalidated - st0.tlb_entries_invalidated == 2,
              "tlb-inv: inv_va of two pages of one ASID removed %llu entries, expected 2",
              (unsigned long long)(st1.tlb_entries_invalidated - st0.tlb_entries_invalidated));
        CHECK_RC(0, smmu_tlb_inv_asid(s, asid_a));
        st0 = stats_of(s);
        CHECK(st0.tlb_entries_invalidated - st1.tlb_entries_invalidated == 6,
              "tlb-inv: inv_asid removed the ASID's 6 remaining entries, got %llu",
              (unsigned long long)(st0.tlb_entries_invalidated - st1.tlb_entries_invalidated));
        for (ok = 0, i = 0; i < 8; i++) {
            int32_t rc;
            ok += xlate(s, 1, 0x100000 + (uint64_t)i * PAGE, RD, &rc) == 0x2100000 + (uint64_t)i * PAGE;
        }
        st1 = stats_of(s);
        CHECK(ok == 8 && st1.tlb_hits - st0.tlb_hits == 8 && st1.tlb_misses == st0.tlb_misses,
              "tlb-inv: the other ASID's 8 entries all still hit (%llu hits, %llu misses)",
              (unsigned long long)(st1.tlb_hits - st0.tlb_hits), (unsigned long long)(st1.tlb_misses - st0.tlb_misses));
        CHECK_RC(0, smmu_tlb_inv_va_all(s, 0x100000, PAGE));
        st0 = stats_of(s);
        CHECK(st0.tlb_entries_invalidated - st1.tlb_entries_invalidated == 1,
              "tlb-inv: inv_va_all of one page removed the one entry left there, got %llu",
              (unsigned long long)(st0.tlb_entries_invalidated - st1.tlb_entries_invalidated));
    }
    CHECK_RC(0, smmu_destroy(s));
}

/* ---- struct sizes, banks, no fault ---------------------------------------------------------------- */

static int untouched_after_size(const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    size_t i;
    for (i = 4; i < n; i++)
        if (b[i] != 0xA5)
            return 0;
    return 1;
}

static void test_sizes(void)
{
    smmu_t s;
    smmu_stats st;
    smmu_fault f;
    smmu_cb_state cb;
    const uint32_t bad[] = { 0, 1, 4, 8, 40, 47, 49, 55, 57, 64, 87, 89, 96, 0xffffffff };
    size_t i;

    s = default_smmu();
    if (!s)
        return;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (bad[i] != sizeof st) {
            memset(&st, 0xA5, sizeof st);
            st.size = bad[i];
            if (!CHECK_RC(SMMU_EINVAL, smmu_get_stats(s, &st)) || !CHECK(untouched_after_size(&st, sizeof st),
                    "sizes: get_stats with size %u wrote its output", bad[i]))
                fprintf(stdout, "  (smmu_stats.size = %u)\n", bad[i]);
        }
        if (bad[i] != sizeof f) {
            memset(&f, 0xA5, sizeof f);
            f.size = bad[i];
            if (!CHECK_RC(SMMU_EINVAL, smmu_get_fault(s, 0, &f)) || !CHECK(untouched_after_size(&f, sizeof f),
                    "sizes: get_fault with size %u wrote its output", bad[i]))
                fprintf(stdout, "  (smmu_fault.size = %u)\n", bad[i]);
        }
        if (bad[i] != sizeof cb) {
            memset(&cb, 0xA5, sizeof cb);
            cb.size = bad[i];
            if (!CHECK_RC(SMMU_EINVAL, smmu_get_context_bank(s, 0, &cb)) || !CHECK(untouched_after_size(&cb, sizeof cb),
                    "sizes: get_context_bank with size %u wrote its output", bad[i]))
                fprintf(stdout, "  (smmu_cb_state.size = %u)\n", bad[i]);
        }
    }
    /* no fault yet; banks out of range */
    memset(&f, 0xA5, sizeof f);
    f.size = sizeof f;
    CHECK_RC(SMMU_ENOENT, smmu_get_fault(s, 0, &f));
    CHECK_RC(SMMU_ENOENT, smmu_get_fault(s, 7, &f));
    CHECK(untouched_after_size(&f, sizeof f), "sizes: get_fault ENOENT leaves the record untouched");
    CHECK_RC(SMMU_EINVAL, smmu_get_fault(s, 8, &f));
    CHECK_RC(SMMU_EINVAL, smmu_get_fault(s, 0xffffffff, &f));
    CHECK_RC(SMMU_EINVAL, smmu_clear_fault(s, 8));
    CHECK_RC(0, smmu_clear_fault(s, 7));
    cb.size = sizeof cb;
    CHECK_RC(SMMU_EINVAL, smmu_get_context_bank(s, 8, &cb));
    CHECK_RC(SMMU_EINVAL, smmu_get_context_bank(s, 0x80000000, &cb));
    CHECK_RC(0, smmu_get_context_bank(s, 7, &cb));
    CHECK(cb.size == sizeof cb && cb.in_use == 0 && cb.ttbr0 == 0 && cb.fsr == 0,
          "sizes: an unused bank reads as free (in_use %u ttbr0 0x%llx)", cb.in_use, (unsigned long long)cb.ttbr0);
    st.size = sizeof st;
    CHECK_RC(0, smmu_get_stats(s, &st));
    CHECK(st.size == sizeof st && st.reserved == 0 && st.pt_pages_in_use == 0
              && st.pt_pages_free == (64ull << 20) / PAGE,
          "sizes: a fresh instance's stats (size %u reserved %u in use %llu free %llu)", st.size, st.reserved,
          (unsigned long long)st.pt_pages_in_use, (unsigned long long)st.pt_pages_free);
    CHECK_RC(0, smmu_destroy(s));
}

/* The counters: reset_stats zeroes them but not the page counts; walks, invalidations add up. */
static void test_stats(void)
{
    smmu_config cfg;
    smmu_t s;
    smmu_domain_t d;
    smmu_stats st, st2;
    uint64_t pa;
    int i;

    smmu_config_init(&cfg);
    cfg.pt_pool_bytes = 100 * PAGE;
    s = make_smmu(&cfg);
    if (!s)
        return;
    d = make_domain(s);
    TRY_OK(smmu_attach_device(s, d, 0));
    TRY_OK(smmu_map(s, d, 0x100000, 0x200000, 4 * PAGE, RW));
    st = stats_of(s);
    CHECK(st.pt_pages_in_use == 4 && st.pt_pages_in_use + st.pt_pages_free == 100,
          "stats: pages in use %llu + free %llu = the pool's 100", (unsigned long long)st.pt_pages_in_use,
          (unsigned long long)st.pt_pages_free);
    for (i = 0; i < 4; i++)
        translate_ok(s, 0x100000 + (uint64_t)i * PAGE, 0x200000 + (uint64_t)i * PAGE);
    for (i = 0; i < 4; i++)
        translate_ok(s, 0x100000 + (uint64_t)i * PAGE, 0x200000 + (uint64_t)i * PAGE);
    CHECK_RC(0, smmu_iova_to_phys(s, d, 0x100000, &pa));
    CHECK_RC(0, smmu_iova_to_phys(s, d, 0x101000, &pa));
    CHECK_RC(SMMU_ENOENT, smmu_iova_to_phys(s, d, 0x900000, &pa));
    st = stats_of(s);
    CHECK(st.translations == 8 && st.tlb_misses == 4 && st.tlb_hits == 4,
          "stats: 8 translations, 4 misses, 4 hits (got %llu, %llu, %llu)", (unsigned long long)st.translations,
          (unsigned long long)st.tlb_misses, (unsigned long long)st.tlb_hits);
    CHECK(st.walks == st.tlb_misses + 3, "stats: walks = misses + iova_to_phys calls (%llu, expected %llu)",
          (unsigned long long)st.walks, (unsigned long long)(st.tlb_misses + 3));
    CHECK_RC(0, smmu_tlb_inv_all(s));
    CHECK_RC(0, smmu_tlb_inv_asid(s, 1));
    CHECK_RC(0, smmu_tlb_inv_va(s, 1, 0, PAGE));
    CHECK_RC(0, smmu_tlb_inv_va_all(s, 0, PAGE));
    st2 = stats_of(s);
    CHECK(st2.tlb_invalidations - st.tlb_invalidations == 4 && st2.tlb_entries_invalidated - st.tlb_entries_invalidated == 4,
          "stats: four explicit invalidations counted (%llu), removing the 4 cached entries (%llu)",
          (unsigned long long)(st2.tlb_invalidations - st.tlb_invalidations),
          (unsigned long long)(st2.tlb_entries_invalidated - st.tlb_entries_invalidated));
    CHECK_RC(0, smmu_switch_domain(s, d));
    CHECK_RC(0, smmu_reset_stats(s));
    st2 = stats_of(s);
    CHECK(st2.size == sizeof st2 && st2.reserved == 0 && st2.translations == 0 && st2.tlb_hits == 0
              && st2.tlb_misses == 0 && st2.walks == 0 && st2.faults == 0 && st2.tlb_invalidations == 0
              && st2.tlb_entries_invalidated == 0 && st2.switches == 0,
          "stats: reset_stats zeroes every counter");
    CHECK(st2.pt_pages_in_use == 4 && st2.pt_pages_free == 96, "stats: reset_stats keeps the page counts (%llu, %llu)",
          (unsigned long long)st2.pt_pages_in_use, (unsigned long long)st2.pt_pages_free);
    CHECK_RC(0, smmu_destroy(s));
}

/* ---- simulated physical memory ------------------------------------------------------------------- */

static void test_phys(void)
{
    smmu_t s;
    smmu_domain_t d;
    uint64_t v = 0xA5A5A5A5A5A5A5A5ull, l0, l1, l2, leaf, blk, leaf_pa, blk_pa, after;
    const uint64_t end = POOL_BASE + (64ull << 20);

    s = default_smmu();
    if (!s)
        return;
    d = make_domain(s);
    TRY_OK(smmu_map(s, d, 0x1000, 0x77000, PAGE, RW));
    TRY_OK(smmu_map(s, d, 0x400000, 0x800000, 2 * MIB, RW));
    CHECK_RC(SMMU_EINVAL, smmu_phys_read64(s, POOL_BASE + 4, &v));
    CHECK_RC(SMMU_EINVAL, smmu_phys_read64(s, POOL_BASE + 1, &v));
    CHECK_RC(SMMU_EINVAL, smmu_phys_read64(s, end - 4, &v));
    CHECK_RC(SMMU_ERANGE, smmu_phys_read64(s, POOL_BASE - 8, &v));
    CHECK_RC(SMMU_ERANGE, smmu_phys_read64(s, end, &v));
    CHECK_RC(SMMU_ERANGE, smmu_phys_read64(s, 0, &v));
    CHECK_RC(SMMU_ERANGE, smmu_phys_read64(s, 0xFFFFFFFFFFFFFFF8ull, &v));
    CHECK(v == 0xA5A5A5A5A5A5A5A5ull, "phys: failed reads leave *out untouched");
    CHECK_RC(0, smmu_phys_read64(s, end - 8, &v));
    CHECK(v == 0, "phys: the pool's last word reads as 0 (0x%llx)", (unsigned long long)v);

    /* walk to the page and the block: root [0] -> L1 [0] -> L2 [0] -> L3 [1]; L2 [2] is the block */
    l0 = l1 = l2 = leaf = blk = 0;
    CHECK_RC(0, smmu_phys_read64(s, POOL_BASE, &l0));
    CHECK_RC(0, smmu_phys_read64(s, l0 & ADDR_MASK, &l1));
    CHECK_RC(0, smmu_phys_read64(s, l1 & ADDR_MASK, &l2));
    leaf_pa = (l2 & ADDR_MASK) + 8;
    blk_pa = (l1 & ADDR_MASK) + 16;
    CHECK_RC(0, smmu_phys_read64(s, leaf_pa, &leaf));
    CHECK_RC(0, smmu_phys_read64(s, blk_pa, &blk));
    CHECK((leaf & 3) == 3 && (leaf & ADDR_MASK) == 0x77000, "phys: found the page descriptor (0x%llx)",
          (unsigned long long)leaf);
    CHECK((blk & 3) == 1 && (blk & ADDR_MASK) == 0x800000, "phys: found the block descriptor (0x%llx)",
          (unsigned long long)blk);

    CHECK_RC(SMMU_EINVAL, smmu_phys_write64(s, leaf_pa + 4, leaf));
    CHECK_RC(SMMU_ERANGE, smmu_phys_write64(s, POOL_BASE - 8, leaf));
    CHECK_RC(SMMU_ERANGE, smmu_phys_write64(s, end, leaf));
    CHECK_RC(SMMU_EPERM, smmu_phys_write64(s, POOL_BASE, l0));                 /* a table descriptor, unchanged */
    CHECK_RC(SMMU_EPERM, smmu_phys_write64(s, POOL_BASE, (l0 & ~3ull) | 1));   /* table -> block */
    CHECK_RC(SMMU_EPERM, smmu_phys_write64(s, l0 & ADDR_MASK, l1 | (1u << 10)));
    CHECK_RC(SMMU_EPERM, smmu_phys_write64(s, POOL_BASE + 8, leaf));           /* an invalid descriptor */
    CHECK_RC(SMMU_EPERM, smmu_phys_write64(s, leaf_pa + 8, leaf));             /* the invalid one next to the page */
    CHECK_RC(SMMU_EPERM, smmu_phys_write64(s, leaf_pa, (leaf & ~3ull) | 1));   /* page type bits changed */
    CHECK_RC(SMMU_EPERM, smmu_phys_write64(s, leaf_pa, leaf & ~1ull));         /* made invalid */
    CHECK_RC(SMMU_EPERM, smmu_phys_write64(s, leaf_pa, 0));
    CHECK_RC(SMMU_EPERM, smmu_phys_write64(s, blk_pa, blk | 3));               /* block -> table */
    CHECK_RC(SMMU_EPERM, smmu_phys_write64(s, end - 8, blk));                  /* a free pool page */
    after = 0;
    CHECK_RC(0, smmu_phys_read64(s, leaf_pa, &after));
    CHECK(after == leaf, "phys: refused writes left the page descriptor (0x%llx -> 0x%llx)",
          (unsigned long long)leaf, (unsigned long long)after);
    CHECK_RC(0, smmu_phys_read64(s, blk_pa, &after));
    CHECK(after == blk, "phys: refused writes left the block descriptor");
    CHECK_RC(0, smmu_phys_read64(s, POOL_BASE, &after));
    CHECK(after == l0, "phys: refused writes left the root's table descriptor");
    CHECK_RC(0, smmu_phys_read64(s, POOL_BASE + 8, &after));
    CHECK(after == 0, "phys: refused writes left the invalid descriptor invalid");
    CHECK(maps_to(s, d, 0x1000, 0x77000) && maps_to(s, d, 0x400000 + 0x1234, 0x800000 + 0x1234),
          "phys: mappings intact after refused writes");
    /* allowed: same type, other bits */
    CHECK_RC(0, smmu_phys_write64(s, leaf_pa, (leaf & ~ADDR_MASK) | 0x99000));
    CHECK(maps_to(s, d, 0x1000, 0x99000), "phys: a permitted write retargets the page (software walk sees it)");
    CHECK_RC(0, smmu_phys_write64(s, blk_pa, blk | (1ull << 54)));
    CHECK_RC(0, smmu_phys_read64(s, blk_pa, &after));
    CHECK(after == (blk | (1ull << 54)), "phys: a permitted write to a block reads back");
    CHECK_RC(0, smmu_destroy(s));
}

/* ---- misc: attach/detach/switch/free argument errors ------------------------------------------- */

static void test_misc(void)
{
    smmu_t s;
    smmu_domain_t d, e;
    smmu_cb_state cb0, cb1;
    smmu_stats st0, st1;

    s = default_smmu();
    if (!s)
        return;
    d = make_domain(s);
    e = make_domain(s);
    CHECK_RC(SMMU_EINVAL, smmu_attach_device(s, d, 128));
    CHECK_RC(SMMU_EINVAL, smmu_attach_device(s, d, 0xffffffff));
    CHECK_RC(SMMU_ENODEV, smmu_detach_device(s, d, 0));
    CHECK_RC(SMMU_ENODEV, smmu_switch_domain(s, d));
    TRY_OK(smmu_attach_device(s, d, 4));
    TRY_OK(smmu_map(s, d, 0x1000, 0x2000, PAGE, RW));
    cb0 = cb_of(s, 0);
    st0 = stats_of(s);
    CHECK_RC(SMMU_EINVAL, smmu_detach_device(s, d, 128));
    CHECK_RC(SMMU_ENODEV, smmu_detach_device(s, d, 5));
    CHECK_RC(SMMU_ENODEV, smmu_detach_device(s, e, 4));
    CHECK_RC(SMMU_EBUSY, smmu_domain_free(s, d));
    CHECK_RC(SMMU_ENODEV, smmu_switch_domain(s, e));
    cb1 = cb_of(s, 0);
    st1 = stats_of(s);
    CHECK(same_cb(&cb0, &cb1) && same_stats(&st0, &st1), "misc: refused detach/free/switch change nothing");
    CHECK(maps_to(s, d, 0x1000, 0x2000), "misc: a refused free kept the domain's tables");
    CHECK_RC(0, smmu_switch_domain(s, d));   /* switching to the active base is fine */
    CHECK_RC(0, smmu_detach_device(s, d, 4));
    CHECK_RC(SMMU_ENODEV, smmu_detach_device(s, d, 4));
    CHECK_RC(0, smmu_domain_free(s, d));
    CHECK_RC(0, smmu_destroy(s));
    CHECK_RC(SMMU_EBADF, smmu_destroy(s));
}

/* ---- smmu_strerror ---------------------------------------------------------------------------------- */

static void test_strerror(void)
{
    const int32_t known[] = { SMMU_OK, SMMU_EPERM, SMMU_ENOENT, SMMU_EIO, SMMU_EBADF, SMMU_ENOMEM, SMMU_EFAULT,
                              SMMU_EBUSY, SMMU_EEXIST, SMMU_ENODEV, SMMU_EINVAL, SMMU_ENOSPC, SMMU_ERANGE };
    const int32_t unknown[] = { 1, -3, -4, -6, -10, -13, -15, -18, -20, -21, -23, -27, -29, -33, -35, 100, -1000,
                                INT32_MIN, INT32_MAX };
    const char *msgs[sizeof known / sizeof known[0]];
    size_t i, j;

    for (i = 0; i < sizeof known / sizeof known[0]; i++) {
        msgs[i] = smmu_strerror(known[i]);
        CHECK(msgs[i] != NULL && msgs[i][0] != '\0' && strcmp(msgs[i], "unknown error") != 0,
              "strerror(%d) is a real description (\"%s\")", known[i], msgs[i] ? msgs[i] : "(null)");
        CHECK(msgs[i] == NULL || smmu_strerror(known[i]) == msgs[i], "strerror(%d) is static (same pointer twice)",
              known[i]);
    }
    for (i = 0; i < sizeof known / sizeof known[0]; i++)
        for (j = i + 1; j < sizeof known / sizeof known[0]; j++)
            CHECK(!msgs[i] || !msgs[j] || strcmp(msgs[i], msgs[j]) != 0, "strerror(%d) and strerror(%d) differ (\"%s\")",
                  known[i], known[j], msgs[i]);
    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *m = smmu_strerror(unknown[i]);
        CHECK(m != NULL && strcmp(m, "unknown error") == 0, "strerror(%d) is \"unknown error\" (got \"%s\")", unknown[i],
              m ? m : "(null)");
    }
}

/* ---- too many instances: ENOMEM ------------------------------------------------------------------- */

static void test_instance_limit(void)
{
    enum { MAX_TRY = 20000 };
    static smmu_t hs[MAX_TRY];
    smmu_config cfg;
    int n = 0, i, destroyed = 0;
    int32_t rc = 0;
    smmu_t out = 0xA5A5A5A5;

    smmu_config_init(&cfg);
    cfg.pt_pool_bytes = PAGE;
    cfg.tlb_entries = 8;
    cfg.tlb_ways = 8;
    cfg.num_context_banks = 1;
    cfg.num_stream_ids = 1;
    while (n < MAX_TRY) {
        rc = smmu_create(&cfg, &hs[n]);
        if (rc != SMMU_OK)
            break;
        n++;
    }
    CHECK(rc == SMMU_ENOMEM, "limit: creating instances until the table is full ends with ENOMEM after %d "
          "(rc %d %s)", n, rc, smmu_strerror(rc));
    if (rc == SMMU_ENOMEM) {
        CHECK_RC(SMMU_ENOMEM, smmu_create(&cfg, &out));
        CHECK(out == 0xA5A5A5A5, "limit: the refused create leaves *out untouched");
        CHECK(smmu_reset_stats(hs[0]) == SMMU_OK && smmu_reset_stats(hs[n - 1]) == SMMU_OK,
              "limit: the instances created so far are alive");
    }
    for (i = 0; i < n; i++)
        destroyed += smmu_destroy(hs[i]) == SMMU_OK;
    CHECK(destroyed == n, "limit: all %d instances destroyed (%d)", n, destroyed);
    if (CHECK_RC(0, smmu_create(&cfg, &out)))
        CHECK_RC(0, smmu_destroy(out));
}

/* The contract's once-open questions, as smmu.h now settles them. */
static void test_contract_decisions(void)
{
    smmu_t s = default_smmu();
    smmu_domain_t d = 0, b = 0;
    int32_t values[] = { 2, -1, 0x7fffffff }, one = 1, got = 0;
    uint64_t iova = 0x40000000ull, pa = 0x100000000ull, out[1];
    size_t done = 99;
    unsigned i;

    CHECK_RC(0, smmu_domain_alloc(s, &d));
    CHECK_RC(0, smmu_domain_set_attr(s, d, SMMU_ATTR_DYNAMIC, &one, sizeof one));
    for (i = 0; i < sizeof values / sizeof values[0]; i++)
        CHECK_RC(SMMU_EINVAL, smmu_domain_set_attr(s, d, SMMU_ATTR_DYNAMIC, &values[i], sizeof values[i]));
    CHECK_RC(0, smmu_domain_get_attr(s, d, SMMU_ATTR_DYNAMIC, &got, sizeof got));
    CHECK(got == 1, "contract: a refused DYNAMIC value leaves the attribute as it was (%d)", got);

    /* A batch of 0 on a stream that is not attached: ENODEV, and *out_done says 0 were translated. */
    CHECK_RC(SMMU_ENODEV, smmu_translate_batch(s, 1, NULL, NULL, 0, SMMU_ACCESS_READ, &done));
    CHECK(done == 0, "contract: *out_done is written by a failed batch too (%zu)", done);

    /* Invalidation ranges may end exactly at 2^64. */
    CHECK_RC(0, smmu_domain_alloc(s, &b));
    CHECK_RC(0, smmu_attach_device(s, b, 0));
    CHECK_RC(0, smmu_map(s, b, iova, pa, PAGE, RW));
    CHECK_RC(0, smmu_translate(s, 0, iova, RD, &out[0]));
    CHECK_RC(0, smmu_tlb_inv_va(s, attr_u32(s, b, SMMU_ATTR_ASID), 0ull - PAGE, PAGE));
    CHECK_RC(0, smmu_tlb_inv_va_all(s, PAGE, 0ull - PAGE));
    CHECK_RC(SMMU_EINVAL, smmu_tlb_inv_va_all(s, 0ull - PAGE, 2 * PAGE));

    /* EINVAL (malformed) before ERANGE (out of range). */
    CHECK_RC(SMMU_EINVAL, smmu_map(s, b, (1ull << 50) + 8, pa, PAGE, RW));
    CHECK_RC(SMMU_ERANGE, smmu_map(s, b, 1ull << 50, pa, PAGE, RW));
    CHECK_RC(0, smmu_destroy(s));
}

int main(void)
{
    test_handles();
    test_handle_reuse();
    test_nulls();
    test_configs();
    test_map();
    test_unmap();
    test_translate();
    test_tlb_inv();
    test_sizes();
    test_stats();
    test_phys();
    test_misc();
    test_strerror();
    test_instance_limit();
    test_contract_decisions();
    return check_summary("errors");
}
