/*
 * granules.c - the 16 KiB and 64 KiB granules through the C ABI (SMMU_ATTR_GRANULE):
 *
 *   - the attribute: 4096 by default, 16384 and 65536 accepted, anything else EINVAL, EBUSY after
 *     a map or an attach; the bank's granule in cb_state;
 *   - leaves read with smmu_phys_read64 bit by bit at the levels the granule puts them:
 *       16K (ias 48: 4 levels from 0, a 2-entry root): 16 KiB pages at level 3, 32 MiB blocks at 2;
 *       64K (ias 48: 3 levels from 1, a 64-entry root): 64 KiB pages at level 3, 512 MiB blocks at 2;
 *     and every table 16/64 KiB aligned in physical address;
 *   - misalignment to the granule (IOVA, PA, size; map and unmap) is EINVAL;
 *   - translation and iova_to_phys through both;
 *   - a dynamic domain with another granule than its bank's is EINVAL at attach.
 */
#include "scenario.h"

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define RW (SMMU_PROT_READ | SMMU_PROT_WRITE)
#define RD SMMU_ACCESS_READ
#define WR SMMU_ACCESS_WRITE
#define ADDR_MASK 0x0000ffffffffffffull

struct granule_case {
    const char *name;
    uint32_t granule;           /* bytes */
    unsigned shift;             /* log2(granule) */
    int start_level;            /* with ias 48 */
    uint64_t block;             /* the level-2 block size */
    uint32_t sid;
};

static smmu_t smmu;

static uint32_t granule_of(smmu_domain_t d)
{
    uint32_t g = 0;
    CHECK_RC(0, smmu_domain_get_attr(smmu, d, SMMU_ATTR_GRANULE, &g, sizeof g));
    return g;
}

/* The leaf for iova, read bit by bit: its level, type, output, and the attribute bits map wrote. */
static void check_leaf(const struct granule_case *c, uint64_t root, uint64_t iova, uint64_t pa, int level,
                       uint32_t prot, const char *what)
{
    struct sw_walk w = sw_walk(smmu, root, iova, c->shift, 48);
    uint64_t d = w.desc[w.leaf_level];
    unsigned leaf_shift = level == 3 ? c->shift : (unsigned)(c->shift + (c->shift - 3));
    int l;

    CHECK(w.start_level == c->start_level, "%s %s: the walk starts at level %d, expected %d", c->name, what,
          w.start_level, c->start_level);
    for (l = w.start_level; l < w.leaf_level; l++) {
        CHECK((w.desc[l] & DESC_TYPE_MASK) == DESC_TABLE, "%s %s: level %d is a table descriptor (0x%llx)", c->name, what,
              l, (unsigned long long)w.desc[l]);
        CHECK((desc_address(w.desc[l], c->shift) & (c->granule - 1)) == 0,
              "%s %s: the level-%d table is %u-byte aligned in PA", c->name, what, l + 1, c->granule);
    }
    if (!CHECK(w.ok && w.leaf_level == level, "%s %s: a leaf at level %d (ok %d, level %d)", c->name, what, level,
               w.ok, w.leaf_level))
        return;
    CHECK(w.leaf_shift == leaf_shift, "%s %s: leaf size 2^%u, expected 2^%u", c->name, what, w.leaf_shift, leaf_shift);
    CHECK((d & DESC_TYPE_MASK) == (level == 3 ? DESC_PAGE : DESC_BLOCK), "%s %s: bits 1:0 = %llu, expected %s",
          c->name, what, (unsigned long long)(d & DESC_TYPE_MASK), level == 3 ? "0b11 (page)" : "0b01 (block)");
    CHECK(desc_address(d, leaf_shift) == pa, "%s %s: output [47:%u] = 0x%llx, expected 0x%llx", c->name, what,
          leaf_shift, (unsigned long long)desc_address(d, leaf_shift), (unsigned long long)pa);
    CHECK((d & ((1ull << leaf_shift) - 1) & ~0xfffull) == 0, "%s %s: bits [%u:12] below the output are 0", c->name,
          what, leaf_shift - 1);
    CHECK(d & DESC_AF, "%s %s: AF (10) set", c->name, what);
    CHECK(d & DESC_NG, "%s %s: nG (11) set (not GLOBAL)", c->name, what);
    CHECK(!!(d & DESC_AP2) == !(prot & SMMU_PROT_WRITE), "%s %s: AP[2] (7) read-only = %d", c->name, what,
          !!(d & DESC_AP2));
    CHECK(d & DESC_AP1, "%s %s: AP[1] (6) EL0 access", c->name, what);
    CHECK(((d >> DESC_SH_SHIFT) & 3) == ((prot & SMMU_PROT_CACHE) ? 3u : 2u), "%s %s: SH (9:8) = %llu", c->name, what,
          (unsigned long long)((d >> DESC_SH_SHIFT) & 3));
    CHECK(((d >> DESC_ATTRINDX_SHIFT) & 7) == ((prot & SMMU_PROT_CACHE) ? 1u : 0u), "%s %s: AttrIndx (4:2) = %llu",
          c->name, what, (unsigned long long)((d >> DESC_ATTRINDX_SHIFT) & 7));
    CHECK(!!(d & DESC_UXN) == !!(prot & SMMU_PROT_NOEXEC) && !!(d & DESC_PXN) == !!(prot & SMMU_PROT_NOEXEC),
          "%s %s: UXN (54) and PXN (53) = NOEXEC", c->name, what);
}

