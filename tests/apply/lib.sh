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
#   ok, not_ok, check, finish   from tests/lib/checks.sh (the "ok   - " / "FAIL - " lines and
#                    their count); log, die, skip, wait_for, now_us from tests/lib/common.sh
#   inns COMMAND...  run COMMAND in NS
#   ks ARGS...       killswitch ($KS, set by the script) in NS
#   ruleset, table   `nft list ruleset`, `nft list table inet killswitch` in NS
#   fingerprint      the killswitch table's stateless listing, lines sorted (set elements may be
#                    listed in any order), hashed; "absent" when there is no table
#   state_names TUNNEL   the state file (the policy status and watch use) names tunnel TUNNEL

# shellcheck source=tests/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=tests/lib/checks.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/checks.sh"

ks_setup() {
	need_root "needs root to create a network namespace"
	NS=ks-$1-$$-$RANDOM
	ip netns add "$NS" 2>/dev/null || skip "cannot create network namespaces here"
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
