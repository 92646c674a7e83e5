#!/usr/bin/env bash
# scan_baseline: rescans against a baseline on a real tree. After adds, removals, a same-size
# rewrite, a chmod, a file replaced by a directory, a directory by a symlink and a renamed
# directory, a `reuse: hashes` rescan lists exactly what a fresh full hashing scan lists, entry
# for entry (sha256 included), and both match the truth computed here from the tree; unchanged
# files take their hash from the baseline, changed and racy ones are hashed again. `reuse: dirs`
# on an unchanged tree equals the full scan. The 422 rules of baseline and reuse. --keep-scans
# keeps N completed scans of a root and never a kept scan's baseline.
source "$(dirname "${BASH_SOURCE[0]}")/api_lib.bash"

T=$WORK/tree
mkdir -p "$T/a/b" "$T/c" "$T/d/e" "$T/gone" "$T/ren/sub"
for i in 1 2 3 4 5; do printf 'file %s\n' "$i" >"$T/a/f$i"; done
printf 'same size A\n' >"$T/a/b/same"
printf 'mode\n' >"$T/c/m"
printf 'x\n' >"$T/c/to_dir"
printf 'y\n' >"$T/d/e/inner"
printf 'z\n' >"$T/gone/z"
printf 'r\n' >"$T/ren/sub/r"
printf '*.log\n' >"$T/.gitignore"
printf 'ignored\n' >"$T/a/x.log"
# Every file's mtime well before the baseline, so its hash may be reused.
find "$T" -exec touch -h -d '2 hours ago' {} +
# Racy: an mtime not older than the baseline's start (here a minute ahead, so that a slow machine
# cannot make it older): its stat cannot vouch for its content, and the rescan hashes it again
# although it did not change.
printf 'racy\n' >"$T/a/racy0"
touch -d '1 minute' "$T/a/racy0"

# entries ID OUT: every entry of scan ID as JSON lines, by path.
entries() {
	local id=$1 out=$2 tok=
	: >"$out"
	while :; do
		req GET "/scans/$id/entries?page_size=10000${tok:+&page_token=$tok}"
		expect 200 "entries of $id"
		python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
with open(sys.argv[2], "a") as f:
    for e in d["entries"]:
        f.write(json.dumps(e, sort_keys=True) + "\n")
print(d.get("next_page_token") or "")' "$BODY" "$out" >"$WORK/tok"
		tok=$(cat "$WORK/tok")
		[[ -n $tok ]] || break
	done
}

# truth OUT: the tree as the view gitignore lists it (the root's *.log ignored), with hashes.
truth() {
	python3 - "$T" "$1" <<'PY'
import hashlib, json, os, stat, sys
root, out = sys.argv[1], sys.argv[2]
rows = {}
for dp, dns, fns in os.walk(root):
    for n in dns + fns:
        p = os.path.join(dp, n)
        rel = os.path.relpath(p, root)
        if n.endswith('.log'):
            continue
        st = os.lstat(p)
        t = 'dir' if stat.S_ISDIR(st.st_mode) else 'symlink' if stat.S_ISLNK(st.st_mode) else 'file'
        h = hashlib.sha256(open(p, 'rb').read()).hexdigest() if t == 'file' else None
        rows[rel] = {'type': t, 'size': st.st_size, 'ino': st.st_ino, 'dev': st.st_dev,
                     'mode': st.st_mode & 0o7777, 'sha256': h}
json.dump(rows, open(out, 'w'))
PY
}

# same_as_truth FILE TRUTH: the entries list exactly the truth's paths, with its fields.
same_as_truth() {
	python3 - "$1" "$2" <<'PY' || fail "entries of $1 differ from the tree"
import json, sys
got = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    got[e['path']] = e
want = json.load(open(sys.argv[2]))
assert set(got) == set(want), (sorted(set(got) ^ set(want)))
for p, w in want.items():
    g = got[p]
    for k in ('type', 'size', 'ino', 'dev', 'mode'):
        if w['type'] == 'dir' and k == 'size':
            continue
        assert g[k] == w[k], (p, k, g[k], w[k])
    assert g.get('sha256') == w['sha256'], (p, g.get('sha256'), w['sha256'])
PY
}

api_start --keep-scans 2 --max-running 1 # one runner: a completion is a barrier for the last one's --keep-scans pass

# ---- the option rules
post_json /scans "{\"root\": \"$T\", \"reuse\": \"hashes\"}"; expect 422 "reuse without baseline"
post_json /scans "{\"root\": \"$T\", \"baseline\": \"newest\"}"; expect 400 "a string other than latest"
post_json /scans "{\"root\": \"$T\", \"baseline\": \"latest\"}"; expect 422 "latest with no scan"
post_json /scans "{\"root\": \"$T\", \"baseline\": 999}"; expect 422 "a missing baseline"

