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
