#!/usr/bin/env bash
# api_race_delete: DELETE racing the POST that creates the scan. For each of 200 scans, one
# client POSTs it while another DELETEs the id it is about to get, over and over, until the
# DELETE lands: before the record exists (404), between the record and the queue, while it is
# queued, running or finished. Afterwards no scan may be half visible: every id answers the same
# on GET /scans/{id}, /entries, /errors, /stats, cancel and DELETE (all 404 here, since every
# DELETE landed), GET /scans lists none of them, and the job manager holds nothing (/stats:
# nothing running or queued). (Before the fix, a DELETE between the record and the queue left a
# job that ran, failed and stayed in memory: 404 on GET /scans/{id}, 200 [] on /entries, 409 on
# cancel.) Unit test test_job replays the same interleavings one by one with barriers.
source "$(dirname "${BASH_SOURCE[0]}")/api_lib.bash"
small=$WORK/small
mkdir -p "$small/d"
touch "$small/d/f" "$small/g"
PAIRS=${LEINDEX_RACE_PAIRS:-200}

api_start --max-queued 1000
first=$(submit "$small")
wait_done "$first" >/dev/null

python3 - "$PORT" "$small" "$first" "$PAIRS" >"$WORK/race.json" <<'PY' || fail "the race driver failed"
import http.client, json, sys, threading
port, root, first, pairs = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
body = json.dumps({'root': root})

def conn():
    return http.client.HTTPConnection('127.0.0.1', port, timeout=120)

def call(c, method, path, data=None):
    headers = {'Content-Type': 'application/json'} if data else {}
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse()
    return r.status, r.read()

post_c, del_c = conn(), conn()
ids, outcomes = [], {}
for i in range(pairs):
    want = first + 1 + i  # ids are handed out in order, and only this client creates scans
    posted = threading.Event()
    res = {}
    def post():
        res['post'] = call(post_c, 'POST', '/scans', body)
        posted.set()
    t = threading.Thread(target=post)
    t.start()
    while True:
        # Spin until the DELETE lands. Once the POST has answered, the record exists (only
        # this DELETE can remove it), so a 404 sent after that answer is a bug.
        done = posted.is_set()
        st, b = call(del_c, 'DELETE', f'/scans/{want}')
        if st == 204:
            break
        if st != 404:
            sys.exit(f'DELETE /scans/{want}: {st} {b[:300]!r}')
        if done:
            sys.exit(f'scan {want}: DELETE 404 after its POST answered {res["post"]}')
    t.join()
    st, b = res['post']
    if st == 202:
        got = json.loads(b)['id']
        if got != want:
            sys.exit(f'POST gave id {got}, expected {want}')
    elif st != 404:  # deleted before the POST could answer with it
        sys.exit(f'POST /scans: {st} {b[:300]!r}')
    outcomes[st] = outcomes.get(st, 0) + 1
    ids.append(want)
print(json.dumps({'ids': ids, 'post_outcomes': outcomes}))
PY
echo "race: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["post_outcomes"])' "$WORK/race.json")"

# Nothing left in the job manager: every raced scan was let go of.
idle() {
	req GET /stats
	[[ $STATUS == 200 ]] && py "d = J(); assert d['running'] == 0 and d['queued'] == 0, d" 2>/dev/null
}
wait_until "$WAIT_UNTIL_DEFAULT_S" idle || fail "scans still running or queued after the race: $(head -c 400 "$BODY")"
req GET /stats; expect 200 "stats after the race"
py "d = J(); assert d['scans']['queued'] == 0 and d['scans']['running'] == 0, d"

# Every id answers the same on every route: all 404 (a cancel or a second DELETE too: a scan
# the manager still held would answer 409 or 204 there).
python3 - "$PORT" "$WORK/race.json" <<'PY' || fail "a raced scan is visible on some routes"
import http.client, json, sys
port, ids = int(sys.argv[1]), json.load(open(sys.argv[2]))['ids']
c = http.client.HTTPConnection('127.0.0.1', port, timeout=120)
bad = []
for sid in ids:
    got = {}
    for method, path in (('GET', f'/scans/{sid}'), ('GET', f'/scans/{sid}/entries'),
                         ('GET', f'/scans/{sid}/errors'), ('GET', f'/scans/{sid}/stats'),
                         ('GET', f'/scans/{sid}?wait=1'), ('POST', f'/scans/{sid}/cancel'),
                         ('DELETE', f'/scans/{sid}')):
        c.request(method, path)
        r = c.getresponse()
        r.read()
        got[f'{method} {path}'] = r.status
    if set(got.values()) != {404}:
        bad.append(got)
c.request('GET', '/scans?page_size=1000')
r = c.getresponse()
listed = {s['id'] for s in json.loads(r.read())['scans']}
if listed & set(ids):
    bad.append({'listed': sorted(listed & set(ids))})
if bad:
    sys.exit(f'{len(bad)} half-visible scans, e.g. {bad[:5]}')
PY
# The survivors are exactly the scan made before the race.
req GET "/scans?page_size=1000"; expect 200 "list after the race"
py "ids = [s['id'] for s in J()['scans']]; assert ids == [$first], ids"
if grep -q "recording the end of a scan failed" "$WORK/server.log"; then
	fail "a raced scan's runner failed to record it: $(grep -m1 'recording the end' "$WORK/server.log")"
fi
api_stop
echo PASS
