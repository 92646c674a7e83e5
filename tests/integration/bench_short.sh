#!/usr/bin/env bash
# bench_short: the benchmark harness in its short mode (the deep tree, 3 rounds), so that it
# cannot rot. It asserts that leindexd (one-shot scan and the HTTP path), find, bfs and the
# floor count the same entries; it never asserts on times. With CI=true a missing tool
# (hyperfine, bfs, fdfind) fails it instead of skipping.
set -euo pipefail
: "${LEINDEXD:?LEINDEXD must name the leindexd binary}"
src=${LEINDEX_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
out=$(mktemp -d /tmp/leindex-bench-short.XXXXXX)
trap 'rm -rf "$out"' EXIT
bash "$src/tests/bench/run.sh" --short --leindexd "$LEINDEXD" --out "$out"
