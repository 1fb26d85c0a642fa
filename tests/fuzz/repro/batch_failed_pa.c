/*
 * batch_failed_pa.c - reproducer: smmu_translate_batch writes out_pas[*out_done] when it fails.
 *
 * smmu.h: "Out-parameters are written only on success (two exceptions, each documented:
 * smmu_translate_batch's out_done, smmu_map_pages's out_mapped)". A batch that stops at a fault has
 * translated out_pas[0 .. *out_done) and says so in *out_done; the entry it stopped at is not a
 * translation, and no text lets the call write it. The library writes 0 there (formerly the reference's
 * CHOICE 2 in docs/reliability.md, which asked the header to settle it; the header now lists only
 * out_done as the batch's exception). Both the export and the inline path (which calls the export for
 * what it cannot serve) do it.
 *
 *   cc -std=c99 -I native-headers tests/fuzz/repro/batch_failed_pa.c -L LIBDIR -lsmmu -Wl,-rpath,LIBDIR -o batch_failed_pa
 *   ./batch_failed_pa   exit status 0 when the library behaves, 1 while the bug is there
 */
#include <inttypes.h>
#include <stdio.h>

#include "smmu.h"

#define CANARY UINT64_C(0xA5A5A5A5A5A5A5A5)

int main(void)
{
    smmu_config cfg;
    smmu_t s;
    smmu_domain_t d;
    uint64_t iovas[2] = { 0x1000, 0x2000 }, pas[2] = { CANARY, CANARY };
    size_t done = 99;
    int32_t rc;
    int bad;

    smmu_config_init(&cfg);
    if (smmu_create(&cfg, &s) != SMMU_OK || smmu_domain_alloc(s, &d) != SMMU_OK || smmu_attach_device(s, d, 0) != SMMU_OK
        || smmu_map(s, d, 0x1000, 0x80000000ull, 0x1000, SMMU_PROT_READ) != SMMU_OK) {
        printf("setup failed\n");
        return 2;
    }
    /* 0x1000 translates, 0x2000 is not mapped: a translation fault at iovas[1] */
    rc = (smmu_translate_batch)(s, 0, iovas, pas, 2, SMMU_ACCESS_READ, &done);
    printf("export: translate_batch = %d (expected %d), done %zu (expected 1), out_pas = { 0x%" PRIx64 ", 0x%" PRIx64
           " } (expected { 0x80000000, 0x%" PRIx64 " = untouched })\n", rc, SMMU_EFAULT, done, pas[0], pas[1], CANARY);
    bad = rc != SMMU_EFAULT || done != 1 || pas[0] != 0x80000000ull || pas[1] != CANARY;
    pas[0] = pas[1] = CANARY;
    done = 99;
    rc = smmu_translate_batch(s, 0, iovas, pas, 2, SMMU_ACCESS_READ, &done);
    printf("inline: translate_batch = %d, done %zu, out_pas = { 0x%" PRIx64 ", 0x%" PRIx64 " }\n", rc, done, pas[0], pas[1]);
    bad |= rc != SMMU_EFAULT || done != 1 || pas[0] != 0x80000000ull || pas[1] != CANARY;
    smmu_detach_device(s, d, 0);
    smmu_domain_free(s, d);
    smmu_destroy(s);
    printf(bad ? "BUG: a failed batch writes out_pas[*out_done]\n" : "ok\n");
    return bad;
}
