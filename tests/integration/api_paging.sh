#!/usr/bin/env bash
# api_paging: paging through entries with page_size 1 and 7 yields exactly what `find` lists,
# in depth-first pre-order with bytewise siblings; a non-UTF-8 name round-trips through
# path_b64; filters (type, prefix) match find; tokens are tamper-evident and bound to the scan,
# the route and the filters.
source "$(dirname "${BASH_SOURCE[0]}")/api_lib.bash"

tree=$WORK/tree
python3 - "$tree" <<'PY'
import os, sys
root = sys.argv[1].encode()
def mk(p, data=b''):
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, 'wb') as f:
        f.write(data)
for d in (b'd1', b'd1-x', b'd1.x', b'd1/sub', b'd1/sub/deeper', b'z', b'A', b'sp ace'):
    os.makedirs(os.path.join(root, d), exist_ok=True)
for i in range(40):
    mk(os.path.join(root, b'd1', b'f%02d' % i), b'x' * i)
for i in range(25):
    mk(os.path.join(root, b'd1/sub', b'g%d' % i))
mk(os.path.join(root, b'd1/sub/deeper', b'leaf'))
mk(os.path.join(root, b'd1-x', b'not-below-d1'))
mk(os.path.join(root, b'd1.x', b'nor-this'))
mk(os.path.join(root, b'z', b'caf\xc3\xa9'))            # valid UTF-8
mk(os.path.join(root, b'z', b'bad\xff\xfename'))       # not UTF-8
mk(os.path.join(root, b'sp ace', b'quote"back\\slash'))
mk(os.path.join(root, b'A', b'new\nline'))
os.symlink(b'target\xffbytes', os.path.join(root, b'z', b'badlink'))
os.symlink(b'd1', os.path.join(root, b'dirlink'))
PY

api_start
id=$(submit "$tree" '"use_gitignore": false')
[[ $(wait_done "$id") == completed ]] || fail "scan did not complete"
id2=$(submit "$tree" '"use_gitignore": false')
wait_done "$id2" >/dev/null

cat >"$WORK/page.py" <<'PY'
# page.py BASE ID PAGE_SIZE [QUERY]: prints one JSON list of base64 raw paths, paging to the end
# and checking next_page_token against the Link header on the way.
import base64, json, sys, urllib.request
base, sid, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
query = sys.argv[4] if len(sys.argv) > 4 else ''
url = f'{base}/scans/{sid}/entries?page_size={size}' + (f'&{query}' if query else '')
paths, pages = [], 0
while url:
    with urllib.request.urlopen(url) as r:
        body = json.load(r)
        link = r.headers.get('Link')
    pages += 1
    assert len(body['entries']) <= size
    for e in body['entries']:
        if 'path' in e:
            assert 'path_b64' not in e
            paths.append(e['path'].encode())
        else:
            paths.append(base64.b64decode(e['path_b64']))
    tok = body.get('next_page_token')
    if tok:
        assert link and link.endswith('>; rel="next"') and 'page_token=' + tok in link, (link, tok)
        url = base + link[1:link.index('>')]
        assert len(body['entries']) == size
    else:
        assert link is None, link
        url = None
print(json.dumps({'pages': pages, 'paths': [base64.b64encode(p).decode() for p in paths]}))
PY

