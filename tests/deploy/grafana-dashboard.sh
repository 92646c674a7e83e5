#!/usr/bin/env bash
# deploy/grafana/leindexd.json: valid JSON that Grafana can import, every query's PromQL parsed
# by promtool (as a rule file), and every query limited to the metrics, types and labels of
# tests/deploy/metric-names.txt (dashboard_rules.py says how). Broken copies show the rules bite.
# shellcheck source-path=SCRIPTDIR source=lib.bash
source "$(dirname "$0")/lib.bash"
deploy_need python3 promtool

dash=$DEPLOY_SRC/deploy/grafana/leindexd.json
names=$DEPLOY_SRC/tests/deploy/metric-names.txt
rules=$DEPLOY_SRC/tests/deploy/dashboard_rules.py
tmp=$DEPLOY_TMP

python3 "$rules" "$dash" "$names" "$tmp/queries.yml" || deploy_fail "dashboard breaks the rules above"
echo "ok: dashboard JSON refers only to exported metrics and labels"
promtool check rules "$tmp/queries.yml" >"$tmp/promtool.out" 2>&1 || {
	cat "$tmp/promtool.out" >&2
	deploy_fail "promtool cannot parse the dashboard's PromQL"
}
echo "ok: promtool parses all $(grep -c 'record:' "$tmp/queries.yml") queries"

mutate() {
	sed -E "$2" "$dash" >"$tmp/$1.json"
	cmp -s "$dash" "$tmp/$1.json" && deploy_fail "mutation $1 changed nothing"
	local out
	out=$(python3 "$rules" "$tmp/$1.json" "$names") && deploy_fail "mutation $1 was accepted"
	grep -qF -- "$3" <<<"$out" || deploy_fail "mutation $1: expected '$3', got: $out"
	echo "ok: rejects $1"
}
mutate unknown-metric 's/leindexd_scans_queued/leindexd_scan_queue/' "leindexd_scan_queue is not an exported metric"
mutate bare-counter 's/rate\(leindexd_entries_scanned_total/(leindexd_entries_scanned_total/' "used outside rate"
mutate unknown-label 's/sum by \(state\)/sum by (status)/' "label status"
mutate bare-histogram 's/leindexd_scandir_seconds_bucket/leindexd_scandir_seconds/' "leindexd_scandir_seconds is not an exported metric"
mutate pinned-datasource 's/"uid": "\$\{datasource\}"/"uid": "P1809F7CD0C75ACF3"/' "not the datasource variable"
mutate not-json '1s/^\{/[/' "not valid JSON"
echo "grafana-dashboard: all checks passed"
