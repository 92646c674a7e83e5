#!/usr/bin/env bash
# scanopt_openapi: openapi.yaml's ScanRequest and ScanOptions agree with the table of scan
# options (names, types, minimum/maximum, defaults, required); and the check catches each kind
# of mismatch planted in a copy of the file.
set -euo pipefail
: "${SCANOPT_DUMP:?path of the scanopt_dump program}"
src=${LEINDEX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
check=$src/tests/contract/scanopt_openapi.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$SCANOPT_DUMP" >"$tmp/table.json"
python3 "$check" "$tmp/table.json" "$src/openapi.yaml"

# plant NAME SED-SCRIPT WORD: openapi.yaml edited by SED-SCRIPT (within ScanRequest and
# ScanOptions) must fail the check, with WORD in what it prints.
plant() {
	sed "/^    ScanRequest:/,/^    Progress:/{ $2 }" "$src/openapi.yaml" >"$tmp/openapi.yaml"
	if cmp -s "$src/openapi.yaml" "$tmp/openapi.yaml"; then
		echo "FAIL: planting '$1' changed nothing: fix the sed script"; exit 1
	fi
	if out=$(python3 "$check" "$tmp/table.json" "$tmp/openapi.yaml"); then
		echo "FAIL: '$1' was not caught"; exit 1
	fi
	grep -q -- "$3" <<<"$out" || { echo "FAIL: '$1': '$3' not named in: $out"; exit 1; }
}
plant 'a maximum' 's/maximum: 86400000/maximum: 86400001/' 'slow_threshold_ms: maximum'
plant 'a default removed' '/default: 100/d' 'slow_threshold_ms: openapi.yaml lacks default'
plant 'a default changed' '/^        use_gitignore:/,/default:/ s/default: true/default: false/' 'use_gitignore: default'
plant 'a type' '/^        hash:/,/type:/ s/type: boolean/type: integer/' 'ScanRequest.hash: type'
plant 'a list limit' 's/maxItems: 1024/maxItems: 1000/' 'ignore: maxItems'
plant 'a field renamed' 's/^        one_file_system:/        one_filesystem:/' "one_file_system"
plant 'required' 's/required: \[root\]/required: [root, workers]/' 'ScanRequest: required'
plant 'an echoed field' 's/required: \[workers, max_depth, /required: [workers, /' 'ScanOptions: required'
plant 'a minimum' '/^        workers:/,/minimum:/ s/minimum: 1/minimum: 0/' 'ScanRequest.workers: minimum'
echo "scanopt_openapi: 9 planted mismatches caught"
