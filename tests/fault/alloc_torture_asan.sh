#!/usr/bin/env bash
# The allocation-failure torture (alloc_torture.sh) against the ASan+UBSan build, so that a
# failure path that leaks, frees twice or reads freed memory is reported (ctest label fault).
# The ASan tree is the sanitize_asan test's ($LEINDEX_BUILD/sanitize-asan, or LEINDEX_ASAN_BUILD):
# brought up to date here, skipped (77) when it was never configured. Under ASan each run costs
# about three times as much, so the sweep is a deterministic sample: the 1st, 8th, 15th, ...
# allocation (every 7th), in the CLI and in the server scenario alike.
set -euo pipefail
: "${LEINDEX_FAILALLOC:?LEINDEX_FAILALLOC must name the failalloc shim (libfailalloc.so)}"
LEINDEX_SRC=${LEINDEX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
asan=${LEINDEX_ASAN_BUILD:-${LEINDEX_BUILD:?LEINDEX_BUILD must name the build tree}/sanitize-asan}
if [[ ! -f $asan/CMakeCache.txt ]]; then
	echo "SKIP: no ASan tree at $asan (the sanitize_asan test configures it; or set LEINDEX_ASAN_BUILD)" >&2
	exit 77
fi
grep -q '^LEINDEX_ASAN:BOOL=ON' "$asan/CMakeCache.txt" || {
	echo "FAIL: $asan is not an ASan tree (LEINDEX_ASAN is not ON)" >&2
	exit 1
}
cmake --build "$asan" -j2 --target leindexd >/dev/null
WORK=$(mktemp -d /tmp/leindex-torture-asan.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
python3 "$LEINDEX_SRC/tests/fault/torture.py" --leindexd "$asan/leindexd" --shim "$LEINDEX_FAILALLOC" \
	--work "$WORK" --asan --cli-stride 7 --server-stride 7
echo PASS
