#!/usr/bin/env bash
# api_query: every entry filter of GET /scans/{id}/entries (match, name, ext, sizes, times, type,
# prefix in its modes, prefix_b64, count) answers exactly what python3 computes from the tree on
# disk; /entry, /top and /tree too; bad values are 400s that name the parameter; partial=true
# reads a running scan; the CLI's `entries` and `top` print what the API answers.
source "$(dirname "${BASH_SOURCE[0]}")/api_lib.bash"

tree=$WORK/tree
python3 - "$tree" <<'PY'
import os, sys
root = sys.argv[1].encode()
def mk(rel, size=0, mtime=None):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, 'wb') as f:
        f.truncate(size)
    if mtime is not None:
        os.utime(p, ns=(mtime, mtime))
i = 0
for d in (b'src', b'src/lib', b'src/lib/deep', b'src-x', b'srcs', b'docs', b'node_modules/pkg', b'bin'):
    for n in (b'main.rs', b'test_one.rs', b'lib.c', b'x.tar.gz', b'README', b'.hidden.rs',
              b'Cargo.toml', b'a.GZ', b'notes.md'):
        i += 1
        # sizes repeat; mtimes from 1960 to 2100 with nanoseconds
        mk(os.path.join(d, n), size=(i * 37) % 500, mtime=(i * 2_000_000_000_123) % 4_400_000_000_000_000_000 - 300_000_000_000_000_000)
mk(b'package.json', 123)
mk(b'bad\xffdir/f\xfe.rs', 7)
mk(b'empty/.keep', 0)
os.symlink(b'src/main.rs', os.path.join(root, b'link.rs'))
os.symlink(b'docs', os.path.join(root, b'docslink'))
PY
# Mtimes the FS could not keep (before 1970 on some) are read back by python from the tree.

api_start
id=$(submit "$tree" '"use_gitignore": false')
[[ $(wait_done "$id") == completed ]] || fail "scan did not complete"

cat >"$WORK/check.py" <<'PY'
# check.py BASE ID TREE: every filter against the truth computed from the tree.
import base64, datetime, fnmatch, json, os, stat, sys, urllib.parse, urllib.request, urllib.error
base, sid, tree = sys.argv[1], sys.argv[2], sys.argv[3].encode()

def truth():
    out = []
    def walk(rel):
        d = os.path.join(tree, rel) if rel else tree
        for name in sorted(os.listdir(d)):
            r = os.path.join(rel, name) if rel else name
            st = os.lstat(os.path.join(tree, r))
            t = 'dir' if stat.S_ISDIR(st.st_mode) else 'file' if stat.S_ISREG(st.st_mode) else \
                'symlink' if stat.S_ISLNK(st.st_mode) else 'other'
            out.append((r, t, st.st_size, st.st_mtime_ns))
            if t == 'dir':
                walk(r)
    walk(b'')
    return out
T = truth()

def get(path, q):
    url = f'{base}/scans/{sid}/{path}?' + urllib.parse.urlencode(q, doseq=True)
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, json.load(r), r.headers
    except urllib.error.HTTPError as e:
        return e.code, json.load(e), e.headers

def paths(q):
    q = list(q) + [('page_size', '7')]
    got, tok = [], None
    while True:
        st, body, _ = get('entries', q + ([('page_token', tok)] if tok else []))
        assert st == 200, (q, st, body)
        for e in body['entries']:
            got.append(e['path'].encode() if 'path' in e else base64.b64decode(e['path_b64']))
        tok = body.get('next_page_token')
        if not tok:
            return got

def ns(s):
    d = datetime.datetime.fromisoformat(s.replace('Z', '+00:00'))
    return int(d.timestamp()) * 10**9 + d.microsecond * 1000  # test values have microseconds

def name(p):
    return p.rsplit(b'/', 1)[-1]

def glob_rs(p, t):       # '*.rs': the name, at any depth
    return fnmatch.fnmatchcase(name(p), b'*.rs')
def glob_src_test(p, t): # 'src/**/test_*': below src, any depth
    return p.startswith(b'src/') and fnmatch.fnmatchcase(name(p), b'test_*')

