#!/usr/bin/env bash
# bench/peers-compare.sh [--quick] [harness options]: the peers comparison of ../shared/peers/compare.sh —
# publish libsmmu.so, build the harness with the smmu engine, run qemu, ref and smmu in one run — with
# its targets checked by a corrected awk (compare.sh's own check does not parse: `((("smmu",w)) in ns)`
# is a syntax error in every awk). Targets, as compare.sh states them: checksums agree; smmu/ref <= 1.3
# on hit-seq, hit-rand, block-2m, dyn-switch; smmu faster than qemu everywhere; dyn-switch misses <=
# dyn-flush misses / 50. Keeps the TSV and the summary in bench/peers-results/. Last line: the verdict.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
peers=${PEERS_DIR:-$repo/../shared/peers}
out=$repo/bench/peers-results
mkdir -p "$out"

if ! pkg-config --exists glib-2.0 2>/dev/null; then
  (apt-get update -qq && apt-get install -y -qq libglib2.0-dev pkg-config) >/dev/null 2>&1 || { echo "cannot install libglib2.0-dev"; exit 2; }
fi
dotnet publish "$repo/src/Smmu.Interop" -c Release -o "$out/lib" -nologo > "$out/publish.log" 2>&1 \
  || { tail -20 "$out/publish.log"; echo "publish failed"; exit 2; }
make -s -C "$peers" SMMU_INC="$repo/native-headers" SMMU_LIB="$out/lib" BIN="$out/peers-bench" > "$out/make.log" 2>&1 \
  || { cat "$out/make.log"; echo "harness build failed"; exit 2; }
"$out/peers-bench" --engines qemu,ref,smmu "$@" > "$out/results.tsv" 2> "$out/summary.txt"; rc=$?
cat "$out/summary.txt"
[ $rc = 0 ] || { echo "harness failed (rc $rc): mismatch or engine error"; exit 1; }

awk -F'\t' '
  $1=="qemu"||$1=="ref"||$1=="smmu" { ns[$1,$2]=$3; miss[$1,$2]=$6; wl[$2]=1 }
  END {
    bad=""; worst=0
    for (w in wl) {
      if (!(("smmu",w) in ns)) { bad=bad" "w":smmu-missing"; continue }
      r=ns["smmu",w]/ns["ref",w]; q=ns["smmu",w]/ns["qemu",w]
      if ((w=="hit-seq"||w=="hit-rand"||w=="block-2m"||w=="dyn-switch") && r>1.3) bad=bad" "w":smmu/ref="sprintf("%.2f",r)
      if (q>=1) bad=bad" "w":smmu/qemu="sprintf("%.2f",q)
      if (r>worst) worst=r
    }
    if (miss["smmu","dyn-switch"] > miss["smmu","dyn-flush"]/50) bad=bad" dyn-switch-misses="miss["smmu","dyn-switch"]
    hs=ns["smmu","hit-seq"]/ns["ref","hit-seq"]
    if (bad=="") { printf "targets met: hit-seq smmu/ref=%.2f, worst smmu/ref=%.2f\n", hs, worst; exit 0 }
    printf "short of targets:%s\n", bad; exit 1
  }' "$out/results.tsv"
