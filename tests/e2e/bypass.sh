#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --bypass and --allow-in (issue 16, part 3; docs/bypass.md). A bypassed /28 leaves directly, with
# the client's own source, under a full tunnel's routing; its neighbours just outside it do not
# leave off the tunnel (routed into it, or refused when a route sends them off it); DNS to a
# bypassed address and a protected prefix inside a bypassed range stay refused; blocked opens no
# bypass. --allow-in 22/tcp accepts a connection to port 22 from the LAN and from the internet (its
# replies routed back off the tunnel), in both states, and nothing on port 23 or on another
# interface. Each refusal has its control (the same probe with the kill switch off gets through),
# each opening its control (the same probe without the flag does not).
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init bypass
lab_up

# The bypassed range 198.51.100.64/28 (.64-.79) and its neighbours, on the ISP's "internet".
IN4=198.51.100.70 EDGE4=198.51.100.79 ABOVE4=198.51.100.80 BELOW4=198.51.100.63 PROT4=198.51.100.73
IN6=$NET6 ABOVE6=2001:db8:100::20 # [2001:db8:100::/123]:80/tcp covers ::0-::1f
for a in $IN4 $EDGE4 $ABOVE4 $BELOW4 $PROT4; do ini ip addr add "$a/32" dev lo; done
ini ip addr add $ABOVE6/128 dev isp0 nodad
BYPASS=(--bypass 198.51.100.64/28 --bypass "[2001:db8:100::/123]:80/tcp")

# Source oracle on the physical link: what reaches the bypassed ranges with the client's own
# addresses, and anything at all with a tunnel source (a rerouted packet left unmasqueraded).
ini nft -f - <<-EOF2
	table netdev bypassoracle {
		counter real {
		}
		counter tunsrc {
		}
		chain ingress {
			type filter hook ingress device "isp0" priority -400; policy accept;
			ip saddr $C4 ip daddr 198.51.100.0/24 counter name real
			ip6 saddr $C6 ip6 daddr 2001:db8:100::/120 counter name real
			ip saddr 10.66.0.0/24 counter name tunsrc
			ip6 saddr fd66::/64 counter name tunsrc
		}
	}
EOF2
# status_says WORD...: `killswitch status --json` and the text status both name each WORD, quoted
# in the JSON (fixed strings: the IPv6 forms hold brackets).
status_says() {
	local json text w
	json=$(ks status --json) text=$(ks status)
	for w; do grep -qF "\"$w\"" <<<"$json" && grep -qF " $w" <<<"$text" || return 1; done
}
real_src() { counter_of netdev bypassoracle real; }
tun_src() { counter_of netdev bypassoracle tunsrc; }

# A second listener in the client, on port 23, so that its control is a real connection.
bg serve-client23 inc "$PYTHON" -S "$LABNET" serve --tcp 23 --ready "$LAB_TMP/serve-client23.ready"
wait_for 10 test -f "$LAB_TMP/serve-client23.ready" || die "the port 23 listener did not start"

# An inbound connection that should be answered: a generous wait (a pass costs no time when it
# works; INBOUND_WAIT is short because blocked probes wait it out, and under load an answered
# connection took longer than that).
accepted_from_isp() { labnet_i send --wait 3 "$@"; }

# direct NAME STATE CMD...: CMD leaves through the physical link and is answered (pass), and what
# the oracle saw there carried the client's own address as source.
direct() {
	local name=$1 state=$2 r0 r1
	shift 2
	r0=$(real_src)
	run_probe "$name" "$state" pass phys "$@"
	r1=$(real_src)
	if ((r1 > r0)); then
		lab_record probe "  ... from $C4/$C6 (not the tunnel's)" "$state" real-src real-src "$((r1 - r0))" 1 ""
	else
		lab_record probe "  ... from $C4/$C6 (not the tunnel's)" "$state" real-src nothing 0 0 "    no packet with the client's source"
	fi
}

table_header

