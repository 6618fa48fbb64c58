#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What the lab found wrong in the core, each written as the correct behaviour (they failed until
# the core was fixed; see tests/e2e/README.md, "Findings"). Every probe has its control.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init findings
lab_require dnsmasq busybox
lab_up
table_header

# 1. DNS to the VPN's own resolver leaves the physical interface with --allow-lan.
# The resolver given with --dns is 10.66.0.1 (inside the tunnel, and in 10.0.0.0/8, like
# Mullvad's 10.64.0.1 or Proton's 10.2.0.1). The rule "oifname != @tunnels ip daddr @resolvers4
# ip daddr @lan4 ... dport 53 accept" lets DNS to it out of any interface once --allow-lan is on,
# so whoever controls the LAN's routing gets every query in plain text: TunnelVision (a DHCP
# option 121 route for the resolver) or a LAN that is 10.0.0.0/8.
ks_enable --allow-lan
rogue_dhcp "$VPNDNS4/32,$GW4"
check "DHCP lease with a route for the VPN's resolver" "enabled, allow-lan" leased dhcp_client
rogue_dhcp_stop
check "$VPNDNS4 now routed out of phy0" "enabled, allow-lan" phy0 routes_via $VPNDNS4 phy0
en_lan() { ks_enable --allow-lan --dns $VPNDNS6; }
leak_pair "dns udp $(hp $VPNDNS4 53) (VPN resolver) via DHCP route" "enabled, allow-lan" en_lan phys dns_c $VPNDNS4
leak_pair "dns tcp $(hp $VPNDNS4 53) (VPN resolver) via DHCP route" "enabled, allow-lan" en_lan phys dns_c $VPNDNS4 --tcp
leak_pair "container dns $(hp $VPNDNS4 53) via DHCP route" "enabled, allow-lan" en_lan phys dns_n $VPNDNS4
inc ip route del $VPNDNS4/32
# The same without an attacker: the LAN is 10.0.0.0/8.
inc ip addr add 10.1.2.3/8 dev phy0
ini ip route add 10.1.2.3/32 dev isp0
check "$VPNDNS4 on-link on a 10.0.0.0/8 LAN" "enabled, allow-lan" phy0 routes_via $VPNDNS4 phy0
leak_pair "dns udp $(hp $VPNDNS4 53) (VPN resolver) on a 10/8 LAN" "enabled, allow-lan" en_lan phys dns_c $VPNDNS4
inc ip addr del 10.1.2.3/8 dev phy0
ini ip route del 10.1.2.3/32 dev isp0
# IPv6: the VPN's resolver fd66::1 is in fc00::/7.
inc ip -6 route add fd66::/64 via $GW6LL dev phy0
leak_pair "dns udp $(hp $VPNDNS6 53) (VPN resolver) via a route" "enabled, allow-lan" en_lan phys dns_c $VPNDNS6 --aaaa
inc ip -6 route del fd66::/64 via $GW6LL dev phy0
# (Without --allow-lan the same queries are rejected: dns.sh, "allowed one, off-tunnel".)

# 2. IPv6 neighbour advertisements to non-link-local addresses are rejected.
# The output chain accepts NS/NA only to fe80::/10 and the solicited-node range, but a node that
# solicits from its global or ULA address gets the advertisement sent back to that address. A
# container (or VM) behind the client solicits its gateway from fd99::2: the answer is rejected,
# so forwarded IPv6 through the tunnel does not work (lab_up gives the container a static
# neighbour entry to test the forward chain elsewhere; here it starts from an empty cache).
fresh_ctr6() {
	inn ip -6 neigh flush dev eth0 nud all 2>/dev/null || true
	inn ip -6 neigh del fd99::1 dev eth0 2>/dev/null || true
	inc ip -6 neigh flush dev ctr0 2>/dev/null || true
	inn ping -6 -n -c 1 -W 2 "$@"
}
ks_enable
run_probe "container icmp6 $NET6 tunnel, empty ND cache" enabled tunnel phys fresh_ctr6 $NET6
ks_disable
run_probe "container icmp6 $NET6 tunnel, empty ND cache" "disabled (control)" tunnel phys fresh_ctr6 $NET6

# 3. Forwarded traffic is rejected, but the reject never reaches the sender.
# The forward chain ends in "reject with tcp reset" / "reject with icmpx admin-prohibited", but the
# reset or ICMP error is sent by the client itself and goes through the output chain, whose final
# reject drops it (it is not for the tunnel or the LAN). The container hangs until its timeout
# instead of failing fast. The probe: a TCP connect from the container (2 s timeout) gets its
# refusal, an RST ("refused"; a timeout says otherwise), well before the timeout (lib.sh's
# fails_fast).
routes_off
ks_block
check "container tcp4 $(hp $NET4 80) refused at once" blocked refused fails_fast labnet_n send --wait 2 tcp $NET4 80
ks_enable
check "container tcp4 $(hp $NET4 80) refused at once" "enabled, routes lost" refused fails_fast labnet_n send --wait 2 tcp $NET4 80
# Control: with --allow-lan the container's address is "LAN", the reset gets out, and it works.
ks_block --allow-lan
check_control "container tcp4 $(hp $NET4 80) refused at once" "allow-lan (control)" refused fails_fast labnet_n send --wait 2 tcp $NET4 80
routes_tunnel
lab_finish
