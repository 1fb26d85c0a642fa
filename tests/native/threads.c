/*
 * threads.c - distinct instances are independent and may run on different threads at once
 * (smmu.h "Threading"). Two pthreads, each with its own instance (different pool bases and TLB
 * modes), run thousands of map / switch / translate / unmap rounds with PAs unique to the thread
 * and the round, checking every result; then both loop over create / use / destroy at once.
 * check.h's counters are not thread-safe: each thread counts for itself and main() adds its counts.
 */
#include <pthread.h>
#include <stdarg.h>
#include <string.h>

#include "check.h"

#define PAGE 0x1000ull
#define RW (SMMU_PROT_READ | SMMU_PROT_WRITE)
#define RD SMMU_ACCESS_READ
#define ROUNDS 5000
#define PAGES 4
#define CHURN 2000
#define SID 2u

struct worker {
    int id;
    long checks, failures, churned;
    long units_ok, units_bad;   /* what main() adds to the totals: setup, each round, each cycle, teardown */
    char first[512];
};

/* Closes a unit of work (a round, a create/destroy cycle...): it passed if no check failed since mark. */
static void unit(struct worker *w, long *mark)
{
    if (w->failures == *mark)
        w->units_ok++;
    else
        w->units_bad++;
    *mark = w->failures;
}

static pthread_barrier_t start;

static void wcheck(struct worker *w, int ok, const char *fmt, ...)
{
    va_list args;
    w->checks++;
    if (ok)
        return;
    if (w->failures++ == 0) {
        va_start(args, fmt);
        vsnprintf(w->first, sizeof w->first, fmt, args);
        va_end(args);
    }
}

static void rounds(struct worker *w)
{
    smmu_config cfg;
    smmu_t s = 0;
    smmu_domain_t base = 0, dyn[2] = { 0, 0 };
    uint32_t cb = 0;
    int32_t one = 1, rc;
    int i, k, p;
    const uint64_t tag = (uint64_t)(w->id + 1) << 40;   /* PAs unique to this thread */
    smmu_stats st;
    long mark = w->failures;

    smmu_config_init(&cfg);
    cfg.pt_pool_base = w->id ? 0x80000000ull : 0x40000000ull;
    cfg.pt_pool_bytes = 4ull << 20;
    if (w->id)
        cfg.flags = SMMU_CFG_NO_ASID_TAGGING | SMMU_CFG_SCALAR_TLB;
    rc = smmu_create(&cfg, &s);
    wcheck(w, rc == 0, "thread %d: create -> %d", w->id, rc);
    if (rc) {
        unit(w, &mark);
        return;
    }
    wcheck(w, smmu_domain_alloc(s, &base) == 0 && smmu_attach_device(s, base, SID) == 0
                  && smmu_domain_get_attr(s, base, SMMU_ATTR_CONTEXT_BANK, &cb, sizeof cb) == 0,
           "thread %d: base setup", w->id);
    for (k = 0; k < 2; k++)
        wcheck(w, smmu_domain_alloc(s, &dyn[k]) == 0
                      && smmu_domain_set_attr(s, dyn[k], SMMU_ATTR_DYNAMIC, &one, sizeof one) == 0
                      && smmu_domain_set_attr(s, dyn[k], SMMU_ATTR_CONTEXT_BANK, &cb, sizeof cb) == 0
                      && smmu_attach_device(s, dyn[k], SID) == 0,
               "thread %d: dynamic %d setup", w->id, k);
    wcheck(w, smmu_map(s, base, 0x7000000, tag | 0x7000000, PAGES * PAGE, RW) == 0, "thread %d: base map", w->id);
    unit(w, &mark);

    for (i = 0; i < ROUNDS; i++) {
        uint64_t iova = 0x10000000ull + (uint64_t)(i % 97) * 0x100000;
        uint64_t pa[2];
        pa[0] = tag | (1ull << 36) | (uint64_t)i << 16;
        pa[1] = tag | (2ull << 36) | (uint64_t)i << 16;
        for (k = 0; k < 2; k++) {
            rc = smmu_map(s, dyn[k], iova, pa[k], PAGES * PAGE, RW);
            wcheck(w, rc == 0, "thread %d round %d: map dyn%d -> %d", w->id, i, k, rc);
        }
        for (k = 0; k < 2; k++) {
            rc = smmu_switch_domain(s, dyn[k]);
            wcheck(w, rc == 0, "thread %d round %d: switch dyn%d -> %d", w->id, i, k, rc);
            for (p = 0; p < PAGES; p++) {
                uint64_t off = (uint64_t)p * PAGE + (uint64_t)(i & 0x1ff) * 8, got = 0;
                rc = smmu_translate(s, SID, iova + off, RD, &got);
                wcheck(w, rc == 0 && got == pa[k] + off, "thread %d round %d dyn%d page %d: rc %d pa 0x%llx, expected "
                       "0x%llx", w->id, i, k, p, rc, (unsigned long long)got, (unsigned long long)(pa[k] + off));
            }
        }
        if (i % 16 == 0) {
            uint64_t iovas[PAGES], pas[PAGES];
            size_t done = 0;
            rc = smmu_switch_domain(s, base);
            for (p = 0; p < PAGES; p++)
                iovas[p] = 0x7000000 + (uint64_t)p * PAGE + 0x10;
            rc |= smmu_translate_batch(s, SID, iovas, pas, PAGES, RD, &done);
            for (p = 0; p < PAGES; p++)
                rc |= pas[p] != (tag | iovas[p]);
            wcheck(w, rc == 0 && done == PAGES, "thread %d round %d: base batch", w->id, i);
        }
        for (k = 0; k < 2; k++) {
            int64_t n = smmu_unmap(s, dyn[k], iova, PAGES * PAGE);
            wcheck(w, n == (int64_t)(PAGES * PAGE), "thread %d round %d: unmap dyn%d -> %lld", w->id, i, k, (long long)n);
        }
        unit(w, &mark);
    }
    st.size = sizeof st;
    rc = smmu_get_stats(s, &st);
    wcheck(w, rc == 0 && st.translations == (uint64_t)ROUNDS * 2 * PAGES + (ROUNDS + 15) / 16 * PAGES,
           "thread %d: translations counted %llu", w->id, (unsigned long long)st.translations);
    wcheck(w, st.pt_pages_in_use == 6, "thread %d: after the rounds 3 roots + 3 base tables in use (%llu)", w->id,
           (unsigned long long)st.pt_pages_in_use);
    for (k = 1; k >= 0; k--)
        wcheck(w, smmu_detach_device(s, dyn[k], SID) == 0 && smmu_domain_free(s, dyn[k]) == 0, "thread %d: dyn%d teardown",
               w->id, k);
    wcheck(w, smmu_detach_device(s, base, SID) == 0 && smmu_domain_free(s, base) == 0, "thread %d: base teardown", w->id);
    wcheck(w, smmu_destroy(s) == 0, "thread %d: destroy", w->id);
    unit(w, &mark);
}

