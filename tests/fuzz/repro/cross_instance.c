/*
 * cross_instance.c - reproducer: one instance accepts another instance's domain handle (known bug).
 *
 * smmu.h: "Domain handles carry a per-instance salt, so one instance's domain handles are rejected by
 * another". The salt has 10 bits, so after at most ~1000 instances two live instances hand out the
 * very same handle value for their first domain, and each accepts the other's handle.
 *
 *   cc -std=c99 -I native-headers tests/fuzz/repro/cross_instance.c -L LIBDIR -lsmmu -Wl,-rpath,LIBDIR -o cross_instance
 *   ./cross_instance    exit status 0 when the library behaves, 1 while the bug is there
 */
#include <stdio.h>

#include "smmu.h"

int main(void)
{
    smmu_config cfg;
    smmu_t a, b;
    smmu_domain_t da, db;
    int i;

    smmu_config_init(&cfg);
    cfg.pt_pool_bytes = 4 * 4096;
    if (smmu_create(&cfg, &a) != SMMU_OK || smmu_domain_alloc(a, &da) != SMMU_OK)
        return 2;
    for (i = 0; i < 4096; i++) {
        if (smmu_create(&cfg, &b) != SMMU_OK || smmu_domain_alloc(b, &db) != SMMU_OK)
            return 2;
        if (db == da) {
            /* b's domain, given to a: must be EBADF */
            int32_t rc = smmu_map(a, db, 0x1000, 0x1000, 0x1000, SMMU_PROT_READ);
            printf("instance 0x%x domain 0x%x and instance 0x%x domain 0x%x (after %d instances): the same handle; "
                   "smmu_map(a, b's domain) = %d (%s), expected %d (EBADF)\n", a, da, b, db, i + 2, rc,
                   smmu_strerror(rc), SMMU_EBADF);
            printf("BUG: another instance's domain handle is accepted\n");
            return 1;
        }
        smmu_destroy(b);
    }
    printf("ok: no two live instances handed out the same domain handle in 4096 tries\n");
    smmu_destroy(a);
    return 0;
}
