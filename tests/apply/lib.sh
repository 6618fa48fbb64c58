# shellcheck shell=bash
# Sourced by the tests/apply scripts that run killswitch in a throwaway network namespace
# (apply.sh, watch.sh, sigkill.sh, lowres.sh), after their `set -euo pipefail`:
#
#   ks_setup NAME    SKIP (exit 77) unless root and `ip netns add` works; then the namespace
#                    NS=ks-NAME-PID-RANDOM with lo up, a temporary directory RUN, and
#                    KILLSWITCH_RUNDIR=$RUN/run, KILLSWITCH_CONFDIR=$RUN/conf exported (the
#                    host's own state and persisted policy are never touched). Sets an EXIT trap,
#                    ks_cleanup: it calls the script's cleanup_hook if the script defines one
#                    (background processes, cgroups), deletes NS and RUN, and keeps the exit
#                    status. Define what cleanup_hook reads before calling ks_setup.
#   ok / not_ok WHAT   count a pass or a failure in passed / failed, print "ok   - WHAT" or
#                      "FAIL - WHAT"
#   check WHAT COMMAND...   ok WHAT if COMMAND succeeds, else not_ok WHAT. CHECK_QUIET says
#                    what of COMMAND's output is discarded: both (default), stdout, none.
#   inns COMMAND...  run COMMAND in NS
#   ks ARGS...       killswitch ($KS, set by the script) in NS
#   ruleset, table   `nft list ruleset`, `nft list table inet killswitch` in NS
#   fingerprint      the killswitch table's stateless listing, lines sorted (set elements may be
#                    listed in any order), hashed; "absent" when there is no table
#   state_names TUNNEL   the state file (the policy status and watch use) names tunnel TUNNEL
#   finish           print "N passed, N failed"; exit 1 if anything failed

passed=0 failed=0

ks_setup() {
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: needs root to create a network namespace"
		exit 77
	fi
	NS=ks-$1-$$-$RANDOM
	if ! ip netns add "$NS" 2>/dev/null; then
		echo "SKIP: cannot create network namespaces here"
		exit 77
	fi
	RUN=
	trap ks_cleanup EXIT
	RUN=$(mktemp -d)
	export KILLSWITCH_RUNDIR=$RUN/run
	export KILLSWITCH_CONFDIR=$RUN/conf
	ip -n "$NS" link set lo up
}

ks_cleanup() {
	local rc=$?
	if declare -F cleanup_hook >/dev/null; then cleanup_hook || true; fi
	ip netns del "$NS" 2>/dev/null || true
	if [ -n "$RUN" ]; then rm -rf "$RUN"; fi
	exit "$rc"
}

ok() { passed=$((passed + 1)); echo "ok   - $1"; }
not_ok() { failed=$((failed + 1)); echo "FAIL - $1"; }
check() {
	local what=$1 rc=0
	shift
	case ${CHECK_QUIET:-both} in
	both) "$@" >/dev/null 2>&1 || rc=$? ;;
	stdout) "$@" >/dev/null || rc=$? ;;
	none) "$@" || rc=$? ;;
	*)
		echo "lib.sh: CHECK_QUIET must be both, stdout or none, not '$CHECK_QUIET'" >&2
		exit 2
		;;
	esac
	if [ "$rc" = 0 ]; then ok "$what"; else not_ok "$what"; fi
}

inns() { ip netns exec "$NS" "$@"; }
ks() { inns "$KS" "$@"; }
ruleset() { inns nft list ruleset; }
table() { inns nft list table inet killswitch; }

fingerprint() {
	local out
	if out=$(inns nft -s list table inet killswitch 2>/dev/null); then
		sort <<<"$out" | md5sum | cut -d' ' -f1
	else
		echo absent
	fi
}

state_names() {
	[ -e "$KILLSWITCH_RUNDIR/policy" ] && grep -qx "tunnel $1" "$KILLSWITCH_RUNDIR/policy" 2>/dev/null
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ] || exit 1
}
