#!/usr/bin/env bash
# Allocation-failure torture (ctest label fault): the scenario of tests/fault/torture.py (a scan
# of a 20-entry tree with ignores and hashing by the one-shot CLI, then POSTed, paged and
# deleted on a server) is run again and again with its 1st, 2nd, ... Nth allocation failing, each
# one in turn (no sampling), through the LD_PRELOAD shim tests/fault/failalloc.c. See torture.py
# for what each run must show.
set -euo pipefail
: "${LEINDEXD:?LEINDEXD must name the leindexd binary}"
: "${LEINDEX_FAILALLOC:?LEINDEX_FAILALLOC must name the failalloc shim (libfailalloc.so)}"
LEINDEX_SRC=${LEINDEX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
WORK=$(mktemp -d /tmp/leindex-torture.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
python3 "$LEINDEX_SRC/tests/fault/torture.py" --leindexd "$LEINDEXD" --shim "$LEINDEX_FAILALLOC" \
	--work "$WORK"
echo PASS
