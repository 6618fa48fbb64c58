#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A real OpenVPN client and server (TLS with a throwaway PKI, UDP, dev tun), with the kill switch
# in the client's up/down hooks through the killswitch-openvpn script, as docs/integrations.md
# shows it:
#   mark 51820
#   script-security 2
#   up "/usr/local/libexec/killswitch/killswitch-openvpn --fwmark 51820 --allow-lan"
#   down "/usr/local/libexec/killswitch/killswitch-openvpn --fwmark 51820 --allow-lan"
#   down-pre
#   redirect-gateway def1 ipv6
# The server (in the ISP namespace, 203.0.113.1:1194) pushes `dhcp-option DNS 10.67.0.1`, its own
# tunnel address, where the lab's resolver answers. Up: enabled from OpenVPN's environment, traffic
# tunnels, nothing leaks, only the pushed resolver answers. Down (SIGTERM): blocked, the server
# exempt, so the client reconnects; `killswitch disable` opens the host.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init openvpn
lab_require openvpn openssl
lab_up --no-client-wg
table_header

OVPN_PORT=1194 OVPN_MARK=51820
OVPN_SERVER=$EP4:$OVPN_PORT
OVPN_NET4=10.67.0 OVPN_NET6=fd67:: OVPN_DNS4=10.67.0.1
OVS=kse${LAB_ID}v OVC=kse${LAB_ID}o
D=$LAB_TMP/ovpn
mkdir -m 0700 "$D"

# ---- a PKI for this run (EC P-256, valid for a day; nothing is fetched) ----------------------
pki() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$D/ca.key" \
		-out "$D/ca.crt" -days 1 -subj /CN=killswitch-lab-ca
	local n eku
	for n in server client; do
		eku=clientAuth
		[[ $n == server ]] && eku=serverAuth
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$D/$n.key" \
			-out "$D/$n.csr" -subj "/CN=lab-$n"
		printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=%s\n' $eku >"$D/$n.ext"
		openssl x509 -req -in "$D/$n.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" -CAcreateserial \
			-out "$D/$n.crt" -days 1 -extfile "$D/$n.ext"
	done
}
pki >"$LAB_TMP/pki.log" 2>&1 || die "openssl could not make the PKI: $(tail -n 3 "$LAB_TMP/pki.log")"

# ---- the up/down script: the build's, calling the build's killswitch ---------------------------
# The configured script (build dir) calls the installed killswitch; the test points it at the
# binary under test and changes nothing else.
script_src=$(dirname "$KILLSWITCH")/integrations/killswitch-openvpn
[[ -f $script_src ]] || script_src=$E2E_DIR/../../src/integrations/openvpn/killswitch-openvpn.in
SCRIPT=$LAB_TMP/killswitch-openvpn
sed -E "s#exec [^ ]*/killswitch #exec $KILLSWITCH #" "$script_src" >"$SCRIPT"
chmod 0755 "$SCRIPT"
[[ $(grep -c "exec $KILLSWITCH " "$SCRIPT") -eq 2 ]] || die "cannot point $script_src at $KILLSWITCH"

# ---- the server: in the ISP namespace, on the VPN server's address -----------------------------
cat >"$D/server.conf" <<-CONF
	dev $OVS
	dev-type tun
	proto udp
	local $EP4
	port $OVPN_PORT
	topology subnet
	server $OVPN_NET4.0 255.255.255.0
	server-ipv6 ${OVPN_NET6}/64
	push "dhcp-option DNS $OVPN_DNS4"
	ca $D/ca.crt
	cert $D/server.crt
	key $D/server.key
	dh none
	keepalive 2 10
	verb 3
CONF
bg openvpn-server ini openvpn --config "$D/server.conf" --writepid "$D/server.pid"
wait_for 10 grep -q "Initialization Sequence Completed" "$LAB_TMP/openvpn-server.log" ||
	die "the OpenVPN server did not start: $(tail -n 3 "$LAB_TMP/openvpn-server.log")"
