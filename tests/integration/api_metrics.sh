#!/usr/bin/env bash
# api_metrics: issue 5's HTTP surface against the real binary. /metrics passes `promtool check
# metrics` and its numbers move with a scan (by exactly what the scan found, live while it runs,
# never back when a scan is deleted); X-Request-Id is echoed or replaced and reaches problem
# bodies and the JSON log; /stats has a weak ETag that repeats while nothing happens and a 304
# for If-None-Match; CORS preflights for allowed origins only; OPTIONS without CORS; the counters
# of GET /scans/{id}/stats are the document of `leindexd scan --json`.
source "$(dirname "${BASH_SOURCE[0]}")/api_lib.bash"
command -v promtool >/dev/null || { echo "SKIP: promtool (Debian package prometheus) is missing"; exit 77; }

ORIGIN=https://dash.example
tree=$WORK/tree
mkdir -p "$tree/a/b" "$tree/c"
for i in $(seq 1 40); do echo "file $i" >"$tree/a/f$i"; done
echo hello >"$tree/a/b/g"
ln -s a/f1 "$tree/link"
# Slow to hash (sparse files read as zeros), one file per directory: the scanner counts a
# directory's entries when it has read them all, so the root's count shows while d1 hashes.
slow=$WORK/slow
for i in 1 2 3 4; do make_slow_tree "$slow/d$i"; done

started=$(date +%s)
api_start --cors-origin "$ORIGIN" --log-format json --max-running 2

# metrics FILE: GET /metrics into FILE, checked by promtool.
metrics() {
	req GET /metrics
	expect 200 "GET /metrics"
	grep -qi '^content-type: text/plain; version=0.0.4' "$HDRS" || fail "/metrics content type"
	cp "$BODY" "$1"
	promtool check metrics <"$1" >"$WORK/promtool.out" 2>&1 ||
		fail "promtool check metrics: $(cat "$WORK/promtool.out")"
}
# mval FILE SERIES: the value of one series (name with its labels as printed), 0 when absent.
mval() {
	python3 - "$1" "$2" <<'PY'
import sys
want = sys.argv[2]
for line in open(sys.argv[1]):
    if line.startswith('#'):
        continue
    name, _, value = line.rstrip('\n').rpartition(' ')
    if name == want:
        print(value)
        break
else:
    print(0)
PY
}
# grows A B WHAT: B - A printed; fails when B < A.
grows() {
	python3 -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(int(b - a) if (b - a).is_integer() else b - a); sys.exit(b < a)' "$1" "$2" ||
		fail "$3 went back from $1 to $2"
}

# ---- /metrics before and after one scan
metrics "$WORK/m0"
for fam in leindexd_build_info leindexd_scans leindexd_scans_running leindexd_scans_queued \
	leindexd_entries_scanned_total leindexd_dirs_scanned_total leindexd_bytes_scanned_total \
	leindexd_scandir_seconds leindexd_slow_scandirs_total leindexd_store_bytes \
	leindexd_store_map_fill_ratio leindexd_http_requests_total \
	leindexd_http_request_duration_seconds process_resident_memory_bytes process_open_fds \
	process_start_time_seconds process_cpu_seconds_total; do
	grep -q "^# HELP $fam " "$WORK/m0" || fail "no # HELP for $fam"
	grep -q "^# TYPE $fam " "$WORK/m0" || fail "no # TYPE for $fam"
done
[[ $(mval "$WORK/m0" 'leindexd_build_info{version="0.1.0"}') == 1 ]] || fail "build_info"
[[ $(mval "$WORK/m0" leindexd_entries_scanned_total) == 0 ]] || fail "entries before any scan"