after, before = '1999-01-01T00:00:00.25+01:00', '2040-06-01T12:00:00Z'
cases = [
    ([], lambda p, t, s, m: True),
    ([('match', '*.rs')], lambda p, t, s, m: glob_rs(p, t)),
    ([('match', 'src/**/test_*')], lambda p, t, s, m: glob_src_test(p, t)),
    ([('name', 'package.json')], lambda p, t, s, m: name(p) == b'package.json'),
    ([('name', 'README')], lambda p, t, s, m: name(p) == b'README'),
    ([('ext', 'gz')], lambda p, t, s, m: name(p).endswith(b'.gz')),
    ([('ext', 'tar.gz')], lambda p, t, s, m: name(p).endswith(b'.tar.gz')),
    ([('ext', 'rs'), ('ext', 'md')], lambda p, t, s, m: name(p).endswith((b'.rs', b'.md'))),
    ([('ext', 'GZ')], lambda p, t, s, m: name(p).endswith(b'.GZ')),
    ([('min_size', '250')], lambda p, t, s, m: s >= 250),
    ([('max_size', '37')], lambda p, t, s, m: s <= 37),
    ([('min_size', '74'), ('max_size', '74')], lambda p, t, s, m: s == 74),
    ([('modified_after', after)], lambda p, t, s, m: m >= ns(after)),
    ([('modified_before', before)], lambda p, t, s, m: m <= ns(before)),
    ([('modified_after', after), ('modified_before', before), ('type', 'file')],
     lambda p, t, s, m: ns(after) <= m <= ns(before) and t == 'file'),
    ([('type', 'dir')], lambda p, t, s, m: t == 'dir'),
    ([('type', 'symlink')], lambda p, t, s, m: t == 'symlink'),
    ([('prefix', 'src')], lambda p, t, s, m: p.startswith(b'src/')),
    ([('prefix', 'src/')], lambda p, t, s, m: p.startswith(b'src/')),
    ([('prefix', 'src/lib/lib.c')], lambda p, t, s, m: p == b'src/lib/lib.c'),
    ([('prefix', 'package.json')], lambda p, t, s, m: p == b'package.json'),
    ([('prefix', 'src'), ('prefix_mode', 'path')], lambda p, t, s, m: p.startswith(b'src/')),
    ([('prefix', 'src'), ('prefix_mode', 'string')], lambda p, t, s, m: p.startswith(b'src')),
    ([('prefix', 'src/lib/t'), ('prefix_mode', 'string')], lambda p, t, s, m: p.startswith(b'src/lib/t')),
    ([('prefix', 'no/such')], lambda p, t, s, m: False),
    ([('prefix_b64', base64.b64encode(b'bad\xffdir').decode())], lambda p, t, s, m: p.startswith(b'bad\xffdir/')),
    ([('prefix', 'src'), ('ext', 'rs'), ('max_size', '300')],
     lambda p, t, s, m: p.startswith(b'src/') and name(p).endswith(b'.rs') and s <= 300),
]
for q, pred in cases:
    want = [p for p, t, s, m in T if pred(p, t, s, m)]
    got = paths(q)
    assert got == want, (q, len(got), len(want), got[:5], want[:5])
    st, body, _ = get('entries', q + [('count', 'true')])
    assert st == 200 and body == {'count': len(want)}, (q, body, len(want))
    if len(want) == 0 and q and q[0][0] != 'prefix':
        continue
print(f'{len(cases)} filter cases match the tree')

# One entry, by path and path_b64.
for p, t, s, m in T:
    q = {'path': p.decode()} if b'\xff' not in p else {'path_b64': base64.b64encode(p).decode()}
    st, body, _ = get('entry', q)
    assert st == 200 and body['type'] == t and body['size'] == s, (p, st, body)
for q in ({'path': 'no/such'}, {'path': 'src/nope.rs'}):
    st, body, _ = get('entry', q)
    assert st == 404 and 'no entry' in body['detail'], (q, st, body)

# Top by size and by mtime: the keys of the N largest regular files.
files = [(p, s, m) for p, t, s, m in T if t == 'file']
for by, key in (('size', lambda f: f[1]), ('mtime', lambda f: f[2])):
    for n in (1, 5, 1000):
        st, body, _ = get('top', {'by': by, 'limit': n})
        assert st == 200, body
        got = [e['size'] if by == 'size' else ns_ for e in body['entries']
               for ns_ in [None]] if by == 'size' else None
        want = sorted((key(f) for f in files), reverse=True)[:n]
        if by == 'size':
            assert [e['size'] for e in body['entries']] == want, (by, n, body)
        else:
            assert len(body['entries']) == len(want)
            byp = {f[0]: f[2] for f in files}
            keys = [byp[e['path'].encode() if 'path' in e else base64.b64decode(e['path_b64'])]
                    for e in body['entries']]
            assert keys == want, (by, n)
        assert all(e['type'] == 'file' for e in body['entries'])
