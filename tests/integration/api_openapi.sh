#!/usr/bin/env bash
# api_openapi: the server and openapi.yaml agree: every path and method in the file is answered
# (not 404/405), every route the server answers is in the file, and every method the server
# refuses with 405 names in Allow exactly the methods the file lists. No YAML library needed:
# the paths section is read by indentation.
source "$(dirname "${BASH_SOURCE[0]}")/api_lib.bash"
spec=$LEINDEX_SRC/openapi.yaml
python3 - "$spec" >"$WORK/spec.txt" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines[0].startswith('openapi: 3.1'), lines[0]
inside = False
path = None
routes = {}
for line in lines:
    if line == 'paths:':
        inside = True
        continue
    if inside and line and not line.startswith(' '):
        break
    if not inside:
        continue
    m = re.fullmatch(r'  (/\S*):', line)
    if m:
        path = m.group(1)
        routes[path] = []
        continue
    m = re.fullmatch(r'    (get|put|post|delete|patch|head|options|trace):', line)
    if m:
        routes[path].append(m.group(1).upper())
for p, ms in routes.items():
    print(p, ','.join(ms))
PY
[[ -s $WORK/spec.txt ]] || fail "no paths read from openapi.yaml"

mkdir -p "$WORK/t"
touch "$WORK/t/f"
api_start
id=$(submit "$WORK/t")
wait_done "$id" >/dev/null
id2=$(submit "$WORK/t")
wait_done "$id2" >/dev/null

all="GET POST PUT DELETE PATCH HEAD OPTIONS"
while read -r path methods; do
	url=${path//\{id\}/$id}
	for m in $all; do
		[[ $path == /scans/{id} && $m == DELETE ]] && url2=${path//\{id\}/$id2} || url2=$url
		if [[ $m == POST && $path == /scans ]]; then
			req POST "$url2" --json "{\"root\": \"$WORK/t\"}"
		elif [[ $m == GET && $path == */events ]]; then
			# An event stream does not end by itself: its status is read, then it is dropped.
			STATUS=$(curl -s -o /dev/null -D "$HDRS" -w '%{http_code}' -m 3 "$BASE$url2" || true)
		else
			req "$m" "$url2"
		fi
		if [[ ,$methods, == *",$m,"* ]]; then
			[[ $STATUS != 404 && $STATUS != 405 ]] || fail "$m $path is in openapi.yaml but answers $STATUS"
		else
			expect 405 "$m $path is not in openapi.yaml"
			[[ $(header Allow) == "$(tr , '\n' <<<"$methods" | paste -sd, | sed 's/,/, /g')" ]] ||
				[[ $(header Allow | tr -d ' ' | tr , '\n' | sort | paste -sd,) == "$(tr , '\n' <<<"$methods" | sort | paste -sd,)" ]] ||
				fail "Allow of $path is '$(header Allow)', openapi.yaml says $methods"
		fi
	done
done <"$WORK/spec.txt"

# Every route the server has (its routing table) is in the file, and nothing more.
python3 - "$LEINDEX_SRC/api/router.c" "$WORK/spec.txt" <<'PY' || fail "routing table and openapi.yaml differ"
import re, sys
table = set(re.findall(r'\{"(/[^"]*)", "([A-Z]+)"', open(sys.argv[1]).read()))
table |= {(p, 'HEAD') for (p, m) in table if m == 'GET'}  # HEAD is served by the GET route
spec = set()
for line in open(sys.argv[2]):
    path, methods = line.split()
    spec |= {(path, m) for m in methods.split(',')}
assert table, 'no routes found in router.c'
assert table == spec, ('only in router.c', table - spec, 'only in openapi.yaml', spec - table)
PY

# Every status the file lists for a route is one the source can answer (no invented codes).
for code in $(grep -oE "^        '[0-9]{3}':" "$spec" | tr -dc '0-9\n' | sort -u); do
	grep -rqE "(api_problem(_h)?\(req, |api_reply(_jw)?\(req, |api_scan_answer\(req, )$code\b" "$LEINDEX_SRC/api" ||
		fail "openapi.yaml lists status $code that no handler answers"
done
api_stop
echo "api_openapi: ok"