static void translates(const struct granule_case *c, smmu_domain_t d, uint64_t iova, uint64_t pa, const char *what)
{
    int32_t rc;
    uint64_t got = xlate(smmu, c->sid, iova, RD, &rc), soft = 0;
    CHECK(rc == 0 && got == pa, "%s %s: translate(0x%llx) -> rc %d pa 0x%llx, expected 0x%llx", c->name, what,
          (unsigned long long)iova, rc, (unsigned long long)got, (unsigned long long)pa);
    CHECK_RC(0, smmu_iova_to_phys(smmu, d, iova, &soft));
    CHECK(soft == pa, "%s %s: iova_to_phys(0x%llx) = 0x%llx, expected 0x%llx", c->name, what, (unsigned long long)iova,
          (unsigned long long)soft, (unsigned long long)pa);
}

static void granule(const struct granule_case *c)
{
    const uint64_t g = c->granule, page_iova = 0x10000000ull, page_pa = 0x800000000ull + g;
    const uint64_t ro_iova = page_iova + 4 * g, block_iova = 0x400000000ull, block_pa = 0x1000000000ull;
    uint32_t v, other = c->granule == 16384 ? 65536 : 16384, four_k = 4096;
    smmu_domain_t d = make_domain(smmu), dyn_ok, dyn_bad;
    smmu_stats s;
    smmu_cb_state cb;
    uint64_t root, pages_before;
    int32_t rc;

    CHECK(granule_of(d) == 4096, "%s: a new domain's granule is 4096", c->name);
    v = 8192;
    CHECK_RC(SMMU_EINVAL, smmu_domain_set_attr(smmu, d, SMMU_ATTR_GRANULE, &v, sizeof v));
    v = 0;
    CHECK_RC(SMMU_EINVAL, smmu_domain_set_attr(smmu, d, SMMU_ATTR_GRANULE, &v, sizeof v));
    CHECK_RC(SMMU_EINVAL, smmu_domain_set_attr(smmu, d, SMMU_ATTR_GRANULE, &c->granule, 2));
    pages_before = stats_of(smmu).pt_pages_in_use;
    CHECK_RC(0, smmu_domain_set_attr(smmu, d, SMMU_ATTR_GRANULE, &other, sizeof other));   /* changeable until used */
    CHECK_RC(0, smmu_domain_set_attr(smmu, d, SMMU_ATTR_GRANULE, &c->granule, sizeof c->granule));
    CHECK(granule_of(d) == c->granule, "%s: GRANULE reads back %u", c->name, c->granule);
    s = stats_of(smmu);
    CHECK(s.pt_pages_in_use == pages_before - 1 + g / 4096,
          "%s: the new root is one %llu-byte table (%llu pool pages in use, expected %llu)", c->name,
          (unsigned long long)g, (unsigned long long)s.pt_pages_in_use, (unsigned long long)(pages_before - 1 + g / 4096));

    /* Misalignment to the granule: IOVA, PA, size; map and unmap. */
    CHECK_RC(SMMU_EINVAL, smmu_map(smmu, d, page_iova + 4096, page_pa, g, RW));
    CHECK_RC(SMMU_EINVAL, smmu_map(smmu, d, page_iova, page_pa + 4096, g, RW));
    CHECK_RC(SMMU_EINVAL, smmu_map(smmu, d, page_iova, page_pa, 4096, RW));
    CHECK_RC(SMMU_EINVAL, smmu_map(smmu, d, page_iova, page_pa, g + g / 2, RW));
    CHECK(stats_of(smmu).pt_pages_in_use == s.pt_pages_in_use, "%s: failed maps built no table", c->name);

    /* A page, a read-only non-executable cacheable page, a level-2 block. */
    CHECK_RC(0, smmu_map(smmu, d, page_iova, page_pa, 2 * g, RW));
    CHECK_RC(SMMU_EBUSY, smmu_domain_set_attr(smmu, d, SMMU_ATTR_GRANULE, &other, sizeof other));
    CHECK_RC(0, smmu_map(smmu, d, ro_iova, page_pa + 8 * g, g, SMMU_PROT_READ | SMMU_PROT_NOEXEC | SMMU_PROT_CACHE));
    CHECK_RC(0, smmu_map(smmu, d, block_iova, block_pa, c->block, RW));
    CHECK_RC(SMMU_EINVAL, smmu_unmap(smmu, d, page_iova + 4096, g));
    CHECK_RC(SMMU_EINVAL, smmu_unmap(smmu, d, page_iova, 4096));
    CHECK_RC(SMMU_EEXIST, smmu_map(smmu, d, page_iova + g, 0x900000000ull, g, RW));

    if (!CHECK_RC(0, smmu_attach_device(smmu, d, c->sid)))
        return;
    CHECK_RC(SMMU_EBUSY, smmu_domain_set_attr(smmu, d, SMMU_ATTR_GRANULE, &c->granule, sizeof c->granule));
    root = attr_ttbr0(smmu, d) & ADDR_MASK;
    CHECK((root & (g - 1)) == 0, "%s: the root 0x%llx is %llu-byte aligned", c->name, (unsigned long long)root,
          (unsigned long long)g);
    cb = cb_of(smmu, attr_u32(smmu, d, SMMU_ATTR_CONTEXT_BANK));
    CHECK(cb.granule == c->granule, "%s: cb_state granule %u", c->name, cb.granule);

    check_leaf(c, root, page_iova, page_pa, 3, RW, "page");
    check_leaf(c, root, page_iova + g, page_pa + g, 3, RW, "second page");
    check_leaf(c, root, ro_iova, page_pa + 8 * g, 3, SMMU_PROT_READ | SMMU_PROT_NOEXEC | SMMU_PROT_CACHE, "RO page");
    check_leaf(c, root, block_iova, block_pa, 2, RW, "block");
    check_leaf(c, root, block_iova + c->block - g, block_pa, 2, RW, "block's last granule");

    translates(c, d, page_iova + g - 8, page_pa + g - 8, "end of the first page");
    translates(c, d, page_iova + g + 0x1238, page_pa + g + 0x1238, "second page");
    translates(c, d, block_iova + c->block / 2 + 0x4321 * 8, block_pa + c->block / 2 + 0x4321 * 8, "inside the block");
    translates(c, d, block_iova + c->block - 8, block_pa + c->block - 8, "end of the block");
    {
        struct expected_fault e;
        memset(&e, 0, sizeof e);
        e.stream_id = c->sid;
        e.context_bank = attr_u32(smmu, d, SMMU_ATTR_CONTEXT_BANK);
        e.iova = ro_iova + 0x10;
        e.access = WR;
        e.type = SMMU_FAULT_PERMISSION;
        e.level = 3;
        e.stage = 1;
        e.asid = attr_u32(smmu, d, SMMU_ATTR_ASID);
        e.active_domain = d;
        expect_fault(smmu, &e, "write to a read-only page of the granule");
        e.iova = page_iova + 2 * g;          /* right after the two pages, same last-level table */
        e.access = RD;
        e.type = SMMU_FAULT_TRANSLATION;
        expect_fault(smmu, &e, "the granule after the mapping");
        e.iova = block_iova + c->block;      /* right after the block: same level-2 table */
        e.level = 2;
        expect_fault(smmu, &e, "after the block");
    }

    /* Unmapping half a block splits it into pages of the granule. */
    CHECK(smmu_unmap(smmu, d, block_iova, c->block / 2) == (int64_t)(c->block / 2), "%s: unmap half the block", c->name);
    check_leaf(c, root, block_iova + c->block / 2, block_pa + c->block / 2, 3, RW, "split block's upper half");
    rc = smmu_translate(smmu, c->sid, block_iova, RD, &(uint64_t){ 0 });
    CHECK(rc == SMMU_EFAULT, "%s: the unmapped half faults (rc %d)", c->name, rc);
    CHECK_RC(0, smmu_clear_fault(smmu, attr_u32(smmu, d, SMMU_ATTR_CONTEXT_BANK)));
    translates(c, d, block_iova + c->block - 8, block_pa + c->block - 8, "split block's end");

    /* Dynamic domains must use the bank's granule. */
    dyn_bad = make_domain(smmu);
    CHECK_RC(0, make_dynamic(smmu, dyn_bad, attr_u32(smmu, d, SMMU_ATTR_CONTEXT_BANK)));
    CHECK_RC(SMMU_EINVAL, smmu_attach_device(smmu, dyn_bad, c->sid));          /* the default 4 KiB */
    CHECK_RC(0, smmu_domain_set_attr(smmu, dyn_bad, SMMU_ATTR_GRANULE, &other, sizeof other));
    CHECK_RC(SMMU_EINVAL, smmu_attach_device(smmu, dyn_bad, c->sid));          /* the other large granule */
    CHECK_RC(0, smmu_domain_set_attr(smmu, dyn_bad, SMMU_ATTR_GRANULE, &four_k, sizeof four_k));
    CHECK_RC(SMMU_EINVAL, smmu_attach_device(smmu, dyn_bad, c->sid));
    CHECK_RC(SMMU_ENODEV, smmu_domain_get_attr(smmu, dyn_bad, SMMU_ATTR_ASID, &v, sizeof v));
    dyn_ok = make_domain(smmu);
    CHECK_RC(0, make_dynamic(smmu, dyn_ok, attr_u32(smmu, d, SMMU_ATTR_CONTEXT_BANK)));
    CHECK_RC(0, smmu_domain_set_attr(smmu, dyn_ok, SMMU_ATTR_GRANULE, &c->granule, sizeof c->granule));
    CHECK_RC(0, smmu_map(smmu, dyn_ok, page_iova, 0xA00000000ull, g, RW));
    CHECK_RC(0, smmu_attach_device(smmu, dyn_ok, c->sid));
    CHECK_RC(0, smmu_switch_domain(smmu, dyn_ok));
    translates(c, dyn_ok, page_iova + 0x88, 0xA00000088ull, "dynamic domain of the bank's granule");
    CHECK_RC(0, smmu_switch_domain(smmu, d));
    translates(c, d, page_iova + 0x88, page_pa + 0x88, "back on the base");

    CHECK_RC(0, smmu_detach_device(smmu, dyn_ok, c->sid));
    CHECK_RC(0, smmu_detach_device(smmu, d, c->sid));
    CHECK_RC(0, smmu_domain_free(smmu, dyn_ok));
    CHECK_RC(0, smmu_domain_free(smmu, dyn_bad));
    CHECK_RC(0, smmu_domain_free(smmu, d));
}

int main(void)
{
    static const struct granule_case cases[] = {
        { "16K", 16384, 14, 0, 32 * MIB, 1 },
        { "64K", 65536, 16, 1, 512 * MIB, 2 },
    };
    smmu_config cfg;
    unsigned i;
    smmu_config_init(&cfg);
    smmu = make_smmu(&cfg);
    if (!smmu)
        return check_summary("granules");
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        granule(&cases[i]);
    CHECK(stats_of(smmu).pt_pages_in_use == 0, "every table back in the pool");
    CHECK_RC(0, smmu_destroy(smmu));
    return check_summary("granules");
}
