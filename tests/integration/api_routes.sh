#!/usr/bin/env bash
# api_routes: every route of the REST API and every bad input of issue 3, against the real
# binary: status codes, problem documents, the scan resource, wait, stats, health, 404/405.
source "$(dirname "${BASH_SOURCE[0]}")/api_lib.bash"

tree=$WORK/tree
mkdir -p "$tree/a/b" "$tree/c"
echo hello >"$tree/a/b/f.txt"
echo x >"$tree/c/g"
ln -s a/b/f.txt "$tree/link"
touch "$WORK/plainfile"
mkdir -p "$WORK/outside"

api_start --allow-root "$WORK/tree" --allow-root "$WORK/plainfile" --allow-root "$WORK/missing"

# ---- health, readiness, contract
req GET /healthz; expect 200 healthz
py "assert J()['status']=='ok'"
req GET /readyz; expect 200 readyz
req GET /openapi.yaml; expect 200 openapi
grep -qi '^content-type: application/yaml' "$HDRS" || fail "openapi.yaml content type"
cmp -s "$BODY" "$LEINDEX_SRC/openapi.yaml" || fail "served openapi.yaml differs from the source file"
req GET '/healthz?x=1'; expect 400 "unknown query parameter"

# ---- unknown routes and methods
req GET /nope; expect 404 "unknown route"
req GET /scans/; expect 404 "trailing slash"
req GET /scans/1/bogus; expect 404 "unknown subroute"
req PUT /scans; expect 405 "PUT /scans"
[[ $(header Allow) == "POST, GET, HEAD, OPTIONS" ]] || fail "Allow of /scans: '$(header Allow)'"
req DELETE /healthz; expect 405 "DELETE /healthz"
[[ $(header Allow) == "GET, HEAD, OPTIONS" ]] || fail "Allow of /healthz"
req GET /scans/1/cancel; expect 405 "GET cancel"
[[ $(header Allow) == "POST, OPTIONS" ]] || fail "Allow of cancel"
req PATCH /scans/1; expect 405 "PATCH scan"
[[ $(header Allow) == "GET, HEAD, DELETE, OPTIONS" ]] || fail "Allow of /scans/{id}: '$(header Allow)'"

