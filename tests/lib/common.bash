# common.bash: shared set-up of the integration tests (sourced, never run by ctest itself;
# tests/integration/api_lib.bash sources it too).
set -euo pipefail
# wait_until: the one way the tests wait for a state (never a fixed sleep, never a time bound).
source "$(dirname "${BASH_SOURCE[0]}")/poll.bash"

: "${LEINDEXD:?LEINDEXD must name the leindexd binary}"
: "${LEINDEX_SRC:?LEINDEX_SRC must name the source tree}"
TREECMP="python3 $LEINDEX_SRC/tests/lib/treecmp.py"
CORPORA="${LEINDEX_CORPORA:-$LEINDEX_SRC/../shared/corpora}"

T=$(mktemp -d /tmp/leindex-test.XXXXXX)
cleanup() {
	chmod -R u+rwx "$T" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

# The system's python3 first, when there is one: a version manager's shim on PATH (pyenv's runs
# `pyenv exec` from a bash script) costs over half a second a call, and the tests call python
# hundreds of times: it was most of the suite's time. The tests use only the standard library.
if [[ -x /usr/bin/python3 && $(command -v python3 || true) != /usr/bin/python3 ]]; then
	mkdir -p "$T/.python"
	ln -s /usr/bin/python3 "$T/.python/python3"
	PATH=$T/.python:$PATH
fi

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# A tool the test needs: under CI its absence fails the test, elsewhere it skips (ctest: 77).
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	if [ "${CI:-}" = "true" ]; then
		fail "$1 is not installed (CI must install it)"
	fi
	echo "SKIP: $1 is not installed" >&2
	exit 77
}

# Permission errors only show when not root: run as nobody when we are root.
as_nobody() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
	else
		"$@"
	fi
}

# The leindexd scan of $1 with --list --null into file $2; other options follow.
scan_list() {
	local dir=$1 out=$2
	shift 2
	"$LEINDEXD" scan --data-dir "$T/data.$RANDOM$RANDOM" --list --null "$@" "$dir" >"$out"
}

# Prints the path of a corpus tree, built once and then shared read-only by every test (and by
# the sanitizer runs): generating the larger trees costs far more than scanning them. Trees live
# outside the repository, keyed by the generators' checksum, so a changed generator rebuilds.
corpus() {
	local name=$1
	[ -f "$CORPORA/$name.py" ] || fail "corpus generator $CORPORA/$name.py is missing"
	local sum cache dest
	sum=$(cat "$CORPORA/$name.py" "$CORPORA/corpuslib.py" | md5sum | cut -c1-12)
	cache="${LEINDEX_CORPUS_CACHE:-${TMPDIR:-/tmp}/leindex-corpora.$(id -u)}"
	dest="$cache/$name-$sum"
	mkdir -p "$cache" && chmod 755 "$cache"
	(
		flock 9
		if [ ! -e "$dest.complete" ]; then
			rm -rf "$dest"
			PYTHONDONTWRITEBYTECODE=1 python3 "$CORPORA/$name.py" "$dest" >/dev/null
			touch "$dest.complete"
		fi
	) 9>"$cache/$name.lock"
	echo "$dest"
}
