#!/usr/bin/env bash
# api_lifecycle: queueing (FIFO, 429 past --max-queued), wait (held, not blocking others,
# answered when its time is up or when the scan ends), cancel (200 then 409; it takes effect
# mid-file while hashing a file far too large to finish), delete (204, then 404 on every route),
# SIGTERM (running and queued scans become interrupted, exit 0), restart (completed scans kept)
# and kill -9 (a running scan comes back interrupted, with its entries).
# Nothing here times the server: states are polled (wait_state, wait_until) with generous
# deadlines, so a loaded machine or a sanitizer build only makes the test slower.
source "$(dirname "${BASH_SOURCE[0]}")/api_lib.bash"

slow=$WORK/slow
make_slow_tree "$slow"
small=$WORK/small
mkdir -p "$small/d"
touch "$small/d/f" "$small/g"

api_start --max-running 1 --max-queued 1

# ---- one runs, one waits, the third is refused with Retry-After
a=$(submit "$slow" '"hash": true, "workers": 1')
b=$(submit "$small")
# A free runner counts as room for one more, so the third is refused whether or not the runner
# has taken up the first yet.
post_json /scans "{\"root\": \"$small\"}"; expect 429 "past max-queued"
[[ -n $(header Retry-After) ]] || fail "429 without Retry-After"
wait_state "$a" running
req GET "/scans/$b"; expect 200 "queued scan"
py "assert J()['state'] == 'queued', J()"
req GET "/scans/$b/entries"; expect 409 "entries of a queued scan"
req GET "/scans/$b/stats"; expect 409 "stats of a queued scan"
req GET "/scans/$a/entries"; expect 409 "entries of a running scan"
req GET "/scans/$a/stats"; expect 200 "live stats"
req GET /stats; expect 200 stats
py "d = J(); assert d['running'] == 1 and d['queued'] == 1 and d['scans']['queued'] == 1, d"

# ---- wait answers when the time is up (not before; later only on a busy machine)
t0=$(date +%s%N)
req GET "/scans/$a?wait=2" -m 60; expect 200 "wait=2 on a running scan"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
py "assert J()['state'] == 'running', J()"
(( ms >= 1900 )) || fail "wait=2 answered after $ms ms, before its time was up"

# ---- cancel the queued one: at once
req POST "/scans/$b/cancel"; expect 200 "cancel queued"
py "assert J()['state'] == 'cancelled' and J()['finished_at'], J()"
req POST "/scans/$b/cancel"; expect 409 "cancel again"

# ---- a request waiting on a running scan is held without holding up others: /healthz answers
# while it waits (it can only end when the scan does, or after its 60 s)
hold_get "/scans/$a?wait=60" "$WORK/held"
for _ in 1 2 3 4 5; do
	curl -fsS -m 60 -o /dev/null "$BASE/healthz" || fail "healthz while a request waits on a scan"
done
[[ ! -e $WORK/held ]] || fail "the waiting request was answered before its scan ended: $(cat "$WORK/held")"

# ---- cancel the running one, mid-hash
req POST "/scans/$a/cancel"; expect 200 "cancel running"
# The answer waits a moment for the scan to stop; on a busy machine it may come first.
py "assert J()['state'] in ('cancelled', 'running'), J()"
# The scan stops although the file being hashed would take hours to finish...
wait_state "$a" cancelled
py "assert J()['finished_at'], J()"
# ... and the request held on it is answered then, with the final state.
wait_until "$WAIT_UNTIL_DEFAULT_S" test -e "$WORK/held" ||
	fail "the held wait was not answered when its scan ended"
wait "$HOLD_PID" || fail "the held wait failed"
python3 - "$WORK/held" <<'PY' || fail "the held wait's answer: $(cat "$WORK/held")"
import json, sys
status, _, body = open(sys.argv[1], 'rb').read().partition(b'\n')
assert status == b'200' and json.loads(body)['state'] == 'cancelled', (status, body)
PY
req POST "/scans/$a/cancel"; expect 409 "cancel a cancelled scan"
req GET "/scans/$a/entries"; expect 200 "entries of a cancelled scan"
req GET "/scans/$a/stats"; expect 200 "stats of a cancelled scan"

# ---- wait returns as soon as the scan finishes
c=$(submit "$small")
req GET "/scans/$c?wait=30"; expect 200 "wait"
py "assert J()['state'] == 'completed', J()"
req POST "/scans/$c/cancel"; expect 409 "cancel a completed scan"

# ---- delete: 204, then 404 everywhere; a running scan too; ids never reused
req DELETE "/scans/$c"; expect 204 "delete"
for path in "/scans/$c" "/scans/$c/entries" "/scans/$c/errors" "/scans/$c/stats" "/scans/$c?wait=5"; do
	req GET "$path"; expect 404 "GET $path after delete"
done
req POST "/scans/$c/cancel"; expect 404 "cancel after delete"
req DELETE "/scans/$c"; expect 404 "delete twice"
req GET /scans; expect 200 list
py "assert $c not in [s['id'] for s in J()['scans']]"
d=$(submit "$slow" '"hash": true, "workers": 1')
wait_state "$d" running
req DELETE "/scans/$d"; expect 204 "delete a running scan"
req GET "/scans/$d"; expect 404 "deleted running scan"
e=$(submit "$small")
(( e > d )) || fail "id $e reused"
wait_done "$e" >/dev/null
req GET "/scans?page_size=1000"; expect 200 list
py "ids = [s['id'] for s in J()['scans']]; assert ids == [$e, $b, $a], ids"

# ---- SIGTERM: the running and the queued scan become interrupted, exit 0
f=$(submit "$slow" '"hash": true, "workers": 1')
g=$(submit "$small")
wait_state "$f" running
req GET "/scans/$g"; expect 200 "scan $g before SIGTERM"
py "assert J()['state'] == 'queued', J()"
api_stop
api_start --max-running 1 --max-queued 1
for s in "$f" "$g"; do
	req GET "/scans/$s"; expect 200 "scan $s after SIGTERM"
	py "assert J()['state'] == 'interrupted', J()"
done
req GET "/scans/$e"; expect 200 "completed scan after restart"
py "assert J()['state'] == 'completed' and J()['progress']['files'] == 2, J()"
req GET "/scans/$e/entries"; expect 200 "entries after restart"
py "assert [x['path'] for x in J()['entries']] == ['d', 'd/f', 'g'], J()"
req POST "/scans/$f/cancel"; expect 409 "cancel an interrupted scan"

# ---- kill -9 while running: interrupted after restart, with its entries
mid=$WORK/mid
mkdir -p "$mid/early"
touch "$mid/early/x"
make_slow_tree "$mid/zz"
h=$(submit "$mid" '"hash": true, "workers": 1')
# Killed once it has found entries (the root's, at least) and is hashing.
found() {
	scan_state_is "$h" running || return 1
	(($(jval "d['progress']['dirs'] + d['progress']['files']") > 0))
}
wait_until "$WAIT_UNTIL_DEFAULT_S" found || fail "scan $h found nothing in $WAIT_UNTIL_DEFAULT_S s"
api_kill9
api_start
req GET "/scans/$h"; expect 200 "killed scan"
py "assert J()['state'] == 'interrupted', J()"
req GET "/scans/$h/entries"; expect 200 "entries of a killed scan"
i=$(submit "$small")
(( i > h )) || fail "id $i reused after a crash"
api_stop
echo "api_lifecycle: ok"
