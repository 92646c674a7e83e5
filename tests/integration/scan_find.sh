#!/usr/bin/env bash
# The one-shot scan with gitignore off lists exactly what find lists, in depth-first order,
# whatever the pool size, on the edge-case and deep corpora; --max-depth matches find -maxdepth.
source "$LEINDEX_SRC/tests/lib/common.bash"
need find
need python3

NASTY=$(corpus nasty)
DEEP=$(corpus deep)

for tree in "$NASTY" "$DEEP"; do
	for w in 1 2 3; do
		scan_list "$tree" "$T/list" --no-gitignore --workers "$w"
		$TREECMP find "$tree" "$T/list" || fail "$tree, workers=$w: differs from find"
	done
done

for depth in 0 1 3; do
	scan_list "$NASTY" "$T/list" --no-gitignore --max-depth "$depth"
	$TREECMP find "$NASTY" "$T/list" --maxdepth "$depth" || fail "--max-depth $depth differs from find -maxdepth"
done

# The summary's counts and byte total agree with find's.
json=$("$LEINDEXD" scan --data-dir "$T/data.json" --no-gitignore --json "$NASTY")
python3 - "$NASTY" "$json" <<'PY'
import json, subprocess, sys
root, doc = sys.argv[1], json.loads(sys.argv[2])
out = subprocess.run(["find", root, "-mindepth", "1", "-printf", "%y %s\\0"], stdout=subprocess.PIPE, check=True).stdout
rows = [r.split(b" ") for r in out.split(b"\0") if r]
want = {"entries": len(rows),
        "dirs": sum(1 for t, _ in rows if t == b"d"),
        "files": sum(1 for t, _ in rows if t == b"f"),
        "symlinks": sum(1 for t, _ in rows if t == b"l"),
        "bytes": sum(int(s) for t, s in rows if t == b"f")}
prog = doc["progress"]  # the document of GET /scans/{id}
bad = {k: (prog.get(k), v) for k, v in want.items() if prog.get(k) != v}
if bad or doc["state"] != "completed":
    sys.exit(f"summary differs from find (ours, find): {bad}, state {doc['state']}")
print("summary matches find:", want)
PY
echo "PASS"
