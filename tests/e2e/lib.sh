# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# The leak lab: topology, oracles, probe helpers and teardown, sourced by every tests/e2e/*.sh.
#
#   client ns (C)                           isp ns (I): router, "internet", resolver, VPN server
#   phy0 192.168.77.2/24 fd77::2/64  <-veth->  isp0 192.168.77.1 (.3 LAN host, .66 attacker)
#        2001:db8:77::2/64                          fd77::1 (::3, ::66) fe80::1 2001:db8:77::1
#   WGC  10.66.0.2/32 fd66::2/128    ~~wg~~>    WGS 10.66.0.1/24 fd66::1/64, listens 203.0.113.1:51820
#   ctr0 10.99.0.1/24 fd99::1/64                lo: 198.51.100.10 .53, 203.0.113.1 .10
#        |                                      isp0: 2001:db8:100::10 ::53 (/128)
#   container ns (N): eth0 10.99.0.2/24 fd99::2/64, forwarded (and masqueraded) by the client
#
# The oracle is on the ISP side of the physical link: a netdev ingress counter on isp0 that counts
# every packet from the client except WireGuard messages to the endpoint, ARP and ICMPv6 ND/MLD.
# A second counter (the tunnel oracle) counts what comes out of the VPN server's interface, for
# the probes whose leak would go *through* the tunnel (DNS to other resolvers, forwarded DNS).
#
# Nothing here touches the host's own firewall, routes or sysctls: every command that changes
# network state runs inside one of the lab's namespaces.

set -Eeuo pipefail
trap '[[ $- != *e* ]] || printf "FATAL: %s failed (%s line %s)\n" "$BASH_COMMAND" "${BASH_SOURCE[0]##*/}" "$LINENO" >&2' ERR

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# log, die, skip, wait_for
# shellcheck source=tests/lib/common.sh
source "$E2E_DIR/../lib/common.sh"
LABNET=$E2E_DIR/labnet.py
if [[ -z ${PYTHON:-} ]]; then
	if [[ -x /usr/bin/python3 ]]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi

# Addresses (documentation and private ranges only; nothing here is reachable from the host).
GW4=192.168.77.1 C4=192.168.77.2 LANHOST4=192.168.77.3 ATTACKER4=192.168.77.66
GW6LL=fe80::1 C6=2001:db8:77::2 CULA6=fd77::2 LANHOST6=fd77::3 ATTACKER6=fd77::66
NET4=198.51.100.10 NET4B=203.0.113.10 RESOLVER4=198.51.100.53
NET6=2001:db8:100::10 RESOLVER6=2001:db8:100::53
EP4=203.0.113.1 EP_PORT=51820 ENDPOINT=203.0.113.1:51820
TUN4=10.66.0.2 TUN6=fd66::2 VPNDNS4=10.66.0.1 VPNDNS6=fd66::1
CTR4=10.99.0.2 CTR6=fd99::2
FWMARK=0xca6c RT_TABLE=51820

LAB_FAILS=0 LAB_PROBES=0 LAB_CONTROLS=0 LAB_OK=0

# ---- setup and teardown --------------------------------------------------------------------

# lab_init NAME: check the prerequisites (exit 77 when this machine cannot run the lab), pick
# unique names and install the teardown trap.
lab_init() {
	LAB_NAME=$1
	need_root "$LAB_NAME needs root (network namespaces, nftables, wireguard-go)"
	[[ -n ${KILLSWITCH:-} ]] || die "set KILLSWITCH to the killswitch binary"
	[[ -x $KILLSWITCH ]] || die "KILLSWITCH=$KILLSWITCH is not executable"
	KILLSWITCH=$(readlink -f "$KILLSWITCH")
	local tool
	for tool in ip nft wg wireguard-go ping sysctl "$PYTHON"; do
		command -v "$tool" >/dev/null || skip "$LAB_NAME needs '$tool' (run demo.sh or install the packages in tests/e2e/README.md)"
	done
	[[ -c /dev/net/tun ]] || skip "$LAB_NAME needs /dev/net/tun for wireguard-go"
	ip netns add "kse-probe-$$" 2>/dev/null || skip "$LAB_NAME cannot create network namespaces here"
	ip netns del "kse-probe-$$"

	lab_reap_stale
	for _ in 1 2 3 4 5 6 7 8; do
		LAB_ID=$(printf '%04x' $(((RANDOM << 3 ^ $$ ^ RANDOM) & 0xffff)))
		[[ -e /run/netns/kse-$LAB_ID-c || -e /var/run/wireguard/kse${LAB_ID}c.sock ]] || break
	done
	NS_C=kse-$LAB_ID-c NS_I=kse-$LAB_ID-i NS_N=kse-$LAB_ID-n
	# shellcheck disable=SC2034 # a second router and the LAN behind it (site2site.sh)
	NS_B=kse-$LAB_ID-b NS_M=kse-$LAB_ID-m
	# shellcheck disable=SC2034 # WGQ: wg-quick's interface (wgquick.sh) or a second tunnel, WGM its server (mesh.sh)
	WGC=kse${LAB_ID}c WGS=kse${LAB_ID}s WGQ=kse${LAB_ID}q WGM=kse${LAB_ID}m
	LAB_TMP=$(mktemp -d "/tmp/ks-e2e.$LAB_ID.XXXXXX")
	proc_id $$ >"$LAB_TMP/owner"
	echo "$LAB_ID" >"$LAB_TMP/id"
	mkdir -m 0700 "$LAB_TMP/run" "$LAB_TMP/conf"
	trap lab_teardown EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	LAB_T0=$SECONDS
	log "$LAB_NAME: lab $LAB_ID in $LAB_TMP (namespaces $NS_C $NS_I $NS_N)"
}

