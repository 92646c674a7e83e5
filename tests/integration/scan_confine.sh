#!/usr/bin/env bash
# Confinement under races, replayed against the real server on real trees (issue 9, defects 1,
# 2 and 8):
#  1. a root accepted by POST /scans and then swapped for a symlink to an outside tree while the
#     scan waits in the queue (the root itself, a parent of it, an allowed root) fails, naming
#     the path, and lists nothing outside;
#  2. a root flipped between a directory and a symlink to the outside tree, as fast as a loop
#     can, never lists an outside path over many scans;
#  3. with follow_symlinks, a followed link re-pointed at the outside tree between the check and
#     the open never lists an outside path;
#  4. a root whose resolution does not fit PATH_MAX answers 422 instead of scanning another
#     directory, and 403/422 details quoting a long UTF-8 root stay valid UTF-8.
# The racing loops run in the background for a bounded number of iterations (or until told to
# stop); the test waits for states by polling, never by sleeping.
source "$(dirname "$0")/api_lib.bash"
need python3

ALLOWED=$WORK/allowed
ALLOWED2=$WORK/allowed2
OUTSIDE=$WORK/outside
mkdir -p "$ALLOWED" "$ALLOWED2/x" "$OUTSIDE/deeper" "$OUTSIDE/q" "$OUTSIDE/x"
# Every outside file is named outside-*: no listing may ever hold one.
echo secret >"$OUTSIDE/outside-secret"
echo secret >"$OUTSIDE/deeper/outside-deeper"
echo secret >"$OUTSIDE/q/outside-q"
echo secret >"$OUTSIDE/x/outside-x"
echo inside >"$ALLOWED2/x/inside-x"

api_start --allow-root "$ALLOWED" --allow-root "$ALLOWED2" --max-running 1

# listed ID: the paths scan ID lists, one per line (a failed scan lists what it stored: nothing).
listed() {
	req GET "/scans/$1/entries?page_size=1000"
	expect 200 "entries of scan $1"
	jval "'\n'.join(e['path'] for e in d['entries'])"
}

# no_outside ID WHAT: scan ID lists no outside path.
no_outside() {
	local paths
	paths=$(listed "$1")
	if grep -q 'outside-' <<<"$paths"; then
		fail "$2: scan $1 listed the outside tree: $(grep 'outside-' <<<"$paths" | head -n 3 | tr '\n' ' ')"
	fi
}

# error_of ID: the scan's error message.
error_of() {
	req GET "/scans/$1"
	expect 200 "GET /scans/$1"
	jval "d['error'] or ''"
}

# ---- 1. swapped while queued: the root, a parent of the root, an allowed root
make_slow_tree "$ALLOWED/slow"
slow=$(submit "$ALLOWED/slow" '"hash": true, "workers": 1')
wait_state "$slow" running
mkdir -p "$ALLOWED/victim" "$ALLOWED/p/q"
echo inside >"$ALLOWED/victim/inside-victim"
echo inside >"$ALLOWED/p/q/inside-q"
v1=$(submit "$ALLOWED/victim")
v2=$(submit "$ALLOWED/p/q")
v3=$(submit "$ALLOWED2/x")
for id in "$v1" "$v2" "$v3"; do
	scan_state_is "$id" queued || fail "scan $id should wait behind the slow scan"
done
mv "$ALLOWED/victim" "$ALLOWED/victim.orig" && ln -s "$OUTSIDE" "$ALLOWED/victim"
mv "$ALLOWED/p" "$ALLOWED/p.orig" && ln -s "$OUTSIDE" "$ALLOWED/p"
mv "$ALLOWED2" "$ALLOWED2.orig" && ln -s "$OUTSIDE" "$ALLOWED2"
req POST "/scans/$slow/cancel"
expect 200 "cancel the slow scan"
for id in "$v1" "$v2" "$v3"; do
	st=$(wait_done "$id")
	no_outside "$id" "swapped while queued"
	[[ $st == failed ]] || fail "scan $id of a swapped root ended $st, not failed"
