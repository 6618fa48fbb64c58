#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `--from-wg IFACE`: the kill switch reads the tunnel, the endpoints and the fwmark from the
# WireGuard device itself (here wireguard-go's UAPI socket), and the same leak probes pass as with
# explicit flags (states.sh, dns.sh):
#   killswitch enable --from-wg wg0 --dns 10.66.0.1
# Also: the endpoints read are the ones `wg show IFACE endpoints` lists; a device without a fwmark
# is refused (exit 2, naming `wg set ... fwmark`) unless --fwmark none is given; roaming endpoints
# are followed by re-running the command, or by `killswitch endpoint add`.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init fromwg
lab_up
table_header

fromwg() { ks_quiet enable --from-wg "$WGC" --dns "$VPNDNS4" "$@"; }
# policy_of: the policy object of `killswitch status --json`, normalised for comparison.
policy_of() {
	ks status --json | "$PYTHON" -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["policy"], sort_keys=True))'
}
endpoints_of_status() {
	ks status --json | "$PYTHON" -c 'import json, sys; print("\n".join(sorted(json.load(sys.stdin)["policy"]["endpoints"])))'
}
# What `wg show IFACE endpoints` lists, as killswitch writes endpoints (ADDR:PORT/udp, sorted).
endpoints_of_wg() {
	inc wg show "$WGC" endpoints | awk '$2 != "(none)" { print $2 "/udp" }' | sort
}
same_endpoints() { diff <(endpoints_of_wg) <(endpoints_of_status); }
status_endpoints_are() { diff <(printf '%s\n' "$@" | sort) <(endpoints_of_status); }
same_compile() {
	diff <(ks compile --from-wg "$WGC" --dns "$VPNDNS4") \
		<(ks compile --tunnel "$WGC" --endpoint "$ENDPOINT" --fwmark "$FWMARK" --dns "$VPNDNS4")
}
same_policy_as_flags() {
	local a b
	fromwg && a=$(policy_of)
	ks_quiet enable --tunnel "$WGC" --endpoint "$ENDPOINT" --dns "$VPNDNS4" && b=$(policy_of)
	fromwg
	[[ -n $a && $a == "$b" ]] || {
		printf 'from-wg: %s\nflags:   %s\n' "$a" "$b"
		return 1
	}
}

# ---- what is read from the device ----------------------------------------------------------------
check "compile --from-wg = compile with explicit flags" - identical same_compile
check "enable --from-wg: same policy as explicit flags" enabled identical same_policy_as_flags
check "status: tunnel, endpoint, fwmark read from $WGC" enabled read ks_status_lists "$WGC" "$ENDPOINT/udp" "$FWMARK"
# More peers: one with an IPv6 endpoint, one with another IPv4 endpoint, one without any. They
# carry no traffic (no keepalive, allowed IPs nobody uses), so they send nothing.
PEERS=()
for ep in "[$NET6]:51821" "$NET4B:51822" ""; do
	key=$(wg genkey | wg pubkey)
	PEERS+=("$key")
	inc wg set "$WGC" peer "$key" ${ep:+endpoint "$ep"} allowed-ips "10.255.${#PEERS[@]}.0/24"
done
fromwg
check "endpoints = wg show $WGC endpoints (3 peers with one)" enabled identical same_endpoints
status_has_endpoint() { grep -qxF "$1" <<<"$(endpoints_of_status)"; }
check "status lists [$NET6]:51821/udp" enabled listed status_has_endpoint "[$NET6]:51821/udp"
for key in "${PEERS[@]}"; do inc wg set "$WGC" peer "$key" remove; done
fromwg
check "endpoints = wg show $WGC endpoints (peers removed)" enabled identical same_endpoints

