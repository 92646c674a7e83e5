#!/usr/bin/env bash
# cli_store: the commands on stored scans (scans, show, errors, rm) and the data directory every
# command finds the same way. The reads work beside a running server (a read-only store) and
# print what its API answers; rm is refused while a server owns the directory; --data-dir, then
# LEINDEX_DATA_DIR, then $XDG_STATE_HOME/leindexd, then ~/.local/state/leindexd; none: exit 2;
# scan --json is GET /scans/{id}; -h works everywhere; scan --help lists every flag.
source "$(dirname "${BASH_SOURCE[0]}")/api_lib.bash"

SALSA=$(corpus salsa-like)
lx() { "$LEINDEXD" "$@"; }
# status CMD...: prints the exit status of CMD (its output to $WORK/out and $WORK/err).
status() {
	local rc=0
	"$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
	echo "$rc"
}

# ---- 1. where the store is: --data-dir > LEINDEX_DATA_DIR > XDG_STATE_HOME > HOME
mkdir -p "$WORK/tree/a" "$WORK/cwd" "$WORK/home" "$WORK/xdg" "$WORK/tmp"
echo hello >"$WORK/tree/a/f"
cd "$WORK/cwd"
clean_env=(env -u LEINDEX_DATA_DIR -u XDG_STATE_HOME -u HOME)
[[ $(status "${clean_env[@]}" "$LEINDEXD" scans) == 2 ]] || fail "no data directory: not exit 2"
grep -q -- '--data-dir' "$WORK/err" || fail "no data directory: the message does not name --data-dir: $(cat "$WORK/err")"
[[ $(status "${clean_env[@]}" HOME="$WORK/home" "$LEINDEXD" scan --log-level error "$WORK/tree") == 0 ]] ||
	fail "scan with HOME only: $(cat "$WORK/err")"
[[ -f $WORK/home/.local/state/leindexd/leindex.mdb ]] || fail "HOME: the store is not in ~/.local/state/leindexd"
[[ ! -e $WORK/cwd/data && ! -e $WORK/tree/data ]] || fail "leindexd scan wrote ./data"
# A relative XDG_STATE_HOME is invalid (XDG base directory specification): HOME is used.
[[ $(status "${clean_env[@]}" HOME="$WORK/home" XDG_STATE_HOME=rel "$LEINDEXD" show 1) == 0 ]] ||
	fail "show 1 with a relative XDG_STATE_HOME: $(cat "$WORK/err")"
[[ $(status "${clean_env[@]}" HOME="$WORK/home" XDG_STATE_HOME="$WORK/xdg" "$LEINDEXD" scan \
	--log-level error "$WORK/tree") == 0 ]] || fail "scan with XDG_STATE_HOME"
[[ -f $WORK/xdg/leindexd/leindex.mdb ]] || fail "XDG_STATE_HOME: the store is not in \$XDG_STATE_HOME/leindexd"
[[ $(status "${clean_env[@]}" HOME="$WORK/home" XDG_STATE_HOME="$WORK/xdg" \
	LEINDEX_DATA_DIR="$WORK/env" "$LEINDEXD" scan --log-level error "$WORK/tree") == 0 ]] ||
	fail "scan with LEINDEX_DATA_DIR"
[[ -f $WORK/env/leindex.mdb ]] || fail "LEINDEX_DATA_DIR was not used over XDG_STATE_HOME"
[[ $(status "${clean_env[@]}" LEINDEX_DATA_DIR="$WORK/env" "$LEINDEXD" scans --data-dir "$WORK/xdg/leindexd" --json) == 0 ]] ||
	fail "scans --data-dir"
python3 - "$WORK/out" <<'PY' || fail "--data-dir did not win over LEINDEX_DATA_DIR"
import json, sys
assert [s['id'] for s in json.load(open(sys.argv[1]))['scans']] == [1], open(sys.argv[1]).read()
PY
# Each store has its own scans: the HOME one has one, the XDG one one, the env one one.
for d in "$WORK/home/.local/state/leindexd" "$WORK/xdg/leindexd" "$WORK/env"; do
	n=$(lx scans --data-dir "$d" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["scans"]))')
	[[ $n == 1 ]] || fail "$d holds $n scans, not 1"
