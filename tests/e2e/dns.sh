#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# DNS: only the resolvers given with --dns, only on port 53 and only through the tunnel (or on the
# LAN when that resolver was named and --allow-lan is on). Everything else on 53 and 853 (DNS over
# TLS) is rejected, inside the tunnel too: the tunnel oracle counts what comes out of the VPN
# server for the in-tunnel probes.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init dns
lab_up
table_header

# shellcheck disable=SC2120 # called with options through leak_pair's APPLY string
en() { ks_enable --dns $VPNDNS6 "$@"; }

# The allowed resolvers answer, through the tunnel.
en
run_probe "dns udp $(hp $VPNDNS4 53) (allowed)" enabled tunnel phys dns_c $VPNDNS4
run_probe "dns tcp $(hp $VPNDNS4 53) (allowed)" enabled tunnel phys dns_c $VPNDNS4 --tcp
run_probe "dns udp $(hp $VPNDNS6 53) AAAA (allowed)" enabled tunnel phys dns_c $VPNDNS6 --aaaa

# Other resolvers, inside the tunnel.
leak_pair "dns udp $(hp $RESOLVER4 53) in the tunnel" enabled en tun dns_c $RESOLVER4
leak_pair "dns tcp $(hp $RESOLVER4 53) in the tunnel" enabled en tun dns_c $RESOLVER4 --tcp
leak_pair "dns tcp $(hp $RESOLVER4 853) (DoT) in the tunnel" enabled en tun dns_c $RESOLVER4 --tcp --port 853
leak_pair "dns udp $(hp $RESOLVER4 853) in the tunnel" enabled en tun dns_c $RESOLVER4 --port 853
leak_pair "dns udp $(hp $RESOLVER6 53) in the tunnel" enabled en tun dns_c $RESOLVER6 --aaaa
leak_pair "dns tcp $(hp $VPNDNS4 853) (DoT to the allowed one)" enabled en tun dns_c $VPNDNS4 --tcp --port 853

# Outside the tunnel: a socket bound to the physical interface, then the tunnel's routing lost.
leak_pair "dns udp $(hp $RESOLVER4 53) bound to phy0" enabled en phys dns_c $RESOLVER4 --bind-dev phy0
leak_pair "dns tcp $(hp $RESOLVER4 853) bound to phy0" enabled en phys dns_c $RESOLVER4 --tcp --port 853 --bind-dev phy0
leak_pair "dns udp $(hp $RESOLVER6 53) bound to phy0" enabled en phys dns_c $RESOLVER6 --aaaa --bind-dev phy0
routes_off
for st in "enabled, routes lost:en" "blocked:ks_block" "connecting:ks_connecting"; do
	state=${st%%:*} apply=${st#*:}
	leak_pair "dns udp $(hp $RESOLVER4 53)" "$state" "$apply" phys dns_c $RESOLVER4
	leak_pair "dns tcp $(hp $RESOLVER4 53)" "$state" "$apply" phys dns_c $RESOLVER4 --tcp
	leak_pair "dns tcp $(hp $RESOLVER4 853) (DoT)" "$state" "$apply" phys dns_c $RESOLVER4 --tcp --port 853
	# The allowed resolver, but not through the tunnel: plain text on the physical link.
	leak_pair "dns udp $(hp $VPNDNS4 53) (allowed one, off-tunnel)" "$state" "$apply" phys dns_c $VPNDNS4
done
routes_tunnel

# The LAN's resolver (the router): blocked even with --allow-lan, unless named with --dns.
for st in "enabled, allow-lan:en --allow-lan" "blocked, allow-lan:ks_block --allow-lan"; do
	state=${st%%:*} apply=${st#*:}
	leak_pair "dns udp $(hp $GW4 53) (LAN resolver)" "$state" "$apply" phys dns_c $GW4
	leak_pair "dns tcp $(hp $GW4 53) (LAN resolver)" "$state" "$apply" phys dns_c $GW4 --tcp
	leak_pair "dns udp $(hp fd77::1 53) (LAN resolver)" "$state" "$apply" phys dns_c fd77::1 --aaaa
done
# A resolver is reached outside the tunnel only inside a range the user vouched for with --lan:
# the fixed --allow-lan ranges also hold VPN resolvers (findings.sh, TunnelVision).
ks_enable --allow-lan --lan 192.168.77.0/24 --dns $GW4
run_probe "dns udp $(hp $GW4 53) (LAN resolver named, --lan)" "enabled, allow-lan" pass phys dns_c $GW4
run_probe "dns tcp $(hp $GW4 53) (LAN resolver named, --lan)" "enabled, allow-lan" pass phys dns_c $GW4 --tcp
leak_pair "dns udp $(hp $GW4 53) named, --allow-lan only" "enabled, allow-lan" "ks_enable --allow-lan --dns $GW4" phys dns_c $GW4
leak_pair "dns udp $(hp $GW4 53) named, no --allow-lan" enabled "ks_enable --dns $GW4" phys dns_c $GW4
# Vouching for the LAN's resolver does not let the other --dns resolvers out: the VPN's (in 10/8,
# not in the vouched range) stays in the tunnel where a route would send it out of phy0.
inc ip route add $VPNDNS4/32 via $GW4 dev phy0
leak_pair "dns udp $(hp $VPNDNS4 53) (VPN's) via a route, a --lan given" "enabled, allow-lan" \
	"ks_enable --allow-lan --lan 192.168.77.0/24 --dns $GW4" phys dns_c $VPNDNS4
inc ip route del $VPNDNS4/32 via $GW4 dev phy0

ks_disable
run_probe "dns udp $(hp $VPNDNS4 53) through the tunnel" disabled tunnel phys dns_c $VPNDNS4
lab_finish