id=$(submit "$tree" '"workers": 2')
[[ $(wait_done "$id") == completed ]] || fail "scan $id did not complete"
req GET "/scans/$id"; expect 200 "scan $id"
cp "$BODY" "$WORK/scan.json"
req GET "/scans/$id/stats"; expect 200 "stats $id"
cp "$BODY" "$WORK/counters.json"
metrics "$WORK/m1"
read -r entries dirs bytes < <(python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["progress"]
print(p["dirs"]+p["files"]+p["symlinks"]+p["other"], p["dirs"], p["bytes"])' "$WORK/scan.json")
calls=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["scandir_calls"])' "$WORK/counters.json")
((entries == 45)) || fail "the scan found $entries entries, want 45 (3 dirs, 41 files, 1 symlink)"
d=$(grows "$(mval "$WORK/m0" leindexd_entries_scanned_total)" "$(mval "$WORK/m1" leindexd_entries_scanned_total)" entries)
((d == entries)) || fail "entries_scanned_total grew by $d, the scan found $entries"
d=$(grows "$(mval "$WORK/m0" leindexd_dirs_scanned_total)" "$(mval "$WORK/m1" leindexd_dirs_scanned_total)" dirs)
((d == dirs)) || fail "dirs_scanned_total grew by $d, the scan found $dirs"
d=$(grows "$(mval "$WORK/m0" leindexd_bytes_scanned_total)" "$(mval "$WORK/m1" leindexd_bytes_scanned_total)" bytes)
((d == bytes)) || fail "bytes_scanned_total grew by $d, the scan found $bytes"
d=$(grows "$(mval "$WORK/m0" leindexd_scandir_seconds_count)" "$(mval "$WORK/m1" leindexd_scandir_seconds_count)" scandirs)
((d == calls)) || fail "scandir_seconds_count grew by $d, the scan read $calls directories"
[[ $(mval "$WORK/m1" 'leindexd_scandir_seconds_bucket{le="+Inf"}') == "$(mval "$WORK/m1" leindexd_scandir_seconds_count)" ]] ||
	fail "scandir +Inf bucket differs from _count"
[[ $(mval "$WORK/m1" 'leindexd_scans{state="completed"}') == 1 ]] || fail "scans{completed} after one scan"
posts=$(mval "$WORK/m1" 'leindexd_http_requests_total{route="/scans",code_class="2xx"}')
((posts == 1)) || fail "http_requests_total of POST /scans is $posts"
waits=$(mval "$WORK/m1" 'leindexd_http_request_duration_seconds_count{route="/scans/{id}"}')
((waits >= 2)) || fail "duration histogram of /scans/{id} counted $waits"
req GET /nope; expect 404 "unknown route"
metrics "$WORK/m2"
[[ $(mval "$WORK/m2" 'leindexd_http_requests_total{route="other",code_class="4xx"}') == 1 ]] ||
	fail "a 404 is not counted under route=\"other\""
d=$(grows "$(mval "$WORK/m1" 'leindexd_http_request_duration_seconds_count{route="/metrics"}')" \
	"$(mval "$WORK/m2" 'leindexd_http_request_duration_seconds_count{route="/metrics"}')" "/metrics count")
((d == 1)) || fail "the duration histogram of /metrics grew by $d"
[[ $(mval "$WORK/m2" process_resident_memory_bytes) -gt 1000000 ]] || fail "process_resident_memory_bytes"
[[ $(mval "$WORK/m2" process_open_fds) -gt 3 ]] || fail "process_open_fds"
# Between just before api_start and now (the kernel keeps the boot time in whole seconds).
python3 -c 'import sys,time; t=float(sys.argv[1]); sys.exit(not float(sys.argv[2]) - 2 <= t <= time.time() + 1)' \
	"$(mval "$WORK/m2" process_start_time_seconds)" "$started" || fail "process_start_time_seconds"

# ---- the counters move during a scan and never go back (cancel, delete)
live=$(submit "$slow" '"hash": true, "workers": 1')
# moved: /metrics (saved as m3) shows entries_scanned_total past the first scan's.
moved() {
	metrics "$WORK/m3"
	[[ $(mval "$WORK/m3" leindexd_entries_scanned_total) -gt $entries ]]
}
wait_until "$WAIT_UNTIL_DEFAULT_S" moved || true # asserted below, with the other figures
[[ $(mval "$WORK/m3" leindexd_scans_running) == 1 ]] || fail "scans_running during a scan"
[[ $(mval "$WORK/m3" 'leindexd_scans{state="running"}') == 1 ]] || fail "scans{running} during a scan"
grows "$entries" "$(mval "$WORK/m3" leindexd_entries_scanned_total)" "entries during a scan" >/dev/null
[[ $(mval "$WORK/m3" leindexd_entries_scanned_total) -gt $entries ]] || fail "entries_scanned_total did not move during a scan"
req POST "/scans/$live/cancel"; expect 200 "cancel the slow scan"
wait_state "$live" cancelled # it has stopped counting
metrics "$WORK/m4"
for s in leindexd_entries_scanned_total leindexd_dirs_scanned_total leindexd_bytes_scanned_total \
	leindexd_scandir_seconds_count leindexd_scandir_seconds_sum; do
	grows "$(mval "$WORK/m3" $s)" "$(mval "$WORK/m4" $s)" "$s across the end of a scan" >/dev/null
