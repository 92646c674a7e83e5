#!/usr/bin/env bash
# api_ui: the status page's routes without a browser (tests/e2e drives the page itself). /ui and
# its files are open with tokens on, embedded byte for byte, typed, cached by ETag (304), and
# under a CSP that the page's own markup keeps (nothing inline). GET /roots needs a token and
# lists the allowed roots resolved, or any=true without --allow-root. GET /scans answers 304
# while the page it names is unchanged.
source "$(dirname "${BASH_SOURCE[0]}")/api_lib.bash"

# ---- the page keeps its own policy: no inline script, style or handler, nothing from elsewhere
ui=$LEINDEX_SRC/ui
grep -qE '<script[^>]*>[^<]' "$ui/index.html" && fail "index.html has an inline script"
grep -qE '<style|[[:space:]]style=|[[:space:]]on[a-z]+=' "$ui/index.html" && fail "index.html has inline style or handlers"
grep -qE '(src|href)="(https?:)?//' "$ui/index.html" && fail "index.html loads from another origin"
grep -qE '\binnerHTML\b|\bouterHTML *=|insertAdjacentHTML|\beval\(|new Function|document\.write' "$ui/app.js" &&
	fail "app.js builds HTML from strings or evaluates code"
grep -qE "setAttribute\('style'|\.style\." "$ui/app.js" && fail "app.js sets inline styles"
# (The SVG namespace is a name, not a place anything is loaded from.)
grep -hoE 'https?://[^"'"'"' )]*' "$ui/app.js" "$ui/app.css" | grep -qv '^http://www.w3.org/2000/svg$' &&
	fail "app.js or app.css names another origin"

mkdir -p "$WORK/real/tree/d" "$WORK/other"
echo x >"$WORK/real/tree/d/f"
ln -s real/tree "$WORK/link"
out=$("$LEINDEXD" token new --id reader --scope read) || fail "token new"
TOK=$(sed -n 's/^token: //p' <<<"$out")
sed -n 3p <<<"$out" >"$WORK/tokens"
R=(-H "Authorization: Bearer $TOK")
api_start --token-file "$WORK/tokens" --allow-root "$WORK/link" --allow-root "$WORK/other"

# ---- the files, open to anyone, as they are in ui/
check_file() { # PATH FILE TYPE
	req GET "$1"; expect 200 "GET $1 without a token"
	cmp -s "$BODY" "$ui/$2" || fail "$1 differs from ui/$2"
	[[ $(header Content-Type) == "$3" ]] || fail "$1 Content-Type: $(header Content-Type)"
	[[ $(header Content-Security-Policy) == *"default-src 'self'"* ]] || fail "$1 CSP: $(header Content-Security-Policy)"
	[[ $(header X-Content-Type-Options) == nosniff ]] || fail "$1 nosniff"
	[[ $(header Cache-Control) == no-cache ]] || fail "$1 Cache-Control: $(header Cache-Control)"
	local tag
	tag=$(header ETag)
	[[ $tag =~ ^\"[0-9a-f]{16}\"$ ]] || fail "$1 ETag: $tag"
	: >"$BODY" # curl leaves the file alone when no body comes
	req GET "$1" -H "If-None-Match: $tag"; expect 304 "GET $1 with its ETag"
	[[ ! -s $BODY ]] || fail "$1: a 304 with a body"
	req GET "$1" -H 'If-None-Match: "0000000000000000"'; expect 200 "GET $1 with another ETag"
	req HEAD "$1"; expect 200 "HEAD $1"
	[[ $(header Content-Length) == "$(stat -c %s "$ui/$2")" ]] || fail "HEAD $1 Content-Length: $(header Content-Length)"
}
check_file /ui index.html 'text/html; charset=utf-8'
check_file /ui/ index.html 'text/html; charset=utf-8'
check_file /ui/app.js app.js 'text/javascript; charset=utf-8'
check_file /ui/app.css app.css 'text/css; charset=utf-8'
check_file /ui/icon.svg icon.svg 'image/svg+xml'
[[ $(header ETag) != "$(req GET /ui/app.js; header ETag)" ]] || fail "two files with one ETag"
req GET /ui/nope; expect 401 "an unknown file without a token (like any unknown path)"
req GET /ui/nope "${R[@]}"; expect 404 "an unknown file"
req GET '/ui?x=1'; expect 400 "a query on the page"
req POST /ui "${R[@]}"; expect 405 "POST /ui"
[[ $(header Allow) == "GET, HEAD, OPTIONS" ]] || fail "Allow of /ui: $(header Allow)"

# ---- GET /roots: a read token; the roots resolved as the server checks them
req GET /roots; expect 401 "/roots without a token"
req GET /roots "${R[@]}"; expect 200 "/roots"
py "d=J(); assert d=={'roots': ['$WORK/real/tree', '$WORK/other'], 'any': False}, d"
api_stop
api_start
req GET /roots; expect 200 "/roots without --allow-root"
py "d=J(); assert d=={'roots': [], 'any': True}, d"

# ---- GET /scans: 304 while unchanged, 200 once a scan is added
req GET /scans; expect 200 "GET /scans"
tag=$(header ETag)
[[ $tag =~ ^W/\"[0-9a-f]{16}\"$ ]] || fail "GET /scans ETag: $tag"
req GET /scans -H "If-None-Match: $tag"; expect 304 "GET /scans unchanged"
id=$(submit "$WORK/other")
wait_done "$id" >/dev/null
req GET /scans -H "If-None-Match: $tag"; expect 200 "GET /scans after a scan"
py "assert [s['id'] for s in J()['scans']] == [$id]"
tag2=$(header ETag)
[[ $tag2 != "$tag" ]] || fail "the ETag did not change"
req GET /scans -H "If-None-Match: $tag2"; expect 304 "GET /scans unchanged again"
req GET '/scans?state=running' -H "If-None-Match: $tag2"; expect 200 "another page has another tag"
echo "api_ui: ok"
