#!/usr/bin/env bash
# api_diff: GET /scans/{id}/diff on a real tree changed between two scans (added, removed,
# modified in place with the same size and a new mtime, chmod, a file replaced by a directory, a
# directory by a symlink, a directory renamed, names sorting around '/', a non-UTF-8 name): every
# line equals the truth the test computes from lstat snapshots taken with each scan; pages of one
# equal one page; the NDJSON stream equals the pages; change= filters; a self-diff is empty;
# errors say why; GET /scans?root= filters the list (paged); `leindexd diff A B` prints the same.
source "$(dirname "${BASH_SOURCE[0]}")/api_lib.bash"

tree=$WORK/tree
other=$WORK/other
mkdir -p "$other" && echo x >"$other/x"

cat >"$WORK/snap.py" <<'PY'
# snap.py ROOT OUT: an lstat snapshot of ROOT (below it) as JSON: b64 path -> attributes.
import base64, json, os, stat, sys
root = os.fsencode(sys.argv[1])
snap = {}
def walk(d, rel):
    for e in os.scandir(d):
        p = rel + b'/' + e.name if rel else e.name
        st = os.lstat(e.path)
        t = 'dir' if stat.S_ISDIR(st.st_mode) else 'file' if stat.S_ISREG(st.st_mode) else \
            'symlink' if stat.S_ISLNK(st.st_mode) else 'other'
        snap[base64.b64encode(p).decode()] = {
            'type': t, 'size': st.st_size, 'mtime': st.st_mtime_ns, 'mode': st.st_mode & 0o7777,
            'target': base64.b64encode(os.readlink(e.path)).decode() if t == 'symlink' else None}
        if t == 'dir':
            walk(e.path, p)
walk(root, b'')
json.dump(snap, open(sys.argv[2], 'w'))
PY

cat >"$WORK/truth.py" <<'PY'
# truth.py BEFORE AFTER: the diff's (path b64, change) lines, in depth-first order.
import base64, json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
def key(k):
    return base64.b64decode(k).split(b'/')
out = []
for k in sorted(set(a) | set(b), key=key):
    x, y = a.get(k), b.get(k)
    if x is None:
        c = 'added'
    elif y is None:
        c = 'removed'
    elif x['type'] != y['type']:
        c = 'type_changed'
    elif x['mode'] != y['mode'] or x['target'] != y['target'] or \
            (x['type'] != 'dir' and (x['size'] != y['size'] or x['mtime'] != y['mtime'])):
        c = 'modified'
    else:
        continue
    out.append([k, c])
json.dump(out, sys.stdout)
PY

cat >"$WORK/check.py" <<'PY'
# check.py TRUTH BEFORE AFTER DIFF_LIST_JSON [CHANGE]: the diff equals the truth, entries too.
import base64, json, sys
truth = json.load(open(sys.argv[1]))
a, b = (json.load(open(p)) for p in sys.argv[2:4])
got = json.load(open(sys.argv[4]))
only = sys.argv[5] if len(sys.argv) > 5 else None
if only:
    truth = [t for t in truth if t[1] == only]
def p64(d):
    return d['path_b64'] if 'path_b64' in d else base64.b64encode(d['path'].encode()).decode()
lines = [[p64(d), d['change']] for d in got]
for i, (g, t) in enumerate(zip(lines, truth)):
    assert g == t, f'line {i}: got {g} ({base64.b64decode(g[0])}), want {t} ({base64.b64decode(t[0])})'
assert len(lines) == len(truth), f'{len(lines)} lines, want {len(truth)}'
for d in got:
    k = p64(d)
    for side, snap in (('before', a), ('after', b)):
        e = d[side]
        if k not in snap:
            assert e is None, (k, side, e)
            continue
        assert e is not None and e['type'] == snap[k]['type'], (k, side, e)
        assert p64(e) == k, (k, e)
        if e['type'] == 'file':
            assert e['size'] == snap[k]['size'] and e['mode'] == snap[k]['mode'], (k, side, e)
print(f'{len(lines)} lines equal the truth{" (" + only + ")" if only else ""}')
PY