static void churn(struct worker *w)
{
    smmu_config cfg;
    int i;
    long mark = w->failures;

    smmu_config_init(&cfg);
    cfg.pt_pool_bytes = 16 * PAGE;
    cfg.tlb_entries = 64;
    for (i = 0; i < CHURN; i++) {
        smmu_t s = 0;
        smmu_domain_t d = 0;
        uint64_t pa = 0, want = ((uint64_t)(w->id + 1) << 32) | (uint64_t)i << 12;
        int32_t rc = smmu_create(&cfg, &s);
        if (rc) {
            wcheck(w, 0, "thread %d churn %d: create -> %d", w->id, i, rc);
            unit(w, &mark);
            continue;
        }
        rc = smmu_domain_alloc(s, &d);
        rc |= smmu_attach_device(s, d, 0);
        rc |= smmu_map(s, d, 0x5000, want, PAGE, RW);
        rc |= smmu_translate(s, 0, 0x5008, RD, &pa);
        wcheck(w, rc == 0 && pa == want + 8, "thread %d churn %d: use -> rc %d pa 0x%llx", w->id, i, rc,
               (unsigned long long)pa);
        rc = smmu_destroy(s);
        wcheck(w, rc == 0, "thread %d churn %d: destroy -> %d", w->id, i, rc);
        rc = smmu_translate(s, 0, 0x5008, RD, &pa);
        wcheck(w, rc == SMMU_EBADF, "thread %d churn %d: the destroyed handle -> %d, expected EBADF", w->id, i, rc);
        w->churned++;
        unit(w, &mark);
    }
}

static void *run(void *arg)
{
    struct worker *w = (struct worker *)arg;
    pthread_barrier_wait(&start);
    rounds(w);
    pthread_barrier_wait(&start);
    churn(w);
    return NULL;
}

int main(void)
{
    pthread_t t[2];
    struct worker w[2];
    int i, started = 0;

    memset(w, 0, sizeof w);
    if (!CHECK(pthread_barrier_init(&start, NULL, 2) == 0, "threads: barrier"))
        return check_summary("threads");
    for (i = 0; i < 2; i++) {
        w[i].id = i;
        if (CHECK(pthread_create(&t[i], NULL, run, &w[i]) == 0, "threads: start thread %d", i))
            started++;
    }
    if (started != 2)
        return check_summary("threads");
    for (i = 0; i < 2; i++)
        CHECK(pthread_join(t[i], NULL) == 0, "threads: join thread %d", i);
    pthread_barrier_destroy(&start);
    for (i = 0; i < 2; i++) {
        /* setup 5; per round: 2 maps, 2 x (switch + PAGES translations), 2 unmaps; a batch every 16 rounds;
         * 6 at the end; 3 per create/destroy cycle */
        long expected = 5 + (long)ROUNDS * (2 + 2 * (1 + PAGES) + 2) + (ROUNDS + 15) / 16 + 6 + 3L * CHURN;
        /* the threads' work counts in the totals unit by unit: setup, each round, teardown, each cycle */
        check_passed += (int)w[i].units_ok;
        check_failed += (int)w[i].units_bad;
        if (w[i].failures)
            fprintf(stdout, "FAIL threads.c: thread %d: %ld of %ld checks failed; first: %s\n", i, w[i].failures,
                    w[i].checks, w[i].first);
        CHECK(w[i].checks == expected, "thread %d: ran %ld checks, expected %ld", i, w[i].checks, expected);
        CHECK(w[i].units_ok + w[i].units_bad == 2 + ROUNDS + CHURN, "thread %d: %ld units of work, expected %d", i,
              w[i].units_ok + w[i].units_bad, 2 + ROUNDS + CHURN);
        CHECK(w[i].churned == CHURN, "thread %d: %ld create/destroy cycles, expected %d", i, w[i].churned, CHURN);
    }
    return check_summary("threads");
}