# The tunnel oracle also counts what comes out of the OpenVPN server's tun device.
ini nft add rule inet tunoracle pre iifname "$OVS" counter name seen
# The link oracle lets OpenVPN's own messages to the server through (UDP to the server's port
# whose first five bits are an OpenVPN opcode: control, ack, data), as it does for WireGuard's;
# the probes' payloads are not OpenVPN messages and are still counted.
ini nft add counter netdev oracle openvpn
ini nft insert rule netdev oracle ingress ip saddr $C4 ip daddr $EP4 udp dport $OVPN_PORT \
	@th,64,8 '&' 0xf8 '{ 0x20, 0x28, 0x30, 0x38, 0x48, 0x50, 0x58 }' counter name openvpn accept

# ---- the client configuration, as documented -------------------------------------------------
# write_client FILE [MARK-LINE [ROUTING-LINES]]: OpenVPN passes its scripts only its own
# environment, so the lab's state directories (a test-only addition) are given with setenv.
write_client() {
	cat >"$1" <<-CONF
		client
		dev $OVC
		dev-type tun
		proto udp
		remote $EP4 $OVPN_PORT
		nobind
		ca $D/ca.crt
		cert $D/client.crt
		key $D/client.key
		remote-cert-tls server
		${3-redirect-gateway def1 ipv6}
		${2-mark $OVPN_MARK}
		script-security 2
		up "$SCRIPT --fwmark $OVPN_MARK --allow-lan"
		down "$SCRIPT --fwmark $OVPN_MARK --allow-lan"
		down-pre
		setenv KILLSWITCH_RUNDIR $LAB_TMP/run
		setenv KILLSWITCH_CONFDIR $LAB_TMP/conf
		verb 3
	CONF
}
write_client "$D/client.conf"
write_client "$D/client-nomark.conf" "# no mark"
# Instead of redirect-gateway: the fwmark routing of `killswitch routing add` (wg-quick's rules:
# everything without the mark takes the tunnel's table). OpenVPN runs route-up without arguments
# of its own, so the tunnel name is the one `dev` fixes. No route-pre-down: OpenVPN appends its
# six up/down arguments to it, `routing del` refuses them (exit 2), and OpenVPN then exits
# without running down. The rules stay while the VPN is down (their table is empty once the tun
# is gone, so they route nothing); `killswitch disable` removes them.
write_client "$D/client-routing.conf" "mark $OVPN_MARK" "route-up \"$KILLSWITCH routing add --tunnel $OVC --fwmark $OVPN_MARK\""

CLIENT_N=0
client_start() { # client_start CONF: start the client (log openvpn-client-N.log)
	CLIENT_N=$((CLIENT_N + 1))
	CLIENT_LOG=$LAB_TMP/openvpn-client-$CLIENT_N.log
	rm -f "$D/client.pid"
	bg "openvpn-client-$CLIENT_N" inc openvpn --config "$1" --writepid "$D/client.pid"
	wait_for 5 test -s "$D/client.pid" || die "the OpenVPN client did not start: $(tail -n 3 "$CLIENT_LOG")"
	CLIENT_PID=$(<"$D/client.pid")
}
client_up() { wait_for "$1" grep -q "Initialization Sequence Completed" "$CLIENT_LOG"; }
client_gone() { ! kill -0 "$CLIENT_PID" 2>/dev/null; }
# SIGTERM, as systemd or a user stops it: OpenVPN runs the down script (before closing the tun:
# down-pre) and exits.
client_stop() {
	kill -TERM "$CLIENT_PID" 2>/dev/null || return 1
	wait_for 10 client_gone
}
up_ran() { grep -q "killswitch-openvpn --fwmark $OVPN_MARK --allow-lan $OVC " "$CLIENT_LOG"; }
ran_ok() { ! grep -q "Failed running command\|external program exited with error" "$CLIENT_LOG"; }
# Output is read whole before grep looks at it: `cmd | grep -q` fails under pipefail when grep
# quits before cmd has written everything (cmd dies of SIGPIPE).
state_is() { [[ $(ks status --json) == *"\"state\": \"$1\""* ]]; }
policy_field() { # policy_field KEY: a field of status --json's policy, as JSON
	ks status --json | "$PYTHON" -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["policy"][sys.argv[1]]))' "$1"
}
policy_is() { [[ $(policy_field "$1") == "$2" ]]; }
hook_policy_ok() { # the policy the hook applied, read from OpenVPN's environment
	state_is "$1" && policy_is tunnels "[\"$OVC\"]" && policy_is endpoints "[\"$OVPN_SERVER/udp\"]" &&
		policy_is fwmark '"0xca6c"' && policy_is dns "[\"$OVPN_DNS4\"]" && policy_is allow_lan true
}
routes_tun() { [[ $(inc ip route get "$1") == *" dev $OVC "* ]]; }

