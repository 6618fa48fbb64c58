#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Gateway mode (issue 14, part 3): the client is a VPN router for the container namespace behind
# ctr0 (`--gateway ctr0`, a LAN client at 10.99.0.2 / fd99::2). The lab's own NAT table (labnat,
# docker's way) is removed: the kill switch's masquerade is the only one. The VPN server also
# accepts the LAN's private ranges from its peer (allowed-ips), so that a packet which escaped NAT
# would arrive at the far end with its private source, where a counter sees it.
#   - the client reaches the internet only through the tunnel, and the far end sees the tunnel
#     address, never 10.99.0.2 (controls: without the kill switch, no NAT: the private source);
#   - a rogue route on the router, or the tunnel's routes lost: nothing leaves off the tunnel;
#   - its DNS to any resolver on 53 (UDP, TCP, v4, v6) is answered by the VPN's resolver through the
#     tunnel, and never reaches the one it named; 853 is refused;
#   - the SYN that reaches the far end carries an MSS that fits the 1420-byte tunnel;
#   - conntrack-invalid packets do not escape NAT (control: the rule removed by hand);
#   - IPv6 only through a tunnel that carries it;
#   - the router's DHCP server answers its clients, enabled and connecting (control: without
#     --gateway their DISCOVERs, from 0.0.0.0, are dropped);
#   - blocked and connecting: nothing, in or out of the tunnel; tunnel crashes and restarts, and
#     state changes, under a flood from the client: zero packets off the tunnel.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init gateway
lab_up
table_header

LAN=ctr0
inc nft delete table inet labnat
# The VPN server takes the LAN's private sources too (so that a leak of them is seen, not dropped).
ini wg set "$WGS" peer "$CKEY_PUB" allowed-ips $TUN4/32,$TUN6/128,10.99.0.0/24,fd99::/64
ks_gw() { ks_quiet enable --tunnel "$WGC" --endpoint "$ENDPOINT" --dns $VPNDNS4 --dns $VPNDNS6 --gateway $LAN "$@"; }
ks_gw_block() { ks_quiet block --tunnel "$WGC" --dns $VPNDNS4 --gateway $LAN "$@"; }
# shellcheck disable=SC2120 # called through "$apply" with --allow-lan
ks_gw_connecting() { ks_gw_block --endpoint "$ENDPOINT" "$@"; }

# The far end: what comes out of the tunnel at the VPN server, by source, and its DNS, and the MSS
# of the SYNs (the tunnel's MTU is 1420: at most 1380 for IPv4, 1360 for IPv6).
ini nft -f - <<-EOF
	table inet farend {
		counter tunaddr {
		}
		counter private {
		}
		counter vpndns {
		}
		counter pubdns {
		}
		counter mss_ok {
		}
		counter mss_big {
		}
		chain pre {
			type filter hook prerouting priority -450; policy accept;
			ip daddr { $RESOLVER4, 198.51.100.99 } th dport 53 counter name pubdns
			ip6 daddr $RESOLVER6 th dport 53 counter name pubdns
			iifname != "$WGS" return
			ip saddr $TUN4 counter name tunaddr
			ip6 saddr $TUN6 counter name tunaddr
			ip saddr 10.99.0.0/24 counter name private
			ip6 saddr fd99::/64 counter name private
			ip daddr $VPNDNS4 th dport 53 counter name vpndns
			ip6 daddr $VPNDNS6 th dport 53 counter name vpndns
			ip protocol tcp tcp flags & (syn | ack) == syn tcp option maxseg size > 1380 counter name mss_big
			ip6 nexthdr tcp tcp flags & (syn | ack) == syn tcp option maxseg size > 1360 counter name mss_big
			tcp flags & (syn | ack) == syn counter name mss_ok
		}
	}
EOF
farend() { ini nft list counter inet farend "$1" | awk '$1 == "packets" { print $2; exit }'; }

