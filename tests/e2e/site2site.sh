#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Site to site (issue 14), as in the OpenWrt setup: two routers, each with a LAN behind it, joined
# by a wireguard-go tunnel over an underlay "internet" link. Each router's peer carries the other
# site's LAN and tunnel address in its allowed-ips, and each runs
#   killswitch enable --from-wg wg0 --partial --gateway lan0 --dns <the other router>
#
#   LAN A (n) 192.168.1.5 fd00:a::5                          LAN B (m) 192.168.2.5 fd00:b::5
#     | eth0                                                   | eth0
#   router A (c) lan0 .1.1   wg 10.88.0.1/24 fd88::1/64 ~~~ wg 10.88.0.2/24 fd88::2/64   router B (b)
#     | phy0 198.18.1.2 2001:db8:1::2                          | phy0 198.18.2.2 2001:db8:2::2
#     +--- isp0 198.18.1.1 --- the underlay (i) --- isp1 198.18.2.1 ---+
#                    the internet: 198.51.100.10, 2001:db8:100::10 (on its lo)
#
# The routers masquerade their LANs to the underlay in a table of their own (labnat, as OpenWrt's
# wan zone does), so that the LANs reach the internet directly (partial: not locked).
# Oracles, in the underlay's namespace: "leak" counts every packet the routers put on the
# underlay with a site's address (the LANs, the tunnel network) as source or destination; the
# tunnel's own packets carry the routers' underlay addresses and never match. "seen" counts the
# WireGuard data messages between the routers (the tunnel carried something), "direct" what came
# to the internet host in the clear.
# Proved:
#   * each LAN reaches the other (tcp, udp, icmp; v4 and v6) through the tunnel, both ways: each
#     side opens connections to the other (docs/gateway.md, "Site to site");
#   * each LAN reaches the internet directly; the other site may not use a router as its way out
#     (its new connections from the tunnel reach the LAN's clients only);
#   * nothing for the sites' networks on the underlay: a rogue route on the router into the other
#     site's prefix (enabled and blocked), the tunnel down (wireguard-go killed), and a flood from
#     the LAN through tunnel crashes, rogue routes and state changes;
#   * controls: the same probes with the kill switch off leak.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init site2site

LANA4=192.168.1.0/24 LANA6=fd00:a::/64 LANB4=192.168.2.0/24 LANB6=fd00:b::/64
HOSTA4=192.168.1.5 HOSTA6=fd00:a::5 HOSTB4=192.168.2.5 HOSTB6=fd00:b::5
WANA4=198.18.1.2 WANB4=198.18.2.2 ISPA4=198.18.1.1 ISPB4=198.18.2.1
WANA6=2001:db8:1::2 WANB6=2001:db8:2::2 ISPA6=2001:db8:1::1 ISPB6=2001:db8:2::1
TUNA4=10.88.0.1 TUNB4=10.88.0.2 TUNA6=fd88::1 TUNB6=fd88::2
WG_PORT=51820 LAN=lan0
# Router A's tunnel is WGC (its wireguard-go is the one tunnel_crash kills), router B's WGS.
inb() { ip netns exec "$NS_B" "$@"; }
inm() { ip netns exec "$NS_M" "$@"; }
labnet_m() { inm "$PYTHON" -S "$LABNET" "$@"; }

# ---- the lab ---------------------------------------------------------------------------------
for ns in "$NS_C" "$NS_N" "$NS_B" "$NS_M" "$NS_I"; do ns_base "$ns"; done
ip link add phy0 netns "$NS_C" type veth peer name isp0 netns "$NS_I"
ip link add phy0 netns "$NS_B" type veth peer name isp1 netns "$NS_I"
ip link add $LAN netns "$NS_C" type veth peer name eth0 netns "$NS_N"
ip link add $LAN netns "$NS_B" type veth peer name eth0 netns "$NS_M"

# The underlay and the internet host.
ini ip addr add $ISPA4/24 dev isp0
ini ip addr add $ISPA6/64 dev isp0 nodad
ini ip addr add $ISPB4/24 dev isp1
ini ip addr add $ISPB6/64 dev isp1 nodad
ini ip link set isp0 up
ini ip link set isp1 up
ini ip addr add $NET4/32 dev lo
ini ip addr add $NET6/128 dev lo
ini sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