cat >"$WORK/pages.py" <<'PY'
# pages.py BASE PATH QUERY KEY OUT: follows next_page_token to the end; the KEY arrays into OUT.
import json, sys, urllib.request
base, path, q, key, out = sys.argv[1:6]
got, tok = [], None
for _ in range(100000):
    url = f'{base}{path}?{q}' + (f'&page_token={tok}' if tok else '')
    with urllib.request.urlopen(url) as r:
        assert r.status == 200, (url, r.status)
        d = json.load(r)
    got += d[key]
    tok = d.get('next_page_token')
    if not tok:
        break
json.dump(got, open(out, 'w'))
PY

# diff_pages ID QUERY OUT: the diff objects of every page into OUT.
diff_pages() {
	python3 "$WORK/pages.py" "$BASE" "/scans/$1/diff" "$2" diff "$3" || fail "paging the diff of $1?$2"
}

# The tree before.
python3 - "$tree" <<'PY'
import os, sys
r = os.fsencode(sys.argv[1])
def f(p, data=b'x'):
    p = os.path.join(r, p)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    open(p, 'wb').write(data)
for i in range(300):
    f(b'keep/k%03d' % i, b'%d' % i)
f(b'rm.txt'); f(b'rmdir/a'); f(b'rmdir/sub/b')
f(b'same.txt', b'hello'); f(b'mode.txt'); f(b'f2d')
f(b'd2l/one'); f(b'd2l/deep/two')
f(b'old/x'); f(b'old/y/z')
f(b'a/x'); f(b'a-b'); f(b'a.b'); f(b'a0')
os.symlink(b'a-b', os.path.join(r, b'link'))
PY
api_start
id1=$(submit "$tree" '"use_gitignore": false')
[[ $(wait_done "$id1") == completed ]] || fail "scan 1 did not complete"
python3 "$WORK/snap.py" "$tree" "$WORK/s1.json"

# The changes.
python3 - "$tree" <<'PY'
import os, shutil, sys
r = os.fsencode(sys.argv[1])
j = lambda p: os.path.join(r, p)
open(j(b'new.txt'), 'wb').write(b'n')
os.makedirs(j(b'newdir/sub')); open(j(b'newdir/f1'), 'wb').close(); open(j(b'newdir/sub/f2'), 'wb').close()
os.remove(j(b'rm.txt')); shutil.rmtree(j(b'rmdir'))
st = os.stat(j(b'same.txt'))
open(j(b'same.txt'), 'r+b').write(b'HELLO')       # in place, same size
os.utime(j(b'same.txt'), ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
os.chmod(j(b'mode.txt'), 0o600)
os.remove(j(b'f2d')); os.mkdir(j(b'f2d')); open(j(b'f2d/inner'), 'wb').close()
shutil.rmtree(j(b'd2l')); os.symlink(b'keep', j(b'd2l'))
os.rename(j(b'old'), j(b'renamed'))
open(j(b'a/y'), 'wb').close(); open(j(b'a-c'), 'wb').close()
open(j(b'bad\xffname'), 'wb').close()
os.remove(j(b'link')); os.symlink(b'a.b', j(b'link'))
PY
id2=$(submit "$tree" '"use_gitignore": false')
[[ $(wait_done "$id2") == completed ]] || fail "scan 2 did not complete"
python3 "$WORK/snap.py" "$tree" "$WORK/s2.json"
python3 "$WORK/truth.py" "$WORK/s1.json" "$WORK/s2.json" >"$WORK/truth.json"
python3 - "$WORK/truth.json" <<'PY' || fail "the truth lacks a kind of change"
import json, sys
t = json.load(open(sys.argv[1]))
kinds = {c for _, c in t}
assert kinds == {'added', 'removed', 'modified', 'type_changed'}, kinds
PY

# One page, then pages of one: the same objects, and the truth.
req GET "/scans/$id2/diff?against=$id1&page_size=10000"
expect 200 "one page"
py "d=J(); assert d['scan']==$id2 and d['against']==$id1 and 'next_page_token' not in d, d.keys()"
python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))["diff"], open(sys.argv[2],"w"))' "$BODY" "$WORK/one.json"
python3 "$WORK/check.py" "$WORK/truth.json" "$WORK/s1.json" "$WORK/s2.json" "$WORK/one.json" ||
	fail "the diff differs from the truth"