# far_end_sees COUNTER CMD...: run CMD; true when the far-end COUNTER grew.
# far_end_never NEVER SEEN CMD...: true when NEVER stayed and SEEN grew (the probe did get there).
far_end_sees() {
	local c=$1 n0
	shift
	n0=$(farend "$c")
	"$@" >/dev/null 2>&1 || true
	sleep "$SETTLE"
	(($(farend "$c") > n0))
}
far_end_never() {
	local never=$1 seen=$2 n0 s0
	shift 2
	n0=$(farend "$never") s0=$(farend "$seen")
	"$@" >/dev/null 2>&1 || true
	sleep "$SETTLE"
	(($(farend "$never") == n0 && $(farend "$seen") > s0))
}
# succeeds: CMD succeeds (a reply came back)
succeeds() { "$@" >/dev/null 2>&1; }

# ---- enabled: through the tunnel, masqueraded to the tunnel address ----
ks_gw || die "enable --gateway failed"
check "status: gateway $LAN" enabled listed ks_status_lists "$LAN"
run_probe "client tcp4 $(hp $NET4 80) through the tunnel" enabled tunnel phys send_n tcp $NET4 80
run_probe "client udp4 $(hp $NET4 7) through the tunnel" enabled tunnel phys send_n udp $NET4 7
run_probe "client icmp4 $NET4 through the tunnel" enabled tunnel phys ping_n $NET4
run_probe "client tcp6 $(hp $NET6 80) through the tunnel" enabled tunnel phys send_n tcp $NET6 80
run_probe "client icmp6 $NET6 through the tunnel" enabled tunnel phys ping6_n $NET6
for p in "tcp4:send_n tcp $NET4 80" "udp4:send_n udp $NET4 7" "tcp6:send_n tcp $NET6 80" "icmp6:ping6_n $NET6"; do
	# shellcheck disable=SC2086
	check "client ${p%%:*}: far end sees the tunnel address only" enabled tunnel-addr \
		far_end_never private tunaddr ${p#*:}
done
ks_disable
for p in "tcp4:send_n tcp $NET4 80" "tcp6:send_n tcp $NET6 80"; do
	# shellcheck disable=SC2086
	check_control "client ${p%%:*}: far end sees 10.99.0.2/fd99::2" "disabled (control)" private \
		far_end_sees private ${p#*:}
done

# ---- MSS: the SYN that reaches the far end fits the tunnel ----
ks_gw
check "client tcp4 SYN at the far end: MSS <= 1380" enabled clamped far_end_never mss_big mss_ok send_n tcp $NET4 80
check "client tcp6 SYN at the far end: MSS <= 1360" enabled clamped far_end_never mss_big mss_ok send_n tcp $NET6 80
check "client tcp4 large transfer (64 KiB echo)" enabled echoed succeeds \
	labnet_n send --wait 5 tcp $NET4 80 --payload "$(head -c 65536 /dev/zero | tr '\0' x)"
ks_disable
check_control "client tcp4 SYN at the far end: MSS 1460" "disabled (control)" unclamped far_end_sees mss_big send_n tcp $NET4 80
check_control "client tcp6 SYN at the far end: MSS 1440" "disabled (control)" unclamped far_end_sees mss_big send_n tcp $NET6 80

# ---- DNS: any resolver on 53 is the VPN's, through the tunnel ----
ks_gw
for q in "udp4:$RESOLVER4" "tcp4:$RESOLVER4 --tcp" "udp4 (nowhere):198.51.100.99" "udp6:$RESOLVER6 --aaaa" "tcp6:$RESOLVER6 --tcp"; do
	# shellcheck disable=SC2086
	run_probe "client dns ${q%%:*} ${q#*:} answered" enabled tunnel phys dns_n ${q#*:}
	# shellcheck disable=SC2086
	check "client dns ${q%%:*} ${q#*:}: to the VPN's resolver only" enabled redirected \
		far_end_never pubdns vpndns dns_n ${q#*:}
done
ks_disable
check_control "client dns udp4 $RESOLVER4 reaches it" "disabled (control)" reached far_end_sees pubdns dns_n $RESOLVER4
check_control "client dns tcp6 $RESOLVER6 reaches it" "disabled (control)" reached far_end_sees pubdns dns_n $RESOLVER6 --tcp
leak_pair "client dns tcp $(hp $RESOLVER4 853) (DoT)" enabled ks_gw tun dns_n $RESOLVER4 --tcp --port 853
leak_pair "client dns udp $(hp $RESOLVER4 853) (DoQ)" enabled ks_gw tun dns_n $RESOLVER4 --port 853

# ---- invalid conntrack state: never forwarded without NAT ----
invalid_n() { labnet_n invalid $NET4 80 --count 3; }
ks_gw
check "client invalid tcp (SYN+FIN): no private source at the far end" enabled dropped \
	not far_end_sees private invalid_n
drop_invalid_rule() {
	local h
	h=$(inc nft -a list chain inet killswitch forward | awk '/ct state invalid/ { print $NF; exit }')
	[[ -n $h ]] && inc nft delete rule inet killswitch forward handle "$h"
}
drop_invalid_rule || die "no invalid rule to remove"
check_control "client invalid tcp, the rule removed: private source at the far end" \
	"enabled, rule removed (control)" leaked far_end_sees private invalid_n

# ---- a rogue route on the router, the tunnel's routes lost ----
inc ip route add 198.51.100.0/25 via $GW4 dev phy0
inc ip -6 route add 2001:db8:100::/64 via $GW6LL dev phy0
for st in "enabled:ks_gw" "enabled, allow-lan:ks_gw --allow-lan"; do
	state=${st%%:*} apply=${st#*:}
	leak_pair "client tcp4 $(hp $NET4 80) via a rogue route" "$state" "$apply" phys send_n tcp $NET4 80
	leak_pair "client udp4 $(hp $NET4 7) via a rogue route" "$state" "$apply" phys send_n udp $NET4 7
	leak_pair "client icmp4 $NET4 via a rogue route" "$state" "$apply" phys ping_n $NET4
	leak_pair "client icmp6 $NET6 via a rogue route" "$state" "$apply" phys ping6_n $NET6
	leak_pair "client tcp6 $(hp $NET6 80) via a rogue route" "$state" "$apply" phys send_n tcp $NET6 80
done
# --ipv6 allow accepts forwarded IPv6 off the tunnel: not the gateway's.
leak_pair "client icmp6 $NET6 via a rogue route" "enabled, ipv6 allow" "ks_gw --ipv6 allow" phys ping6_n $NET6
leak_pair "client udp6 $(hp $NET6 7) via a rogue route" "enabled, ipv6 allow" "ks_gw --ipv6 allow" phys send_n udp $NET6 7
inc ip route del 198.51.100.0/25 via $GW4 dev phy0
inc ip -6 route del 2001:db8:100::/64 via $GW6LL dev phy0
routes_off
for st in "enabled, routes lost:ks_gw" "blocked:ks_gw_block" "connecting:ks_gw_connecting" \
	"connecting, allow-lan:ks_gw_connecting --allow-lan"; do
	state=${st%%:*} apply=${st#*:}
	leak_pair "client tcp4 $(hp $NET4 80)" "$state" "$apply" phys send_n tcp $NET4 80
	leak_pair "client udp4 $(hp $NET4 7)" "$state" "$apply" phys send_n udp $NET4 7
	leak_pair "client icmp6 $NET6" "$state" "$apply" phys ping6_n $NET6
	leak_pair "client dns udp $(hp $RESOLVER4 53)" "$state" "$apply" phys dns_n $RESOLVER4
done
routes_tunnel

# ---- blocked and connecting with the tunnel up: nothing into it either ----
for st in "blocked:ks_gw_block" "connecting:ks_gw_connecting"; do
	state=${st%%:*} apply=${st#*:}
	leak_pair "client tcp4 $(hp $NET4 80) into the tunnel" "$state" "$apply" tun send_n tcp $NET4 80
	leak_pair "client icmp6 $NET6 into the tunnel" "$state" "$apply" tun ping6_n $NET6
	leak_pair "client dns udp $(hp $VPNDNS4 53) into the tunnel" "$state" "$apply" tun dns_n $VPNDNS4
done

# ---- the LAN: only with --allow-lan (the ISP side routes the LAN back through the router) ----
ini ip route add 10.99.0.0/24 via $C4 dev isp0
ks_gw --allow-lan
run_probe "client tcp4 $(hp $LANHOST4 22) (LAN)" "enabled, allow-lan" pass phys send_n tcp $LANHOST4 22
leak_pair "client tcp4 $(hp $LANHOST4 22) (LAN)" enabled ks_gw phys send_n tcp $LANHOST4 22
# Blocked means nothing for the clients, their LAN through this host too.
leak_pair "client tcp4 $(hp $LANHOST4 22) (LAN)" "connecting, allow-lan" "ks_gw_connecting --allow-lan" phys \
	send_n tcp $LANHOST4 22
# Nothing from off the tunnel reaches the client, not even with --ipv6 allow (forward's IPv6 accept).
delivery_oracle_install n
ini ip -6 route add fd99::/64 via $CULA6 dev isp0
leak_pair "inbound udp6 $NET6 -> client $(hp $CTR6 5000)" "enabled, ipv6 allow" "ks_gw --ipv6 allow" ctr \
	send_from_isp udp $CTR6 5000 --bind-addr $NET6
leak_pair "inbound udp4 $NET4 -> client $(hp $CTR4 5000)" "enabled, allow-lan" "ks_gw --allow-lan" ctr \
	send_from_isp udp $CTR4 5000 --bind-addr $NET4
ini ip -6 route del fd99::/64 via $CULA6 dev isp0
ini ip route del 10.99.0.0/24 via $C4 dev isp0

# ---- IPv6 only through a tunnel that carries it ----
inc ip addr del $TUN6/128 dev "$WGC"
leak_pair "client icmp6 $NET6 (tunnel without IPv6)" enabled ks_gw tun ping6_n $NET6
leak_pair "client tcp6 $(hp $NET6 80) (tunnel without IPv6)" enabled ks_gw tun send_n tcp $NET6 80
inc ip addr add $TUN6/128 dev "$WGC" nodad
routes_tunnel

# ---- the router's DHCP server on the LAN (dnsmasq on ctr0; busybox udhcpc in the client) ----
if command -v dnsmasq >/dev/null && command -v busybox >/dev/null; then
	bg dnsmasq-lan inc dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 --interface=$LAN \
		--bind-interfaces --no-ping --dhcp-authoritative --dhcp-range=10.99.0.100,10.99.0.150,255.255.255.0,1h \
		--log-dhcp --log-facility=- --dhcp-leasefile="$LAB_TMP/dnsmasq-lan.leases" --pid-file="$LAB_TMP/dnsmasq-lan.pid"
	wait_for 10 test -s "$LAB_TMP/dnsmasq-lan.pid" || die "dnsmasq on $LAN did not start"
	# One exchange, nothing configured from it (-s /bin/true): exit 0 with a lease.
	lease() { inn busybox udhcpc -i eth0 -f -q -n -t 3 -T 1 -s /bin/true; }
	ks_gw
	check "client DHCP lease from the router" enabled lease lease
	ks_gw_connecting
	check "client DHCP lease from the router" connecting lease lease
	ks_enable
	check_control "client DHCP lease, the kill switch without --gateway" "enabled (control)" "no-lease" not lease
	kill "$(<"$LAB_TMP/dnsmasq-lan.pid")" 2>/dev/null || true
fi

# ---- tunnel crashes and restarts, and state changes, under a flood from the client ----
tunnel_restart() {
	tunnel_crash
	sleep 0.5
	start_wireguard "$NS_C" "$WGC"
	sleep 0.3
	client_tunnel_configure
	wait_handshake 10 || die "no handshake after the restart"
}
flood_n_start() { flood_from labnet_n "$1" $NET4 $NET6; }
# The scenes under the flood: each applies, waits, and must leave the physical link quiet.
storm() {
	tunnel_restart
	sleep 0.5
	ks_gw_block
	sleep 0.5
	ks_gw_connecting
	sleep 0.5
	ks_gw
	tunnel_restart
	sleep 0.5
	ks_gw
}
storm_probe() {
	flood_n_start 60
	sleep 0.5
	storm
	flood_stop
	log "flood attempts: $(flood_attempts)"
	(($(flood_attempts) > 0))
}
ks_gw
run_probe "client udp flood: 2 tunnel restarts, blocked, connecting" "enabled <-> blocked" blocked phys storm_probe
storm_control() {
	flood_n_start 60
	sleep 0.5
	tunnel_restart
	flood_stop
}
ks_disable
run_probe "client udp flood: a tunnel restart" "disabled (control)" leak phys storm_control
lab_finish