# ---- the baseline: a full hashing scan
s1=$(submit "$T" '"hash": true')
[[ $(wait_done "$s1") == completed ]] || fail "baseline scan did not complete"
other=$WORK/other; mkdir -p "$other"
post_json /scans "{\"root\": \"$other\", \"baseline\": $s1}"; expect 422 "a baseline of another root"

# ---- changes
rm "$T/a/f1"                                     # removed
printf 'new\n' >"$T/a/new1"                      # added
touch -r "$T/a/b/same" "$WORK/ref"
printf 'same size B\n' >"$T/a/b/same"            # rewritten in place, same size,
touch -r "$WORK/ref" "$T/a/b/same"               # the same mtime (only ctime tells)
chmod 600 "$T/c/m"                               # chmod
rm "$T/c/to_dir" && mkdir "$T/c/to_dir"          # file -> directory
printf 'in\n' >"$T/c/to_dir/in"
rm -r "$T/d/e" && ln -s ../a "$T/d/e"            # directory -> symlink
mv "$T/ren" "$T/renamed"                         # renamed directory
rm -r "$T/gone"
printf 'late\n' >"$T/a/late"                     # written just before the rescan

# ---- reuse hashes: equal to the truth and to a fresh full hashing scan
s2=$(submit "$T" "\"hash\": true, \"baseline\": \"latest\"")
req GET "/scans/$s2"; expect 200 "the rescan"
py "d = J(); assert d['options']['baseline'] == $s1 and d['options']['reuse'] == 'hashes', d['options']"
[[ $(wait_done "$s2") == completed ]] || fail "rescan did not complete"
s3=$(submit "$T" '"hash": true')
[[ $(wait_done "$s3") == completed ]] || fail "full scan did not complete"
truth "$WORK/truth.json"
entries "$s2" "$WORK/e2"
entries "$s3" "$WORK/e3"
same_as_truth "$WORK/e2" "$WORK/truth.json"
same_as_truth "$WORK/e3" "$WORK/truth.json"
cmp -s "$WORK/e2" "$WORK/e3" || fail "reuse hashes differs from the full hashing scan: $(diff "$WORK/e2" "$WORK/e3" | head)"
req GET "/scans/$s2/stats"; expect 200 "stats of the rescan"
# Reused: a/f2..f5 and .gitignore. Hashed again: new1, late (new), same (ctime), c/m (chmod
# changes ctime), c/to_dir/in (new), racy0 (racy), renamed/sub/r (looked up by path: renamed).
py "
c = J()
assert c['hashes_reused'] == 5 and c['hashes_computed'] == 7, c
assert c['baseline_fallback'] is False, c
"
# ---- --keep-scans 2: s1, s2 (baseline s1), s3 are completed. s3 and s2 are kept, and s1 is
# s2's baseline: all three stay.
gone() { req GET "/scans/$1"; [[ $STATUS == 404 ]]; }
req GET "/scans/$s1"; expect 200 "s1, the baseline of the kept s2"
# s4: s4 and s3 are kept; s2 is beyond them, and s1 is the baseline of no kept scan: both go,
# through the durable deletion (404 at once, rows purged by the deleter).
s4=$(submit "$T")
[[ $(wait_done "$s4") == completed ]] || fail "s4 did not complete"
wait_until "$WAIT_UNTIL_DEFAULT_S" gone "$s2" || fail "--keep-scans 2 kept s2 beyond 2 scans"
wait_until "$WAIT_UNTIL_DEFAULT_S" gone "$s1" || fail "--keep-scans 2 kept s1, the baseline of no kept scan"
req GET "/scans/$s3"; expect 200 "s3 kept"
req GET "/scans/$s4"; expect 200 "s4 kept"
# s5 with baseline s3: s5 and s4 kept, s3 spared as s5's baseline.
s5=$(submit "$T" "\"hash\": true, \"baseline\": $s3")
[[ $(wait_done "$s5") == completed ]] || fail "s5 did not complete"
s6=$(submit "$other") # another root; one runner, so s5's --keep-scans pass is over when s6 completes
[[ $(wait_done "$s6") == completed ]] || fail "s6 did not complete"
wait_until "$WAIT_UNTIL_DEFAULT_S" logged "scan deleted" "$s1" || fail "s1's rows were not purged"
req GET "/scans/$s3"; expect 200 "s3, the baseline of the kept s5"
req GET "/scans/$s6"; expect 200 "s6, the only scan of its root"
# ---- reuse dirs on the unchanged tree: only the root is read, and the result is the full scan's
s7=$(submit "$T" "\"hash\": true, \"baseline\": $s5, \"reuse\": \"dirs\"")
[[ $(wait_done "$s7") == completed ]] || fail "reuse dirs did not complete"
entries "$s7" "$WORK/e7"
cmp -s "$WORK/e7" "$WORK/e3" || fail "reuse dirs on an unchanged tree differs from the full scan: $(diff "$WORK/e7" "$WORK/e3" | head)"
req GET "/scans/$s7/stats"; expect 200 "stats of reuse dirs"
py "c = J(); assert c['dirs_read'] == 1 and c['dirs_reused'] == 7 and c['hashes_computed'] == 0, c"

