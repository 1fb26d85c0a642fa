#!/usr/bin/env bash
# Builds and runs the C drivers of libsmmu against a built library.
#
#   tests/native/run.sh LIBDIR            build every driver, run the tests, check the header and exports
#   tests/native/run.sh LIBDIR --bench    build every driver, then run abi_bench (no tests)
#   tests/native/run.sh LIBDIR --sanitize build every test driver with -fsanitize=address,undefined
#                                         -fno-omit-frame-pointer (gcc; the library itself is not
#                                         instrumented) and run them: any AddressSanitizer,
#                                         LeakSanitizer or UBSan report fails the driver. The two
#                                         suppressions, the .NET runtime's allocations held from the GC heap,
#                                         are in tests/native/lsan.supp (it says why).
#
# LIBDIR holds libsmmu.so (dotnet publish src/Smmu.Interop -c Release -o LIBDIR). Binaries go to
# tests/native/build/ (gitignored). Besides the drivers' own checks, three checks of this script:
# the header compiles as C++11 and as C99 (warnings as errors, pedantic; also with -march=native for
# the inline fast path's vector probe), every smmu_* function the header declares — inline fast path
# included: its static helpers are named smmuinl_*, outside the exported namespace — is exported by the
# library and vice versa, layout.c compiles.
# Ends with exactly one line "N passed, M failed"; exit status 0 iff M == 0.
set -uo pipefail

usage() { echo "usage: $0 LIBDIR [--bench | --sanitize]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
bench=0
sanitize=0
if [ $# -eq 2 ]; then
    case $2 in
        --bench) bench=1 ;;
        --sanitize) sanitize=1 ;;
        *) usage ;;
    esac
fi
[ -d "$1" ] || { echo "run.sh: $1 is not a directory" >&2; exit 2; }
libdir=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
header=$repo/native-headers/smmu.h
build=$here/build
[ $sanitize = 1 ] && build=$here/build/sanitize
mkdir -p "$build"

drivers=(layout seed_fn constraints errors faults threads adreno_split nested_vm granules deferred fastpath)
CFLAGS=(-std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -O2 "-I$repo/native-headers")
LDFLAGS=("-L$libdir" -lsmmu "-Wl,-rpath,$libdir" -pthread)
tools=(abi_bench)
if [ $sanitize = 1 ]; then
    # -O1 keeps the reports' stacks readable; UB aborts instead of printing and going on
    CFLAGS=(-std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -O1 -g -fsanitize=address,undefined
            -fno-omit-frame-pointer -fno-sanitize-recover=undefined "-I$repo/native-headers")
    LDFLAGS+=(-fsanitize=address,undefined)
    tools=()
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/lsan.supp:print_suppressions=0}
fi

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok    $1"; }
bad() { failed=$((failed + 1)); echo "FAIL  $1"; }

if [ ! -f "$libdir/libsmmu.so" ]; then
    echo "run.sh: no libsmmu.so in $libdir"
    echo "0 passed, 1 failed"
    exit 1
fi

# ---- build ----------------------------------------------------------------------------------------
# fastpath-native: fastpath.c again with -O3 -march=native, so the header's inline path runs its
# AVX-512 (or AVX2) probe inlined, as the peers harness and most simulators build it.
[ $sanitize = 0 ] && drivers+=(fastpath-native)
source_of() { echo "$here/${1%-native}.c"; }
flags_of() { case $1 in *-native) echo "-O3 -march=native" ;; esac; }
declare -A built
for d in "${drivers[@]}" "${tools[@]}"; do
    # shellcheck disable=SC2046
    if gcc "${CFLAGS[@]}" $(flags_of "$d") "$(source_of "$d")" -o "$build/$d" "${LDFLAGS[@]}" > "$build/$d.build.log" 2>&1; then
        built[$d]=1
        ok "build $d"
    else
        built[$d]=0
        bad "build $d"
        sed 's/^/      /' "$build/$d.build.log" | head -40
    fi
done

if [ $bench = 1 ]; then
    if [ "${built[abi_bench]}" = 1 ]; then
        "$build/abi_bench"
        exit $?
    fi
    exit 1
fi

