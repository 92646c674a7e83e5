#!/usr/bin/env bash
# Makes leindex.mdb and manifest.txt: a store of format 1 as leindexd 48d6df1 wrote it.
# Usage: make.sh OLD_BUILD_DIR OLD_SRC_DIR  (a RelWithDebInfo build and the source of 48d6df1)
# Not run by the suite: its output is committed, because it needs the format-1 binary.
set -euo pipefail
old_build=$1 old_src=$2 here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
corpora=${LEINDEX_CORPORA:-/work/shared/corpora}
python3 "$corpora/nasty.py" "$tmp/nasty" >/dev/null
python3 "$corpora/deep.py" "$tmp/deep" >/dev/null
# Three completed scans by the format-1 binary: every entry with hashes, gitignore rules, depth.
"$old_build/leindexd" scan --data-dir "$tmp/data" --hash --no-gitignore "$tmp/nasty" >/dev/null
"$old_build/leindexd" scan --data-dir "$tmp/data" "$tmp/nasty" >/dev/null
"$old_build/leindexd" scan --data-dir "$tmp/data" --max-depth 12 "$tmp/deep" >/dev/null
cc -std=gnu11 -O1 -I"$old_src" -o "$tmp/make_v1" "$here/make_v1.c" \
	"$old_build/libleindex_core.a" -llmdb -lpthread
"$tmp/make_v1" "$tmp/data" "$here/manifest.txt"
# The tmp paths of the roots vary: the manifest keeps them as the store does.
rm -f "$here/leindex.mdb"
mdb_copy -n -c "$tmp/data/leindex.mdb" "$here/leindex.mdb"
ls -l "$here/leindex.mdb" "$here/manifest.txt"