# lab_require CMD...: skip (77) with the reason when a tool this test needs is missing.
lab_require() {
	local tool
	for tool; do
		command -v "$tool" >/dev/null || skip "$LAB_NAME needs '$tool' (see tests/e2e/README.md for the packages)"
	done
	if [[ " $* " == *" busybox "* ]]; then
		# not `busybox --list | grep -q`: grep quits at the match, busybox may still be writing,
		# and its SIGPIPE fails the pipeline under pipefail (findings.sh skipped in CI that way)
		grep -qx udhcpc <(busybox --list) || skip "$LAB_NAME needs busybox with the udhcpc applet"
	fi
}

# Remove every resource of lab ID (namespaces, their processes, wireguard sockets).
lab_destroy_id() {
	local id=$1 ns pid pids wg
	for ns in "kse-$id-c" "kse-$id-n" "kse-$id-b" "kse-$id-m" "kse-$id-i"; do
		[[ -e /run/netns/$ns ]] || continue
		# Every process inside the lab's namespaces is the lab's: wireguard-go (also the one
		# wg-quick daemonized), dnsmasq, udhcpc, the services and the probes.
		for _ in 1 2 3; do
			pids=$(ip netns pids "$ns" 2>/dev/null || true)
			[[ -n $pids ]] || break
			# shellcheck disable=SC2086
			kill $pids 2>/dev/null || true
			sleep 0.2
		done
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		# shellcheck disable=SC2086
		[[ -z $pids ]] || kill -KILL $pids 2>/dev/null || true
		# Delete the tun devices before the namespace: they must never end up anywhere else.
		for wg in "kse${id}c" "kse${id}s" "kse${id}q" "kse${id}m"; do
			ip -n "$ns" link del "$wg" 2>/dev/null || true
		done
		ip netns del "$ns" 2>/dev/null || true
	done
	for wg in "kse${id}c" "kse${id}s" "kse${id}q" "kse${id}m"; do
		rm -f "/var/run/wireguard/$wg.sock"
	done
}

