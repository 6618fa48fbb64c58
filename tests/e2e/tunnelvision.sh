#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# TunnelVision (CVE-2024-3661): routes more specific than the tunnel's, pointing at the physical
# gateway. Routing obeys them; the kill switch must not. First added by hand, then the real
# attack: a rogue DHCP server (dnsmasq) pushing option 121 routes to a DHCP client (udhcpc) in the
# client namespace while the kill switch is on.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init tunnelvision
lab_require dnsmasq busybox
lab_up
table_header

# 1. More specific routes via the physical gateway, added by hand.
inc ip route add 198.51.100.0/25 via $GW4 dev phy0
inc ip -6 route add 2001:db8:100::/64 via $GW6LL dev phy0
check "route to $NET4 now via phy0" setup phy0 routes_via $NET4 phy0
check "route to $NET6 now via phy0" setup phy0 routes_via $NET6 phy0
for st in "enabled:ks_enable" "enabled, allow-lan:ks_enable --allow-lan"; do
	state=${st%%:*} apply=${st#*:}
	leak_pair_public "$state" "$apply" "via a /25 route" "via a /64 route"
done
inc ip route del 198.51.100.0/25 via $GW4 dev phy0
inc ip -6 route del 2001:db8:100::/64 via $GW6LL dev phy0

# 2. The real thing: the DHCP server on the LAN pushes 198.51.100.0/24 and the two halves of the
# IPv4 space (0/1, 128/1: every destination) while the VPN is up and the kill switch enabled.
ks_enable
rogue_dhcp "198.51.100.0/24,$GW4,0.0.0.0/1,$GW4,128.0.0.0/1,$GW4"
check "DHCP lease with option 121 routes (kill switch on)" enabled leased dhcp_client
rogue_dhcp_stop
check "route to $NET4 now via phy0 (DHCP)" enabled phy0 routes_via $NET4 phy0
check "route to $NET4B now via phy0 (DHCP 0/1, 128/1)" enabled phy0 routes_via $NET4B phy0
for st in "enabled:ks_enable" "enabled, allow-lan:ks_enable --allow-lan" "connecting:ks_connecting"; do
	state=${st%%:*} apply=${st#*:}
	leak_pair "tcp4 $(hp $NET4 80) via DHCP route" "$state" "$apply" phys send_c tcp $NET4 80
	leak_pair "udp4 $(hp $NET4 7) via DHCP route" "$state" "$apply" phys send_c udp $NET4 7
	leak_pair "icmp4 $NET4 via DHCP route" "$state" "$apply" phys ping4 $NET4
	leak_pair "tcp4 $(hp $NET4B 443) via DHCP 128/1" "$state" "$apply" phys send_c tcp $NET4B 443
	leak_pair "dns udp $(hp $RESOLVER4 53) via DHCP route" "$state" "$apply" phys dns_c $RESOLVER4
done
# The VPN's own packets still reach the endpoint (marked, main table), so the tunnel survives.
ks_enable
check "WireGuard handshake despite the DHCP routes" enabled completes handshake_completes 8
lab_finish
