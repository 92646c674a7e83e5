#!/usr/bin/env bash
# With gitignore on, the files and links stored are exactly those git ls-files -co
# --exclude-standard reports (empty HOME, no system config), on the edge-case tree and on trees
# shaped like a Tauri monorepo and a kernel checkout; ignored directories are never opened.
source "$LEINDEX_SRC/tests/lib/common.bash"
need git
need python3

NASTY=$(corpus nasty)
SALSA=$(corpus salsa-like)
KERNEL=$(corpus kernel-like)

for tree in "$NASTY" "$SALSA" "$KERNEL"; do
	scan_list "$tree" "$T/list"
	$TREECMP git "$tree" "$T/list" || fail "$tree: gitignore verdicts differ from git"
done

# An ignored directory is not opened: salsa's target/ holds 4,611 directories, none read.
calls=$("$LEINDEXD" scan --data-dir "$T/data.calls" --json "$SALSA" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"]["scandir_calls"])')
all=$(find "$SALSA" -type d | wc -l)
[ "$calls" -lt $((all - 4611)) ] || fail "scandir_calls=$calls: ignored directories were opened ($all dirs in all)"

# Root ignore patterns apply on top of .gitignore files, and .git is never entered.
scan_list "$NASTY" "$T/list" --ignore '*.txt' --ignore 'special/'
python3 - "$T/list" <<'PY'
import sys
paths = [p for p in open(sys.argv[1], "rb").read().split(b"\0") if p]
bad = [p for p in paths if p.endswith(b".txt") or p.startswith(b"special/") or p.startswith(b".git/")]
if bad:
    sys.exit(f"ignored paths were listed: {bad[:5]}")
if b"special" in paths:
    sys.exit("the ignored directory special/ itself was listed")
PY
echo "PASS"
