/*
 * nest_parent_order.c - reproducer: smmu_domain_set_attr(NEST_PARENT) answers EBUSY where smmu.h
 * orders EBADF and EINVAL first.
 *
 * smmu.h conventions: "NULL pointers and struct sizes (EINVAL), handles (EBADF), malformed values
 * (EINVAL: ... a value out of its set), addresses out of range (ERANGE), then the model's state (EBUSY,
 * ...)". smmu_domain_set_attr: "EBADF (the domain, or a NEST_PARENT value); EINVAL (... an attribute
 * that does not fit the domain ...)"; SMMU_ATTR_NEST_PARENT: "EBADF for a value that names no domain,
 * EINVAL for one that is not stage 2". On an attached stage-1 domain the library answers EBUSY for both
 * (DomainAttributes.SetNestParent checks IsAttached before resolving the value):
 *   - NEST_PARENT = a value that names no domain: EBUSY, not EBADF;
 *   - NEST_PARENT = a live stage-1 domain: EBUSY, not EINVAL.
 *
 *   cc -std=c99 -I native-headers tests/fuzz/repro/nest_parent_order.c -L LIBDIR -lsmmu -Wl,-rpath,LIBDIR -o nest_parent_order
 *   ./nest_parent_order   exit status 0 when the library behaves, 1 while the bug is there
 */
#include <stdio.h>

#include "smmu.h"

int main(void)
{
    smmu_config cfg;
    smmu_t s;
    smmu_domain_t a, b;
    uint32_t none = 0xFFFFFFFFu, zero = 0;
    int32_t busy, badf, inval;
    int bad;

    smmu_config_init(&cfg);
    if (smmu_create(&cfg, &s) != SMMU_OK || smmu_domain_alloc(s, &a) != SMMU_OK || smmu_domain_alloc(s, &b) != SMMU_OK
        || smmu_attach_device(s, a, 0) != SMMU_OK) {
        printf("setup failed\n");
        return 2;
    }
    busy = smmu_domain_set_attr(s, a, SMMU_ATTR_NEST_PARENT, &zero, 4);    /* a valid value (none): EBUSY */
    badf = smmu_domain_set_attr(s, a, SMMU_ATTR_NEST_PARENT, &none, 4);    /* names no domain */
    inval = smmu_domain_set_attr(s, a, SMMU_ATTR_NEST_PARENT, &b, 4);      /* a stage-1 domain */
    printf("attached, NEST_PARENT 0: %d (expected %d EBUSY)\n", busy, SMMU_EBUSY);
    printf("attached, NEST_PARENT 0x%x (no domain): %d (expected %d EBADF)\n", none, badf, SMMU_EBADF);
    printf("attached, NEST_PARENT 0x%x (a stage-1 domain): %d (expected %d EINVAL)\n", b, inval, SMMU_EINVAL);
    bad = busy != SMMU_EBUSY || badf != SMMU_EBADF || inval != SMMU_EINVAL;
    smmu_detach_device(s, a, 0);
    smmu_domain_free(s, a);
    smmu_domain_free(s, b);
    smmu_destroy(s);
    printf(bad ? "BUG: NEST_PARENT answers EBUSY before EBADF/EINVAL\n" : "ok\n");
    return bad;
}
