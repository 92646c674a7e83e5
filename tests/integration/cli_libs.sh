#!/usr/bin/env bash
# libmicrohttpd and libgit2 are opened when first needed (base/dynlib.h), not at start-up: a
# `leindexd scan` of another view loads neither (with what they pull in, 25 libraries that made a
# scan of a cold tree slower), the view git loads libgit2 when it reads an index, and the server
# loads libmicrohttpd before it listens. The dynamic loader says which files it maps
# (LD_DEBUG=files); the server's own mappings are in /proc.
source "$(dirname "$0")/api_lib.bash"
need git

TREE=$WORK/tree
mkdir -p "$TREE/src"
echo 'int main(void) { return 0; }' >"$TREE/src/main.c"
echo 'notes' >"$TREE/notes.txt"
echo '*.log' >"$TREE/.gitignore"
echo 'log' >"$TREE/build.log"
git -C "$TREE" init -q
git -C "$TREE" add src/main.c .gitignore
# loaded FILE: the loader's lines for one run (stderr of LD_DEBUG=files) name FILE as loaded.
loaded() { grep -qE "file=$1[^ ]* +\[" "$2"; }

# A scan of the default view (gitignore) and of --view all: neither library.
for view in gitignore all; do
	LD_DEBUG=files "$LEINDEXD" scan --no-store --list --view "$view" "$TREE" >"$WORK/out.$view" \
		2>"$WORK/ld.$view" || { cat "$WORK/ld.$view" >&2; fail "scan --view $view failed"; }
	grep -qx 'src/main.c' "$WORK/out.$view" || fail "--view $view did not list src/main.c"
	loaded 'libmicrohttpd\.so' "$WORK/ld.$view" && fail "--view $view loaded libmicrohttpd"
	loaded 'libgit2\.so' "$WORK/ld.$view" && fail "--view $view loaded libgit2"
	# The check can fail: the loader does name the libraries the binary links.
	loaded 'liblmdb\.so' "$WORK/ld.$view" || fail "LD_DEBUG=files names no library: the check is blind"
done
# build.log is ignored: the gitignore view read the rules (no libgit2 needed for that).
grep -qx 'build.log' "$WORK/out.gitignore" && fail "--view gitignore listed the ignored build.log"
grep -qx 'build.log' "$WORK/out.all" || fail "--view all did not list build.log"

# The view git reads the index: libgit2 is loaded then, and what git tracks or leaves untracked
# and not ignored is listed (notes.txt is untracked; build.log is ignored).
LD_DEBUG=files "$LEINDEXD" scan --no-store --list --view git "$TREE" >"$WORK/out.git" \
	2>"$WORK/ld.git" || { cat "$WORK/ld.git" >&2; fail "scan --view git failed"; }
loaded 'libgit2\.so' "$WORK/ld.git" || fail "--view git did not load libgit2"
loaded 'libmicrohttpd\.so' "$WORK/ld.git" && fail "--view git loaded libmicrohttpd"
git -C "$TREE" ls-files -co --exclude-standard | sort >"$WORK/want.git"
grep -v '/$' "$WORK/out.git" | grep -vxE 'src' | sort >"$WORK/got.git"
diff -u "$WORK/want.git" "$WORK/got.git" || fail "--view git differs from git ls-files -co --exclude-standard"

# The server maps libmicrohttpd, and answers.
api_start
grep -q 'libmicrohttpd\.so' "/proc/$SERVER_PID/maps" || fail "the server has no libmicrohttpd mapped"
req GET /healthz
[[ $STATUS == 200 ]] || fail "/healthz answered $STATUS"
api_stop
echo "cli_libs: ok"
