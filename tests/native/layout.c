/*
 * layout.c - the C structs of smmu.h against the managed layout (Smmu.Core: SmmuConfig, SmmuFault,
 * SmmuStats, ContextBankState, SmmuGather, SmmuStaleReport, all LayoutKind.Sequential): sizeof and offsetof of every field,
 * checked at compile time. At run time: smmu_config_init's defaults, the ABI version, the SIMD width.
 */
#include <stddef.h>
#include <string.h>

#include "check.h"

#define SA(cond) _Static_assert(cond, #cond)

/* smmu_config: 64 bytes (56 in ABI 1.0) */
SA(sizeof(smmu_config) == 64);
SA(offsetof(smmu_config, size) == 0);
SA(offsetof(smmu_config, num_context_banks) == 4);
SA(offsetof(smmu_config, num_stream_ids) == 8);
SA(offsetof(smmu_config, asid_bits) == 12);
SA(offsetof(smmu_config, ias) == 16);
SA(offsetof(smmu_config, oas) == 20);
SA(offsetof(smmu_config, tlb_entries) == 24);
SA(offsetof(smmu_config, tlb_ways) == 28);
SA(offsetof(smmu_config, flags) == 32);
SA(offsetof(smmu_config, pt_pool_base) == 40);
SA(offsetof(smmu_config, pt_pool_bytes) == 48);
SA(offsetof(smmu_config, vmid_bits) == 56);
SA(offsetof(smmu_config, flush_queue_size) == 60);

/* smmu_fault: 64 bytes (48 in ABI 1.0) */
SA(sizeof(smmu_fault) == 64);
SA(offsetof(smmu_fault, size) == 0);
SA(offsetof(smmu_fault, type) == 4);
SA(offsetof(smmu_fault, level) == 8);
SA(offsetof(smmu_fault, stream_id) == 12);
SA(offsetof(smmu_fault, context_bank) == 16);
SA(offsetof(smmu_fault, asid) == 20);
SA(offsetof(smmu_fault, access) == 24);
SA(offsetof(smmu_fault, active_domain) == 28);
SA(offsetof(smmu_fault, iova) == 32);
SA(offsetof(smmu_fault, fsr) == 40);
SA(offsetof(smmu_fault, fsynr) == 44);
SA(offsetof(smmu_fault, stage) == 48);
SA(offsetof(smmu_fault, s1ptw) == 52);
SA(offsetof(smmu_fault, ipa) == 56);

/* smmu_stats: 136 bytes (88 in ABI 1.0) */
SA(sizeof(smmu_stats) == 136);
SA(offsetof(smmu_stats, size) == 0);
SA(offsetof(smmu_stats, reserved) == 4);
SA(offsetof(smmu_stats, translations) == 8);
SA(offsetof(smmu_stats, tlb_hits) == 16);
SA(offsetof(smmu_stats, tlb_misses) == 24);
SA(offsetof(smmu_stats, walks) == 32);
SA(offsetof(smmu_stats, faults) == 40);
SA(offsetof(smmu_stats, tlb_invalidations) == 48);
SA(offsetof(smmu_stats, tlb_entries_invalidated) == 56);
SA(offsetof(smmu_stats, switches) == 64);
SA(offsetof(smmu_stats, pt_pages_in_use) == 72);
SA(offsetof(smmu_stats, pt_pages_free) == 80);
SA(offsetof(smmu_stats, stage2_walks) == 88);
SA(offsetof(smmu_stats, descriptor_reads) == 96);
SA(offsetof(smmu_stats, vmid_invalidations) == 104);
SA(offsetof(smmu_stats, stale_translations) == 112);
SA(offsetof(smmu_stats, missed_syncs) == 120);
SA(offsetof(smmu_stats, needless_invalidations) == 128);

