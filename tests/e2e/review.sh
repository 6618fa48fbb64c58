#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Findings of the security review (issue 11) about the rules themselves, each written as the
# correct behaviour; each failed on the compiler before its fix. Every leak probe has a control,
# which puts the rule back as it was before the fix (or takes the kill switch away) and must
# show the probe able to see the leak. Finding 4 (excluded programs in the connecting state)
# needs cgroups: tests/split/split.sh.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init review
lab_require dnsmasq busybox
lab_up
table_header

# Oracle on the ISP side: resets and ICMP errors from the client, off the tunnel or out of it.
ini nft -f - <<-EOF
	table inet refusals {
		counter rst {
		}
		counter unreach {
		}
		chain pre {
			type filter hook prerouting priority -450; policy accept;
			iifname { "isp0", "$WGS" } tcp flags & rst == rst counter name rst
			iifname { "isp0", "$WGS" } icmp type destination-unreachable counter name unreach
		}
	}
EOF
rst_count() { counter_of inet refusals rst; }
unreach_count() { counter_of inet refusals unreach; }

# counted NAME STATE EXPECT COUNTER CMD...: EXPECT blocked: COUNTER (a function printing a packet
# count) did not move while CMD ran; leak or reached: it moved (leak marks a control). CMD must
# succeed: it fails when the scene it sets up did not happen.
counted() {
	local name=$1 state=$2 expect=$3 counter=$4 c0 d rc=0 out seen ok=0 kind=probe
	shift 4
	c0=$($counter)
	out=$("$@" 2>&1) || rc=$?
	sleep "$SETTLE"
	d=$(($($counter) - c0))
	case $expect in
	blocked) if ((d == 0)); then seen=nothing ok=1; else seen=LEAK; fi ;;
	leak | reached) if ((d > 0)); then seen=$expect ok=1; else seen=nothing; fi ;;
	*) die "counted: bad expectation $expect" ;;
	esac
	((rc == 0)) || seen=no-scene ok=0
	[[ $expect != leak && $state != *control* ]] || kind=control
	lab_record "$kind" "$name" "$state" "$expect" "$seen" "$d" "$ok" \
		"$(printf '    command: %s\n    rc=%s output: %s' "$*" "$rc" "${out//$'\n'/ | }")"
}

# 7. The accepts that let the forward chain's resets and ICMP errors out took any RST or ICMP
# of a refused connection, in either direction. When the refused packet is a reply (the server
# answering a container's connection after the state changed to connecting), the kernel's reset
# or error goes toward the server: related, but in the original direction. It entered the closed
# tunnel, or (routes lost) left through the physical link with the tunnel's address.
ks_connecting_tun() { ks_connecting --tunnel "$WGC"; }
fwd_refused() { inc nft list counter inet killswitch blocked_fwd | awk '$1 == "packets" { print $2; exit }'; }
fwd_refused_since() { (($(fwd_refused) > $1)); }
# The connecting table with RULE at the head of output, as the rule was before the fix; in one
# transaction, as killswitch applies it.
connecting_before_fix() { # connecting_before_fix RULE
	local text
	text=$(ks compile --state blocked --tunnel "$WGC" --endpoint "$ENDPOINT") || return 1
	text=$(awk -v rule="$1" '{ print } /type filter hook output / { print "\t\t" rule }' <<<"$text")
	grep -qxF "$(printf '\t\t%s' "$1")" <<<"$text" || { echo "no output chain in: $text"; return 1; }
	inc nft -f - <<<"table inet killswitch
delete table inet killswitch
$text"
}
# APPLY... (the connecting table, one way or the other), then wait until its forward chain (new,
# so its counter starts at 0) refused something.
until_refused() {
	"$@" || return 1
	wait_for 10 fwd_refused_since 0 || { echo "nothing refused in 10 s"; return 1; }
}
# TCP: the server pushes every 50 ms on a connection the container opened while enabled; from
# the switch to connecting on, each push (then, backing off, each retransmission) is refused.
# (Not with the tunnel's routes lost: the reset would leave by another interface than the
# masqueraded connection, and NAT drops that. A connection without NAT would show it.)
push_flow() { # push_flow ID: enabled, the container's connection to the push port
	ks_enable
	labnet_n hold tcp $NET4 7001 --ready "$LAB_TMP/$1.ready" --go "$LAB_TMP/$1.go" >"$LAB_TMP/$1.out" 2>&1 &
	wait_for 5 test -f "$LAB_TMP/$1.ready" || die "the container's connection to $NET4:7001 did not open"
}
push_flow push1
counted "container tcp4 $(hp $NET4 7001): server's push refused" connecting blocked rst_count until_refused ks_connecting_tun
# The control on a fresh connection: the first reset that gets out ends the server's.
push_flow push2
counted "container tcp4 $(hp $NET4 7001): server's push refused" "rule before the fix (control)" leak rst_count \
	until_refused connecting_before_fix "ct mark 0x4b52 tcp flags & rst == rst accept"
