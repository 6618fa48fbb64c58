# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# What the coexistence tests (coexist_*.sh, issue 13) share on top of lib.sh: the kill switch and
# `killswitch watch` through nsenter (as watch.sh: they see the host's cgroups, as on a real host),
# a TunnelVision-style rogue route and a flood off the tunnel, and one helper per kind of row:
#   coexist_event NAME CMD...     the manager's step under the flood, with watch: nothing may leak,
#                                 and our tables are there afterwards
#   coexist_control NAME STATE CMD...
#                                 the same step as a control: it must leak (without watch for the
#                                 managers that remove our table, with the kill switch off for the
#                                 ones that never touch it: then the flood alone leaks, and the row
#                                 proves the oracle sees this step's packets)
#   coexist_step STATE blocked|leak NAME CMD...
#                                 one or the other, for a phase run both ways
#   coexist_watch_start           watch started, guarding, and a quiet flood that leaks nothing
# Each test runs its manager in the client namespace, with the real program.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WATCH_PID=

# coexist_init NAME TOOL...: lab_init, the tools this test needs (77 without them), the teardown
# (coexist_cleanup, when the test defines it, runs first), the lab with the rogue route.
coexist_init() {
	lab_init "$1"
	shift
	lab_require nsenter "$@"
	CG_NAME=kse-$LAB_ID-coex
	trap coexist_teardown EXIT
}

# shellcheck disable=SC2317 # the EXIT trap
coexist_teardown() {
	local rc=$?
	set +e
	declare -F coexist_cleanup >/dev/null && coexist_cleanup
	[[ -z $WATCH_PID ]] || kill "$WATCH_PID" 2>/dev/null
	find /sys/fs/cgroup -maxdepth 2 -type d -name "$CG_NAME" -exec rmdir {} + 2>/dev/null
	(exit "$rc")
	lab_teardown
}

# coexist_up: the lab, and a rogue more specific route off the tunnel (TunnelVision: with
# wg-quick's suppress_prefixlength rule the main table's /24 wins) for the flood's destination.
# The tunnel probes afterwards go to $NET4B and $NET6, which stay in the tunnel.
coexist_up() {
	lab_up
	monitor_start
	inc ip route add 198.51.100.0/24 via $GW4 dev phy0
	routes_via $NET4 phy0 || die "the rogue route is not in force"
	table_header
}

# nsenter, as watch.sh: killswitch and watch see the host's cgroups, as on a real host.
ks_argv() {
	KS_ARGV=(nsenter --net="/run/netns/$NS_C" env KILLSWITCH_RUNDIR="$LAB_TMP/run"
		KILLSWITCH_CONFDIR="$LAB_TMP/conf" KILLSWITCH_CGROUP_NAME="$CG_NAME")
}
watch_restores() { grep -c 'restored (changed by' "$WATCH_LOG" 2>/dev/null || true; }

# Our tables are there: inet killswitch whole (status), and, while watch runs, its guard, owned.
# A restore in progress gets a second.
tables_whole() {
	ks status --json | grep -q '"complete": true' || return 1
	[[ -z $WATCH_PID ]] || guard_owned
}
ks_tables_present() { wait_for 1 tables_whole; }

# The flood off the tunnel, throughout a phase: v4 (through the rogue route) and v6, bound to phy0.
COEXIST_FLOOD_MIN=${KS_E2E_COEXIST_FLOOD_MIN:-10000}
flood_phase_start() {
	flood_start 600
	sleep 0.3
}
flood_phase_stop() { # flood_phase_stop STATE: stop, and check that the flood really ran
	flood_stop
	local n
	n=$(flood_attempts)
	log "flood: $n send attempts ($1)"
	check "the flood ran throughout (>= $COEXIST_FLOOD_MIN sends)" "$1" flooding test "$n" -ge "$COEXIST_FLOOD_MIN"
}

COEXIST_STATE="enabled, watch"
coexist_event() { # coexist_event NAME CMD...
	local name=$1
	shift
	run_probe "$name" "$COEXIST_STATE" blocked phys "$@"
	check "  ... our tables are there afterwards" "$COEXIST_STATE" present ks_tables_present
}
coexist_control() { # coexist_control NAME STATE CMD...
	local name=$1 state=$2
	shift 2
	run_probe "$name" "$state" leak phys "$@"
}
coexist_step() { # coexist_step STATE blocked|leak NAME CMD...
	local state=$1 expect=$2 name=$3
	shift 3
	if [[ $expect == blocked ]]; then
		COEXIST_STATE=$state coexist_event "$name" "$@"
	else
		coexist_control "$name" "$state" "$@"
	fi
}

# quiet_flood: a short flood with nothing happening: under the kill switch it leaks nothing, so
# whatever the steps' rows count is theirs.
quiet_flood() {
	flood_start 2
	sleep 1.5
	flood_stop
}

# The start of every test's watch phase: watch up and guarding, and the flood quiet before the steps.
coexist_watch_start() {
	watch_start watch.log
	check "watch runs and guards the table" "$COEXIST_STATE" guarding grep -q guarding "$WATCH_LOG"
	run_probe "UDP flood off the tunnel (v4+v6), nothing happening" "$COEXIST_STATE" blocked phys quiet_flood
}

# The tunnel works afterwards (the rogue route covers $NET4, so v4 goes to $NET4B).
tunnel_works() { # tunnel_works STATE
	run_probe "tcp4 $(hp $NET4B 80) through the tunnel" "$1" tunnel phys send_c tcp $NET4B 80
	run_probe "icmp6 $NET6 through the tunnel" "$1" tunnel phys ping6 $NET6
}

# What the manager did to the ruleset: `nft monitor` in the client from coexist_up on, and a
# summary per process (the "# new generation ... (NAME)" line closes each batch): the tables it
# added, deleted or flushed, the hooks and priorities of its base chains (coexist_finish prints it).
monitor_start() { bg nft-monitor inc nft monitor; }
monitor_summary() {
	"$PYTHON" -S - "$LAB_TMP/nft-monitor.log" <<-'PY'
		import re, sys
		batch, seen = [], {}
		for line in open(sys.argv[1], errors="replace"):
		    line = line.rstrip("\n")
		    m = re.match(r"# new generation \d+ by process \d+ \((.*)\)", line)
		    if m:
		        out = seen.setdefault(m.group(1), [])
		        for ev in batch:
		            t = re.match(r"(add|delete|flush) table (\S+) (\S+)", ev)
		            h = re.match(r"add chain (\S+) (\S+) \S+ \{ type (\S+) hook (\S+)(?: device \S+)? priority ([^;]+);", ev)
		            r = re.match(r"(add|delete|replace) (?:rule|chain|set|element) (\S+) (\S+)", ev)
		            key = (t and "%s table %s %s" % t.groups()) or \
		                  (h and "base chain %s %s: %s hook %s priority %s" % h.groups()) or \
		                  (r and "%s rules/chains/sets in %s %s" % r.groups())
		            if key and key not in out:
		                out.append(key)
		        batch = []
		    elif re.match(r"(add|delete|flush|replace|destroy) ", line):
		        batch.append(line)
		for proc, keys in seen.items():
		    print(proc + ":")
		    for k in keys:
		        print("    " + k)
	PY
}

coexist_finish() {
	echo "--- what each process did to the client's ruleset (nft monitor; names cut at 15 characters):"
	monitor_summary || true
	lab_finish
}