/* smmu_cb_state: 96 bytes (56 in ABI 1.0) */
SA(sizeof(smmu_cb_state) == 96);
SA(offsetof(smmu_cb_state, size) == 0);
SA(offsetof(smmu_cb_state, in_use) == 4);
SA(offsetof(smmu_cb_state, base_domain) == 8);
SA(offsetof(smmu_cb_state, active_domain) == 12);
SA(offsetof(smmu_cb_state, asid) == 16);
SA(offsetof(smmu_cb_state, contextidr) == 20);
SA(offsetof(smmu_cb_state, stream_count) == 24);
SA(offsetof(smmu_cb_state, dynamic_count) == 28);
SA(offsetof(smmu_cb_state, ttbr0) == 32);
SA(offsetof(smmu_cb_state, fsr) == 40);
SA(offsetof(smmu_cb_state, fsynr0) == 44);
SA(offsetof(smmu_cb_state, far) == 48);
SA(offsetof(smmu_cb_state, ttbr1) == 56);
SA(offsetof(smmu_cb_state, vttbr) == 64);
SA(offsetof(smmu_cb_state, ipafar) == 72);
SA(offsetof(smmu_cb_state, vmid) == 80);
SA(offsetof(smmu_cb_state, flags) == 84);
SA(offsetof(smmu_cb_state, granule) == 88);
SA(offsetof(smmu_cb_state, reserved) == 92);

/* smmu_gather: 40 bytes */
SA(sizeof(smmu_gather) == 40);
SA(offsetof(smmu_gather, size) == 0);
SA(offsetof(smmu_gather, domain) == 4);
SA(offsetof(smmu_gather, start) == 8);
SA(offsetof(smmu_gather, end) == 16);
SA(offsetof(smmu_gather, pgsize) == 24);
SA(offsetof(smmu_gather, ticket) == 32);

/* smmu_stale_report: 80 bytes */
SA(sizeof(smmu_stale_report) == 80);
SA(offsetof(smmu_stale_report, size) == 0);
SA(offsetof(smmu_stale_report, kind) == 4);
SA(offsetof(smmu_stale_report, stream_id) == 8);
SA(offsetof(smmu_stale_report, context_bank) == 12);
SA(offsetof(smmu_stale_report, asid) == 16);
SA(offsetof(smmu_stale_report, vmid) == 20);
SA(offsetof(smmu_stale_report, domain) == 24);
SA(offsetof(smmu_stale_report, access) == 28);
SA(offsetof(smmu_stale_report, iova) == 32);
SA(offsetof(smmu_stale_report, iova_last) == 40);
SA(offsetof(smmu_stale_report, stale_pa) == 48);
SA(offsetof(smmu_stale_report, current_pa) == 56);
SA(offsetof(smmu_stale_report, stale_granted) == 64);
SA(offsetof(smmu_stale_report, current_fault) == 68);
SA(offsetof(smmu_stale_report, table_pages) == 72);
SA(offsetof(smmu_stale_report, reserved) == 76);
SA(SMMU_STALE_TRANSLATION == 1 && SMMU_MISSED_SYNC == 2 && SMMU_NEEDLESS_INVALIDATION == 3 && SMMU_NO_CONTEXT_BANK == 0xffffffffu);

/* smmu_fast_view: 128 bytes; smmu_fast_stream: 24 (the inline fast path's view, Smmu.Core's FastPathView/FastPathStream) */
SA(sizeof(smmu_fast_view) == 128);
SA(offsetof(smmu_fast_view, handle) == 0);
SA(offsetof(smmu_fast_view, num_stream_ids) == 4);
SA(offsetof(smmu_fast_view, size_classes) == 8);
SA(offsetof(smmu_fast_view, no_asid_classes) == 12);
SA(offsetof(smmu_fast_view, set_mask) == 16);
SA(offsetof(smmu_fast_view, ways_log2) == 24);
SA(offsetof(smmu_fast_view, group_mask) == 28);
SA(offsetof(smmu_fast_view, streams) == 32);
SA(offsetof(smmu_fast_view, tags) == 40);
SA(offsetof(smmu_fast_view, asids) == 48);
SA(offsetof(smmu_fast_view, outputs) == 56);
SA(offsetof(smmu_fast_view, info) == 64);
SA(offsetof(smmu_fast_view, hits) == 72);
SA(offsetof(smmu_fast_view, one_probe_class) == 80);
SA(sizeof(smmu_fast_stream) == 24);
SA(offsetof(smmu_fast_stream, bank) == 0);
SA(offsetof(smmu_fast_stream, asid) == 4);
SA(offsetof(smmu_fast_stream, salt) == 8);
SA(offsetof(smmu_fast_stream, tag_base) == 16);
SA(SMMU_FAST_VIEW_VERSION == 1 && SMMU_FAST_VIEW_SLOTS == 1024);