done
[[ $(status lx scans --data-dir "$WORK/none") == 1 ]] || fail "scans of a directory with no store"
grep -q "no store in $WORK/none" "$WORK/err" || fail "no store: $(cat "$WORK/err")"
[[ ! -e $WORK/none ]] || fail "a read created the data directory"
cd "$WORK"

# ---- 2. scan --json is GET /scans/{id}; the text output is for people
D=$WORK/data
lx scan --data-dir "$D" --no-gitignore --json --log-level error "$SALSA" >"$WORK/scan.json" ||
	fail "scan --json"
lx scan --data-dir "$D" --no-gitignore --log-level error "$SALSA" >"$WORK/scan.txt" || fail "scan"
grep -qE '^  entries [0-9]{1,3}(,[0-9]{3})+ \(dirs [0-9,]+, files [0-9,]+, symlinks 23, other 0\), [0-9]+\.[0-9] GiB, 0 errors$' \
	"$WORK/scan.txt" || fail "text summary: $(cat "$WORK/scan.txt")"

# ---- 3. the reads beside a running server, against its answers
api_start
req GET /scans/1; expect 200 "GET /scans/1"
python3 - "$BODY" "$WORK/scan.json" <<'PY' || fail "scan --json is not GET /scans/1"
import json, sys
api, cli = (json.load(open(p)) for p in sys.argv[1:])
assert api == cli, (api, cli)
assert 'counters' not in cli and 'entries' not in cli and 'stats' in cli, cli
PY
id3=$(submit "$WORK/tree")
[[ $(wait_done "$id3") == completed ]] || fail "scan $id3"
[[ $(status lx scans --data-dir "$DATA" --json) == 0 ]] || fail "scans beside the server: $(cat "$WORK/err")"
cp "$WORK/out" "$WORK/scans.json"
req GET /scans
python3 - "$BODY" "$WORK/scans.json" <<'PY' || fail "scans --json is not GET /scans"
import json, sys
api, cli = (json.load(open(p))['scans'] for p in sys.argv[1:])
assert api == cli, (api, cli)
assert [s['id'] for s in cli] == [3, 2, 1], cli
PY
[[ $(status lx show 2 --data-dir "$DATA" --json) == 0 ]] || fail "show 2 --json"
cp "$WORK/out" "$WORK/show.json"
req GET /scans/2
python3 - "$BODY" "$WORK/show.json" <<'PY' || fail "show --json is not GET /scans/2"
import json, sys
api, cli = (json.load(open(p)) for p in sys.argv[1:])
assert api == cli, (api, cli)
PY
[[ $(status lx show 1 --data-dir "$DATA") == 0 ]] || fail "show 1"
grep -q '^scan 1 of .*: completed$' "$WORK/out" && grep -q 'slowest' "$WORK/out" &&
	grep -q '^  options {' "$WORK/out" || fail "show 1: $(cat "$WORK/out")"
[[ $(status lx scans --data-dir "$DATA" --root "$WORK/tree/") == 0 ]] || fail "scans --root"
[[ $(grep -c completed "$WORK/out") == 1 ]] && grep -qE "^ +3 +completed .* $WORK/tree\$" "$WORK/out" ||
	fail "scans --root: $(cat "$WORK/out")"
[[ $(status lx scans --data-dir "$DATA" --state failed) == 0 && $(wc -l <"$WORK/out") == 1 ]] ||
	fail "scans --state failed: $(cat "$WORK/out")"
