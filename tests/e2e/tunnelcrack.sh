#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# TunnelCrack (Vanhoef et al., USENIX Security 2023).
#  LocalNet (CVE-2023-36672, CVE-2023-35838): the attacker's network gives the client an address
#  in a public range, which makes that range "local"; with --allow-lan, traffic to it must still
#  not leave, because the LAN exemption is a fixed list, not "whatever is on-link".
#  ServerIP (CVE-2023-36673, CVE-2023-36671): a host route to the VPN server sends everything for
#  that address outside the tunnel; only the VPN's own marked packets to the exact port and
#  protocol may use it, over IPv4 and IPv6, and the server cannot open connections to the host.
#  The fixed LAN list's edges: addresses just outside the private ranges are not LAN.
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

# The fixed list ends where the private ranges end: with --allow-lan, addresses just outside them
# are the internet. The tunnel's routing lost, so that they leave by phy0 if anything lets them.
routes_off
for a in 11.0.0.1 172.15.255.254 172.32.0.1 192.169.0.1 169.255.0.1 fbff:ffff::1 fe00::1; do
	leak_pair "udp $(hp $a 7) (next to a fixed LAN range)" "enabled, allow-lan" "ks_enable --allow-lan" phys \
		send_c udp $a 7 --wait 0
done
routes_tunnel

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

# ServerIP over IPv6 (O9): an IPv6 endpoint, [$NET6]:$EP_PORT, and a host route to it via the
# physical gateway. Only packets with the VPN's mark may use it.
EP6="[$NET6]:$EP_PORT"
inc ip -6 route add $NET6/128 via $GW6LL dev phy0
check "$NET6 routed out of phy0" setup phy0 routes_via $NET6 phy0
for st in "enabled:ks_enable --endpoint $EP6" "connecting:ks_connecting --endpoint $EP6"; do
	state=${st%%:*} apply=${st#*:}
	leak_pair "udp6 $EP6 unmarked (IPv6 endpoint)" "$state" "$apply" phys send_c udp $NET6 $EP_PORT --wait 0.3
	leak_pair "tcp6 $(hp $NET6 443) (IPv6 endpoint's address)" "$state" "$apply" phys send_c tcp $NET6 443
done
inc ip -6 route del $NET6/128 via $GW6LL dev phy0

# Nor can the server open connections to the host off the tunnel: from an endpoint's address,
# protocol and port only replies come in (I7). A second endpoint, $NET4B:4444 (wireguard-go holds
# the first one's port); the oracle is the client's input, since an answer, unmarked, would be
# refused on its way out and the server could not tell. A port of the client's per state: each
# control leaves a connection behind in conntrack, whose packets are replies.
delivery_oracle_install c
for st in "enabled:5000:ks_enable --endpoint $NET4B:4444" "connecting:5001:ks_connecting --endpoint $NET4B:4444"; do
	IFS=: read -r state port apply <<<"$st"
	leak_pair "inbound udp $NET4B:4444 (endpoint) -> $(hp $C4 "$port")" "$state" "$apply" in \
		send_from_isp udp $C4 "$port" --bind-addr $NET4B --sport 4444
done
lab_finish
