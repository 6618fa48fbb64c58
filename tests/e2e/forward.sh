#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Forwarded traffic: a container namespace behind the client (routed and masqueraded by the
# client, the way docker does it). Its traffic goes through the tunnel or nowhere, and nothing from
# the internet reaches it off the tunnel.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init forward
lab_up
table_header

# Enabled, tunnel routing in place: the container's traffic is forwarded into the tunnel.
ks_enable
run_probe "container tcp4 $(hp $NET4 80) through the tunnel" enabled tunnel phys send_n tcp $NET4 80
run_probe "container udp4 $(hp $NET4 7) through the tunnel" enabled tunnel phys send_n udp $NET4 7
run_probe "container icmp4 $NET4 through the tunnel" enabled tunnel phys ping_n $NET4
run_probe "container icmp6 $NET6 through the tunnel" enabled tunnel phys ping6_n $NET6
run_probe "container tcp6 $(hp $NET6 80) through the tunnel" enabled tunnel phys send_n tcp $NET6 80
run_probe "container dns $(hp $VPNDNS4 53) (allowed)" enabled tunnel phys dns_n $VPNDNS4
leak_pair "container dns udp $(hp $RESOLVER4 53) in the tunnel" enabled ks_enable tun dns_n $RESOLVER4
leak_pair "container dns tcp $(hp $RESOLVER4 853) in the tunnel" enabled ks_enable tun dns_n $RESOLVER4 --tcp --port 853

# TunnelVision for forwarded traffic: a more specific route via the physical gateway.
inc ip route add 198.51.100.0/25 via $GW4 dev phy0
leak_pair "container icmp4 $NET4 via a /25 route" enabled ks_enable phys ping_n $NET4
leak_pair "container tcp4 $(hp $NET4 80) via a /25 route" "enabled, allow-lan" "ks_enable --allow-lan" phys send_n tcp $NET4 80
inc ip route del 198.51.100.0/25 via $GW4 dev phy0

# The tunnel's routing lost, and the blocked and connecting states: forwarded out of phy0.
routes_off
for st in "enabled, routes lost:ks_enable" "blocked:ks_block" "connecting:ks_connecting" \
	"enabled, allow-lan:ks_enable --allow-lan"; do
	state=${st%%:*} apply=${st#*:}
	leak_pair "container tcp4 $(hp $NET4 80)" "$state" "$apply" phys send_n tcp $NET4 80
	leak_pair "container udp4 $(hp $NET4 7)" "$state" "$apply" phys send_n udp $NET4 7
	leak_pair "container icmp4 $NET4" "$state" "$apply" phys ping_n $NET4
	leak_pair "container icmp6 $NET6" "$state" "$apply" phys ping6_n $NET6
	leak_pair "container tcp6 $(hp $NET6 80)" "$state" "$apply" phys send_n tcp $NET6 80
	leak_pair "container dns udp $(hp $RESOLVER4 53)" "$state" "$apply" phys dns_n $RESOLVER4
done
# Between the container and the LAN, with --allow-lan: allowed (private source and destination).
ks_enable --allow-lan
run_probe "container tcp4 $(hp $LANHOST4 22) (LAN)" "enabled, allow-lan" pass phys send_n tcp $LANHOST4 22
leak_pair "container tcp4 $(hp $LANHOST4 22) (LAN)" enabled ks_enable phys send_n tcp $LANHOST4 22
# But not DNS to the LAN's resolver: the DNS reject comes before the LAN accept (F5, F8).
leak_pair "container dns udp $(hp $GW4 53) (LAN resolver)" "enabled, allow-lan" "ks_enable --allow-lan" phys dns_n $GW4
routes_tunnel

# Nothing from the internet reaches the container, --allow-lan or not: its address is in a fixed
# LAN range (10/8), the sender's is not (F8 wants both). The ISP side routes the container's
# network via the client; the oracle is the container's input (its answer would be refused).
delivery_oracle_install n
ini ip route add 10.99.0.0/24 via $C4 dev isp0
for st in "enabled, allow-lan:ks_enable --allow-lan" "blocked, allow-lan:ks_block --allow-lan"; do
	state=${st%%:*} apply=${st#*:}
	leak_pair "inbound udp $NET4 -> container $(hp $CTR4 5000)" "$state" "$apply" ctr \
		send_from_isp udp $CTR4 5000 --bind-addr $NET4
done
ini ip route del 10.99.0.0/24 via $C4 dev isp0
lab_finish