# Probe lists, each entry NAME|ORACLE|COMMAND. Every probe runs under the table the hook itself
# applied (never a re-created one), and later, with the kill switch disabled in the same scene
# (VPN up, routes lost, VPN down), as its control, which must leak.
VPN_ROUTES4=(0.0.0.0/1 128.0.0.0/1) VPN_ROUTES6=(::/3 2000::/4 3000::/4 fc00::/7)
vpn_routes() { # vpn_routes del|add: what OpenVPN's redirect-gateway installed
	local r
	for r in "${VPN_ROUTES4[@]}"; do inc ip -4 route "$1" "$r" dev "$OVC" 2>/dev/null || true; done
	for r in "${VPN_ROUTES6[@]}"; do inc ip -6 route "$1" "$r" dev "$OVC" 2>/dev/null || true; done
}
run_list() { # run_list STATE EXPECT ENTRY...
	local state=$1 expect=$2 e name oracle cmd
	shift 2
	for e; do
		IFS='|' read -r name oracle cmd <<<"$e"
		# shellcheck disable=SC2086
		run_probe "$name" "$state" "$expect" "$oracle" $cmd
	done
}
# up_list STATE EXPECT: UP_PAIRS with the VPN's routes in place, then UP_LOST with them deleted.
up_list() {
	run_list "$1" "$2" "${UP_PAIRS[@]}"
	vpn_routes del
	run_list "$1${3:-}" "$2" "${UP_LOST[@]}"
	vpn_routes add
}

# ---- the script refuses what cannot be right, and changes nothing -----------------------------
# script_refuses WORDS ARG...: the script run as OpenVPN's up would run it (its environment for
# dev $OVC) exits 2 with WORDS in its message, and no table appears.
script_refuses() {
	local words=$1 out rc=0
	shift
	out=$(inc env -i script_type=up dev="$OVC" trusted_ip=$EP4 trusted_port=$OVPN_PORT proto_1=udp \
		KILLSWITCH_RUNDIR="$LAB_TMP/run" "$SCRIPT" "$@" 2>&1) || rc=$?
	printf 'rc=%s: %s\n' "$rc" "$out"
	((rc == 2)) && [[ $out == *"$words"* ]] && ! ks_table_present
}
check "up without --fwmark: refused" disabled "exit 2" script_refuses "OpenVPN marks nothing by default" \
	"$OVC" 1500 0 10.67.0.2 255.255.255.0 init
check "up without OpenVPN's arguments: refused" disabled "exit 2" script_refuses "six up/down arguments" \
	--fwmark $OVPN_MARK

# ---- connecting: blocked, the server exempt for OpenVPN's marked socket ------------------------
connecting() { ks_quiet block --endpoint "$OVPN_SERVER/udp" --fwmark $OVPN_MARK --allow-lan; }
connecting
# Without `mark` the client's packets are not the VPN's: it cannot reach the server.
client_start "$D/client-nomark.conf"
check "OpenVPN without 'mark' cannot connect" connecting "no tunnel" not client_up 4
client_stop
check "the kill switch is still connecting" connecting blocked state_is blocked
ks_disable
client_start "$D/client-nomark.conf"
check_control "OpenVPN without 'mark' connects (no kill switch)" "disabled (control)" up client_up 15
client_stop
connecting

