#!/usr/bin/env bash
# Descriptor starvation (issue 9): under `prlimit --nofile=64`, a one-shot scan with 3 workers
# waits for descriptors instead of failing directories: on the deep corpus (1,000 levels, paths
# past PATH_MAX) and on a comb (300 levels, each with 6 leaf directories queued behind the next
# level, so that a depth-first pool keeps hundreds of parent directories open for their waiting
# children), it lists exactly what find lists, with zero errors, hashing every file, with and
# without reading .gitignore files (each one more descriptor per directory).
source "$LEINDEX_SRC/tests/lib/common.bash"
need find
need prlimit
need python3

DEEP=$(corpus deep)
COMB=$T/comb
python3 - "$COMB" <<'PY'
import os, sys
d = sys.argv[1]
for level in range(300):
    os.makedirs(d)
    for k in range(6):
        os.mkdir(os.path.join(d, "a%d" % k))
        with open(os.path.join(d, "a%d" % k, "f"), "w") as f:
            f.write("leaf %d %d\n" % (level, k))
    open(os.path.join(d, "file"), "w").close()
    d = os.path.join(d, "n")
PY

# starved TREE OUT FLAGS...: the scan of TREE under 64 descriptors, its list in OUT; it must
# complete with no error (the log's "scan finished" line says so).
starved() {
	local tree=$1 out=$2
	shift 2
	prlimit --nofile=64 "$LEINDEXD" scan --data-dir "$T/data.$RANDOM$RANDOM" --workers 3 --hash \
		--null --list "$@" "$tree" >"$out" 2>"$out.log" ||
		fail "$tree ($*): leindexd scan failed under --nofile=64: $(tail -n 3 "$out.log")"
	grep -qE 'scan finished .*outcome="completed" .* errors=0 ' "$out.log" ||
		fail "$tree ($*): not completed without errors under --nofile=64: $(grep 'scan finished' "$out.log")"
}

for run in 1 2 3; do
	for tree in "$DEEP" "$COMB"; do
		starved "$tree" "$T/list" --no-gitignore
		$TREECMP find "$tree" "$T/list" || fail "$tree, run $run: differs from find under --nofile=64"
	done
	# .gitignore files are looked for in every directory (none exists here): same listing.
	starved "$COMB" "$T/list"
	$TREECMP find "$COMB" "$T/list" || fail "comb with .gitignore reading, run $run: differs from find"
done
echo PASS
