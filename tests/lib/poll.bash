# poll.bash: wait_until, the one way the shell tests wait for a state (sourced by
# tests/lib/common.bash, tests/integration/api_lib.bash and tests/deploy/lib.bash; no side
# effects of its own).
#
# The suite also runs under ASan and TSan on a small shared machine, so a test never sleeps a
# fixed time hoping that a state has been reached, and never asserts that something took less
# than some time: it polls for the state it needs, with a deadline generous enough that only a
# broken program misses it. Timing a test's steps proves nothing about the code and fails
# whenever the machine is busy.

# WAIT_UNTIL_DEFAULT_S: the deadline callers use unless they have a reason for another one.
# shellcheck disable=SC2034 # used by the scripts that source this file
WAIT_UNTIL_DEFAULT_S=60

# wait_until DEADLINE_S CMD [ARGS...]: runs CMD in this shell every 0.1 s until it succeeds, and
# returns 0 then; returns 1 once DEADLINE_S seconds (whole seconds) have passed without success.
# CMD runs at least once, and its output is kept. It may set variables for the caller (it is not
# a subshell) and may call `fail` to end the test at once (say, when the server died). Bash
# ignores `set -e` inside CMD, so a CMD function must return its status explicitly (its last
# command's status, or `return 1`).
#
#   wait_until "$WAIT_UNTIL_DEFAULT_S" scan_state_is "$id" running || fail "scan $id never ran"
wait_until() {
	local limit=$1
	shift
	local end=$(($(date +%s%N) + limit * 1000000000))
	while true; do
		"$@" && return 0
		(($(date +%s%N) < end)) || return 1
		sleep 0.1 # the poll's interval, not a wait for the state
	done
}
