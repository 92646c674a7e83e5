#!/usr/bin/env bash
# deploy/leindexd.service: `systemd-analyze verify` prints nothing on stderr (it exits 0 even on
# errors, so stderr is what counts), the offline exposure score is at most 2.5, and the sandbox
# directives issue 5 asks for are there. verify runs against a scratch root holding the unit, the
# system's own units and the built binary at the unit's ExecStart path: the check then covers
# "is ExecStart executable" without installing anything on this machine. Tokens: the unit reads
# the operator's token file in place and `systemctl reload` sends SIGHUP, so reload rotates them.
# shellcheck source-path=SCRIPTDIR source=lib.bash
source "$(dirname "$0")/lib.bash"
deploy_need systemd-analyze

unit=$DEPLOY_SRC/deploy/leindexd.service
root=$DEPLOY_TMP

exec_path=$(sed -n 's/^ExecStart=[-@:+!]*\([^ ]*\).*/\1/p' "$unit")
[ -n "$exec_path" ] || deploy_fail "no ExecStart= in $unit"
mkdir -p "$root/etc/systemd/system" "$root/usr/lib/systemd" "$root$(dirname "$exec_path")"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/" || deploy_fail "cannot copy the system units"
if [ -n "${LEINDEXD:-}" ] && [ -x "$LEINDEXD" ]; then
	cp "$LEINDEXD" "$root$exec_path"
else
	deploy_fail "LEINDEXD (the built binary) is not set or not executable: run through ctest"
fi
# The other commands (ExecReload=/bin/kill) come from this host, at the same paths.
sed -n 's/^Exec[A-Za-z]*=[-@:+!]*\([^ ]*\).*/\1/p' "$unit" | sort -u | while read -r cmd; do
	[ "$cmd" = "$exec_path" ] && continue
	case $cmd in /*) ;; *) deploy_fail "$unit runs $cmd by a relative name; give its absolute path" ;; esac
	[ -x "$cmd" ] || deploy_fail "$unit runs $cmd, which this host does not have"
	mkdir -p "$root$(dirname "$cmd")" && cp "$cmd" "$root$cmd"
done
cp "$unit" "$root/etc/systemd/system/leindexd.service"
systemd-analyze verify --root="$root" leindexd.service 2>"$root/verify.err" >/dev/null || true
if [ -s "$root/verify.err" ]; then
	cat "$root/verify.err" >&2
	deploy_fail "systemd-analyze verify complains about $unit"
fi
echo "ok: systemd-analyze verify is silent"

# Score times ten (systemd 252): 25 means 2.5. Exits non-zero above the threshold.
systemd-analyze security --offline=yes --threshold=25 "$unit" >"$root/security.out" 2>&1 || {
	cat "$root/security.out" >&2
	deploy_fail "exposure score above 2.5"
}
tail -n 1 "$root/security.out"

for want in '^(DynamicUser=yes|User=[a-z])' '^ProtectSystem=strict$' '^ReadWritePaths=.' \
	'^ReadOnlyPaths=.' '^NoNewPrivileges=yes$' '^KillSignal=SIGTERM$' '^TimeoutStopSec=' \
	'^Environment=LEINDEX_DATA_DIR=' '^Environment=LEINDEX_ALLOWED_ROOTS='; do
	grep -qE -- "$want" "$unit" || deploy_fail "$unit lacks a line matching $want"
done
# The allowed roots must be readable through the sandbox: each one under ReadOnlyPaths=.
roots=$(sed -n 's/^Environment=LEINDEX_ALLOWED_ROOTS=//p' "$unit" | tr ':' ' ')
ro=$(sed -n 's/^ReadOnlyPaths=//p' "$unit" | tr '\n' ' ')
for r in $roots; do
	case " $ro " in *" $r "* | *" -$r "*) ;; *) deploy_fail "allowed root $r is not in ReadOnlyPaths=" ;; esac
done
data=$(sed -n 's/^Environment=LEINDEX_DATA_DIR=//p' "$unit")
grep -qE "^ReadWritePaths=.*$data" "$unit" || deploy_fail "data dir $data is not in ReadWritePaths="
echo "ok: sandbox directives present"

# Access control: the token file the operator keeps, read in place so that `systemctl reload`
# (SIGHUP) rotates tokens. Not from the credentials directory: systemd (252 here) copies a
# credential at start and never refreshes it, so a reload would re-read the old tokens.
# tokens_check UNIT: fails (in a subshell, for the mutations below) unless UNIT is wired so.
tokens_check() (
	local u=$1 tokens d
	tokens=$(sed -n 's/^Environment=LEINDEX_TOKEN_FILE=//p' "$u")
	[ -n "$tokens" ] || deploy_fail "$u sets no LEINDEX_TOKEN_FILE: any local caller could use the API"
	case $tokens in
	%d/* | *CREDENTIALS_DIRECTORY* | /run/credentials/*)
		deploy_fail "LEINDEX_TOKEN_FILE=$tokens is a credential: systemd never refreshes it while the service runs, so systemctl reload could not rotate tokens" ;;
	/*) ;;
	*) deploy_fail "LEINDEX_TOKEN_FILE=$tokens is not an absolute path" ;;
	esac
	grep -qE '^LoadCredential' "$u" && deploy_fail "$u loads a credential, which reload cannot refresh"
	# Readable through the sandbox, and not where the service itself may write.
	# shellcheck disable=SC2013 # one line may list several paths, split on spaces as systemd does
	for d in $(sed -n 's/^\(ReadWritePaths\|InaccessiblePaths\|StateDirectory\)=//p' "$u"); do
		d=${d#-}
		case $d in /*) ;; *) d=/var/lib/$d ;; esac
		case $tokens/ in "$d"/*) deploy_fail "LEINDEX_TOKEN_FILE=$tokens is under $d, which the service may write or not read" ;; esac
	done
	# shellcheck disable=SC2016 # $MAINPID is systemd's, not the shell's
	grep -qE '^ExecReload=[-@:+!]*/(usr/)?bin/kill -(HUP|SIGHUP|s HUP) \$MAINPID$' "$u" ||
		deploy_fail "$u has no ExecReload= sending SIGHUP to \$MAINPID: systemctl reload would not rotate tokens"
	echo "ok: tokens from $tokens, re-read on systemctl reload"
)
tokens_check "$unit"
deploy_auth_bypass || deploy_fail "deploy/ turns access control off or ships a token (lines above)"
echo "ok: deploy/ ships no token and never passes --insecure-no-auth"

