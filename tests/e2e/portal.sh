#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# killswitch portal (issue 16, part 4; docs/portal.md): a hotel LAN whose gateway is a captive
# portal (a redirect page on 80, every DNS name answered with its own address), the client's kill
# switch in the connecting state (the tunnel cannot come up behind the portal).
#
#   client ns (C): phy0 192.168.77.2/24, default via .1   <-veth->   portal ns (I): isp0 192.168.77.1
#                                                                     lo 203.0.113.10 ("elsewhere")
#
# `killswitch portal` runs a browser (tests/e2e/portal.py session, as the sudo user nobody) that
# must resolve a name through the hijacked DNS and fetch the login page, and must not reach the
# portal's other port or another address; meanwhile a program outside the portal group floods the
# portal's own ports and elsewhere: the oracle on the portal's side of the link (two netdev ingress
# counters: "portal" for the portal's 53/80/443, "leak" for anything else) must see nothing of it.
# After the grant's timeout (KILLSWITCH_PORTAL_SECONDS, the test's short grant) the browser is
# refused too. Controls: without the kill switch the same flood reaches the oracle; without
# `portal` the same fetch fails.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init portal
lab_require unshare nsenter
PORTAL_PY=$E2E_DIR/portal.py
OTHER4=203.0.113.10
# The hotel's resolver off the LAN, behind the gateway (the connected phase: routed, not on-link).
HOTELDNS4=203.0.113.53
GRANT=${KS_E2E_PORTAL_SECONDS:-12}
NOBODY_UID=$(id -u nobody 2>/dev/null) || skip "portal needs the user nobody"
NOBODY_GID=$(id -g nobody)

# ---- the hotel LAN -------------------------------------------------------------------------
ns_base "$NS_C"
ns_base "$NS_I"
ip link add phy0 netns "$NS_C" type veth peer name isp0 netns "$NS_I"
inc sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ini ip addr add $GW4/24 dev isp0
ini ip addr add $OTHER4/32 dev lo
ini ip addr add $HOTELDNS4/32 dev lo
ini ip link set isp0 up
inc ip addr add $C4/24 dev phy0
inc ip link set phy0 up
inc ip route add default via $GW4 dev phy0
# The oracle: every IPv4 packet from the client, the portal's own services counted apart.
ini nft -f - <<-EOF
	table netdev oracle {
		counter portal {
		}
		counter leak {
		}
		chain ingress {
			type filter hook ingress device "isp0" priority -500; policy accept;
			meta protocol != ip accept
			ip saddr != $C4 accept
			ip daddr $GW4 meta l4proto { tcp, udp } th dport { 53, 80, 443 } counter name portal accept
			counter name leak
		}
	}
EOF
bg portal-serve ini "$PYTHON" -S "$PORTAL_PY" serve $GW4 $OTHER4 "$LAB_TMP/portal.ready" $HOTELDNS4
wait_for 10 test -f "$LAB_TMP/portal.ready" || die "the portal's services did not start"