# compare QUERY FIND-ARGS...: pages at 1 and 7 must equal find's list in pre-order.
compare() {
	local query=$1
	shift
	find "$tree" -mindepth 1 "$@" -printf '%P\0' >"$WORK/find.out"
	for size in 1 7 10000; do
		python3 "$WORK/page.py" "$BASE" "$id" "$size" "$query" >"$WORK/pages.json" ||
			fail "paging $query at $size"
		python3 - "$WORK/pages.json" "$WORK/find.out" "$size" "$query" <<'PY' || fail "page_size=$size $query differs from find"
import base64, json, sys
got = [base64.b64decode(p) for p in json.load(open(sys.argv[1]))['paths']]
want = [p for p in open(sys.argv[2], 'rb').read().split(b'\0') if p]
assert len(got) == len(set(got)), 'an entry came twice'
assert set(got) == set(want), (sorted(set(want) - set(got)), sorted(set(got) - set(want)))
assert got == sorted(got, key=lambda p: p.split(b'/')), 'not depth-first pre-order with bytewise siblings'
PY
	done
}
compare ""
compare "type=file" -type f
compare "type=dir" -type d
compare "type=symlink" -type l
prefix_cmp() {
	local prefix=$1 dir=${1%/}
	find "$tree/$dir" -mindepth 1 -printf "$dir/%P\\0" >"$WORK/find.out"
	python3 "$WORK/page.py" "$BASE" "$id" 7 "prefix=$prefix" >"$WORK/pages.json"
	python3 - "$WORK/pages.json" "$WORK/find.out" <<'PY' || fail "prefix=$prefix differs from find"
import base64, json, sys
got = [base64.b64decode(p) for p in json.load(open(sys.argv[1]))['paths']]
want = [p for p in open(sys.argv[2], 'rb').read().split(b'\0') if p]
assert got == sorted(want, key=lambda p: p.split(b'/')), (got, want)
PY
}
prefix_cmp d1
prefix_cmp d1/sub
prefix_cmp "d1/sub/"
python3 "$WORK/page.py" "$BASE" "$id" 3 "prefix=d1&type=dir" >"$WORK/pages.json"
py "import base64; got=[base64.b64decode(p) for p in J('$WORK/pages.json')['paths']]; assert got == [b'd1/sub', b'd1/sub/deeper'], got"

# ---- the non-UTF-8 name and link target round-trip through _b64
req GET "/scans/$id/entries?prefix=z"; expect 200 "z entries"
py "
e = {(x.get('path') or base64.b64decode(x['path_b64'])): x for x in J()['entries']}
bad = e[base64.b64decode(base64.b64encode(b'z/bad\xff\xfename'))]
assert 'path' not in bad and base64.b64decode(bad['path_b64']) == b'z/bad\xff\xfename', bad
assert e['z/caf\u00e9']['type'] == 'file'
link = e['z/badlink']
assert 'target' not in link and base64.b64decode(link['target_b64']) == b'target\xffbytes', link
"

# ---- tokens
req GET "/scans/$id/entries?page_size=5"; expect 200 "first page"
tok=$(jval "d['next_page_token']")
req GET "/scans/$id/entries?page_size=5&page_token=$tok"; expect 200 "token as issued"
py "assert J()['entries'][0]['path'] != 'A'"
req GET "/scans/$id/entries?page_size=9&page_token=$tok"; expect 200 "another page_size is fine"
# one character changed, wherever it is
for pos in 0 5 $((${#tok} / 2)) $((${#tok} - 1)); do
	c=${tok:$pos:1}
	[[ $c == A ]] && r=B || r=A
	bad=${tok:0:$pos}$r${tok:$((pos + 1))}
	req GET "/scans/$id/entries?page_token=$bad"; expect 400 "tampered at $pos"
done
req GET "/scans/$id/entries?page_token=${tok:0:20}"; expect 400 "truncated token"
req GET "/scans/$id/entries?page_token=${tok}AA"; expect 400 "extended token"
req GET "/scans/$id/entries?page_token=%00%01"; expect 400 "binary token"
req GET "/scans/$id/entries?page_token=$(head -c 3000 /dev/zero | tr '\0' A)"; expect 400 "long token"
req GET "/scans/$id/entries?page_token=$tok&type=file"; expect 400 "token reused with another type"
req GET "/scans/$id/entries?page_token=$tok&prefix=d1"; expect 400 "token reused with another prefix"
req GET "/scans/$id2/entries?page_token=$tok"; expect 400 "another scan's token"
req GET "/scans/$id/errors?page_token=$tok"; expect 400 "entries token on errors"
req GET "/scans?page_token=$tok"; expect 400 "entries token on the scan list"
req GET "/scans?page_size=1"; expect 200 "scan list page"
stok=$(jval "d['next_page_token']")
req GET "/scans?page_token=$stok"; expect 200 "scan list token"
py "assert [s['id'] for s in J()['scans']] == [$id]"
req GET "/scans?page_token=$stok&state=completed"; expect 400 "scan token with another state"
req GET "/scans/$id/entries?page_token=$stok"; expect 400 "scan token on entries"

# ---- tokens survive a restart (the key is kept in the data directory)
api_stop
api_start
req GET "/scans/$id/entries?page_size=5&page_token=$tok"; expect 200 "token after restart"
api_stop
echo "api_paging: ok"