client_start "$D/client.conf"
check "OpenVPN up through the connecting state" connecting up client_up 15
check "up: killswitch-openvpn ran, exit 0" enabled ran up_ran
check "up: no script failure in OpenVPN's log" enabled ok ran_ok
check "up: enabled from OpenVPN's environment" enabled "$OVC" hook_policy_ok enabled
check "redirect-gateway: $NET4 via $OVC" enabled routed wait_for 5 routes_tun $NET4
check "redirect-gateway: $NET6 via $OVC" enabled routed wait_for 5 routes_tun $NET6

# ---- up: through the tunnel, and nothing else --------------------------------------------------
probes_through_tunnel "enabled (up)"
run_probe "dns udp $(hp $OVPN_DNS4 53) (pushed) through the tunnel" "enabled (up)" tunnel phys dns_c $OVPN_DNS4
run_probe "dns tcp $(hp $OVPN_DNS4 53) (pushed) through the tunnel" "enabled (up)" tunnel phys dns_c $OVPN_DNS4 --tcp
UP_PAIRS=(
	"dns udp $(hp $RESOLVER4 53) in the tunnel|tun|dns_c $RESOLVER4"
	"dns tcp $(hp $RESOLVER6 53) in the tunnel|tun|dns_c $RESOLVER6 --tcp --aaaa"
	"dns udp $(hp $OVPN_DNS4 853) (DoT port) in the tunnel|tun|dns_c $OVPN_DNS4 --port 853"
	"dns udp $(hp $RESOLVER4 53) bound to phy0|phys|dns_c $RESOLVER4 --bind-dev phy0"
	"ping -I phy0 $NET4|phys|ping4 -I phy0 $NET4"
	"ping -6 -I phy0 $NET6|phys|ping6 -I phy0 $NET6"
	"udp4 $(hp $NET4 3478) STUN bound to phy0|phys|send_c udp $NET4 3478 --stun --bind-dev phy0"
	"udp4 $(hp $EP4 $OVPN_PORT) (the server, unmarked)|phys|send_c udp $EP4 $OVPN_PORT --wait 0.3"
	"tcp4 $(hp $EP4 80) (the server's address)|phys|send_c tcp $EP4 80"
)
UP_LOST=(
	"tcp4 $(hp $NET4 80)|phys|send_c tcp $NET4 80"
	"udp4 $(hp $NET4 7)|phys|send_c udp $NET4 7"
	"icmp4 $NET4|phys|ping4 $NET4"
	"tcp6 $(hp $NET6 80)|phys|send_c tcp $NET6 80"
	"udp6 $(hp $NET6 7)|phys|send_c udp $NET6 7"
	"icmp6 $NET6|phys|ping6 $NET6"
)
up_list "enabled (up)" blocked ", routes lost"

# ---- down: the host keeps blocking; the server stays exempt; the LAN stays allowed -------------
check "OpenVPN down (SIGTERM)" enabled down client_stop
check "down: no script failure in OpenVPN's log" blocked ok ran_ok
check "down: blocked, server exempt (connecting)" blocked "$OVC" hook_policy_ok blocked
check "$OVC is gone" blocked gone not inc ip link show "$OVC"
run_probe "icmp4 $LANHOST4 (LAN, --allow-lan)" "blocked (down)" pass phys ping4 $LANHOST4
DOWN_PAIRS=(
	"tcp4 $(hp $NET4 80) after down|phys|send_c tcp $NET4 80"
	"udp4 $(hp $NET4 7) after down|phys|send_c udp $NET4 7"
	"icmp4 $NET4 after down|phys|ping4 $NET4"
	"tcp6 $(hp $NET6 80) after down|phys|send_c tcp $NET6 80"
	"udp6 $(hp $NET6 7) after down|phys|send_c udp $NET6 7"
	"icmp6 $NET6 after down|phys|ping6 $NET6"
	"dns udp $(hp $RESOLVER4 53) after down|phys|dns_c $RESOLVER4"
	"dns udp $(hp $OVPN_DNS4 53) (pushed) after down|phys|dns_c $OVPN_DNS4"
	"udp4 $(hp $EP4 $OVPN_PORT) (the server, unmarked) after down|phys|send_c udp $EP4 $OVPN_PORT --wait 0.3"
)
run_list "blocked (down)" blocked "${DOWN_PAIRS[@]}"

