#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The lab's DHCP client hook (busybox udhcpc -s): what a distribution's hook does with a lease,
# minus resolv.conf. It installs the leased address and every classless static route (option 121)
# the server sends, which is what TunnelVision (CVE-2024-3661) exploits. It never flushes the
# interface: the lab's static addresses stay.
set -eu
# udhcpc passes the lease in the environment: interface, ip, mask, router, staticroutes.
event=$1 # bound, renew, deconfig...: the positional parameters are reused below
# shellcheck disable=SC2154
case "$event" in
bound | renew)
	ip addr replace "$ip/${mask:-24}" dev "$interface"
	# $staticroutes: "DEST/LEN GATEWAY DEST/LEN GATEWAY ...", split into words on purpose.
	# shellcheck disable=SC2086
	set -- ${staticroutes:-}
	while [ $# -ge 2 ]; do
		ip route replace "$1" via "$2" dev "$interface" proto dhcp
		shift 2
	done
	echo "$event: lease $ip routes ${staticroutes:-none}"
	;;
esac
exit 0
