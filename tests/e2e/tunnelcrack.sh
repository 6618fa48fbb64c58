#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# TunnelCrack (Vanhoef et al., USENIX Security 2023).
#  LocalNet (CVE-2023-36672, CVE-2023-35838): the attacker's network gives the client an address
#  in a public range, which makes that range "local"; with --allow-lan, traffic to it must still
#  not leave, because the LAN exemption is a fixed list, not "whatever is on-link".
#  ServerIP (CVE-2023-36673, CVE-2023-36671): a host route to the VPN server sends everything for
#  that address outside the tunnel; only the VPN's own marked packets to the exact port and
#  protocol may use it.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init tunnelcrack
lab_up
table_header

# LocalNet: the rogue network's addressing puts 198.51.100.0/24 and 2001:db8:100::/64 on-link.
inc ip addr add 198.51.100.77/24 dev phy0
inc ip addr add 2001:db8:100::77/64 dev phy0 nodad
ini ip route add 198.51.100.77/32 dev isp0
ini ip -6 route add 2001:db8:100::77/128 dev isp0
check "$NET4 is on-link on phy0" setup phy0 routes_via $NET4 phy0
check "$NET6 is on-link on phy0" setup phy0 routes_via $NET6 phy0
for st in "enabled, allow-lan:ks_enable --allow-lan" "enabled:ks_enable" "connecting, allow-lan:ks_connecting --allow-lan"; do
	state=${st%%:*} apply=${st#*:}
	leak_pair_public "$state" "$apply" "on-link public range" "on-link public range"
done
# What --allow-lan is for still works.
ks_enable --allow-lan
run_probe "tcp4 $(hp $LANHOST4 22) (the real LAN)" "enabled, allow-lan" pass phys send_c tcp $LANHOST4 22
inc ip addr del 198.51.100.77/24 dev phy0
inc ip addr del 2001:db8:100::77/64 dev phy0

# ServerIP: a host route to the VPN server via the physical gateway (as many VPN clients add).
inc ip route add $EP4/32 via $GW4 dev phy0
check "$EP4 routed out of phy0" setup phy0 routes_via $EP4 phy0
for st in "enabled:ks_enable" "enabled, allow-lan:ks_enable --allow-lan" "connecting:ks_connecting"; do
	state=${st%%:*} apply=${st#*:}
	# Not WireGuard (the oracle only lets WireGuard messages to the endpoint through).
	leak_pair "udp4 $(hp $EP4 $EP_PORT) unmarked, not WireGuard" "$state" "$apply" phys send_c udp $EP4 $EP_PORT
	leak_pair "udp4 $(hp $EP4 443) (server address, other port)" "$state" "$apply" phys send_c udp $EP4 443
	leak_pair "tcp4 $(hp $EP4 $EP_PORT) (server address, TCP)" "$state" "$apply" phys send_c tcp $EP4 $EP_PORT
	leak_pair "tcp4 $(hp $EP4 443) (server address, TCP)" "$state" "$apply" phys send_c tcp $EP4 443
	leak_pair "icmp4 $EP4 (server address)" "$state" "$apply" phys ping4 $EP4
done
# The VPN's own (marked) packets still reach the server: handshake and traffic.
ks_enable
check "WireGuard handshake with the host route" enabled completes handshake_completes 8
run_probe "tcp4 $(hp $NET4 80) through the tunnel" enabled tunnel phys send_c tcp $NET4 80
lab_finish
