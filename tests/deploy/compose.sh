#!/usr/bin/env bash
# deploy/compose.yaml and deploy/prometheus.yml: `docker-compose config -q` accepts the compose
# file (docker-compose 1.29 needs no engine for that), compose_rules.py checks issue 5's rules on
# the rendered file (read-only root with a tmpfs, named data volume, read-only /scan bind,
# healthcheck through `leindexd health`, stop_grace_period, Prometheus scraping /metrics, tokens
# from a file-based secret at LEINDEX_TOKEN_FILE), `promtool check config` accepts prometheus.yml,
# and deploy/ ships no token and never passes --insecure-no-auth. Broken copies show the rules
# bite.
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

# The token file is the operator's: the repository ships none, and nothing serves without tokens.
deploy_auth_bypass || deploy_fail "deploy/ turns access control off or ships a token (lines above)"
secret_file=$(/usr/bin/python3 -c '
import sys, yaml
print(yaml.safe_load(open(sys.argv[1]))["secrets"]["leindexd-tokens"]["file"])' "$tmp/rendered.yaml") ||
	deploy_fail "the rendered compose file has no file-based secret leindexd-tokens"
if git -C "$DEPLOY_SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
	git -C "$DEPLOY_SRC" ls-files --error-unmatch -- "$secret_file" >/dev/null 2>&1; then
	deploy_fail "the token file $secret_file is in the repository; the operator makes it"
fi
echo "ok: tokens come from the operator's file $secret_file, mounted as a secret"

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
mutate no-token-file '/^      LEINDEX_TOKEN_FILE:/d' "LEINDEX_TOKEN_FILE is not set"
mutate token-file-elsewhere 's#LEINDEX_TOKEN_FILE: /run/secrets/leindexd-tokens#LEINDEX_TOKEN_FILE: /data/tokens#' \
	"is not where a secret of the service is mounted"
mutate secret-not-mounted '/^    secrets:$/,/^        target: leindexd-tokens$/d' "no secrets"
mutate secret-external 's#^    file: .*#    external: true#' "is not file-based"
mutate insecure 's#^    image: leindexd:local#&\n    command: ["--insecure-no-auth"]#' "passes --insecure-no-auth"
mutate metrics-auth-no-token 's#^      LEINDEX_TOKEN_FILE: .*#&\n      LEINDEX_METRICS_AUTH: "1"#' \
	"the leindexd job sends none"
# ...and the scan for shipped tokens bites.
printf 'ops write sha256:%064d\n' 0 >"$tmp/shipped-tokens"
deploy_auth_bypass_in "$tmp/shipped-tokens" >/dev/null && deploy_fail "a token-file line went unnoticed"
printf 'services: {leindexd: {command: [--insecure-no-auth]}}\n' >"$tmp/insecure.yaml"
deploy_auth_bypass_in "$tmp/insecure.yaml" >/dev/null && deploy_fail "--insecure-no-auth went unnoticed"
printf 'curl -H "Authorization: Bearer lxd_%043d"\n' 0 >"$tmp/token.sh"
deploy_auth_bypass_in "$tmp/token.sh" >/dev/null && deploy_fail "a token went unnoticed"
echo "ok: rejects a shipped token line, a token and --insecure-no-auth"
echo "compose: all checks passed"
