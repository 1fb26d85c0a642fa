/*
 * context_bank_order.c - reproducer: smmu_domain_set_attr(CONTEXT_BANK) answers EBUSY where smmu.h
 * orders EINVAL first.
 *
 * smmu.h conventions: "Arguments are checked in this order, and the first check that fails decides
 * the code: NULL pointers and struct sizes (EINVAL), handles (EBADF), malformed values (EINVAL: unknown
 * bits, misalignment, size 0, a value out of its set), addresses out of range (ERANGE), then the
 * model's state (EBUSY, ...)". smmu_domain_set_attr lists as EINVAL "CONTEXT_BANK on a domain that is
 * not dynamic or beyond the banks", and EBUSY for "any attribute on an attached domain". DYNAMIC follows
 * that order (a value other than 0/1 is EINVAL on an attached domain); CONTEXT_BANK does not: the
 * library checks "attached" first (DomainAttributes.Set: "before the value: an attached domain's bank
 * is settled"), so
 *   - CONTEXT_BANK on an attached base domain (not dynamic) is EBUSY, not EINVAL;
 *   - CONTEXT_BANK beyond the banks on an attached dynamic domain is EBUSY, not EINVAL.
 * (Formerly the reference's CHOICE "EBUSY before the value"; the header's conventions now decide.)
 *
 *   cc -std=c99 -I native-headers tests/fuzz/repro/context_bank_order.c -L LIBDIR -lsmmu -Wl,-rpath,LIBDIR -o context_bank_order
 *   ./context_bank_order   exit status 0 when the library behaves, 1 while the bug is there
 */
#include <stdio.h>

#include "smmu.h"

int main(void)
{
    smmu_config cfg;
    smmu_t s;
    smmu_domain_t base, dyn;
    uint32_t zero = 0, one = 1, beyond;
    int32_t dyn_busy, base_rc, dyn_rc;
    int bad;

    smmu_config_init(&cfg);
    beyond = cfg.num_context_banks;
    if (smmu_create(&cfg, &s) != SMMU_OK || smmu_domain_alloc(s, &base) != SMMU_OK || smmu_domain_alloc(s, &dyn) != SMMU_OK
        || smmu_attach_device(s, base, 0) != SMMU_OK
        || smmu_domain_set_attr(s, dyn, SMMU_ATTR_DYNAMIC, &one, 4) != SMMU_OK
        || smmu_domain_set_attr(s, dyn, SMMU_ATTR_CONTEXT_BANK, &zero, 4) != SMMU_OK
        || smmu_attach_device(s, dyn, 0) != SMMU_OK) {
        printf("setup failed\n");
        return 2;
    }
    dyn_busy = smmu_domain_set_attr(s, dyn, SMMU_ATTR_CONTEXT_BANK, &zero, 4);     /* a valid value: EBUSY */
    base_rc = smmu_domain_set_attr(s, base, SMMU_ATTR_CONTEXT_BANK, &zero, 4);     /* not dynamic */
    dyn_rc = smmu_domain_set_attr(s, dyn, SMMU_ATTR_CONTEXT_BANK, &beyond, 4);     /* beyond the banks */
    printf("attached dynamic, CONTEXT_BANK 0: %d (expected %d EBUSY)\n", dyn_busy, SMMU_EBUSY);
    printf("attached base (not dynamic), CONTEXT_BANK 0: %d (expected %d EINVAL)\n", base_rc, SMMU_EINVAL);
    printf("attached dynamic, CONTEXT_BANK %u (beyond the banks): %d (expected %d EINVAL)\n", beyond, dyn_rc, SMMU_EINVAL);
    bad = dyn_busy != SMMU_EBUSY || base_rc != SMMU_EINVAL || dyn_rc != SMMU_EINVAL;
    smmu_detach_device(s, dyn, 0);
    smmu_detach_device(s, base, 0);
    smmu_domain_free(s, dyn);
    smmu_domain_free(s, base);
    smmu_destroy(s);
    printf(bad ? "BUG: CONTEXT_BANK answers EBUSY before EINVAL\n" : "ok\n");
    return bad;
}
