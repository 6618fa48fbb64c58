#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Atomic re-apply: while traffic floods off the tunnel (UDP bound to the physical interface, IPv4
# and IPv6), the policy is replaced again and again (enable with different policies, connecting,
# blocked). Each replacement is one transaction, so there is never a moment without the table:
# zero packets may leak. The control floods without the kill switch and must leak.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

REPLACEMENTS=${KS_E2E_REPLACEMENTS:-240}

lab_init atomic
lab_up
table_header

flood_wait() {
	flood_stop
	cat "$LAB_TMP/flood4.out" "$LAB_TMP/flood6.out"
}
# The control first: a short flood with the kill switch disabled leaks.
control_flood() { flood_start 1; sleep 1; flood_wait; }
run_probe "UDP flood off the tunnel (v4+v6, 1 s)" "disabled (control)" leak phys control_flood

# The replacements, under the flood.
replace_all() {
	local i fails=0 policies=(
		"ks_enable"
		"ks_connecting"
		"ks_enable --allow-lan"
		"ks_block"
		"ks_enable --dns $VPNDNS6 --lan 100.64.0.0/10"
		"ks_connecting --allow-lan"
	)
	ks_enable
	flood_start 120
	sleep 0.3
	for ((i = 0; i < REPLACEMENTS; i++)); do
		${policies[i % ${#policies[@]}]} || fails=$((fails + 1))
	done
	ks_enable || fails=$((fails + 1))
	sleep 0.2
	flood_wait
	printf 'failed=%s attempts=%s\n' "$fails" "$(flood_attempts)" | tee "$LAB_TMP/replace.out"
	log "replacements: $(<"$LAB_TMP/replace.out")"
}
run_probe "UDP flood off the tunnel, $REPLACEMENTS replacements" "enabled<->connecting" blocked phys replace_all
result() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" "$LAB_TMP/replace.out"; }
check "all $REPLACEMENTS replacements applied (exit 0)" "enabled<->connecting" applied test "$(result failed)" = 0
check "the flood ran throughout (>= 10000 sends)" "enabled<->connecting" flooding test "$(result attempts)" -ge 10000
# The probe's sensitivity: the same flood while the table is replaced NON-atomically (deleted,
# then enabled again: two transactions, a gap between them) must show leaks.
replace_with_gaps() {
	local i
	ks_enable
	flood_start 60
	sleep 0.3
	for ((i = 0; i < 50; i++)); do
		inc nft delete table inet killswitch
		ks_enable
	done
	sleep 0.2
	flood_wait
}
run_probe "UDP flood, 50 non-atomic replacements (delete+enable)" "gaps (control)" leak phys replace_with_gaps
# The tunnel works after all that.
run_probe "tcp4 $(hp $NET4 80) through the tunnel" enabled tunnel phys send_c tcp $NET4 80
run_probe "icmp6 $NET6 through the tunnel" enabled tunnel phys ping6 $NET6
lab_finish
