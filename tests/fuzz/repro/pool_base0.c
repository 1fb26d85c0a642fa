/*
 * pool_base0.c - reproducer: a table pool at physical address 0 breaks unmap (known bug).
 *
 * With pt_pool_base = 0 the first table page (the domain's root) sits at PA 0, and the mapper uses
 * table address 0 to mean "no table" (the dry-run sentinel of unmap). Unmapping one page of a
 * two-page mapping then treats the root's slot as a block to split: pages in use go 3 -> 5 instead of
 * staying 3, and the translation of the page that was not unmapped changes.
 *
 *   cc -std=c99 -I native-headers tests/fuzz/repro/pool_base0.c -L LIBDIR -lsmmu -Wl,-rpath,LIBDIR -o pool_base0
 *   ./pool_base0        exit status 0 when the library behaves, 1 while the bug is there
 */
#include <stdio.h>

#include "smmu.h"

int main(void)
{
    smmu_config cfg;
    smmu_t s;
    smmu_domain_t d;
    smmu_stats st;
    uint64_t before, after, pa = 0;
    int64_t unmapped;
    int32_t rc;
    int bad = 0;

    smmu_config_init(&cfg);
    cfg.ias = 39;
    cfg.pt_pool_base = 0;
    cfg.pt_pool_bytes = 16 * 4096;
    if (smmu_create(&cfg, &s) != SMMU_OK || smmu_domain_alloc(s, &d) != SMMU_OK
        || smmu_map(s, d, 0, 0x80000000ull, 0x2000, SMMU_PROT_READ | SMMU_PROT_WRITE) != SMMU_OK) {
        printf("setup failed\n");
        return 2;
    }
    st.size = sizeof st;
    smmu_get_stats(s, &st);
    before = st.pt_pages_in_use;                     /* root, L2, L3 = 3 */
    unmapped = smmu_unmap(s, d, 0x1000, 0x1000);     /* the second page only: no split needed */
    smmu_get_stats(s, &st);
    after = st.pt_pages_in_use;
    rc = smmu_iova_to_phys(s, d, 0, &pa);
    printf("unmap(0x1000, 0x1000) = %lld (expected 4096); table pages in use %llu -> %llu (expected 3 -> 3); "
           "iova_to_phys(0) = %d, 0x%llx (expected 0, 0x80000000)\n", (long long)unmapped,
           (unsigned long long)before, (unsigned long long)after, rc, (unsigned long long)pa);
    bad = unmapped != 0x1000 || before != 3 || after != 3 || rc != SMMU_OK || pa != 0x80000000ull;
    smmu_domain_free(s, d);
    smmu_destroy(s);
    printf(bad ? "BUG: a pool at PA 0 breaks unmap\n" : "ok\n");
    return bad;
}