done
e=$(error_of "$v1")
[[ $e == *"$ALLOWED/victim"* && $e == *"symbolic link"* ]] || fail "swapped root: error: $e"
e=$(error_of "$v2")
[[ $e == *"$ALLOWED/p/q"* && $e == *"symbolic link"* ]] || fail "swapped parent: error: $e"
e=$(error_of "$v3")
[[ $e == *"$ALLOWED2"* && $e == *"allowed root"* ]] || fail "swapped allowed root: error: $e"
rm "$ALLOWED/victim" "$ALLOWED/p" "$ALLOWED2"
mv "$ALLOWED/victim.orig" "$ALLOWED/victim"
mv "$ALLOWED/p.orig" "$ALLOWED/p"
mv "$ALLOWED2.orig" "$ALLOWED2"
echo "swapped while queued: 3 scans failed, naming the path; nothing outside listed"

# racer MODE STOPFILE ARGS...: starts a racing loop in the background (RACER_PID). It stops once
# STOPFILE exists, once this shell is gone, or after 50 million iterations at most.
racer() {
	rm -f "$WORK/stop"
	python3 - "$@" <<'PY' &
import ctypes, os, sys
mode, stop = sys.argv[1], sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
RENAME_EXCHANGE = 2
parent = os.getppid()
for i in range(50000000):
    if i % 256 == 0 and (os.path.exists(stop) or os.getppid() != parent):
        break
    if mode == "exchange":  # swap a directory and a symlink to the outside, atomically
        a, b = sys.argv[3], sys.argv[4]
        if libc.renameat2(-100, a.encode(), -100, b.encode(), RENAME_EXCHANGE) != 0:
            sys.exit("renameat2: " + os.strerror(ctypes.get_errno()))
    else:  # re-point a symlink between two targets, atomically
        link, t0, t1 = sys.argv[3], sys.argv[4], sys.argv[5]
        tmp = link + ".tmp"
        os.symlink(t1 if i % 2 else t0, tmp)
        os.rename(tmp, link)
PY
	RACER_PID=$!
}

stop_racer() {
	touch "$WORK/stop"
	wait "$RACER_PID" || fail "the racing loop failed"
}

# ---- 2. the root flipped between a directory and a symlink to the outside tree
mkdir -p "$ALLOWED/flip"
echo inside >"$ALLOWED/flip/inside-flip"
ln -s "$OUTSIDE" "$ALLOWED/flip.alt"
racer exchange "$WORK/stop" "$ALLOWED/flip" "$ALLOWED/flip.alt"
# Under a sanitizer (each scan several times slower, the racer hogging a core) fewer rounds.
want_scans=8 follow_rounds=8
[[ -n ${LEINDEX_SANITIZER:-} ]] && want_scans=4 follow_rounds=5
accepted=0 refused=0 completed=0 failed=0
for ((try = 0; try < 300 && accepted < want_scans; try++)); do
	post_json /scans "{\"root\": \"$ALLOWED/flip\", \"workers\": 1}"
	if [[ $STATUS == 403 ]]; then
		refused=$((refused + 1))
		continue
	fi
	expect 202 "POST /scans of the flipping root"
	id=$(jval "d['id']")
	accepted=$((accepted + 1))
	st=$(wait_done "$id")
	no_outside "$id" "flipping root"
	case $st in
	completed) completed=$((completed + 1)) ;;
	failed)
		failed=$((failed + 1))
		e=$(error_of "$id")
		[[ $e == *"$ALLOWED/flip"* ]] || fail "flipping root: scan $id failed without naming the root: $e"
		;;
	*) fail "flipping root: scan $id ended $st" ;;
	esac
done
stop_racer
((accepted >= want_scans)) || fail "flipping root: only $accepted of $try scans were accepted"
echo "flipping root: $accepted scans ($completed completed inside, $failed refused at open), $refused POSTs answered 403; nothing outside listed"
rm -rf "$ALLOWED/flip" "$ALLOWED/flip.alt"

