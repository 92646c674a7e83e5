#!/usr/bin/env bash
# The view git through the binary, on repositories git builds (gitview_repos.bash), compared
# with git's own commands (HOME empty, no system config):
#   - `leindexd scan --view git --list` prints what `git ls-files -co --exclude-standard`
#     lists, less deleted and sparse paths, plus the directories holding them, for a repository
#     with tracked-but-ignored files, submodules, a nested repository, a file named .git,
#     deleted and modified files, index version 4; for a linked worktree and a sparse checkout;
#     and with --recurse-repos, each submodule as `git -C SUB` lists it;
#   - `--skipped` prints what `git check-ignore -v` says of each path it skipped;
#   - the API: view, use_gitignore and recurse_repos rules (422), the options echoed, 422 for a
#     root in no repository, a split index, a planted gitdir outside the allowed root; and
#     GET /scans/{id}/skipped paged in depth-first order.
source "$LEINDEX_SRC/tests/integration/api_lib.bash"
source "$LEINDEX_SRC/tests/integration/gitview_repos.bash"
need git
need curl

R=$WORK/repos
gitview_make_all "$R" >/dev/null 2>&1 || fail "building the repositories with git failed"
R=$(cd "$R" && pwd -P)
export HOME=$R/home GIT_CONFIG_NOSYSTEM=1 LC_ALL=C

# git_listed DIR: what git lists there (nested repositories "x/" as "x"), with their parents.
git_listed() {
	(cd "$1" && {
		git ls-files -co --exclude-standard | sed 's#/$##' | sort -u >"$WORK/co"
		git ls-files -d | sort -u >"$WORK/del"
		git ls-files -t | sed -n 's/^S //p' | sort -u >"$WORK/skip"
		comm -23 "$WORK/co" "$WORK/del" | comm -23 - "$WORK/skip"
	}) | python3 -c '
import sys
s = set()
for p in sys.stdin.read().split("\n"):
    while p:
        s.add(p)
        p = p.rsplit("/", 1)[0] if "/" in p else ""
print("\n".join(sorted(s)))'
}

# ours DIR [flags]: what leindexd lists, sorted.
ours() {
	local dir=$1
	shift
	rm -rf "$WORK/d"
	"$LEINDEXD" scan --data-dir "$WORK/d" --view git --list "$@" "$dir" 2>"$WORK/scan.err" |
		sort || fail "scan of $dir failed: $(cat "$WORK/scan.err")"
}

for repo in main main/src wt sparse; do
	git_listed "$R/$repo" >"$WORK/want"
	ours "$R/$repo" >"$WORK/got"
	diff "$WORK/want" "$WORK/got" >"$WORK/diff" ||
		fail "$repo: the view git differs from git ls-files (< git, > leindexd): $(cat "$WORK/diff")"
done

# --recurse-repos: a submodule as git -C lists it, below its path.
ours "$R/main" --recurse-repos >"$WORK/got"
git_listed "$R/main/mods/sub" | sed 's#^#mods/sub/#' >"$WORK/want"
grep '^mods/sub/' "$WORK/got" >"$WORK/got.sub" || true
diff "$WORK/want" "$WORK/got.sub" >"$WORK/diff" ||
	fail "recurse_repos: mods/sub differs from git -C mods/sub (< git, > leindexd): $(cat "$WORK/diff")"

# --skipped: each line is what git check-ignore -v says of that path.
rm -rf "$WORK/d"
"$LEINDEXD" scan --data-dir "$WORK/d" --view git --skipped "$R/main" >"$WORK/skipped" 2>/dev/null ||
	fail "scan --skipped failed"
[ -s "$WORK/skipped" ] || fail "--skipped printed nothing"
while IFS=$'\t' read -r rule path; do
	want=$(cd "$R/main" && git check-ignore -v --no-index -- "$path" | cut -f1)
	[[ $want == "$rule" ]] || fail "skipped $path: leindexd says '$rule', git check-ignore -v '$want'"
done <"$WORK/skipped"
grep -q $'^.gitignore:4:/build/\tbuild$' "$WORK/skipped" || fail "build/ not recorded: $(cat "$WORK/skipped")"

# The summary says how many paths were ignored, and by how many files.
rm -rf "$WORK/d"
"$LEINDEXD" scan --data-dir "$WORK/d" --view git "$R/main" 2>/dev/null | grep -q \
	'ignored 3 paths (2 files, 1 directories, not read) by 1 ignore files' ||
	fail "the summary does not count the ignored paths"

# A root in no repository: exit 2 with the reason.
if "$LEINDEXD" scan --data-dir "$WORK/d" --view git "$R/norepo" >/dev/null 2>"$WORK/err"; then
	fail "a root in no repository was scanned"
else
	[[ $? == 2 ]] || fail "a root in no repository: exit status $? (want 2)"
fi
grep -q 'is not inside a git work tree' "$WORK/err" || fail "no reason given: $(cat "$WORK/err")"

# ---- the API
api_start --allow-root "$R/main" --allow-root "$R/planted" --allow-root "$R/norepo" \
	--allow-root "$R/split"