# proc_id PID: "PID STARTTIME" of a live (not zombie) process, nothing otherwise. The start time
# tells a recycled PID from the original.
proc_id() {
	local stat rest
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	rest=${stat##*) }
	# shellcheck disable=SC2086
	set -- $rest
	[[ $1 != Z ]] && printf '%s %s\n' "${stat%% *}" "${20}"
	return 0
}

# Labs whose owner died without running its trap (a ctest timeout sends SIGKILL).
lab_reap_stale() {
	local dir owner id
	for dir in /tmp/ks-e2e.*; do
		[[ -f $dir/owner && -f $dir/id ]] || continue
		owner=$(<"$dir/owner") id=$(<"$dir/id")
		[[ $owner =~ ^[0-9]+\ [0-9]+$ && $id =~ ^[0-9a-f]{4}$ ]] || continue
		[[ $(proc_id "${owner%% *}") == "$owner" ]] && continue
		log "reaping the stale lab $id (its owner, PID ${owner%% *}, is gone)"
		lab_destroy_id "$id"
		rm -rf "$dir"
	done
}

lab_teardown() {
	local rc=$? pid
	trap - EXIT INT TERM ERR
	set +e
	# Our own background jobs (still running, so their PIDs are still theirs).
	for pid in $(jobs -p); do
		kill "$pid" 2>/dev/null
	done
	if [[ -n ${LAB_ID:-} ]]; then
		if [[ $rc -ne 0 && $rc -ne 77 && -n ${LAB_TMP:-} && -d $LAB_TMP ]]; then
			lab_dump_state >"$LAB_TMP/state-at-exit.txt" 2>&1
		fi
		lab_destroy_id "$LAB_ID"
	fi
	wait 2>/dev/null
	if [[ -n ${LAB_TMP:-} && -d $LAB_TMP ]]; then
		if [[ $rc -ne 0 && $rc -ne 77 ]]; then
			log "logs kept in $LAB_TMP"
			rm -f "$LAB_TMP/owner"
		elif [[ -z ${KS_E2E_KEEP:-} ]]; then
			rm -rf "$LAB_TMP"
		fi
	fi
	[[ -n ${LAB_ID:-} ]] && log "$LAB_NAME: torn down after $((SECONDS - LAB_T0))s"
	exit "$rc"
}

lab_dump_state() {
	echo "== killswitch status"
	ks status 2>&1
	echo "== client ruleset"
	inc nft list ruleset 2>&1
	echo "== client routes"
	inc ip -4 rule; inc ip -6 rule; inc ip -4 route show table all; inc ip -6 route show table all
	echo "== isp ruleset"
	ini nft list ruleset 2>&1
	echo "== wg"
	inc wg show 2>&1; ini wg show 2>&1
}

inc() { ip netns exec "$NS_C" "$@"; }
ini() { ip netns exec "$NS_I" "$@"; }
inn() { ip netns exec "$NS_N" "$@"; }
labnet_c() { inc "$PYTHON" -S "$LABNET" "$@"; }
labnet_i() { ini "$PYTHON" -S "$LABNET" "$@"; }
labnet_n() { inn "$PYTHON" -S "$LABNET" "$@"; }

# bg NAME CMD...: a background process of the lab (logged, killed at teardown).
bg() {
	local name=$1
	shift
	"$@" >"$LAB_TMP/$name.log" 2>&1 &
}

# ns_base NS: a fresh namespace with its kernel defaults, plus no DAD (addresses usable at once)
# and no router advertisements.
ns_base() {
	local ns=$1
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
}

start_wireguard() { # start_wireguard NS IFNAME
	bg "wireguard-go-$2" ip netns exec "$1" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error wireguard-go "$2"
	wait_for 10 test -S "/var/run/wireguard/$2.sock" || die "wireguard-go $2 did not start"
	wait_for 5 ip -n "$1" link show "$2" || die "wireguard-go $2 has no interface"
}

# lab_up [--no-client-wg]: build the whole topology, start the services, the VPN server and the
# oracles; then (unless told otherwise) the client's WireGuard interface with wg-quick-style
# policy routing, and wait for its first handshake.
lab_up() {
	local client_wg=1
	[[ ${1:-} == --no-client-wg ]] && client_wg=0
	ns_base "$NS_C"
	ns_base "$NS_I"
	ns_base "$NS_N"

	ip link add phy0 netns "$NS_C" type veth peer name isp0 netns "$NS_I"
	ip link add ctr0 netns "$NS_C" type veth peer name eth0 netns "$NS_N"

	# ISP side: the home router, a LAN host and an attacker on the LAN, "the internet" behind it.
	ini ip addr add $GW4/24 dev isp0
	ini ip addr add $LANHOST4/24 dev isp0
	ini ip addr add $ATTACKER4/24 dev isp0
	ini ip addr add $GW6LL/64 dev isp0 nodad
	ini ip addr add fd77::1/64 dev isp0 nodad
	ini ip addr add $LANHOST6/64 dev isp0 nodad
	ini ip addr add $ATTACKER6/64 dev isp0 nodad
	ini ip addr add 2001:db8:77::1/64 dev isp0 nodad
	# IPv6 "internet" hosts sit on isp0 so they answer neighbour solicitations (TunnelCrack LocalNet).
	ini ip addr add $NET6/128 dev isp0 nodad
	ini ip addr add $RESOLVER6/128 dev isp0 nodad
	ini ip link set isp0 up
	local a
	for a in $NET4 $NET4B $RESOLVER4 $EP4; do ini ip addr add "$a/32" dev lo; done
	# The attacker of CVE-2019-14899 sends to the client's tunnel addresses over the LAN.
	ini ip -4 rule add from $ATTACKER4 lookup 166 pref 100
	ini ip -4 route add 10.66.0.0/24 via $C4 dev isp0 table 166
	ini ip -6 rule add from $ATTACKER6 lookup 166 pref 100
	ini ip -6 route add fd66::/64 via $CULA6 dev isp0 table 166

	# Client: the physical link and the container link.
	inc ip addr add $C4/24 dev phy0
	inc ip addr add $CULA6/64 dev phy0 nodad
	inc ip addr add $C6/64 dev phy0 nodad
	inc ip link set phy0 up
	inc ip route add default via $GW4 dev phy0
	inc ip -6 route add default via $GW6LL dev phy0
	inc ip addr add 10.99.0.1/24 dev ctr0
	inc ip addr add fd99::1/64 dev ctr0 nodad
	inc ip link set ctr0 up
	inc sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.conf.all.src_valid_mark=1
	# The container runtime's NAT (as docker does it), in its own table.
	inc nft -f - <<-EOF
		table inet labnat {
			chain post {
				type nat hook postrouting priority srcnat + 10; policy accept;
				oifname != "ctr0" ip saddr 10.99.0.0/24 masquerade
				oifname != "ctr0" ip6 saddr fd99::/64 masquerade
			}
		}
	EOF
	inn ip addr add $CTR4/24 dev eth0
	inn ip addr add $CTR6/64 dev eth0 nodad
	inn ip link set eth0 up
	inn ip route add default via 10.99.0.1
	inn ip -6 route add default via fd99::1

	# Static IPv6 neighbours where the kill switch would otherwise stop neighbour discovery before
	# the packet under test exists (the client's unicast neighbour advertisements to non-link-local
	# addresses are rejected, see findings.sh): the ISP side knows the client, the container knows
	# its gateway. Then inbound and forwarded probes test the chains they claim to test.
	local mac
	mac=$(inc cat /sys/class/net/phy0/address)
	ini ip -6 neigh replace $CULA6 lladdr "$mac" dev isp0 nud permanent
	ini ip -6 neigh replace $C6 lladdr "$mac" dev isp0 nud permanent
	mac=$(inc cat /sys/class/net/ctr0/address)
	inn ip -6 neigh replace fd99::1 lladdr "$mac" dev eth0 nud permanent

	oracle_install

	# Services: TCP/UDP echo, DNS (UDP+TCP, also on 853), STUN, a pushing TCP port.
	bg serve-isp ini "$PYTHON" -S "$LABNET" serve --tcp 22,80,443,853,$EP_PORT --udp 7,443,853,5000,1900,5353 \
		--dns 53 --stun 3478 --push 7001 --ready "$LAB_TMP/serve-isp.ready"
	bg serve-client inc "$PYTHON" -S "$LABNET" serve --tcp 22 --udp 5000 --ready "$LAB_TMP/serve-client.ready"
	wait_for 10 test -f "$LAB_TMP/serve-isp.ready" || die "the ISP services did not start"
	wait_for 10 test -f "$LAB_TMP/serve-client.ready" || die "the client services did not start"

	# The VPN: wireguard-go on both sides.
	umask 077
	wg genkey >"$LAB_TMP/c.key"
	wg genkey >"$LAB_TMP/s.key"
	CKEY_PUB=$(wg pubkey <"$LAB_TMP/c.key")
	SKEY_PUB=$(wg pubkey <"$LAB_TMP/s.key")
	umask 022
	start_wireguard "$NS_I" "$WGS"
	ini wg set "$WGS" private-key "$LAB_TMP/s.key" listen-port $EP_PORT \
		peer "$CKEY_PUB" allowed-ips $TUN4/32,$TUN6/128
	ini ip addr add $VPNDNS4/24 dev "$WGS"
	ini ip addr add $VPNDNS6/64 dev "$WGS" nodad
	ini ip link set "$WGS" up
	tunnel_oracle_install

	if ((client_wg)); then
		start_wireguard "$NS_C" "$WGC"
		client_tunnel_configure
		wait_handshake 10 || die "the WireGuard handshake did not complete"
	fi
	log "lab up in $((SECONDS - LAB_T0))s"
}

# client_tunnel_configure: the client's (started) WireGuard interface as the VPN client sets it
# up: key, fwmark, peer, addresses, link up, wg-quick's routes.
client_tunnel_configure() {
	inc wg set "$WGC" private-key "$LAB_TMP/c.key" fwmark $FWMARK
	wg_peer_add
	inc ip addr add $TUN4/32 dev "$WGC"
	inc ip addr add $TUN6/128 dev "$WGC" nodad
	inc ip link set "$WGC" up
	routes_tunnel
}

# flood_from LABNET SECONDS DST4 DST6 [ARG...]: a UDP flood to port 9 of DST4 and DST6 from the
# namespace LABNET runs in (labnet_c, labnet_n, ...; ARGs: e.g. --bind-dev), until SECONDS pass or
# flood_stop; flood_attempts: the send attempts of the last one, counted from its outputs
# (flood4.out, flood6.out). flood_start SECONDS: the client's, off the tunnel (bound to phy0).
flood_from() {
	local fn=$1 secs=$2 dst4=$3 dst6=$4 p4
	shift 4
	rm -f "$LAB_TMP/flood.stop"
	"$fn" flood "$dst4" 9 "$@" --seconds "$secs" --stop-file "$LAB_TMP/flood.stop" >"$LAB_TMP/flood4.out" 2>&1 &
	p4=$!
	"$fn" flood "$dst6" 9 "$@" --seconds "$secs" --stop-file "$LAB_TMP/flood.stop" >"$LAB_TMP/flood6.out" 2>&1 &
	FLOOD_PIDS="$p4 $!"
}
flood_start() { flood_from labnet_c "$1" $NET4 $NET6 --bind-dev phy0; }
flood_stop() {
	touch "$LAB_TMP/flood.stop"
	# shellcheck disable=SC2086
	wait $FLOOD_PIDS || true
}
flood_attempts() { awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^(sent|errors)=/) { split($i, a, "="); n += a[2] } } END { print n + 0 }' "$LAB_TMP"/flood[46].out; }

