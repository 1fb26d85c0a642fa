#!/usr/bin/env bash
# The soak test: OPS random operations (default 10^8) against the C reference, from a seeded PRNG
# (default seed 1), built with gcc -O2 and no sanitizer. Every 10^6 operations a full checkpoint
# (every table read back and compared, distinct table pages = pages in use = the reference's count,
# in_use + free = pool, counters) and a line with the operations per second; at the end everything is
# detached, freed (0 pages in use) and destroyed, and a fresh instance must show a full free pool.
#
#   tests/fuzz/soak.sh LIBDIR [OPS] [SEED]
#
# A divergence prints the call, its arguments, expected and actual, the operation number, and aborts;
# the same OPS and SEED replay it exactly (SMMU_FUZZ_TRACE=1 prints every call). Known-bug switches as
# for run.sh (SMMU_REF_SKIP_*=1, see ops.h and docs/reliability.md; all 0 by default).
# Ends with exactly one line "N passed, M failed"; exit status 0 iff M == 0.
set -uo pipefail

usage() { echo "usage: $0 LIBDIR [OPS] [SEED]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 3 ] || usage
[ -d "$1" ] || { echo "soak.sh: $1 is not a directory" >&2; exit 2; }
libdir=$(cd "$1" && pwd)
ops=${2:-100000000}
seed=${3:-1}
[[ $ops =~ ^[0-9]+$ ]] && [[ $seed =~ ^[0-9]+$ ]] || usage
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$here/build
mkdir -p "$build"

if ! gcc -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -O2 "-I$repo/native-headers" \
        "$here/soak.c" "$here/ops.c" "$here/ref.c" -o "$build/soak" \
        "-L$libdir" -lsmmu "-Wl,-rpath,$libdir" > "$build/soak-build.log" 2>&1; then
    sed 's/^/      /' "$build/soak-build.log" | head -40
    echo "FAIL  build soak"
    echo "0 passed, 1 failed"
    exit 1
fi
switches=""
for name in SMMU_REF_SKIP_POOL_BASE0 SMMU_REF_SKIP_CROSS_INSTANCE SMMU_REF_SKIP_CB_ORDER SMMU_REF_SKIP_NEST_PARENT_ORDER \
            SMMU_REF_SKIP_MAP_PAGES_ORDER SMMU_REF_SKIP_HANDLE_FFFFFFFF SMMU_REF_SKIP_BATCH_FAILED_PA; do
    switches="$switches $name=$(printenv "$name" || echo 0)"
done
echo "   known-bug switches:$switches"
"$build/soak" "$ops" "$seed"
rc=$?
if [ $rc != 0 ]; then
    why="exit status $rc"
    [ $rc -gt 128 ] && why="$why, signal $((rc - 128))"
    echo "FAIL  soak: $why; replay: $0 $libdir $ops $seed (SMMU_FUZZ_TRACE=1 for every call)"
    echo "0 passed, 1 failed"
    exit 1
fi
