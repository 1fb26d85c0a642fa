/*
 * abi_bench.c - not a test: the cost of the C ABI on the hot path. Measures ns per call of
 * smmu_abi_version (no work: the bare NativeAOT call transition), ns per smmu_translate call and ns
 * per element of smmu_translate_batch (batch 1, 16, 256, 4096) on a TLB-hit working set
 * of 512 4 KiB pages (default geometry: 1024 entries x 8 ways, so the set fits), with
 * clock_gettime(CLOCK_MONOTONIC); prints the median of several repetitions per configuration.
 * Run: tests/native/run.sh LIBDIR --bench (or build/abi_bench [repetitions]).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

#define PAGE 0x1000ull
#define WS_PAGES 512
#define ELEMENTS (WS_PAGES * 400)   /* elements per repetition */
#define MAX_REPS 101
#define IOVA_BASE 0x10000000ull
#define PA_BASE 0x800001000ull        /* not 2 MiB aligned with IOVA_BASE: 512 page entries, no block */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t iovas[4096], pas[4096];
static volatile uint64_t sink;

#define BARE_CALL ((size_t)-1)

/* ns per element of one repetition: batch 0 means single smmu_translate calls, BARE_CALL calls of
 * smmu_abi_version. */
static double run_once(smmu_t s, size_t batch, int exported, int *bad)
{
    double t0, t1;
    uint64_t acc = 0;
    size_t done_total = 0;
    t0 = now_ns();
    if (batch == BARE_CALL) {
        size_t i;
        for (i = 0; i < ELEMENTS; i++)
            acc += (uint64_t)smmu_abi_version();
        done_total = ELEMENTS;
    } else if (batch == 0) {
        size_t i;
        for (i = 0; i < ELEMENTS; i++) {
            uint64_t pa = 0;
            int32_t rc = exported ? (smmu_translate)(s, 0, iovas[i & 4095], SMMU_ACCESS_READ, &pa)
                                  : smmu_translate(s, 0, iovas[i & 4095], SMMU_ACCESS_READ, &pa);
            if (rc != SMMU_OK)
                (*bad)++;
            acc += pa;
        }
        done_total = ELEMENTS;
    } else {
        size_t off = 0;
        while (done_total < ELEMENTS) {
            size_t done = 0;
            int32_t rc = exported ? (smmu_translate_batch)(s, 0, iovas + off, pas, batch, SMMU_ACCESS_READ, &done)
                                  : smmu_translate_batch(s, 0, iovas + off, pas, batch, SMMU_ACCESS_READ, &done);
            if (rc != SMMU_OK || done != batch)
                (*bad)++;
            acc += pas[batch - 1];
            done_total += batch;
            off = (off + batch) & 4095;
            if (off + batch > 4096)
                off = 0;
        }
    }
    t1 = now_ns();
    sink = acc;
    return (t1 - t0) / (double)done_total;
}

int main(int argc, char **argv)
{
    smmu_config cfg;
    smmu_t s = 0;
    smmu_domain_t d = 0;
    int reps = argc > 1 ? atoi(argv[1]) : 15, i, c, bad = 0;
    const size_t batches[] = { BARE_CALL, 0, 1, 16, 256, 4096 };
    smmu_stats st0, st1;

    if (reps < 1 || reps > MAX_REPS)
        reps = 15;
    smmu_config_init(&cfg);
    if (smmu_create(&cfg, &s) != SMMU_OK || smmu_domain_alloc(s, &d) != SMMU_OK || smmu_attach_device(s, d, 0) != SMMU_OK
        || smmu_map(s, d, IOVA_BASE, PA_BASE, WS_PAGES * PAGE, SMMU_PROT_READ | SMMU_PROT_WRITE) != SMMU_OK) {
        fprintf(stderr, "abi_bench: setup failed\n");
        return 1;
    }
    /* 4096 IOVAs over the 512 pages, a stride that visits every page and every set */
    for (i = 0; i < 4096; i++)
        iovas[i] = IOVA_BASE + (uint64_t)((i * 97) % WS_PAGES) * PAGE + (uint64_t)(i & 0x1ff) * 8;
    run_once(s, 0, 1, &bad);   /* warm up: fill the TLB */
    run_once(s, 4096, 1, &bad);

    printf("abi_bench: TLB-hit working set of %d x 4 KiB pages, %d elements per repetition, %d repetitions, "
           "SIMD width %d\n", WS_PAGES, ELEMENTS, reps, smmu_simd_width());
    printf("%-40s %12s %10s %10s\n", "configuration", "median ns", "min", "max");
    for (c = 0; c < 2 * (int)(sizeof batches / sizeof batches[0]); c++) {
        double t[MAX_REPS];
        char name[80];
        size_t batch = batches[c / 2];
        int exported = c % 2;   /* each configuration through the header's inline path, then the export */
        if (batch == BARE_CALL && !exported)
            continue;
        st0.size = st1.size = sizeof st0;
        smmu_get_stats(s, &st0);
        for (i = 0; i < reps; i++)
            t[i] = run_once(s, batch, exported, &bad);
        smmu_get_stats(s, &st1);
        qsort(t, (size_t)reps, sizeof t[0], cmp_double);
        if (batch == BARE_CALL)
            snprintf(name, sizeof name, "smmu_abi_version (per call)");
        else if (batch == 0)
            snprintf(name, sizeof name, "smmu_translate%s (per call)", exported ? " [export]" : " [inline]");
        else
            snprintf(name, sizeof name, "batch %zu%s (per element)", batch, exported ? " [export]" : " [inline]");
        printf("%-40s %12.2f %10.2f %10.2f%s\n", name, t[reps / 2], t[0], t[reps - 1],
               st1.tlb_misses != st0.tlb_misses ? "  (TLB misses!)" : "");
    }
    if (bad)
        printf("abi_bench: %d calls failed\n", bad);
    smmu_destroy(s);
    return bad ? 1 : 0;
}