st, body, _ = get('top', {'by': 'size', 'limit': 3, 'ext': 'rs'})
assert [e['size'] for e in body['entries']] == sorted((s for p, s, m in files if name(p).endswith(b'.rs')), reverse=True)[:3]

# Tree: the totals of the prefix and each child directory's subtree.
def totals(prefix):
    sub = [(p, t, s) for p, t, s, m in T if not prefix or p.startswith(prefix + b'/')]
    return {'entries': len(sub), 'files': sum(t == 'file' for p, t, s in sub),
            'bytes': sum(s for p, t, s in sub if t == 'file')}
for prefix, depth in ((b'', 1), (b'src', 1), (b'src', 3), (b'node_modules', 2)):
    q = {'depth': depth}
    if prefix:
        q['prefix'] = prefix.decode()
    st, body, _ = get('tree', q)
    assert st == 200, body
    assert body['prefix'] == prefix.decode(), body
    assert {k: body[k] for k in ('entries', 'files', 'bytes')} == totals(prefix), (prefix, body)
    lvl = prefix.count(b'/') + (1 if prefix else 0)
    want_dirs = [p for p, t, s, m in T if t == 'dir' and (not prefix or p.startswith(prefix + b'/'))
                 and p.count(b'/') + 1 - lvl <= depth]
    got_dirs = [d['path'].encode() if 'path' in d else base64.b64decode(d['path_b64']) for d in body['dirs']]
    assert got_dirs == want_dirs, (prefix, depth, got_dirs, want_dirs)
    for d, p in zip(body['dirs'], got_dirs):
        assert {k: d[k] for k in ('entries', 'files', 'bytes')} == totals(p), (p, d)
        assert d.get('name', '').encode() == name(p) or 'name_b64' in d
st, body, _ = get('tree', {'prefix': 'no/such'})
assert st == 404, body
print('entry, top and tree match the tree')
PY
python3 "$WORK/check.py" "$BASE" "$id" "$tree" || fail "filters do not match the tree"

