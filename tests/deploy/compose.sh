#!/usr/bin/env bash
# deploy/compose.yaml and deploy/prometheus.yml: `docker-compose config -q` accepts the compose
# file (docker-compose 1.29 needs no engine for that), compose_rules.py checks issue 5's rules on
# the rendered file (read-only root with a tmpfs, named data volume, read-only /scan bind,
# healthcheck through `leindexd health`, stop_grace_period, Prometheus scraping /metrics), and
# `promtool check config` accepts prometheus.yml. Broken copies show the rules bite.
# shellcheck source-path=SCRIPTDIR source=lib.bash
source "$(dirname "$0")/lib.bash"
deploy_need docker-compose promtool /usr/bin/python3

compose=$DEPLOY_SRC/deploy/compose.yaml
tmp=$DEPLOY_TMP
/usr/bin/python3 -c 'import yaml' 2>/dev/null || deploy_missing "PyYAML for /usr/bin/python3 (python3-yaml)"

# config -q exits 0 on some problems and only warns on stderr: both must be clean.
docker-compose -f "$compose" config -q 2>"$tmp/stderr" || {
	cat "$tmp/stderr" >&2
	deploy_fail "docker-compose config rejects $compose"
}
[ ! -s "$tmp/stderr" ] || {
	cat "$tmp/stderr" >&2
	deploy_fail "docker-compose config warns about $compose"
}
grep -qE '^name:' "$compose" && deploy_fail "top-level name: breaks docker-compose 1.29"
echo "ok: docker-compose config -q accepts deploy/compose.yaml"

docker-compose -f "$compose" config >"$tmp/rendered.yaml" 2>/dev/null
/usr/bin/python3 "$DEPLOY_SRC/tests/deploy/compose_rules.py" "$tmp/rendered.yaml" \
	"$DEPLOY_SRC/deploy/prometheus.yml" "$DEPLOY_SRC/Dockerfile" || deploy_fail "compose rules broken"
echo "ok: compose.yaml keeps issue 5's rules"

promtool check config "$DEPLOY_SRC/deploy/prometheus.yml" || deploy_fail "promtool rejects prometheus.yml"

# mutate NAME SED-EXPR EXPECTED: a broken copy of compose.yaml must be rejected with EXPECTED.
mutate() {
	mkdir -p "$tmp/$1"
	cp "$DEPLOY_SRC/deploy/prometheus.yml" "$tmp/$1/"
	sed -E "$2" "$compose" >"$tmp/$1/compose.yaml"
	cmp -s "$compose" "$tmp/$1/compose.yaml" && deploy_fail "mutation $1 changed nothing"
	local out
	out=$( (docker-compose -f "$tmp/$1/compose.yaml" config 2>&1 >"$tmp/$1/rendered.yaml" &&
		/usr/bin/python3 "$DEPLOY_SRC/tests/deploy/compose_rules.py" "$tmp/$1/rendered.yaml" \
			"$tmp/$1/prometheus.yml" "$DEPLOY_SRC/Dockerfile") 2>&1) &&
		deploy_fail "mutation $1 was accepted"
	grep -qF -- "$3" <<<"$out" || deploy_fail "mutation $1: expected '$3', got: $out"
	echo "ok: rejects $1"
}
mutate writable-root 's/^    read_only: true$/    read_only: false/' "read_only is not true"
mutate no-grace '/^    stop_grace_period:/d' "no stop_grace_period"
mutate writable-scan '/target: \/scan/{n;s/read_only: true/read_only: false/}' "read-only bind mount at /scan"
mutate curl-health 's#test: \["CMD", "/usr/local/bin/leindexd", "health"\]#test: ["CMD", "curl", "-f", "localhost:8080/healthz"]#' "does not run"
mutate root-user 's/user: "10001:10001"/user: "root"/' "numeric non-root"
mutate top-level-name '1i name: leindexd' "name"
echo "compose: all checks passed"
