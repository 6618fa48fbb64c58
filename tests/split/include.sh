#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Include mode (issue 16, part 2) in the leak lab, for one cgroup version (KILLSWITCH_SPLIT_TUNNEL=
# v1|v2): the client routes as a `Table = off` VPN does (no full-tunnel rules; the tunnel's table
# reached only by `killswitch routing add --include`) under `enable --include-only`. A program
# started with `split-tunnel exec --include` (or moved with `add --include PID`) reaches the
# internet only through the tunnel: the VPN server sees the tunnel address, the physical link
# nothing; its DNS only to the --dns resolver in the tunnel; bound to phy0 it gets nowhere. A
# program outside the group goes direct. In the blocked state, with the guard table alone (watch
# stopped, the table deleted), and with wireguard-go killed, under a flood from the group (v4 and
# v6), nothing of it leaves (counted on the physical link); controls: the same probes and the same
# floods with the kill switch off leak.
#
# Usage: include.sh KILLSWITCH SPLIT_TUNNEL. Everything touching cgroups runs under `nsenter
# --net` (`ip netns exec` remounts /sys and hides them), as in split.sh.
# The lab library is found at run time; single-quoted scripts are expanded by the shells running them.
# shellcheck disable=SC1091,SC2016
source "$(dirname "$0")/../e2e/lib.sh"
source "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2034 # KILLSWITCH and FLOOD_PIDS are the lab library's
KILLSWITCH=${1:?usage: include.sh KILLSWITCH SPLIT_TUNNEL}
SPLIT=${2:?usage: include.sh KILLSWITCH SPLIT_TUNNEL}
MODE=${KILLSWITCH_SPLIT_TUNNEL:-v2}
case $MODE in
v1 | v2) ;;
*) die "KILLSWITCH_SPLIT_TUNNEL must be v1 or v2, not '$MODE'" ;;
esac
export KILLSWITCH_SPLIT_TUNNEL=$MODE

lab_init "include-$MODE"
lab_require nsenter
SPLIT=$(readlink -f "$SPLIT")
CG_NAME=ks-split-$LAB_ID-$MODE INC_NAME=ks-incl-$LAB_ID-$MODE
INC_MARK=0x4b49
declare -a INC_PIDS=()

include_teardown() {
	local rc=$? pid dir
	set +e
	[[ -n $WATCH_PID ]] && kill -CONT "$WATCH_PID" 2>/dev/null
	watch_stop
	{
		for pid in "${INC_PIDS[@]}"; do kill -KILL "$pid"; done
		for pid in "${INC_PIDS[@]}"; do wait "$pid"; done
	} 2>/dev/null
	for dir in /sys/fs/cgroup/{unified/,,net_cls/}{"$INC_NAME","$CG_NAME"}; do
		[[ -d $dir ]] || continue
		# shellcheck disable=SC2046
		kill -KILL $(cat "$dir/cgroup.procs" 2>/dev/null) 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$dir" 2>/dev/null && break; sleep 0.1; done
	done
	(exit "$rc")
	lab_teardown
}
trap include_teardown EXIT

# killswitch (lib.sh's ks) and split-tunnel in the client's namespace, with the host's cgroups.
ks_argv() {
	KS_ARGV=(nsenter --net="/run/netns/$NS_C" env KILLSWITCH_RUNDIR="$LAB_TMP/run" KILLSWITCH_CONFDIR="$LAB_TMP/conf"
		KILLSWITCH_CGROUP_NAME="$CG_NAME" KILLSWITCH_INCLUDE_CGROUP_NAME="$INC_NAME" KILLSWITCH_SPLIT_TUNNEL="$MODE")
}
st() {
	ks_argv
	"${KS_ARGV[@]}" "$SPLIT" "$@"
}
# join_group CMD...: CMD in the inclusion group, through split-tunnel exec --include (refused without an
# --include-only ruleset); with RAW_JOIN=1 (the controls, the kill switch off) by writing to the group.
RAW_JOIN=0
join_group() {
	# shellcheck disable=SC2016 # expanded by that shell
	if ((RAW_JOIN)); then in_c sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$(inc_dir)" "$@"
	else st exec --include -- "$@"; fi
}
included() { join_group "$PYTHON" -S "$LABNET" "$@"; }
plain() { in_c "$PYTHON" -S "$LABNET" "$@"; }

