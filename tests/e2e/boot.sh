#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Boot: the policy stored by `killswitch enable --persist` is applied by killswitch.service's own
# command (ExecStart, `killswitch restore`) in a freshly booted client where no interface but lo
# is up yet. Then the physical interface comes up, DHCP runs (busybox udhcpc against dnsmasq) and
# only loopback, DHCPv4, DHCPv6 and neighbour discovery leave: the oracle on the far side of the
# link sees nothing else. Each leak probe has its control (the same probe without the kill switch
# leaks). Last, the VPN comes up through the boot policy and carries traffic.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init boot
lab_require busybox dnsmasq
lab_up --no-client-wg
table_header

# The boot unit as built (its ExecStart names the installed binary: run the one under test).
unit=$(dirname "$KILLSWITCH")/integrations/killswitch.service
[[ -f $unit ]] || unit=$E2E_DIR/../../src/integrations/systemd/killswitch.service.in
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
condition=$(sed -n 's/^ConditionPathExists=//p' "$unit")
[[ $exec_start == */killswitch\ * && -n $condition ]] || die "unexpected boot unit $unit: ExecStart=$exec_start"
read -r -a unit_args <<<"${exec_start#*/killswitch }"
log "boot unit $unit: ExecStart=$exec_start, ConditionPathExists=$condition"

# ---- before the reboot: the user enabled the kill switch with --persist ----------------------
persisted=$LAB_TMP/conf/${condition##*/}
check "enable --persist" enabled stored ks_quiet enable --tunnel "$WGC" --endpoint "$ENDPOINT" \
	--dns "$VPNDNS4" --persist
check "the unit's ConditionPathExists holds" enabled exists test -s "$persisted"
cp -a "$LAB_TMP/conf" "$LAB_TMP/conf.persisted"
forgotten() { ks_disable && ! test -e "$persisted"; }
check "disable forgets the persisted policy" disabled removed forgotten

# ---- the reboot: a fresh client namespace, only lo up, the physical link down ----------------
# The lab's container namespace becomes the rebooted client (its name is the lab's, so teardown
# and the reaper of stale labs remove it): a new namespace, linked to the ISP by a second veth.
ip netns del "$NS_N"
ip netns add "$NS_N"
ip -n "$NS_N" link set lo up
ip link add phy0 netns "$NS_N" type veth peer name isp1 netns "$NS_I"
GWB4=192.168.78.1 B6=fd78::2
ini ip addr add $GWB4/24 dev isp1
ini ip addr add fd78::1/64 dev isp1 nodad
ini ip addr add $GW6LL/64 dev isp1 nodad
ini ip link set isp1 up
# The oracle on the new link: like isp0's, and DHCP and neighbour discovery counted apart.
ini nft -f - <<-EOF
	table netdev oracle {
		counter dhcp4 {
		}
		counter dhcp6 {
		}
		counter ndp {
		}
		chain ingress_boot {
			type filter hook ingress device "isp1" priority -500; policy accept;
			meta protocol arp counter name excluded accept
			meta protocol ip udp sport 68 udp dport 67 counter name dhcp4 accept
			meta protocol ip6 udp sport 546 udp dport 547 counter name dhcp6 accept
			meta protocol ip6 icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } counter name ndp accept
			meta protocol ip6 icmpv6 type { mld-listener-query, mld-listener-report, mld-listener-done, mld2-listener-report } counter name excluded accept
			meta protocol ip ip daddr $EP4 udp dport $EP_PORT @th,64,32 { 0x01000000, 0x02000000, 0x03000000, 0x04000000 } counter name wireguard accept
			counter name leak
		}
	}
EOF
# A DHCP server on the new link (options: router; no DNS).
bg dnsmasq-boot ini dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 --interface=isp1 \
	--bind-interfaces --no-ping --dhcp-authoritative --log-dhcp --log-facility=- \
	--dhcp-range=192.168.78.100,192.168.78.150,255.255.255.0,1h --dhcp-option=option:router,$GWB4 \
	--dhcp-leasefile="$LAB_TMP/dnsmasq-boot.leases" --pid-file="$LAB_TMP/dnsmasq-boot.pid"
