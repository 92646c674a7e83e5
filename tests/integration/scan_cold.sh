#!/usr/bin/env bash
# The I/O threads of issue 14 (io_depth): threads beside the workers that read directories only
# while reads wait on the device. A cold cache cannot be had in a test (dropping it needs root
# and slows the whole machine), so LEINDEX_SCAN_IO=open opens their gate from the start:
#  1. the same entries (every field: path, type, size, inode, times, mode, SHA-256) and the same
#     errors with the I/O threads forced on as with none (--io-depth 0), on the nasty and deep
#     corpora and on a mixed tree with a directory large enough to be read in slices;
#  2. cancel stops a scan whose I/O threads are hashing files (polled with a generous deadline);
#  3. directories vanishing and coming back while the I/O threads read them, scan after scan:
#     every scan completes and the server holds no more descriptors than before.
source "$(dirname "$0")/api_lib.bash"
need find
need python3

NASTY=$(corpus nasty)
DEEP=$(corpus deep)
MIXED=$WORK/mixed
python3 - "$MIXED" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(60):
    sub = os.path.join(root, "pkg%02d" % d, "src", "mod%d" % (d % 7))
    os.makedirs(sub)
    for f in range(25):
        with open(os.path.join(sub, "f%03d.c" % f), "wb") as fh:
            fh.write(os.urandom((d * 131 + f * 17) % 5000))
    os.symlink("../src", os.path.join(root, "pkg%02d" % d, "link"))
    os.link(os.path.join(sub, "f000.c"), os.path.join(root, "pkg%02d" % d, "hard.c"))
big = os.path.join(root, "big")  # 9,000 names: read in slices (SCAN_SPLIT_MIN is 8,192)
os.makedirs(big)
for i in range(9000):
    os.close(os.open(os.path.join(big, "n%05d" % i), os.O_CREAT | os.O_WRONLY, 0o644))
PY

DD=$WORK/one-shot
mkdir -p "$DD"
next_id=0
# one_scan TREE ENV-VALUE OPTIONS...: a one-shot scan into $DD; prints nothing, sets SCAN_ID.
one_scan() {
	local tree=$1 io=$2
	shift 2
	LEINDEX_SCAN_IO=$io "$LEINDEXD" scan --data-dir "$DD" --no-gitignore --json "$@" "$tree" \
		>"$WORK/doc.json" 2>>"$WORK/scan.log" || fail "scan of $tree ($*) failed"
	next_id=$((next_id + 1))
	SCAN_ID=$next_id
	python3 - "$WORK/doc.json" "$SCAN_ID" <<'PY' || fail "scan of $tree ($*): not scan $SCAN_ID"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["id"] == int(sys.argv[2]) and d["state"] == "completed", (d["id"], d["state"])
PY
}

# io_of FIELD: the io stats of the last one_scan.
io_of() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stats"]["io"][sys.argv[2]])' \
		"$WORK/doc.json" "$1"
}

# dump ID OUT: every entry of scan ID with every field, and its errors.
dump() {
	"$LEINDEXD" entries --data-dir "$DD" "$1" --ndjson >"$2" || fail "entries of scan $1"
	"$LEINDEXD" errors --data-dir "$DD" "$1" >"$2.errors" || fail "errors of scan $1"
}

io_read=0
for tree in "$NASTY" "$DEEP" "$MIXED"; do
	hash=()
	[[ $tree == "$MIXED" ]] && hash=(--hash) # nasty holds a 4 GiB file: no hashing there
	one_scan "$tree" "" --workers 2 --io-depth 0 "${hash[@]}"
	[[ $(io_of threads) == 0 && $(io_of dirs) == 0 ]] || fail "$tree: --io-depth 0 ran I/O threads"
	dump "$SCAN_ID" "$WORK/ref"
	for w in 1 2; do
		one_scan "$tree" open --workers "$w" --io-depth 6 "${hash[@]}"
		[[ $(io_of threads) == 6 ]] || fail "$tree: io.threads $(io_of threads), want 6"
		# Which thread pops which directory is the scheduler's: on a small tree the workers
		# may read it all, so only the sum over every run is asserted (below).
		io_read=$((io_read + $(io_of dirs)))
		dump "$SCAN_ID" "$WORK/got"
		cmp -s "$WORK/ref" "$WORK/got" ||
			{ diff "$WORK/ref" "$WORK/got" | head -5 >&2; fail "$tree, workers $w: entries differ"; }
		cmp -s "$WORK/ref.errors" "$WORK/got.errors" ||
			fail "$tree, workers $w: errors differ"
		"$LEINDEXD" entries --data-dir "$DD" "$SCAN_ID" --null >"$WORK/list"
		$TREECMP find "$tree" "$WORK/list" || fail "$tree, workers $w, I/O threads: differs from find"
	done
	echo "$(basename "$tree"): the same $(wc -l <"$WORK/ref") entries with the I/O threads forced on"
