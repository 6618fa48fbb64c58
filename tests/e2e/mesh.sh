#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Two tunnels (issue 14, part 4): a mesh VPN (a tailscale0 with 100.64.0.0/10) beside the main,
# full tunnel (0.0.0.0/0, ::/0), both wireguard-go, both read with --from-wg:
#   killswitch enable --from-wg wg0 --from-wg mesh0 --dns 10.66.0.1
# Each tunnel's protected prefixes leave only through that tunnel:
#   * the mesh and the internet each work through their own tunnel;
#   * the main tunnel down (its link down, its routes gone): the mesh keeps working, the internet
#     leaks nothing off the tunnel;
#   * nothing leaks off both: a rogue route sends the mesh prefix out of the physical link, or
#     into the main tunnel (whose server would see the mesh's traffic), and nothing arrives;
#     the main VPN's server posing as a mesh node gets nothing delivered.
# Controls: each leak probe again with the kill switch disabled; the misroute into the main
# tunnel and the poser also with the kill switch on but the mesh prefix paired with both tunnels
# (what a single protected set allowed before: any tunnel).
# The mesh's server sits in the container namespace, behind ctr0: its encrypted traffic never
# crosses the physical link, so the oracle there sees only leaks.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init mesh
lab_up
table_header

MESHNET4=100.64.0.0/10 MESH_C=100.64.0.2 MESH_S=100.64.0.1 MESH_POSER=100.64.0.9
MESH_EP=$CTR4:41641

# The mesh: a server in the container namespace, the client's second tunnel (same fwmark).
umask 077
wg genkey >"$LAB_TMP/mc.key"
wg genkey >"$LAB_TMP/ms.key"
umask 022
MC_PUB=$(wg pubkey <"$LAB_TMP/mc.key") MS_PUB=$(wg pubkey <"$LAB_TMP/ms.key")
start_wireguard "$NS_N" "$WGM"
inn wg set "$WGM" private-key "$LAB_TMP/ms.key" listen-port 41641 peer "$MC_PUB" allowed-ips $MESH_C/32
inn ip addr add $MESH_S/10 dev "$WGM"
inn ip link set "$WGM" up
inn nft -f - <<-EOF
	table inet meshoracle {
		counter seen {
		}
		chain pre {
			type filter hook prerouting priority -500; policy accept;
			iifname "$WGM" counter name seen
		}
	}
EOF
start_wireguard "$NS_C" "$WGQ"
inc wg set "$WGQ" private-key "$LAB_TMP/mc.key" fwmark $FWMARK \
	peer "$MS_PUB" endpoint "$MESH_EP" allowed-ips $MESHNET4 persistent-keepalive 25
inc ip addr add $MESH_C/32 dev "$WGQ"
inc ip link set "$WGQ" up
inc ip route add $MESHNET4 dev "$WGQ"
wait_for 10 eval '[[ $(inc wg show "$WGQ" latest-handshakes | awk "{print \$2}") != 0 ]]' ||
	die "the mesh handshake did not complete"
# The main VPN's server holds an address in the mesh range, to pose as a mesh node.
ini ip addr add $MESH_POSER/32 dev lo
delivery_oracle_install c

ks_two() { ks_quiet enable --from-wg "$WGC" --from-wg "$WGQ" --dns "$VPNDNS4"; }
# The ruleset before per-tunnel pairs: the mesh prefix allowed through any tunnel.
widen_pairs() {
	ks_two && inc nft add element inet killswitch protected_via4 "{ \"$WGC\" . $MESHNET4 }"
}
oracle_mesh() { inn nft list counter inet meshoracle seen | awk '$1 == "packets" { print $2; exit }'; }
# via_mesh CMD...: CMD succeeds, through the mesh, and nothing moves on the physical link.
via_mesh() {
	local m0 p0
	m0=$(oracle_mesh) p0=$(oracle_phys)
	"$@" || return 1
	sleep "$SETTLE"
	(($(oracle_mesh) > m0 && $(oracle_phys) == p0))
}

ks_two || die "enable with two tunnels failed"
status_has() { [[ $(ks status) == *"$1"* ]]; }
check "status: $MESHNET4 (allowed IPs of $WGQ) via $WGQ" "enabled, two tunnels" listed \
	status_has "$MESHNET4 (allowed IPs of $WGQ) via $WGQ"
check "status: tunnels $WGC $WGQ" "enabled, two tunnels" listed ks_status_lists "$WGC" "$WGQ"

# ---- both tunnels up ------------------------------------------------------------------------
st="enabled, two tunnels"
check "icmp4 $MESH_S through the mesh" "$st" mesh via_mesh ping4 $MESH_S
probes_through_tunnel "$st"

# Nothing off both: the mesh prefix out of the physical link, or into the main tunnel.
inc ip route add $MESH_S/32 via $GW4 dev phy0
leak_pair "icmp4 $MESH_S (mesh) via a rogue route to the LAN" "$st" ks_two phys ping4 $MESH_S
leak_pair "udp4 $(hp $MESH_S 5000) (mesh) via a rogue route to the LAN" "$st" ks_two phys send_c udp $MESH_S 5000
inc ip route del $MESH_S/32 via $GW4 dev phy0
inc ip route add $MESH_S/32 dev "$WGC"
leak_pair "icmp4 $MESH_S (mesh) routed into $WGC" "$st" ks_two tun ping4 $MESH_S
leak_pair "udp4 $(hp $MESH_S 5000) (mesh) routed into $WGC" "$st" ks_two tun send_c udp $MESH_S 5000
widen_pairs || die "cannot widen the pairs"
run_probe "icmp4 $MESH_S (mesh) routed into $WGC" "enabled, pairs widened (control)" leak tun ping4 $MESH_S
inc ip route del $MESH_S/32 dev "$WGC"
# The main VPN's server posing as a mesh node, through the main tunnel.
poser() { ini "$PYTHON" -S "$LABNET" send --wait "$INBOUND_WAIT" udp $TUN4 5000 --bind-addr $MESH_POSER; }
leak_pair "inbound udp $MESH_POSER (mesh) via $WGC -> $(hp $TUN4 5000)" "$st" ks_two in poser
widen_pairs || die "cannot widen the pairs"
run_probe "inbound udp $MESH_POSER (mesh) via $WGC -> $(hp $TUN4 5000)" "enabled, pairs widened (control)" leak in poser

# ---- the main tunnel down: the mesh keeps working, nothing leaks ---------------------------------
st="enabled, $WGC down"
ks_two || die "enable with two tunnels failed"
inc ip link set "$WGC" down
check "icmp4 $MESH_S through the mesh" "$st" mesh via_mesh ping4 $MESH_S
leak_pair_public "$st" ks_two "(main tunnel down)" "(main tunnel down)"
leak_pair "dns udp $(hp $VPNDNS4 53) (main tunnel down)" "$st" ks_two phys dns_c $VPNDNS4
inc ip route add $MESH_S/32 via $GW4 dev phy0
leak_pair "icmp4 $MESH_S (mesh) via a rogue route to the LAN" "$st" ks_two phys ping4 $MESH_S
inc ip route del $MESH_S/32 via $GW4 dev phy0
ks_two || die "enable with two tunnels failed"
check "icmp4 $MESH_S through the mesh, after all that" "$st" mesh via_mesh ping4 $MESH_S
inc ip link set "$WGC" up
routes_tunnel
lab_finish
