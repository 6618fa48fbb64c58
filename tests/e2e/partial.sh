#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Partial tunnels (issue 14, part 2): a split-include VPN. The client's WireGuard peer carries
# 10.10.13.0/24 (with the VPN's resolver, 10.10.13.1) and 192.168.2.0/24, routed into the tunnel;
# everything else leaves by the physical link, as routed. With
#   killswitch enable --from-wg wg0 --partial --dns 10.10.13.1
# those networks and that resolver stay inside the tunnel in every state, and the rest is left
# alone:
#   * the peer's networks and the resolver work through the tunnel; the internet works directly;
#   * a rogue route (what a DHCP option 121 or RA route installs) into a protected prefix, or to
#     the resolver, sends nothing out of the physical link; a LAN host posing as a protected
#     address gets nothing delivered;
#   * blocked (block --from-wg ... --partial): nothing enters the closed tunnel, rogue routes leak
#     nothing, and the internet still works directly;
#   * --partial without a protected prefix (a /32 tunnel, no --protect) is refused (exit 2) and
#     changes nothing; with a /24 tunnel address its network is protected;
#   * status says partial; routing add (full-tunnel fwmark routing) is refused;
#   * restore, the tunnel's network gone from it (a /32 again): the network it had stays protected;
#   * a --dns resolver outside the protected prefixes: its DNS never leaves off the tunnel.
# Controls: every leak probe again with the kill switch disabled, which must leak.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init partial
lab_up
table_header

PEERNET4=10.10.13.0/24 PEERNET4B=192.168.2.0/24
PEERDNS4=10.10.13.1 PEERHOST4=10.10.13.5 PEERHOST4B=192.168.2.5 POSER4=10.10.13.77

# The VPN's side: the server holds the peer networks' hosts (its services answer on every address).
ini ip addr add $PEERDNS4/24 dev "$WGS"
ini ip addr add 192.168.2.1/24 dev "$WGS"
ini wg set "$WGS" peer "$CKEY_PUB" allowed-ips $TUN4/32,$TUN6/128
# The client as a split-include VPN client sets itself up: only the peer networks into the tunnel.
routes_off
inc wg set "$WGC" peer "$SKEY_PUB" allowed-ips $PEERNET4,$PEERNET4B
inc ip route add $PEERNET4 dev "$WGC"
inc ip route add $PEERNET4B dev "$WGC"
# The poser lives on the LAN side.
ini ip addr add $POSER4/32 dev isp0
delivery_oracle_install c

ks_partial() { ks_quiet enable --from-wg "$WGC" --partial --dns $PEERDNS4; }
ks_partial_block() { ks_quiet block --from-wg "$WGC" --partial --dns $PEERDNS4; }

# Rogue routes, more specific than the tunnel's: into the peer networks and to the resolver.
rogue_routes() { # rogue_routes add|del
	inc ip route "$1" $PEERHOST4/32 via $GW4 dev phy0
	inc ip route "$1" $PEERHOST4B/32 via $GW4 dev phy0
	inc ip route "$1" $PEERDNS4/32 via $GW4 dev phy0
}

# ---- status ----------------------------------------------------------------------------------
ks_partial || die "enable --partial failed"
status_has() { [[ $(ks status) == *"$1"* ]]; }
check "status: tunnel: partial" "enabled, partial" listed status_has "tunnel: partial"
check "status --json: \"partial\": true" "enabled, partial" listed \
	eval '[[ $(ks status --json) == *"\"partial\": true"* ]]'
check "status: $PEERNET4 (allowed IPs of $WGC)" "enabled, partial" listed \
	status_has "$PEERNET4 (allowed IPs of $WGC)"
check "status: $PEERNET4B (allowed IPs of $WGC)" "enabled, partial" listed \
	status_has "$PEERNET4B (allowed IPs of $WGC)"