# UDP: a datagram from the server on a flow the container opened while enabled.
ks_enable
send_n udp $NET4 9 --sport 40123 --wait 0 >/dev/null || true # (no reply: nothing listens on 9)
ks_connecting_tun
late_reply() { labnet_i send udp $TUN4 40123 --bind-addr $NET4 --sport 9 --wait 0 || true; }
counted "container udp4 $(hp $NET4 9): server's reply refused" connecting blocked unreach_count late_reply
routes_off
counted "container udp4 $(hp $NET4 9): server's reply refused" "connecting, routes lost" blocked unreach_count late_reply
connecting_before_fix "ct mark 0x4b52 meta l4proto { icmp, ipv6-icmp } accept"
counted "container udp4 $(hp $NET4 9): server's reply refused" "rule before the fix (control)" leak unreach_count late_reply
# The errors about the container's own refused packets still reach it, IPv4 and IPv6 (its resets:
# e2e_findings, "refused at once"). ping counts an ICMP error it received as "+1 errors".
gets_icmp_error() {
	local out
	out=$("$@" 2>&1) && return 1
	grep -q '+1 errors' <<<"$out"
}
ks_connecting_tun
check "container icmp4 $NET4 refused at once" "connecting, routes lost" error gets_icmp_error ping_n $NET4
check "container icmp6 $NET6 refused at once" "connecting, routes lost" error gets_icmp_error ping6_n $NET6
routes_tunnel

# 8. DHCP rules too wide. Input accepted "udp sport 67 udp dport 68" from any source on any
# interface: any host on the internet, and in the blocked state the tunnel's far side, reached
# the DHCP client's port. Output let anything bound to port 68 broadcast out of any interface,
# the closed tunnel included. Now: off the tunnel only, inbound only broadcast or the reply to
# our own unicast RENEW. The oracle for inbound probes is a counter in the client's input hook
# after the kill switch's (priority 10): what it counts got past the kill switch.
inc nft -f - <<-EOF
	table inet dhcpseen {
		counter reached {
		}
		chain in {
			type filter hook input priority 10; policy accept;
			udp sport 67 udp dport 68 counter name reached
		}
	}