wg_peer_add() {
	inc wg set "$WGC" peer "$SKEY_PUB" endpoint "$ENDPOINT" allowed-ips 0.0.0.0/0,::/0 persistent-keepalive 25
}

# A fresh handshake on demand: remove the peer and add it again (the keepalive starts one at once).
wg_rehandshake() {
	inc wg set "$WGC" peer "$SKEY_PUB" remove
	wg_peer_add
}

handshake_done() {
	local t
	t=$(inc wg show "$WGC" latest-handshakes | awk '{print $2}')
	[[ -n $t && $t != 0 ]]
}
wait_handshake() { wait_for "$1" handshake_done; }

# wg-quick's policy routing for a full tunnel (Table = auto, AllowedIPs = 0.0.0.0/0, ::/0).
routes_tunnel() {
	local v
	routes_off
	for v in -4 -6; do
		inc ip $v route replace default dev "$WGC" table $RT_TABLE
		inc ip $v rule add not fwmark $FWMARK table $RT_TABLE pref 32000
		inc ip $v rule add table main suppress_prefixlength 0 pref 31999
	done
}
# The tunnel's routing is gone (the VPN is connecting, crashed, or something removed its rules):
# traffic follows the main table's default route out of the physical interface.
routes_off() {
	local v
	for v in -4 -6; do
		inc ip $v rule del pref 32000 2>/dev/null || true
		inc ip $v rule del pref 31999 2>/dev/null || true
	done
}

# A source-address policy rule for the physical address (multi-homing setups add these): sockets
# bound to that address use the main table, outside the tunnel's routing.
rule_from_phys() {
	if [[ $1 == on ]]; then
		inc ip -4 rule add from $C4 lookup main pref 100
		inc ip -6 rule add from $C6 lookup main pref 100
	else
		inc ip -4 rule del pref 100 2>/dev/null || true
		inc ip -6 rule del pref 100 2>/dev/null || true
	fi
}

# routes_via ADDR DEV: the client routes ADDR out of DEV (a precondition check).
routes_via() { inc ip route get "$1" | grep -q " dev $2 "; }


# ---- the kill switch -----------------------------------------------------------------------

