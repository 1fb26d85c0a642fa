/*
 * view_handle_ffffffff.c - reproducer: the instance handle 0xffffffff is served by the inline path from
 * the view of a destroyed instance (slot 1023), whose stream and TLB arrays were freed.
 *
 * smmu.h: "a forged value (any other 32-bit number) is checked like any handle ... Nothing a handle
 * value can do reads or writes outside the model, or crashes", "0, a handle of the wrong kind, or an
 * instance handle whose instance was destroyed gives SMMU_EBADF", and for the inline path: "a destroyed
 * instance's view has handle 0xffffffff, which no smmu_t is, so every call goes to the library: EBADF".
 * But a caller can pass 0xffffffff: smmuinl_view() takes slot 0xffffffff & 1023 = 1023, whose view, once
 * an instance there was destroyed, has handle 0xffffffff (equal to the argument), and still its
 * num_stream_ids and its pointers to the freed stream records and TLB columns (Translator.Dispose only
 * resets the handle). So smmu_translate(0xffffffff, ...) reads freed memory, and may answer 0 with a PA
 * from the dead instance's TLB; smmu_translate_batch(0xffffffff, ...) writes *out_done, which EBADF must
 * leave alone. (Before 54d6b23 the empty handle was 0, and the inline path refused smmu == 0.)
 *
 *   cc -std=c99 -I native-headers tests/fuzz/repro/view_handle_ffffffff.c -L LIBDIR -lsmmu -Wl,-rpath,LIBDIR -o view_handle_ffffffff
 *   ./view_handle_ffffffff   exit status 0 when the library behaves, 1 while the bug is there
 *   (built with -fsanitize=address, AddressSanitizer reports the read of the freed memory)
 */
#include <inttypes.h>
#include <stdio.h>

#include "smmu.h"

int main(void)
{
    smmu_config cfg;
    smmu_t s = 0;
    smmu_domain_t d;
    uint64_t pa = 0xA5, iova = 0x1000, pas[1] = { 0xA5 };
    size_t done = 99;
    int32_t rc1, rcb;
    int i, bad;

    smmu_config_init(&cfg);
    cfg.pt_pool_bytes = 16 * 4096;
    /* instances take slots one after the other: go on until one sits in slot 1023 */
    for (i = 0; i < 4096; i++) {
        if (smmu_create(&cfg, &s) != SMMU_OK) {
            printf("setup failed\n");
            return 2;
        }
        if ((s & 1023u) == 1023u)
            break;
        smmu_destroy(s);
    }
    if ((s & 1023u) != 1023u || smmu_domain_alloc(s, &d) != SMMU_OK || smmu_attach_device(s, d, 0) != SMMU_OK
        || smmu_map(s, d, iova, 0x80000000ull, 0x1000, SMMU_PROT_READ) != SMMU_OK
        || smmu_translate(s, 0, iova, SMMU_ACCESS_READ, &pa) != SMMU_OK) {
        printf("setup failed (no instance in slot 1023)\n");
        return 2;
    }
    printf("instance 0x%x in slot 1023 translated 0x%" PRIx64 " -> 0x%" PRIx64 " (now in its TLB); destroyed\n", s, iova, pa);
    smmu_destroy(s);
    pa = 0xA5;
    rc1 = smmu_translate(0xffffffffu, 0, iova, SMMU_ACCESS_READ, &pa);
    rcb = smmu_translate_batch(0xffffffffu, 0, &iova, pas, 1, SMMU_ACCESS_READ, &done);
    printf("smmu_translate(0xffffffff, ...) = %d, pa 0x%" PRIx64 " (expected %d EBADF, pa untouched 0xa5)\n", rc1, pa,
           SMMU_EBADF);
    printf("smmu_translate_batch(0xffffffff, ...) = %d, *out_done %zu, out_pas[0] 0x%" PRIx64
           " (expected %d EBADF, 99, 0xa5)\n", rcb, done, pas[0], SMMU_EBADF);
    bad = rc1 != SMMU_EBADF || pa != 0xA5 || rcb != SMMU_EBADF || done != 99 || pas[0] != 0xA5;
    printf(bad ? "BUG: the handle 0xffffffff is served from a destroyed instance's view\n" : "ok\n");
    return bad;
}
