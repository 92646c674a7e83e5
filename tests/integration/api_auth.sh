#!/usr/bin/env bash
# api_auth: bearer tokens from --token-file. Reads need a read or write token, changes a write
# token; probes, the contract and OPTIONS stay open; an unknown path without a token is 401, not
# 404; SIGHUP rotates the file; the log names the token's ID, never the token. Without a token
# file only loopback may be served; LEINDEX_ALLOWED_ROOTS set to nothing is refused.
source "$(dirname "${BASH_SOURCE[0]}")/api_lib.bash"

mkdir -p "$WORK/tree/d"
echo x >"$WORK/tree/d/f"
mint() { # ID SCOPE: prints "TOKEN LINE"
	local out
	out=$("$LEINDEXD" token new --id "$1" --scope "$2") || fail "token new $1"
	printf '%s %s\n' "$(sed -n 's/^token: //p' <<<"$out")" "$(sed -n '3p' <<<"$out")"
}
read -r RTOK rline_a rline_b rline_c < <(mint reader read)
read -r WTOK wline_a wline_b wline_c < <(mint writer write)
[[ $RTOK == lxd_* && ${#RTOK} -eq 47 ]] || fail "token shape: $RTOK"
# The file line is ID SCOPE sha256:HEX with HEX the digest of the token as printed.
[[ "$rline_c" == "sha256:$(printf %s "$RTOK" | sha256sum | cut -d' ' -f1)" ]] || fail "digest: $rline_c"
printf '# readers and writers\n%s %s %s\n%s %s %s\n' "$rline_a" "$rline_b" "$rline_c" \
	"$wline_a" "$wline_b" "$wline_c" >"$WORK/tokens"
if "$LEINDEXD" token new --id 'bad id' --scope read 2>"$WORK/err"; then fail "a bad --id was taken"; fi
grep -q -- '--id' "$WORK/err" || fail "bad --id message: $(cat "$WORK/err")"

# ---- a token file in force (api_start probes /healthz, which stays open)
api_start --token-file "$WORK/tokens"
R=(-H "Authorization: Bearer $RTOK")
W=(-H "Authorization: Bearer $WTOK")
req GET /scans; expect 401 "no token"
[[ $(header WWW-Authenticate) == 'Bearer realm="leindexd"' ]] || fail "WWW-Authenticate: $(header WWW-Authenticate)"
req GET /nope; expect 401 "an unknown path without a token"
req GET /scans -H "Authorization: Bearer lxd_not-a-token"; expect 401 "unknown token"
[[ $(header WWW-Authenticate) == *'error="invalid_token"'* ]] || fail "invalid_token: $(header WWW-Authenticate)"
req GET /nope "${R[@]}"; expect 404 "an unknown path with a token"
for open in /healthz /readyz /openapi.yaml /metrics; do
	req GET "$open"; expect 200 "$open without a token"
done
req OPTIONS /scans; expect 204 "OPTIONS without a token"
req POST /scans "${R[@]}" --json "{\"root\": \"$WORK/tree\"}"; expect 403 "POST with a read token"
py "assert 'reader' in J()['detail'] and 'write' in J()['detail'], J()"
req POST /scans "${W[@]}" --json "{\"root\": \"$WORK/tree\"}"; expect 202 "POST with a write token"
id=$(jval "d['id']")
req GET "/scans/$id?wait=30" "${R[@]}"; expect 200 "GET with a read token"
req HEAD "/scans/$id" "${R[@]}"; expect 200 "HEAD with a read token"
req DELETE "/scans/$id" "${R[@]}"; expect 403 "DELETE with a read token"
grep -q 'token_id="reader"' "$WORK/server.log" || fail "the log does not name the token's ID"
if grep -qF "$RTOK" "$WORK/server.log" || grep -qF "$WTOK" "$WORK/server.log"; then
	fail "a token is in the log"
fi

# ---- rotation without restart: the reader's line goes, a new reader comes
read -r NTOK nline_a nline_b nline_c < <(mint reader2 read)
printf '%s %s %s\n%s %s %s\n' "$wline_a" "$wline_b" "$wline_c" "$nline_a" "$nline_b" "$nline_c" >"$WORK/tokens"
kill -HUP "$SERVER_PID"
rotated() { req GET /scans "${R[@]}"; [[ $STATUS == 401 ]]; }
wait_until 60 rotated || fail "the old token still works after SIGHUP"
req GET /scans -H "Authorization: Bearer $NTOK"; expect 200 "the new token after SIGHUP"
# A broken file keeps the tokens in force.
echo 'broken line' >"$WORK/tokens"
kill -HUP "$SERVER_PID"
wait_until 60 grep -q 're-reading the token file failed' "$WORK/server.log" || fail "no log of the broken file"
req GET /scans -H "Authorization: Bearer $NTOK"; expect 200 "tokens in force after a broken file"
api_stop

# ---- --metrics-auth closes /metrics too
printf '%s %s %s\n' "$rline_a" "$rline_b" "$rline_c" >"$WORK/tokens"
api_start --token-file "$WORK/tokens" --metrics-auth
req GET /metrics; expect 401 "/metrics with --metrics-auth"
req GET /metrics "${R[@]}"; expect 200 "/metrics with a read token"
api_stop

# ---- no token file: loopback only, unless --insecure-no-auth
port=$(free_port)
if "$LEINDEXD" --listen "0.0.0.0:$port" --data-dir "$WORK/d2" 2>"$WORK/err"; then
	fail "served 0.0.0.0 without a token file"
fi
grep -q -- '--token-file' "$WORK/err" || fail "message: $(cat "$WORK/err")"
"$LEINDEXD" --listen "0.0.0.0:$port" --data-dir "$WORK/d2" --insecure-no-auth 2>"$WORK/err2" &
pid=$!
wait_until 60 curl -fs -o /dev/null "http://127.0.0.1:$port/healthz" || fail "--insecure-no-auth did not serve"
kill -TERM "$pid"
wait "$pid" || fail "--insecure-no-auth exit status"

# ---- LEINDEX_ALLOWED_ROOTS set to nothing is refused at start; the roots are logged
for v in '' ':' '::'; do
	if LEINDEX_ALLOWED_ROOTS=$v "$LEINDEXD" --listen "127.0.0.1:$port" --data-dir "$WORK/d3" 2>"$WORK/err"; then
		fail "LEINDEX_ALLOWED_ROOTS='$v' started"
	fi
	grep -q 'names no directory' "$WORK/err" || fail "LEINDEX_ALLOWED_ROOTS='$v': $(cat "$WORK/err")"
done
: >"$WORK/server.log"
LEINDEX_ALLOWED_ROOTS="$WORK/tree" api_start
# The daemon answers /healthz a moment before the startup line is written: poll for it.
wait_until 60 grep -q "allowed_roots=\"$WORK/tree\"" "$WORK/server.log" ||
	fail "the startup line does not list the roots"
api_stop
echo "api_auth: ok"
