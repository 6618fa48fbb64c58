#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Protected prefixes (issue 14, part 1): the VPN's own networks never leave off the tunnel.
# The client's tunnel carries 10.66.0.2/24 and fd66::2/64 (so 10.66.0.0/24 and fd66::/64 are its
# networks), its WireGuard peer also routes 10.10.13.0/24 (read with --from-wg), and the policy
# names 172.20.0.0/16 with --protect. Each is inside a range --allow-lan allows (10/8, 172.16/12,
# fc00::/7). A rogue route on the client (what a DHCP option 121 or RA route installs) sends one
# address of each out of the physical interface to the LAN: nothing may leave, enabled and
# blocked, with --allow-lan and without. Inbound, a LAN host posing as one of them gets nothing
# delivered. The tunnel's own network still works through the tunnel.
# Controls: the same probes with the protected set emptied by hand (the ruleset before this
# feature, --allow-lan) leak, outbound and inbound.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init protect
lab_up
table_header

PEERNET4=10.10.13.0/24 PEERHOST4=10.10.13.5
GIVEN=172.20.0.0/16 GIVENHOST4=172.20.1.1
ROGUE4=10.66.0.50 ROGUE6=fd66::50 POSER4=10.66.0.77 POSER6=fd66::77

# The VPN's networks: the tunnel addresses with their prefixes, and a peer network.
inc ip addr del $TUN4/32 dev "$WGC"
inc ip addr add $TUN4/24 dev "$WGC"
inc ip addr del $TUN6/128 dev "$WGC"
inc ip addr add $TUN6/64 dev "$WGC" nodad
inc wg set "$WGC" peer "$SKEY_PUB" allowed-ips 0.0.0.0/0,::/0,$PEERNET4
# The posers live on the LAN side, in the ISP namespace.
ini ip addr add $POSER4/32 dev isp0
ini ip addr add $POSER6/128 dev isp0 nodad
delivery_oracle_install c

# Rogue routes, as a DHCP or RA attacker installs them: more specific than anything else.
rogue_routes() { # rogue_routes add|del
	inc ip route "$1" $ROGUE4/32 via $GW4 dev phy0
	inc ip route "$1" $PEERHOST4/32 via $GW4 dev phy0
	inc ip route "$1" $GIVENHOST4/32 via $GW4 dev phy0
	inc ip -6 route "$1" $ROGUE6/128 via $GW6LL dev phy0
}

ks_wg() { ks_quiet enable --from-wg "$WGC" --dns "$KS_DNS" --protect $GIVEN "$@"; }
ks_wg_block() { ks_quiet block --tunnel "$WGC" --protect $GIVEN --protect $PEERNET4 "$@"; }
# The ruleset before this feature: nothing in the protected sets.
unprotect() {
	inc nft flush set inet killswitch protected4
	inc nft flush set inet killswitch protected6
}

ks_wg --allow-lan || die "enable failed"
status_has() { [[ $(ks status) == *"$1"* ]]; }
check "status: 10.66.0.0/24 (tunnel address of $WGC)" "enabled, allow-lan" listed \
	status_has "10.66.0.0/24 (tunnel address of $WGC)"
check "status: fd66::/64 (tunnel address of $WGC)" "enabled, allow-lan" listed \
	status_has "fd66::/64 (tunnel address of $WGC)"
check "status: $PEERNET4 (allowed IPs of $WGC)" "enabled, allow-lan" listed \
	status_has "$PEERNET4 (allowed IPs of $WGC)"
check "status: $GIVEN (--protect)" "enabled, allow-lan" listed status_has "$GIVEN (--protect)"
check "status: not 0.0.0.0/0 (a full tunnel's allowed IPs)" "enabled, allow-lan" listed \
	not status_has "0.0.0.0/0 ("

# The tunnel's network through the tunnel, rogue routes or not.
rogue_routes add
run_probe "icmp4 $VPNDNS4 (the tunnel's network) through the tunnel" "enabled, allow-lan" tunnel phys ping4 $VPNDNS4
run_probe "icmp6 $VPNDNS6 (the tunnel's network) through the tunnel" "enabled, allow-lan" tunnel phys ping6 $VPNDNS6

out_probes() { # out_probes STATE EXPECT
	run_probe "udp4 $(hp $ROGUE4 5000) (tunnel network) via a rogue route" "$1" "$2" phys send_c udp $ROGUE4 5000
	run_probe "tcp4 $(hp $ROGUE4 22) (tunnel network) via a rogue route" "$1" "$2" phys send_c tcp $ROGUE4 22
	run_probe "icmp6 $ROGUE6 (tunnel network, ULA) via a rogue route" "$1" "$2" phys ping6 $ROGUE6
	run_probe "udp4 $(hp $PEERHOST4 5000) (peer's allowed IPs) via a rogue route" "$1" "$2" phys \
		send_c udp $PEERHOST4 5000
	run_probe "udp4 $(hp $GIVENHOST4 5000) (--protect) via a rogue route" "$1" "$2" phys send_c udp $GIVENHOST4 5000
}
in_probes() { # in_probes STATE EXPECT
	run_probe "inbound udp $POSER4 (tunnel network) -> $(hp $C4 5000)" "$1" "$2" in \
		send_from_isp udp $C4 5000 --bind-addr $POSER4
	run_probe "inbound icmp4 $POSER4 (tunnel network) -> $C4" "$1" "$2" in ping_from_isp $POSER4 $C4
	run_probe "inbound icmp6 $POSER6 (tunnel network) -> $CULA6" "$1" "$2" in ping6_from_isp $POSER6 $CULA6
}

for st in "enabled, allow-lan:ks_wg --allow-lan" "enabled:ks_wg" "blocked, allow-lan:ks_wg_block --allow-lan" \
	"blocked:ks_wg_block" "connecting, allow-lan:ks_wg_block --allow-lan --endpoint $ENDPOINT"; do
	state=${st%%:*} apply=${st#*:}
	$apply || die "$apply failed"
	out_probes "$state" blocked
	[[ $state != *allow-lan* ]] || in_probes "$state" blocked
done

# The controls: --allow-lan with the protected sets emptied lets all of it out, and in.
ks_wg --allow-lan || die "enable failed"
unprotect
out_probes "enabled, allow-lan, sets emptied (control)" leak
in_probes "enabled, allow-lan, sets emptied (control)" leak
rogue_routes del
lab_finish