done
((io_read > 0)) || fail "the I/O threads forced on read no directory in six scans"
grep -q 'scan io .*path="I/O threads always on' "$WORK/scan.log" || fail "no log line of the I/O path"
grep -q 'scan io .*path="workers only' "$WORK/scan.log" || fail "no log line of io_depth 0"

# ---- 2. cancel while the I/O threads hash: one huge sparse file per directory, one worker.
export LEINDEX_SCAN_IO=open
api_start --max-running 1
SLOW=$WORK/slow
for d in 1 2 3 4 5 6; do make_slow_tree "$SLOW/d$d"; done
# hashing: how many of the slow files the server has open (each by a different thread).
hashing() {
	local fd n=0
	for fd in /proc/"$SERVER_PID"/fd/*; do
		[[ $(readlink "$fd" 2>/dev/null) == "$SLOW"/d*/big* ]] && n=$((n + 1))
	done
	((n >= 3))
}
id=$(submit "$SLOW" '"hash": true, "workers": 1, "io_depth": 4')
wait_until "$WAIT_UNTIL_DEFAULT_S" hashing || fail "three threads never hashed at once"
req POST "/scans/$id/cancel"
expect 200 "cancel with the I/O threads hashing"
wait_state "$id" cancelled
req GET "/scans/$id"
py "d=J(); assert d['options']['io_depth'] == 4, d['options']; assert d['stats']['io']['threads_ran'] >= 2, d['stats']['io']"
echo "cancelled with the I/O threads hashing"

# ---- 3. directories vanishing while the I/O threads read them: no descriptor kept.
CHURN=$WORK/churn
python3 - "$CHURN" <<'PY'
import os, sys
for d in range(40):
    for s in range(10):
        p = os.path.join(sys.argv[1], "d%02d" % d, "s%d" % s)
        os.makedirs(p)
        for f in range(10):
            open(os.path.join(p, "f%d" % f), "w").close()
PY
fds() { ls /proc/"$SERVER_PID"/fd | wc -l; }
id=$(submit "$CHURN" '"io_depth": 8')
[[ $(wait_done "$id") == completed ]] || fail "scan of the churned tree before churning"
before=$(fds)
# The churn: whole subtrees removed and made again, as fast as python goes, until told to stop.
python3 - "$CHURN" "$WORK/stop" <<'PY' &
import os, shutil, sys
root, stop = sys.argv[1], sys.argv[2]
i = 0
while not os.path.exists(stop):
    d = os.path.join(root, "d%02d" % (i % 40))
    shutil.rmtree(d, ignore_errors=True)
    for s in range(10):
        p = os.path.join(d, "s%d" % s)
        os.makedirs(p, exist_ok=True)
        for f in range(10):
            open(os.path.join(p, "f%d" % f), "w").close()
    i += 1
PY
churn_pid=$!
for round in 1 2 3 4 5 6; do
	id=$(submit "$CHURN" '"io_depth": 8, "workers": 1')
	[[ $(wait_done "$id") == completed ]] || fail "scan $id of a churning tree did not complete"
done
touch "$WORK/stop"
wait "$churn_pid"
# A connection just answered may take a moment to close: poll.
fds_back() { (($(fds) <= before)); }
wait_until "$WAIT_UNTIL_DEFAULT_S" fds_back ||
	fail "the server holds $(fds) descriptors after the churned scans, $before before"
after=$(fds)
echo "6 scans of a churning tree: $before descriptors before, $after after"
api_stop
echo PASS
