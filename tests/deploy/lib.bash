# lib.bash: helpers sourced by tests/deploy/*.sh (not itself a test: no .sh suffix).
#
# Each check needs an outside tool (docker-compose, systemd-analyze, npm, promtool). A developer
# without one gets exit 77 (ctest reports it as skipped when the test has SKIP_RETURN_CODE 77);
# under CI=true a missing tool is a failure, since the setup script is meant to install it and a
# skipped check would pass silently.

set -euo pipefail
# No __pycache__ beside the helper modules in the source tree.
export PYTHONDONTWRITEBYTECODE=1

# shellcheck disable=SC2034 # used by the scripts that source this file
DEPLOY_SRC=${LEINDEX_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# wait_until: the one way the tests wait for a state (never a fixed sleep, never a time bound).
# shellcheck source=../lib/poll.bash
source "$DEPLOY_SRC/tests/lib/poll.bash"

deploy_fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# deploy_missing WHAT: WHAT is not installed; fails under CI=true, else skips (exit 77).
deploy_missing() {
	if [ "${CI:-}" = true ]; then
		deploy_fail "$1 is not installed; CI=true makes a missing tool a failure (the setup script installs it)"
	fi
	echo "SKIP: $1 is not installed (install it to run this check)"
	exit 77
}

# deploy_need TOOL...: every TOOL must be on PATH.
deploy_need() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 || deploy_missing "$tool"
	done
}

# DEPLOY_TMP: a scratch directory of this test, removed when it exits (a test that sets its own
# EXIT trap calls deploy_cleanup from it).
DEPLOY_TMP=$(mktemp -d "${TMPDIR:-/tmp}/leindex-deploy.XXXXXX") || deploy_fail "mktemp -d failed"
deploy_cleanup() {
	rm -rf -- "$DEPLOY_TMP"
}
trap deploy_cleanup EXIT

# deploy_auth_bypass_in FILE...: prints every line of the FILEs that turns access control off or
# ships a token, and returns 1 if there is one. Looked for: --insecure-no-auth outside comments,
# a token-file line (`ID read|write sha256:<64 hex>`), a token as `leindexd token new` prints it.
deploy_auth_bypass_in() {
	! grep -nHE -e '^[^#]*--insecure-no-auth' \
		-e '^[[:space:]]*[^#[:space:]]+[[:space:]]+(read|write)[[:space:]]+sha256:[0-9a-fA-F]{64}' \
		-e 'lxd_[A-Za-z0-9_-]{20,}' -- "$@"
}

# deploy_auth_bypass: deploy_auth_bypass_in on every file of deploy/ and the Dockerfile that git
# tracks (what the repository ships; an operator's own token file beside compose.yaml is not
# shipped), or outside a git checkout on all of them but deploy/leindexd-tokens, compose's
# default token file.
deploy_auth_bypass() {
	local files=()
	if git -C "$DEPLOY_SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		mapfile -t files < <(git -C "$DEPLOY_SRC" ls-files --full-name -- deploy Dockerfile |
			sed "s#^#$DEPLOY_SRC/#")
	else
		mapfile -t files < <(find "$DEPLOY_SRC/deploy" "$DEPLOY_SRC/Dockerfile" -type f \
			! -path "$DEPLOY_SRC/deploy/leindexd-tokens")
	fi
	[ ${#files[@]} -gt 0 ] || deploy_fail "no files under $DEPLOY_SRC/deploy"
	deploy_auth_bypass_in "${files[@]}"
}