wait_for 10 test -s "$LAB_TMP/dnsmasq-boot.pid" || die "dnsmasq did not start"

# From here on the client is the rebooted machine: every helper (inc, send_c, ping4, ks...) runs
# there, with a fresh run directory (/run is empty after a boot) and the persisted policy.
NS_C=$NS_N
ks() {
	ip netns exec "$NS_C" env KILLSWITCH_RUNDIR="$LAB_TMP/run-boot" KILLSWITCH_CONFDIR="$LAB_TMP/conf" \
		"$KILLSWITCH" "$@"
}
# The machine's own services start at boot too (a local TCP service for the loopback check).
bg serve-boot labnet_c serve --tcp 22 --ready "$LAB_TMP/serve-boot.ready"
wait_for 10 test -f "$LAB_TMP/serve-boot.ready" || die "the rebooted client's services did not start"
only_lo_up() { [[ $(inc ip -o link show up | awk -F': ' '{print $2}') == lo ]]; }
# The boot unit: its condition, then its command, on the policy as enable --persist stored it
# (a control's disable removes it, so it is put back first).
boot_unit() {
	rm -rf "$LAB_TMP/conf"
	cp -a "$LAB_TMP/conf.persisted" "$LAB_TMP/conf"
	test -s "$persisted" && ks_quiet "${unit_args[@]}"
}

check "only lo is up" boot "lo only" only_lo_up
check "boot unit: ${exec_start##*/}" boot applied boot_unit
check "status: enabled, complete, tunnel $WGC" boot enabled ks_status_lists enabled "$WGC" "$ENDPOINT/udp"
# (Output is read whole before it is searched: `cmd | grep -q` fails under pipefail when grep
# quits before cmd has written everything.)
check "status: table complete" boot complete ks_complete
check "loopback: ping 127.0.0.1" boot works inc ping -n -c 1 -W 1 127.0.0.1
check "loopback: ping ::1" boot works inc ping -6 -n -c 1 -W 1 ::1
check "loopback: tcp 127.0.0.1:22 (local service)" boot works labnet_c send tcp 127.0.0.1 22 --wait 1

# ---- the link comes up: neighbour discovery, DHCPv4, DHCPv6, and nothing else ----------------
LEAK_AT_BOOT=$(oracle_phys)
counter() { counter_of netdev oracle "$1"; }
# moved COUNTER BEFORE: the oracle's COUNTER went past BEFORE (within 5 s).
moved() { wait_for 5 eval "(( \$(counter $1) > $2 ))"; }
ndp0=$(counter ndp)
inc ip link set phy0 up
ll_ready() { local a; a=$(inc ip -6 addr show dev phy0 scope link); [[ $a == *inet6* && $a != *tentative* ]]; }
check "link-local address on phy0" boot ready wait_for 5 ll_ready
check "neighbour discovery left (oracle: ndp)" boot left moved ndp "$ndp0"
dhcp0=$(counter dhcp4)
dhcp_boot() {
	inc busybox udhcpc -i phy0 -f -q -n -t 4 -T 1 -s "$E2E_DIR/dhcp-client-script.sh"
}
check "DHCPv4: udhcpc got a lease" boot lease dhcp_boot
check "DHCPv4 left (oracle: dhcp4)" boot left moved dhcp4 "$dhcp0"
leased() { [[ $(inc ip -4 addr show dev phy0) =~ inet\ 192\.168\.78\.1[0-9][0-9]/24 ]]; }
check "leased address on phy0" boot 192.168.78.x leased
# DHCP from an ordinary socket too (what the ruleset, not the packet socket, decides): a
# DHCPv4 broadcast from port 68, a DHCPv6 solicit from the link-local address to ff02::1:2.
dhcp4_socket() { # dhcp4_socket [SPORT]: a BOOTREQUEST-sized broadcast to port 67
	inc "$PYTHON" -S -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"phy0")
