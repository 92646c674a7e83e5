# api_lib.bash: shared helpers of the api_*.sh integration tests (sourced, not a test itself).
# Starts the real leindexd on a free loopback port with a temporary data directory, sends
# requests with curl, and checks JSON with python3. Everything is removed at exit.
# Builds on tests/lib/common.bash (corpus, need, wait_until, ...); its fail() and EXIT trap
# are replaced by the ones below, which also stop the server.
set -euo pipefail
: "${LEINDEXD:?LEINDEXD must name the leindexd binary}"
LEINDEX_SRC=${LEINDEX_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
source "$LEINDEX_SRC/tests/lib/common.bash"
WORK=$(mktemp -d /tmp/leindex-api.XXXXXX)
DATA=$WORK/data
SERVER_PID=
PORT=
BASE=
BODY=$WORK/body
HDRS=$WORK/hdrs
STATUS=
FAILS=0

api_cleanup() {
	if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	chmod -R u+rwx "$WORK" 2>/dev/null || true
	rm -rf "$WORK"
	cleanup # common.bash's scratch directory
}
trap api_cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	if [[ -f $WORK/server.log ]]; then
		echo "--- last server log lines:" >&2
		tail -n 20 "$WORK/server.log" >&2 || true
	fi
	exit 1
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# api_answers: the server answers /healthz; fails the test at once if it has exited.
api_answers() {
	curl -fs -m 10 -o /dev/null "$BASE/healthz" && return 0
	kill -0 "$SERVER_PID" 2>/dev/null || fail "leindexd exited at start"
	return 1
}

# api_start [leindexd flags...]: starts the server and waits until /healthz answers.
api_start() {
	PORT=$(free_port)
	BASE=http://127.0.0.1:$PORT
	"$LEINDEXD" --listen "127.0.0.1:$PORT" --data-dir "$DATA" "$@" >>"$WORK/server.log" 2>&1 &
	SERVER_PID=$!
	wait_until "$WAIT_UNTIL_DEFAULT_S" api_answers ||
		fail "leindexd did not answer /healthz within $WAIT_UNTIL_DEFAULT_S s"
}

# api_exited: the server process is gone (exited, or a zombie waiting for `wait`).
api_exited() {
	local st
	kill -0 "$SERVER_PID" 2>/dev/null || return 0
	st=$(cut -d' ' -f3 "/proc/$SERVER_PID/stat" 2>/dev/null) || return 0
	[[ $st == Z ]]
}

# api_stop: SIGTERM, and the server must exit with status 0. Stopping interrupts running scans
# mid-file; the deadline is generous and only keeps a server that ignores SIGTERM from hanging
# the test until ctest's timeout.
api_stop() {
	kill -TERM "$SERVER_PID"
	wait_until "$WAIT_UNTIL_DEFAULT_S" api_exited ||
		fail "leindexd still runs $WAIT_UNTIL_DEFAULT_S s after SIGTERM"
	local rc=0
	wait "$SERVER_PID" || rc=$?
	SERVER_PID=
	((rc == 0)) || fail "leindexd exited $rc after SIGTERM"
}

# api_kill9: as a crash would.
api_kill9() {
	kill -KILL "$SERVER_PID"
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=
}

# req METHOD PATH [curl args...]: sets STATUS, the body in $BODY, the headers in $HDRS.
req() {
	local method=$1 path=$2 how=(-X "$1")
	shift 2
	LAST_METHOD=$method
	# curl -X HEAD would wait for the body that Content-Length announces: --head reads none.
	[[ $method == HEAD ]] && how=(--head)
	STATUS=$(curl -s -o "$BODY" -D "$HDRS" -w '%{http_code}' "${how[@]}" "$@" "$BASE$path") ||
		fail "curl $method $path failed"
	if [[ $method == HEAD ]]; then : >"$BODY"; fi
}

# post_json PATH JSON: POST with curl --json.
post_json() {
	req POST "$1" --json "$2"
}

# expect CODE [what]: the last status must be CODE; a 4xx/5xx must be a problem document.
expect() {
	local code=$1 what=${2:-}
	if [[ $STATUS != "$code" ]]; then
		fail "$what: expected $code, got $STATUS: $(head -c 400 "$BODY")"
	fi
	if ((code >= 400)) && [[ ${LAST_METHOD:-} != HEAD ]]; then
		grep -qi '^content-type: application/problem+json' "$HDRS" ||
			fail "$what: $code without application/problem+json"
		py "d=J(); assert d['status']==$code and d['type'] and d['title'] and d['detail'], d"
	fi
}

# py CODE: runs python with J() = the last body as JSON; assertion failures fail the test.
py() {
	python3 - "$BODY" "$@" <<PYEOF || fail "python check failed: $1"
import json, sys, base64, os
def J(path=sys.argv[1]):
    with open(path, 'rb') as f:
        return json.loads(f.read())
$1
PYEOF
}

# header NAME: prints the value of a response header of the last request.
header() {
	grep -i "^$1:" "$HDRS" | head -n1 | cut -d' ' -f2- | tr -d '\r'
}

# jval EXPR: prints a Python expression over the last body (d).
jval() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$BODY" "$1"
}