# ---- 3. a followed link re-pointed between the check and the open
F=$ALLOWED/follow
mkdir -p "$F/sub"
echo inside >"$F/sub/inside-sub"
ln -s sub "$F/link"
# Entries after "link" keep the worker busy between the check of link and its open.
python3 -c 'import os, sys
for i in range(3000): open(os.path.join(sys.argv[1], "z%05d" % i), "w").close()' "$F"
racer repoint "$WORK/stop" "$F/link" sub "$OUTSIDE"
followed=0 refused_open=0
for ((n = 0; n < follow_rounds; n++)); do
	id=$(submit "$F" '"follow_symlinks": true, "workers": 1, "use_gitignore": false')
	st=$(wait_done "$id")
	[[ $st == completed ]] || fail "follow race: scan $id ended $st: $(error_of "$id")"
	no_outside "$id" "re-pointed followed link"
	if grep -qx 'link/inside-sub' <<<"$(listed "$id")"; then followed=$((followed + 1)); fi
	req GET "/scans/$id/errors"
	expect 200 "errors of scan $id"
	refused_open=$((refused_open + $(jval "sum(1 for e in d['errors'] if e['path'] == 'link')")))
done
stop_racer
echo "re-pointed followed link: $follow_rounds scans, $followed followed it inside, $refused_open refused it at open; nothing outside listed"
# Without the race, the link is followed as before.
rm -f "$F/link" && ln -s sub "$F/link"
id=$(submit "$F" '"follow_symlinks": true, "use_gitignore": false')
[[ $(wait_done "$id") == completed ]] || fail "follow without race did not complete"
grep -qx 'link/inside-sub' <<<"$(listed "$id")" || fail "follow without race: link/inside-sub not listed"

# ---- 4. long roots
# A real directory whose path is near PATH_MAX, reached through a short symlink: the root
# L/<300 bytes>/c resolves to more than PATH_MAX bytes. Dropping the component that does not fit
# would scan <deep>/c, another directory.
deep=$ALLOWED/long
while ((${#deep} < 3900)); do deep=$deep/$(printf 'd%.0s' {1..200}); done
mkdir -p "$deep/c"
echo wrong >"$deep/c/wrong-directory"
ln -s "$deep" "$ALLOWED/L"
long_root=$ALLOWED/L/$(printf 'b%.0s' {1..300})/c
post_json /scans "{\"root\": \"$long_root\"}"
if [[ $STATUS == 202 ]]; then
	id=$(jval "d['id']")
	wait_done "$id" >/dev/null
	fail "a root resolving past PATH_MAX was accepted (scan $id lists: $(listed "$id" | head -n 2 | tr '\n' ' '))"
fi
expect 422 "root resolving past PATH_MAX"
py "d=J(); assert 'too long' in d['detail'] and '$ALLOWED/L/bbb' in d['detail'], d"

# A long valid UTF-8 root quoted in a 403 and a 422 detail: cut on a character boundary. The
# byte at 512 of the quote falls inside a character whichever way the prefix's parity goes.
for prefix in "$WORK/nowhere/" "$WORK/nowhere/x" "$ALLOWED/" "$ALLOWED/x"; do
	root=$prefix$(printf 'é%.0s' {1..400})
	post_json /scans "{\"root\": \"$root\"}"
	if [[ $prefix == "$ALLOWED"* ]]; then expect 422 "long UTF-8 root"; else expect 403 "long UTF-8 root"; fi
	py "d=J(); assert 'not valid UTF-8' not in d['detail'] and d['detail'].startswith(\"root '$prefix\"), d['detail']
assert 'éééé' in d['detail'], d['detail']"
done
echo "long roots: 422 past PATH_MAX; long UTF-8 roots quoted on character boundaries"

api_stop
echo PASS