s.bind(("0.0.0.0", int(sys.argv[1])))
s.sendto(b"\x01" + bytes(299), ("255.255.255.255", 67))' "${1:-68}"
}
dhcp0=$(counter dhcp4)
check "DHCPv4 broadcast from a UDP socket" boot sent dhcp4_socket
check "it left (oracle: dhcp4)" boot left moved dhcp4 "$dhcp0"
dhcp0=$(counter dhcp6)
dhcp6_socket() { # dhcp6_socket [SPORT]: sent, no error (no DHCPv6 server here: no reply)
	local out
	out=$(labnet_c send udp ff02::1:2%phy0 547 --sport "${1:-546}" --bind-dev phy0 --wait 0) || true
	echo "$out"
	[[ $out == *"sent=1 errors=0"* ]]
}
check "DHCPv6 solicit to ff02::1:2 from a UDP socket" boot sent dhcp6_socket
check "it left (oracle: dhcp6)" boot left moved dhcp6 "$dhcp0"
nothing_else() {
	sleep "$SETTLE"
	local now
	now=$(oracle_phys)
	echo "leak counter: $LEAK_AT_BOOT at boot, $now now"
	((now == LEAK_AT_BOOT))
}
check "nothing else left since boot (oracle: leak)" boot nothing nothing_else

# ---- leak probes under the boot policy, each with its control --------------------------------
inc ip route add default via $GWB4 dev phy0
inc ip addr add $B6/64 dev phy0 nodad
inc ip -6 route add default via $GW6LL dev phy0
for t in "tcp4 $(hp $NET4 80)|send_c tcp $NET4 80" "udp4 $(hp $NET4 7)|send_c udp $NET4 7" \
	"icmp4 $NET4|ping4 $NET4" "tcp6 $(hp $NET6 80)|send_c tcp $NET6 80" \
	"udp6 $(hp $NET6 7)|send_c udp $NET6 7" "icmp6 $NET6|ping6 $NET6" \
	"dns udp $(hp $RESOLVER4 53)|dns_c $RESOLVER4" "dns udp $(hp $VPNDNS4 53) (the VPN's, no tunnel yet)|dns_c $VPNDNS4" \
	"udp4 $(hp $EP4 $EP_PORT) (the VPN server, unmarked)|send_c udp $EP4 $EP_PORT --wait 0.3" \
	"icmp4 $GWB4 (LAN gateway)|ping4 $GWB4" "icmp6 fe80::1%phy0 (link-local)|ping6 fe80::1%phy0" \
	"udp4 $(hp $GWB4 5353) (LAN)|send_c udp $GWB4 5353" \
	"udp4 :5000 -> 255.255.255.255:67 (not DHCP)|dhcp4_socket 5000" \
	"udp6 :5000 -> [ff02::1:2]:547 (not DHCPv6)|dhcp6_socket 5000"; do
	name=${t%%|*} cmd=${t#*|}
	# shellcheck disable=SC2086
	leak_pair "$name" "boot (restore)" boot_unit phys $cmd
done

# ---- the VPN comes up through the boot policy --------------------------------------------------
boot_unit
start_wireguard "$NS_C" "$WGC"
client_tunnel_configure
check "WireGuard handshake through the boot policy" boot completes wait_handshake 8
run_probe "tcp4 $(hp $NET4 80) through the tunnel" "boot (restore)" tunnel phys send_c tcp $NET4 80
run_probe "icmp6 $NET6 through the tunnel" "boot (restore)" tunnel phys ping6 $NET6
run_probe "dns udp $(hp $VPNDNS4 53) through the tunnel" "boot (restore)" tunnel phys dns_c $VPNDNS4
leak_pair "dns udp $(hp $RESOLVER4 53) in the tunnel" "boot (restore)" boot_unit tun dns_c $RESOLVER4
lab_finish