# ks_argv: sets KS_ARGV to the command prefix that runs killswitch in the client namespace with the
# lab's run and config directories (each part execs the next in place). A theme may redefine it
# (watch.sh: nsenter, to see the host's cgroups as a real host would).
ks_argv() {
	KS_ARGV=(ip netns exec "$NS_C" env KILLSWITCH_RUNDIR="$LAB_TMP/run" KILLSWITCH_CONFDIR="$LAB_TMP/conf")
}
ks() {
	ks_argv
	"${KS_ARGV[@]}" "$KILLSWITCH" "$@"
}
ks_quiet() {
	local out
	out=$(ks "$@" 2>&1) || {
		printf 'killswitch %s failed:\n%s\n' "$*" "$out" >&2
		return 1
	}
}
KS_DNS=$VPNDNS4
ks_enable() { ks_quiet enable --tunnel "$WGC" --endpoint "$ENDPOINT" --dns "$KS_DNS" "$@"; }
ks_block() { ks_quiet block "$@"; }
ks_connecting() { ks_quiet block --endpoint "$ENDPOINT" "$@"; }
ks_disable() { ks_quiet disable; }

ks_table_present() { inc nft list table inet killswitch >/dev/null 2>&1; }
ks_inactive() { ks status --json | grep -q '"active": false'; }
# ks_complete: `killswitch status --json` says the table is whole (no pipe: nothing to SIGPIPE).
ks_complete() { [[ $(ks status --json) == *'"complete": true'* ]]; }
not() { ! "$@"; }
# ks_status_lists WORD...: `killswitch status --json` mentions each WORD (quoted).
ks_status_lists() {
	local json w
	json=$(ks status --json)
	for w; do grep -q "\"$w\"" <<<"$json" || return 1; done
}


# ---- oracles -------------------------------------------------------------------------------

oracle_install() {
	ini nft -f - <<-EOF
		table netdev oracle {
			counter leak {
			}
			counter wireguard {
			}
			counter excluded {
			}
			chain ingress {
				type filter hook ingress device "isp0" priority -500; policy accept;
				meta protocol arp counter name excluded accept
				meta protocol ip ip daddr $EP4 udp dport $EP_PORT @th,64,32 { 0x01000000, 0x02000000, 0x03000000, 0x04000000 } counter name wireguard accept
				# The same WireGuard messages to the server's LAN-side address: the client roams
				# there when wireguard-go's server, its sticky source lost, answers from it, and
				# --allow-lan then lets the encrypted tunnel through to a LAN address (seen once
				# in four runs of protect.sh, in the connecting state).
				meta protocol ip ip daddr $GW4 udp dport $EP_PORT @th,64,32 { 0x01000000, 0x02000000, 0x03000000, 0x04000000 } counter name wireguard accept
				meta protocol ip6 icmpv6 type { mld-listener-query, mld-listener-report, mld-listener-done, mld2-listener-report, nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect } counter name excluded accept
				counter name leak
			}
		}
	EOF
}

tunnel_oracle_install() {
	ini nft -f - <<-EOF
		table inet tunoracle {
			counter seen {
			}
			chain pre {
				type filter hook prerouting priority -500; policy accept;
				iifname "$WGS" counter name seen
			}
		}
	EOF
}

# The delivery oracles, for inbound and forwarded probes whose answer the kill switch would refuse
# on its way out anyway, so that nothing could be seen on the far side of the link: what the kill
# switch let in is a leak too (a datagram injected, a connection that survives one way). A table of
# its own in the receiving namespace counts, in the input hook after the kill switch's filter
# (priority 100; it only counts, it cannot change a verdict), every TCP/UDP packet and echo
# request that arrived from elsewhere, except the VPN's own WireGuard packets from the endpoint and
# TCP resets (the kill switch's own refusals: the forward chain resets a guest's refused flow).
#   delivery_oracle_install c|n: in the client (oracle "in": what its input chain accepted), or in
#   the container (oracle "ctr": what the client's forward chain let through to it).
delivery_oracle_install() {
	local ns
	case $1 in
	c) ns=$NS_C ;;
	n) ns=$NS_N ;;
	*) die "delivery_oracle_install c|n" ;;
	esac
	ip netns exec "$ns" nft -f - <<-EOF
		table inet labdelivery {
			counter seen {
			}
			chain input {
				type filter hook input priority 100; policy accept;
				iifname "lo" return
				ip saddr $EP4 udp sport $EP_PORT return
				tcp flags & rst == rst return
				meta l4proto { tcp, udp } counter name seen
				icmp type echo-request counter name seen
				icmpv6 type echo-request counter name seen
			}
		}
	EOF
}

counter_of() { # counter_of FAMILY TABLE NAME
	ini nft list counter "$1" "$2" "$3" | awk '$1 == "packets" { print $2; exit }'
}
oracle_phys() { counter_of netdev oracle leak; }
oracle_tun() { counter_of inet tunoracle seen; }
oracle_in() { inc nft list counter inet labdelivery seen | awk '$1 == "packets" { print $2; exit }'; }
oracle_ctr() { inn nft list counter inet labdelivery seen | awk '$1 == "packets" { print $2; exit }'; }

# ---- probes --------------------------------------------------------------------------------

SETTLE=${KS_E2E_SETTLE:-0.15}

table_header() {
	printf '%-52s %-22s %-9s %-9s %7s  %s\n' PROBE STATE EXPECTED SEEN LEAKED RESULT
}
table_row() { # probe state expected seen leaked result
	local line
	line=$(printf '%-52s %-22s %-9s %-9s %7s  %s' "$@")
	printf '%s\n' "$line"
	[[ -z ${KS_E2E_TABLE:-} ]] || printf '%s\t%s\n' "$LAB_NAME" "$line" >>"$KS_E2E_TABLE"
}

