#!/usr/bin/env bash
# api_delete_durable: DELETE answers 204 only once the deletion is durable. Three scans are
# deleted (each 204, then 404), a queued and a running one among them, and the server is killed
# with -9 at once, before any background purge could have run: after a restart all three are 404
# on every route, GET /scans does not list them and /stats does not count them, while the scan
# that was kept is whole. (Before the fix, the records were removed in the background after the
# 204, and a crash brought the scans back with all their entries.)
source "$(dirname "${BASH_SOURCE[0]}")/api_lib.bash"
KERNEL=$(corpus kernel-like)
NASTY=$(corpus nasty)
slow=$WORK/slow
make_slow_tree "$slow"

api_start --max-running 1 --max-queued 4

# Two finished scans big enough that purging their rows takes a while, one to keep...
done1=$(submit "$KERNEL" '"use_gitignore": false')
[[ $(wait_done "$done1") == completed ]] || fail "scan $done1 did not complete"
keep=$(submit "$NASTY" '"use_gitignore": false')
[[ $(wait_done "$keep") == completed ]] || fail "scan $keep did not complete"
req GET "/scans/$keep"; expect 200 "the kept scan"
keep_files=$(jval "d['progress']['files']")
done2=$(submit "$KERNEL" '"use_gitignore": false')
[[ $(wait_done "$done2") == completed ]] || fail "scan $done2 did not complete"
# ... a running one (hashing files that take hours) and one queued behind it.
running=$(submit "$slow" '"hash": true, "workers": 1')
wait_state "$running" running
queued=$(submit "$slow" '"hash": true, "workers": 1')
req GET "/scans/$queued"; expect 200 "the queued scan"
py "assert J()['state'] == 'queued', J()"

# One keep-alive client deletes them (each 204, then 404) and kills the server the moment the
# last answer is in, as a crash right after the last 204 would.
gone=("$done1" "$running" "$queued" "$done2")
python3 - "$PORT" "$SERVER_PID" "${gone[@]}" <<'PY' || fail "deleting the scans"
import http.client, os, signal, sys
port, pid, ids = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
c = http.client.HTTPConnection('127.0.0.1', port, timeout=120)
for sid in ids:
    for method, want in (('DELETE', 204), ('GET', 404)):
        c.request(method, f'/scans/{sid}')
        r = c.getresponse()
        body = r.read()
        if r.status != want:
            os.kill(pid, signal.SIGKILL)
            sys.exit(f'{method} /scans/{sid}: {r.status}, expected {want}: {body[:300]!r}')
os.kill(pid, signal.SIGKILL)
PY
wait "$SERVER_PID" 2>/dev/null || true # killed above
SERVER_PID=

api_start --max-running 1 --max-queued 4
for id in "${gone[@]}"; do
	for path in "/scans/$id" "/scans/$id/entries" "/scans/$id/errors" "/scans/$id/stats"; do
		req GET "$path"; expect 404 "GET $path after DELETE, kill -9 and restart"
	done
	req POST "/scans/$id/cancel"; expect 404 "cancel of deleted scan $id after restart"
	req DELETE "/scans/$id"; expect 404 "DELETE of deleted scan $id after restart"
done
req GET "/scans?page_size=1000"; expect 200 "list after restart"
py "ids = [s['id'] for s in J()['scans']]; assert ids == [$keep], ids"
req GET /stats; expect 200 "stats after restart"
py "d = J()['scans']; assert d['completed'] == 1 and sum(d.values()) == 1, d"
# The kept scan lost nothing: its record and every entry page out.
req GET "/scans/$keep"; expect 200 "the kept scan after restart"
py "d = J(); assert d['state'] == 'completed' and d['progress']['files'] == $keep_files, d"
count_files() {
	python3 - "$PORT" "$keep" <<'PY'
import http.client, json, sys
port, sid = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection('127.0.0.1', port, timeout=120)
path, files = f'/scans/{sid}/entries?page_size=10000&type=file', 0
while path:
    c.request('GET', path)
    r = c.getresponse()
    body = json.loads(r.read())
    assert r.status == 200, (r.status, body)
    files += len(body['entries'])
    tok = body.get('next_page_token')
    path = f'/scans/{sid}/entries?page_size=10000&type=file&page_token={tok}' if tok else None
print(files)
PY
}
n=$(count_files) || fail "paging the kept scan's entries"
((n == keep_files)) || fail "the kept scan pages out $n files, its record says $keep_files"
api_stop
echo PASS
