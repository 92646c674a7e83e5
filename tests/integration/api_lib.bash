# api_lib.bash: shared helpers of the api_*.sh integration tests (sourced, not a test itself).
# Starts the real leindexd on a free loopback port with a temporary data directory, sends
# requests with curl, and checks JSON with python3. Everything is removed at exit.
set -euo pipefail
: "${LEINDEXD:?LEINDEXD must name the leindexd binary}"
LEINDEX_SRC=${LEINDEX_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
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

# api_start [leindexd flags...]: starts the server and waits until /healthz answers.
api_start() {
	PORT=$(free_port)
	BASE=http://127.0.0.1:$PORT
	"$LEINDEXD" --listen "127.0.0.1:$PORT" --data-dir "$DATA" "$@" >>"$WORK/server.log" 2>&1 &
	SERVER_PID=$!
	for _ in $(seq 1 100); do
		if curl -fs -o /dev/null "$BASE/healthz"; then
			return 0
		fi
		kill -0 "$SERVER_PID" 2>/dev/null || fail "leindexd exited at start"
		sleep 0.1
	done
	fail "leindexd did not answer /healthz within 10 s"
}

# api_stop: SIGTERM, and the exit status must be 0 within 10 s.
api_stop() {
	kill -TERM "$SERVER_PID"
	local t0=$SECONDS rc=0
	wait "$SERVER_PID" || rc=$?
	SERVER_PID=
	((rc == 0)) || fail "leindexd exited $rc after SIGTERM"
	((SECONDS - t0 <= 10)) || fail "leindexd took $((SECONDS - t0)) s to stop"
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

# make_slow_tree DIR: a tree whose hashing takes seconds (sparse files read as zeros).
make_slow_tree() {
	mkdir -p "$1"
	for i in 1 2 3 4 5 6 7 8; do
		truncate -s 16G "$1/big$i"
	done
}