# run_probe NAME STATE EXPECT ORACLE CMD...
#   EXPECT blocked: the oracle saw nothing (and nothing left through the physical link)
#          leak:    the oracle saw it (a control run: the probe is able to leak)
#          pass:    it left through the physical link (allowed, e.g. the LAN) and was answered
#          tunnel:  it went through the tunnel, was answered, and nothing left outside it
#   ORACLE phys (the physical link), tun (what came out of the tunnel at the VPN server), or in /
#          ctr (what the client's input chain let in / what reached the container: the delivery
#          oracles, installed first with delivery_oracle_install; blocked also needs phys quiet)
run_probe() {
	local name=$1 state=$2 expect=$3 oracle=$4
	shift 4
	local p0 t0 p1 t1 d0=0 d1=0 dp dt dd rc=0 out seen ok=0 shown kind
	local start=$EPOCHREALTIME
	p0=$(oracle_phys) t0=$(oracle_tun)
	case $oracle in in | ctr) d0=$(oracle_"$oracle") ;; esac
	out=$("$@" 2>&1) || rc=$?
	[[ -z ${KS_E2E_TIMING:-} ]] || log "$(( (${EPOCHREALTIME/./} - ${start/./}) / 1000 ))ms: $name ($state)"
	sleep "$SETTLE"
	p1=$(oracle_phys) t1=$(oracle_tun)
	case $oracle in in | ctr) d1=$(oracle_"$oracle") ;; esac
	dp=$((p1 - p0)) dt=$((t1 - t0)) dd=$((d1 - d0))
	shown=$dp
	case $oracle in
	tun) shown="tun:$dt" ;;
	in | ctr) shown="$oracle:$dd" ;;
	esac
	# What moved on the physical link too, when it is not the oracle shown.
	[[ $oracle == phys ]] || ((dp == 0)) || shown="$dp,$shown"
	case $expect in
	blocked)
		if ((dp == 0 && dd == 0)) && { [[ $oracle != tun ]] || ((dt == 0)); }; then
			seen=nothing ok=1
		else
			seen=LEAK
		fi
		;;
	leak)
		case $oracle in
		tun) ((dt > 0)) && ok=1 ;;
		in | ctr) ((dd > 0)) && ok=1 ;;
		*) ((dp > 0)) && ok=1 ;;
		esac
		if ((ok)); then seen=leak; else seen=nothing; fi
		;;
	pass)
		if ((dp > 0 && rc == 0)); then seen=allowed ok=1; elif ((dp > 0)); then seen=no-reply; else seen=nothing; fi
		;;
	tunnel)
		shown=$dp
		if ((dp == 0 && dt > 0 && rc == 0)); then
			seen=tunnel ok=1
		elif ((dp > 0)); then
			seen=LEAK
		else
			seen=no-reply
		fi
		;;
	*) die "run_probe: bad expectation $expect" ;;
	esac
	kind=probe
	[[ $expect != leak && $state != *control* ]] || kind=control
	lab_record "$kind" "$name" "$state" "$expect" "$seen" "$shown" "$ok" \
		"$(printf '    command: %s\n    rc=%s output: %s' "$*" "$rc" "${out//$'\n'/ | }")"
}

# leak_pair NAME STATE APPLY ORACLE CMD...: the probe under the kill switch (APPLY: a command
# that puts it in STATE) must leak nothing; its control, the same probe with the kill switch
# disabled, must leak (else the probe proves nothing).
leak_pair() {
	local name=$1 state=$2 apply=$3 oracle=$4
	shift 4
	# shellcheck disable=SC2086
	$apply || die "cannot apply '$apply'"
	run_probe "$name" "$state" blocked "$oracle" "$@"
	ks_disable || die "killswitch disable failed"
	run_probe "$name" "disabled (control)" leak "$oracle" "$@"
}

# probes_through_tunnel STATE: the client's tcp4 80, udp4 7 and icmp4 to $NET4 and tcp6 80, udp6 7
# and icmp6 to $NET6 must all go through the tunnel.
probes_through_tunnel() {
	local state=$1
	run_probe "tcp4 $(hp $NET4 80) through the tunnel" "$state" tunnel phys send_c tcp $NET4 80
	run_probe "udp4 $(hp $NET4 7) through the tunnel" "$state" tunnel phys send_c udp $NET4 7
	run_probe "icmp4 $NET4 through the tunnel" "$state" tunnel phys ping4 $NET4
	run_probe "tcp6 $(hp $NET6 80) through the tunnel" "$state" tunnel phys send_c tcp $NET6 80
	run_probe "udp6 $(hp $NET6 7) through the tunnel" "$state" tunnel phys send_c udp $NET6 7
	run_probe "icmp6 $NET6 through the tunnel" "$state" tunnel phys ping6 $NET6
}

# leak_pair_public STATE APPLY WHY4 WHY6: the client's tcp4 80, udp4 7 and icmp4 to $NET4 and tcp6 80
# and icmp6 to $NET6 off the tunnel, each a leak_pair labelled with how the route got there.
leak_pair_public() {
	local state=$1 apply=$2 why4=$3 why6=$4
	leak_pair "tcp4 $(hp $NET4 80) $why4" "$state" "$apply" phys send_c tcp $NET4 80
	leak_pair "udp4 $(hp $NET4 7) $why4" "$state" "$apply" phys send_c udp $NET4 7
	leak_pair "icmp4 $NET4 $why4" "$state" "$apply" phys ping4 $NET4
	leak_pair "tcp6 $(hp $NET6 80) $why6" "$state" "$apply" phys send_c tcp $NET6 80
	leak_pair "icmp6 $NET6 $why6" "$state" "$apply" phys ping6 $NET6
}