lab_up

# The client as a VPN client with `Table = off`: the tunnel's default route in table 51820 stays,
# the full-tunnel rules go; only the inclusion group's mark leads there.
inc_routing() {
	routes_off
	ks_quiet routing add --include --tunnel "$WGC"
}
inc_routing
include_rule() { local out; out=$(inc ip -4 rule) && grep -q "fwmark $INC_MARK lookup $RT_TABLE" <<<"$out" &&
	out=$(inc ip -6 rule) && grep -q "fwmark $INC_MARK lookup $RT_TABLE" <<<"$out"; }

# Beyond the tunnel: the VPN server sees the tunnel's source addresses (masqueraded), or others.
ini nft -f - <<-EOF
	table inet incoracle {
		counter tunnel_source {
		}
		counter other_source {
		}
		chain pre {
			type filter hook prerouting priority -450; policy accept;
			iifname "$WGS" ip saddr $TUN4 counter name tunnel_source accept
			iifname "$WGS" ip6 saddr $TUN6 counter name tunnel_source accept
			iifname "$WGS" counter name other_source
		}
	}
EOF
oracle_tunsrc() { counter_of inet incoracle tunnel_source; }
oracle_othersrc() { counter_of inet incoracle other_source; }

# iprobe NAME STATE EXPECT CMD...: EXPECT tunnel: answered, the server saw the tunnel address and
# nothing else, the physical link nothing; direct: answered over the physical link, nothing through
# the tunnel; blocked: nothing on the link nor out of the tunnel; leak: the link saw it (control).
iprobe() {
	local name=$1 state=$2 expect=$3 p0 t0 s0 o0 dp dt ds dother rc=0 out seen ok=0 kind=probe
	shift 3
	p0=$(oracle_phys) t0=$(oracle_tun) s0=$(oracle_tunsrc) o0=$(oracle_othersrc)
	out=$("$@" 2>&1) || rc=$?
	sleep "$SETTLE"
	dp=$(($(oracle_phys) - p0)) dt=$(($(oracle_tun) - t0)) ds=$(($(oracle_tunsrc) - s0)) dother=$(($(oracle_othersrc) - o0))
	case $expect in
	tunnel)
		if ((rc == 0 && dp == 0 && ds > 0 && dother == 0)); then seen=tunnel ok=1
		elif ((dp > 0)); then seen=LEAK
		elif ((dother > 0)); then seen=BAD-SOURCE
		else seen=no-reply; fi
		;;
	direct)
		if ((rc == 0 && dp > 0 && dt == 0)); then seen=direct ok=1
		elif ((dt > 0)); then seen=TUNNEL
		else seen=no-reply; fi
		;;
	blocked)
		if ((dp == 0 && dt == 0)); then seen=nothing ok=1; else seen=LEAK; fi
		;;
	leak)
		kind=control
		if ((dp > 0)); then seen=leak ok=1; else seen=nothing; fi
		;;
	*) die "iprobe: bad expectation $expect" ;;
	esac
	lab_record "$kind" "$name" "$state" "$expect" "$seen" "$dp" "$ok" \
		"$(printf '    command: %s\n    rc=%s phys=%s tun=%s tunsrc=%s othersrc=%s output: %s' "$*" "$rc" "$dp" "$dt" \
			"$ds" "$dother" "${out//$'\n'/ | }")"
}

INC_POLICY=(--tunnel "$WGC" --endpoint "$ENDPOINT" --dns "$VPNDNS4" --dns "$VPNDNS6" --include-only)
inc_enable() { ks_quiet enable "${INC_POLICY[@]}"; }
inc_block() { ks_quiet block "${INC_POLICY[@]}"; }
inc_dir() { if [[ $MODE == v2 ]]; then echo "/sys/fs/cgroup/unified/$INC_NAME"; else echo "/sys/fs/cgroup/net_cls/$INC_NAME"; fi; }
ruleset_match() {
	local out
	out=$(in_c nft list chain inet killswitch mangle) || return 1
	if [[ $MODE == v2 ]]; then grep -q "socket cgroupv2 level 1 \"unified/$INC_NAME\" goto included" <<<"$out"
	else grep -Eq 'meta cgroup (1263075329|0x4b490001) goto included' <<<"$out"; fi
}
status_says() { local out; out=$(ks status) && grep -q "include-only: only the inclusion group" <<<"$out" &&
	out=$(ks status --json) && tr -d ' \n' <<<"$out" | grep -q '"include_only":true,"include_group":{"mechanism":"'"$MODE"'"'; }

