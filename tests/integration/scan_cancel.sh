#!/usr/bin/env bash
# Cancel and shutdown take effect in the middle of a directory (issue 9, defect 3): a directory
# of 200,000 entries (the wide corpus's big/ shape), read by one worker, where each entry costs a
# slow but bounded ignore match (200 patterns of 100+ stars that never match: ~3 ms an entry,
# ten minutes for the directory) or the hashing of a sparse file. The test waits until the
# server has that directory open (its descriptor in /proc), then cancels (POST /scans/{id}/cancel)
# or stops the server (SIGTERM), and polls with a generous deadline that the scan is cancelled,
# or that the server exited 0 and the scan came back interrupted. Without a check of the cancel
# flag inside each per-entry loop, the scan would go on to the end of the directory.
source "$(dirname "$0")/api_lib.bash"
need python3

TREE=$WORK/tree
python3 - "$TREE/big" <<'PY'
import os, sys
d = sys.argv[1]
os.makedirs(d)
for i in range(200000):
    fd = os.open(os.path.join(d, "a" * 100 + "%06d" % i), os.O_WRONLY | os.O_CREAT, 0o644)
    os.ftruncate(fd, 1 << 20)  # sparse: 1 MiB of zeros to hash, no disk
    os.close(fd)
PY
# Patterns of many stars ending in a class no name ends with: each must be matched through.
patterns=$(python3 -c 'import json
print(json.dumps(["*a" * (100 + i % 20) + "*[YZ]" + "*" * (i // 20) for i in range(200)]))')

api_start --max-running 1

# reading_big: the server has $TREE/big open (a worker is inside that directory).
reading_big() {
	local fd
	for fd in /proc/"$SERVER_PID"/fd/*; do
		[[ $(readlink "$fd" 2>/dev/null) == "$TREE/big" ]] && return 0
	done
	return 1
}

# start_inside EXTRA_JSON: submits a scan of $TREE and waits until it is inside big/.
start_inside() {
	SCAN=$(submit "$TREE" "$1")
	wait_until "$WAIT_UNTIL_DEFAULT_S" reading_big || fail "scan $SCAN never opened big/"
	scan_state_is "$SCAN" running || fail "scan $SCAN is not running inside big/"
}

# ---- cancel during the ignore pass (one worker)
start_inside "\"workers\": 1, \"ignore\": $patterns"
req POST "/scans/$SCAN/cancel"
expect 200 "cancel inside big/ (ignore pass)"
wait_state "$SCAN" cancelled
echo "cancelled inside a 200,000-entry directory during the ignore pass"

# ---- cancel during the per-entry stat and hash pass (one worker)
start_inside '"workers": 1, "hash": true'
req POST "/scans/$SCAN/cancel"
expect 200 "cancel inside big/ (hash pass)"
wait_state "$SCAN" cancelled
echo "cancelled inside a 200,000-entry directory during the stat and hash pass"

# ---- cancel while the directory is read in slices by two workers
start_inside "\"workers\": 2, \"ignore\": $patterns"
req POST "/scans/$SCAN/cancel"
expect 200 "cancel inside big/ (slices)"
wait_state "$SCAN" cancelled
echo "cancelled inside a 200,000-entry directory read in slices"

# ---- SIGTERM of the server in the middle of the directory: exits 0, the scan is interrupted
start_inside "\"workers\": 1, \"ignore\": $patterns"
api_stop
api_start --max-running 1
req GET "/scans/$SCAN"
expect 200 "GET /scans/$SCAN after restart"
py "d=J(); assert d['state'] == 'interrupted', d['state']"
echo "SIGTERM inside a 200,000-entry directory: exit 0, scan interrupted"
api_stop
echo PASS