# Reconnect through the state the down hook left; the controls of the probes while up.
client_start "$D/client.conf"
check "OpenVPN reconnects through the down state" blocked up client_up 15
check "up again: enabled" enabled "$OVC" hook_policy_ok enabled
run_probe "icmp4 $NET4 through the tunnel" "enabled (up again)" tunnel phys ping4 $NET4
check "killswitch disable (VPN up)" enabled disabled ks_disable
up_list "disabled (control)" leak

# Down again, then only an explicit disable opens the host: the controls of the probes after down.
check "OpenVPN down again (SIGTERM)" disabled down client_stop
check "down again: blocked" blocked "$OVC" hook_policy_ok blocked
run_probe "icmp4 $NET4 after down" "blocked (down)" blocked phys ping4 $NET4
check "killswitch disable" blocked disabled ks_disable
check "status: inactive" disabled inactive ks_inactive
run_list "disabled (control)" leak "${DOWN_PAIRS[@]}"

# ---- without redirect-gateway: killswitch routing add in route-up ----------------------------
mark_rules() { # mark_rules present|absent: routing add's rules, both families
	local v n=0 rules
	for v in -4 -6; do
		rules=$(inc ip $v rule)
		[[ $rules == *"not from all fwmark 0xca6c lookup 51820"* ]] && n=$((n + 1))
		[[ $rules == *"from all lookup main suppress_prefixlength 0"* ]] && n=$((n + 1))
	done
	if [[ $1 == present ]]; then ((n == 4)); else ((n == 0)); fi
}
connecting
client_start "$D/client-routing.conf"
check "OpenVPN up (route-up: killswitch routing add)" connecting up client_up 15
check "up: enabled from OpenVPN's environment" enabled "$OVC" hook_policy_ok enabled
# route-up may finish after OpenVPN logs "Initialization Sequence Completed".
check "routing add: fwmark rules in place" enabled present wait_for 5 mark_rules present
check "$NET4 via $OVC (table 51820)" enabled routed wait_for 5 routes_tun $NET4
run_probe "tcp4 $(hp $NET4 80) through the tunnel" "enabled (routing add)" tunnel phys send_c tcp $NET4 80
run_probe "icmp6 $NET6 through the tunnel" "enabled (routing add)" tunnel phys ping6 $NET6
run_probe "dns udp $(hp $OVPN_DNS4 53) (pushed) through the tunnel" "enabled (routing add)" tunnel phys dns_c $OVPN_DNS4
run_probe "ping -I phy0 $NET4" "enabled (routing add)" blocked phys ping4 -I phy0 $NET4
check "OpenVPN down (SIGTERM)" enabled down client_stop
check "down: blocked, server exempt (connecting)" blocked "$OVC" hook_policy_ok blocked
check "down: table 51820 empty (the tun is gone)" blocked empty bash -c "[[ -z \$(ip netns exec $NS_C ip -4 route show table 51820) ]]"
run_probe "tcp4 $(hp $NET4 80) after down" "blocked (down)" blocked phys send_c tcp $NET4 80
check "killswitch disable" blocked disabled ks_disable
check "disable removed routing add's rules" disabled absent mark_rules absent
run_probe "ping -I phy0 $NET4" "disabled (control)" leak phys ping4 -I phy0 $NET4
run_probe "tcp4 $(hp $NET4 80) after down" "disabled (control)" leak phys send_c tcp $NET4 80
lab_finish
