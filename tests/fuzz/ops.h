/*
 * ops.h - turns a stream of bytes into a sequence of libsmmu calls, each checked against the
 * reference (ref.h). Shared by the libFuzzer target (bytes from the input) and the soak test
 * (bytes from a seeded PRNG). A divergence prints the call, its arguments, the expected and the
 * actual result, and aborts (libFuzzer then writes the input as crash-*).
 */
#ifndef SMMU_FUZZ_OPS_H
#define SMMU_FUZZ_OPS_H

#include <stddef.h>
#include <stdint.h>

typedef struct fz_options {
    /* Known library bugs, each on its own switch so the rest can run while they are open:
     *   SMMU_REF_SKIP_POOL_BASE0=1     never configure pt_pool_base = 0 (table at PA 0 taken for "no table");
     *   SMMU_REF_SKIP_CROSS_INSTANCE=1 do not require one instance's domain handles to differ from
     *                                  another's live ones (10-bit salt collisions). */
    int skip_pool_base0;
    int skip_cross_instance;
    /* Library behaviours that contradict smmu.h, found against ABI 1.1 (ref.h's ref_compat; each has a
     * reproducer in repro/): SMMU_REF_SKIP_<NAME>=1 makes the reference accept the library's answer. */
    int skip_cb_order;          /* SMMU_REF_SKIP_CB_ORDER: set_attr CONTEXT_BANK answers EBUSY before EINVAL */
    int skip_nest_parent_order; /* SMMU_REF_SKIP_NEST_PARENT_ORDER: set_attr NEST_PARENT answers EBUSY before EBADF/EINVAL */
    int skip_handle_ffffffff;   /* SMMU_REF_SKIP_HANDLE_FFFFFFFF: never pass 0xffffffff as an instance handle (the
                                   inline path serves it from a destroyed instance's view) */
    int skip_batch_failed_pa;   /* SMMU_REF_SKIP_BATCH_FAILED_PA: translate_batch writes 0 to out_pas[*out_done] */
    int skip_map_pages_order;   /* SMMU_REF_SKIP_MAP_PAGES_ORDER: map_pages answers ERANGE (overflow) before EINVAL (prot) */
    int trace;                  /* SMMU_FUZZ_TRACE=1: every call and its result on stderr */
    int big_pools;              /* allow 4 GiB pools (the soak; not under ASan) */
} fz_options;

typedef struct fz_src {
    const uint8_t *p;
    size_t n;
    int prng;
    uint64_t state, word;
    int left;
} fz_src;

void fz_options_from_env(fz_options *opt);
void fz_src_bytes(fz_src *s, const uint8_t *data, size_t size);
void fz_src_prng(fz_src *s, uint64_t seed);

/* One session: begin, steps, (checkpoints), end. end() tears everything down through the checked
 * calls: every domain detached and freed (the pool must be empty then), every instance destroyed. */
void fz_begin(const fz_options *opt, fz_src *src);
/* Runs up to max_ops operations; stops early when a byte source runs dry. Returns the number run. */
uint64_t fz_steps(uint64_t max_ops);
/* Full check of every live instance: all tables walked and compared descriptor by descriptor,
 * distinct table pages = pages in use = the reference's count, in_use + free = pool, counters. */
void fz_checkpoint(void);
void fz_end(void);

/* Outcome counts per call since the process started ("ok:N EINVAL:M ..."; fault_handler >0 = retries). */
#include <stdio.h>
void fz_print_coverage(FILE *out);

/* Totals since the process started. */
uint64_t fz_total_calls(void);
uint64_t fz_total_ops(void);

#endif /* SMMU_FUZZ_OPS_H */
