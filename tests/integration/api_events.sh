#!/usr/bin/env bash
# api_events: Server-Sent Events and progress samples, through the real binary and curl -N.
# A scan's stream opens with its state, sends progress while it runs and ends with `finished`,
# whose counts are the scan's final ones; a finished scan's stream is `finished` at once; a scan
# with a completed predecessor of the same root gets percent and eta_seconds; GET /events sees
# created, started, finished and deleted in order; 200 idle streams hold no thread each while
# /healthz answers; SIGTERM with them open exits 0 and ends them; the progress samples survive a
# restart; the streams need a read token when tokens are in force.
source "$(dirname "${BASH_SOURCE[0]}")/api_lib.bash"

SALSA=$(corpus salsa-like)
mkdir -p "$WORK/slow/d"
for i in 1 2 3; do echo "$i" >"$WORK/slow/d/f$i"; done
make_slow_tree "$WORK/slow/big" # hashing it never ends: the scan runs until cancelled

# sse_check FILE SCAN_ID: checks a scan's stream with python; prints nothing, fails the test.
# The final counts are the body of the last request (GET /scans/ID).
sse_events() { # FILE: the events of an SSE file as JSON lines [name, id, data]
	python3 - "$1" <<'PY'
import json, sys
for block in open(sys.argv[1], encoding='utf-8').read().split('\n\n'):
    name, eid, data = None, None, None
    for line in block.split('\n'):
        if line.startswith('event: '): name = line[7:]
        elif line.startswith('id: '): eid = int(line[4:])
        elif line.startswith('data: '): data = json.loads(line[6:])
    if name:
        print(json.dumps([name, eid, data]))
PY
}

api_start --max-connections 2000 --max-connections-per-client 1000 --max-running 1

# ---- GET /events in the background for the whole first part
curl -sN "$BASE/events" >"$WORK/all.sse" &
ALL_PID=$!
wait_until "$WAIT_UNTIL_DEFAULT_S" grep -q '^retry:' "$WORK/all.sse" || fail "GET /events sent nothing"

# ---- 1. percent and eta_seconds come from the previous completed scan of the same root. One
# scan runs at a time: the slow scan (hashing that never ends) holds the runner, so the scan of
# salsa-like waits queued behind it until the slow one is cancelled.
id2=$(submit "$WORK/slow" '"use_gitignore": false')
[[ $(wait_done "$id2") == completed ]] || fail "scan $id2 of the slow tree without hashing"
id3=$(submit "$WORK/slow" '"use_gitignore": false, "hash": true, "workers": 1')
wait_state "$id3" running
curl -sN "$BASE/scans/$id3/events" >"$WORK/s3.sse" &
S3_PID=$!
id1=$(submit "$SALSA" '"use_gitignore": false, "workers": 1, "slow_threshold_ms": 1')
scan_state_is "$id1" queued || fail "scan $id1 is not queued behind scan $id3"
curl -sN "$BASE/scans/$id1/events" >"$WORK/s1.sse" &
S1_PID=$!
two_progress() { (($(grep -c '^event: progress' "$WORK/s3.sse") >= 2)); }
wait_until "$WAIT_UNTIL_DEFAULT_S" two_progress || fail "no two progress events of scan $id3"
req GET "/scans/$id3/progress"; expect 200 "progress of running scan $id3"
py "s = J()['samples']; assert len(s) >= 2 and s[0]['t'] == 0 and s[-1]['t'] >= 1, s"
req POST "/scans/$id3/cancel"; expect 200 "cancel $id3"
ended() { ! kill -0 "$1" 2>/dev/null; }
wait_until "$WAIT_UNTIL_DEFAULT_S" ended "$S3_PID" || fail "the stream of scan $id3 did not end after its cancel"
wait "$S3_PID" || fail "the stream of scan $id3 was cut"
sse_events "$WORK/s3.sse" >"$WORK/s3.ev"
py "
ev = [json.loads(l) for l in open('$WORK/s3.ev')]
prog = [d for n, i, d in ev if n == 'progress']
assert len(prog) >= 2, ev
for d in prog:
    assert d['percent'] is not None and 0 <= d['percent'] < 100, d
    assert d['eta_seconds'] is not None and d['eta_seconds'] >= 0, d
assert prog[0]['elapsed_seconds'] < prog[-1]['elapsed_seconds'], prog
assert ev[-1][0] == 'finished' and ev[-1][2]['state'] == 'cancelled', ev[-1]
"