post_json /scans "{\"root\": \"$R/main\", \"view\": \"git\", \"use_gitignore\": false}"
expect 422 "view git with use_gitignore false"
py "assert \"'use_gitignore' false means 'view' \\\"all\\\"\" in J()['detail'], J()"
post_json /scans "{\"root\": \"$R/main\", \"recurse_repos\": true}"
expect 422 "recurse_repos in the view gitignore"
post_json /scans "{\"root\": \"$R/norepo\", \"view\": \"git\"}"
expect 422 "no repository"
py "assert 'is not inside a git work tree' in J()['detail'], J()"
post_json /scans "{\"root\": \"$R/split\", \"view\": \"git\"}"
expect 422 "split index"
py "assert 'git update-index --no-split-index' in J()['detail'], J()"
post_json /scans "{\"root\": \"$R/planted/dir\", \"view\": \"git\"}"
expect 422 "planted gitdir outside the allowed root"
py "assert 'outside the allowed root' in J()['detail'] and 'secret' not in J()['detail'], J()"

id=$(submit "$R/main" '"view": "git", "use_gitignore": true')
[[ $(wait_done "$id") == completed ]] || fail "the view git scan did not complete"
req GET "/scans/$id"
expect 200 "the scan"
py "o = J()['options']; assert o['view'] == 'git' and o['use_gitignore'] is True and o['recurse_repos'] is False, o"

# /entries carries each entry's git state: modified exactly where git diff --name-only names a
# file still in the work tree (deleted ones are counted, not listed).
(cd "$R/main" && HOME= git diff --name-only --diff-filter=d --relative | sort) >"$WORK/want_mod"
req GET "/scans/$id/entries?page_size=10000"
expect 200 "entries of the view git"
py "
e = J()['entries']
files = [x for x in e if x['type'] in ('file', 'symlink')]
assert files and all(x.get('git') in ('tracked', 'modified', 'untracked') for x in files), files[:5]
assert any(x.get('git') == 'untracked' for x in files), 'no untracked file'
print('\n'.join(sorted(x['path'] for x in files if x['git'] == 'modified')))
" >"$WORK/got_mod"
[ -s "$WORK/want_mod" ] || fail "the test repository has no modified file"
diff "$WORK/want_mod" "$WORK/got_mod" >"$WORK/diff" ||
	fail "/entries git states differ from git diff --name-only (< git): $(cat "$WORK/diff")"

# core.fileMode, from the repository's own config: false (as git sets it where the file system
# keeps no executable bit) makes an executable bit that differs from the index no change, for git
# and for the view; true (git's default) makes it one. Each compared with git diff --name-only.
# modified_of ID: the paths scan ID says are modified, sorted.
modified_of() {
	req GET "/scans/$1/entries?page_size=10000"
	expect 200 "entries of scan $1"
	py "print('\n'.join(sorted(x['path'] for x in J()['entries'] if x.get('git') == 'modified')))"
}
f=$(cd "$R/main" && git ls-files -s | awk '$1 == "100644" {print $4}' | grep -vxF -f "$WORK/want_mod" | head -1)
[[ -n $f ]] || fail "no clean regular file to chmod in the test repository"
chmod +x "$R/main/$f"
for mode in false true; do
	git -C "$R/main" config core.fileMode "$mode"
	(cd "$R/main" && HOME= git diff --name-only --diff-filter=d --relative | sort) >"$WORK/want_fm"
	if [[ $mode == false ]]; then grep -qxF "$f" "$WORK/want_fm" && fail "git names $f with fileMode false"; fi
	if [[ $mode == true ]]; then grep -qxF "$f" "$WORK/want_fm" || fail "git does not name $f with fileMode true"; fi
	fm=$(submit "$R/main" '"view": "git"')
	[[ $(wait_done "$fm") == completed ]] || fail "the view git scan with core.fileMode $mode did not complete"
	modified_of "$fm" >"$WORK/got_fm"
	diff "$WORK/want_fm" "$WORK/got_fm" >"$WORK/diff" ||
		fail "core.fileMode $mode: git states differ from git diff --name-only (< git): $(cat "$WORK/diff")"
done
chmod -x "$R/main/$f"
git -C "$R/main" config --unset core.fileMode

# /skipped, a page of one at a time, in depth-first order, same records as --skipped.
: >"$WORK/api_skipped"
tok=
for _ in $(seq 1 20); do
	req GET "/scans/$id/skipped?page_size=1${tok:+&page_token=$tok}"
	expect 200 "skipped page"
	py "
s = J()['skipped']
assert len(s) <= 1, s
for r in s:
    assert set(r) == {'path', 'type', 'source', 'line', 'pattern'}, r
    print(f\"{r['source']}:{r['line']}:{r['pattern']}\t{r['path']}\")
" >>"$WORK/api_skipped"
	tok=$(jval "d.get('next_page_token', '')")
	[[ -n $tok ]] || break
done
diff "$WORK/skipped" "$WORK/api_skipped" >"$WORK/diff" ||
	fail "/skipped differs from --skipped: $(cat "$WORK/diff")"
req GET "/scans/$id/skipped?page_token=bogus"
expect 400 "a bad token"
req GET "/scans/$id/stats"
expect 200 "stats"
py "d = J(); assert d['ignored_dirs'] == 1 and d['ignored_files'] == 2 and d['ignore_files'] == 1 and d['git_deleted'] == 3, d"
req GET "/scans/999999/skipped"
expect 404 "skipped of no scan"
echo "scan_gitview: listings, skip records and refusals agree with git"
