/*
 * scenario.h - helpers shared by the scenario drivers (adreno_split.c, nested_vm.c, granules.c),
 * header only, C99, on top of check.h:
 *
 *   expect_fault(...)   translates expecting SMMU_EFAULT and checks the recorded fault field by
 *                       field and bit by bit (type, level, stage, S1PTW, IPA, FSR, FSYNR0 with
 *                       PLVL/WNR/PNU/IND/PTWF) against the bank's registers, then clears it.
 *   sw_walk(...)        a reference table walk in C over smmu_phys_read64 (any granule): the
 *                       descriptor and table address of every level, so a driver can read and
 *                       check the model's descriptors bit by bit.
 *   xorshift64(...)     the workload's random numbers; the C# scenarios (bench/Seed) use the same
 *                       generator, so both print the same miss counts.
 */
#ifndef SMMU_SCENARIO_H
#define SMMU_SCENARIO_H

#include <string.h>

#include "check.h"

/* VMSAv8-64 long-descriptor bits, as smmu.h lists them. */
#define DESC_TYPE_MASK 0x3ull       /* [1:0]: 0b11 table (levels 0-2) or page (level 3), 0b01 block */
#define DESC_TABLE 0x3ull
#define DESC_PAGE 0x3ull
#define DESC_BLOCK 0x1ull
#define DESC_ATTRINDX_SHIFT 2       /* [4:2] */
#define DESC_AP1 (1ull << 6)        /* EL0 access (stage 2: S2AP read) */
#define DESC_AP2 (1ull << 7)        /* read-only (stage 2: S2AP write) */
#define DESC_SH_SHIFT 8             /* [9:8] */
#define DESC_AF (1ull << 10)
#define DESC_NG (1ull << 11)
#define DESC_PXN (1ull << 53)
#define DESC_UXN (1ull << 54)
#define DESC_OA_TOP 48              /* output / next-table address bits [47:granule] */

/* Bits [47:shift] of a descriptor: its output or next-table address. */
static inline uint64_t desc_address(uint64_t desc, unsigned shift)
{
    return desc & (((1ull << DESC_OA_TOP) - 1) & ~((1ull << shift) - 1));
}

