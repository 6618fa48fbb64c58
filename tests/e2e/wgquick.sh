#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A real client: wg-quick with the userspace implementation (wireguard-go), and the kill switch
# in its PostUp/PreDown hooks, as docs/integrations.md shows them:
#   FwMark  = 0xca6c                                   (marked from the first handshake on)
#   PostUp  = killswitch enable --tunnel %i --endpoint SERVER:PORT --dns RESOLVER
#   PreDown = killswitch block --endpoint SERVER:PORT  (stay blocked while the VPN is down)
# or PostUp = killswitch enable --from-wg %i --dns RESOLVER, PreDown = killswitch block --from-wg %i
# or PreDown = killswitch disable                      (let traffic go when the VPN is down)
# After a blocking PreDown only an explicit `killswitch disable` opens the host.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init wgquick
lab_require wg-quick
lab_up --no-client-wg
table_header

export WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go
ksenv="KILLSWITCH_RUNDIR=$LAB_TMP/run KILLSWITCH_CONFDIR=$LAB_TMP/conf"

write_conf() { # write_conf DIR POSTUP PREDOWN [EXTRA-INTERFACE-LINE]
	mkdir -p "$1"
	(
		umask 077
		cat >"$1/$WGQ.conf" <<-CONF
			[Interface]
			PrivateKey = $(<"$LAB_TMP/c.key")
			Address = $TUN4/32, $TUN6/128
			${4:-}
			PostUp = $ksenv $KILLSWITCH $2
			PreDown = $ksenv $KILLSWITCH $3

			[Peer]
			PublicKey = $SKEY_PUB
			Endpoint = $ENDPOINT
			AllowedIPs = 0.0.0.0/0, ::/0
			PersistentKeepalive = 25
		CONF
	)
}
postup="enable --tunnel %i --endpoint $ENDPOINT --dns $VPNDNS4"
# The documented recipe: FwMark, enable on PostUp, stay blocked (connecting) on PreDown.
write_conf "$LAB_TMP/recipe" "$postup" "block --endpoint $ENDPOINT" "FwMark = $FWMARK"
# The same without FwMark: wg-quick sets the fwmark only after the interface is up, so the first
# handshake leaves unmarked and the connecting state (endpoint exempt for marked packets only)
# rejects it; wireguard-go retries 5 s later. No leak, a slower connect.
write_conf "$LAB_TMP/no-fwmark" "$postup" "block --endpoint $ENDPOINT"
# Everything read from the device: tunnel, endpoints, fwmark.
write_conf "$LAB_TMP/from-wg" "enable --from-wg %i --dns $VPNDNS4" "block --from-wg %i" "FwMark = $FWMARK"
# The other mode: open the host when the VPN goes down.
write_conf "$LAB_TMP/open-on-down" "$postup" "disable" "FwMark = $FWMARK"

wgq() { inc wg-quick "$@" >>"$LAB_TMP/wg-quick.log" 2>&1; }
wgq_handshake() {
	local t
	t=$(inc wg show "$WGQ" latest-handshakes | awk '{print $2}')
	[[ -n $t && $t != 0 ]]
}
# The same enable the PostUp hook runs (for re-applying after a control).
hook_enable() { ks_quiet enable --tunnel "$WGQ" --endpoint "$ENDPOINT" --dns "$VPNDNS4"; }

# Boot: blocked with the endpoint exempt (connecting), then the VPN comes up through it.
ks_connecting
check "wg-quick up (the recipe: FwMark, PostUp enable)" connecting up wgq up "$LAB_TMP/recipe/$WGQ.conf"
check "WireGuard handshake within 2 s" enabled completes wait_for 2 wgq_handshake
check "the hook enabled the kill switch on $WGQ" enabled enabled ks_status_lists enabled "$WGQ" $TUN4 $TUN6
check "wg-quick set fwmark 0xca6c" enabled 0xca6c bash -c "ip netns exec $NS_C wg show $WGQ fwmark | grep -qx 0xca6c"
run_probe "tcp4 $(hp $NET4 80) through the tunnel" enabled tunnel phys send_c tcp $NET4 80
run_probe "udp6 $(hp $NET6 7) through the tunnel" enabled tunnel phys send_c udp $NET6 7
run_probe "dns udp $(hp $VPNDNS4 53) through the tunnel" enabled tunnel phys dns_c $VPNDNS4
# Leaks past wg-quick's routing, with the hook's own table first, then re-applied after each control.
leak_pair "ping -I phy0 $NET4" "enabled (PostUp)" true phys ping4 -I phy0 $NET4
leak_pair "ping -6 -I phy0 $NET6" "enabled (PostUp)" hook_enable phys ping6 -I phy0 $NET6
leak_pair "udp4 $(hp $NET4 3478) STUN bound to phy0" "enabled (PostUp)" hook_enable phys send_c udp $NET4 3478 --stun --bind-dev phy0
leak_pair "dns udp $(hp $RESOLVER4 53) in the tunnel" "enabled (PostUp)" hook_enable tun dns_c $RESOLVER4
inc ip route add 198.51.100.0/25 via $GW4 dev phy0
leak_pair "tcp4 $(hp $NET4 80) via a /25 route" "enabled (PostUp)" hook_enable phys send_c tcp $NET4 80
inc ip route del 198.51.100.0/25 via $GW4 dev phy0

