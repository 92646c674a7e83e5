#!/usr/bin/env bash
# api_browser: requests a web page could forge against the loopback service are refused:
# DNS rebinding (a foreign Host), cross-site writes (a foreign Origin), and form bodies that a
# plain HTML form can send without any preflight. Reads and the service's own pages still work.
source "$(dirname "${BASH_SOURCE[0]}")/api_lib.bash"

mkdir -p "$WORK/tree/d"
echo x >"$WORK/tree/d/f"
make_slow_tree "$WORK/slow"
api_start --cors-origin https://dash.example
id=$(submit "$WORK/tree")
wait_done "$id" >/dev/null

# ---- DNS rebinding: a name that resolves to 127.0.0.1 but is not a loopback name
req GET /healthz -H "Host: rebind.evil.example:$PORT"; expect 403 "foreign Host"
py "assert 'DNS rebinding' in J()['detail'], J()"
req GET "/scans/$id/entries" -H 'Host: rebind.evil.example'; expect 403 "foreign Host on data"
for host in "localhost:$PORT" "127.0.0.1:$PORT" "127.0.0.2" "app.localhost:$PORT"; do
	req GET /healthz -H "Host: $host"; expect 200 "loopback Host $host"
done

# ---- cross-site writes, by Origin
slow=$(submit "$WORK/slow" '"hash": true')
req POST "/scans/$slow/cancel" -H 'Origin: https://evil.example'; expect 403 "cancel from a foreign page"
py "assert 'evil.example' in J()['detail'], J()"
req DELETE "/scans/$id" -H 'Origin: null'; expect 403 "delete from a sandboxed page"
req GET "/scans/$id"; expect 200 "the scan is still there"
req POST /scans -H 'Origin: https://evil.example' --json "{\"root\": \"$WORK/tree\"}"
expect 403 "POST /scans from a foreign page"
req GET "/scans/$slow"; expect 200 "the slow scan"
py "assert J()['state'] in ('queued', 'running'), J()['state']"

# ---- the form a page can send without a preflight: no Origin (old browsers), a form type
req POST "/scans/$slow/cancel" -H 'Content-Type: application/x-www-form-urlencoded' --data 'x=1'
expect 415 "cancel with a form body"
req POST "/scans/$slow/cancel" -H 'Content-Type: text/plain' --data 'x'; expect 415 "cancel with text/plain"

# ---- what must keep working: reads from any page, this server's own origin, an allowed dashboard
req GET "/scans/$id" -H 'Origin: https://evil.example'; expect 200 "a read from another page"
req POST "/scans/$slow/cancel" -H "Origin: http://127.0.0.1:$PORT"; expect 200 "cancel from the service's own page"
id2=$(submit "$WORK/tree")
wait_done "$id2" >/dev/null
req DELETE "/scans/$id2" -H 'Origin: https://dash.example'; expect 204 "delete from an allowed dashboard"
req DELETE "/scans/$id"; expect 204 "delete from curl (no Origin, no body)"
api_stop
echo "api_browser: ok"
