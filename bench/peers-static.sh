#!/usr/bin/env bash
# bench/peers-static.sh [harness options]: what a static library does to the NativeAOT call transition.
# Publishes src/Smmu.Interop with NativeLib=Static (libsmmu.a), links it with NativeAOT's runtime archives into
# tests/native/abi_bench and into the peers harness (../shared/peers), and runs both: abi_bench's
# smmu_abi_version row is the bare transition (compare `tests/native/run.sh LIBDIR --bench` on libsmmu.so), the
# harness's smmu/ref column the workloads (compare bench/peers-compare.sh). In an executable the linker relaxes the
# runtime's thread-local lookup from a __tls_get_addr call to a %fs load. Not the supported build (README).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
peers=${PEERS_DIR:-$repo/../shared/peers}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

dotnet publish "$repo/src/Smmu.Interop" -c Release -p:NativeLib=Static -o "$work/lib" >"$work/publish.log" 2>&1 \
  || { tail -20 "$work/publish.log"; exit 2; }
version=$(dotnet --list-runtimes | awk '$1 == "Microsoft.NETCore.App" { v = $2 } END { print v }')
runtime=${NUGET_PACKAGES:-$HOME/.nuget/packages}/microsoft.netcore.app.runtime.nativeaot.linux-x64/$version/runtimes/linux-x64/native
[ -f "$runtime/libbootstrapperdll.o" ] || { echo "no NativeAOT runtime pack at $runtime"; exit 2; }
static=("$work/lib/libsmmu.a" "$runtime/libbootstrapperdll.o" "$runtime/libRuntime.WorkstationGC.a"
        "$runtime/libRuntime.VxsortEnabled.a" "$runtime/libeventpipe-enabled.a" "$runtime/libstandalonegc-disabled.a"
        "$runtime/libSystem.Native.a" "$runtime/libSystem.Globalization.Native.a" "$runtime/libaotminipal.a"
        "$runtime/libstdc++compat.a" "$runtime/libz.a" -lstdc++ -lm -ldl -lpthread -lrt)

cc -std=c99 -D_POSIX_C_SOURCE=200809L -O2 -I"$repo/native-headers" "$repo/tests/native/abi_bench.c" "${static[@]}" \
   -o "$work/abi_bench"
cc -std=c11 -O3 -march=native -D_POSIX_C_SOURCE=200809L $(pkg-config --cflags glib-2.0) -DHAVE_SMMU \
   -I"$repo/native-headers" "$peers"/{bench,pt,eng_qemu,eng_ref,eng_smmu}.c "${static[@]}" $(pkg-config --libs glib-2.0) \
   -o "$work/peers-bench"
echo "# $(date -u +%FT%TZ) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), libsmmu.a linked statically"
"$work/abi_bench" | grep -E 'configuration|abi_version|smmu_translate'
"$work/peers-bench" --engines ref,smmu "$@" 2>&1 >/dev/null | sed -n '/^Median/,/^$/p'