table_header

# Before any --include-only ruleset there is no group, and split-tunnel makes none: the command does not run.
no_group_refused() {
	local rc=0 out
	out=$(st exec --include -- touch "$LAB_TMP/ran" 2>&1) || rc=$?
	[[ $rc == 126 && ! -e $LAB_TMP/ran && $out == *"no inclusion group yet"* && ! -d $(inc_dir) ]] || {
		echo "rc=$rc $out"
		return 1
	}
}
check "exec --include before enable: refused, no group made" setup refused no_group_refused
check "routing add --include: fwmark $INC_MARK lookup $RT_TABLE (v4, v6)" setup present include_rule
check "enable --include-only" enabled applied inc_enable
check "inclusion cgroup created ($MODE)" enabled present test -d "$(inc_dir)"
check "mangle marks the inclusion group" enabled present ruleset_match
check "status says include-only" enabled present status_says
# rc_is RC CMD...: CMD exits with RC.
rc_is() { local want=$1 rc=0; shift; "$@" >/dev/null 2>&1 || rc=$?; [[ $rc == "$want" ]]; }
no_full_rule() { local out; out=$(inc ip -4 rule) && ! grep -q "not from all fwmark" <<<"$out"; }
check "routing add (full tunnel) under --include-only: exit 2" enabled refused rc_is 2 ks routing add --tunnel "$WGC"
check "  ... no full-tunnel rule installed" enabled absent no_full_rule
check "routing add --include --fwmark: exit 2" enabled refused rc_is 2 ks routing add --include --tunnel "$WGC" --fwmark 0x1

# ---- enabled: the group through the tunnel, the rest direct ----
for dst in "$NET4" "$NET6"; do
	iprobe "udp $(hp "$dst" 5000) included" enabled tunnel included send udp "$dst" 5000
	iprobe "tcp $(hp "$dst" 80) included" enabled tunnel included send tcp "$dst" 80
	iprobe "udp $(hp "$dst" 5000) not included" enabled direct plain send udp "$dst" 5000
	iprobe "tcp $(hp "$dst" 80) not included" enabled direct plain send tcp "$dst" 80
done
iprobe "tcp $(hp "$NET4" 80) from an included child" enabled tunnel \
	st exec --include -- bash -c '"$1" -S "$2" send tcp "$3" 80; exit $?' sh "$PYTHON" "$LABNET" "$NET4"
iprobe "dns $VPNDNS4 included (the --dns resolver)" enabled tunnel included dns "$VPNDNS4"
iprobe "dns tcp $VPNDNS4 included" enabled tunnel included dns "$VPNDNS4" --tcp
iprobe "dns $RESOLVER4 included (another resolver)" enabled blocked included dns "$RESOLVER4"
iprobe "dns $RESOLVER6 included (another resolver)" enabled blocked included dns "$RESOLVER6"
iprobe "dns $RESOLVER4 not included" enabled direct plain dns "$RESOLVER4"
iprobe "udp $(hp "$NET4" 5000) included, bound to phy0" enabled blocked included send udp "$NET4" 5000 --bind-dev phy0
iprobe "tcp $(hp "$NET6" 80) included, bound to phy0" enabled blocked included send tcp "$NET6" 80 --bind-dev phy0
# Bound to the physical address, it still leaves by the tunnel (masqueraded): the mark routes it.
iprobe "udp $(hp "$NET4" 5000) included, bound to the physical address" enabled tunnel \
	included send udp "$NET4" 5000 --bind-addr "$C4"