# wait_done ID: waits (up to 60 s) until scan ID is finished; prints its state.
wait_done() {
	local id=$1 st
	for _ in 1 2 3; do
		req GET "/scans/$id?wait=30"
		expect 200 "wait for scan $id"
		st=$(jval "d['state']")
		if [[ $st != queued && $st != running ]]; then
			echo "$st"
			return 0
		fi
	done
	fail "scan $id did not finish"
}

# submit ROOT [extra JSON fields]: POSTs a scan, prints its id.
submit() {
	local root=$1 extra=${2:-}
	post_json /scans "{\"root\": \"$root\"${extra:+, $extra}}"
	expect 202 "POST /scans $root"
	jval "d['id']"
}

# scan_state_is ID STATE...: scan ID (GET /scans/ID) is in one of the STATEs.
scan_state_is() {
	local id=$1 st
	shift
	req GET "/scans/$id"
	expect 200 "GET /scans/$id"
	st=$(jval "d['state']")
	[[ " $* " == *" $st "* ]]
}

# wait_state ID STATE...: polls until scan ID is in one of the STATEs (a runner took it up, a
# cancel took effect, ...); fails the test past a generous deadline.
wait_state() {
	local id=$1
	shift
	wait_until "$WAIT_UNTIL_DEFAULT_S" scan_state_is "$id" "$@" ||
		fail "scan $id is still $(jval "d['state']") after $WAIT_UNTIL_DEFAULT_S s, not $*"
}

# logged MSG SCAN_ID: the server log has the event MSG for that scan (text or JSON log format),
# e.g. `logged "scan deleted" 3`: the deleter thread has removed scan 3's records.
logged() {
	grep -qE "^[^ ]+ +[a-z]+ +$1 (.* )?scan_id=$2( |\$)|\"msg\":\"$1\".*\"scan_id\":$2[,}]" \
		"$WORK/server.log"
}

# hold_get PATH OUT: GET PATH in the background on a connection of its own, for a request the
# server holds (?wait=N). Returns once the request is sent (OUT.sent exists); OUT appears, whole,
# when the answer comes: its status code on the first line, then the body. Sets HOLD_PID.
hold_get() {
	local path=$1 out=$2
	python3 - "$PORT" "$path" "$out" <<'PY' &
import http.client, os, sys
port, path, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = http.client.HTTPConnection('127.0.0.1', port, timeout=600)
c.request('GET', path)
open(out + '.sent', 'w').close()
r = c.getresponse()
body = r.read()
with open(out + '.part', 'wb') as f:
    f.write(b'%d\n' % r.status + body)
os.rename(out + '.part', out)
PY
	HOLD_PID=$!
	wait_until "$WAIT_UNTIL_DEFAULT_S" test -e "$out.sent" || fail "GET $path was not sent"
}

# make_slow_tree DIR: a tree whose hashing takes hours: sparse files read as zeros, each so large
# that hashing one to its end takes far longer than any deadline of the tests, so a scan of it is
# still running whenever a test looks, and only a cancel that interrupts a file mid-read stops it
# within a deadline.
make_slow_tree() {
	mkdir -p "$1"
	for i in 1 2 3 4 5 6 7 8; do
		truncate -s 1T "$1/big$i"
	done
}