# site_up NS LANNS WAN4 WAN6 ISP4 ISP6 LAN4-ROUTER LAN6-ROUTER HOST4 HOST6: a router and its LAN.
site_up() {
	local ns=$1 lanns=$2
	ip netns exec "$ns" ip addr add "$3/24" dev phy0
	ip netns exec "$ns" ip addr add "$4/64" dev phy0 nodad
	ip netns exec "$ns" ip link set phy0 up
	ip netns exec "$ns" ip route add default via "$5" dev phy0
	ip netns exec "$ns" ip -6 route add default via "$6" dev phy0
	ip netns exec "$ns" ip addr add "$7/24" dev $LAN
	ip netns exec "$ns" ip addr add "$8/64" dev $LAN nodad
	ip netns exec "$ns" ip link set $LAN up
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	# The wan zone's masquerade (OpenWrt's), in a table of its own.
	ip netns exec "$ns" nft -f - <<-EOF
		table inet labnat {
			chain post {
				type nat hook postrouting priority srcnat + 10; policy accept;
				oifname "phy0" masquerade
			}
		}
	EOF
	ip netns exec "$lanns" ip addr add "$9/24" dev eth0
	ip netns exec "$lanns" ip addr add "${10}/64" dev eth0 nodad
	ip netns exec "$lanns" ip link set eth0 up
	ip netns exec "$lanns" ip route add default via "$7"
	ip netns exec "$lanns" ip -6 route add default via "$8"
}
site_up "$NS_C" "$NS_N" $WANA4 $WANA6 $ISPA4 $ISPA6 192.168.1.1 fd00:a::1 $HOSTA4 $HOSTA6
site_up "$NS_B" "$NS_M" $WANB4 $WANB6 $ISPB4 $ISPB6 192.168.2.1 fd00:b::1 $HOSTB4 $HOSTB6

# The oracles (see the top).
ini nft -f - <<-EOF
	table netdev oracle {
		counter leak {
		}
		set sites4 {
			type ipv4_addr; flags interval;
			elements = { $LANA4, $LANB4, 10.88.0.0/24 }
		}
		set sites6 {
			type ipv6_addr; flags interval;
			elements = { $LANA6, $LANB6, fd88::/64 }
		}
		chain site_a {
			type filter hook ingress device "isp0" priority -500; policy accept;
			jump sites
		}
		chain site_b {
			type filter hook ingress device "isp1" priority -500; policy accept;
			jump sites
		}
		chain sites {
			meta protocol ip ip saddr @sites4 counter name leak accept
			meta protocol ip ip daddr @sites4 counter name leak accept
			meta protocol ip6 ip6 saddr @sites6 counter name leak accept
			meta protocol ip6 ip6 daddr @sites6 counter name leak accept
		}
	}
	table inet tunoracle {
		counter seen {
		}
		counter direct {
		}
		chain carried {
			type filter hook forward priority -500; policy accept;
			udp dport $WG_PORT @th,64,32 0x04000000 counter name seen
		}
		chain arrived {
			type filter hook input priority -500; policy accept;
			ip daddr $NET4 counter name direct
			ip6 daddr $NET6 counter name direct
		}
	}
EOF
oracle_direct() { counter_of inet tunoracle direct; }

# Services: the LAN hosts and the internet host echo (tcp 22, 80; udp 7, 5000).
for s in n m i; do
	bg "serve-$s" labnet_$s serve --tcp 22,80 --udp 7,5000 --ready "$LAB_TMP/serve-$s.ready"
done
for s in n m i; do wait_for 10 test -f "$LAB_TMP/serve-$s.ready" || die "the services in $s did not start"; done

# The tunnel: router A with wg-quick's fwmark, router B without one (OpenWrt: --fwmark none).
umask 077
wg genkey >"$LAB_TMP/a.key"
wg genkey >"$LAB_TMP/b.key"
umask 022
APUB=$(wg pubkey <"$LAB_TMP/a.key") BPUB=$(wg pubkey <"$LAB_TMP/b.key")
# site_tunnel NS IF KEY FWMARK PEER ENDPOINT TUN4 TUN6 PEERLAN4 PEERLAN6 PEERTUN4 PEERTUN6
site_tunnel() {
	ip netns exec "$1" wg set "$2" private-key "$3" listen-port $WG_PORT fwmark "$4" \
		peer "$5" endpoint "$6" persistent-keepalive 25 allowed-ips "$9,${10},${11}/32,${12}/128"
	ip netns exec "$1" ip addr add "$7/24" dev "$2"
	ip netns exec "$1" ip addr add "$8/64" dev "$2" nodad
	ip netns exec "$1" ip link set "$2" up
	ip netns exec "$1" ip route add "$9" dev "$2"
	ip netns exec "$1" ip -6 route add "${10}" dev "$2"
}
tunnel_a() {
	site_tunnel "$NS_C" "$WGC" "$LAB_TMP/a.key" $FWMARK "$BPUB" $WANB4:$WG_PORT $TUNA4 $TUNA6 \
		$LANB4 $LANB6 $TUNB4 $TUNB6
}
start_wireguard "$NS_C" "$WGC"
start_wireguard "$NS_B" "$WGS"
tunnel_a
site_tunnel "$NS_B" "$WGS" "$LAB_TMP/b.key" 0 "$APUB" $WANA4:$WG_PORT $TUNB4 $TUNB6 \
	$LANA4 $LANA6 $TUNA4 $TUNA6
