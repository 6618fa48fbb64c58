#!/usr/bin/env bash
# The libnftables seam in a throwaway network namespace: enable, read back,
# re-enable, fail half-way, refuse bad input and missing privileges, serialise
# concurrent callers, disable. Usage: apply.sh KILLSWITCH APPLY_FAULT
set -euo pipefail

# shellcheck source=tests/apply/lib.sh
. "$(dirname "$0")/lib.sh"

KS=$1
FAULT=$2
CHECK_QUIET=none # the checked commands' output stays in the log
ks_setup apply

# A table of someone else's that killswitch must never touch.
inns nft add table inet other
inns nft add chain inet other keep '{ type filter hook output priority 10; policy accept; }'

# enable and read back
check "enable exits 0" ks enable --tunnel wg0 --endpoint 192.0.2.1:51820 --dns 10.64.0.1
check "table has the endpoint" grep -q '192.0.2.1 . udp . 51820' <(table)
check "output policy is drop" grep -q 'hook output priority filter; policy drop;' <(table)
check "input policy is drop" grep -q 'hook input priority filter; policy drop;' <(table)
check "forward policy is drop" grep -q 'hook forward priority filter; policy drop;' <(table)
check "status --json says enabled and complete" \
	grep -q '"complete": true' <(ks status --json)
check "status --json state" grep -q '"state": "enabled"' <(ks status --json)
check "status names the endpoint" grep -q '192.0.2.1:51820/udp' <(ks status)

# re-enable with a different policy replaces the table whole
check "re-enable exits 0" ks enable --tunnel wg1 --endpoint '[2001:db8::1]:443/tcp' --allow-lan
check "new endpoint present" grep -q '2001:db8::1 . tcp . 443' <(table)
check "old endpoint gone" bash -c "! ip netns exec $NS nft list table inet killswitch | grep -q 192.0.2.1"
check "exactly one killswitch table" test "$(ruleset | grep -c '^table inet killswitch')" = 1
check "other table untouched" grep -q 'table inet other' <(ruleset)

# a transaction the kernel refuses half-way leaves the earlier ruleset byte-identical
before=$(ruleset)
check "kernel refusal reported" inns "$FAULT"
check "ruleset byte-identical after kernel refusal" test "$before" = "$(ruleset)"