# ---- bypass under a full tunnel's routing (wg-quick: not fwmark -> table 51820 -> tunnel) ----
ks_enable
run_probe "tcp4 $(hp $IN4 80) without --bypass" "enabled (control)" tunnel phys send_c tcp $IN4 80
run_probe "tcp6 $(hp $IN6 80) without --bypass" "enabled (control)" tunnel phys send_c tcp $IN6 80
ks_enable "${BYPASS[@]}"
direct "tcp4 $(hp $IN4 80) (bypassed /28)" enabled send_c tcp $IN4 80
direct "udp4 $(hp $IN4 7) (bypassed /28)" enabled send_c udp $IN4 7
direct "icmp4 $IN4 (bypassed /28)" enabled ping4 $IN4
direct "tcp4 $(hp $EDGE4 443) (last of the /28)" enabled send_c tcp $EDGE4 443
direct "tcp6 $(hp $IN6 80) (bypassed [/123]:80/tcp)" enabled send_c tcp $IN6 80
run_probe "tcp4 $(hp $ABOVE4 80) (neighbour above)" enabled tunnel phys send_c tcp $ABOVE4 80
run_probe "icmp4 $BELOW4 (neighbour below)" enabled tunnel phys ping4 $BELOW4
run_probe "tcp6 $(hp $ABOVE6 80) (neighbour above)" enabled tunnel phys send_c tcp $ABOVE6 80
run_probe "udp6 $(hp $IN6 7) (not the bypassed port)" enabled tunnel phys send_c udp $IN6 7
run_probe "tcp6 $(hp $IN6 22) (not the bypassed port)" enabled tunnel phys send_c tcp $IN6 22
# DNS to a bypassed address stays where it was going (the tunnel) and is refused there too.
leak_pair "dns udp $(hp $IN4 53) (bypassed address)" enabled "ks_enable ${BYPASS[*]}" tun dns_c $IN4
# A protected prefix inside the bypassed range stays in the tunnel.
ks_enable "${BYPASS[@]}" --protect 198.51.100.72/29
run_probe "tcp4 $(hp $PROT4 80) (protected inside bypass)" enabled tunnel phys send_c tcp $PROT4 80
direct "tcp4 $(hp $IN4 80) (bypassed, not protected)" enabled send_c tcp $IN4 80
check "status lists the bypass" enabled listed status_says 198.51.100.64/28 "[2001:db8:100::/123]:80/tcp"

# ---- the filter alone: routes send everything off the tunnel ----
routes_off
ks_enable "${BYPASS[@]}"
direct "tcp4 $(hp $IN4 80) (bypassed, routes off)" enabled send_c tcp $IN4 80
bp="ks_enable ${BYPASS[*]}"
leak_pair "tcp4 $(hp $ABOVE4 80) (neighbour above)" enabled "$bp" phys send_c tcp $ABOVE4 80
leak_pair "icmp4 $BELOW4 (neighbour below)" enabled "$bp" phys ping4 $BELOW4
leak_pair "tcp6 $(hp $ABOVE6 80) (neighbour above)" enabled "$bp" phys send_c tcp $ABOVE6 80
leak_pair "tcp6 $(hp $IN6 22) (not the bypassed port)" enabled "$bp" phys send_c tcp $IN6 22
leak_pair "dns udp $(hp $IN4 53) (bypassed address)" enabled "$bp" phys dns_c $IN4
leak_pair "dns tcp $(hp $IN4 53) (bypassed address)" enabled "$bp" phys dns_c $IN4 --tcp
leak_pair "dns-over-tls tcp $(hp $IN4 853) (bypassed)" enabled "$bp" phys send_c tcp $IN4 853
leak_pair "dns udp $(hp $IN4 53) (--bypass /28:53)" enabled "ks_enable --bypass 198.51.100.64/28:53" phys dns_c $IN4
leak_pair "tcp4 $(hp $PROT4 80) (protected inside bypass)" enabled "$bp --protect 198.51.100.72/29" phys send_c tcp $PROT4 80
leak_pair "tcp4 $(hp $IN4 80) (bypassed, blocked state)" blocked "ks_block ${BYPASS[*]}" phys send_c tcp $IN4 80
routes_tunnel

# ---- --allow-in 22/tcp ----
lan22=(send_from_isp tcp $C4 22 --bind-addr $LANHOST4)
ks_enable
run_probe "inbound tcp $LANHOST4 -> $(hp $C4 22) without --allow-in" "enabled (control)" blocked phys "${lan22[@]}"
ks_enable --allow-in 22/tcp
check "status lists the allow-in" enabled listed status_says 22/tcp
run_probe "inbound tcp $LANHOST4 -> $(hp $C4 22)" "enabled, allow-in 22/tcp" pass phys accepted_from_isp tcp $C4 22 --bind-addr $LANHOST4
run_probe "inbound tcp6 $LANHOST6 -> $(hp $CULA6 22)" "enabled, allow-in 22/tcp" pass phys accepted_from_isp tcp $CULA6 22 --bind-addr $LANHOST6
# From the internet: the reply would take the tunnel's default route without the mangle mark.
run_probe "inbound tcp $NET4 -> $(hp $C4 22)" "enabled, allow-in 22/tcp" pass phys accepted_from_isp tcp $C4 22 --bind-addr $NET4
leak_pair "inbound tcp $LANHOST4 -> $(hp $C4 23)" "enabled, allow-in 22/tcp" "ks_enable --allow-in 22/tcp" phys send_from_isp tcp $C4 23 --bind-addr $LANHOST4
leak_pair "inbound udp $LANHOST4 -> $(hp $C4 5000)" "enabled, allow-in 22/tcp" "ks_enable --allow-in 22/tcp" phys send_from_isp udp $C4 5000 --bind-addr $LANHOST4
ks_block --allow-in 22/tcp
run_probe "inbound tcp $LANHOST4 -> $(hp $C4 22)" "blocked, allow-in 22/tcp" pass phys accepted_from_isp tcp $C4 22 --bind-addr $LANHOST4
leak_pair "inbound tcp $LANHOST4 -> $(hp $C4 23)" "blocked, allow-in 22/tcp" "ks_block --allow-in 22/tcp" phys send_from_isp tcp $C4 23 --bind-addr $LANHOST4
# Only on the interface named: phy0 is not ctr0.
leak_pair "inbound tcp $LANHOST4 -> $(hp $C4 22)" "enabled, allow-in 22/tcp@ctr0" "ks_enable --allow-in 22/tcp@ctr0" phys "${lan22[@]}"