/* xorshift64 (Marsaglia): state must not be 0. */
static inline uint64_t xorshift64(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

/* ---- a reference walk ------------------------------------------------------------------------- */

struct sw_walk {
    int ok;                     /* 1: reached a leaf */
    int start_level, leaf_level;
    uint64_t table[4];          /* table PA read at each level (valid from start_level to leaf_level) */
    uint64_t desc_pa[4];        /* descriptor PA read at each level */
    uint64_t desc[4];           /* descriptor read at each level */
    unsigned leaf_shift;        /* log2 of the leaf's size */
};

/* Walks iova from root with a granule of 2^page_shift bytes and an input size of ias bits
 * (start level and root size as io-pgtable-arm derives them; no concatenated roots), reading every
 * descriptor with smmu_phys_read64. For a TTBR1 address pass the IOVA as it is: only its low ias
 * bits index the tables. */
static inline struct sw_walk sw_walk(smmu_t smmu, uint64_t root, uint64_t iova, unsigned page_shift, unsigned ias)
{
    struct sw_walk w;
    unsigned level_bits = page_shift - 3, va_bits = ias - page_shift;
    unsigned levels = (va_bits + level_bits - 1) / level_bits;
    unsigned root_bits = va_bits - level_bits * (levels - 1);
    uint64_t table = root, index_mask = (1ull << root_bits) - 1;
    int level;
    memset(&w, 0, sizeof w);
    w.start_level = 4 - (int)levels;
    for (level = w.start_level; level <= 3; level++) {
        unsigned shift = page_shift + level_bits * (unsigned)(3 - level);
        uint64_t desc = 0;
        w.table[level] = table;
        w.desc_pa[level] = table + ((iova >> shift) & index_mask) * 8;
        index_mask = (1ull << level_bits) - 1;
        if (smmu_phys_read64(smmu, w.desc_pa[level], &desc) != SMMU_OK)
            return w;
        w.desc[level] = desc;
        w.leaf_level = level;
        if (level < 3 && (desc & DESC_TYPE_MASK) == DESC_TABLE) {
            table = desc_address(desc, page_shift);
            continue;
        }
        if ((level == 3 && (desc & DESC_TYPE_MASK) == DESC_PAGE) || (level < 3 && (desc & DESC_TYPE_MASK) == DESC_BLOCK)) {
            w.ok = 1;
            w.leaf_shift = shift;
        }
        return w;
    }
    return w;
}

/* ---- faults ------------------------------------------------------------------------------------ */

/* What a fault record must say. */
struct expected_fault {
    uint32_t stream_id, context_bank;
    uint64_t iova;
    uint32_t access;                /* SMMU_ACCESS_* of the transaction */
    uint32_t type, level, stage, s1ptw;
    uint64_t ipa;                   /* 0 for a stage-1 fault */
    uint32_t asid;                  /* the ASID the bank held */
    smmu_domain_t active_domain;
};

static inline uint32_t fsr_for(uint32_t type)
{
    switch (type) {
    case SMMU_FAULT_TRANSLATION: return SMMU_FSR_TF;
    case SMMU_FAULT_PERMISSION: return SMMU_FSR_PF;
    case SMMU_FAULT_ACCESS_FLAG: return SMMU_FSR_AFF;
    case SMMU_FAULT_ADDR_SIZE: return SMMU_FSR_ASF;
    case SMMU_FAULT_EXTERNAL: return SMMU_FSR_EF;
    default: return 0;
    }
}

/* FSYNR0: [10] PTWF | [6] IND | [5] PNU | [4] WNR | [1:0] PLVL. */
static inline uint32_t fsynr0_for(uint32_t level, uint32_t access, uint32_t s1ptw)
{
    return (level & SMMU_FSYNR0_PLVL_MASK) | (s1ptw ? SMMU_FSYNR0_PTWF : 0)
           | ((access & SMMU_ACCESS_WRITE) ? SMMU_FSYNR0_WNR : 0) | ((access & SMMU_ACCESS_PRIV) ? SMMU_FSYNR0_PNU : 0)
           | ((access & SMMU_ACCESS_EXEC) ? SMMU_FSYNR0_IND : 0);
}

/* Translates e->iova (no fault handler installed), expecting EFAULT, then checks the record and the
 * bank's registers against e, field by field and FSR/FSYNR0 bit by bit, and clears the fault. */
static inline void expect_fault(smmu_t smmu, const struct expected_fault *e, const char *what)
{
    smmu_fault f;
    smmu_cb_state cb;
    uint64_t pa = 0xA5A5A5A5A5A5A5A5ull;
    uint32_t fsr = fsr_for(e->type), fsynr0 = fsynr0_for(e->level, e->access, e->s1ptw);
    int32_t rc = smmu_translate(smmu, e->stream_id, e->iova, e->access, &pa);

    CHECK(rc == SMMU_EFAULT, "%s: translate(0x%llx, access 0x%x) -> %d (%s), expected EFAULT", what,
          (unsigned long long)e->iova, e->access, rc, smmu_strerror(rc));
    CHECK(pa == 0xA5A5A5A5A5A5A5A5ull, "%s: a faulting translate leaves *out_pa untouched", what);
    memset(&f, 0, sizeof f);
    f.size = sizeof f;
    if (!CHECK_RC(0, smmu_get_fault(smmu, e->context_bank, &f)))
        return;
    CHECK(f.type == e->type, "%s: fault type %u, expected %u", what, f.type, e->type);
    CHECK(f.level == e->level, "%s: fault level %u, expected %u", what, f.level, e->level);
    CHECK(f.stage == e->stage, "%s: fault stage %u, expected %u", what, f.stage, e->stage);
    CHECK(f.s1ptw == e->s1ptw, "%s: fault s1ptw %u, expected %u", what, f.s1ptw, e->s1ptw);
    CHECK(f.ipa == e->ipa, "%s: fault ipa 0x%llx, expected 0x%llx", what, (unsigned long long)f.ipa,
          (unsigned long long)e->ipa);
    CHECK(f.iova == e->iova, "%s: fault iova 0x%llx, expected 0x%llx", what, (unsigned long long)f.iova,
          (unsigned long long)e->iova);
    CHECK(f.access == e->access, "%s: fault access 0x%x, expected 0x%x", what, f.access, e->access);
    CHECK(f.stream_id == e->stream_id && f.context_bank == e->context_bank,
          "%s: fault stream %u bank %u, expected %u %u", what, f.stream_id, f.context_bank, e->stream_id,
          e->context_bank);
    CHECK(f.asid == e->asid, "%s: fault asid %u, expected %u", what, f.asid, e->asid);
    CHECK(f.active_domain == e->active_domain, "%s: fault active_domain 0x%08x, expected 0x%08x", what,
          f.active_domain, e->active_domain);
    /* FSR: exactly the type's bit (TF/PF/AFF/ASF/EF), no MULTI. */
    CHECK(f.fsr == fsr, "%s: FSR 0x%x, expected 0x%x", what, f.fsr, fsr);
    CHECK(!(f.fsr & SMMU_FSR_MULTI), "%s: FSR.MULTI clear for a first fault", what);
    /* FSYNR0 bit by bit. */
    CHECK((f.fsynr & SMMU_FSYNR0_PLVL_MASK) == (e->level & SMMU_FSYNR0_PLVL_MASK), "%s: FSYNR0.PLVL %u, expected %u",
          what, f.fsynr & SMMU_FSYNR0_PLVL_MASK, e->level & SMMU_FSYNR0_PLVL_MASK);
    CHECK(!!(f.fsynr & SMMU_FSYNR0_PTWF) == !!e->s1ptw, "%s: FSYNR0.PTWF %d, expected %d", what,
          !!(f.fsynr & SMMU_FSYNR0_PTWF), !!e->s1ptw);
    CHECK(!!(f.fsynr & SMMU_FSYNR0_WNR) == !!(e->access & SMMU_ACCESS_WRITE), "%s: FSYNR0.WNR %d for access 0x%x",
          what, !!(f.fsynr & SMMU_FSYNR0_WNR), e->access);
    CHECK(!!(f.fsynr & SMMU_FSYNR0_PNU) == !!(e->access & SMMU_ACCESS_PRIV), "%s: FSYNR0.PNU %d for access 0x%x",
          what, !!(f.fsynr & SMMU_FSYNR0_PNU), e->access);
    CHECK(!!(f.fsynr & SMMU_FSYNR0_IND) == !!(e->access & SMMU_ACCESS_EXEC), "%s: FSYNR0.IND %d for access 0x%x",
          what, !!(f.fsynr & SMMU_FSYNR0_IND), e->access);
    CHECK(f.fsynr == fsynr0, "%s: FSYNR0 0x%x, expected 0x%x (no other bit)", what, f.fsynr, fsynr0);
    /* The bank's registers hold the same fault. */
    cb = cb_of(smmu, e->context_bank);
    CHECK(cb.fsr == fsr && cb.fsynr0 == fsynr0 && cb.far == e->iova && cb.ipafar == e->ipa,
          "%s: CB fsr 0x%x fsynr0 0x%x far 0x%llx ipafar 0x%llx, expected 0x%x 0x%x 0x%llx 0x%llx", what, cb.fsr,
          cb.fsynr0, (unsigned long long)cb.far, (unsigned long long)cb.ipafar, fsr, fsynr0,
          (unsigned long long)e->iova, (unsigned long long)e->ipa);
    CHECK_RC(0, smmu_clear_fault(smmu, e->context_bank));
    f.size = sizeof f;
    CHECK_RC(SMMU_ENOENT, smmu_get_fault(smmu, e->context_bank, &f));
}

#endif /* SMMU_SCENARIO_H */