# bad input: exit 2, one line naming the value, nothing changed
bad_inputs=(
	"enable --tunnel wg0\";flush_ruleset"
	"enable --tunnel wg0 --endpoint vpn.example.com:51820"
	"enable --tunnel wg0 --endpoint 192.0.2.1:0"
	"enable --tunnel wg0 --endpoint 192.0.2.1:51820/sctp"
	"enable --tunnel wg0 --dns 10.64.0.1}"
	"enable --tunnel wg0 --lan 10.0.0.1/8"
	"enable --tunnel wg0 --fwmark 0x1ffffffff"
	"enable --tunnel wg0 --ipv6 maybe"
	"enable --endpoint 192.0.2.1:51820"
	"block --bogus"
	"frobnicate"
)
for args in "${bad_inputs[@]}"; do
	# shellcheck disable=SC2086
	set +e
	err=$(ks $args 2>&1 >/dev/null)
	rc=$?
	set -e
	if [ "$rc" = 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && [[ $err == killswitch:*"'"*"'" ]]; then
		ok "bad input refused with exit 2 and one line: $args"
	else
		not_ok "bad input refused with exit 2 and one line: $args (rc=$rc, stderr=$err)"
	fi
done
check "ruleset byte-identical after bad input" test "$before" = "$(ruleset)"

# no privileges: exit 1, nothing changed
set +e
inns setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
	env KILLSWITCH_RUNDIR="$RUN/nobody" "$KS" enable --tunnel wg0 >/dev/null 2>"$RUN/err"
rc=$?
set -e
check "unprivileged enable exits 1" test "$rc" = 1
check "unprivileged error names CAP_NET_ADMIN" grep -q CAP_NET_ADMIN "$RUN/err"
check "ruleset byte-identical after refused privileges" test "$before" = "$(ruleset)"

# compile needs neither root nor the kernel
check "unprivileged compile works" inns setpriv --reuid=65534 --regid=65534 --clear-groups \
	--inh-caps=-all --bounding-set=-all "$KS" compile --tunnel wg0 --endpoint 192.0.2.1:51820

# block: no tunnel accept, endpoints kept ("connecting")
check "block exits 0" ks block --endpoint 192.0.2.7:51820 --tunnel wg0
check "blocked table has no tunnel accept" bash -c "! ip netns exec $NS nft list chain inet killswitch output | grep -q 'oifname @tunnels accept'"
check "connecting keeps the endpoint" grep -q '192.0.2.7 . udp . 51820' <(table)
check "status says blocked" grep -q '"state": "blocked"' <(ks status --json)

# tunnel addresses come from rtnetlink (CVE-2019-14899 rule)
inns ip link add wgaddr type veth peer name wgaddr-peer
inns ip addr add 10.66.0.2/32 dev wgaddr
inns ip -6 addr add fd00:66::2/128 dev wgaddr nodad
inns ip link set wgaddr up
inns ip link set wgaddr-peer up
check "enable with an existing tunnel" ks enable --tunnel wgaddr
check "tunnel IPv4 address read over rtnetlink" grep -q '10.66.0.2' <(inns nft list set inet killswitch tunnel_addrs4)
check "tunnel IPv6 address read over rtnetlink" grep -q 'fd00:66::2' <(inns nft list set inet killswitch tunnel_addrs6)

# routing glue over rtnetlink: wg-quick's rules in wg-quick's order, idempotent both ways
check "routing add exits 0" ks routing add --tunnel wgaddr
check "routing add twice exits 0" ks routing add --tunnel wgaddr
rules4=$(inns ip -4 rule show)
check "one IPv4 fwmark rule" test "$(grep -c 'not from all fwmark 0xca6c lookup 51820' <<<"$rules4")" = 1
check "one IPv4 suppress_prefixlength rule" test "$(grep -c 'lookup main suppress_prefixlength 0' <<<"$rules4")" = 1
check "suppress_prefixlength comes before the fwmark rule" \
	test "$(grep -n suppress_prefixlength <<<"$rules4" | cut -d: -f1)" -lt "$(grep -n 'fwmark 0xca6c' <<<"$rules4" | cut -d: -f1)"
check "IPv6 fwmark rule" grep -q 'not from all fwmark 0xca6c lookup 51820' <(inns ip -6 rule show)
check "default route in table 51820" grep -q 'default dev wgaddr' <(inns ip -4 route show table 51820)
check "routing del exits 0" ks routing del
check "routing del twice exits 0" ks routing del
check "rules gone" bash -c "! ip netns exec $NS ip rule show | grep -q -e 0xca6c -e suppress_prefixlength"
check "table 51820 empty" test -z "$(inns ip -4 route show table 51820)"
check "routing add for disable to undo" ks routing add --tunnel wgaddr
check "src_valid_mark set by routing add" test "$(inns cat /proc/sys/net/ipv4/conf/all/src_valid_mark)" = 1
check "disable with routing installed exits 0" ks disable
check "disable took routing add's rules away" bash -c "! ip netns exec $NS ip rule show | grep -q -e 0xca6c -e suppress_prefixlength"
inns ip rule add not fwmark 0x1234 table 4660
inns ip rule add table main suppress_prefixlength 0
check "routing del with another tunnel's rule" ks routing del
check "the shared suppress_prefixlength rule stays for the other tunnel" grep -q suppress_prefixlength <(inns ip rule show)
inns ip rule del not fwmark 0x1234 table 4660
inns ip rule del table main suppress_prefixlength 0
check "relative KILLSWITCH_RUNDIR refused with exit 2" bash -c "KILLSWITCH_RUNDIR=run ip netns exec $NS $KS status; test \$? = 2"
# A run directory another user could write in (a listener at watch's socket path, records of
# their choosing) is refused before anything changes: exit 1, one line naming it
open_dir=$(mktemp -d)
chmod 0777 "$open_dir"
open_out=$(KILLSWITCH_RUNDIR=$open_dir ip netns exec "$NS" "$KS" enable --tunnel wg0 --dns 10.64.0.1 2>&1 >/dev/null) && open_rc=0 || open_rc=$?
check "a run directory writable by others is refused with exit 1" test "$open_rc" = 1
check "  ... in one line naming it" bash -c "[ \"\$(printf '%s\n' \"\$1\" | wc -l)\" = 1 ] && printf '%s' \"\$1\" | grep -qF \"\$2\"" _ "$open_out" "$open_dir"
rm -rf "$open_dir"

# a caller that ignores SIGCHLD (a daemon exec'ing its helper; the disposition survives exec):
# killswitch still waits for its libnftables child
check "enable exits 0 when the caller ignores SIGCHLD" \
	bash -c "trap '' CHLD; exec ip netns exec $NS $KS enable --tunnel wgC --endpoint 192.0.2.3:51820 2>/dev/null"
check "... and the table is the one asked for" grep -q 192.0.2.3 <(inns nft list set inet killswitch endpoints4)
check "disable exits 0 when the caller ignores SIGCHLD" bash -c "trap '' CHLD; exec ip netns exec $NS $KS disable"

# the split-tunnel environment, checked before anything runs: exit 2, one line quoting the value, nothing changed
ks enable --tunnel wg0 --endpoint 192.0.2.1:51820 2>/dev/null
# stateless: the link made above sends IPv6 router solicitations, which count as drops meanwhile
before=$(inns nft -s list ruleset)
for bad in KILLSWITCH_SPLIT_TUNNEL=v3 'KILLSWITCH_CGROUP_NAME=a b' KILLSWITCH_CGROUP_NAME=../up 'KILLSWITCH_SPLIT_TUNNEL=off;x'; do
	rc=0
	env "$bad" ip netns exec "$NS" "$KS" enable --tunnel wg1 --endpoint 192.0.2.9:51820 >/dev/null 2>"$RUN/err" || rc=$?
	check "bad environment refused with exit 2 and one line: $bad" \
		test "$rc" = 2 -a "$(wc -l <"$RUN/err")" = 1 -a "$(grep -cF "'${bad#*=}'" "$RUN/err")" = 1
done
check "ruleset byte-identical after bad environment (counters aside)" test "$before" = "$(inns nft -s list ruleset)"

# disable puts src_valid_mark back to what it was before enable, and leaves it alone when it was 1 already
valid_mark() { inns cat /proc/sys/net/ipv4/conf/all/src_valid_mark; }
set_valid_mark() { inns sysctl -qw "net.ipv4.conf.all.src_valid_mark=$1"; }
enable_wg0() { ks enable --tunnel wg0 --endpoint 192.0.2.1:51820 2>/dev/null; }
ks disable 2>/dev/null
set_valid_mark 0
enable_wg0
check "enable sets src_valid_mark=1" test "$(valid_mark)" = 1
ks block 2>/dev/null
enable_wg0
check "disable exits 0" ks disable
check "disable puts src_valid_mark back to 0 (after enable, block, enable)" test "$(valid_mark)" = 0
check "disable leaves no record of it behind" test ! -e "$KILLSWITCH_RUNDIR/sysctl-src_valid_mark"
set_valid_mark 1
enable_wg0
ks disable
check "disable leaves src_valid_mark=1 that enable found" test "$(valid_mark)" = 1
# the value before the first enable is the one recorded, not what someone set between two enables
set_valid_mark 2
enable_wg0
set_valid_mark 0
enable_wg0
ks disable
check "disable restores the value from before the first enable (2), not a later one (0)" test "$(valid_mark)" = 2
# a VPN still routing by fwmark (wg-quick's 'not fwmark' rule) keeps it at 1; a later disable restores
set_valid_mark 0
enable_wg0
inns ip rule add not fwmark 0x1234 table 4660
ks disable
check "disable leaves src_valid_mark=1 while a 'not fwmark' rule routes a VPN" test "$(valid_mark)" = 1
inns ip rule del not fwmark 0x1234 table 4660
enable_wg0
ks disable
check "... and the next disable, the VPN gone, restores 0" test "$(valid_mark)" = 0

# a table re-created behind the state file's back (killswitch killed between the kernel's commit and
# its state file; simulated by putting the earlier state back): status must not show the old policy
ks enable --tunnel wgA --endpoint 192.0.2.1:51820 2>/dev/null
cp "$KILLSWITCH_RUNDIR/policy" "$KILLSWITCH_RUNDIR/rules" "$RUN/"
ks enable --tunnel wgB --endpoint 192.0.2.2:51820 2>/dev/null
check "status names the policy just applied" grep -q 'tunnels: wgB' <(ks status)
cp "$RUN/policy" "$RUN/rules" "$KILLSWITCH_RUNDIR/"
check "status: policy unknown when the state file is older than the table" \
	grep -q 'policy: unknown (the table was re-created' <(ks status)
check "status --json: policy_unknown says why" grep -q '"policy_unknown": "table re-created"' <(ks status --json)
check "status --json: state unknown, policy null then" \
	bash -c "ip netns exec $NS $KS status --json | grep -q '\"state\": \"unknown\"' && ip netns exec $NS $KS status --json | grep -q '\"policy\": null'"
ks disable

# concurrent callers serialise; the final table is one of them, whole
pids=()
for i in $(seq 1 8); do
	ks enable --tunnel "wgc$i" --endpoint "192.0.2.$((100 + i)):51820" >/dev/null 2>&1 &
	pids+=($!)
done
conc_ok=1
for p in "${pids[@]}"; do wait "$p" || conc_ok=0; done
check "8 concurrent enables all exit 0" test "$conc_ok" = 1
check "final table is complete" grep -q '"complete": true' <(ks status --json)
check "final table holds exactly one caller's endpoint" \
	test "$(inns nft list set inet killswitch endpoints4 | grep -o '192\.0\.2\.1[0-9][0-9]' | wc -l)" = 1

# incremental endpoint changes: set elements only, the rest of the table untouched
ks enable --tunnel wg0 --endpoint 192.0.2.1:51820 >/dev/null 2>&1
handle_before=$(inns nft -a list chain inet killswitch output | grep -o 'handle [0-9]*' | tr '\n' ' ')
check "endpoint add exits 0" ks endpoint add 192.0.2.2:51820 192.0.2.1:443/tcp '[2001:db8::2]:51820'
check "added endpoint in the set" grep -q '192.0.2.2 . udp . 51820' <(inns nft list set inet killswitch endpoints4)
check "added IPv6 endpoint in the set" grep -q '2001:db8::2 . udp . 51820' <(inns nft list set inet killswitch endpoints6)
check "address set follows" grep -q '192.0.2.2' <(inns nft list set inet killswitch endpoint_addrs4)
check "rules untouched by endpoint add" test "$handle_before" = "$(inns nft -a list chain inet killswitch output | grep -o 'handle [0-9]*' | tr '\n' ' ')"
check "adding a present endpoint changes nothing" grep -q '"changed": 0' <(ks endpoint add 192.0.2.2:51820 --json)
check "endpoint del exits 0" ks endpoint del 192.0.2.1:51820
check "deleted endpoint gone" bash -c "! ip netns exec $NS nft list set inet killswitch endpoints4 | grep -q '192.0.2.1 . udp . 51820'"
check "address kept while another endpoint uses it" grep -q '192.0.2.1' <(inns nft list set inet killswitch endpoint_addrs4)
check "status shows the new list" grep -q '192.0.2.2:51820/udp' <(ks status)
check "deleting an absent endpoint changes nothing" grep -q '"changed": 0' <(ks endpoint del 198.51.100.99:1 --json)
set +e; ks endpoint add 'vpn.example.com:51820' 2>/dev/null; rc=$?; set -e
check "endpoint add refuses hostnames with exit 2" test "$rc" = 2

# status sees rules someone else added, even with the chains whole
check "status complete before tampering" grep -q '"complete": true' <(ks status --json)
inns nft insert rule inet killswitch output accept
check "status sees an inserted rule" grep -q 'rules changed since killswitch applied them' <(ks status --json)
ks enable --tunnel wg0 >/dev/null 2>&1

# compile takes --state; enable and block refuse it
check "compile --state blocked has no tunnel accept" bash -c "! $KS compile --tunnel wg0 --state blocked | grep -q 'oifname @tunnels accept'"
set +e; ks enable --tunnel wg0 --state blocked 2>/dev/null; rc=$?; set -e
check "enable --state refused with exit 2" test "$rc" = 2

# --persist stores the policy; restore applies it; disable removes it
check "enable --persist exits 0" ks enable --tunnel wg0 --endpoint 192.0.2.44:51820 --persist
check "persisted policy written" grep -q 'endpoint 192.0.2.44:51820/udp' "$KILLSWITCH_CONFDIR/policy"
inns nft delete table inet killswitch
check "restore exits 0" ks restore
check "restore brought the persisted policy back" grep -q '192.0.2.44 . udp . 51820' <(table)
check "disable removes the persisted policy" bash -c "ip netns exec $NS $KS disable && test ! -e $KILLSWITCH_CONFDIR/policy"
set +e; ks restore 2>/dev/null; rc=$?; set -e
check "restore with nothing persisted exits 1" test "$rc" = 1
ks enable --tunnel wg0 >/dev/null 2>&1

# Fail closed (issue 13, 2): a persisted policy or state file that does not parse (power loss, a
# format change) leaves a block-everything table, never an open host; the LAN only if the file
# still says allow-lan. The old restore exited 2 with no table at all.
blocked_table() { # in force: blocked, drop policies, no tunnel, no endpoint, LAN as $1 says
	local t
	t=$(table) || return 1
	grep -q 'comment "killswitch: blocked"' <<<"$t" && grep -q 'hook output priority filter; policy drop' <<<"$t" &&
		! grep -q 'oifname @tunnels accept' <<<"$t" && ! grep -q '192.0.2.44' <<<"$t" &&
		if [ "$1" = lan ]; then grep -q 'ip daddr @lan4 accept' <<<"$t"; else ! grep -q '@lan4 accept' <<<"$t"; fi
}
one_line_with() { [ "$(wc -l <"$RUN/err")" = 1 ] && grep -q "$1" "$RUN/err"; }
ks enable --tunnel wg0 --endpoint 192.0.2.44:51820 --allow-lan --persist >/dev/null
inns nft delete table inet killswitch
# Cut inside the endpoint line, before the line that says allow-lan: as a power loss leaves it.
sed -n '1,/^endpoint/p' "$KILLSWITCH_CONFDIR/policy" | head -c -12 >"$RUN/cut"
check "the cut file ends inside the endpoint" grep -q '^endpoint 192\.0\.2\.4' "$RUN/cut"
cp "$RUN/cut" "$KILLSWITCH_CONFDIR/policy"
set +e; ks restore 2>"$RUN/err"; rc=$?; set -e
check "restore of a policy cut short exits 1" test "$rc" = 1
check "... saying everything is blocked, in one line" one_line_with "everything is blocked"
check "... and a block-everything table is in force" blocked_table nolan
printf 'allow-lan\ntunnel wg0\nendpoint garbage\n' >"$KILLSWITCH_CONFDIR/policy"
set +e; ks restore 2>"$RUN/err"; rc=$?; set -e
check "restore of a bad policy that says allow-lan exits 1" test "$rc" = 1
check "... blocked, with the LAN it asked for" blocked_table lan
ks disable >/dev/null
ks enable --tunnel wg0 --endpoint 192.0.2.44:51820 >/dev/null
printf 'tunnel wg0\nendpoint 192.0.2.44:5x\n' >"$KILLSWITCH_RUNDIR/policy"
inns nft delete table inet killswitch
set +e; timeout 20 ip netns exec "$NS" "$KS" watch 2>"$RUN/err"; rc=$?; set -e
check "watch over a state file that does not parse exits 1" test "$rc" = 1
check "... saying everything is blocked" grep -q "everything is blocked" "$RUN/err"
check "... and a block-everything table is in force" blocked_table nolan
ks disable >/dev/null
ks enable --tunnel wg0 >/dev/null 2>&1

# someone else deletes the table: status says so, disable stays idempotent
inns nft delete table inet killswitch
check "status after external delete says inactive" grep -q '"active": false' <(ks status --json)
check "disable exits 0 when nothing is there" ks disable
ks enable --tunnel wg0 >/dev/null
check "disable exits 0" ks disable
check "disable twice exits 0" ks disable
check "table gone" bash -c "! ip netns exec $NS nft list tables | grep -q 'inet killswitch'"
check "other table still there" grep -q 'table inet other' <(ruleset)

finish