# Full-tunnel routing would send everything into the tunnel: refused while the policy is partial.
routing_refused() {
	local rc=0 rules_before rules_after
	rules_before=$(inc ip rule)
	ks routing add --tunnel "$WGC" || rc=$?
	rules_after=$(inc ip rule)
	[[ $rc == 2 && $rules_before == "$rules_after" ]]
}
check "routing add --tunnel $WGC: exit 2, no rule added" "enabled, partial" refused routing_refused

# ---- enabled: the VPN's networks through the tunnel, the internet direct -----------------------
st="enabled, partial"
run_probe "icmp4 $PEERDNS4 (peer network) through the tunnel" "$st" tunnel phys ping4 $PEERDNS4
run_probe "udp4 $(hp 192.168.2.1 7) (peer network) through the tunnel" "$st" tunnel phys \
	send_c udp 192.168.2.1 7
run_probe "dns udp $(hp $PEERDNS4 53) (--dns) through the tunnel" "$st" tunnel phys dns_c $PEERDNS4
run_probe "tcp4 $(hp $NET4 80) (internet) direct" "$st" pass phys send_c tcp $NET4 80
run_probe "udp4 $(hp $NET4 7) (internet) direct" "$st" pass phys send_c udp $NET4 7
run_probe "icmp4 $NET4 (internet) direct" "$st" pass phys ping4 $NET4
run_probe "tcp6 $(hp $NET6 80) (internet) direct" "$st" pass phys send_c tcp $NET6 80
# Other resolvers are the host's own business with --partial (docs/ruleset.md).
run_probe "dns udp $(hp $RESOLVER4 53) (another resolver) direct" "$st" pass phys dns_c $RESOLVER4

