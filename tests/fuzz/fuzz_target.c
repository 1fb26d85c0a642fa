/*
 * fuzz_target.c - the libFuzzer entry point: one input = one session of checked libsmmu calls
 * (ops.c), decoded from the input's bytes, then a checked teardown. Options from the environment
 * (ops.h): SMMU_REF_SKIP_POOL_BASE0, SMMU_REF_SKIP_CROSS_INSTANCE, SMMU_FUZZ_TRACE.
 * Built and run by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>

#include "ops.h"

static fz_options options;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_options_from_env(&options);
    options.big_pools = 0;   /* a 4 GiB pool is beyond libFuzzer's malloc limit */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_src src;
    fz_src_bytes(&src, data, size);
    fz_begin(&options, &src);
    fz_steps(UINT64_MAX);
    fz_end();
    return 0;
}