# wg-quick down with PreDown = block --endpoint: the routing is gone, nothing may leave.
hook_enable
check "wg-quick down (PreDown: killswitch block)" enabled down wgq down "$LAB_TMP/recipe/$WGQ.conf"
check "the hook left the kill switch connecting" connecting blocked ks_status_lists blocked $ENDPOINT/udp
check "$WGQ is gone" connecting gone not inc ip link show "$WGQ"
for t in "tcp4 $(hp $NET4 80)|send_c tcp $NET4 80" "udp4 $(hp $NET4 7)|send_c udp $NET4 7" \
	"icmp4 $NET4|ping4 $NET4" "icmp6 $NET6|ping6 $NET6" "dns udp $(hp $RESOLVER4 53)|dns_c $RESOLVER4"; do
	name=${t%%|*} cmd=${t#*|}
	# shellcheck disable=SC2086
	leak_pair "$name after wg-quick down" "connecting (PreDown)" ks_connecting phys $cmd
done

# Without FwMark: the first handshake is rejected, the retry 5 s later goes through.
ks_connecting
t0=$SECONDS
check "wg-quick up (no FwMark)" connecting up wgq up "$LAB_TMP/no-fwmark/$WGQ.conf"
check "WireGuard handshake within 12 s (the retry)" enabled completes wait_for 12 wgq_handshake
log "first handshake without FwMark after $((SECONDS - t0)) s"
run_probe "icmp4 $NET4 through the tunnel" enabled tunnel phys ping4 $NET4
check "wg-quick down (PreDown: killswitch block)" enabled down wgq down "$LAB_TMP/no-fwmark/$WGQ.conf"
run_probe "icmp4 $NET4 after wg-quick down" "connecting (PreDown)" blocked phys ping4 $NET4
# Only an explicit disable opens the host.
check "killswitch disable" connecting disabled ks_disable
check "status: inactive" disabled inactive ks_inactive
run_probe "icmp4 $NET4 out of phy0 after disable" disabled pass phys ping4 $NET4

# --from-wg in both hooks: the endpoints come from the device, at PostUp and at PreDown.
fromwg_enable() { ks_quiet enable --from-wg "$WGQ" --dns "$VPNDNS4"; }
ks_connecting
check "wg-quick up (PostUp: enable --from-wg %i)" connecting up wgq up "$LAB_TMP/from-wg/$WGQ.conf"
check "WireGuard handshake within 2 s" enabled completes wait_for 2 wgq_handshake
check "the hook read $WGQ: tunnel, endpoint, fwmark" enabled enabled ks_status_lists enabled "$WGQ" "$ENDPOINT/udp" "$FWMARK" $TUN4
run_probe "icmp6 $NET6 through the tunnel" enabled tunnel phys ping6 $NET6
leak_pair "ping -I phy0 $NET4" "enabled (PostUp from-wg)" true phys ping4 -I phy0 $NET4
leak_pair "dns udp $(hp $RESOLVER4 53) in the tunnel" "enabled (PostUp from-wg)" fromwg_enable tun dns_c $RESOLVER4
fromwg_enable
check "wg-quick down (PreDown: block --from-wg %i)" enabled down wgq down "$LAB_TMP/from-wg/$WGQ.conf"
check "the hook left the kill switch connecting" connecting blocked ks_status_lists blocked "$ENDPOINT/udp" "$WGQ"
leak_pair "tcp4 $(hp $NET4 80) after wg-quick down" "connecting (PreDown from-wg)" true phys send_c tcp $NET4 80

# The other mode: PreDown = disable lets everything go when the VPN goes down.
ks_connecting
check "wg-quick up (PreDown = disable)" connecting up wgq up "$LAB_TMP/open-on-down/$WGQ.conf"
check "WireGuard handshake within 2 s" enabled completes wait_for 2 wgq_handshake
run_probe "icmp6 $NET6 through the tunnel" enabled tunnel phys ping6 $NET6
check "wg-quick down (PreDown: killswitch disable)" enabled down wgq down "$LAB_TMP/open-on-down/$WGQ.conf"
check "the hook disabled the kill switch" disabled inactive ks_inactive
run_probe "icmp4 $NET4 out of phy0 (no VPN, no kill switch)" disabled pass phys ping4 $NET4
lab_finish
