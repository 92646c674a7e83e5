#!/usr/bin/env bash
# api_delete_full: DELETE on a store whose map is full. Each DELETE answers 204 (its tombstone,
# one tiny row, was committed) or 503 with the store's reason (the scan is left whole), never
# 204 for a deletion that then fails in the background; and each answer holds after kill -9 and
# a restart: a 204'd scan never comes back, a 503'd one is still complete with all its entries.
# (Before the fix, DELETE answered 204, the removal failed in the background on the full map,
# and the scan reappeared after a restart.)
source "$(dirname "${BASH_SOURCE[0]}")/api_lib.bash"
SALSA=$(corpus salsa-like)
NASTY=$(corpus nasty)

# 2 MiB of map: room for the small trees, not for the 72,495 entries of the monorepo.
api_start --map-size 2M
small1=$(submit "$NASTY" '"use_gitignore": false')
[[ $(wait_done "$small1") == completed ]] || fail "the first small scan did not complete"
small2=$(submit "$NASTY" '"use_gitignore": false')
[[ $(wait_done "$small2") == completed ]] || fail "the second small scan did not complete"
big=$(submit "$SALSA" '"use_gitignore": false')
[[ $(wait_done "$big") == failed ]] || fail "a scan that overflows the map must fail"
req GET "/scans/$big"
py "e = J()['error']; assert 'store full' in e and '--map-size' in e, e"
req GET /readyz
expect 503 "readyz while the store cannot write"

# The map is full: delete a complete scan and the failed one. Whatever each answer, it is the
# truth right away, and the server is killed before any background purge could finish.
declare -A answer
for id in "$small1" "$big"; do
	req DELETE "/scans/$id"
	answer[$id]=$STATUS
	case $STATUS in
	204)
		req GET "/scans/$id"; expect 404 "GET scan $id after a 204"
		;;
	503)
		expect 503 "DELETE scan $id on a full map"
		py "d = J()['detail']; assert 'scan $id' in d and len(d) > 20, d"
		req GET "/scans/$id"; expect 200 "GET scan $id after a 503"
		;;
	*)
		fail "DELETE scan $id on a full map answered $STATUS: $(head -c 400 "$BODY")"
		;;
	esac
	echo "DELETE scan $id on a full map: ${answer[$id]}"
done
api_kill9

# nasty has 302 entries, the root included; the entries list leaves the root out.
entries_of() {
	req GET "/scans/$1/entries?page_size=10000"; expect 200 "entries of scan $1"
	jval "len(d['entries'])"
}
api_start --map-size 2M
for id in "$small1" "$big"; do
	if [[ ${answer[$id]} == 204 ]]; then
		for path in "/scans/$id" "/scans/$id/entries" "/scans/$id/errors" "/scans/$id/stats"; do
			req GET "$path"; expect 404 "GET $path: deleted (204) before kill -9"
		done
	else
		req GET "/scans/$id"; expect 200 "scan $id: its DELETE answered 503"
	fi
done
req GET "/scans/$small2"; expect 200 "the scan nobody deleted"
py "assert J()['state'] == 'completed', J()"
[[ $(entries_of "$small2") == 301 ]] || fail "the scan nobody deleted lost entries"
if [[ ${answer[$small1]} == 503 ]]; then
	req GET "/scans/$small1"; expect 200 "scan $small1 after a 503"
	py "assert J()['state'] == 'completed', J()"
	[[ $(entries_of "$small1") == 301 ]] || fail "scan $small1 (503) lost entries"
fi
req GET "/scans?page_size=1000"; expect 200 "list after restart"
py "
ids = [s['id'] for s in J()['scans']]
for sid, st in (($small1, '${answer[$small1]}'), ($big, '${answer[$big]}')):
    assert (sid in ids) == (st == '503'), (sid, st, ids)
assert $small2 in ids, ids
"
# Once the purges ran (at open, or later), the store writes again.
if [[ ${answer[$big]} == 204 ]]; then
	again=$(submit "$NASTY" '"use_gitignore": false')
	[[ $(wait_done "$again") == completed ]] || fail "after the delete and a restart, a small scan fails"
fi
api_stop
echo PASS