# lab_record probe|control NAME STATE EXPECT SEEN SHOWN OK DETAIL: counts one check and prints
# its row (OK 1: ok, 0: FAIL, followed by DETAIL: the command and what it said).
lab_record() {
	local kind=$1 name=$2 state=$3 expect=$4 seen=$5 shown=$6 ok=$7 detail=$8
	if [[ $kind == control ]]; then LAB_CONTROLS=$((LAB_CONTROLS + 1)); else LAB_PROBES=$((LAB_PROBES + 1)); fi
	if ((ok)); then
		LAB_OK=$((LAB_OK + 1))
		table_row "$name" "$state" "$expect" "$seen" "$shown" ok
	else
		LAB_FAILS=$((LAB_FAILS + 1))
		table_row "$name" "$state" "$expect" "$seen" "$shown" FAIL
		printf '%s\n' "$detail"
	fi
}

# _check probe|control NAME STATE EXPECT CMD...: run CMD, count it, print its row.
_check() {
	local counter=$1 name=$2 state=$3 expect=$4 rc=0 out
	shift 4
	out=$("$@" 2>&1) || rc=$?
	if ((rc == 0)); then
		lab_record "$counter" "$name" "$state" "$expect" "$expect" - 1 ""
	else
		lab_record "$counter" "$name" "$state" "$expect" "not-$expect" - 0 \
			"$(printf '    command: %s\n    rc=%s output: %s' "$*" "$rc" "${out//$'\n'/ | }")"
	fi
}
# check NAME STATE EXPECTED CMD...: an assertion that is not about packets (status, handshake).
check() { _check probe "$@"; }
# check_control: the same, counted as a control.
check_control() { _check control "$@"; }

# Traffic, from the client unless the helper says otherwise. Each prints what it did.
ping4() { inc ping -n -c 1 -W 1 "$@"; }
ping6() { inc ping -6 -n -c 1 -W 1 "$@"; }
send_c() { labnet_c send "$@"; }
# The container's blocked traffic gets no fast error (see findings.sh): keep its timeouts short.
CTR_WAIT=${KS_E2E_CTR_WAIT:-0.5}
send_n() { labnet_n send --wait "$CTR_WAIT" "$@"; }
dns_n() { labnet_n dns --wait "$CTR_WAIT" "$@"; }
ping_n() { inn ping -n -c 1 -W "$CTR_WAIT" "$@"; }
ping6_n() { inn ping -6 -n -c 1 -W "$CTR_WAIT" "$@"; }
dns_c() { labnet_c dns "$@"; }

# Inbound traffic, sent from the ISP side to the client; the oracle counts the client's answers.
# A blocked probe waits for an answer that never comes: keep that short (the link is a veth).
INBOUND_WAIT=${KS_E2E_INBOUND_WAIT:-0.5}
ping_from_isp() { ini ping -n -c 1 -W "$INBOUND_WAIT" -I "$@"; }
ping6_from_isp() { ini ping -6 -n -c 1 -W "$INBOUND_WAIT" -I "$@"; }
send_from_isp() { labnet_i send --wait "$INBOUND_WAIT" "$@"; }

# hp ADDR PORT: "addr:port", "[addr]:port" for IPv6 (for probe names).
hp() { if [[ $1 == *:* ]]; then printf '[%s]:%s' "$1" "$2"; else printf '%s:%s' "$1" "$2"; fi; }

# Handshake probes: a fresh handshake completes within SECONDS / does not.
handshake_completes() {
	wg_rehandshake
	wait_handshake "$1"
}
handshake_fails() {
	wg_rehandshake
	! wait_handshake "$1"
}

# ---- scenes ---------------------------------------------------------------------------------

# rogue_dhcp ROUTE,GATEWAY[,ROUTE,GATEWAY...]: a DHCP server on the LAN (dnsmasq, in the ISP
# namespace) that hands out leases with those classless static routes (option 121). No DNS option.
# Replies are broadcast: a reply unicast to the address being leased reaches the client before it
# holds that address, the client (a router, for the container) forwards it back out of phy0, and
# the "host unreachable" it sends about it 3 s later counts as a leak in whatever probe is running.
# ROGUE_DHCP_UNICAST=1 keeps dnsmasq's unicast replies (a test of the unicast RENEW's answer).
rogue_dhcp() {
	command -v dnsmasq >/dev/null || die "dnsmasq is missing (apt-get install dnsmasq-base)"
	bg dnsmasq ini dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 --interface=isp0 \
		--bind-interfaces --no-ping --dhcp-authoritative \
		$([[ ${ROGUE_DHCP_UNICAST:-0} == 1 ]] || echo --dhcp-broadcast) --log-dhcp --log-facility=- \
		--dhcp-range=192.168.77.100,192.168.77.150,255.255.255.0,1h \
		--dhcp-option=option:router,$GW4 --dhcp-option=option:dns-server \
		--dhcp-option=option:classless-static-route,"$1" \
		--dhcp-leasefile="$LAB_TMP/dnsmasq.leases" --pid-file="$LAB_TMP/dnsmasq.pid"
	wait_for 10 test -s "$LAB_TMP/dnsmasq.pid" || die "dnsmasq did not start"
}
rogue_dhcp_stop() {
	[[ -s $LAB_TMP/dnsmasq.pid ]] && kill "$(<"$LAB_TMP/dnsmasq.pid")" 2>/dev/null
	rm -f "$LAB_TMP/dnsmasq.pid"
}
# dhcp_client: one DHCP exchange on phy0 (busybox udhcpc, asking for option 121), then exit.
dhcp_client() {
	inc busybox udhcpc -i phy0 -f -q -n -t 4 -T 1 -O staticroutes -s "$E2E_DIR/dhcp-client-script.sh"
}

# A flow opened before the kill switch came up (labnet hold): hold_open ID ARGS... opens it in
# the background (dies unless it is established); hold_go ID lets it send (with --send) and read
# for a second, and waits for it to finish. HOLD_AT=n opens it from the container (forwarded).
declare -A HOLD_PIDS=()
hold_open() {
	local id=$1
	shift
	rm -f "$LAB_TMP/$id".{ready,go,out}
	labnet_"${HOLD_AT:-c}" hold "$@" --ready "$LAB_TMP/$id.ready" --go "$LAB_TMP/$id.go" >"$LAB_TMP/$id.out" 2>&1 &
	HOLD_PIDS[$id]=$!
	wait_for 5 test -f "$LAB_TMP/$id.ready" || die "hold $*: the flow did not open: $(cat "$LAB_TMP/$id.out")"
}
hold_go() {
	touch "$LAB_TMP/$1.go"
	wait "${HOLD_PIDS[$1]}" || true
	cat "$LAB_TMP/$1.out"
}
# hold_pair NAME STATE BEFORE APPLY ARGS...: BEFORE sets the scene (routing), the flow opens,
# APPLY brings the kill switch up; afterwards the flow must get nothing out, nor anything in (the
# delivery oracle, HOLD_ORACLE: in, or ctr for a flow of the container's). The control opens the
# same flow in the same scene and never brings the kill switch up.
hold_pair() {
	local name=$1 state=$2 before=$3 apply=$4 oracle=${HOLD_ORACLE:-phys}
	shift 4
	$before
	hold_open pre "$@"
	# shellcheck disable=SC2086
	$apply || die "cannot apply '$apply'"
	run_probe "$name" "$state" blocked "$oracle" hold_go pre
	ks_disable
	$before
	hold_open ctl "$@"
	run_probe "$name" "disabled (control)" leak "$oracle" hold_go ctl
}

# fails_fast CMD...: CMD fails with "refused" (an RST came back) within 1.5 s: a bound a loaded
# machine keeps (an RST takes milliseconds) and a hang (a dropped SYN, retried) cannot.
fails_fast() {
	local t0=${EPOCHREALTIME/./} out
	out=$("$@" 2>&1) && return 1
	grep -q refused <<<"$out" && (((${EPOCHREALTIME/./} - t0) / 1000 < 1500))
}

# ---- killswitch watch ----------------------------------------------------------------------

# watch_start LOG: `killswitch watch` in the background (KS_ARGV execs in place: WATCH_PID is
# watch itself), its stderr in $LAB_TMP/LOG, until it says it is guarding.
WATCH_PID=
watch_start() {
	WATCH_LOG=$LAB_TMP/$1
	# Emptied now, not by the background redirection, which may come after the first poll (a log
	# reused from an earlier watch would say "guarding" at once).
	: >"$WATCH_LOG"
	ks_argv
	"${KS_ARGV[@]}" "$KILLSWITCH" watch 2>"$WATCH_LOG" &
	WATCH_PID=$!
	wait_for 10 grep -q guarding "$WATCH_LOG" || die "watch did not start: $(cat "$WATCH_LOG")"
}
watch_stop() {
	[[ -n $WATCH_PID ]] || return 0
	kill "$WATCH_PID" 2>/dev/null || true
	wait "$WATCH_PID" 2>/dev/null || true
	WATCH_PID=
}
# The guard table watch holds (flags owner), and whether it is there.
GUARD=killswitch_guard
guard_present() { inc nft list table inet $GUARD >/dev/null 2>&1; }
guard_owned() { [[ $(inc nft list table inet $GUARD 2>/dev/null) == *"flags owner"* ]]; }

# ---- tunnel faults -------------------------------------------------------------------------

# wg_pid: the client's wireguard-go; tunnel_gone: neither it nor its interface is left.
wg_pid() {
	local p
	for p in $(ip netns pids "$NS_C"); do
		[[ $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) == *"wireguard-go $WGC "* ]] && { echo "$p"; return 0; }
	done
	return 1
}
tunnel_gone() { ! inc ip link show "$WGC" >/dev/null 2>&1 && ! wg_pid >/dev/null; }
# The client crashes: SIGKILL to wireguard-go; the kernel removes its tun interface.
tunnel_crash() {
	local pid
	pid=$(wg_pid)
	kill -KILL "$pid"
	# (a job of this shell: reap it here, quietly)
	wait "$pid" 2>/dev/null || true
	wait_for 5 tunnel_gone || die "the tunnel interface did not go away"
	rm -f "/var/run/wireguard/$WGC.sock"
}

# ---- the end -------------------------------------------------------------------------------

lab_finish() {
	printf '\n%s: %d probes, %d controls, %d failed, %ds\n' "$LAB_NAME" "$LAB_PROBES" "$LAB_CONTROLS" \
		"$LAB_FAILS" "$((SECONDS - LAB_T0))"
	[[ -z ${KS_E2E_TABLE:-} ]] ||
		printf '%s\t#summary %d %d %d %d\n' "$LAB_NAME" "$LAB_PROBES" "$LAB_CONTROLS" "$LAB_FAILS" \
			"$((SECONDS - LAB_T0))" >>"$KS_E2E_TABLE"
	((LAB_FAILS == 0)) && exit 0
	exit 1
}