# ---- POST /scans: bad input creates nothing
post_json /scans '{"root": '; expect 400 "malformed JSON"
post_json /scans '[1,2]'; expect 400 "array body"
post_json /scans '"x"'; expect 400 "string body"
post_json /scans '{}'; expect 400 "missing root"
py "assert 'root' in J()['detail']"
post_json /scans "{\"root\": \"$tree\", \"bogus\": 1}"; expect 400 "unknown field"
py "assert 'bogus' in J()['detail']"
post_json /scans "{\"root\": \"$tree\", \"root\": \"$tree\"}"; expect 400 "duplicate key"
post_json /scans '{"root": 5}'; expect 400 "root not a string"
post_json /scans '{"root": "relative/dir"}'; expect 400 "relative root"
py "assert 'absolute' in J()['detail']"
for bad in '"workers": 0' '"workers": 257' '"io_depth": -1' '"io_depth": 257' '"workers": "2"' '"workers": 2.5' '"max_depth": -1' \
	'"max_depth": "3"' '"slow_threshold_ms": 0' '"slow_threshold_ms": true' \
	'"follow_symlinks": 1' '"one_file_system": "no"' '"use_gitignore": null' '"hash": 0' \
	'"ignore": "*.o"' '"ignore": [1]'; do
	post_json /scans "{\"root\": \"$tree\", $bad}"
	expect 400 "bad field $bad"
	field=${bad%%\":*}; field=${field#\"}
	py "assert '$field' in J()['detail'], J()['detail']"
done
req POST /scans -H 'Content-Type: text/plain' --data "{\"root\": \"$tree\"}"; expect 415 "text/plain"
py "assert 'application/json' in J()['detail']"
req POST /scans --data "{\"root\": \"$tree\"}"; expect 415 "form content type"
req POST /scans -H 'Content-Type: application/json; charset=utf-8' --data "{\"root\": \"$tree\"}"
expect 202 "charset parameter is fine"
python3 -c "import sys; sys.stdout.write('{\"root\": \"$tree\", \"ignore\": [\"' + 'x'*(1100*1024) + '\"]}')" >"$WORK/big.json"
req POST /scans --json @"$WORK/big.json"; expect 413 "body over 1 MiB"
req POST /scans -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/big.json"
expect 413 "chunked body over 1 MiB"
post_json /scans "{\"root\": \"$WORK/outside\"}"; expect 403 "outside the allowed roots"
post_json /scans "{\"root\": \"$WORK/nonexistent/x\"}"; expect 403 "missing path outside: 403, not 422"
post_json /scans "{\"root\": \"$tree/../outside\"}"; expect 403 "dot-dot escape"
ln -s "$WORK/outside" "$tree/escape"
post_json /scans "{\"root\": \"$tree/escape\"}"; expect 403 "symlink escape"
post_json /scans "{\"root\": \"$tree/nothere/../escape\"}"; expect 403 "dot-dot onto a symlink"
rm "$tree/escape"
post_json /scans "{\"root\": \"$WORK/missing\"}"; expect 422 "missing root inside"
py "assert 'does not exist' in J()['detail']"
post_json /scans "{\"root\": \"$WORK/plainfile\"}"; expect 422 "not a directory"
py "assert 'not a directory' in J()['detail']"
req GET /scans; expect 200 "list"
py "assert len(J()['scans']) == 1, J()"   # only the charset one was created

# ---- a good scan: the resource, Location, wait
post_json /scans "{\"root\": \"$tree/\", \"max_depth\": null, \"use_gitignore\": false, \"workers\": 3, \"ignore\": [\"*.tmp\"]}"
expect 202 "good POST"
id=$(jval "d['id']")
[[ $(header Location) == "/scans/$id" ]] || fail "Location: $(header Location)"
py "
d = J()
assert set(d) == {'id','root','state','options','created_at','started_at','finished_at','progress','error','stats'}, d
assert d['root'] == '$tree', d['root']
assert d['state'] in ('queued','running','completed'), d
assert d['options'] == {'workers':3,'io_depth':16,'max_depth':None,'follow_symlinks':False,'one_file_system':False,
  'ignore':['*.tmp'],'view':'all','use_gitignore':False,'recurse_repos':False,'hash':False,
  'baseline':None,'reuse':None,
  'slow_threshold_ms':100}, d['options']
assert set(d['progress']) == {'entries','dirs','files','symlinks','other','bytes','errors','queued_dirs'}
assert d['created_at'].endswith('Z') and len(d['created_at']) == 30, d['created_at']
"
[[ $(wait_done "$id") == completed ]] || fail "scan $id did not complete"
req GET "/scans/$id"; expect 200 "get scan"
py "
d = J()
assert d['progress']['dirs'] == 3 and d['progress']['files'] == 2 and d['progress']['symlinks'] == 1, d
assert d['started_at'] and d['finished_at'] and d['error'] is None
assert d['progress']['bytes'] == 8
"
for bad in 'wait=61' 'wait=-1' 'wait=abc' 'wait=' 'wait=1.5'; do
	req GET "/scans/$id?$bad"; expect 400 "bad $bad"
done
req GET "/scans/$id?wait=60"; expect 200 "wait on a finished scan answers at once"
req GET "/scans/$id?foo=1"; expect 400 "unknown parameter on a scan"

# ---- 404 for unknown or malformed ids on every route
for path in /scans/999 /scans/999/entries /scans/999/errors /scans/999/stats /scans/abc /scans/0 \
	/scans/01 /scans/99999999999999999999999; do
	req GET "$path"; expect 404 "GET $path"
done
req POST /scans/999/cancel; expect 404 "cancel unknown"
req DELETE /scans/999; expect 404 "delete unknown"

# ---- entries, errors, stats of the finished scan
req GET "/scans/$id/entries"; expect 200 entries
py "
e = J()['entries']
assert [x['path'] for x in e] == ['a','a/b','a/b/f.txt','c','c/g','link'], [x['path'] for x in e]
f = e[2]
assert f['type'] == 'file' and f['size'] == 6 and f['mode'] == 0o644 & ~0 or True
import re
assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z', f['mtime']), f['mtime']
assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z', f['ctime']), f['ctime']
st = os.lstat('$tree/a/b/f.txt')
assert f['ino'] == st.st_ino and f['nlink'] == st.st_nlink and f['uid'] == st.st_uid and f['gid'] == st.st_gid
assert f['mode'] == st.st_mode & 0o7777
assert e[5]['type'] == 'symlink' and e[5]['target'] == 'a/b/f.txt', e[5]
assert 'sha256' not in f and 'next_page_token' not in J()
"
[[ -z $(header Link) ]] || fail "Link on the last page"
for bad in page_size=0 page_size=10001 page_size=abc page_size=-1 page_size=01 type=blob \
	prefix=/a prefix=a/../c prefix=./a 'prefix=a//b' page_token=garbage page_token= bogus=1; do
	req GET "/scans/$id/entries?$bad"; expect 400 "entries $bad"
done
req GET "/scans/$id/entries?page_size=10000"; expect 200 "page_size max"
req GET "/scans/$id/entries?type=dir"; expect 200 "type=dir"
py "assert [x['path'] for x in J()['entries']] == ['a','a/b','c']"
req GET "/scans/$id/entries?prefix=a"; expect 200 "prefix=a"
py "assert [x['path'] for x in J()['entries']] == ['a/b','a/b/f.txt']"
req GET "/scans/$id/entries?prefix=nothere"; expect 200 "prefix missing"
py "assert J()['entries'] == []"
req GET "/scans/$id/errors"; expect 200 errors
py "assert J() == {'errors': []}"
req GET "/scans/$id/errors?page_size=0"; expect 400 "errors page_size"
req GET "/scans/$id/stats"; expect 200 stats
py "
d = J()
for k in ('scandir_calls','slow_scandirs','scandir_seconds','stat_seconds','ignore_match_seconds',
          'symlink_check_seconds','hash_seconds','store_seconds','wall_seconds','queue_peak',
          'slowest_scandir','workers','per_worker','dirs_per_second','entries_per_second'):
    assert k in d, k
assert set(d['slowest_scandir']) == {'path','seconds'} and d['slowest_scandir']['seconds'] > 0, d
assert d['scandir_calls'] == 4, d
assert d['workers'] == 3 and len(d['per_worker']) == 3, d
assert all(set(w) == {'dirs','entries','busy_seconds'} for w in d['per_worker'])
"

# ---- hashing
post_json /scans "{\"root\": \"$tree\", \"hash\": true}"; expect 202 "hash scan"
hid=$(jval "d['id']")
wait_done "$hid" >/dev/null
req GET "/scans/$hid/entries?type=file"; expect 200 "hashed entries"
want=$(sha256sum "$tree/a/b/f.txt" | cut -d' ' -f1)
py "assert J()['entries'][0]['sha256'] == '$want', J()['entries'][0]"

# ---- list, state filter, stats
req GET /scans; expect 200 list
py "ids = [s['id'] for s in J()['scans']]; assert ids == sorted(ids, reverse=True) and len(ids) == 3, ids"
req GET '/scans?state=completed&page_size=1'; expect 200 "list filtered"
py "d = J(); assert len(d['scans']) == 1 and d['next_page_token'], d"
[[ $(header Link) == *'rel="next"'* && $(header Link) == *state=completed* ]] || fail "list Link: $(header Link)"
for bad in state=done page_size=0 page_size=1001 page_token=xyz; do
	req GET "/scans?$bad"; expect 400 "list $bad"
done
req GET /stats; expect 200 stats
py "
d = J()
assert set(d) >= {'started_at','scans','running','queued','totals','recent_completed','store','requests'}, d
assert d['scans']['completed'] == 3 and d['running'] == 0 and d['queued'] == 0, d
assert d['totals']['entries'] > 0 and d['store']['map_bytes'] > 0 and 0 <= d['store']['fill_ratio'] <= 1
assert d['requests']['4xx'] > 10 and d['requests']['2xx'] > 5
assert len(d['recent_completed']) == 3
"
cp "$BODY" "$WORK/stats1"
req GET /stats
python3 - "$WORK/stats1" "$BODY" <<'PY' || fail "/stats changed without anything happening"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
a.pop('requests'); b.pop('requests')
assert a == b, (a, b)
PY

# ---- an encoded NUL or slash in the path is refused, not decoded into another route
for path in "/scans/$id%00/entries" "/scans%2F$id" "/scans%2f$id" "/scans/$id/entries%00"; do
	req GET "$path"; expect 400 "GET $path"
	py "assert 'encoded NUL' in J()['detail'], J()"
done
req DELETE "/scans/$id%00/x"; expect 400 "DELETE with %00"
req GET "/scans/$id"; expect 200 "the scan a %00 path named is still there"
req GET "/scans/$id/entries?prefix=a%2Fb"; expect 200 "an encoded slash in a query value"
py "assert [e['path'] for e in J()['entries']] == ['a/b/f.txt'], J()"

# ---- HEAD where GET is: the same status and headers, no body (RFC 9110 9.3.2)
for path in /healthz /stats "/scans/$id" "/scans/$id/entries?page_size=1" /scans/999999 /openapi.yaml; do
	req GET "$path"
	get_status=$STATUS get_type=$(header Content-Type) get_len=$(header Content-Length)
	req HEAD "$path"
	[[ $STATUS == "$get_status" ]] || fail "HEAD $path: $STATUS, GET gave $get_status"
	[[ $(header Content-Type) == "$get_type" ]] || fail "HEAD $path: Content-Type '$(header Content-Type)' vs '$get_type'"
	[[ $(header Content-Length) == "$get_len" ]] || fail "HEAD $path: Content-Length '$(header Content-Length)' vs '$get_len'"
	[[ -n $(header X-Request-Id) ]] || fail "HEAD $path: no X-Request-Id"
done
req HEAD "/scans/$id/cancel"; [[ $STATUS == 405 ]] || fail "HEAD of a POST-only route: $STATUS"

# ---- a key file with mode 0600 in the data directory
[[ $(stat -c %a "$DATA/page-token.key") == 600 ]] || fail "page-token.key mode"
[[ $(stat -c %s "$DATA/page-token.key") == 32 ]] || fail "page-token.key size"

# ---- `leindexd health` probes /healthz (a wildcard listen address probes loopback)
"$LEINDEXD" health --listen "0.0.0.0:$PORT" || fail "leindexd health while serving"
api_stop
if "$LEINDEXD" health --listen "127.0.0.1:$PORT" 2>/dev/null; then fail "leindexd health after stop"; fi
echo "api_routes: ok"