diff_pages "$id2" "against=$id1&page_size=1" "$WORK/paged.json"
cmp -s <(python3 -m json.tool "$WORK/one.json") <(python3 -m json.tool "$WORK/paged.json") ||
	fail "pages of one differ from one page"
req GET "/scans/$id2/diff?against=$id1&page_size=3"
expect 200 "a page with a Link"
[[ $(header Link) == *"against=$id1"*"page_size=3"*"page_token="* ]] || fail "Link: $(header Link)"

# NDJSON: the same objects.
curl -s -D "$HDRS" -o "$WORK/diff.ndjson" -H 'Accept: application/x-ndjson' \
	"$BASE/scans/$id2/diff?against=$id1" || fail "stream"
grep -qi '^content-type: application/x-ndjson' "$HDRS" || fail "the stream is not NDJSON"
python3 - "$WORK/diff.ndjson" "$WORK/one.json" <<'PY' || fail "the stream differs from the pages"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1], 'rb').read().split(b'\n') if l]
assert lines == json.load(open(sys.argv[2])), (len(lines),)
PY

# change= filters, paged.
for c in added removed modified type_changed; do
	diff_pages "$id2" "against=$id1&change=$c&page_size=2" "$WORK/c.json"
	python3 "$WORK/check.py" "$WORK/truth.json" "$WORK/s1.json" "$WORK/s2.json" "$WORK/c.json" "$c" ||
		fail "change=$c differs from the truth"
done

# The reverse diff and self-diffs.
python3 "$WORK/truth.py" "$WORK/s2.json" "$WORK/s1.json" >"$WORK/rtruth.json"
diff_pages "$id1" "against=$id2&page_size=7" "$WORK/rev.json"
python3 "$WORK/check.py" "$WORK/rtruth.json" "$WORK/s2.json" "$WORK/s1.json" "$WORK/rev.json" ||
	fail "the reverse diff differs from its truth"
for pair in "$id1 $id1" "$id2 $id2"; do
	set -- $pair
	req GET "/scans/$1/diff?against=$2"
	expect 200 "self-diff of $1"
	py "assert J()['diff'] == []"
done

# Errors.
req GET "/scans/$id2/diff"
expect 400 "no against, no baseline"
py "assert 'baseline' in J()['detail'] and 'against' in J()['detail']"
req GET "/scans/$id2/diff?against=999"
expect 404 "against a missing scan"
py "assert '999' in J()['detail']"
req GET "/scans/999/diff?against=$id1"
expect 404 "a missing scan"
req GET "/scans/$id2/diff?against=$id1&change=renamed"
expect 400 "an unknown change"
req GET "/scans/$id2/diff?against=x"
expect 400 "against not a number"
req GET "/scans/$id2/diff?against=$id1&page_size=2"
tok=$(jval "d['next_page_token']")
req GET "/scans/$id2/diff?against=$id2&page_size=2&page_token=$tok"
expect 400 "a token of another diff"
req GET "/scans/$id2/diff?against=$id1&change=added&page_size=2&page_token=$tok"
expect 400 "a token of another change"
# The last character always changed (a token may already end in the replacement).
[[ ${tok: -1} == A ]] && forged=${tok%?}B || forged=${tok%?}A
req GET "/scans/$id2/diff?against=$id1&page_size=2&page_token=$forged"
expect 400 "a forged token"

