#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Sends that pick the physical interface themselves: ping -I, sockets bound to the device
# (SO_BINDTODEVICE) or to the physical address, and STUN binding requests from the physical
# address (what a WebRTC stack does to find the public address), in the enabled, blocked and
# connecting states.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init bound
lab_up
table_header

probes() {
	local state=$1 apply=$2
	leak_pair "ping -I phy0 $NET4" "$state" "$apply" phys ping4 -I phy0 $NET4
	leak_pair "ping -6 -I phy0 $NET6" "$state" "$apply" phys ping6 -I phy0 $NET6
	leak_pair "ping -I $C4 $NET4 (source address)" "$state" "$apply" phys ping4 -I $C4 $NET4
	leak_pair "udp4 $(hp $NET4 7) bound to phy0" "$state" "$apply" phys send_c udp $NET4 7 --bind-dev phy0
	leak_pair "tcp4 $(hp $NET4 443) bound to phy0" "$state" "$apply" phys send_c tcp $NET4 443 --bind-dev phy0
	leak_pair "udp6 $(hp $NET6 7) bound to phy0" "$state" "$apply" phys send_c udp $NET6 7 --bind-dev phy0
	leak_pair "tcp6 $(hp $NET6 443) bound to phy0" "$state" "$apply" phys send_c tcp $NET6 443 --bind-dev phy0
	leak_pair "STUN $(hp $NET4 3478) from $C4" "$state" "$apply" phys send_c udp $NET4 3478 --stun --bind-addr $C4
	leak_pair "STUN $(hp $NET6 3478) from $C6" "$state" "$apply" phys send_c udp $NET6 3478 --stun --bind-addr $C6
	leak_pair "STUN $(hp $NET4 3478) from phy0, port 50000" "$state" "$apply" phys \
		send_c udp $NET4 3478 --stun --bind-dev phy0 --sport 50000
}

# Enabled, tunnel routing in place. A socket bound to the physical address would still be routed
# into the tunnel by wg-quick's rules, so give it the way out that multi-homed hosts have: a
# "from PHYSICAL-ADDRESS lookup main" rule.
rule_from_phys on
probes "enabled" ks_enable
rule_from_phys off
# The tunnel still works, and the bound sends did not disturb it.
ks_enable
run_probe "udp4 $(hp $NET4 7) through the tunnel" enabled tunnel phys send_c udp $NET4 7

routes_off
probes "blocked" ks_block
probes "connecting" ks_connecting
lab_finish
