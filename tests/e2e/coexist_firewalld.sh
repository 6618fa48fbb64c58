#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Coexistence (issue 13): firewalld with its nftables backend (Debian 12: 1.3), the real daemon in
# the client's namespace, on a private D-Bus system bus in a mount namespace of its own (a tmpfs
# on /run: the host's bus and /run/firewalld are never touched; its configuration is a copy of
# /etc/firewalld). Under a flood off the tunnel (a rogue more specific route via the physical link,
# and sockets bound to it), with the kill switch enabled (--allow-lan): firewalld starts,
# `firewall-cmd --reload`, `--complete-reload`, stops; first with `killswitch watch` running, then
# without it. Asserted: not one packet leaked during any step, our tables are there after each,
# the tunnel works afterwards, and firewalld still does its job: its zone refuses a LAN host's
# connection to a port it does not open (which --allow-lan lets past the kill switch), and lets it
# in once `firewall-cmd --add-port` opens it. The control: firewalld leaves our table alone, so the
# same steps without watch leak nothing either; the control is the same steps with the kill switch
# off, where the flood leaks (the oracle sees the packets sent during each step).
# shellcheck source=tests/e2e/coexist_lib.sh
source "$(dirname "$0")/coexist_lib.sh"

coexist_init coexist_firewalld firewalld firewall-cmd dbus-daemon unshare
[[ -d /etc/firewalld ]] || skip "coexist_firewalld needs /etc/firewalld (the firewalld package)"
FW=$LAB_TMP/firewalld
mkdir -p "$FW"
cp -a /etc/firewalld "$FW/etc"
grep -q '^FirewallBackend=nftables' "$FW/etc/firewalld.conf" ||
	sed -i 's/^FirewallBackend=.*/FirewallBackend=nftables/' "$FW/etc/firewalld.conf"

# The daemon as its unit runs it (firewalld --nofork --nopid), with a bus of its own.
cat >"$FW/inner.sh" <<'EOF'
set -e
fw=$1
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/dbus
dbus-daemon --system --nofork --nopidfile &
echo $! >"$fw/dbus.pid"
for _ in $(seq 100); do [ -S /run/dbus/system_bus_socket ] && break; sleep 0.05; done
echo $$ >"$fw/pid.new"
mv "$fw/pid.new" "$fw/pid"
exec firewalld --nofork --nopid --system-config "$fw/etc" --log-target console
EOF
fwcmd() { nsenter --mount="/proc/$(<"$FW/pid")/ns/mnt" --net="/run/netns/$NS_C" firewall-cmd "$@"; }
fw_running() { [[ $(fwcmd --state 2>/dev/null) == running ]]; }
fw_start() {
	rm -f "$FW/pid"
	bg "firewalld-$BASHPID" inc unshare --mount --propagation private sh "$FW/inner.sh" "$FW"
	wait_for 10 test -s "$FW/pid" || return 1
	wait_for 90 fw_running
}
fw_reload() { fwcmd --reload; }
fw_complete_reload() { fwcmd --complete-reload; }
fw_stop() { # as systemd stops it: SIGTERM, and it cleans up (CleanupOnExit=yes)
	local pid
	pid=$(<"$FW/pid")
	kill "$pid"
	wait_for 60 not kill -0 "$pid" || return 1
	kill "$(<"$FW/dbus.pid")" 2>/dev/null || true
	rm -f "$FW/pid"
}
# shellcheck disable=SC2317 # the EXIT trap, through coexist_teardown
coexist_cleanup() { [[ ! -s $FW/pid ]] || fw_stop; }
fw_table() { inc nft list table inet firewalld >/dev/null; }

coexist_up
# A port no zone opens, for the zone check.
bg serve-client-7002 labnet_c serve --tcp 7002 --ready "$LAB_TMP/serve-client-7002.ready"
wait_for 10 test -f "$LAB_TMP/serve-client-7002.ready" || die "the 7002 listener did not start"

# steps STATE leak|blocked: firewalld's start, reloads and stop under the flood.
steps() {
	local state=$1 expect=$2
	flood_phase_start
	coexist_step "$state" "$expect" "firewalld starts" fw_start
	[[ $expect != blocked ]] || check "  ... its table inet firewalld is there" "$state" present fw_table
	coexist_step "$state" "$expect" "firewall-cmd --reload" fw_reload
	coexist_step "$state" "$expect" "firewall-cmd --complete-reload" fw_complete_reload
	coexist_step "$state" "$expect" "firewalld stops (SIGTERM)" fw_stop
	[[ $expect != blocked ]] || check "  ... its table is gone" "$state" absent not fw_table
	flood_phase_stop "$state"
}

ks_enable --allow-lan || die "enable failed"
coexist_watch_start
steps "enabled, watch" blocked
check "watch is still running" "enabled, watch" running kill -0 "$WATCH_PID"
check "  ... and had nothing to restore" "enabled, watch" 0 test "$(watch_restores)" = 0

# firewalld does its job beside the kill switch: its zone filters what --allow-lan lets in.
fw_start || die "firewalld did not start"
lan_connects() { send_from_isp tcp $C4 7002 --bind-addr $LANHOST4; }
check "firewalld's zone refuses tcp 7002 from a LAN host" "enabled, watch" refused not lan_connects
check "  ... firewall-cmd --add-port=7002/tcp" "enabled, watch" success fwcmd --add-port=7002/tcp
check "  ... then the LAN host connects" "enabled, watch" connects lan_connects
check "  ... firewall-cmd --reload drops the runtime port" "enabled, watch" success fw_reload
check "  ... and the zone refuses it again" "enabled, watch" refused not lan_connects
tunnel_works "watch + firewalld"
fw_stop || die "firewalld did not stop"
tunnel_works "enabled, watch"

# The same steps without watch: firewalld leaves our table alone, nothing leaks.
watch_stop
steps "enabled, no watch" blocked

# The control: the kill switch off.
echo "# control: firewalld never touched our table (the rows without watch leaked nothing), so the"
echo "# control is the same steps with the kill switch off: the flood must leak during each of them."
ks_disable
steps "disabled (control)" leak
coexist_finish
