#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The four states (enabled, blocked, connecting, disabled) against plain TCP, UDP and ICMP to
# internet hosts, for one address family (states.sh ipv4|ipv6), and the tunnel in each state.
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
fi
lab_finish
