#!/usr/bin/env bash
# deploy/leindexd.service: `systemd-analyze verify` prints nothing on stderr (it exits 0 even on
# errors, so stderr is what counts), the offline exposure score is at most 2.5, and the sandbox
# directives issue 5 asks for are there. verify runs against a scratch root holding the unit, the
# system's own units and the built binary at the unit's ExecStart path: the check then covers
# "is ExecStart executable" without installing anything on this machine.
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

# The checks bite: a unit with a typo'd directive must make verify speak.
sed 's/^NoNewPrivileges=yes/NoNewPrivilege=yes/' "$unit" >"$root/etc/systemd/system/leindexd.service"
systemd-analyze verify --root="$root" leindexd.service 2>"$root/verify.err" >/dev/null || true
grep -q "Unknown key" "$root/verify.err" || deploy_fail "verify did not flag an unknown key"
# ...and an unsandboxed unit must fail the score.
printf '[Service]\nExecStart=%s\n' "$exec_path" >"$root/plain.service"
systemd-analyze security --offline=yes --threshold=25 "$root/plain.service" >/dev/null 2>&1 &&
	deploy_fail "security --threshold=25 accepted an unsandboxed unit"
echo "systemd-unit: all checks passed"
