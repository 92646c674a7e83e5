#!/usr/bin/env bash
# run.sh: builds the libFuzzer harnesses (tests/fuzz/fuzz_<target>.c) in a clang tree below the
# main build, runs each over its committed seed corpus (tests/fuzz/corpus/<target>/), then fuzzes
# each for a bounded time. Run by ctest in the main build (label fuzz); exits 77 (skipped) when
# clang or its libFuzzer runtime is missing. Fails on any crash, leak, UBSan report, per-input
# timeout or memory limit, and on a property a harness checks; prints the executions per harness.
#
#   LEINDEX_FUZZ_SECONDS  fuzzing time of all harnesses together, shared evenly (default 120: 15 s
#                         for each of 8 harnesses, so that the whole test, the clang build
#                         included, stays within about 5 minutes on 2 cores)
#   LEINDEX_FUZZ_ONLY     run only this target (e.g. token)
#   LEINDEX_FUZZ_CC       the compiler (default clang)
#
# A harness names its own libFuzzer flags on a line "fuzz-options: ..." (-max_len, -timeout);
# adding tests/fuzz/fuzz_X.c and tests/fuzz/corpus/X/ is all a new harness takes. What libFuzzer
# finds stays in the build tree (fuzz/artifacts/<target>/); once the bug is fixed, commit the input
# under tests/fuzz/corpus/<target>/ so that every later run replays it.
set -euo pipefail
: "${LEINDEX_SRC:?}" "${LEINDEX_BUILD:?}"
total=${LEINDEX_FUZZ_SECONDS:-120}
cc=${LEINDEX_FUZZ_CC:-clang}
dir="$LEINDEX_BUILD/fuzz"
mkdir -p "$dir"

# clang alone is not enough: Debian ships libFuzzer's runtime in libclang-rt-14-dev.
if ! command -v "$cc" >/dev/null 2>&1; then
	echo "fuzz: skipped: $cc not found (install clang and libclang-rt-14-dev)"
	exit 77
fi
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$dir/probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$dir/probe.c" -o "$dir/probe" 2>"$dir/probe.log"; then
	echo "fuzz: skipped: $cc cannot link libFuzzer (install libclang-rt-14-dev):"
	sed 's/^/  /' "$dir/probe.log" | tail -5
	exit 77
fi

start=$SECONDS
# -O1: fast enough to fuzz, still precise stack traces; assertions stay on (no NDEBUG).
cmake -S "$LEINDEX_SRC" -B "$dir/build" -DLEINDEX_FUZZ=ON -DCMAKE_C_COMPILER="$cc" \
	-DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-g -O1" >"$dir/configure.log" 2>&1 || {
	tail -40 "$dir/configure.log"
	echo "fuzz: configuring the fuzz tree failed (log: $dir/configure.log)"
	exit 1
}
cmake --build "$dir/build" --target leindex_fuzz -j2 >"$dir/build.log" 2>&1 || {
	grep -E 'error|warning' "$dir/build.log" | head -40
	echo "fuzz: building the harnesses failed (log: $dir/build.log)"
	exit 1
}
echo "fuzz: built the harnesses in $((SECONDS - start)) s"

targets=()
for src in "$LEINDEX_SRC"/tests/fuzz/fuzz_*.c; do
	t=$(basename "$src" .c)
	t=${t#fuzz_}
	[ -z "${LEINDEX_FUZZ_ONLY:-}" ] || [ "$t" = "$LEINDEX_FUZZ_ONLY" ] || continue
	targets+=("$t")
done
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz: no harness in $LEINDEX_SRC/tests/fuzz matches ${LEINDEX_FUZZ_ONLY:-fuzz_*.c}"
	exit 1
fi
each=$((total / ${#targets[@]}))
[ "$each" -ge 5 ] || each=5

export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# Prints the end of a failed run and where its input is.
report_failure() { # target phase log
	echo "---- $1: $2 failed; the end of its log ($3):"
	tail -60 "$3"
	local found
	found=$(find "$dir/artifacts/$1" -type f 2>/dev/null | head -5)
	if [ -n "$found" ]; then
		echo "---- the inputs that failed (replay: $dir/build/tests/fuzz/fuzz_$1 FILE):"
		echo "$found"
		echo "---- once fixed, commit them under tests/fuzz/corpus/$1/"
	fi
}

failed=()
summary=()
grand=0
for t in "${targets[@]}"; do
	src="$LEINDEX_SRC/tests/fuzz/fuzz_$t.c"
	bin="$dir/build/tests/fuzz/fuzz_$t"
	seeds="$LEINDEX_SRC/tests/fuzz/corpus/$t"
	if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
		echo "fuzz: $t: no seed corpus in tests/fuzz/corpus/$t/ (every harness needs one)"
		failed+=("$t")
		summary+=("$t: FAILED: no seed corpus")
		continue
	fi
	# Defaults, then the harness's own flags (libFuzzer keeps the last of a flag given twice).
	opts=(-max_len=4096 -timeout=10 -rss_limit_mb=1024)
	read -r -a own <<<"$(sed -n 's/.*fuzz-options:\(.*\)$/\1/p' "$src" | head -1 | sed 's/\*\/.*//')"
	opts+=("${own[@]}")
	rm -rf "$dir/work/$t" "$dir/artifacts/$t"
	mkdir -p "$dir/work/$t" "$dir/artifacts/$t"
	log="$dir/$t.log"

	# 1. Every committed input once: the regressions and the seeds.
	nseeds=$(find "$seeds" -type f | wc -l)
	if ! find "$seeds" -type f -print0 | xargs -0 "$bin" "${opts[@]}" \
		-artifact_prefix="$dir/artifacts/$t/" >"$log.seeds" 2>&1; then
		report_failure "$t" "replaying tests/fuzz/corpus/$t" "$log.seeds"
		failed+=("$t")
		summary+=("$t: FAILED on its committed corpus ($nseeds inputs)")
		continue
	fi

	# 2. Fuzzing for a bounded time, new inputs kept in the build tree only.
	rc=0
	"$bin" "${opts[@]}" -max_total_time="$each" -print_final_stats=1 \
		-artifact_prefix="$dir/artifacts/$t/" "$dir/work/$t" "$seeds" >"$log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
	execs=${execs:-0}
	grand=$((grand + execs))
	if [ "$rc" -ne 0 ]; then
		report_failure "$t" "fuzzing (exit $rc)" "$log"
		failed+=("$t")
		summary+=("$t: FAILED after $execs executions (log: $log)")
	else
		summary+=("$t: ok: $nseeds committed inputs, $execs executions in $each s")
	fi
done

echo "fuzz: executions per harness (${each} s each; options: tests/fuzz/fuzz_<target>.c):"
printf '  %s\n' "${summary[@]}"
echo "fuzz: $grand executions in all, $((SECONDS - start)) s including the build"
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: FAILED: ${failed[*]}"
	exit 1
fi
