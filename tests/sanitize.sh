#!/usr/bin/env bash
# sanitize.sh MODE: builds the tree with a sanitizer (asan: ASan+UBSan, tsan: TSan) beside the
# main build and runs its tests; run by ctest in the main build (label sanitize).
set -euo pipefail
mode=$1
: "${LEINDEX_SRC:?}" "${LEINDEX_BUILD:?}"
dir="$LEINDEX_BUILD/sanitize-$mode"
case "$mode" in
asan) flags=(-DLEINDEX_ASAN=ON); labels='unit|integration' ;;
tsan) flags=(-DLEINDEX_TSAN=ON); labels='unit|threads' ;;
*) echo "usage: sanitize.sh asan|tsan" >&2; exit 2 ;;
esac
cmake -S "$LEINDEX_SRC" -B "$dir" -DCMAKE_BUILD_TYPE=Debug "${flags[@]}" >/dev/null
cmake --build "$dir" -j2 >/dev/null
export LEINDEX_SANITIZER=$mode
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
# TSan of gcc 12 cannot map its shadow under the kernel's full ASLR entropy: run without ASLR.
runner=()
[ "$mode" = tsan ] && runner=(setarch "$(uname -m)" -R)
# A test may carry several labels: one labelled e2e, fuzz or fault (slow, privileged or tool-bound
# runs of their own) is left out even when it is also labelled unit or integration, and so is one
# labelled heavy (volume, not code paths of its own: see tests/CMakeLists.txt).
exclude='e2e|fuzz|fault|heavy'
"${runner[@]}" ctest --test-dir "$dir" -L "$labels" -LE "$exclude" -E 'bench_short' \
	--output-on-failure --timeout 900