# GET /scans?root= filters the list, paging included.
id3=$(submit "$other" '"use_gitignore": false')
[[ $(wait_done "$id3") == completed ]] || fail "scan 3 did not complete"
list_ids() { # QUERY: the ids of every page
	python3 "$WORK/pages.py" "$BASE" /scans "$1" scans "$WORK/ids.json" || fail "paging /scans?$1"
	python3 -c 'import json,sys; print(" ".join(str(s["id"]) for s in json.load(open(sys.argv[1]))))' "$WORK/ids.json"
}
[[ $(list_ids "root=$tree&page_size=1") == "$id2 $id1" ]] || fail "root=$tree: $(list_ids "root=$tree&page_size=1")"
[[ $(list_ids "root=$tree/&state=completed") == "$id2 $id1" ]] || fail "root=$tree/ (trailing slash)"
[[ $(list_ids "root=$other&page_size=1") == "$id3" ]] || fail "root=$other"
[[ $(list_ids "root=$other&state=failed") == "" ]] || fail "root and state=failed"
[[ -z $(list_ids "root=$WORK/none") ]] || fail "a root never scanned"
req GET "/scans?root=relative"
expect 400 "a relative root"
req GET "/scans?root=$tree&page_size=1"
tok=$(jval "d['next_page_token']")
req GET "/scans?root=$other&page_size=1&page_token=$tok"
expect 400 "a token of another root"

# A baseline (once POST /scans takes one): the default against, and the counts in the stats.
post_json /scans "{\"root\": \"$tree\", \"use_gitignore\": false, \"baseline\": $id1}"
if [[ $STATUS == 202 ]]; then
	id4=$(jval "d['id']")
	[[ $(wait_done "$id4") == completed ]] || fail "scan 4 did not complete"
	req GET "/scans/$id4/diff?page_size=10000"
	expect 200 "diff against the baseline"
	py "d=J(); assert d['against']==$id1, d['against']"
	python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))["diff"], open(sys.argv[2],"w"))' "$BODY" "$WORK/b.json"
	python3 "$WORK/check.py" "$WORK/truth.json" "$WORK/s1.json" "$WORK/s2.json" "$WORK/b.json" ||
		fail "the diff against the baseline differs from the truth"
	req GET "/scans/$id4/stats"
	expect 200 "stats"
	python3 - "$BODY" "$WORK/truth.json" <<'PY' || fail "the diff counts in the stats"
import collections, json, sys
d = json.load(open(sys.argv[1]))['diff']
c = collections.Counter(c for _, c in json.load(open(sys.argv[2])))
assert d == {'against': d['against'], **{k: c[k] for k in ('added', 'removed', 'modified', 'type_changed')}}, d
PY
else
	echo "POST /scans takes no baseline here ($STATUS): the default against is not checked"
fi

# The command line, on the same store once the server is gone: the same objects.
api_stop
"$LEINDEXD" diff "$id1" "$id2" --ndjson --data-dir "$DATA" >"$WORK/cli.ndjson" || fail "leindexd diff --ndjson"
cmp -s "$WORK/cli.ndjson" "$WORK/diff.ndjson" || fail "leindexd diff --ndjson differs from the stream"
"$LEINDEXD" diff "$id1" "$id2" --json --data-dir "$DATA" >"$WORK/cli.json" || fail "leindexd diff --json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["diff"]==json.load(open(sys.argv[2])) and d["against"]=='"$id1"', d.keys()' \
	"$WORK/cli.json" "$WORK/one.json" || fail "leindexd diff --json differs from the page"
"$LEINDEXD" diff "$id1" "$id2" --data-dir "$DATA" >"$WORK/cli.txt" || fail "leindexd diff"
python3 - "$WORK/cli.txt" "$WORK/truth.json" <<'PY' || fail "leindexd diff's text differs from the truth"
import base64, json, sys
got = [l.split(b'\t', 1) for l in open(sys.argv[1], 'rb').read().split(b'\n') if l]
want = [[c.encode(), base64.b64decode(p)] for p, c in json.load(open(sys.argv[2]))]
assert got == want, (got[:3], want[:3])
PY
"$LEINDEXD" diff "$id1" 999 --data-dir "$DATA" 2>"$WORK/err" && fail "a missing scan: status 0"
grep -q "scan 999 is not in" "$WORK/err" || fail "a missing scan: $(cat "$WORK/err")"
rc=0
"$LEINDEXD" diff "$id1" --data-dir "$DATA" 2>/dev/null || rc=$?
[[ $rc == 2 ]] || fail "one id: status $rc, not 2 (a usage error)"
echo "api_diff: ok"