# add --include PID: a running shell's new connections (from new children) follow it.
mkfifo "$LAB_TMP/loop.fifo"
# A plain command, not a function: a backgrounded function is a subshell, $! would be its PID.
nsenter --net="/run/netns/$NS_C" bash -c 'exec 3<>"$1"; while read -r n <&3; do "$2" -S "$3" send udp "$4" 5000 >"$1.$n" 2>&1; echo "rc=$?" >>"$1.$n"; done' \
	loop "$LAB_TMP/loop.fifo" "$PYTHON" "$LABNET" "$NET4" &
LOOP_PID=$!
INC_PIDS+=("$LOOP_PID")
wait_for 5 grep -qx bash "/proc/$LOOP_PID/comm" || die "the loop did not start"
loop_probe() { # one connection from a fresh child of the loop (the number n in a file: subshells)
	local n
	n=$(($(cat "$LAB_TMP/loop.n" 2>/dev/null || echo 0) + 1))
	echo "$n" >"$LAB_TMP/loop.n"
	echo "$n" >"$LAB_TMP/loop.fifo"
	wait_for 5 grep -q '^rc=' "$LAB_TMP/loop.fifo.$n" || return 1
	cat "$LAB_TMP/loop.fifo.$n"
	grep -qx 'rc=0' "$LAB_TMP/loop.fifo.$n"
}
iprobe "running shell before add --include" enabled direct loop_probe
check "add --include PID" enabled 0 st add --include "$LOOP_PID"
in_group() { grep -qx "$LOOP_PID" "$(inc_dir)/cgroup.procs"; }
check "the shell is in the inclusion cgroup" enabled member in_group
listed_include() { local out; out=$(st list --include) && grep -qx "$LOOP_PID"$'\t'"bash" <<<"$out"; }
listed_json() { local out; out=$(st list --include --json) && tr -d ' \n' <<<"$out" | grep -q "\"group\":\"include\".*\"pid\":$LOOP_PID,"; }
not_listed_excluded() { local out; out=$(st list) && ! grep -q "^$LOOP_PID"$'\t' <<<"$out"; }
check "list --include shows it" enabled listed listed_include
check "list --include --json too" enabled listed listed_json
check "list (the exclusion group) does not" enabled "not listed" not_listed_excluded
iprobe "running shell after add --include" enabled tunnel loop_probe
check "del --include PID" enabled 0 st del --include "$LOOP_PID"
iprobe "running shell after del --include" enabled direct loop_probe

# ---- blocked: the group reaches nothing, the rest still goes direct ----
inc_block
iprobe "udp $(hp "$NET4" 5000) included" blocked blocked included send udp "$NET4" 5000
iprobe "tcp $(hp "$NET6" 80) included" blocked blocked included send tcp "$NET6" 80
iprobe "dns $VPNDNS4 included" blocked blocked included dns "$VPNDNS4"
# Refused in output, not dropped later: the program fails at once instead of hanging.
check "tcp $(hp "$NET4" 80) included fails fast (reset)" blocked refused fails_fast included send tcp "$NET4" 80
iprobe "udp $(hp "$NET4" 5000) not included" blocked direct plain send udp "$NET4" 5000

