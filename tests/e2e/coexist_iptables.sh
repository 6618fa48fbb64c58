#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Coexistence (issue 13): iptables-nft, the iptables that Debian installs by default (and that
# Docker, ufw and many scripts call). `iptables-nft-restore` replaces whole tables (it deletes and
# recreates `table ip filter`), `iptables-nft -F` flushes their chains; neither is meant to touch
# other tables. Under a flood off the tunnel (a rogue more specific route via the physical link,
# and sockets bound to it), with the kill switch enabled: restore (IPv4 and IPv6), flush, restore
# again KS_E2E_COEXIST_ROUNDS times, flush the nat table, first with `killswitch watch` running,
# then without it. Asserted: not one packet leaked during any step, our tables are there after each,
# the tunnel works afterwards, and iptables still does its own job (its REJECT rule refuses a
# connection the kill switch lets through the tunnel). The control: since iptables leaves our table
# alone, the same steps without watch leak nothing either, so the control is the same steps with
# the kill switch off, where the flood leaks (the oracle sees the packets sent during each step).
# shellcheck source=tests/e2e/coexist_lib.sh
source "$(dirname "$0")/coexist_lib.sh"

ROUNDS=${KS_E2E_COEXIST_ROUNDS:-10}

coexist_init coexist_iptables iptables-nft ip6tables-nft iptables-nft-restore ip6tables-nft-restore
coexist_up

# What an administrator's rules file looks like: a REJECT in OUTPUT (tcp 22 to $NET4B, which the
# tunnel would carry), forwarding dropped, the same shape for IPv6.
cat >"$LAB_TMP/rules.v4" <<EOF
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A OUTPUT -p tcp -d $NET4B --dport 22 -j REJECT --reject-with tcp-reset
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
COMMIT
EOF
cat >"$LAB_TMP/rules.v6" <<EOF
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A OUTPUT -p tcp -d $NET6 --dport 22 -j REJECT --reject-with tcp-reset
COMMIT
EOF
restore() { inc iptables-nft-restore <"$LAB_TMP/rules.v4" && inc ip6tables-nft-restore <"$LAB_TMP/rules.v6"; }
flush() { inc iptables-nft -F && inc ip6tables-nft -F; }
restore_rounds() {
	local i
	for ((i = 0; i < ROUNDS; i++)); do
		restore || return 1
		sleep 0.05
	done
}
flush_nat() { inc iptables-nft -t nat -F; }

# steps STATE leak|blocked: every step, as probes (blocked, and our tables checked) or controls.
steps() {
	local state=$1 expect=$2
	flood_phase_start
	coexist_step "$state" "$expect" "iptables-nft-restore (v4+v6)" restore
	coexist_step "$state" "$expect" "iptables-nft -F (v4+v6)" flush
	coexist_step "$state" "$expect" "iptables-nft-restore x$ROUNDS" restore_rounds
	coexist_step "$state" "$expect" "iptables-nft -t nat -F" flush_nat
	flood_phase_stop "$state"
}

ks_enable || die "enable failed"
coexist_watch_start
steps "enabled, watch" blocked
check "watch is still running" "enabled, watch" running kill -0 "$WATCH_PID"
check "  ... and had nothing to restore" "enabled, watch" 0 test "$(watch_restores)" = 0

# iptables does its own job beside the kill switch: its REJECT stops what the tunnel would carry
# (its rule counts the packet, the connection fails), and its reset reaches the program at once:
# it loops back through lo to the tunnel address from an address that is not local, which the
# CVE-2019-14899 rule in prerouting dropped until lo was let through first (docs/coexistence.md).
restore
reject_count() { inc "$1" -L OUTPUT -v -x -n | awk '/REJECT/ { print $1; exit }'; }
rejected() { # rejected IPTABLES ADDR
	local n0 n1
	n0=$(reject_count "$1")
	! send_c tcp "$2" 22 || return 1
	n1=$(reject_count "$1")
	((n1 > n0))
}
check "iptables' REJECT stops tcp4 $(hp $NET4B 22)" "enabled, watch" rejected rejected iptables-nft $NET4B
check "iptables' REJECT stops tcp6 $(hp $NET6 22)" "enabled, watch" rejected rejected ip6tables-nft $NET6
check "  ... and its reset reaches the program at once" "enabled, watch" at-once fails_fast send_c tcp $NET4B 22
tunnel_works "enabled, watch"
flush
run_probe "tcp4 $(hp $NET4B 22) through the tunnel once flushed" "enabled, watch" tunnel phys send_c tcp $NET4B 22

# The same steps without watch: nothing to restore, nothing leaks.
watch_stop
steps "enabled, no watch" blocked
tunnel_works "enabled, no watch"

# The control: the kill switch off.
echo "# control: iptables-nft never touched our table (the rows without watch leaked nothing), so the"
echo "# control is the same steps with the kill switch off: the flood must leak during each of them."
ks_disable
steps "disabled (control)" leak
coexist_finish
