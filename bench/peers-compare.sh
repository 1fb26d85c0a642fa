#!/usr/bin/env bash
# bench/peers-compare.sh [harness options]: the peers comparison, ../shared/peers/compare.sh on this checkout
# (it publishes libsmmu.so as the README tells C users to, builds the harness with the smmu engine, runs
# qemu, ref and smmu on the same streams in one run and checks the targets), with the targets of issue 13
# unless the environment sets them: SINGLE_MAX=1.3 HIT_MAX=1.05 MISS_MAX=1.2 MAPUNMAP_MAX=1.2.
# Keeps the output in bench/peers-results/summary.txt. Last line: the verdict; exit 0 when targets are met.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
peers=${PEERS_DIR:-$repo/../shared/peers}
out=$repo/bench/peers-results
mkdir -p "$out"
export SINGLE_MAX=${SINGLE_MAX:-1.3} HIT_MAX=${HIT_MAX:-1.05} MISS_MAX=${MISS_MAX:-1.2} MAPUNMAP_MAX=${MAPUNMAP_MAX:-1.2}
{ echo "# $(date -u +%FT%TZ) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  bash "$peers/compare.sh" "$repo" "$@"; } 2>&1 | tee "$out/summary.txt"
exit "${PIPESTATUS[0]}"
