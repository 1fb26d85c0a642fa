/*
 * soak.c - long random runs against the reference: the fuzzer's decoder (ops.c) fed from a seeded
 * PRNG instead of an input file. Every CHECK_EVERY operations: a full checkpoint (every table of
 * every domain read back and compared, distinct table pages = pages in use = the reference's count,
 * in_use + free = pool, counters) and a progress line with operations per second. At the end
 * everything is detached and freed (the pool must be empty), every instance destroyed, and a fresh
 * instance must show a full free pool.
 *
 *   soak OPS [SEED]        (tests/fuzz/soak.sh builds it with gcc -O2 and runs it)
 * Last line: "1 passed, 0 failed" or the divergence (then abort, exit status != 0).
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ops.h"
#include "smmu.h"

#define CHECK_EVERY 1000000ull

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    uint64_t ops, seed, done = 0;
    fz_options opt;
    fz_src src;
    smmu_config cfg;
    smmu_t h;
    smmu_stats st;
    double t0, t1, tlast;
    int32_t rc;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s OPS [SEED]\n", argv[0]);
        return 2;
    }
    ops = strtoull(argv[1], NULL, 0);
    seed = argc == 3 ? strtoull(argv[2], NULL, 0) : 1;
    fz_options_from_env(&opt);
    opt.big_pools = 1;
    printf("soak: %" PRIu64 " operations, seed %" PRIu64 ", checkpoint every %llu (skip pool base 0: %d, skip "
           "cross-instance handle check: %d)\n", ops, seed, (unsigned long long)CHECK_EVERY, opt.skip_pool_base0,
           opt.skip_cross_instance);
    fflush(stdout);
    fz_src_prng(&src, seed);
    fz_begin(&opt, &src);
    t0 = tlast = now();
    while (done < ops) {
        uint64_t chunk = ops - done < CHECK_EVERY ? ops - done : CHECK_EVERY;
        done += fz_steps(chunk);
        fz_checkpoint();
        t1 = now();
        printf("soak: %" PRIu64 " operations (%" PRIu64 " library calls), checkpoint ok, %.0f ops/s (last chunk %.0f ops/s)\n",
               done, fz_total_calls(), (double)done / (t1 - t0), (double)chunk / (t1 - tlast));
        fflush(stdout);
        tlast = t1;
    }
    fz_end();
    t1 = now();

    /* after everything is destroyed, a fresh instance has a full free pool */
    smmu_config_init(&cfg);
    rc = smmu_create(&cfg, &h);
    st.size = sizeof st;
    if (rc != SMMU_OK || smmu_get_stats(h, &st) != SMMU_OK || st.pt_pages_in_use != 0
        || st.pt_pages_free != cfg.pt_pool_bytes / 4096 || smmu_destroy(h) != SMMU_OK) {
        printf("soak: FAIL: a fresh instance after the run: create %d, in use %" PRIu64 ", free %" PRIu64 "\n", rc,
               st.pt_pages_in_use, st.pt_pages_free);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    printf("soak: %" PRIu64 " operations, %" PRIu64 " library calls in %.1f s: %.0f ops/s, %.0f calls/s; teardown "
           "left 0 pages in use; fresh instance has a full free pool\n", done, fz_total_calls(), t1 - t0,
           (double)done / (t1 - t0), (double)fz_total_calls() / (t1 - t0));
    printf("soak: outcomes per call:\n");
    fz_print_coverage(stdout);
    printf("1 passed, 0 failed\n");
    return 0;
}
