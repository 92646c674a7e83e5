#!/usr/bin/env bash
# rootfs.sh: ctest's handle on the Dockerfile exercise in a debootstrap root (minutes, network to
# Debian's mirror, root). It runs under CI=true, where it must pass, or when LEINDEX_ROOTFS=1;
# elsewhere it is skipped (ctest: 77) so that a developer's ctest stays quick.
set -euo pipefail
if [ "${CI:-}" != "true" ] && [ "${LEINDEX_ROOTFS:-}" != 1 ]; then
	echo "SKIP: the Dockerfile exercise runs under CI=true or LEINDEX_ROOTFS=1" >&2
	exit 77
fi
exec bash "$(dirname "$0")/exercise-dockerfile-rootfs.bash"
