#!/usr/bin/env bash
# Builds the libFuzzer target of libsmmu and runs it: first every input of the checked-in corpus
# (tests/fuzz/corpus), then N seconds of fuzzing (default 60).
#
#   tests/fuzz/run.sh LIBDIR [--seconds N]
#
# LIBDIR holds libsmmu.so (dotnet publish src/Smmu.Interop -c Release -o LIBDIR). The target
# (fuzz_target.c + ops.c + ref.c) is built with clang-14 -fsanitize=fuzzer,address,undefined; the
# library itself is not instrumented. Every input is decoded into a sequence of ABI calls, each checked
# against the C reference (ref.c); a divergence aborts with the call, its arguments, expected and actual.
#
# A crash, a divergence, a leak or a hang (an input running longer than the per-input timeout) fails
# the run and leaves libFuzzer's reproducer (crash-*, timeout-*, leak-*, oom-*) in
# tests/fuzz/artifacts/, with the command that replays it. New inputs found while fuzzing go to
# tests/fuzz/build/corpus (gitignored, emptied at the start of every run, so each run starts from the
# checked-in corpus); merge the useful ones into corpus/ with the command printed.
#
# Library bugs the runs found have switches (environment, see ops.h and docs/reliability.md) that make the
# reference accept the buggy answer; all of them are fixed, so all are off by default (the checks run):
# SMMU_REF_SKIP_POOL_BASE0, SMMU_REF_SKIP_CROSS_INSTANCE, SMMU_REF_SKIP_CB_ORDER, SMMU_REF_SKIP_NEST_PARENT_ORDER,
# SMMU_REF_SKIP_MAP_PAGES_ORDER, SMMU_REF_SKIP_HANDLE_FFFFFFFF, SMMU_REF_SKIP_BATCH_FAILED_PA (=1 to skip).
# Needs clang-14 and libclang-rt-14-dev (apt-get install clang-14 libclang-rt-14-dev).
# Ends with exactly one line "N passed, M failed" (corpus replay, fuzzing); exit status 0 iff M == 0.
set -uo pipefail

usage() { echo "usage: $0 LIBDIR [--seconds N]" >&2; exit 2; }
[ $# -ge 1 ] || usage
[ -d "$1" ] || { echo "run.sh: $1 is not a directory" >&2; exit 2; }
libdir=$(cd "$1" && pwd)
shift
seconds=60
while [ $# -gt 0 ]; do
    case $1 in
        --seconds) [ $# -ge 2 ] || usage; seconds=$2; shift 2 ;;
        *) usage ;;
    esac
done
[[ $seconds =~ ^[0-9]+$ ]] || usage

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$here/build
artifacts=$here/artifacts
rm -rf "$build/corpus"
mkdir -p "$build" "$build/corpus" "$artifacts"
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok    $1"; }
bad() { failed=$((failed + 1)); echo "FAIL  $1"; }

if [ ! -f "$libdir/libsmmu.so" ]; then
    echo "run.sh: no libsmmu.so in $libdir"; echo "0 passed, 1 failed"; exit 1
fi
cc=${CLANG:-clang-14}
if ! command -v "$cc" >/dev/null; then
    echo "run.sh: $cc not found (apt-get install clang-14 libclang-rt-14-dev)"; echo "0 passed, 1 failed"; exit 1
fi

echo "== build the fuzz target ($cc, -fsanitize=fuzzer,address,undefined)"
if ! "$cc" -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -g -O1 \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
        "-I$repo/native-headers" "$here/fuzz_target.c" "$here/ops.c" "$here/ref.c" -o "$build/fuzz_smmu" \
        "-L$libdir" -lsmmu "-Wl,-rpath,$libdir" > "$build/fuzz-build.log" 2>&1; then
    sed 's/^/      /' "$build/fuzz-build.log" | head -40
    bad "build fuzz_smmu (libclang-rt-14-dev installed?)"
    echo "$passed passed, $failed failed"; exit 1
fi

# The sanitizers' runtime options: abort on the first UB report; the leak suppressions are the
# .NET runtime's own allocations held from the GC heap (see tests/native/lsan.supp).
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$repo/tests/native/lsan.supp}
# every known-bug switch of ops.h, with its value (0 unless set)
switches=""
for name in SMMU_REF_SKIP_POOL_BASE0 SMMU_REF_SKIP_CROSS_INSTANCE SMMU_REF_SKIP_CB_ORDER SMMU_REF_SKIP_NEST_PARENT_ORDER \
            SMMU_REF_SKIP_MAP_PAGES_ORDER SMMU_REF_SKIP_HANDLE_FFFFFFFF SMMU_REF_SKIP_BATCH_FAILED_PA; do
    switches="$switches $name=$(printenv "$name" || echo 0)"
done
switches=${switches# }
echo "   known-bug switches: $switches"
timeout_s=25   # per input: the longest corpus input takes well under a second

# Reports a failed libFuzzer run: its reproducer, and how to replay it.
report() {
    local log=$1 what=$2 found
    grep -E -A14 'DIVERGENCE|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY' "$log" \
        | head -40 | sed 's/^/      /'
    found=$(grep -oE "Test unit written to [^ ]+" "$log" | tail -1 | sed 's/Test unit written to //')
    if [ -n "$found" ] && [ -f "$found" ]; then
        echo "      reproducer: $found"
        echo "      replay:     $switches SMMU_FUZZ_TRACE=1 $build/fuzz_smmu $found"
    else
        echo "      (no reproducer written; see $log)"
    fi
    bad "$what"
}

stats() {
    local log=$1
    local n t
    n=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | tail -1 | awk '{print $2}')
    t=$(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 | awk '{print $5}')
    echo "${n:-?} runs${t:+ in $t s}"
}

echo "== replay the checked-in corpus ($(ls "$here/corpus" | wc -l) inputs)"
log=$build/fuzz-corpus.log
env $switches "$build/fuzz_smmu" -runs=0 -timeout=$timeout_s -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$here/corpus" > "$log" 2>&1
rc=$?
if [ $rc = 0 ]; then
    ok "corpus replay: $(stats "$log"), no crash, divergence, leak or hang"
else
    report "$log" "corpus replay (exit status $rc)"
fi

if [ "$seconds" -gt 0 ]; then
    echo "== fuzz for $seconds s"
    log=$build/fuzz-run.log
    env $switches "$build/fuzz_smmu" -max_total_time="$seconds" -timeout=$timeout_s -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" "$build/corpus" "$here/corpus" > "$log" 2>&1
    rc=$?
    if [ $rc = 0 ]; then
        cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
        ok "fuzzing: $(stats "$log") ($cov), no crash, divergence, leak or hang"
        echo "      new inputs in $build/corpus; to keep the useful ones:"
        echo "      $build/fuzz_smmu -merge=1 -use_counters=0 $here/corpus $build/corpus"
    else
        report "$log" "fuzzing (exit status $rc)"
    fi
fi

echo "$passed passed, $failed failed"
[ $failed = 0 ]
