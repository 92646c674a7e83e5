#!/usr/bin/env bash
# api_stream: Accept: application/x-ndjson streams /entries and /errors, chunked, one JSON object
# a line, exactly the paged listing in the same order (filters too); gzip and zstd decode with
# the gzip and zstd tools to the same bytes; only the highest-weighted Accept type streams; a
# client that goes away mid-stream leaves the server serving; a scan deleted under a stream ends
# it with an {"error": ...} line and no terminating chunk.
source "$(dirname "${BASH_SOURCE[0]}")/api_lib.bash"
need gzip
need zstd

# 40,082 entries: a stream far larger than what socket buffers hold (~10 MB), in many chunks.
tree=$WORK/tree
python3 - "$tree" <<'PY'
import os, sys
root = sys.argv[1].encode()
for d in range(40):
    dd = os.path.join(root, b'd%02d' % d, b'sub')
    os.makedirs(dd)
    for i in range(1000):
        open(os.path.join(os.path.dirname(dd) if i % 2 else dd, b'file-%04d.%s' % (i, b'rs' if i % 3 else b'md')), 'wb').close()
open(os.path.join(root, b'odd\xffname'), 'wb').close()
os.symlink(b'nowhere', os.path.join(root, b'dangling'))
PY

api_start
id=$(submit "$tree" '"use_gitignore": false')
[[ $(wait_done "$id") == completed ]] || fail "scan did not complete"

cat >"$WORK/same.py" <<'PY'
# same.py BASE ID QUERY NDJSON_FILE: the stream's lines are the paged listing's entries.
import json, sys, urllib.request
base, sid, query, path = sys.argv[1:5]
url = f'{base}/scans/{sid}/entries?page_size=10000' + (f'&{query}' if query else '')
paged = []
while url:
    with urllib.request.urlopen(url) as r:
        body = json.load(r)
    paged += body['entries']
    tok = body.get('next_page_token')
    url = f'{base}/scans/{sid}/entries?page_size=10000&page_token={tok}' + (f'&{query}' if query else '') if tok else None
with open(path, 'rb') as f:
    data = f.read()
assert data.endswith(b'\n') or not data, 'the stream does not end with a newline'
lines = [json.loads(l) for l in data.split(b'\n')[:-1]] if data else []
assert lines == paged, (query, len(lines), len(paged))
print(f'{query or "all"}: {len(lines)} entries, same as the pages')
PY

nd=(-H 'Accept: application/x-ndjson')
for q in "" "ext=md" "prefix=d07" "match=d1*/sub/*.rs&min_size=0" "type=symlink" "prefix=none"; do
	curl -s -D "$HDRS" -o "$WORK/s.ndjson" "${nd[@]}" "$BASE/scans/$id/entries${q:+?$q}" || fail "stream $q"
	grep -qi '^content-type: application/x-ndjson' "$HDRS" || fail "stream $q: not application/x-ndjson"
	grep -qi '^transfer-encoding: chunked' "$HDRS" || fail "stream $q: not chunked"
	python3 "$WORK/same.py" "$BASE" "$id" "$q" "$WORK/s.ndjson" || fail "stream $q differs from the pages"
done
curl -s -o "$WORK/all.ndjson" "${nd[@]}" "$BASE/scans/$id/entries"
[[ $(wc -l <"$WORK/all.ndjson") -eq 40082 ]] || fail "the whole stream has $(wc -l <"$WORK/all.ndjson") lines, not 40082"

# Compressed: decoded by the tools, the same bytes; the header says which.
curl -s -D "$HDRS" -o "$WORK/s.gz" "${nd[@]}" -H 'Accept-Encoding: gzip' "$BASE/scans/$id/entries"
grep -qi '^content-encoding: gzip' "$HDRS" || fail "no Content-Encoding: gzip"
gzip -dc "$WORK/s.gz" | cmp - "$WORK/all.ndjson" || fail "gzip stream differs"
curl -s -D "$HDRS" -o "$WORK/s.zst" "${nd[@]}" -H 'Accept-Encoding: gzip;q=0.5, zstd' "$BASE/scans/$id/entries"
grep -qi '^content-encoding: zstd' "$HDRS" || fail "no Content-Encoding: zstd"
zstd -dcq "$WORK/s.zst" | cmp - "$WORK/all.ndjson" || fail "zstd stream differs"
(($(stat -c %s "$WORK/s.zst") * 5 < $(stat -c %s "$WORK/all.ndjson"))) || fail "zstd did not compress"
curl -s -D "$HDRS" -o /dev/null "${nd[@]}" -H 'Accept-Encoding: br, gzip;q=0' "$BASE/scans/$id/entries"
grep -qi '^content-encoding' "$HDRS" && fail "an encoding the client refused"
echo "gzip and zstd decode to the same stream"

