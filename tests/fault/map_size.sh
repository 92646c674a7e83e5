#!/usr/bin/env bash
# A tiny --map-size, from the one-shot CLI (ctest label fault). tests/integration/api_store_full.sh
# proves the server's side (the failed scan, readyz, delete); this proves the rest: `leindexd scan`
# with a map too small exits 1 saying "raise --map-size", the store then opens fine (a server
# with the same tiny map lists both scans, the earlier one intact), and raising --map-size as
# the message says lets the same scan complete in the same data directory.
set -euo pipefail
source "$(dirname "$0")/../integration/api_lib.bash"

SMALL=$WORK/small
BIG=$WORK/big
# The big tree's index is about 3 MB: 2,000 symbolic links recorded with 1,500-byte targets.
python3 - "$SMALL" "$BIG" <<'PY'
import os, sys
small, big = sys.argv[1], sys.argv[2]
for i in range(20):
    os.makedirs(f"{small}/d{i % 4}", exist_ok=True)
    open(f"{small}/d{i % 4}/f{i}.txt", "w").write(f"{i}\n")
target = "/".join(["a-long-target-component"] * 62)[:1500]
for d in range(10):
    os.makedirs(f"{big}/dir-{d:02}", exist_ok=True)
    for f in range(200):
        os.symlink(f"{target}-{f}", f"{big}/dir-{d:02}/link-{f:04}")
PY

cli() { # cli OUT ERR ARGS...: runs `leindexd scan`, prints its exit status
	local out=$1 err=$2 rc=0
	shift 2
	"$LEINDEXD" scan --data-dir "$DATA" --no-gitignore "$@" >"$out" 2>"$err" || rc=$?
	echo "$rc"
}

rc=$(cli "$WORK/s1.out" "$WORK/s1.err" --map-size 1M --json "$SMALL")
[[ $rc == 0 ]] || fail "the small scan in a 1 MiB map exited $rc: $(tail -n 3 "$WORK/s1.err")"

rc=$(cli "$WORK/s2.out" "$WORK/s2.err" --map-size 1M --json "$BIG")
[[ $rc == 1 ]] || fail "a scan overflowing a 1 MiB map must exit 1, not $rc"
grep -q '^leindexd: scan 2 failed: .*store full.*raise --map-size' "$WORK/s2.err" ||
	fail "no 'raise --map-size' message on stderr: $(grep -v '^20' "$WORK/s2.err" | head -n 3)"
grep '^leindexd:' "$WORK/s2.err"
python3 - "$WORK/s2.out" <<'PY' || fail "the summary of the failed scan is wrong"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["state"] == "failed" and "raise --map-size" in d["error"], d
PY

# The store opens fine with the same tiny map: both scans are listed, finished, the first one
# intact; the failed one keeps the reason.
api_start --map-size 1M
req GET /scans
expect 200 "list of scans after the map filled"
py "s = {x['id']: x for x in J()['scans']}
assert s[1]['state'] == 'completed' and s[2]['state'] == 'failed', s
assert 'raise --map-size' in s[2]['error'], s[2]"
req GET "/scans/1/entries?page_size=1000"
expect 200 "entries of the first scan"
py "assert len(J()['entries']) == 24, len(J()['entries'])"
cp "$BODY" "$WORK/scan1.before"
api_stop

# Raising the map as the message says: the same scan completes in the same data directory.
rc=$(cli "$WORK/s3.out" "$WORK/s3.err" --map-size 64M --json "$BIG")
[[ $rc == 0 ]] || fail "with --map-size 64M the scan still exits $rc: $(grep '^leindexd' "$WORK/s3.err")"
python3 - "$WORK/s3.out" <<'PY' || fail "the scan with a raised map is not complete"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["state"] == "completed" and d["progress"]["entries"] == 2010 and d["progress"]["errors"] == 0, d
PY
api_start --map-size 64M
req GET "/scans/1/entries?page_size=1000"
expect 200 "entries of the first scan after the bigger map"
cmp -s "$BODY" "$WORK/scan1.before" || fail "the first scan's entries changed"
req GET /readyz
expect 200 "readyz with the bigger map"
api_stop
echo PASS
