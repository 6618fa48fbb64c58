#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The second review (the features that landed together: --allow-in, --bypass, --gateway,
# --include-only, portal), asserted as the correct behaviour:
#   - --allow-in PORT marked every packet *arriving* off the tunnel for that port in prerouting
#     with the VPN's fwmark (for rp_filter), forwarded ones too: a container's or a --gateway
#     client's connection to an internet host on that port (SSH to anywhere with --allow-in 22/tcp)
#     was routed by the main table to the physical interface, where forward refused it: the
#     tunnel no longer carried it. Now the mark is only for packets addressed to this host.
#     Also a --gateway client's DNS to the router's own address with --allow-in 53: marked before
#     nat_prerouting redirected it to the VPN's resolver, it went off the tunnel and was refused.
#     Controls: the same probe without --allow-in goes through the tunnel (the probe works).
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init review2
lab_up
table_header

# ---- --allow-in and forwarded traffic: a container's (the lab's NAT), then a --gateway client's ----
ks_enable
run_probe "container tcp4 $(hp $NET4 22) through the tunnel" "enabled (control)" tunnel phys send_n tcp $NET4 22
ks_enable --allow-in 22/tcp
run_probe "container tcp4 $(hp $NET4 22) through the tunnel" "enabled, allow-in 22/tcp" tunnel phys send_n tcp $NET4 22
run_probe "container tcp6 $(hp $NET6 22) through the tunnel" "enabled, allow-in 22/tcp" tunnel phys send_n tcp $NET6 22
ks_enable --allow-in 22/tcp@ctr0
run_probe "container tcp4 $(hp $NET4 22) through the tunnel" "enabled, allow-in 22/tcp@ctr0" tunnel phys \
	send_n tcp $NET4 22
# The inbound port itself still answers from the LAN and from the internet (its replies routed off the tunnel).
ks_enable --allow-in 22/tcp
check "inbound tcp4 $LANHOST4 -> $(hp $C4 22) answered" "enabled, allow-in 22/tcp" answered \
	labnet_i send --wait 3 tcp $C4 22 --bind-addr $LANHOST4
check "inbound tcp4 $NET4 -> $(hp $C4 22) answered" "enabled, allow-in 22/tcp" answered \
	labnet_i send --wait 3 tcp $C4 22 --bind-addr $NET4
ks_disable

inc nft delete table inet labnat
ks_gw() { ks_quiet enable --tunnel "$WGC" --endpoint "$ENDPOINT" --dns $VPNDNS4 --dns $VPNDNS6 --gateway ctr0 "$@"; }
ks_gw
run_probe "gateway client tcp4 $(hp $NET4 22) through the tunnel" "enabled (control)" tunnel phys send_n tcp $NET4 22
ks_gw --allow-in 22/tcp
run_probe "gateway client tcp4 $(hp $NET4 22) through the tunnel" "enabled, allow-in 22/tcp" tunnel phys \
	send_n tcp $NET4 22
run_probe "gateway client tcp6 $(hp $NET6 22) through the tunnel" "enabled, allow-in 22/tcp" tunnel phys \
	send_n tcp $NET6 22
# Its DNS to the router's own address (what a DHCP lease names) is redirected to the VPN's resolver,
# with an inbound DNS port open on the router (a Pi-hole on another interface) too.
ks_gw
run_probe "gateway client dns udp 10.99.0.1:53 answered" "enabled (control)" tunnel phys dns_n 10.99.0.1
ks_gw --allow-in 53
run_probe "gateway client dns udp 10.99.0.1:53 answered" "enabled, allow-in 53" tunnel phys dns_n 10.99.0.1
run_probe "gateway client dns tcp 10.99.0.1:53 answered" "enabled, allow-in 53" tunnel phys dns_n 10.99.0.1 --tcp
ks_disable
lab_finish
