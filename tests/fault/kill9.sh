#!/usr/bin/env bash
# kill -9 at random moments, in a loop (ctest label fault): 20 rounds, seeded (LEINDEX_KILL9_SEED,
# default 9, printed), each killing the server at a polled moment (mid-scan, right after a 202 or
# a 204, after a completion, idle) and checking the store after the restart. See kill9.py.
set -euo pipefail
: "${LEINDEXD:?LEINDEXD must name the leindexd binary}"
LEINDEX_SRC=${LEINDEX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
WORK=$(mktemp -d /tmp/leindex-kill9.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
python3 "$LEINDEX_SRC/tests/fault/kill9.py" --leindexd "$LEINDEXD" --work "$WORK" \
	--rounds "${LEINDEX_KILL9_ROUNDS:-20}" --seed "${LEINDEX_KILL9_SEED:-9}"
echo PASS