done
req DELETE "/scans/$id"; expect 204 "delete the first scan"
req DELETE "/scans/$live"; expect 204 "delete the slow scan"
# The deleter thread removes their records in the background; look once it says it has.
for s in "$id" "$live"; do
	wait_until "$WAIT_UNTIL_DEFAULT_S" logged "scan deleted" "$s" ||
		fail "scan $s was not deleted within $WAIT_UNTIL_DEFAULT_S s"
done
metrics "$WORK/m5"
for s in leindexd_entries_scanned_total leindexd_dirs_scanned_total leindexd_bytes_scanned_total \
	leindexd_scandir_seconds_count leindexd_slow_scandirs_total; do
	[[ $(mval "$WORK/m5" $s) == "$(mval "$WORK/m4" $s)" ]] || fail "$s changed when scans were deleted"
done
[[ $(mval "$WORK/m5" 'leindexd_scans{state="completed"}') == 0 ]] || fail "scans{completed} after delete"

# ---- X-Request-Id: echoed when 1..128 of [A-Za-z0-9._-], else replaced; in problems and logs
req GET /healthz -H 'X-Request-Id: abc.DEF-1_2'; expect 200 "request id"
[[ $(header X-Request-Id) == abc.DEF-1_2 ]] || fail "X-Request-Id not echoed: '$(header X-Request-Id)'"
id128=$(printf 'a%.0s' $(seq 128))
req GET /healthz -H "X-Request-Id: $id128"; expect 200 "128-char id"
[[ $(header X-Request-Id) == "$id128" ]] || fail "a 128-character id was not echoed"
for bad in "${id128}b" 'abc/def' 'a<b>' 'a;b' 'ä'; do
	req GET /healthz -H "X-Request-Id: $bad"; expect 200 "bad id $bad"
	got=$(header X-Request-Id)
	[[ $got =~ ^[0-9a-f]{32}$ ]] || fail "X-Request-Id '$bad' gave '$got', want 32 new hex digits"
done
req GET /healthz; expect 200 "no id"
gen1=$(header X-Request-Id)
req GET /healthz; gen2=$(header X-Request-Id)
[[ $gen1 =~ ^[0-9a-f]{32}$ && $gen1 != "$gen2" ]] || fail "generated ids '$gen1' '$gen2'"
req GET /scans/999 -H 'X-Request-Id: trace-404'; expect 404 "problem with an id"
py "assert J()['request_id'] == 'trace-404', J()"
[[ $(header X-Request-Id) == trace-404 ]] || fail "X-Request-Id of a problem"
req PUT /stats; expect 405 "405 problem"
py "assert J()['request_id'] == '$(header X-Request-Id)', J()"
# The line is written once the answer is out, so it may trail the answer a little.
wait_until "$WAIT_UNTIL_DEFAULT_S" grep -q '"msg":"request".*"route":"/scans/{id}".*"status":404.*"request_id":"trace-404"' "$WORK/server.log" ||
	fail "no JSON request log line with the request id"
python3 - "$WORK/server.log" <<'PY' || fail "the JSON log is not one object per line with ts, level, msg"
import json, sys
reqs = 0
for line in open(sys.argv[1]):
    d = json.loads(line)
    assert {'ts', 'level', 'msg'} <= set(d), d
    if d['msg'] == 'request':
        reqs += 1
        assert {'method', 'route', 'path', 'status', 'seconds', 'request_id'} <= set(d), d
        # Probes and scrapes log at debug only, so the info log does not show them.
        assert d['route'] not in ('/healthz', '/readyz', '/metrics'), d
        assert d['level'] == 'info', d
assert reqs > 10, reqs
PY

