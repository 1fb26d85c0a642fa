/*
 * reshape_after_unmap.c - reproducer of an ambiguity: GRANULE / SPLIT_TTBR1 / STAGE set on a domain that
 * was mapped or attached, and is now empty and detached, succeed and move its root table.
 *
 * smmu.h (attributes): "GRANULE, SPLIT_TTBR1 and STAGE shape the tables, so they are also refused with
 * EBUSY once the domain has a mapping, and setting one gives the domain a new, empty root table (its
 * address is fixed from the first map or attach on)". The library refuses them only while the domain is
 * attached or its root holds a valid descriptor (DomainAttributes.Reshape), so after attach + detach, or
 * map + unmap of everything, setting GRANULE to 4096 (the value it already has) succeeds and the root
 * moves: the address was not fixed from the first map or attach on. Either the parenthesis or the
 * library should change; the fuzz reference follows the library here (CHOICE in ref.c's reshape).
 *
 *   cc -std=c99 -I native-headers tests/fuzz/repro/reshape_after_unmap.c -L LIBDIR -lsmmu -Wl,-rpath,LIBDIR -o reshape_after_unmap
 *   ./reshape_after_unmap   exit status 0 when the root stays where it was, 1 when it moves
 */
#include <stdio.h>

#include "smmu.h"

#define ADDR48 0xFFFFFFFFFFFFull

/* The root's address, read through TTBR0 while attached (then detached again). */
static uint64_t root_of(smmu_t s, smmu_domain_t d)
{
    uint64_t ttbr0 = 0;
    smmu_attach_device(s, d, 0);
    smmu_domain_get_attr(s, d, SMMU_ATTR_TTBR0, &ttbr0, 8);
    smmu_detach_device(s, d, 0);
    return ttbr0 & ADDR48;
}

int main(void)
{
    smmu_config cfg;
    smmu_t s;
    smmu_domain_t d;
    uint64_t first, second, third;
    uint32_t granule = 4096;
    int32_t rc_attached, rc_mapped, rc_after_attach, rc_after_unmap;
    int bad;

    smmu_config_init(&cfg);
    if (smmu_create(&cfg, &s) != SMMU_OK || smmu_domain_alloc(s, &d) != SMMU_OK || smmu_attach_device(s, d, 0) != SMMU_OK) {
        printf("setup failed\n");
        return 2;
    }
    rc_attached = smmu_domain_set_attr(s, d, SMMU_ATTR_GRANULE, &granule, 4);      /* EBUSY: attached */
    smmu_detach_device(s, d, 0);
    first = root_of(s, d);
    rc_after_attach = smmu_domain_set_attr(s, d, SMMU_ATTR_GRANULE, &granule, 4);  /* after the first attach */
    second = root_of(s, d);
    smmu_map(s, d, 0x1000, 0x80000000ull, 0x1000, SMMU_PROT_READ);
    rc_mapped = smmu_domain_set_attr(s, d, SMMU_ATTR_GRANULE, &granule, 4);        /* EBUSY: has a mapping */
    smmu_unmap(s, d, 0x1000, 0x1000);
    rc_after_unmap = smmu_domain_set_attr(s, d, SMMU_ATTR_GRANULE, &granule, 4);   /* after the first map */
    third = root_of(s, d);
    printf("GRANULE 4096: attached %d, mapped %d (both EBUSY %d); detached after an attach %d, unmapped after a map %d\n",
           rc_attached, rc_mapped, SMMU_EBUSY, rc_after_attach, rc_after_unmap);
    printf("root: after the first attach 0x%llx, after GRANULE set detached 0x%llx, after GRANULE set unmapped 0x%llx\n",
           (unsigned long long)first, (unsigned long long)second, (unsigned long long)third);
    bad = first != second || second != third;
    smmu_domain_free(s, d);
    smmu_destroy(s);
    printf(bad ? "AMBIGUOUS: the root moved after the first map and attach\n" : "ok\n");
    return bad;
}