# ---- bypass add|del and allow-in add|del on the running table ----
ks_enable "${BYPASS[@]}"
run_probe "tcp4 $(hp $ABOVE4 80) before bypass add" enabled tunnel phys send_c tcp $ABOVE4 80
ks_quiet bypass add 198.51.100.80/32
direct "tcp4 $(hp $ABOVE4 80) after bypass add .80" enabled send_c tcp $ABOVE4 80
ks_quiet bypass del 198.51.100.80/32
run_probe "tcp4 $(hp $ABOVE4 80) after bypass del .80" enabled tunnel phys send_c tcp $ABOVE4 80
direct "tcp4 $(hp $IN4 80) (the rest of the list kept)" enabled send_c tcp $IN4 80
ks_enable --allow-in 22/tcp
lan23=(send_from_isp tcp $C4 23 --bind-addr $LANHOST4)
run_probe "inbound tcp $LANHOST4 -> $(hp $C4 23) before allow-in add" enabled blocked phys "${lan23[@]}"
ks_quiet allow-in add 23/tcp
run_probe "inbound tcp $LANHOST4 -> $(hp $C4 23) after allow-in add" enabled pass phys accepted_from_isp tcp $C4 23 --bind-addr $LANHOST4
ks_quiet allow-in del 23/tcp
run_probe "inbound tcp $LANHOST4 -> $(hp $C4 23) after allow-in del" enabled blocked phys "${lan23[@]}"
run_probe "inbound tcp $LANHOST4 -> $(hp $C4 22) (the rest kept)" enabled pass phys accepted_from_isp tcp $C4 22 --bind-addr $LANHOST4
# Bad input: exit 2, the ruleset byte-identical.
rules_before=$(inc nft list ruleset)
bad_input() { # bad_input ARGS...: killswitch exits 2 and changes nothing
	local rc=0
	ks "$@" >/dev/null 2>&1 || rc=$?
	((rc == 2)) && [[ $(inc nft list ruleset) == "$rules_before" ]]
}
check "bypass add 198.51.100.0/33 refused" enabled exit-2 bad_input bypass add 198.51.100.0/33
check "bypass add 2001:db8::/48:443 refused (brackets)" enabled exit-2 bad_input bypass add 2001:db8::/48:443
check "allow-in add 22/sctp refused" enabled exit-2 bad_input allow-in add 22/sctp
check "allow-in add 22@$WGC refused (a tunnel)" enabled exit-2 bad_input allow-in add "22@$WGC"

# ---- under watch: the guard table takes the change too (else it would drop what the table allows) ----
ks_enable "${BYPASS[@]}"
watch_start bypass-watch.log
ks_quiet bypass add 198.51.100.80/32
check "the guard's bypass4 holds the added .80" watched listed bash -c "ip netns exec $NS_C nft list set inet $GUARD bypass4 | grep -q 198.51.100.80"
direct "tcp4 $(hp $ABOVE4 80) after bypass add, under watch" watched send_c tcp $ABOVE4 80
ks_quiet bypass del 198.51.100.80/32
run_probe "tcp4 $(hp $ABOVE4 80) after bypass del, under watch" watched tunnel phys send_c tcp $ABOVE4 80
watch_stop

n=$(tun_src)
if ((n == 0)); then
	lab_record probe "tunnel sources on the physical link, all probes" all none none 0 1 ""
else
	lab_record probe "tunnel sources on the physical link, all probes" all none LEAK "$n" 0 "    $n packets with a tunnel source left by phy0"
fi
lab_finish