wait_handshake 10 || die "the WireGuard handshake between the routers did not complete"
log "lab up in $((SECONDS - LAB_T0))s"

# ---- the kill switch on both routers -----------------------------------------------------------
# ks runs on router A, or on router B with SITE=b (each its own run and config directories).
mkdir -m 0700 "$LAB_TMP/run-b" "$LAB_TMP/conf-b"
ks_argv() {
	if [[ ${SITE:-a} == b ]]; then
		KS_ARGV=(ip netns exec "$NS_B" env KILLSWITCH_RUNDIR="$LAB_TMP/run-b" KILLSWITCH_CONFDIR="$LAB_TMP/conf-b")
	else
		KS_ARGV=(ip netns exec "$NS_C" env KILLSWITCH_RUNDIR="$LAB_TMP/run" KILLSWITCH_CONFDIR="$LAB_TMP/conf")
	fi
}
ks_a() { ks_quiet enable --from-wg "$WGC" --partial --gateway $LAN --dns $TUNB4 --persist; }
ks_a_block() { ks_quiet block --from-wg "$WGC" --partial --gateway $LAN --dns $TUNB4; }
# With the tunnel gone there is no device to read: the policy stored by --persist (boot's way),
# or the same policy in explicit flags (what --from-wg read).
ks_a_restore() { ks_quiet restore; }
ks_a_flags() {
	ks_quiet enable --tunnel "$WGC" --endpoint $WANB4:$WG_PORT --fwmark $FWMARK --protect $LANB4 \
		--protect $LANB6 --protect $TUNB4/32 --protect $TUNB6/128 --protect 10.88.0.0/24 --protect fd88::/64 \
		--partial --gateway $LAN --dns $TUNB4
}
ks_b() { SITE=b ks_quiet enable --from-wg "$WGS" --fwmark none --partial --gateway $LAN --dns $TUNA4; }
ks_b_block() { SITE=b ks_quiet block --from-wg "$WGS" --fwmark none --partial --gateway $LAN --dns $TUNA4; }
ks_both() { ks_a && ks_b; }

table_header
ks_both || die "enable on the routers failed"
status_has() { [[ $(SITE=$1 ks status) == *"$2"* ]]; }
check "router A status: tunnel: partial" enabled listed status_has a "tunnel: partial"
check "router A status: $LANB4 (allowed IPs of $WGC)" enabled listed status_has a "$LANB4 (allowed IPs of $WGC)"
check "router B status: $LANA6 (allowed IPs of $WGS)" enabled listed status_has b "$LANA6 (allowed IPs of $WGS)"
check "router B status --json: gateway $LAN" enabled listed eval 'SITE=b ks_status_lists $LAN'

# ---- each site reaches the other, both ways, and the internet directly ---------------------------
st="enabled, both routers"
# reach AT NAME NS HOST4 HOST6: the LAN host (labnet_AT, in NS) reaches the other site's host.
reach() {
	local at=$1 name=$2 ns=$3 h4=$4 h6=$5
	run_probe "LAN $name tcp4 $(hp "$h4" 22)" "$st" tunnel phys labnet_"$at" send tcp "$h4" 22
	run_probe "LAN $name udp4 $(hp "$h4" 5000)" "$st" tunnel phys labnet_"$at" send udp "$h4" 5000
	run_probe "LAN $name tcp6 $(hp "$h6" 22)" "$st" tunnel phys labnet_"$at" send tcp "$h6" 22
	run_probe "LAN $name udp6 $(hp "$h6" 5000)" "$st" tunnel phys labnet_"$at" send udp "$h6" 5000
	run_probe "LAN $name icmp4 $h4" "$st" tunnel phys ip netns exec "$ns" ping -n -c 1 -W 1 "$h4"
	run_probe "LAN $name icmp6 $h6" "$st" tunnel phys ip netns exec "$ns" ping -6 -n -c 1 -W 1 "$h6"
}
reach n "A -> B" "$NS_N" $HOSTB4 $HOSTB6
reach m "B -> A" "$NS_M" $HOSTA4 $HOSTA6
# Masqueraded into the tunnel (--gateway's contract): LAN B sees router A's tunnel address, never
# LAN A's (counted in LAN B's input).
inm nft -f - <<-EOF
	table inet sitesrc {
		counter tunaddr {
		}
		counter lanaddr {
		}
		chain input {
			type filter hook input priority 100; policy accept;
			ip saddr $TUNA4 counter name tunaddr
			ip6 saddr $TUNA6 counter name tunaddr
			ip saddr $LANA4 counter name lanaddr
			ip6 saddr $LANA6 counter name lanaddr
		}
	}
