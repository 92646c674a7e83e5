#!/usr/bin/env bash
# exercise-dockerfile-rootfs.bash: runs the Dockerfile for real without a Docker engine.
#
# No Docker daemon runs here (only the client), so this plays the engine's part as root: it
# debootstraps bookworm (what debian:bookworm-slim is made of), executes every RUN/COPY/ENV/...
# of each stage in chroots (the build stage's apt-get, cmake build and ctest included), then runs
# the runtime stage like `docker run --read-only -v VOL:/data -v TREE:/scan:ro` plus a token file
# at the image's LEINDEX_TOKEN_FILE: the ENTRYPOINT as PID 1 under the image's USER in its own
# network/PID/mount namespaces, /healthz and /readyz probed without a token, the API without one
# (401), with a read token and with a write token, the token file rotated by SIGHUP, the
# HEALTHCHECK command run inside, STOPSIGNAL sent, then `scan /scan` run one-shot. Before all
# that, the image started without a token file must refuse to serve.
# See tests/deploy/dockerfile_rootfs.py for the details and what differs from a real engine.
#
# It takes minutes (debootstrap, apt, a full build and test run): ctest runs it through
# tests/deploy/rootfs.sh under CI=true (or LEINDEX_ROOTFS=1). It never skips: a missing tool or
# a failed step fails.
#
#   bash tests/deploy/exercise-dockerfile-rootfs.bash            # the working tree as context
#   LEINDEX_ROOTFS_CONTEXT=head bash tests/deploy/...            # a clean export of HEAD instead
#   LEINDEX_ROOTFS_CACHE=/var/cache/leindex/bookworm.tar ...     # reuse the debootstrap root
#   LEINDEX_ROOTFS_KEEP=1 ...                                    # keep the roots for inspection
set -euo pipefail
# No __pycache__ beside the helper modules in the source tree.
export PYTHONDONTWRITEBYTECODE=1

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || fail "must run as root: debootstrap, chroot and namespaces need it"
for tool in debootstrap unshare nsenter chroot mount ip curl python3 tar cp; do
	command -v "$tool" >/dev/null || fail "$tool is not installed (the setup script installs it)"
done

work=$(mktemp -d "${TMPDIR:-/var/tmp}/leindex-rootfs.XXXXXX") || fail "mktemp -d failed"
cleanup() {
	# Every mount was made in a private namespace; refuse to delete if one shows up anyway,
	# since rm -rf through a bind mount would delete the mounted tree.
	if findmnt -rn -o TARGET | grep -qF -- "$work"; then
		echo "rootfs: mounts remain under $work; not deleting it" >&2
	elif [ "${LEINDEX_ROOTFS_KEEP:-}" = 1 ]; then
		echo "rootfs: kept $work"
	else
		rm -rf -- "$work"
	fi
}
trap cleanup EXIT

context=$src
if [ "${LEINDEX_ROOTFS_CONTEXT:-}" = head ]; then
	context=$work/context
	mkdir "$context"
	git -C "$src" archive HEAD | tar -x -C "$context" || fail "git archive HEAD failed"
fi

# The Dockerfile's `corpora` stage is the integration tests' corpus generators, given as a named
# build context like `docker build --build-context corpora=../shared/corpora`.
corpora=${LEINDEX_CORPORA:-$src/../shared/corpora}
[ -f "$corpora/corpuslib.py" ] || fail "no corpus generators at $corpora (set LEINDEX_CORPORA)"

python3 "$here/dockerfile_rootfs.py" --dockerfile "$context/Dockerfile" --context "$context" \
	--build-context "corpora=$corpora" \
	--work "$work" ${LEINDEX_ROOTFS_CACHE:+--base-cache "$LEINDEX_ROOTFS_CACHE"}