# ---- floods from the group: blocked state, and the tunnel crashing ----
# inc_flood_start SECONDS: a UDP flood from the inclusion group, v4 and v6, not bound anywhere:
# where it goes is the routing's and the kill switch's doing.
inc_flood_start() {
	rm -f "$LAB_TMP/flood.stop"
	join_group "$PYTHON" -S "$LABNET" flood "$NET4" 9 --seconds "$1" --stop-file "$LAB_TMP/flood.stop" \
		>"$LAB_TMP/flood4.out" 2>&1 &
	local p4=$!
	join_group "$PYTHON" -S "$LABNET" flood "$NET6" 9 --seconds "$1" --stop-file "$LAB_TMP/flood.stop" \
		>"$LAB_TMP/flood6.out" 2>&1 &
	# shellcheck disable=SC2034 # flood_stop waits for them
	FLOOD_PIDS="$p4 $!"
	INC_PIDS+=("$p4" "$!")
}
# flood_probe NAME STATE EXPECT SCENE: the flood runs through SCENE; EXPECT blocked: the link saw
# nothing of it; leak (control): it saw some. Attempts counted from the flood's own output.
flood_probe() {
	local name=$1 state=$2 expect=$3 scene=$4 p0 dp ok=0 seen kind=probe
	p0=$(oracle_phys)
	inc_flood_start 30
	sleep 0.5
	$scene
	sleep 1
	flood_stop
	sleep "$SETTLE"
	dp=$(($(oracle_phys) - p0))
	if [[ $expect == leak ]]; then
		kind=control
		((dp > 0)) && ok=1
	else
		((dp == 0)) && ok=1
	fi
	if ((dp > 0)); then seen=leak; else seen=nothing; fi
	lab_record "$kind" "$name ($(flood_attempts) sent)" "$state" "$expect" "$seen" "$dp" "$ok" \
		"$(printf '    flood outputs: %s' "$(cat "$LAB_TMP"/flood[46].out | tr '\n' ' ')")"
}
tunnel_restart() {
	start_wireguard "$NS_C" "$WGC"
	client_tunnel_configure
	routes_off
	wait_handshake 10 || die "no handshake after the restart"
}
crash_scene() { tunnel_crash; sleep 1; }

flood_probe "included flood, blocked" blocked blocked true
inc_enable
flood_probe "included flood, wireguard-go killed" "enabled, tunnel down" blocked crash_scene
tunnel_restart
iprobe "udp $(hp "$NET4" 5000) included, tunnel back" enabled tunnel included send udp "$NET4" 5000

# The guard alone (watch stopped, the table deleted): no mangle, so nothing re-routes the group into
# the tunnel; its postrouting chain drops it off the tunnel all the same. The rest still goes direct.
watch_start watch.log
kill -STOP "$WATCH_PID"
inc nft delete table inet killswitch
flood_probe "included flood, table deleted, guard alone" "guard only (watch stopped)" blocked true
iprobe "udp $(hp "$NET4" 5000) not included, guard alone" "guard only (watch stopped)" direct plain send udp "$NET4" 5000
kill -CONT "$WATCH_PID"
check "watch, continued, restores the table" "enabled, watch" restored wait_for 5 ks_table_present
iprobe "udp $(hp "$NET4" 5000) included, table restored" "enabled, watch" tunnel included send udp "$NET4" 5000
watch_stop

# ---- review 2: the group outlives its ruleset (disable leaves it, another policy may follow) ----
# exec --include then ran the program unlocked, direct. Now refused unless an --include-only ruleset
# (its included_post chain, in the table or the guard) is there; its control: the same program
# joined to the group by hand leaks.
ks_disable
iprobe "udp $(hp "$NET4" 5000) exec --include, kill switch off" disabled blocked included send udp "$NET4" 5000
check "  ... exec --include refused (126)" disabled refused rc_is 126 st exec --include -- true
ks_quiet enable --tunnel "$WGC" --endpoint "$ENDPOINT" --dns "$VPNDNS4" --partial --protect 10.66.0.0/16
iprobe "udp $(hp "$NET4" 5000) exec --include, a --partial policy" "enabled, partial" blocked \
	included send udp "$NET4" 5000
inc_enable
iprobe "udp $(hp "$NET4" 5000) exec --include, --include-only again" enabled tunnel included send udp "$NET4" 5000

# ---- controls: the kill switch off, the same probes and flood leak ----
ks_disable
RAW_JOIN=1
iprobe "udp $(hp "$NET4" 5000) included (joined by hand)" "disabled (control)" leak included send udp "$NET4" 5000
iprobe "udp $(hp "$NET4" 5000) included, bound to phy0" "disabled (control)" leak \
	included send udp "$NET4" 5000 --bind-dev phy0
iprobe "dns $RESOLVER4 included" "disabled (control)" leak included dns "$RESOLVER4"
flood_probe "included flood, wireguard-go killed" "disabled (control)" leak crash_scene
tunnel_restart
inc_block
ks_disable
flood_probe "included flood, tunnel up (the blocked and guard probes')" "disabled (control)" leak true
check "routing del --include" disabled removed ks_quiet routing del --include
check "the include rule is gone" disabled gone not include_rule

lab_finish