# ---- rogue routes into the protected prefixes, and posers ---------------------------------------
rogue_routes add
for s in "enabled, partial:ks_partial" "blocked, partial:ks_partial_block"; do
	st=${s%%:*} apply=${s#*:}
	leak_pair "udp4 $(hp $PEERHOST4 5000) (peer network) via a rogue route" "$st" "$apply" phys \
		send_c udp $PEERHOST4 5000
	leak_pair "tcp4 $(hp $PEERHOST4B 22) (peer network) via a rogue route" "$st" "$apply" phys \
		send_c tcp $PEERHOST4B 22
	leak_pair "dns udp $(hp $PEERDNS4 53) (--dns) via a rogue route" "$st" "$apply" phys dns_c $PEERDNS4
	leak_pair "dns tcp $(hp $PEERDNS4 53) (--dns) via a rogue route" "$st" "$apply" phys dns_c $PEERDNS4 --tcp
	leak_pair "inbound udp $POSER4 (peer network) -> $(hp $C4 5000)" "$st" "$apply" in \
		send_from_isp udp $C4 5000 --bind-addr $POSER4
	leak_pair "inbound icmp4 $POSER4 (peer network) -> $C4" "$st" "$apply" in ping_from_isp $POSER4 $C4
done
rogue_routes del

# A resolver outside the protected prefixes (a public one the VPN carries for its clients): DNS to
# it never leaves off the tunnel, here by the default route; only the resolver lock stops it.
ks_partial_pubdns() { ks_quiet enable --from-wg "$WGC" --partial --dns $RESOLVER4; }
leak_pair "dns udp $(hp $RESOLVER4 53) (--dns, not protected) off the tunnel" "enabled, partial" \
	ks_partial_pubdns phys dns_c $RESOLVER4
leak_pair "dns tcp $(hp $RESOLVER4 53) (--dns, not protected) off the tunnel" "enabled, partial" \
	ks_partial_pubdns phys dns_c $RESOLVER4 --tcp
ks_partial_pubdns || die "enable failed"
run_probe "dns udp $(hp $RESOLVER6 53) (another resolver) direct" "enabled, partial" pass phys dns_c $RESOLVER6 --aaaa

# ---- blocked: the protected networks stay in, the internet is untouched ------------------------
st="blocked, partial"
leak_pair "icmp4 $PEERDNS4 (peer network) into the closed tunnel" "$st" ks_partial_block tun ping4 $PEERDNS4
leak_pair "udp4 $(hp 192.168.2.1 7) (peer network) into the closed tunnel" "$st" ks_partial_block tun \
	send_c udp 192.168.2.1 7
leak_pair "dns udp $(hp $PEERDNS4 53) (--dns) into the closed tunnel" "$st" ks_partial_block tun dns_c $PEERDNS4
ks_partial_block || die "block --partial failed"
run_probe "tcp4 $(hp $NET4 80) (internet) direct" "$st" pass phys send_c tcp $NET4 80
run_probe "icmp4 $NET4 (internet) direct" "$st" pass phys ping4 $NET4
run_probe "tcp6 $(hp $NET6 80) (internet) direct" "$st" pass phys send_c tcp $NET6 80
check "status: blocked, tunnel: partial" "$st" listed status_has "tunnel: partial"

# ---- --partial needs a protected prefix ---------------------------------------------------------
# The tunnel's own /32 protects nothing, and no --from-wg, no --protect: refused, nothing changed.
ks_partial || die "enable --partial failed"
ruleset_now() { inc nft -s list table inet killswitch; }
refused_unchanged() {
	local before after rc=0 err
	before=$(ruleset_now)
	err=$(ks enable --tunnel "$WGC" --partial --dns $PEERDNS4 2>&1) || rc=$?
	after=$(ruleset_now)
	printf 'rc=%s: %s\n' "$rc" "$err"
	[[ $rc == 2 && $err == *--partial* && $(wc -l <<<"$err") == 1 && $before == "$after" ]]
}
check "enable --tunnel $WGC --partial (a /32 tunnel): exit 2, nothing changed" "enabled, partial" refused \
	refused_unchanged
# A tunnel address with a network: that network is protected, and the same command works.
inc ip addr del $TUN4/32 dev "$WGC"
inc ip addr add $TUN4/24 dev "$WGC"
ks_tunnel_partial() { ks_quiet enable --tunnel "$WGC" --partial --dns $PEERDNS4; }
check "enable --tunnel $WGC --partial (10.66.0.2/24)" "enabled, partial" applied ks_tunnel_partial
check "status: 10.66.0.0/24 (tunnel address of $WGC)" "enabled, partial" listed \
	status_has "10.66.0.0/24 (tunnel address of $WGC)"
inc ip route add 10.66.0.50/32 via $GW4 dev phy0
leak_pair "udp4 $(hp 10.66.0.50 5000) (tunnel network) via a rogue route" "enabled, partial" ks_tunnel_partial phys \
	send_c udp 10.66.0.50 5000
inc ip route del 10.66.0.50/32 via $GW4 dev phy0
# The boot unit's restore (and watch) read the tunnel afresh: when it lost its network, the
# partial policy keeps the one it had instead of being refused (which would leave it open).
ks_quiet enable --tunnel "$WGC" --partial --dns $PEERDNS4 --persist || die "enable --persist failed"
inc ip addr del $TUN4/24 dev "$WGC"
inc ip addr add $TUN4/32 dev "$WGC"
ks_restore() { ks_quiet restore; }
check "restore, $WGC now /32 only: applied" "enabled, partial" applied ks_restore
check "status: 10.66.0.0/24 (tunnel address of $WGC) kept" "enabled, partial" listed \
	status_has "10.66.0.0/24 (tunnel address of $WGC)"
inc ip route add 10.66.0.50/32 via $GW4 dev phy0
leak_pair "udp4 $(hp 10.66.0.50 5000) (the network it had) via a rogue route" "restored, partial" ks_restore phys \
	send_c udp 10.66.0.50 5000
inc ip route del 10.66.0.50/32 via $GW4 dev phy0
lab_finish