EOF
sitesrc() { inm nft list counter inet sitesrc "$1" | awk '$1 == "packets" { print $2; exit }'; }
masqueraded() {
	local t0 l0
	t0=$(sitesrc tunaddr) l0=$(sitesrc lanaddr)
	"$@" >/dev/null 2>&1 || return 1
	(($(sitesrc tunaddr) > t0 && $(sitesrc lanaddr) == l0))
}
check "LAN A tcp4 to LAN B: from router A's tunnel address" "$st" masqueraded masqueraded \
	labnet_n send tcp $HOSTB4 22
check "LAN A udp6 to LAN B: from router A's tunnel address" "$st" masqueraded masqueraded \
	labnet_n send udp $HOSTB6 5000
# direct CMD...: CMD gets its answer, the internet host saw it in the clear, no site address on the
# underlay (the router's wan address, masqueraded).
direct() {
	local d0 l0
	d0=$(oracle_direct) l0=$(oracle_phys)
	"$@" >/dev/null 2>&1 || return 1
	sleep "$SETTLE"
	(($(oracle_direct) > d0 && $(oracle_phys) == l0))
}
for at in A:n B:m; do
	check "LAN ${at%:*} tcp4 $(hp $NET4 80) (internet) direct" "$st" direct direct labnet_${at#*:} send tcp $NET4 80
	check "LAN ${at%:*} udp4 $(hp $NET4 7) (internet) direct" "$st" direct direct labnet_${at#*:} send udp $NET4 7
	check "LAN ${at%:*} tcp6 $(hp $NET6 80) (internet) direct" "$st" direct direct labnet_${at#*:} send tcp $NET6 80
done

# ---- a rogue route on the router: the other site's prefix via the underlay ----------------------
rogue() { # rogue add|del: on both routers, more specific than the tunnel's routes
	inc ip route "$1" 192.168.2.0/25 via $ISPA4 dev phy0
	inc ip -6 route "$1" fd00:b::/65 via $ISPA6 dev phy0
	inc ip route "$1" $TUNB4/32 via $ISPA4 dev phy0
	inb ip route "$1" 192.168.1.0/25 via $ISPB4 dev phy0
	inb ip -6 route "$1" fd00:a::/65 via $ISPB6 dev phy0
}
send_n() { labnet_n send --wait "$CTR_WAIT" "$@"; }
send_m() { labnet_m send --wait "$CTR_WAIT" "$@"; }
rogue add
for s in "enabled:ks_a" "blocked:ks_a_block"; do
	st="${s%%:*}, rogue route" apply=${s#*:}
	leak_pair "LAN A tcp4 $(hp $HOSTB4 22)" "$st" "$apply" phys send_n tcp $HOSTB4 22
	leak_pair "LAN A udp4 $(hp $HOSTB4 5000)" "$st" "$apply" phys send_n udp $HOSTB4 5000
	leak_pair "LAN A tcp6 $(hp $HOSTB6 22)" "$st" "$apply" phys send_n tcp $HOSTB6 22
	leak_pair "LAN A udp6 $(hp $HOSTB6 5000)" "$st" "$apply" phys send_n udp $HOSTB6 5000
	leak_pair "router A udp4 $(hp $TUNB4 5000) (tunnel network)" "$st" "$apply" phys \
		labnet_c send --wait "$CTR_WAIT" udp $TUNB4 5000
done
# Blocked with --partial: the LAN's internet is untouched.
ks_a_block || die "block on router A failed"
check "LAN A tcp4 $(hp $NET4 80) (internet) direct" "blocked, rogue route" direct direct labnet_n send tcp $NET4 80
check "LAN A tcp6 $(hp $NET6 80) (internet) direct" "blocked, rogue route" direct direct labnet_n send tcp $NET6 80
ks_a || die "enable on router A failed"
for s in "enabled:ks_b" "blocked:ks_b_block"; do
	st="${s%%:*}, rogue route" apply=${s#*:}
	SITE=b leak_pair "LAN B tcp4 $(hp $HOSTA4 22)" "$st" "$apply" phys send_m tcp $HOSTA4 22
	SITE=b leak_pair "LAN B udp6 $(hp $HOSTA6 5000)" "$st" "$apply" phys send_m udp $HOSTA6 5000
done
ks_b || die "enable on router B failed"
rogue del

# ---- the other site may not use router A as its way out ---------------------------------------
# Router B sends the internet host's address into the tunnel (its peer carries it); router A must
# refuse to forward it to its uplink: the other site's new connections reach A's clients only.
inb wg set "$WGS" peer "$APUB" allowed-ips $LANA4,$LANA6,$TUNA4/32,$TUNA6/128,$NET4/32
inb ip route add $NET4/32 dev "$WGS"
ks_b || die "enable on router B failed"
# via_a: LAN B's udp to the internet host went into the tunnel and came out of router A's uplink.
via_a() {
	local d0 t0
	d0=$(oracle_direct) t0=$(oracle_tun)
	labnet_m send --wait "$CTR_WAIT" udp $NET4 7 >/dev/null 2>&1 || true
	sleep "$SETTLE"
	(($(oracle_tun) > t0 && $(oracle_direct) > d0))
}
ks_a || die "enable on router A failed"
check "LAN B udp4 $(hp $NET4 7) through router A: refused" "enabled, B routes it in" refused not via_a
ks_disable
check_control "LAN B udp4 $(hp $NET4 7) through router A" "disabled (control)" forwarded via_a
inb ip route del $NET4/32 dev "$WGS"
inb wg set "$WGS" peer "$APUB" allowed-ips $LANA4,$LANA6,$TUNA4/32,$TUNA6/128
ks_b || die "enable on router B failed"

# ---- the tunnel down: wireguard-go killed on router A -------------------------------------------
tunnel_restart_a() {
	start_wireguard "$NS_C" "$WGC"
	tunnel_a
	wait_handshake 10 || die "no handshake after the restart"
}
ks_a || die "enable on router A failed"
tunnel_crash
check "router A: no route into the tunnel for $LANB4" "enabled, tunnel down" off-tunnel \
	eval 'inc ip route get $HOSTB4 | grep -q "dev phy0"'
for p in "tcp4:tcp $HOSTB4 22" "udp4:udp $HOSTB4 5000" "tcp6:tcp $HOSTB6 22" "udp6:udp $HOSTB6 5000"; do
	# shellcheck disable=SC2086
	leak_pair "LAN A ${p%%:*} to LAN B" "enabled, tunnel down" ks_a_flags phys send_n ${p#*:}
done
tunnel_restart_a
ks_a || die "enable on router A failed"
run_probe "LAN A tcp4 $(hp $HOSTB4 22) after the restart" "enabled" tunnel phys send_n tcp $HOSTB4 22

# ---- a flood from LAN A through crashes, rogue routes and state changes --------------------------
storm() {
	tunnel_crash
	sleep 0.5
	ks_a_restore
	sleep 0.3
	tunnel_restart_a
	ks_a
	rogue add
	sleep 0.5
	ks_a_block
	sleep 0.5
	ks_a
	sleep 0.3
	tunnel_crash
	sleep 0.5
	rogue del
	tunnel_restart_a
	ks_a
}
storm_probe() {
	flood_from labnet_n 60 $HOSTB4 $HOSTB6
	sleep 0.5
	storm
	flood_stop
	(($(flood_attempts) > 0))
}
run_probe "LAN A udp flood to LAN B: 2 tunnel crashes, rogue routes, blocked" "enabled <-> blocked" blocked phys storm_probe
log "the flood under the kill switch: $(flood_attempts) send attempts"
storm_control() {
	flood_from labnet_n 60 $HOSTB4 $HOSTB6
	sleep 0.5
	tunnel_crash
	sleep 0.5
	flood_stop
	tunnel_restart_a
}
ks_disable
run_probe "LAN A udp flood to LAN B: a tunnel crash" "disabled (control)" leak phys storm_control
log "the flood without it: $(flood_attempts) send attempts"
lab_finish
