#!/usr/bin/env bash
# A store that cannot write (here: a full LMDB map) fails the scan being written with a clear
# error, turns /readyz to 503 while it lasts, and takes nothing else down: the process serves,
# other scans read on, and once the full scan is deleted the store writes again.
source "$(dirname "$0")/api_lib.bash"
SALSA=$(corpus salsa-like)
NASTY=$(corpus nasty)

# 2 MiB of map: room for the small tree, not for the 72,495 entries of the monorepo.
api_start --map-size 2M
small=$(submit "$NASTY" '"use_gitignore": false')
[[ $(wait_done "$small") == completed ]] || fail "the small scan did not complete"
req GET /readyz
expect 200 "readyz before the store filled"

big=$(submit "$SALSA" '"use_gitignore": false')
[[ $(wait_done "$big") == failed ]] || fail "a scan that overflows the map must fail"
req GET "/scans/$big"
py "e = J()['error']; assert 'store full' in e and '--map-size' in e, e"
req GET /readyz
expect 503 "readyz while the store cannot write"
req GET /healthz
expect 200 "healthz while the store cannot write"

# The other scan is intact and still pages out.
req GET "/scans/$small/entries?page_size=10000"
expect 200 "entries of the small scan"
py "assert len(J()['entries']) == 301, len(J()['entries'])"

# Deleting the failed scan frees its pages; the next scan writes and readiness comes back. The
# deleter thread removes the records in the background and logs when it is done.
req DELETE "/scans/$big"
expect 204 "delete the failed scan"
# In a full map the purge can only free pages a few deletions at a time until the first chunks
# commit (store_purge.c), so on a loaded machine it may take longer than other waits.
wait_until 300 logged "scan deleted" "$big" || fail "scan $big was not purged within 300 s"
again=$(submit "$NASTY" '"use_gitignore": false')
st=$(wait_done "$again")
[[ $st == completed ]] || fail "after the delete, a small scan still ends $st"
req GET /readyz
expect 200 "readyz after a successful write"
api_stop
echo PASS