# ---- the leak probes of states.sh and dns.sh, enabled with --from-wg --------------------------
fromwg
probes_through_tunnel "enabled (from-wg)"
run_probe "dns udp $(hp $VPNDNS4 53) (allowed) through the tunnel" "enabled (from-wg)" tunnel phys dns_c $VPNDNS4
check "WireGuard handshake to $ENDPOINT" "enabled (from-wg)" completes handshake_completes 8
leak_pair "dns udp $(hp $RESOLVER4 53) in the tunnel" "enabled (from-wg)" fromwg tun dns_c $RESOLVER4
leak_pair "dns tcp $(hp $RESOLVER6 53) in the tunnel" "enabled (from-wg)" fromwg tun dns_c $RESOLVER6 --tcp --aaaa
leak_pair "ping -I phy0 $NET4" "enabled (from-wg)" fromwg phys ping4 -I phy0 $NET4
leak_pair "udp4 $(hp $NET4 3478) STUN bound to phy0" "enabled (from-wg)" fromwg phys send_c udp $NET4 3478 --stun --bind-dev phy0
routes_off
for t in "tcp4 $(hp $NET4 80)|send_c tcp $NET4 80" "udp4 $(hp $NET4 7)|send_c udp $NET4 7" \
	"icmp4 $NET4|ping4 $NET4" "tcp6 $(hp $NET6 80)|send_c tcp $NET6 80" \
	"udp6 $(hp $NET6 7)|send_c udp $NET6 7" "icmp6 $NET6|ping6 $NET6" \
	"dns udp $(hp $RESOLVER4 53)|dns_c $RESOLVER4" "udp4 $(hp $EP4 $EP_PORT) (the server, unmarked)|send_c udp $EP4 $EP_PORT --wait 0.3"; do
	name=${t%%|*} cmd=${t#*|}
	# shellcheck disable=SC2086
	leak_pair "$name" "from-wg, routes lost" fromwg phys $cmd
done
routes_tunnel

# The connecting state from the device: block --from-wg keeps its endpoints exempt.
ks_quiet block --from-wg "$WGC"
check "block --from-wg: connecting, endpoint exempt" connecting blocked ks_status_lists blocked "$ENDPOINT/udp"
check "WireGuard handshake to $ENDPOINT" "connecting (from-wg)" completes handshake_completes 8

# ---- roaming: the endpoint changes, the kill switch follows when the command is re-run ---------
# The oracle lets the handshakes to the server's second address through, as it does for the first.
ini nft insert rule netdev oracle ingress meta protocol ip ip daddr $NET4B udp dport $EP_PORT \
	@th,64,32 '{ 0x01000000, 0x02000000, 0x03000000, 0x04000000 }' counter name wireguard accept
ROAM=$NET4B:$EP_PORT
roam_to() {
	inc wg set "$WGC" peer "$SKEY_PUB" remove
	inc wg set "$WGC" peer "$SKEY_PUB" endpoint "$1" allowed-ips 0.0.0.0/0,::/0 persistent-keepalive 25
}
handshake_with() { roam_to "$1" && wait_handshake "$2"; }
handshake_fails_with() { roam_to "$1" && ! wait_handshake "$2"; }
ks_disable
check_control "WireGuard handshake to $ROAM (roamed)" "disabled (control)" completes handshake_with "$ROAM" 8
# Enabled while the device still had the old endpoint; then the peer roams.
roam_to "$ENDPOINT"
fromwg
check "WireGuard handshake to $ROAM (roamed)" "enabled (from-wg)" fails handshake_fails_with "$ROAM" 3
check "killswitch endpoint add $ROAM" enabled added ks_quiet endpoint add "$ROAM"
check "WireGuard handshake to $ROAM (roamed)" "enabled + endpoint add" completes handshake_with "$ROAM" 8
fromwg
check "re-run enable --from-wg: endpoints = [$ROAM]" "enabled (from-wg)" identical status_endpoints_are "$ROAM/udp"
check "WireGuard handshake back to $ENDPOINT" "enabled (from-wg, stale)" fails handshake_fails_with "$ENDPOINT" 3
fromwg
check "re-run enable --from-wg: endpoints = [$ENDPOINT]" "enabled (from-wg)" identical status_endpoints_are "$ENDPOINT/udp"
check "WireGuard handshake to $ENDPOINT" "enabled (from-wg)" completes handshake_completes 8

# ---- a device without a fwmark ------------------------------------------------------------------
# Refused, with the fix named; nothing changes. With --fwmark none it works, scoped by address.
inc wg set "$WGC" fwmark 0
refused_without_fwmark() {
	local out rc=0 before
	before=$(policy_of)
	out=$(ks enable --from-wg "$WGC" --dns "$VPNDNS4" 2>&1) || rc=$?
	printf 'rc=%s: %s\n' "$rc" "$out"
	((rc == 2)) && [[ $out == *"wg set "*fwmark* ]] && [[ $(policy_of) == "$before" ]]
}
check "enable --from-wg, device without fwmark" enabled "exit 2" refused_without_fwmark
# Without a fwmark its own packets would follow the tunnel's routing: a route to the server via
# the physical gateway, as clients without policy routing install.
inc ip route add $EP4/32 via $GW4 dev phy0
nomark() { fromwg --fwmark none; }
check "enable --from-wg --fwmark none" enabled applied nomark
status_says() { ks status | grep -F "$1"; }
fwmark_null() { policy_of | grep -F '"fwmark": null'; }
check "status: endpoints scoped by address only" enabled said \
	status_says "fwmark: none (endpoints scoped by address, port and protocol only)"
check "status --json: fwmark null" enabled null fwmark_null
check "WireGuard handshake to $ENDPOINT (unmarked)" "enabled (fwmark none)" completes handshake_completes 8
run_probe "icmp4 $NET4 through the tunnel" "enabled (fwmark none)" tunnel phys ping4 $NET4
leak_pair "tcp4 $(hp $EP4 80) (server address, other port)" "enabled (fwmark none)" nomark phys send_c tcp $EP4 80
leak_pair "udp4 $(hp $EP4 7) (server address, other port)" "enabled (fwmark none)" nomark phys send_c udp $EP4 7
routes_off
leak_pair "tcp4 $(hp $NET4 80)" "fwmark none, routes lost" nomark phys send_c tcp $NET4 80
leak_pair "icmp6 $NET6" "fwmark none, routes lost" nomark phys ping6 $NET6
lab_finish
