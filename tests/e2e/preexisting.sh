#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Connections opened outside the tunnel before the kill switch came up send nothing afterwards,
# and get nothing delivered, in either direction (no generic "ct state established accept"
# anywhere): the client's own, and a container's.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init preexisting
lab_up
table_header
# Nothing may come in on such a flow either (no generic "ct state established accept" in input):
# the client's input is an oracle too, and for the container's flows the container's.
delivery_oracle_install c
delivery_oracle_install n
# shellcheck disable=SC2034 # read by hold_pair
HOLD_ORACLE=in

# Opened while the VPN was not routing yet (all traffic out of phy0); then the kill switch comes up.
for st in "enabled:ks_enable" "connecting:ks_connecting" "blocked:ks_block" "enabled, allow-lan:ks_enable --allow-lan"; do
	state=${st%%:*} apply=${st#*:}
	hold_pair "tcp4 $(hp $NET4 80) open before, client sends" "$state" routes_off "$apply" tcp $NET4 80 --send
	hold_pair "tcp4 $(hp $NET4 7001) open before, server pushes" "$state" routes_off "$apply" tcp $NET4 7001
	hold_pair "udp4 $(hp $NET4 7) connected before, client sends" "$state" routes_off "$apply" udp $NET4 7 --send
	hold_pair "tcp6 $(hp $NET6 80) open before, client sends" "$state" routes_off "$apply" tcp $NET6 80 --send
done
# Opened bound to the physical interface while the tunnel was up, before the kill switch.
hold_pair "tcp4 $(hp $NET4 80) bound to phy0, client sends" enabled routes_tunnel ks_enable tcp $NET4 80 --send --bind-dev phy0
hold_pair "tcp4 $(hp $NET4 7001) bound to phy0, server pushes" enabled routes_tunnel ks_enable tcp $NET4 7001 --bind-dev phy0
hold_pair "udp6 $(hp $NET6 7) bound to phy0, client sends" enabled routes_tunnel ks_enable udp $NET6 7 --send --bind-dev phy0
# A container's flows (forwarded and masqueraded out of phy0 while the VPN was not routing yet).
# Only the container sending: the reset the forward chain sends a pushing server leaves by phy0
# (issue 11, finding 7, whose own test is e2e_review's).
for st in "enabled:ks_enable" "enabled, allow-lan:ks_enable --allow-lan"; do
	state=${st%%:*} apply=${st#*:}
	HOLD_AT=n HOLD_ORACLE=ctr hold_pair "container tcp4 $(hp $NET4 80) open before, it sends" "$state" routes_off \
		"$apply" tcp $NET4 80 --send
	HOLD_AT=n HOLD_ORACLE=ctr hold_pair "container udp4 $(hp $NET4 7) open before, it sends" "$state" routes_off \
		"$apply" udp $NET4 7 --send
done
routes_tunnel
lab_finish