# The checks bite: a unit with a typo'd directive must make verify speak.
sed 's/^NoNewPrivileges=yes/NoNewPrivilege=yes/' "$unit" >"$root/etc/systemd/system/leindexd.service"
systemd-analyze verify --root="$root" leindexd.service 2>"$root/verify.err" >/dev/null || true
grep -q "Unknown key" "$root/verify.err" || deploy_fail "verify did not flag an unknown key"
# ...and the token checks bite.
bites() {
	sed -E "$2" "$unit" >"$root/$1.service"
	cmp -s "$unit" "$root/$1.service" && deploy_fail "mutation $1 changed nothing"
	local out
	out=$(tokens_check "$root/$1.service" 2>&1) && deploy_fail "mutation $1 was accepted"
	grep -qF -- "$3" <<<"$out" || deploy_fail "mutation $1: expected '$3', got: $out"
	echo "ok: rejects $1"
}
bites no-token-file '/^Environment=LEINDEX_TOKEN_FILE=/d' "sets no LEINDEX_TOKEN_FILE"
bites credential 's#^Environment=LEINDEX_TOKEN_FILE=.*#LoadCredential=tokens:/etc/leindexd/tokens\nEnvironment=LEINDEX_TOKEN_FILE=%d/tokens#' "is a credential"
bites in-state-dir 's#^Environment=LEINDEX_TOKEN_FILE=.*#Environment=LEINDEX_TOKEN_FILE=/var/lib/leindexd/tokens#' "which the service may write"
bites no-reload '/^ExecReload=/d' "no ExecReload="
# shellcheck disable=SC2016 # $MAINPID is systemd's, not the shell's
bites reload-terminates 's#^ExecReload=.*#ExecReload=/bin/kill -TERM $MAINPID#' "no ExecReload="
# ...and an unsandboxed unit must fail the score.
printf '[Service]\nExecStart=%s\n' "$exec_path" >"$root/plain.service"
systemd-analyze security --offline=yes --threshold=25 "$root/plain.service" >/dev/null 2>&1 &&
	deploy_fail "security --threshold=25 accepted an unsandboxed unit"
echo "systemd-unit: all checks passed"
