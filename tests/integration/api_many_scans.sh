#!/usr/bin/env bash
# api_many_scans: /stats and /metrics with thousands of queued scans. One slow hashing scan holds
# the only runner and thousands more wait behind it (POSTed over one keep-alive connection); then
# /stats and /metrics answer with the right counts. Before the fix each call looked every stored
# scan up in a list of the queued ones (26,000 queued: 13.7 s per call); now one pass over the
# records with O(1) lookups. Nothing here is timed (the calls are polled with a generous
# deadline): unit test test_job counts the lookups instead. LEINDEX_MANY_SCANS sets how many
# (default 5,000: each POST is a synced write, about 10 ms on the test machines).
source "$(dirname "${BASH_SOURCE[0]}")/api_lib.bash"
N=${LEINDEX_MANY_SCANS:-5000}
slow=$WORK/slow
make_slow_tree "$slow"
small=$WORK/small
mkdir -p "$small/d"
touch "$small/d/f"

api_start --max-running 1 --max-queued 100000
busy=$(submit "$slow" '"hash": true, "workers": 1')
wait_state "$busy" running

python3 - "$PORT" "$small" "$N" <<'PY' || fail "queueing $N scans"
import http.client, json, sys
port, root, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
c = http.client.HTTPConnection('127.0.0.1', port, timeout=120)
body = json.dumps({'root': root})
for i in range(n):
    c.request('POST', '/scans', body=body, headers={'Content-Type': 'application/json'})
    r = c.getresponse()
    b = r.read()
    if r.status != 202:
        sys.exit(f'POST {i + 1} of {n}: {r.status} {b[:300]!r}')
PY

stats_ok() {
	req GET /stats -m 120
	[[ $STATUS == 200 ]] || return 1
	py "
d = J()
assert d['running'] == 1 and d['queued'] == $N, d
assert d['scans']['running'] == 1 and d['scans']['queued'] == $N, d['scans']
assert sum(d['scans'].values()) == $N + 1, d['scans']
" 2>/dev/null
}
wait_until "$WAIT_UNTIL_DEFAULT_S" stats_ok || fail "/stats with $N queued scans: $STATUS $(head -c 600 "$BODY")"

mval() { # NAME: the value of one sample of the last /metrics answer
	awk -v n="$1" '$1 == n { print $2 }' "$BODY"
}
metrics_ok() {
	req GET /metrics -m 120
	[[ $STATUS == 200 ]] || return 1
	[[ $(mval 'leindexd_scans{state="queued"}') == "$N" &&
		$(mval 'leindexd_scans{state="running"}') == 1 &&
		$(mval leindexd_scans_queued) == "$N" &&
		$(mval leindexd_scans_running) == 1 ]]
}
wait_until "$WAIT_UNTIL_DEFAULT_S" metrics_ok ||
	fail "/metrics with $N queued scans: $STATUS $(grep -E '^leindexd_scans' "$BODY" | tr '\n' ' ')"

# Deleting a queued scan from the middle of the queue is seen at once by both.
mid=$((busy + N / 2))
req DELETE "/scans/$mid"; expect 204 "delete queued scan $mid"
req GET /stats; expect 200 "stats after a delete"
py "d = J(); assert d['queued'] == $N - 1 and d['scans']['queued'] == $N - 1, d"
req GET /metrics; expect 200 "metrics after a delete"
[[ $(mval 'leindexd_scans{state="queued"}') == $((N - 1)) && $(mval leindexd_scans_queued) == $((N - 1)) ]] ||
	fail "/metrics after a delete: $(grep -E '^leindexd_scans' "$BODY" | tr '\n' ' ')"
# No SIGTERM: it would record each queued scan as interrupted, one synced write each. The exit
# trap kills the server.
echo PASS
