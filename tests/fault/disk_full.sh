#!/usr/bin/env bash
# A full disk (ctest label fault). The data directory lives on a 1 MiB tmpfs mounted in a private
# mount namespace (unshare -m, as root; the test skips with 77 where that is not permitted), and
# the map (64 MiB) is far larger than the disk, so the disk fills first. A scan that fills it
# fails with a message naming the disk (ENOSPC); /readyz answers 503 while /healthz answers 200;
# the scan completed before stays readable; deleting the failed scan lets a new scan write and
# readiness comes back; and after a restart the store opens with every scan finished.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

# Re-run this script inside a private mount namespace: the tmpfs is seen by it alone and goes
# away with it.
if [[ -z ${LEINDEX_FAULT_IN_NS:-} ]]; then
	if [[ $(id -u) -ne 0 ]]; then
		echo "SKIP: mounting a tmpfs in a private mount namespace needs root (uid $(id -u))" >&2
		exit 77
	fi
	if ! unshare -m --propagation private true 2>/dev/null; then
		echo "SKIP: unshare -m is not permitted here (a container without CAP_SYS_ADMIN?)" >&2
		exit 77
	fi
	LEINDEX_FAULT_IN_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi

source "$HERE/../integration/api_lib.bash"
DISK=$WORK/disk
DATA=$DISK/data # api_start's data directory: on the small disk
mkdir -p "$DISK"
mount -t tmpfs -o size=1m,mode=0755 leindex-full "$DISK" || {
	echo "SKIP: cannot mount a tmpfs in the mount namespace" >&2
	exit 77
}
disk_cleanup() {
	api_cleanup_kill_only
	umount -l "$DISK" 2>/dev/null || true
	api_cleanup
}
api_cleanup_kill_only() {
	if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	SERVER_PID=
}
trap disk_cleanup EXIT

# Trees outside the small disk: a small one, and one whose index is larger than the disk: 2,000
# symbolic links, each recorded with its 1,500-byte target (3 MB of records).
SMALL=$WORK/small
BIG=$WORK/big
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

api_start --map-size 64M
small=$(submit "$SMALL" '"use_gitignore": false')
[[ $(wait_done "$small") == completed ]] || fail "the small scan did not complete"
req GET "/scans/$small/entries?page_size=1000"
expect 200 "entries of the small scan"
py "assert len(J()['entries']) == 24, len(J()['entries'])"
cp "$BODY" "$WORK/small.before"
req GET /readyz
expect 200 "readyz before the disk filled"

big=$(submit "$BIG" '"use_gitignore": false')
[[ $(wait_done "$big") == failed ]] || fail "a scan that fills the disk must fail"
req GET "/scans/$big"
py "e = J()['error']; assert 'the disk holding $DATA is full' in e, e"
echo "the failed scan says: $(jval "d['error']")"
req GET /readyz
expect 503 "readyz while the disk is full"
req GET /healthz
expect 200 "healthz while the disk is full"
df -k "$DISK" | tail -n1

# What completed before is intact: the same entries, byte for byte.
req GET "/scans/$small/entries?page_size=1000"
expect 200 "entries of the small scan on a full disk"
cmp -s "$BODY" "$WORK/small.before" || fail "the small scan's entries changed on a full disk"
# Listing still works (the failed scan among them, finished).
req GET /scans
expect 200 "list of scans on a full disk"
py "s = {x['id']: x['state'] for x in J()['scans']}; assert s[$small] == 'completed' and s[$big] == 'failed', s"

# Deleting the failed scan frees its pages: the next scan writes and readiness comes back.
req DELETE "/scans/$big"
[[ $STATUS == 204 ]] || fail "DELETE of the failed scan on a full disk answered $STATUS: $(head -c 300 "$BODY")"
wait_until "$WAIT_UNTIL_DEFAULT_S" logged "scan deleted" "$big" ||
	fail "scan $big was not deleted within $WAIT_UNTIL_DEFAULT_S s: $(tail -n 5 "$WORK/server.log")"
again=$(submit "$SMALL" '"use_gitignore": false')
st=$(wait_done "$again")
[[ $st == completed ]] || fail "after the delete, a small scan still ends $st"
req GET /readyz
expect 200 "readyz after the delete and a successful write"
api_stop

# A restart on the same (still small) disk: the store opens, every scan is finished, the first
# one unchanged, the deleted one gone.
api_start --map-size 64M
req GET "/scans/$small/entries?page_size=1000"
expect 200 "entries of the small scan after a restart"
cmp -s "$BODY" "$WORK/small.before" || fail "the small scan's entries changed across the restart"
req GET "/scans/$big"
expect 404 "the deleted scan after a restart"
req GET /scans
expect 200 "list after a restart"
py "s = J()['scans']; assert all(x['state'] in ('completed', 'failed', 'cancelled', 'interrupted') for x in s), s"
api_stop
echo PASS
