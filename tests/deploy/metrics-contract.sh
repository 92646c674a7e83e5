#!/usr/bin/env bash
# The live /metrics output keeps the contract the Grafana dashboard and deploy/prometheus.yml are
# built on: every family of tests/deploy/metric-names.txt is exported with its `# TYPE`, and its
# samples carry exactly the labels listed (plus `le` on histogram buckets). Without this, a
# renamed metric would leave a dashboard panel silently empty. The format itself is checked by
# the metrics test with promtool; this is only the names, types and labels. The server runs with
# a token file, as deployed: /metrics answers without a token, the API only with one.
# shellcheck source-path=SCRIPTDIR source=lib.bash
source "$(dirname "$0")/lib.bash"
deploy_need curl python3
[ -x "${LEINDEXD:-}" ] || deploy_fail "LEINDEXD (the built binary) is not set: run through ctest"

tmp=$DEPLOY_TMP
# With a token file, as every deployment runs it: the API then wants a token and /metrics, which
# deploy/prometheus.yml and the pod's scrape annotations reach without one, must stay open.
"$LEINDEXD" token new --id contract --scope write >"$tmp/token-new" || deploy_fail "leindexd token new failed"
token=$(sed -n 's/^token: //p' "$tmp/token-new")
if [ -z "$token" ] || ! grep -E '^contract write sha256:[0-9a-f]{64}$' "$tmp/token-new" >"$tmp/tokens"; then
	deploy_fail "unexpected output of leindexd token new: $(cat "$tmp/token-new")"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$LEINDEXD" --listen "127.0.0.1:$port" --data-dir "$tmp/data" --token-file "$tmp/tokens" >"$tmp/log" 2>&1 &
pid=$!
stop() {
	if kill -TERM "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || true; fi
}
trap 'stop; deploy_cleanup' EXIT
base=http://127.0.0.1:$port
answers() {
	curl -fsS -m 10 -o /dev/null "$base/healthz" 2>/dev/null && return 0
	kill -0 "$pid" 2>/dev/null || { cat "$tmp/log" >&2; deploy_fail "leindexd exited at start"; }
	return 1
}
wait_until "$WAIT_UNTIL_DEFAULT_S" answers || deploy_fail "leindexd did not answer /healthz within $WAIT_UNTIL_DEFAULT_S s"
# A scan of a small tree, so that scan counters and histograms have samples: /metrics is read
# once it has finished.
mkdir -p "$tmp/tree/a/b" && touch "$tmp/tree/a/f1" "$tmp/tree/a/b/f2"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$base/scans") || deploy_fail "GET /scans failed"
[ "$code" = 401 ] || deploy_fail "GET /scans without a token answered $code, want 401"
auth=(-H "Authorization: Bearer $token")
curl -fsS "${auth[@]}" -o "$tmp/posted" -X POST -H 'Content-Type: application/json' \
	--data "{\"root\":\"$tmp/tree\"}" "$base/scans" || deploy_fail "POST /scans {\"root\": DIR} failed"
id=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$tmp/posted") ||
	deploy_fail "POST /scans answered no id: $(cat "$tmp/posted")"
finished() {
	curl -fsS -m 10 "${auth[@]}" -o "$tmp/scan" "$base/scans/$id" || return 1
	python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["state"] != "completed")' "$tmp/scan"
}
wait_until "$WAIT_UNTIL_DEFAULT_S" finished ||
	deploy_fail "scan $id did not complete within $WAIT_UNTIL_DEFAULT_S s: $(cat "$tmp/scan" 2>/dev/null)"
code=$(curl -sS -o "$tmp/metrics" -w '%{http_code}' "$base/metrics") ||
	deploy_fail "GET /metrics failed"
[ "$code" = 200 ] || deploy_fail "GET /metrics without a token answered $code (Prometheus sends none)"

python3 "$DEPLOY_SRC/tests/deploy/metrics_contract.py" "$DEPLOY_SRC/tests/deploy/metric-names.txt" "$tmp/metrics" ||
	deploy_fail "/metrics breaks the contract"
echo "metrics-contract: all checks passed"