# ---- the script's own checks (not repeated under the sanitizers) ---------------------------------
if [ $sanitize = 0 ]; then
    if g++ -x c++ -std=c++11 -Wall -Wextra -Werror -pedantic-errors -fsyntax-only "$header" > "$build/header-cxx.log" 2>&1; then
        ok "header compiles as C++11"
    else
        bad "header compiles as C++11"; sed 's/^/      /' "$build/header-cxx.log" | head -20
    fi
    if gcc -x c -std=c99 -Wall -Wextra -Werror -pedantic-errors -fsyntax-only "$header" > "$build/header-c99.log" 2>&1; then
        ok "header compiles as C99"
    else
        bad "header compiles as C99"; sed 's/^/      /' "$build/header-c99.log" | head -20
    fi
    # The inline fast path's vector probe (AVX2 / AVX-512 at compile time) compiles as cleanly as the scalar one.
    if gcc -x c -std=c99 -march=native -Wall -Wextra -Werror -pedantic-errors -fsyntax-only "$header" > "$build/header-native.log" 2>&1 \
       && g++ -x c++ -std=c++11 -march=native -Wall -Wextra -Werror -pedantic-errors -fsyntax-only "$header" >> "$build/header-native.log" 2>&1; then
        ok "header compiles with -march=native (the inline path's vector probe)"
    else
        bad "header compiles with -march=native"; sed 's/^/      /' "$build/header-native.log" | head -20
    fi
    if gcc "${CFLAGS[@]}" -fsyntax-only "$here/layout.c" > "$build/layout-syntax.log" 2>&1; then
        ok "layout.c compiles (struct sizes and offsets match the managed layout)"
    else
        bad "layout.c compiles (struct sizes and offsets match the managed layout)"
        sed 's/^/      /' "$build/layout-syntax.log" | head -20
    fi

    # Declared functions (comments and macros gone after the preprocessor) vs exported symbols.
    declared=$(gcc -E -P -x c "$header" | grep -oE '\bsmmu_[a-z0-9_]+[[:space:]]*\(' | sed -E 's/[[:space:]]*\($//' | sort -u)
    exported=$(nm -D --defined-only "$libdir/libsmmu.so" | awk '{print $NF}' | sed 's/@.*//' | grep '^smmu_' | sort -u)
    if [ -z "$declared" ] || [ -z "$exported" ]; then
        bad "exports: could not list the header's functions ($(echo "$declared" | grep -c .)) or the library's symbols ($(echo "$exported" | grep -c .))"
    else
        export_fail=0
        for f in $(printf '%s\n%s\n' "$declared" "$exported" | sort -u); do
            in_h=0; in_so=0
            grep -qx "$f" <<< "$declared" && in_h=1
            grep -qx "$f" <<< "$exported" && in_so=1
            if [ $in_h = 1 ] && [ $in_so = 1 ]; then
                passed=$((passed + 1))
            elif [ $in_h = 1 ]; then
                bad "exports: $f is declared in smmu.h but not exported by libsmmu.so"; export_fail=1
            else
                bad "exports: $f is exported by libsmmu.so but not declared in smmu.h"; export_fail=1
            fi
        done
        [ $export_fail = 0 ] && echo "ok    exports: the $(echo "$declared" | wc -l) smmu_* functions of smmu.h are exactly the library's"
    fi
fi

# ---- the drivers -----------------------------------------------------------------------------------
for d in "${drivers[@]}"; do
    if [ "${built[$d]}" != 1 ]; then
        bad "$d: not built"
        continue
    fi
    log=$build/$d.log
    (cd "$build" && timeout 600 "./$d") > "$log" 2>&1
    rc=$?
    if [ $sanitize = 1 ] && grep -qE '^(==[0-9]+==ERROR|SUMMARY): |runtime error:' "$log"; then
        # a sanitizer report (they go to stderr, after or instead of the summary line)
        grep -E -A25 '^==[0-9]+==ERROR|runtime error:' "$log" | head -60 | sed 's/^/      /'
        bad "$d: sanitizer report (exit status $rc; full log $log)"
        continue
    fi
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
    # the driver's messages (failures, notes), without its summary line
    grep -vE '^[0-9]+ passed, [0-9]+ failed$' "$log" | sed 's/^/      /'
    if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        p=${BASH_REMATCH[1]}; f=${BASH_REMATCH[2]}
        passed=$((passed + p)); failed=$((failed + f))
        if [ "$f" = 0 ] && [ $rc = 0 ]; then
            echo "ok    $d: $line"
        elif [ "$f" = 0 ]; then
            bad "$d: $line, but exit status $rc"
        else
            echo "FAIL  $d: $line"
        fi
    else
        why="exit status $rc"
        [ $rc -gt 128 ] && why="$why, signal $((rc - 128))"
        [ $rc = 124 ] && why="$why, timed out"
        bad "$d: no summary line ($why); last line: $(tail -n 1 "$log")"
    fi
done

echo "$passed passed, $failed failed"
[ $failed = 0 ]
