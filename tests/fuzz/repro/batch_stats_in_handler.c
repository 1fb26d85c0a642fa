/*
 * batch_stats_in_handler.c - reproducer: a batch counts the lookup of an IOVA that faults at once, but
 * its translation (and the rest of the batch) when it returns: a fault handler sees part of the batch,
 * and a handler that resets the counters leaves tlb_hits + tlb_misses short of translations for good.
 *
 * smmu.h (smmu_stats): "tlb_hits + tlb_misses = translations + retries after fault handlers" (stated as
 * always holding, like "pt_pages_in_use + pt_pages_free = the pool's pages"). Found when the export
 * (KernelTranslator.TranslateBatch) added a batch's translations and its TLB run's hits and misses when it
 * returned, but counted the lookup of the IOVA that faults (and of its retry) at once, before the handler
 * ran: a handler saw part of the batch, and a reset in it left tlb_hits + tlb_misses short of
 * translations for good. Fixed by counting each run of the batch, and the translation that faults, before
 * the slow path runs a handler. For a batch { a TLB hit, an unmapped IOVA }:
 *   1. its handler reads translations 2, tlb_hits + tlb_misses 2, through the export and the inline path;
 *   2. a handler that calls smmu_reset_stats leaves the counts equal (0 and 0) after the batch;
 *   3. the inline path counts as the export does.
 *
 *   cc -std=c99 -I native-headers tests/fuzz/repro/batch_stats_in_handler.c -L LIBDIR -lsmmu -Wl,-rpath,LIBDIR -o batch_stats_in_handler
 *   ./batch_stats_in_handler   exit status 0 when the library behaves, 1 while the bug is there
 */
#include <inttypes.h>
#include <stdio.h>

#include "smmu.h"

static int reset_in_handler;
static smmu_stats seen;   /* what the handler read */

static int32_t handler(smmu_t smmu, smmu_domain_t base, const smmu_fault *f, void *cookie)
{
    (void)base;
    (void)f;
    (void)cookie;
    seen.size = sizeof seen;
    smmu_get_stats(smmu, &seen);
    if (reset_in_handler)
        smmu_reset_stats(smmu);
    return SMMU_FAULT_TERMINATE;
}

/* A batch of { a mapped page that hits in the TLB, an unmapped one } after stats were reset; returns the
 * stats after it. via_inline: through smmu.h's macro, else the export. */
static void run(int via_inline, int reset, smmu_stats *after)
{
    smmu_config cfg;
    smmu_t s;
    smmu_domain_t d;
    uint64_t iovas[2] = { 0x1000, 0x2000 }, pas[2], pa;
    size_t done;

    smmu_config_init(&cfg);
    smmu_create(&cfg, &s);
    smmu_domain_alloc(s, &d);
    smmu_attach_device(s, d, 0);
    smmu_map(s, d, 0x1000, 0x80000000ull, 0x1000, SMMU_PROT_READ);
    smmu_set_fault_handler(s, d, handler, NULL);
    (smmu_translate)(s, 0, 0x1000, SMMU_ACCESS_READ, &pa);   /* fills the TLB */
    smmu_reset_stats(s);
    reset_in_handler = reset;
    if (via_inline)
        smmu_translate_batch(s, 0, iovas, pas, 2, SMMU_ACCESS_READ, &done);
    else
        (smmu_translate_batch)(s, 0, iovas, pas, 2, SMMU_ACCESS_READ, &done);
    after->size = sizeof *after;
    smmu_get_stats(s, after);
    smmu_detach_device(s, d, 0);
    smmu_domain_free(s, d);
    smmu_destroy(s);
}

int main(void)
{
    smmu_stats a, b, c, seen_export;
    int bad = 0;

    run(0, 0, &a);
    seen_export = seen;
    printf("1. export, the handler reads: translations %" PRIu64 ", hits + misses %" PRIu64
           " (smmu.h: every translation so far, the faulting one included: 2 and 2)\n", seen.translations,
           seen.tlb_hits + seen.tlb_misses);
    bad |= seen.translations != 2 || seen.tlb_hits + seen.tlb_misses != 2;
    run(1, 0, &a);
    printf("   inline, the handler reads: translations %" PRIu64 ", hits + misses %" PRIu64 " (as the export)\n",
           seen.translations, seen.tlb_hits + seen.tlb_misses);
    bad |= seen.translations != seen_export.translations || seen.tlb_hits != seen_export.tlb_hits
           || seen.tlb_misses != seen_export.tlb_misses;
    run(0, 1, &b);
    printf("2. export, the handler resets: after the batch translations %" PRIu64 ", hits + misses %" PRIu64
           " (smmu.h: equal, 0 and 0: all of the batch was counted before the reset)\n", b.translations,
           b.tlb_hits + b.tlb_misses);
    bad |= b.translations != b.tlb_hits + b.tlb_misses;
    run(1, 1, &c);
    printf("3. inline, the handler resets: after the batch translations %" PRIu64 ", hits + misses %" PRIu64
           " (smmu.h: as the export)\n", c.translations, c.tlb_hits + c.tlb_misses);
    bad |= c.translations != b.translations || c.tlb_hits + c.tlb_misses != b.tlb_hits + b.tlb_misses;
    printf(bad ? "BUG: a batch's fault handler sees (or resets) part of the batch's counts\n" : "ok\n");
    return bad;
}
