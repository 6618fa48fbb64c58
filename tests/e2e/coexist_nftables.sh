#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Coexistence (issue 13): nftables.service, the packaged one. Its start and reload run
# `nft -f /etc/nftables.conf` (Debian's file begins with `flush ruleset`, which removes every
# table, ours too), its stop runs `nft flush ruleset`. Under a flood off the tunnel (a rogue more
# specific route via the physical link, and sockets bound to it), with the kill switch enabled and
# `killswitch watch` running, the unit's steps are run in the client's namespace: start, reload
# (KS_E2E_COEXIST_ROUNDS times), stop, start again. Asserted: not one packet leaked during any step,
# our tables are there after each, the tunnel works afterwards, and the packaged file still does its
# job (its table inet filter is there after start). The control: the same steps without watch
# (each followed by `killswitch enable` 50 ms later) leak.
# shellcheck source=tests/e2e/coexist_lib.sh
source "$(dirname "$0")/coexist_lib.sh"

ROUNDS=${KS_E2E_COEXIST_ROUNDS:-10}
NFT_CONF=${KS_E2E_NFTABLES_CONF:-/etc/nftables.conf}

coexist_init coexist_nftables
[[ -r $NFT_CONF ]] || skip "coexist_nftables needs $NFT_CONF (the nftables package's file)"
grep -q '^flush ruleset' "$NFT_CONF" || log "note: $NFT_CONF does not begin with flush ruleset"
coexist_up

# nftables.service's ExecStart/ExecReload and ExecStop, as the unit runs them.
unit_start() { inc nft -f "$NFT_CONF"; }
unit_reload() {
	local i
	for ((i = 0; i < ROUNDS; i++)); do
		inc nft -f "$NFT_CONF" || return 1
		sleep 0.1
	done
}
unit_stop() { inc nft flush ruleset; }
filter_table() { inc nft list table inet filter >/dev/null; }
no_filter_table() { ! filter_table; }

ks_enable || die "enable failed"
coexist_watch_start

flood_phase_start
coexist_event "nftables.service start (nft -f $NFT_CONF)" unit_start
check "  ... its table inet filter is there" "$COEXIST_STATE" present filter_table
coexist_event "nftables.service reload x$ROUNDS" unit_reload
coexist_event "nftables.service stop (nft flush ruleset)" unit_stop
check "  ... its table inet filter is gone" "$COEXIST_STATE" absent no_filter_table
coexist_event "nftables.service start again" unit_start
flood_phase_stop "$COEXIST_STATE"
check "watch is still running" "$COEXIST_STATE" running kill -0 "$WATCH_PID"
log "watch restored the table $(watch_restores) times"
tunnel_works "$COEXIST_STATE"

# The control: without watch, each step removes the table (held 50 ms, then enabled by hand).
watch_stop
echo "# control: the same steps without watch; each removes our table, enabled again by hand 50 ms later."
unhelped() { # unhelped STEP
	"$1" || return 1
	sleep 0.05
	ks_enable
}
flood_phase_start
coexist_control "nftables.service start" "no watch (control)" unhelped unit_start
coexist_control "nftables.service reload x$ROUNDS" "no watch (control)" unhelped unit_reload
coexist_control "nftables.service stop" "no watch (control)" unhelped unit_stop
flood_phase_stop "no watch (control)"
coexist_finish
