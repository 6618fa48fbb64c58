#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The four states (enabled, blocked, connecting, disabled) against plain TCP, UDP and ICMP to
# internet hosts, for one address family (states.sh ipv4|ipv6), and the tunnel in each state:
# connecting with the tunnel still up lets nothing into it or out of it.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

family=${1:-ipv4}
case $family in
ipv4) v=4 host=$NET4 ping=ping4 ;;
ipv6) v=6 host=$NET6 ping=ping6 ;;
*) die "usage: states.sh ipv4|ipv6" ;;
esac

lab_init "states-$family"
lab_up
table_header

# Enabled, with the tunnel's routing in place: everything goes through the tunnel.
ks_enable
run_probe "tcp$v $(hp $host 80) through the tunnel" enabled tunnel phys send_c tcp $host 80
run_probe "udp$v $(hp $host 7) through the tunnel" enabled tunnel phys send_c udp $host 7
run_probe "icmp$v $host through the tunnel" enabled tunnel phys $ping $host

# The leak condition for the other states: no tunnel routing, the main table's default route
# goes out of the physical interface (VPN connecting, crashed, or its rules removed).
routes_off
for st in "enabled, routes lost:ks_enable" "blocked:ks_block" "connecting:ks_connecting" \
	"blocked, allow-lan:ks_block --allow-lan"; do
	state=${st%%:*} apply=${st#*:}
	leak_pair "tcp$v $(hp $host 80)" "$state" "$apply" phys send_c tcp $host 80
	leak_pair "udp$v $(hp $host 7)" "$state" "$apply" phys send_c udp $host 7
	leak_pair "icmp$v $host" "$state" "$apply" phys $ping $host
done
routes_tunnel

# Disabled: nothing of the kill switch is left, and the tunnel carries traffic as before.
ks_enable
ks_disable
check "no table inet killswitch after disable" disabled absent not ks_table_present
check "status --json reports inactive" disabled inactive ks_inactive
run_probe "tcp$v $(hp $host 80) through the tunnel" disabled tunnel phys send_c tcp $host 80
run_probe "icmp$v $host through the tunnel" disabled tunnel phys $ping $host

if [[ $family == ipv4 ]]; then
	# The tunnel itself: a fresh handshake completes where the endpoint is exempt, and not where
	# nothing is (blocked without --endpoint); its control is the same with the kill switch off.
	ks_enable
	check "WireGuard handshake to $ENDPOINT" enabled completes handshake_completes 8
	ks_connecting
	check "WireGuard handshake to $ENDPOINT" connecting completes handshake_completes 8
	ks_block
	check "WireGuard handshake to $ENDPOINT" blocked fails handshake_fails 4
	ks_disable
	check_control "WireGuard handshake to $ENDPOINT" "disabled (control)" completes handshake_completes 8

	# Connecting while the tunnel is still up (block --endpoint --tunnel, as a VPN client calls it
	# when it reconnects or goes down: the session lives on, the routes still point into it).
	# Nothing goes into the tunnel and nothing comes out of it, addresses on its far side in the
	# fixed --allow-lan ranges (the VPN's 10.66.0.0/24) included. Oracles: the VPN server (tun)
	# for what goes in; the client's input (in) for what comes out, since the client's answer
	# would be refused anyway and the server could not tell.
	delivery_oracle_install c
	conn_up() { ks_connecting --tunnel "$WGC" --allow-lan; }
	leak_pair "tcp4 $(hp $NET4 80) into a tunnel still up" "connecting, allow-lan" conn_up tun send_c tcp $NET4 80
	leak_pair "tcp4 $(hp $VPNDNS4 22) (VPN side, in 10/8) into it" "connecting, allow-lan" conn_up tun \
		send_c tcp $VPNDNS4 22
	leak_pair "inbound udp $NET4 -> $(hp $TUN4 5000) out of it" "connecting, allow-lan" conn_up in \
		send_from_isp udp $TUN4 5000 --bind-addr $NET4
	leak_pair "inbound udp $VPNDNS4 (10/8) -> $(hp $TUN4 5000) out of it" "connecting, allow-lan" conn_up in \
		send_from_isp udp $TUN4 5000 --bind-addr $VPNDNS4
fi

# A local program's refused TCP connection fails at once (the final reject's reset), not after
# its timeout (a dropped SYN is sent again and again).
ks_block
check "tcp$v $(hp $host 80) refused at once" blocked refused fails_fast labnet_c send --wait 2 tcp $host 80
ks_disable
lab_finish
