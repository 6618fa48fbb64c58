#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The tunnel interface disappears and comes back while the kill switch stays enabled, as when the
# VPN client crashes or restarts: wireguard-go is killed (SIGKILL: its interface goes with it),
# or the interface is deleted. Meanwhile the routes through the tunnel are gone and traffic
# follows the main table out of the physical interface: every probe must be blocked, also once
# the interface is back but not yet configured. Then the client comes back with the same name,
# keys, addresses and routes, and traffic flows through the tunnel again without anyone running
# killswitch: the table is never re-applied (same rule handles throughout). The control: the same
# probes in the same gap with the kill switch disabled leak.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init tunnel_restart
lab_up
table_header

# Someone deletes the interface (the client's own teardown, NetworkManager); wireguard-go exits.
tunnel_delete() {
	local pid
	pid=$(wg_pid)
	inc ip link del "$WGC"
	if ! wait_for 5 tunnel_gone; then
		kill "$pid" 2>/dev/null || true
		wait_for 5 tunnel_gone || die "wireguard-go did not exit after its interface was deleted"
	fi
	wait "$pid" 2>/dev/null || true
	rm -f "/var/run/wireguard/$WGC.sock"
}
# The client starts again: first the bare interface (not configured, no routes yet) ...
tunnel_bare() { start_wireguard "$NS_C" "$WGC"; }
# ... then as before: the same keys, fwmark, peer, addresses and wg-quick's routes.
tunnel_configure() {
	client_tunnel_configure
	wait_handshake 10 || die "no handshake after the restart"
}
# The table with its rule handles, counters left out: equal means nobody re-applied it.
table_id() { inc nft -s -a list table inet killswitch | sort | md5sum | cut -d' ' -f1; }
same_table() { [[ $(table_id) == "$TABLE_ID" ]]; }
gap_probes() { # gap_probes STATE EXPECT: what an application sends while the tunnel is gone
	run_probe "udp4 $(hp $NET4 5000)" "$1" "$2" phys send_c udp $NET4 5000
	run_probe "tcp4 $(hp $NET4 80)" "$1" "$2" phys send_c tcp $NET4 80
	run_probe "icmp4 $NET4" "$1" "$2" phys ping4 $NET4
	run_probe "udp6 $(hp $NET6 5000)" "$1" "$2" phys send_c udp $NET6 5000
	run_probe "icmp6 $NET6" "$1" "$2" phys ping6 $NET6
	run_probe "dns udp $(hp $VPNDNS4 53) (the VPN's resolver)" "$1" "$2" phys dns_c $VPNDNS4
}
tunnel_probes() { # traffic flows through the tunnel again
	run_probe "tcp4 $(hp $NET4 80) through the tunnel" "$1" tunnel phys send_c tcp $NET4 80
	run_probe "udp4 $(hp $NET4 5000) through the tunnel" "$1" tunnel phys send_c udp $NET4 5000
	run_probe "icmp6 $NET6 through the tunnel" "$1" tunnel phys ping6 $NET6
	run_probe "dns $(hp $VPNDNS4 53) through the tunnel" "$1" tunnel phys dns_c $VPNDNS4
}

# round HOW: the tunnel goes away (crash | delete) and comes back under the enabled kill switch
round() {
	local how=$1
	ks_enable
	TABLE_ID=$(table_id)
	tunnel_probes "enabled, before $how"
	"tunnel_$how"
	check "tunnel interface gone ($how)" "tunnel gone ($how)" gone tunnel_gone
	check "traffic now routed out of phy0" "tunnel gone ($how)" phy0 routes_via $NET4 phy0
	gap_probes "tunnel gone ($how)" blocked
	check "the table untouched and whole" "tunnel gone ($how)" same same_table
	check "status: complete" "tunnel gone ($how)" complete ks_complete
	tunnel_bare
	run_probe "udp4 $(hp $NET4 5000)" "tunnel bare ($how)" blocked phys send_c udp $NET4 5000
	run_probe "icmp6 $NET6" "tunnel bare ($how)" blocked phys ping6 $NET6
	tunnel_configure
	tunnel_probes "tunnel back ($how)"
	check "no re-apply: the same table, same handles" "tunnel back ($how)" same same_table
}
# control HOW: the same gap with the kill switch disabled leaks
control() {
	local how=$1
	ks_disable
	"tunnel_$how"
	gap_probes "tunnel gone, disabled (control)" leak
	tunnel_bare
	tunnel_configure
}

round crash
control crash
round delete
control delete
lab_finish