# ---- /stats: a weak ETag that repeats while nothing happens, 304 on If-None-Match
req GET /stats; expect 200 "stats"
etag=$(header ETag)
[[ $etag =~ ^W/\"[0-9a-f]+\"$ ]] || fail "ETag of /stats: '$etag'"
req GET /healthz
req GET /stats; expect 200 "stats again"
[[ $(header ETag) == "$etag" ]] || fail "ETag changed without anything happening: $etag, $(header ETag)"
rm -f "$BODY" # curl leaves the file alone when no body comes
req GET /stats -H "If-None-Match: $etag"; expect 304 "If-None-Match"
[[ ! -s $BODY ]] || fail "a 304 with a body"
[[ $(header ETag) == "$etag" && -n $(header X-Request-Id) ]] || fail "304 headers"
req GET /stats -H "If-None-Match: \"other\", ${etag#W/}"; expect 304 "strong form in a list"
req GET /stats -H 'If-None-Match: *'; expect 304 "If-None-Match *"
req GET /stats -H 'If-None-Match: W/"0"'; expect 200 "another tag"
small=$(submit "$tree/a/b")
wait_done "$small" >/dev/null
req GET /stats -H "If-None-Match: $etag"; expect 200 "after a scan"
[[ $(header ETag) != "$etag" ]] || fail "ETag unchanged after a scan"

# ---- CORS: preflight for allowed origins, nothing for others, exposed headers
req OPTIONS /scans -H "Origin: $ORIGIN" -H 'Access-Control-Request-Method: POST' \
	-H 'Access-Control-Request-Headers: content-type'
expect 204 "preflight"
[[ $(header Access-Control-Allow-Origin) == "$ORIGIN" ]] || fail "preflight Allow-Origin"
[[ $(header Access-Control-Allow-Methods) == *POST* ]] || fail "preflight Allow-Methods"
for h in Content-Type If-None-Match X-Request-Id; do
	[[ $(header Access-Control-Allow-Headers) == *$h* ]] || fail "preflight Allow-Headers lacks $h"
done
[[ $(header Access-Control-Max-Age) =~ ^[0-9]+$ ]] || fail "preflight Max-Age"
[[ $(header Vary) == *Origin* ]] || fail "preflight Vary"
req OPTIONS /scans/1/entries -H 'Origin: https://evil.example' -H 'Access-Control-Request-Method: GET'
expect 204 "preflight of another origin"
! grep -qi '^access-control-' "$HDRS" || fail "CORS headers for an origin not allowed: $(cat "$HDRS")"
[[ $(header Allow) == "GET, HEAD, OPTIONS" ]] || fail "Allow of entries: $(header Allow)"
req GET /stats -H "Origin: $ORIGIN"; expect 200 "GET with an allowed origin"
[[ $(header Access-Control-Allow-Origin) == "$ORIGIN" ]] || fail "Allow-Origin on GET"
for h in Location Link ETag Retry-After X-Request-Id; do
	[[ $(header Access-Control-Expose-Headers) == *$h* ]] || fail "Expose-Headers lacks $h"
done
req GET /stats -H 'Origin: https://evil.example'; expect 200 "GET from another origin"
! grep -qi '^access-control-' "$HDRS" || fail "CORS headers on GET for an origin not allowed"

# ---- the API's counters are the CLI's document
"$LEINDEXD" scan --json --data-dir "$WORK/cli-data" "$tree" >"$WORK/cli.json" 2>/dev/null ||
	fail "leindexd scan --json"
python3 - "$WORK/cli.json" "$WORK/counters.json" <<'PY' || fail "CLI and API counters differ in shape"
import json, sys
cli = json.load(open(sys.argv[1]))['stats']  # GET /scans/{id}'s document
api = json.load(open(sys.argv[2]))
assert set(cli) == set(api), (sorted(set(cli) ^ set(api)))
assert set(api['slowest_scandir']) == {'path', 'seconds'}, api['slowest_scandir']
PY
api_stop

# ---- without --cors-origin: OPTIONS is 204 with Allow and no CORS header
api_start
req OPTIONS /stats -H "Origin: $ORIGIN" -H 'Access-Control-Request-Method: GET'
expect 204 "OPTIONS without CORS"
[[ $(header Allow) == "GET, HEAD, OPTIONS" ]] || fail "Allow without CORS: $(header Allow)"
! grep -qi '^access-control-\|^vary:' "$HDRS" || fail "CORS headers while CORS is off"
metrics "$WORK/m6"
[[ $(mval "$WORK/m6" leindexd_entries_scanned_total) == 0 ]] || fail "a new process starts its counters at 0"
api_stop
echo "api_metrics: ok"