[[ $(status lx scans --data-dir "$DATA" --state done) == 2 ]] || fail "scans --state done was taken"
[[ $(status lx show 99 --data-dir "$DATA") == 1 ]] || fail "show 99"
[[ $(status lx show x1 --data-dir "$DATA") == 2 ]] || fail "show x1"
# rm is refused while the server owns the directory, and says what to do instead
[[ $(status lx rm 1 --data-dir "$DATA") == 1 ]] || fail "rm beside a server was not refused"
grep -q 'DELETE' "$WORK/err" && grep -q '/scans/1' "$WORK/err" || fail "rm refused: $(cat "$WORK/err")"
req GET /scans/1; expect 200 "scan 1 after a refused rm"
api_stop
[[ $(status lx rm 1 --data-dir "$DATA") == 0 ]] || fail "rm 1: $(cat "$WORK/err")"
[[ $(status lx show 1 --data-dir "$DATA") == 1 ]] || fail "scan 1 is still there after rm"
[[ $(status lx rm 1 --data-dir "$DATA") == 1 ]] || fail "rm 1 twice"

# ---- 4. errors, as GET /scans/{id}/errors gives them (unreadable directories, as nobody)
if [ "$(id -u)" -eq 0 ]; then
	E=$WORK/enob
	mkdir -p "$WORK/etree/locked/x" "$WORK/etree/open" "$E"
	chmod 000 "$WORK/etree/locked"
	chmod 755 "$WORK" "$WORK/etree"
	chown nobody "$E"
	as_nobody "$LEINDEXD" scan --data-dir "$E/d" --log-level error "$WORK/etree" >/dev/null || true
	[[ $(status lx errors 1 --data-dir "$E/d") == 0 ]] || fail "errors 1: $(cat "$WORK/err")"
	grep -qE '^locked: [a-z]+: Permission denied$' "$WORK/out" || fail "errors 1: $(cat "$WORK/out")"
	[[ $(status lx errors 1 --data-dir "$E/d" --json) == 0 ]] || fail "errors 1 --json"
	cp "$WORK/out" "$WORK/errors.json"
	DATA=$E/d api_start
	req GET /scans/1/errors
	python3 - "$BODY" "$WORK/errors.json" <<'PY' || fail "errors --json is not GET /scans/1/errors"
import json, sys
api, cli = (json.load(open(p))['errors'] for p in sys.argv[1:])
assert api == cli and len(cli) == 1, (api, cli)
PY
	api_stop
	chmod 755 "$WORK/etree/locked"
fi

# ---- 5. flags: -h everywhere, scan --help lists every flag, nonsense combinations refused
for cmd in "" scan scans show errors rm health token; do
	[[ $(status lx $cmd -h) == 0 ]] && grep -qi 'usage' "$WORK/out" || fail "leindexd $cmd -h"
done
lx scan --help >"$WORK/help"
for f in --data-dir --map-size --workers --max-depth --follow-symlinks --one-file-system --ignore \
	--no-gitignore --hash --slow-threshold-ms --json --list --null --no-store --log-level \
	--log-format --help; do
	grep -q -- "$f" "$WORK/help" || fail "scan --help does not list $f"
done
[[ $(status lx scan --data-dir "$D" --list --json "$WORK/tree") == 2 ]] || fail "--list --json taken"
[[ $(status lx scan --data-dir "$D" --null "$WORK/tree") == 2 ]] || fail "--null without --list taken"

# ---- 6. scan --no-store lists and keeps nothing
[[ $(TMPDIR=$WORK/tmp LEINDEX_DATA_DIR=$WORK/nostore status "$LEINDEXD" scan --no-store --list \
	--log-level error "$WORK/tree") == 0 ]] || fail "scan --no-store: $(cat "$WORK/err")"
[[ $(sort "$WORK/out" | tr '\n' ' ') == "a a/f " ]] || fail "scan --no-store --list: $(cat "$WORK/out")"
[[ ! -e $WORK/nostore && -z $(ls -A "$WORK/tmp") ]] || fail "scan --no-store kept something"
echo "cli_store: data directory order, reads beside a server, rm refused, errors, flags all right"