# Bad values: 400, naming the parameter.
bad_cases=(
	"entries?min_size=-1 min_size"
	"entries?min_size=1x min_size"
	"entries?modified_after=2024-01-01 modified_after"
	"entries?modified_before=2024-02-30T00:00:00Z modified_before"
	"entries?type=fifo type"
	"entries?ext=.rs ext"
	"entries?name=a/b name"
	"entries?prefix=../x prefix"
	"entries?prefix=/abs prefix"
	"entries?prefix=a&prefix_b64=YQ== prefix_b64"
	"entries?prefix_mode=string prefix_mode"
	"entries?prefix=a&prefix_mode=glob prefix_mode"
	"entries?prefix_b64=%25%25 prefix_b64"
	"entries?min_size=9&max_size=1 min_size"
	"entries?match=%21x match"
	"entries?name=a&name=b name"
	"entries?count=maybe count"
	"entries?colour=red colour"
	"entry path"
	"entry?path=/etc/passwd path"
	"entry?path=a/../b path"
	"top?by=name by"
	"top?limit=10001 limit"
	"top?type=dir type"
	"tree?depth=0 depth"
	"tree?prefix=../x prefix"
)
for c in "${bad_cases[@]}"; do
	path=${c% *} word=${c##* }
	req GET "/scans/$id/$path"
	expect 400 "GET $path"
	grep -q "$word" "$BODY" || fail "GET $path: the 400 does not name $word: $(cat "$BODY")"
done
echo "${#bad_cases[@]} bad queries refused with 400"
req GET "/scans/999/entry?path=a"
expect 404 "an entry of a scan that does not exist"
req GET "/scans/999/top"
expect 404 "top of a scan that does not exist"
req GET "/scans/999/tree"
expect 404 "tree of a scan that does not exist"

# Paging with filters: the Link header repeats them all (ext twice) and the token is bound.
req GET "/scans/$id/entries?ext=rs&ext=md&page_size=2"
expect 200 "first page with filters"
link=$(header Link)
[[ $link == *"ext=rs&ext=md"* ]] || fail "the Link lost a repeated ext: $link"
tok=$(jval "d['next_page_token']")
req GET "/scans/$id/entries?ext=rs&page_size=2&page_token=$tok"
expect 400 "a token of other filters"

# The CLI prints what the API answers, beside the running server (it opens the store read-only).
curl -s "$BASE/scans/$id/entries?ext=rs&page_size=10000" | python3 -c '
import json, sys, base64
for e in json.load(sys.stdin)["entries"]:
    sys.stdout.buffer.write((e["path"].encode() if "path" in e else base64.b64decode(e["path_b64"])) + b"\n")' >"$WORK/api_rs"
curl -s "$BASE/scans/$id/top?by=size&limit=5" | python3 -c '
import json, sys
print(json.dumps(json.load(sys.stdin)["entries"], sort_keys=True))' >"$WORK/api_top"
curl -s "$BASE/scans/$id/entries?count=true" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])' >"$WORK/api_count"
"$LEINDEXD" entries "$id" --data-dir "$DATA" --ext rs >"$WORK/cli_rs" || fail "leindexd entries failed"
cmp "$WORK/api_rs" "$WORK/cli_rs" || fail "leindexd entries --ext rs differs from the API"
"$LEINDEXD" entries "$id" --data-dir "$DATA" --count >"$WORK/cli_count" || fail "leindexd entries --count failed"
cmp "$WORK/api_count" "$WORK/cli_count" || fail "leindexd entries --count differs from the API"
"$LEINDEXD" top "$id" --by size --limit 5 --json --data-dir "$DATA" | python3 -c '
import json, sys
print(json.dumps(json.load(sys.stdin)["entries"], sort_keys=True))' >"$WORK/cli_top" || fail "leindexd top failed"
cmp "$WORK/api_top" "$WORK/cli_top" || fail "leindexd top --json differs from the API"
"$LEINDEXD" entries "$id" --data-dir "$DATA" --null --prefix src | tr '\0' '\n' >"$WORK/cli_null"
[[ $(wc -l <"$WORK/cli_null") -gt 10 ]] || fail "leindexd entries --null printed too little"
api_stop
rc=0
"$LEINDEXD" entries "$id" --data-dir "$DATA" --min-size nope 2>"$WORK/err" || rc=$?
((rc == 2)) && grep -q min_size "$WORK/err" || fail "a bad --min-size is not a usage error naming it (rc $rc)"
rc=0
"$LEINDEXD" entries "$id" --json --null --data-dir "$DATA" 2>/dev/null || rc=$?
((rc == 2)) || fail "--json --null together is not a usage error"
echo "the CLI answers as the API"

# partial=true on a running scan: what is stored so far, marked partial; 409 without it.
api_start
slow=$WORK/slow
mkdir -p "$slow/early/a" "$slow/early/b"
touch "$slow/early/a/f1" "$slow/early/b/f2"
make_slow_tree "$slow/late"
rid=$(submit "$slow" '"hash": true, "use_gitignore": false')
wait_state "$rid" running
partial_ready() {
	req GET "/scans/$rid/entries?partial=true"
	[[ $STATUS == 200 ]] && py "d=J(); assert d['partial'] is True and any(e['path']=='early/b/f2' for e in d['entries'])" 2>/dev/null
}
wait_until "$WAIT_UNTIL_DEFAULT_S" partial_ready || fail "partial=true never showed early/b/f2: $(cat "$BODY")"
req GET "/scans/$rid/entries"
expect 409 "entries of a running scan without partial"
grep -q partial=true "$BODY" || fail "the 409 does not mention partial=true"
req GET "/scans/$rid/entries?partial=true&count=true"
expect 200 "count of a running scan"
py "d=J(); assert d['partial'] is True and d['count'] >= 5, d"
req GET "/scans/$rid/entries?partial=true&page_size=1"
expect 200 "first partial page"
tok=$(jval "d['next_page_token']")
req POST "/scans/$rid/cancel"
wait_done "$rid" >/dev/null
req GET "/scans/$rid/entries?page_size=1&page_token=$tok"
expect 400 "a partial=true token without partial=true"
req GET "/scans/$rid/entries?partial=true&page_size=1&page_token=$tok"
expect 200 "a partial=true token after the scan stopped"
py "d=J(); assert 'partial' not in d, d"
echo "api_query: OK"