# ---- 2. the queued scan's stream: state queued, state running, progress, finished, whose counts
# are the scan's final ones
wait_until 300 ended "$S1_PID" || fail "the stream of scan $id1 did not end by itself"
wait "$S1_PID" || fail "the stream of scan $id1 was cut"
req GET "/scans/$id1"; expect 200 "scan $id1"
sse_events "$WORK/s1.sse" >"$WORK/s1.ev"
py "
ev = [json.loads(l) for l in open('$WORK/s1.ev')]
final = J()
names = [e[0] for e in ev]
assert names[:2] == ['state', 'state'] and names[-1] == 'finished' and names.count('finished') == 1, names
assert ev[0][2]['state'] == 'queued' and ev[1][2]['state'] == 'running', ev[:2]
assert set(names) <= {'state', 'progress', 'slow_dir', 'dropped', 'finished'}, names
for n, i, d in ev:
    assert d['scan_id'] == $id1 and d['state'], (n, d)
fin = ev[-1][2]
assert fin['state'] == final['state'] == 'completed', (fin, final)
for k in ('entries', 'dirs', 'files', 'symlinks', 'other', 'bytes', 'errors'):
    assert fin[k] == final['progress'][k], (k, fin, final['progress'])
assert fin['entries'] == fin['dirs'] + fin['files'] + fin['symlinks'] + fin['other'], fin
prev = 0
for n, i, d in ev:
    if n == 'progress':
        assert d['state'] == 'running' and prev <= d['entries'] <= fin['entries'], (d, prev, fin)
        assert 'percent' in d and 'eta_seconds' in d and d['elapsed_seconds'] >= 0, d
        prev = d['entries']
# One slow_dir per directory over the 1 ms threshold: as many as the scan counted (unless the
# stream was told it missed events), each naming its directory.
slow = [d for n, i, d in ev if n == 'slow_dir']
counted = final['stats']['slow_scandirs']
assert counted > 0, final['stats']
assert len(slow) == counted or ('dropped' in names and len(slow) < counted), (len(slow), counted)
for d in slow:
    assert ('path' in d or 'path_b64' in d) and d['entries'] >= 0 and d['seconds'] >= 0.001, d
assert len({d.get('path', d.get('path_b64')) for d in slow}) == len(slow), 'a directory twice'
print('scan $id1:', len(ev), 'events,', names.count('progress'), 'progress,', len(slow), 'slow_dir; final', fin['entries'], 'entries')
"

# ---- 3. a finished scan's stream: `finished` at once, then the stream ends
timeout 60 curl -sN "$BASE/scans/$id1/events" >"$WORK/s1b.sse" || fail "the stream of finished scan $id1 did not end"
sse_events "$WORK/s1b.sse" >"$WORK/s1b.ev"
py "
ev = [json.loads(l) for l in open('$WORK/s1b.ev')]
assert [e[0] for e in ev] == ['finished'], ev
assert ev[0][2]['entries'] == J()['progress']['entries'] and ev[0][2]['state'] == 'completed', ev
"
req GET /scans/999999/events; expect 404 "the events of no scan"

# ---- 4. progress samples: at most one a second, the final counts last
req GET "/scans/$id1"; cp "$BODY" "$WORK/final1.json"
req GET "/scans/$id1/progress"; expect 200 "progress of $id1"
py "
s = J()['samples']; final = J('$WORK/final1.json')['progress']
assert s and s[0]['t'] == 0 and s[0]['entries'] == 0, s
ts = [x['t'] for x in s]
assert ts == sorted(ts) and all(int(b) > int(a) for a, b in zip(ts, ts[1:-1])), ts
for k in ('entries', 'dirs', 'files', 'bytes', 'errors'):
    assert s[-1][k] == final[k], (k, s[-1], final)
assert set(s[-1]) == {'t', 'entries', 'dirs', 'files', 'bytes', 'errors'}, s[-1]
"
req GET "/scans/$id3/progress"; cp "$BODY" "$WORK/progress3.json"

# ---- 5. /stats totals count symlinks and other entries too
req GET /stats; expect 200 stats
py "
t = J()['totals']
assert {'entries', 'dirs', 'files', 'symlinks', 'other', 'bytes', 'errors'} <= set(t), t
assert t['entries'] == t['dirs'] + t['files'] + t['symlinks'] + t['other'] and t['symlinks'] >= 23, t
"

