# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Sourced by the scripts that report one line per check (apply, integrations): the counters and
# the lines. Not by the leak lab, whose check prints a table row (e2e/lib.sh).
#
#   ok WHAT / not_ok WHAT [WHY]   count a pass in passed or a failure in failed; print
#                                 "ok   - WHAT" or "FAIL - WHAT" (": WHY" after it when given)
#   check WHAT COMMAND...         ok WHAT if COMMAND succeeds, else not_ok WHAT. CHECK_QUIET says
#                                 what of COMMAND's output is discarded: both (the default),
#                                 stdout, none.
#   finish                        print "N passed, N failed"; exit 1 if anything failed

passed=0 failed=0

ok() { passed=$((passed + 1)); echo "ok   - $1"; }
not_ok() { failed=$((failed + 1)); echo "FAIL - $1${2:+: $2}"; }
check() {
	local what=$1 rc=0
	shift
	case ${CHECK_QUIET:-both} in
	both) "$@" >/dev/null 2>&1 || rc=$? ;;
	stdout) "$@" >/dev/null || rc=$? ;;
	none) "$@" || rc=$? ;;
	*)
		echo "checks.sh: CHECK_QUIET must be both, stdout or none, not '$CHECK_QUIET'" >&2
		exit 2
		;;
	esac
	if [ "$rc" = 0 ]; then ok "$what"; else not_ok "$what"; fi
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ] || exit 1
}
