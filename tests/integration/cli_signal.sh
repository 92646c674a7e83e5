#!/usr/bin/env bash
# Ctrl-C (SIGINT) and SIGTERM cancel a one-shot `leindexd scan`: it prints its summary, exits 1,
# and the store keeps the scan `cancelled` with the counts of what it stored. The scan is a long
# hashing one (sparse files read as zeros); the test waits until the progress line on stderr
# shows entries, never for a fixed time, then signals it. The server then reads the records.
source "$(dirname "$0")/api_lib.bash"

TREE=$WORK/tree
mkdir -p "$TREE/small" "$TREE/big"
for i in 1 2 3 4 5; do echo "$i" >"$TREE/small/f$i"; done
# Far more zeros than any machine hashes before the signal: the scan cannot finish first.
for i in 1 2 3 4 5 6 7 8; do truncate -s 256G "$TREE/big/b$i"; done

# cancel_run SIGNAL OUT [flags...]: runs the scan in the background (so a non-interactive shell
# starts it with SIGINT ignored, as it does), waits for a progress line with entries, signals it.
cancel_run() {
	local sig=$1 out=$2
	shift 2
	"$LEINDEXD" scan --hash --workers 2 --data-dir "$DATA" "$@" "$TREE" >"$out" 2>"$out.err" &
	local pid=$! t0=$SECONDS
	until grep -qE ' scanning .*entries=[1-9]' "$out.err"; do
		kill -0 "$pid" 2>/dev/null || { cat "$out.err" >&2; fail "leindexd scan exited before its progress showed entries"; }
		((SECONDS - t0 < 60)) || { kill -KILL "$pid"; fail "no progress line with entries within 60 s"; }
		sleep 0.1
	done
	kill "-$sig" "$pid"
	t0=$SECONDS
	while kill -0 "$pid" 2>/dev/null; do # bash reaps it at once; the status waits for `wait`
		((SECONDS - t0 < 60)) || { kill -KILL "$pid"; fail "$sig: leindexd scan still runs 60 s after the signal"; }
		sleep 0.1
	done
	local rc=0
	wait "$pid" || rc=$?
	((rc == 1)) || { cat "$out.err" >&2; fail "$sig: leindexd scan exited $rc, expected 1"; }
	grep -q 'cancelling the scan' "$out.err" || fail "$sig: no word of the cancel on stderr"
}

# SIGINT, with the text summary.
cancel_run INT "$WORK/int"
head -n1 "$WORK/int" | grep -qE '^scan 1 of .*: cancelled$' || fail "SIGINT: summary: $(cat "$WORK/int")"
# Counts with thousands separators, the size for people (8.4 GiB).
read -r int_entries int_files int_size < <(sed -E ':a; s/([0-9]),([0-9]{3})/\1\2/; ta' "$WORK/int" | sed -nE \
	's/^  entries ([0-9]+) \(dirs [0-9]+, files ([0-9]+),.*\), ([0-9.]+ [KMGTPE]?i?B), .*/\1 \2 \3/p')
[[ -n ${int_entries:-} ]] || fail "SIGINT: no counts in the summary: $(cat "$WORK/int")"
((int_entries >= 7)) || fail "SIGINT: the summary shows $int_entries entries; the progress showed more"

# SIGTERM, with the JSON summary.
cancel_run TERM "$WORK/term" --json
python3 - "$WORK/term" <<'EOF' || fail "SIGTERM: JSON summary: $(cat "$WORK/term")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d['id'] == 2 and d['state'] == 'cancelled', d
p = d['progress']  # the document of GET /scans/{id}
assert p['entries'] >= 7 and p['entries'] == p['dirs'] + p['files'] + p['symlinks'] + p['other'], d
EOF

# The records, as the service shows them: cancelled, with the counts the summaries printed.
api_start
req GET /scans/1
expect 200 "GET /scans/1"
py "d=J(); p=d['progress']; assert d['state']=='cancelled', d
def size(b):
    if b < 1024: return f'{b} B'
    v, u = b / 1024, 0
    while v >= 1023.95 and u < 5: v, u = v / 1024, u + 1
    return f'{v:.1f} ' + ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'][u]
assert p['dirs']+p['files']+p['symlinks']+p['other']==$int_entries and p['files']==$int_files and size(p['bytes'])=='$int_size', (d, '$int_size')
assert d['finished_at'] and d['error'] is None, d"
req GET /scans/2
expect 200 "GET /scans/2"
python3 - "$BODY" "$WORK/term" <<'EOF' || fail "GET /scans/2 does not match the JSON summary: $(cat "$BODY")"
import json, sys
d, s = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
p = d['progress']
assert d['state'] == 'cancelled', d
for k in ('entries', 'dirs', 'files', 'symlinks', 'other', 'bytes', 'errors'):
    assert p[k] == s['progress'][k], (k, p, s)
EOF
req GET /scans/2/stats
expect 200 "GET /scans/2/stats"
python3 - "$BODY" "$WORK/term" <<'EOF' || fail "the stored counters of scan 2 differ from its summary"
import json, sys
c, s = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert c == s['stats'], (c, s['stats'])
EOF
api_stop
echo "cli_signal: SIGINT and SIGTERM cancelled the scan, printed the summary, exited 1, kept the counts"