# ---- 6. GET /events saw each scan created, started, finished (and deleted), in that order
req DELETE "/scans/$id2"; expect 204 "delete $id2"
deleted_seen() { grep -q '"state":"deleted"' "$WORK/all.sse"; }
wait_until "$WAIT_UNTIL_DEFAULT_S" deleted_seen || fail "GET /events did not see scan $id2 deleted"
kill "$ALL_PID"
wait "$ALL_PID" 2>/dev/null || true
sse_events "$WORK/all.sse" >"$WORK/all.ev"
py "
ev = [json.loads(l) for l in open('$WORK/all.ev')]
ids = [i for n, i, d in ev]
assert ids == sorted(ids) and len(set(ids)) == len(ids), ids
for n, i, d in ev:
    assert 'scan_id' in d and 'state' in d and n in ('created', 'started', 'progress', 'finished', 'deleted'), (n, d)
def kinds(sid):
    return [n for n, i, d in ev if d['scan_id'] == sid and n != 'progress']
assert kinds($id1) == ['created', 'started', 'finished'], kinds($id1)
assert kinds($id2) == ['created', 'started', 'finished', 'deleted'], kinds($id2)
assert [n for n, i, d in ev if d['scan_id'] == $id3 and n == 'progress'], 'no progress of $id3 on /events'

assert kinds($id3) == ['created', 'started', 'finished'], kinds($id3)
fin = [d for n, i, d in ev if n == 'finished' and d['scan_id'] == $id1][0]
assert fin['entries'] == J('$WORK/final1.json')['progress']['entries'], fin
"

# ---- 7. 200 idle streams: no thread each; /healthz answers; SIGTERM ends them and exits 0
pids=()
for i in $(seq 200); do
	curl -sN "$BASE/events" >/dev/null 2>&1 &
	pids+=($!)
done
streams_open() { (($(ss -Htn state established "( sport = :$PORT )" | wc -l) >= 200)); }
wait_until "$WAIT_UNTIL_DEFAULT_S" streams_open || fail "200 event streams did not open"
curl -fs -m 30 "$BASE/healthz" >/dev/null || fail "/healthz did not answer beside 200 streams"
threads=$(ls "/proc/$SERVER_PID/task" | wc -l)
echo "200 open streams, $threads server threads"
((threads < 100)) || fail "$threads threads for 200 streams: a thread per client?"
api_stop
streams_ended() {
	local p
	for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 1; done
	return 0
}
wait_until "$WAIT_UNTIL_DEFAULT_S" streams_ended || fail "streams still open after the server stopped"
grep -q 'event streams ended' "$WORK/server.log" || fail "the stop did not end the streams"

# ---- 8. the samples are kept with the scan: the same after a restart
api_start
req GET "/scans/$id3/progress"; expect 200 "progress of $id3 after a restart"
python3 - "$WORK/progress3.json" "$BODY" <<'PY' || fail "the samples of scan $id3 changed across the restart"
import json, sys
a, b = (json.load(open(p))['samples'] for p in sys.argv[1:])
# The running scan's answer had the samples so far; the stored ones add its final counts.
assert b[:len(a)] == a or b[:len(a) - 1] == a[:-1], (a, b)
assert len(b) >= 2, b
PY
req GET "/scans/$id2/progress"; expect 404 "progress of deleted scan $id2"
api_stop

# ---- 9. with tokens in force, the streams need a read token
out=$("$LEINDEXD" token new --id reader --scope read) || fail "token new"
tok=$(sed -n 's/^token: //p' <<<"$out")
sed -n '3p' <<<"$out" >"$WORK/tokens"
api_start --token-file "$WORK/tokens"
req GET /events; expect 401 "GET /events without a token"
req GET "/scans/$id1/events"; expect 401 "GET /scans/$id1/events without a token"
code=$(curl -s -o "$WORK/tok.sse" -w '%{http_code}' -H "Authorization: Bearer $tok" \
	"$BASE/scans/$id1/events") || fail "GET /scans/$id1/events with a token"
[[ $code == 200 ]] && grep -q '^event: finished' "$WORK/tok.sse" || fail "with a read token: $code"
api_stop
echo "api_events: streams, estimates, samples, 200 idle clients, shutdown and access all right"