# Only the highest-weighted type streams; otherwise the paged JSON, as before.
accept_is() { # ACCEPT WANT(ndjson|json)
	curl -s -D "$HDRS" -o /dev/null -H "Accept: $1" "$BASE/scans/$id/entries?page_size=1"
	local ct
	ct=$(header Content-Type)
	[[ $2 == ndjson && $ct == application/x-ndjson* ]] || [[ $2 == json && $ct == application/json* ]] ||
		fail "Accept: $1 gave $ct, not $2"
}
accept_is 'application/x-ndjson' ndjson
accept_is 'application/json;q=0.9, application/x-ndjson' ndjson
accept_is '*/*;q=0.1, application/x-ndjson' ndjson
accept_is 'application/x-ndjson;q=0.5, application/json' json
accept_is 'application/x-ndjson;q=0' json
accept_is '*/*' json
accept_is 'application/json' json

# Errors stream the same way (this scan has none: an empty, complete stream).
curl -s -D "$HDRS" -o "$WORK/e.ndjson" "${nd[@]}" "$BASE/scans/$id/errors"
grep -qi '^content-type: application/x-ndjson' "$HDRS" || fail "errors: not NDJSON"
[[ ! -s $WORK/e.ndjson ]] || fail "errors of a scan without errors: $(head -c 300 "$WORK/e.ndjson")"

cat >"$WORK/raw.py" <<'PY'
# raw.py PORT PATH MODE [SCAN]: a raw HTTP/1.1 client with a small receive window.
#   cut   reads a little of the stream, then closes the connection
#   pause reads a little, writes PATH.paused, waits for PATH.go, then reads to the end and
#         prints the last decoded line and whether the terminating chunk came
import os, socket, sys, time
port, path, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
flag = sys.argv[4] if len(sys.argv) > 4 else ''
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(('127.0.0.1', port))
s.sendall(f'GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/x-ndjson\r\n\r\n'.encode())
data = s.recv(4096)
assert data.startswith(b'HTTP/1.1 200'), data[:200]
if mode == 'cut':
    s.close()
    sys.exit(0)
open(flag + '.paused', 'w').close()
deadline = time.monotonic() + 120
while not os.path.exists(flag + '.go'):
    assert time.monotonic() < deadline, 'never told to go on'
    time.sleep(0.05)
s.settimeout(120)
while True:
    b = s.recv(1 << 16)
    if not b:
        break
    data += b
head, _, body = data.partition(b'\r\n\r\n')
out, ended = b'', False
while body:
    size_line, _, rest = body.partition(b'\r\n')
    n = int(size_line, 16)
    if n == 0:
        ended = True
        break
    if len(rest) < n:
        out += rest
        break
    out += rest[:n]
    body = rest[n + 2:]
lines = out.rstrip(b'\n').split(b'\n')
print(lines[-1].decode('utf-8', 'replace'))
print('terminated' if ended else 'cut')
PY

# A client that goes away mid-stream: the server goes on serving, and logs it as not completed.
for _ in 1 2 3; do
	python3 "$WORK/raw.py" "$PORT" "/scans/$id/entries" cut || fail "the cut client failed"
done
curl -sf -o "$WORK/again.ndjson" "${nd[@]}" "$BASE/scans/$id/entries" || fail "no stream after cut clients"
cmp "$WORK/again.ndjson" "$WORK/all.ndjson" || fail "a stream after cut clients differs"
cut_logged() { grep -q 'path="/scans/'"$id"'/entries".*completed="no' "$WORK/server.log"; }
wait_until "$WAIT_UNTIL_DEFAULT_S" cut_logged || fail "no log line of a stream cut by its client"
echo "clients that go away leave the server serving"

# A scan deleted under a stream: the stream ends with an error line and no terminating chunk.
id2=$(submit "$tree" '"use_gitignore": false')
wait_done "$id2" >/dev/null
python3 "$WORK/raw.py" "$PORT" "/scans/$id2/entries" pause "$WORK/flag" >"$WORK/paused.out" &
client=$!
wait_until "$WAIT_UNTIL_DEFAULT_S" test -e "$WORK/flag.paused" || fail "the pausing client did not start"
req DELETE "/scans/$id2"
[[ $STATUS == 202 || $STATUS == 204 ]] || fail "DELETE answered $STATUS"
req GET "/scans/$id2"
expect 404 "the deleted scan"
touch "$WORK/flag.go"
wait "$client" || fail "the pausing client failed: $(cat "$WORK/paused.out")"
last=$(head -n1 "$WORK/paused.out")
how=$(tail -n1 "$WORK/paused.out")
python3 -c 'import json,sys; e=json.loads(sys.argv[1])["error"]; assert e["status"]==404 and "deleted" in e["detail"], e' "$last" ||
	fail "the cut stream does not end with the error line: $last"
[[ $how == cut ]] || fail "a stream cut by a deletion sent its terminating chunk"
echo "a scan deleted under a stream ends it with an error line and no terminating chunk"
api_stop # exits 0 (and, under ASan, with every stream freed)
echo "api_stream: OK"