EOF
dhcp_reached() { inc nft list counter inet dhcpseen reached | awk '$1 == "packets" { print $2; exit }'; }
# From port 67 (no reply is expected: nothing listens on 68).
from_internet() { labnet_i send udp $C4 68 --bind-addr $NET4 --sport 67 --wait 0 || true; }
from_tunnel() { labnet_i send udp $TUN4 68 --bind-addr $VPNDNS4 --sport 67 --wait 0 || true; }
from_lan_broadcast() { labnet_i send udp 255.255.255.255 68 --bind-dev isp0 --sport 67 --broadcast --wait 0 || true; }
# A broadcast from the tunnel's far side: the server's WireGuard routes 255.255.255.255 to the
# client only while its allowed-ips name it (for this probe alone).
from_tunnel_broadcast() {
	ini wg set "$WGS" peer "$CKEY_PUB" allowed-ips "$TUN4/32,$TUN6/128,255.255.255.255/32"
	labnet_i send udp 255.255.255.255 68 --bind-dev "$WGS" --sport 67 --broadcast --wait 0 || true
	ini wg set "$WGS" peer "$CKEY_PUB" allowed-ips "$TUN4/32,$TUN6/128"
}
ks_enable
counted "udp $(hp $NET4 67) -> $(hp $C4 68) (internet)" enabled blocked dhcp_reached from_internet
counted "udp $(hp $VPNDNS4 67) -> $(hp $TUN4 68) (tunnel)" enabled reached dhcp_reached from_tunnel
ks_connecting_tun
counted "udp $(hp $NET4 67) -> $(hp $C4 68) (internet)" connecting blocked dhcp_reached from_internet
counted "udp $(hp $VPNDNS4 67) -> $(hp $TUN4 68) (tunnel)" connecting blocked dhcp_reached from_tunnel
counted "udp $(hp $GW4 67) -> 255.255.255.255:68 (LAN broadcast)" connecting reached dhcp_reached from_lan_broadcast
counted "udp $(hp $VPNDNS4 67) -> 255.255.255.255:68 (tunnel broadcast)" connecting blocked dhcp_reached \
	from_tunnel_broadcast
ks_disable
counted "udp $(hp $NET4 67) -> $(hp $C4 68) (internet)" "disabled (control)" leak dhcp_reached from_internet
counted "udp $(hp $VPNDNS4 67) -> $(hp $TUN4 68) (tunnel)" "disabled (control)" leak dhcp_reached from_tunnel
counted "udp $(hp $VPNDNS4 67) -> 255.255.255.255:68 (tunnel broadcast)" "disabled (control)" leak dhcp_reached \
	from_tunnel_broadcast
# Outbound: a broadcast from port 68 into the tunnel (the tunnel oracle sees what comes out of it).
to_tunnel() { send_c udp 255.255.255.255 67 --sport 68 --bind-dev "$WGC" --broadcast --wait 0 || true; }
leak_pair "udp :68 -> 255.255.255.255:67 into the tunnel" connecting ks_connecting_tun tun to_tunnel
# A real DHCP client keeps its lease in the connecting state: DISCOVER and REQUEST go on its
# packet socket, the RENEW (SIGUSR1) by unicast to the server, whose unicast ACK input accepts
# as established. A refused RENEW would not lose the lease: udhcpc falls back to REBIND, a
# broadcast on the packet socket ("broadcasting renew"), whose answer no hook can stop; so the
# check is that the unicast one was answered, without that fallback.
# Unicast replies, as most servers send them: the ACK to the unicast RENEW is what I3a accepts.
ROGUE_DHCP_UNICAST=1 rogue_dhcp "192.0.2.0/24,$GW4"
ks_connecting_tun
# -T 3 (udhcpc's default): the wait for each answer, the unicast RENEW's too; 1 s fell back to a
# broadcast REBIND under load (1 run in 4 beside a mutation run), which this check counts as failed.
inc busybox udhcpc -i phy0 -f -t 4 -T 3 -O staticroutes -s "$E2E_DIR/dhcp-client-script.sh" \
	-p "$LAB_TMP/udhcpc.pid" >"$LAB_TMP/udhcpc.log" 2>&1 &
check "DHCP lease from the LAN's server" connecting bound wait_for 10 grep -q '^bound: lease' "$LAB_TMP/udhcpc.log"
renew_answered() { tail -n "+$1" "$LAB_TMP/udhcpc.log" | grep -q '^renew: lease'; }
renewed() {
	local from
	from=$(($(wc -l <"$LAB_TMP/udhcpc.log") + 1))
	kill -USR1 "$(<"$LAB_TMP/udhcpc.pid")" || return 1
	wait_for 5 renew_answered "$from" || { cat "$LAB_TMP/udhcpc.log"; return 1; }
	tail -n "+$from" "$LAB_TMP/udhcpc.log"
	! tail -n "+$from" "$LAB_TMP/udhcpc.log" | grep -q 'broadcasting renew'
}
check "DHCP renew by unicast to the server" connecting renewed renewed

lab_finish