# The client's resolv.conf, as DHCP wrote it: the portal's resolver, in a mount namespace of its
# own (nsenter, not `ip netns exec`: the cgroup hierarchies stay visible, as on a real host).
printf 'nameserver %s\n' $GW4 >"$LAB_TMP/resolv.conf"
chmod 644 "$LAB_TMP/resolv.conf"
# shellcheck disable=SC2016 # $0 and $@ are the inner shell's
BIND_RESOLV=(unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$LAB_TMP/resolv.conf")
ks_argv() {
	KS_ARGV=(nsenter --net="/run/netns/$NS_C" "${BIND_RESOLV[@]}" env KILLSWITCH_RUNDIR="$LAB_TMP/run"
		KILLSWITCH_CONFDIR="$LAB_TMP/conf")
}
# client CMD...: a program on the client outside the portal group (the same mounts as killswitch).
client() { nsenter --net="/run/netns/$NS_C" "${BIND_RESOLV[@]}" "$@"; }

reset_oracle() { ini nft reset counters table netdev oracle >/dev/null; }
seen() { echo $(($(counter_of netdev oracle portal) + $(counter_of netdev oracle leak))); }
flood3() { client "$PYTHON" -S "$PORTAL_PY" flood 3 $GW4 $OTHER4; }
yes_if() { if "$@"; then echo 1; else echo 0; fi; }

# ---- controls ------------------------------------------------------------------------------
table_header
reset_oracle
out=$(flood3)
n=$(seen)
log "flood without the kill switch: $out, $n packets at the oracle"
lab_record control "flood outside the group, no kill switch" off leak "$n" "$n" $((n > 0)) "    $out"
check_control "fetch of the portal page, no kill switch" off ok client "$PYTHON" -S "$PORTAL_PY" fetch "http://$GW4/"

# shellcheck disable=SC2119 # no arguments: the plain connecting state
ks_connecting || die "killswitch block --endpoint failed"
reset_oracle
rc=0
client "$PYTHON" -S "$PORTAL_PY" fetch "http://$GW4/" >/dev/null 2>&1 || rc=$?
n=$(seen)
lab_record control "fetch of the portal page, no portal" connecting refused "$n" "$n" $((rc != 0 && n == 0)) \
	"    rc=$rc, the oracle saw $n"

# Bad input: exit 2, the message quotes it, the ruleset as it was.
before=$(inc nft list ruleset)
rc=0
msg=$(ks portal --minutes 61 -- true 2>&1) || rc=$?
after=$(inc nft list ruleset)
lab_record probe "portal --minutes 61" connecting "exit-2" "exit-$rc" - $((rc == 2)) "    $msg"
lab_record probe "  ... quotes it, ruleset unchanged" connecting same "-" - \
	"$(yes_if test "$msg" == "killswitch: invalid --minutes (a whole number, 1..60): '61'" -a "$before" == "$after")" \
	"    $msg"
rc=0
msg=$(ks_argv; "${KS_ARGV[@]}" KILLSWITCH_PORTAL_SECONDS=0 "$KILLSWITCH" portal -- true 2>&1) || rc=$?
lab_record probe "KILLSWITCH_PORTAL_SECONDS=0" connecting "exit-2" "exit-$rc" - $((rc == 2)) "    $msg"

# ---- the portal ----------------------------------------------------------------------------
# The browser runs as nobody: its directory is open to it (LAB_TMP is not).
SESSION=$(mktemp -d /tmp/ks-portal.XXXXXX)
chmod 0777 "$SESSION"
# lab_teardown reads the script's exit status from $?: keep it across the rm (set +e, or the
# subshell's failing status would end the trap before the teardown).
trap 'st=$?; trap - ERR; set +e; rm -rf "$SESSION"; (exit $st); lab_teardown' EXIT
reset_oracle
ks_argv
"${KS_ARGV[@]}" KILLSWITCH_PORTAL_SECONDS="$GRANT" SUDO_UID="$NOBODY_UID" SUDO_GID="$NOBODY_GID" \
	"$KILLSWITCH" portal -- "$PYTHON" -S "$PORTAL_PY" session "$SESSION" $GW4 $OTHER4 \
	>"$LAB_TMP/portal.out" 2>&1 &
PORTAL_PID=$!
wait_for 20 test -f "$SESSION/ready1" || { cat "$LAB_TMP/portal.out"; die "the browser did not get going"; }
result() { awk -v k="$1" '$1 == k { print $2 }' "$SESSION/results"; }
json_portal() { ks status --json | "$PYTHON" -c 'import json,sys; p=json.load(sys.stdin)["portal"]; print(int(p["open"]), p["seconds_left"])'; }
st=$(json_portal)
left=${st#* }
# The grant ends at most `left` seconds from now (rounded up): the browser waits past it.
date +%s.%N | awk -v l="$left" '{ printf "%.3f\n", $1 + l }' >"$SESSION/expires"
n_portal=$(counter_of netdev oracle portal) n_leak=$(counter_of netdev oracle leak)
details="    $(tr '\n' ' ' <"$SESSION/results")"

lab_record probe "browser runs as the sudo user" portal "$NOBODY_UID" "$(result uid)" - \
	"$(yes_if test "$(result uid)" == "$NOBODY_UID")" "$details"
lab_record probe "browser resolves captive.example (hijacked)" portal "$GW4" "$(result resolve)" - \
	"$(yes_if test "$(result resolve)" == "$GW4")" "$details"
lab_record probe "browser fetches http://captive.example/" portal ok "$(result fetch)" - \
	"$(yes_if test "$(result fetch)" == ok)" "$details"
lab_record probe "browser to the portal's tcp 8080" portal refused "$(result decoy_port)" - \
	"$(yes_if test "$(result decoy_port)" == failed:ConnectionRefusedError)" "$details"
lab_record probe "browser to $OTHER4:80 (elsewhere)" portal refused "$(result decoy_addr)" - \
	"$(yes_if test "$(result decoy_addr)" == failed:ConnectionRefusedError)" "$details"
lab_record probe "the browser's packets elsewhere (oracle)" portal 0 "$n_leak" "$n_leak" $((n_leak == 0)) ""
lab_record probe "the browser's packets to the portal (oracle)" portal seen "$n_portal" - $((n_portal > 0)) ""
lab_record probe "status --json: portal open, seconds left" portal "1 1..$GRANT" "$st" - \
	$((${st% *} == 1 && left >= 1 && left <= GRANT)) ""
check "status says how long" portal listed sh -c "$(printf '%q ' "${KS_ARGV[@]}" "$KILLSWITCH") status | grep -q 'portal: open for the portal group, 0m'"

# A program outside the group, while the portal is open: nothing of its flood reaches the link.
reset_oracle
out=$(flood3)
n=$(seen)
log "flood with the portal open: $out, $n packets at the oracle"
lab_record probe "flood outside the group, portal open" portal 0 "$n" "$n" $((n == 0)) "    $out"
lab_record probe "  ... the flood ran (attempts)" portal ">1000" "${out#attempts=}" - $((${out#attempts=} > 1000)) ""
touch "$SESSION/go1"

# After the timeout: the browser is refused too.
wait_for $((GRANT + 15)) test -f "$SESSION/ready2" || die "the browser did not outlive the grant"
reset_oracle
touch "$SESSION/go2"
rc=0
wait "$PORTAL_PID" || rc=$?
n=$(seen)
details="    $(tr '\n' ' ' <"$SESSION/results")"
lab_record probe "killswitch portal exits with the browser's status" expired 0 "$rc" - $((rc == 0)) \
	"    $(cat "$LAB_TMP/portal.out")"
lab_record probe "browser fetches the portal after the timeout" expired refused "$(result fetch_after)" - \
	"$(yes_if test "$(result fetch_after)" != ok)" "$details"
lab_record probe "browser resolves after the timeout" expired refused "$(result resolve_after)" - \
	"$(yes_if test "$(result resolve_after)" != "$GW4")" "$details"
lab_record probe "the browser's packets after the timeout (oracle)" expired 0 "$n" "$n" $((n == 0)) ""
st=$(json_portal)
lab_record probe "status --json: portal closed" expired "0 0" "$st" - "$(yes_if test "$st" == "0 0")" ""

# Under watch: the guard holds the same portal chain, so the grant must reach its sets too (through
# watch, the guard's owner), or the guard would refuse what the table accepts.
watch_start watch.log
check "watch holds the guard" watch owned guard_owned
restores=$(grep -c restored "$WATCH_LOG" || true)
rc=0
out=$(ks portal -- "$PYTHON" -S "$PORTAL_PY" fetch "http://$GW4/" 2>&1) || rc=$?
lab_record probe "fetch through portal, under watch (guard)" watch ok "$out" - \
	"$(yes_if test $rc -eq 0 -a "$out" == PORTAL-LOGIN)" "    rc=$rc"
check "  ... the guard's portal4 holds the grant" watch listed \
	sh -c "ip netns exec $NS_C nft list set inet $GUARD portal4 | grep -q '$GW4 . tcp . 80 timeout'"
sleep 0.5
check "  ... watch did not restore the table for it" watch quiet test "$(grep -c restored "$WATCH_LOG" || true)" == "$restores"
watch_stop

# The same grant for a group in net_cls (cgroup v1, the mechanism where v2 socket matching is missing).
if grep -qw net_cls /proc/cgroups; then
	# shellcheck disable=SC2016 # $0 and $@ are the inner shell's
	out=$(ks_argv; "${KS_ARGV[@]}" KILLSWITCH_SPLIT_TUNNEL=v1 "$KILLSWITCH" portal -- sh -c \
		'grep -q "net_cls.*:/killswitch-portal$" /proc/self/cgroup && echo in-net_cls; exec "$0" "$@"' \
		"$PYTHON" -S "$PORTAL_PY" probe $GW4 $OTHER4 2>&1 | tr '\n' ' ')
	v1ok=$(yes_if test "$out" == "in-net_cls resolve $GW4 fetch ok decoy_addr failed:ConnectionRefusedError ")
	lab_record probe "net_cls group: resolves, fetches, refused elsewhere" connecting ok \
		"$( ((v1ok)) && echo ok || echo not-ok)" - "$v1ok" "    $out"
else
	log "no net_cls in this kernel: the v1 portal group is not tested"
fi

# A local stub resolver (systemd-resolved's 127.0.0.53) in the system's resolv.conf: it would ask
# from outside the portal group. The browser gets its own resolv.conf naming the network's
# resolver (here the gateway: no other is known), and resolves. Control: through the stub, with the
# kill switch off, nothing resolves (no stub runs here), so the browser's answer came the other way.
printf 'nameserver 127.0.0.53\n' >"$LAB_TMP/resolv.conf"
# shellcheck disable=SC2016 # $0 and $@ are the inner shell's
out=$(ks portal -- sh -c 'grep "^nameserver" /etc/resolv.conf | tr "\n" " "; exec "$0" "$@"' \
	"$PYTHON" -S "$PORTAL_PY" probe $GW4 $OTHER4 2>&1 | tr '\n' ' ')
want="nameserver $GW4 resolve $GW4 fetch ok decoy_addr failed:ConnectionRefusedError "
lab_record probe "stub in resolv.conf: browser's own resolv.conf, resolves" connecting ok \
	"$([[ $out == "$want" ]] && echo ok || echo not-ok)" - "$(yes_if test "$out" == "$want")" "    $out"
ks_disable
out=$(client "$PYTHON" -S "$PORTAL_PY" probe $GW4 $OTHER4 2>&1)
lab_record control "stub in resolv.conf, no kill switch: nothing resolves" off failed "$(awk '{ print $2 }' <<<"$out")" - \
	"$(yes_if test "$(awk '{ print $2 }' <<<"$out")" != "$GW4")" "    $out"
# With --allow-lan the LAN is open to every program but the portal group: its goto comes before
# the LAN accept, so the gateway's other ports stay refused to the browser. Control: the same
# connect from outside the group gets through (the decoy answers, the LAN rule accepts it).
ks_connecting --allow-lan || die "killswitch block --endpoint --allow-lan failed"
out=$(ks portal -- "$PYTHON" -S "$PORTAL_PY" connect $GW4 8080 2>&1)
lab_record probe "--allow-lan: browser to the portal's tcp 8080" connecting refused "$out" - \
	"$(yes_if test "$out" == failed:ConnectionRefusedError)" ""
out=$(client "$PYTHON" -S "$PORTAL_PY" connect $GW4 8080 2>&1)
lab_record control "--allow-lan: another program to the portal's tcp 8080" connecting connected "$out" - \
	"$(yes_if test "$out" == connected)" ""
# shellcheck disable=SC2119 # no arguments: the plain connecting state
ks_connecting || die "killswitch block --endpoint failed"
printf 'nameserver %s\n' $GW4 >"$LAB_TMP/resolv.conf"

# ---- connected ---------------------------------------------------------------------------
# The tunnel up (a tun device nobody reads, wg-quick's routing: everything unmarked into it), the hotel's
# resolver off the LAN. The grant's packets must be marked around the tunnel and masqueraded, or
# the resolver is unreachable; the rest of the host's traffic goes into the tunnel, none to the LAN.
printf 'nameserver %s\n' $HOTELDNS4 >"$LAB_TMP/resolv.conf"
inc ip tuntap add "$WGC" mode tun
inc ip addr add $TUN4/32 dev "$WGC"
inc ip link set "$WGC" up
# wg-quick's IPv4 routing (IPv6 is off on this client, which `killswitch routing` would set up too).
inc ip route add default dev "$WGC" table $RT_TABLE
inc ip rule add not fwmark $FWMARK table $RT_TABLE
inc ip rule add table main suppress_prefixlength 0
ks_quiet enable --tunnel "$WGC" --endpoint "$ENDPOINT" --dns "$VPNDNS4" || die "killswitch enable failed"
# The grant's routing and NAT are a table of their own, which a portal makes and an apply removes.
portal_table() { inc nft list table inet killswitch_portal >/dev/null 2>&1 && echo present || echo absent; }
lab_record probe "table killswitch_portal, before a portal" enabled absent "$(portal_table)" - \
	"$(yes_if test "$(portal_table)" == absent)" ""
probe_portal() { ks portal -- "$PYTHON" -S "$PORTAL_PY" probe $GW4 $OTHER4 2>&1; }
reset_oracle
out=$(probe_portal)
lab_record probe "connected: browser resolves via $HOTELDNS4 (off-LAN)" enabled "$GW4" "$(awk '{ print $2 }' <<<"$out")" - \
	"$(yes_if test "$(awk '{ print $2 }' <<<"$out")" == "$GW4")" "    $out"
lab_record probe "connected: browser fetches the page" enabled ok "$(awk '{ print $4 }' <<<"$out")" - \
	"$(yes_if test "$(awk '{ print $4 }' <<<"$out")" == ok)" "    $out"
# Connected, the portal group may use the tunnel like every other program (its goto comes after
# the fast lane): the connection goes into the tun device nobody reads and times out there. Off
# the tunnel $OTHER4:80 answers (the portal's side serves it), so "connected" would be a leak.
lab_record probe "connected: browser to $OTHER4:80 into the tunnel" enabled failed:TimeoutError \
	"$(awk '{ print $6 }' <<<"$out")" - \
	"$(yes_if test "$(awk '{ print $6 }' <<<"$out")" == failed:TimeoutError)" "    $out"
# What reached the resolver came from the physical address (masqueraded, not the tunnel's): the
# oracle counts only packets from $C4, and the portal's own services apart.
masq=$(counter_of netdev oracle leak)
lab_record probe "connected: resolver's packets from $C4 (masqueraded)" enabled ">0" "$masq" - $((masq > 0)) ""
reset_oracle
out=$(flood3)
n=$(seen)
log "flood connected, portal open: $out, $n packets at the oracle"
lab_record probe "connected: flood outside the group" enabled 0 "$n" "$n" $((n == 0)) "    $out"
# Control: without the routing mark (--fwmark none) the grant's packets to the off-LAN resolver
# follow the tunnel's default route, and the name does not resolve.
lab_record probe "table killswitch_portal, after a portal" enabled present "$(portal_table)" - \
	"$(yes_if test "$(portal_table)" == present)" ""
ks_quiet enable --tunnel "$WGC" --fwmark none --dns "$VPNDNS4" || die "killswitch enable --fwmark none failed"
lab_record probe "  ... removed by enable" enabled absent "$(portal_table)" - \
	"$(yes_if test "$(portal_table)" == absent)" ""
out=$(probe_portal)
lab_record control "connected, no routing mark: resolver unreachable" enabled failed "$(awk '{ print $2 }' <<<"$out")" - \
	"$(yes_if test "$(awk '{ print $2 }' <<<"$out")" != "$GW4")" "    $out"
inc ip rule del not fwmark $FWMARK table $RT_TABLE
inc ip rule del table main suppress_prefixlength 0
ks_quiet block --endpoint "$ENDPOINT" || die "killswitch block failed"
inc ip link del "$WGC"
printf 'nameserver %s\n' $GW4 >"$LAB_TMP/resolv.conf"

# The command's own status, and env(1)'s when it cannot run.
rc=0
ks portal -- sh -c 'exit 7' >/dev/null 2>&1 || rc=$?
lab_record probe "portal -- sh -c 'exit 7'" connecting 7 "$rc" - $((rc == 7)) ""
rc=0
ks portal -- /nonexistent/browser >/dev/null 2>&1 || rc=$?
lab_record probe "portal -- /nonexistent/browser" connecting 127 "$rc" - $((rc == 127)) ""
# No table, no portal: the command does not run.
lab_record probe "table killswitch_portal, after a portal" connecting present "$(portal_table)" - \
	"$(yes_if test "$(portal_table)" == present)" ""
ks_disable
lab_record probe "  ... removed by disable" off absent "$(portal_table)" - \
	"$(yes_if test "$(portal_table)" == absent)" ""
rc=0
ks portal -- touch "$SESSION/ran" >/dev/null 2>&1 || rc=$?
lab_record probe "portal without the kill switch" off "exit-1" "exit-$rc" - $((rc == 1)) ""
lab_record probe "  ... and the command did not run" off absent "$(test -e "$SESSION/ran" && echo ran || echo absent)" - \
	"$(yes_if test ! -e "$SESSION/ran")" ""
lab_finish
