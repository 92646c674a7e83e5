#!/usr/bin/env bash
# http_scan.sh: the timed HTTP path of the benchmark, as a client that does not parse the JSON.
#
#   http_scan.sh BASE_URL ROOT [PAGE_SIZE] [USE_GITIGNORE]
#
# POST /scans, wait until the scan is `completed`, page out every entry at PAGE_SIZE (default
# 10000) with curl writing the bodies to /dev/null, following the `Link: <...>; rel="next"`
# header (the only part of a page read), then DELETE the scan. Exits non-zero, with a message
# saying which request failed, on any HTTP error or if the scan ends in another state.
# Each request is one curl process (~4 ms of start-up on the reference machine): that cost is
# part of the figure, as it would be for any shell client.
set -euo pipefail

base=${1:?usage: http_scan.sh BASE_URL ROOT [PAGE_SIZE] [USE_GITIGNORE]}
root=${2:?usage: http_scan.sh BASE_URL ROOT [PAGE_SIZE] [USE_GITIGNORE]}
page_size=${3:-10000}
gitignore=${4:-false}
base=${base%/}

fail() {
	echo "http_scan.sh: $*" >&2
	exit 1
}

# Escape the root for a JSON string: backslashes and quotes (the trees have plain ASCII roots).
json_root=${root//\\/\\\\}
json_root=${json_root//\"/\\\"}

body=$(curl -sS -q --fail-with-body -X POST -H 'Content-Type: application/json' \
	--data-binary "{\"root\":\"$json_root\",\"use_gitignore\":$gitignore}" "$base/scans") ||
	fail "POST $base/scans for $root failed: $body"
# The id is a string or a number; the scan resource is small, so a regex is enough here.
if [[ $body =~ \"id\"[[:space:]]*:[[:space:]]*\"([^\"]+)\" ]]; then
	id=${BASH_REMATCH[1]}
elif [[ $body =~ \"id\"[[:space:]]*:[[:space:]]*([0-9]+) ]]; then
	id=${BASH_REMATCH[1]}
else
	fail "POST $base/scans answered without an id: $body"
fi

state=
for _ in $(seq 1 100); do
	body=$(curl -sS -q --fail-with-body "$base/scans/$id?wait=60") ||
		fail "GET $base/scans/$id?wait=60 failed: $body"
	[[ $body =~ \"state\"[[:space:]]*:[[:space:]]*\"([a-z_]+)\" ]] ||
		fail "GET $base/scans/$id answered without a state: $body"
	state=${BASH_REMATCH[1]}
	case $state in
	completed) break ;;
	queued | running | pending) ;;
	*) fail "scan $id of $root ended $state: $body" ;;
	esac
done
[[ $state == completed ]] || fail "scan $id of $root not completed after 100 waits (state $state)"

url="$base/scans/$id/entries?page_size=$page_size"
pages=0
while [[ -n $url ]]; do
	headers=$(curl -sS -q --fail -D - -o /dev/null "$url") || fail "GET $url failed"
	pages=$((pages + 1))
	url=
	# A Link header may carry several links; take the one with rel="next".
	while IFS= read -r line; do
		line=${line%$'\r'}
		shopt -s nocasematch
		if [[ $line =~ ^link:.*\<([^>]*)\>[[:space:]]*\;[[:space:]]*rel=\"?next\"? ]]; then
			url=${BASH_REMATCH[1]}
			[[ $url == /* ]] && url="$base$url"
		fi
		shopt -u nocasematch
	done <<<"$headers"
done

curl -sS -q --fail -o /dev/null -X DELETE "$base/scans/$id" || fail "DELETE $base/scans/$id failed"
if [[ -n ${HTTP_SCAN_REPORT:-} ]]; then
	printf 'id\t%s\npages\t%s\n' "$id" "$pages" >"$HTTP_SCAN_REPORT"
fi
