/*
 * batch_enodev_count.c - reproducer: a batch whose fault handler detached the stream and asked for a
 * retry (ENODEV) does not count the translation that faulted.
 *
 * smmu.h (smmu_stats): "translations: requested through a stream, faulted ones included. tlb_hits +
 * tlb_misses = translations + retries after fault handlers." The faulting IOVA was requested through
 * the stream and faulted (faults counts it); smmu_translate counts it as a translation, and so did the
 * batch before ABI 1.1. Since 9149606 the batch leaves it out (KernelTranslator.TranslateBatch:
 * "processed = rc == Ok || rc == NoDevice ? i : i + 1"; meant for a stream that a sanitizer handler
 * detached after a success, it also drops the faulted one): translations and tlb_hits + tlb_misses are
 * one short, and the same call sequence counts differently through smmu_translate and
 * smmu_translate_batch.
 *
 *   cc -std=c99 -I native-headers tests/fuzz/repro/batch_enodev_count.c -L LIBDIR -lsmmu -Wl,-rpath,LIBDIR -o batch_enodev_count
 *   ./batch_enodev_count   exit status 0 when the library behaves, 1 while the bug is there
 */
#include <inttypes.h>
#include <stdio.h>

#include "smmu.h"

/* Detaches the stream, then asks for a retry: the retry finds no bank (ENODEV). */
static int32_t detach_and_retry(smmu_t smmu, smmu_domain_t base, const smmu_fault *f, void *cookie)
{
    (void)cookie;
    smmu_detach_device(smmu, base, f->stream_id);
    return SMMU_FAULT_RETRY;
}

/* One translation of an unmapped IOVA through stream 0 (batch or single): its code and the counters. */
static int32_t run(int batch, smmu_stats *st)
{
    smmu_config cfg;
    smmu_t s;
    smmu_domain_t d;
    uint64_t iova = 0x1000, pa = 0;
    size_t done = 99;
    int32_t rc;

    smmu_config_init(&cfg);
    if (smmu_create(&cfg, &s) != SMMU_OK || smmu_domain_alloc(s, &d) != SMMU_OK || smmu_attach_device(s, d, 0) != SMMU_OK
        || smmu_set_fault_handler(s, d, detach_and_retry, NULL) != SMMU_OK)
        return 2;
    rc = batch ? (smmu_translate_batch)(s, 0, &iova, &pa, 1, SMMU_ACCESS_READ, &done)
               : (smmu_translate)(s, 0, iova, SMMU_ACCESS_READ, &pa);
    st->size = sizeof *st;
    smmu_get_stats(s, st);
    smmu_domain_free(s, d);
    smmu_destroy(s);
    return rc;
}

int main(void)
{
    smmu_stats one, many;
    int32_t rc1 = run(0, &one), rcb = run(1, &many);
    int bad;
    printf("smmu_translate:       %d (expected %d ENODEV), translations %" PRIu64 " faults %" PRIu64 " hits+misses %" PRIu64
           "\n", rc1, SMMU_ENODEV, one.translations, one.faults, one.tlb_hits + one.tlb_misses);
    printf("smmu_translate_batch: %d (expected %d ENODEV), translations %" PRIu64 " faults %" PRIu64 " hits+misses %" PRIu64
           " (expected 1 1 1, as smmu_translate)\n", rcb, SMMU_ENODEV, many.translations, many.faults,
           many.tlb_hits + many.tlb_misses);
    bad = rc1 != SMMU_ENODEV || rcb != SMMU_ENODEV || one.translations != 1 || many.translations != 1 || many.faults != 1
          || many.tlb_hits + many.tlb_misses != 1;
    printf(bad ? "BUG: a batch ending in ENODEV after a retry does not count the translation that faulted\n" : "ok\n");
    return bad;
}