/* handles and the fault-handler type */
SA(sizeof(smmu_t) == 4 && sizeof(smmu_domain_t) == 4);
SA(SMMU_ABI_VERSION == 0x10001);
SA(SMMU_FSR_TF == 0x2 && SMMU_FSR_AFF == 0x4 && SMMU_FSR_PF == 0x8 && SMMU_FSR_EF == 0x10 && SMMU_FSR_ASF == 0x80
   && SMMU_FSR_MULTI == 0x80000000u);
SA(SMMU_FSYNR0_WNR == 0x10 && SMMU_FSYNR0_PNU == 0x20 && SMMU_FSYNR0_IND == 0x40 && SMMU_FSYNR0_PLVL_MASK == 3
   && SMMU_FSYNR0_PTWF == 0x400);
SA(SMMU_ATTR_GRANULE == 6 && SMMU_ATTR_SPLIT_TTBR1 == 7 && SMMU_ATTR_TTBR1 == 8 && SMMU_ATTR_STAGE == 9
   && SMMU_ATTR_NEST_PARENT == 10 && SMMU_ATTR_VMID == 11 && SMMU_ATTR_VTTBR == 12);
SA(SMMU_PROT_GLOBAL == 0x40u && SMMU_CFG_SANITIZE_TLB == 0x4u && SMMU_CFG_LAZY_FLUSH == 0x8u);

static int32_t handler_type_check(smmu_t s, smmu_domain_t d, const smmu_fault *f, void *cookie)
{
    (void)s;
    (void)d;
    (void)f;
    (void)cookie;
    return SMMU_FAULT_TERMINATE;
}

int main(void)
{
    smmu_config cfg;
    smmu_fault_handler fn = handler_type_check;
    int32_t w;

    memset(&cfg, 0xA5, sizeof cfg);
    smmu_config_init(&cfg);
    CHECK(cfg.size == sizeof(smmu_config), "layout: config_init size %u", cfg.size);
    CHECK(cfg.num_context_banks == 8, "layout: default num_context_banks %u", cfg.num_context_banks);
    CHECK(cfg.num_stream_ids == 128, "layout: default num_stream_ids %u", cfg.num_stream_ids);
    CHECK(cfg.asid_bits == 16, "layout: default asid_bits %u", cfg.asid_bits);
    CHECK(cfg.ias == 48 && cfg.oas == 48, "layout: default ias/oas %u/%u", cfg.ias, cfg.oas);
    CHECK(cfg.tlb_entries == 1024 && cfg.tlb_ways == 8, "layout: default TLB %u x %u", cfg.tlb_entries, cfg.tlb_ways);
    CHECK(cfg.flags == 0, "layout: default flags 0x%x", cfg.flags);
    CHECK(cfg.pt_pool_base == 0x40000000ull, "layout: default pool base 0x%llx", (unsigned long long)cfg.pt_pool_base);
    CHECK(cfg.pt_pool_bytes == 64ull << 20, "layout: default pool bytes 0x%llx", (unsigned long long)cfg.pt_pool_bytes);
    CHECK(cfg.vmid_bits == 16, "layout: default vmid_bits %u", cfg.vmid_bits);
    CHECK(cfg.flush_queue_size == 256, "layout: default flush_queue_size %u", cfg.flush_queue_size);
    {
        /* the 4 padding bytes after flags are not part of the contract; the fields around them are */
        smmu_t s = 0;
        if (CHECK_RC(0, smmu_create(&cfg, &s)))
            CHECK_RC(0, smmu_destroy(s));
    }
    CHECK(smmu_abi_version() == SMMU_ABI_VERSION, "layout: smmu_abi_version() 0x%x, header 0x%x", smmu_abi_version(),
          SMMU_ABI_VERSION);
    CHECK((smmu_abi_version() >> 16) == SMMU_ABI_VERSION_MAJOR && (smmu_abi_version() & 0xffff) >= SMMU_ABI_VERSION_MINOR,
          "layout: the library's ABI is compatible with the header");
    w = smmu_simd_width();
    CHECK(w == 0 || w == 128 || w == 256 || w == 512, "layout: smmu_simd_width() = %d", w);
    printf("layout: ABI 0x%x, SIMD width %d\n", smmu_abi_version(), w);
    (void)fn;   /* compiles: a C function with this signature is an smmu_fault_handler */
    return check_summary("layout");
}