# ---- reuse dirs and .gitignore files edited in place (their directory's mtime stays): the root's
# (the root is always read) and a/b's, in a directory otherwise unchanged. Neither may be missed.
printf 'zzz\n' >"$T/a/b/.gitignore"
s8=$(submit "$T" "\"baseline\": $s7, \"reuse\": \"dirs\"")
[[ $(wait_done "$s8") == completed ]] || fail "s8 did not complete"
# s8 does not hash over a baseline that did: the rows it copied lose their hashes, and it lists
# what a full scan lists. Its diff counts (most of its directories were copies of s7's, counted
# by their links) are those of the diff it lists.
f8=$(submit "$T")
[[ $(wait_done "$f8") == completed ]] || fail "f8 did not complete"
entries "$s8" "$WORK/e8"
entries "$f8" "$WORK/ef8"
cmp -s "$WORK/e8" "$WORK/ef8" || fail "reuse dirs without hash over a hashing baseline differs from the full scan: $(diff "$WORK/e8" "$WORK/ef8" | head)"
grep -q '"sha256"' "$WORK/e8" && fail "reuse dirs without hash kept the baseline's hashes"
req GET "/scans/$s8/diff?page_size=10000"; expect 200 "the diff of s8 from s7"
cp "$BODY" "$WORK/diff8.json"
req GET "/scans/$s8/stats"; expect 200 "stats of s8"
py "
import collections, json
listed = collections.Counter(d['change'] for d in json.load(open('$WORK/diff8.json'))['diff'])
c = J()['diff']
assert c['against'] == $s7, c
assert sum(listed.values()) >= 1, listed
for k in ('added', 'removed', 'modified', 'type_changed'):
    assert c[k] == listed.get(k, 0), (k, c, listed)
"
# dirs_same BASE: a reuse dirs rescan against BASE lists what a full scan lists; sets S_FULL.
dirs_same() {
	local r f
	r=$(submit "$T" "\"baseline\": $1, \"reuse\": \"dirs\"")
	[[ $(wait_done "$r") == completed ]] || fail "reuse dirs scan $r did not complete"
	f=$(submit "$T")
	[[ $(wait_done "$f") == completed ]] || fail "full scan $f did not complete"
	entries "$r" "$WORK/er"
	entries "$f" "$WORK/ef"
	cmp -s "$WORK/er" "$WORK/ef" || fail "reuse dirs missed a .gitignore change: $(diff "$WORK/er" "$WORK/ef" | head)"
	S_FULL=$f
}
printf 'same\n' >"$T/a/b/.gitignore"            # a/b/same is not listed any more
dirs_same "$s8"
grep -q '"path": "a/b/same"' "$WORK/ef" && fail "the full scan lists a/b/same"
printf '*.nothing\n' >"$T/.gitignore"          # a/x.log is listed from now on
dirs_same "$S_FULL"
grep -q '"path": "a/x.log"' "$WORK/ef" || fail "the full scan misses a/x.log"
# ---- reuse dirs with hash: true against a baseline that did not hash: the reused directories'
# files are hashed (opened by the names the baseline's rows give), and the result equals a full
# hashing scan.
plain=$(submit "$T")
[[ $(wait_done "$plain") == completed ]] || fail "plain scan $plain did not complete"
rh=$(submit "$T" "\"hash\": true, \"baseline\": $plain, \"reuse\": \"dirs\"")
[[ $(wait_done "$rh") == completed ]] || fail "hashing reuse dirs scan $rh did not complete"
fh=$(submit "$T" '"hash": true')
[[ $(wait_done "$fh") == completed ]] || fail "full hashing scan $fh did not complete"
entries "$rh" "$WORK/erh"
entries "$fh" "$WORK/efh"
cmp -s "$WORK/erh" "$WORK/efh" || fail "reuse dirs over an unhashed baseline differs from a full hashing scan: $(diff "$WORK/erh" "$WORK/efh" | head)"
grep -q '"sha256"' "$WORK/erh" || fail "no hash in the hashing reuse dirs scan"
req GET "/scans/$rh/stats"; expect 200 "stats of the hashing reuse dirs scan"
py "c = J(); assert c['dirs_reused'] > 0 and c['hashes_reused'] == 0 and c['hashes_computed'] > 0, c"
echo "scan_baseline: ok"
