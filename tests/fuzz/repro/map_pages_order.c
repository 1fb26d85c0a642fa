/*
 * map_pages_order.c - reproducer: smmu_map_pages answers ERANGE (pgsize * pgcount overflows) where
 * smmu.h orders smmu_map's EINVAL (prot) first.
 *
 * smmu.h, smmu_map_pages: "Errors: EINVAL (NULL); EBADF; EINVAL (pgsize not a leaf size of the
 * domain's granule and stage, pgcount 0, iova or paddr not aligned to pgsize, and smmu_map's); ERANGE
 * (pgsize * pgcount overflows, and smmu_map's); EEXIST; ENOMEM", and the conventions: malformed values
 * (EINVAL) before addresses out of range (ERANGE). smmu_map's EINVAL includes "neither READ nor WRITE,
 * unknown bits". The library checks the overflow (SmmuInstance.CheckPages) before handing the
 * arguments to the mapper, whose prot checks then never run: a bad prot with an overflowing count is
 * ERANGE, not EINVAL.
 *
 *   cc -std=c99 -I native-headers tests/fuzz/repro/map_pages_order.c -L LIBDIR -lsmmu -Wl,-rpath,LIBDIR -o map_pages_order
 *   ./map_pages_order   exit status 0 when the library behaves, 1 while the bug is there
 */
#include <inttypes.h>
#include <stdio.h>

#include "smmu.h"

int main(void)
{
    smmu_config cfg;
    smmu_t s;
    smmu_domain_t d;
    uint64_t mapped = 99, overflow = (UINT64_MAX / 4096) + 1;
    int32_t no_rw, unknown, range;
    int bad;

    smmu_config_init(&cfg);
    if (smmu_create(&cfg, &s) != SMMU_OK || smmu_domain_alloc(s, &d) != SMMU_OK) {
        printf("setup failed\n");
        return 2;
    }
    range = smmu_map_pages(s, d, 0, 0, 4096, overflow, SMMU_PROT_READ, &mapped);           /* good prot: ERANGE */
    no_rw = smmu_map_pages(s, d, 0, 0, 4096, overflow, SMMU_PROT_CACHE, &mapped);          /* neither READ nor WRITE */
    unknown = smmu_map_pages(s, d, 0, 0, 4096, overflow, SMMU_PROT_READ | 0x800u, &mapped); /* an unknown bit */
    printf("pgcount 0x%" PRIx64 " (overflows), prot READ: %d (expected %d ERANGE)\n", overflow, range, SMMU_ERANGE);
    printf("pgcount 0x%" PRIx64 " (overflows), prot CACHE (no READ/WRITE): %d (expected %d EINVAL)\n", overflow, no_rw,
           SMMU_EINVAL);
    printf("pgcount 0x%" PRIx64 " (overflows), prot READ|0x800 (unknown bit): %d (expected %d EINVAL)\n", overflow,
           unknown, SMMU_EINVAL);
    bad = range != SMMU_ERANGE || no_rw != SMMU_EINVAL || unknown != SMMU_EINVAL;
    smmu_domain_free(s, d);
    smmu_destroy(s);
    printf(bad ? "BUG: map_pages answers ERANGE (overflow) before EINVAL (prot)\n" : "ok\n");
    return bad;
}
