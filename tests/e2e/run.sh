#!/usr/bin/env bash
# e2e: the status page (/ui) in headless Chromium, driven by playwright-core (ctest label e2e).
# Installs the pinned playwright-core into the build tree (npm ci from tests/e2e's lockfile; no
# browser download: Debian's chromium is used), makes the test trees with the corpus generators,
# then runs tests/e2e/ui_test.js against the real binary. Screenshots of every view, at 1280x800
# and 390x844, land in $LEINDEX_BUILD/e2e-artifacts.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.bash"

need node
need npm
CHROMIUM=${LEINDEX_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
	[ "${CI:-}" = "true" ] && fail "$CHROMIUM is not installed (deploy/bootstrap.sh test installs chromium)"
	echo "SKIP: $CHROMIUM is not installed (apt-get install chromium chromium-driver)" >&2
	exit 77
fi
: "${LEINDEX_BUILD:?LEINDEX_BUILD must name the build tree}"

# npm ci only when the lockfile changed since the last install (it removes node_modules first).
mods=$LEINDEX_BUILD/e2e-node
mkdir -p "$mods"
if ! cmp -s "$LEINDEX_SRC/tests/e2e/package-lock.json" "$mods/installed.lock"; then
	cp "$LEINDEX_SRC/tests/e2e/package.json" "$LEINDEX_SRC/tests/e2e/package-lock.json" "$mods/"
	(cd "$mods" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) ||
		fail "npm ci of tests/e2e/package-lock.json failed"
	cp "$LEINDEX_SRC/tests/e2e/package-lock.json" "$mods/installed.lock"
fi

# The tree scanned and browsed (a monorepo with node_modules and a cargo target/, shared with
# the other tests through the corpus cache), and one that takes long to hash, to cancel: a
# sparse file of 1 TiB costs no disk, but a scan with hash=true reads all of it.
main_tree=$(corpus salsa-like)
mkdir -p "$T/slow/a/b"
echo small >"$T/slow/a/b/file.txt"
truncate -s 1T "$T/slow/disk.img"

mkdir -p "$LEINDEX_BUILD/e2e-artifacts"
rm -f "$LEINDEX_BUILD/e2e-artifacts"/*.png
E2E_WORK=$T E2E_MAIN_TREE=$main_tree E2E_SLOW_TREE=$T/slow E2E_CHROMIUM=$CHROMIUM \
	E2E_ARTIFACTS=$LEINDEX_BUILD/e2e-artifacts NODE_PATH=$mods/node_modules \
	node "$LEINDEX_SRC/tests/e2e/ui_test.js"
