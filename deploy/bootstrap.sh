#!/usr/bin/env bash
# bootstrap.sh: set up a Debian 12 machine for leindexd, build it, then serve or test.
#
#   deploy/bootstrap.sh serve   install what is missing, build, serve on 127.0.0.1:8080 (./data);
#                               LEINDEX_TOKEN_FILE=FILE makes the API ask for tokens (README,
#                               Deployment), which another LEINDEX_LISTEN than loopback needs
#   deploy/bootstrap.sh test    install what is missing, build, run the whole suite with ctest
#
# Packages are installed only when missing (as root, or through sudo). The build goes to
# ./build; the sanitizer builds (ASan+UBSan, TSan) are made and run by ctest itself.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_PACKAGES=(build-essential cmake pkg-config libmicrohttpd-dev liblmdb-dev libjansson-dev
	libssl-dev libcunit1-dev libgit2-dev zlib1g-dev libzstd-dev)
# clang builds the libFuzzer harnesses (tests/fuzz); its fuzzer runtime is only recommended by
# clang, and installs below run without recommends.
TEST_PACKAGES=(git python3 python3-yaml findutils util-linux iproute2 bfs fd-find hyperfine curl gzip zstd
	time lmdb-utils prometheus docker-compose systemd debootstrap clang libclang-rt-14-dev)
# Headless Chromium for the end-to-end tests of the status page (tests/e2e, driven by
# playwright-core from npm with Debian's browser; chromium-driver brings the matching driver).
TEST_PACKAGES+=(chromium chromium-driver)
# Node.js: a NodeSource nodejs package provides npm itself and conflicts with Debian's npm.
command -v node >/dev/null 2>&1 || TEST_PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || TEST_PACKAGES+=(npm)

install_missing() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "bootstrap: installing ${missing[*]}" >&2
	local sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() {
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j"$(nproc)"
}

case "${1:-}" in
serve)
	install_missing "${BUILD_PACKAGES[@]}"
	build
	exec build/leindexd --listen "${LEINDEX_LISTEN:-127.0.0.1:8080}" --data-dir "${LEINDEX_DATA_DIR:-./data}"
	;;
test)
	install_missing "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
	build
	ctest --test-dir build --output-on-failure -j2 --timeout 1500
	;;
*)
	echo "usage: deploy/bootstrap.sh serve|test" >&2
	exit 2
	;;
esac
