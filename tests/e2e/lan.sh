#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The LAN with and without --allow-lan; local multicast (mDNS, SSDP) against routable multicast;
# inbound connections from the physical side to local listeners; CVE-2019-14899 (packets for the
# tunnel address arriving on the physical interface must get no answer).
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init lan
lab_up
table_header

lan_probes() { # lan_probes EXPECT-FN STATE APPLY
	local fn=$1 state=$2 apply=$3
	$fn "tcp4 $(hp $LANHOST4 22) (LAN host)" "$state" "$apply" send_c tcp $LANHOST4 22
	$fn "udp4 $(hp $LANHOST4 5000) (LAN host)" "$state" "$apply" send_c udp $LANHOST4 5000
	$fn "icmp4 $LANHOST4 (LAN host)" "$state" "$apply" ping4 $LANHOST4
	$fn "icmp6 $LANHOST6 (LAN host, ULA)" "$state" "$apply" ping6 $LANHOST6
	$fn "udp6 $(hp "$GW6LL%phy0" 7) (link-local)" "$state" "$apply" send_c udp "$GW6LL%phy0" 7
}
blocked_pair() { local n=$1 s=$2 a=$3; shift 3; leak_pair "$n" "$s" "$a" phys "$@"; }
allowed() { local n=$1 s=$2 a=$3; shift 3; $a; run_probe "$n" "$s" pass phys "$@"; }

lan_probes blocked_pair enabled ks_enable
lan_probes allowed "enabled, allow-lan" "ks_enable --allow-lan"
routes_off
blocked_pair "icmp4 $LANHOST4 (LAN host)" blocked ks_block ping4 $LANHOST4
allowed "icmp4 $LANHOST4 (LAN host)" "blocked, allow-lan" "ks_block --allow-lan" ping4 $LANHOST4
blocked_pair "tcp6 $(hp $LANHOST6 22) (LAN host, ULA)" connecting ks_connecting send_c tcp $LANHOST6 22
allowed "tcp6 $(hp $LANHOST6 22) (LAN host, ULA)" "connecting, allow-lan" "ks_connecting --allow-lan" send_c tcp $LANHOST6 22
routes_tunnel

# Multicast out of the physical interface: link/site-local groups are LAN, routable ones are not.
mc() { labnet_c mcast "$@" --iface phy0; }
for st in "enabled:ks_enable" "blocked:ks_block"; do
	state=${st%%:*} apply=${st#*:}
	leak_pair "mDNS 224.0.0.251:5353" "$state" "$apply" phys mc 224.0.0.251 5353
	leak_pair "SSDP 239.255.255.250:1900" "$state" "$apply" phys mc 239.255.255.250 1900
	leak_pair "mDNS [ff02::fb]:5353" "$state" "$apply" phys mc ff02::fb 5353
done
for st in "enabled, allow-lan:ks_enable --allow-lan" "blocked, allow-lan:ks_block --allow-lan"; do
	state=${st%%:*} apply=${st#*:}
	$apply
	run_probe "mDNS 224.0.0.251:5353" "$state" pass phys mc 224.0.0.251 5353
	run_probe "SSDP 239.255.255.250:1900" "$state" pass phys mc 239.255.255.250 1900
	run_probe "mDNS [ff02::fb]:5353" "$state" pass phys mc ff02::fb 5353
	leak_pair "routable multicast 233.252.0.1:5000 (ttl 16)" "$state" "$apply" phys mc 233.252.0.1 5000 --ttl 16
	leak_pair "routable multicast [ff0e::db8:1]:5000" "$state" "$apply" phys mc ff0e::db8:1 5000 --ttl 16
done

# Inbound: a LAN host connects to the client's listeners (tcp 22, udp 5000) and pings it. The
# oracle counts the client's answers.
in_probes() { # in_probes EXPECT-FN STATE APPLY
	local fn=$1 state=$2 apply=$3
	$fn "inbound tcp $LANHOST4 -> $(hp $C4 22)" "$state" "$apply" send_from_isp tcp $C4 22 --bind-addr $LANHOST4
	$fn "inbound udp $LANHOST4 -> $(hp $C4 5000)" "$state" "$apply" send_from_isp udp $C4 5000 --bind-addr $LANHOST4
	$fn "inbound icmp4 $LANHOST4 -> $C4" "$state" "$apply" ping_from_isp $LANHOST4 $C4
	$fn "inbound icmp6 $LANHOST6 -> $CULA6" "$state" "$apply" ping6_from_isp $LANHOST6 $CULA6
	$fn "inbound tcp6 $LANHOST6 -> $(hp $CULA6 22)" "$state" "$apply" send_from_isp tcp $CULA6 22 --bind-addr $LANHOST6
}
in_probes blocked_pair enabled ks_enable
in_probes allowed "enabled, allow-lan" "ks_enable --allow-lan"
in_probes blocked_pair blocked ks_block
# From the internet (not a LAN source): nothing answers, --allow-lan or not. With the tunnel's
# routing gone the answers would go out of phy0, so that is the leak to look for.
routes_off
for st in "blocked, allow-lan:ks_block --allow-lan" "connecting, allow-lan:ks_connecting --allow-lan" \
	"enabled, allow-lan:ks_enable --allow-lan"; do
	state=${st%%:*} apply=${st#*:}
	leak_pair "inbound tcp $NET4 -> $(hp $C4 22)" "$state" "$apply" phys send_from_isp tcp $C4 22 --bind-addr $NET4
	leak_pair "inbound icmp4 $NET4 -> $C4" "$state" "$apply" phys ping_from_isp $NET4 $C4
	leak_pair "inbound icmp6 $NET6 -> $C6" "$state" "$apply" phys ping6_from_isp $NET6 $C6
done
routes_tunnel

# CVE-2019-14899: the attacker on the LAN sends to the tunnel addresses over the physical link.
# --allow-lan matters: the attacker's source is a LAN address, so only the prerouting rule stops it.
cve() { # cve STATE APPLY
	leak_pair "CVE-2019-14899 icmp4 $ATTACKER4 -> $TUN4" "$1" "$2" phys ping_from_isp $ATTACKER4 $TUN4
	leak_pair "CVE-2019-14899 tcp4 $ATTACKER4 -> $(hp $TUN4 22)" "$1" "$2" phys send_from_isp tcp $TUN4 22 --bind-addr $ATTACKER4
	leak_pair "CVE-2019-14899 icmp6 $ATTACKER6 -> $TUN6" "$1" "$2" phys ping6_from_isp $ATTACKER6 $TUN6
	leak_pair "CVE-2019-14899 udp6 $ATTACKER6 -> $(hp $TUN6 5000)" "$1" "$2" phys send_from_isp udp $TUN6 5000 --bind-addr $ATTACKER6
}
cve enabled ks_enable
cve "enabled, allow-lan" "ks_enable --allow-lan"
# Connecting, the way a client calls it while it (re)connects: it names the tunnel interface, so
# its addresses are protected although the tunnel carries nothing yet.
cve "connecting, allow-lan" "ks_connecting --tunnel $WGC --allow-lan"
ks_enable
check "status lists the tunnel addresses" enabled listed ks_status_lists $TUN4 $TUN6
lab_finish
