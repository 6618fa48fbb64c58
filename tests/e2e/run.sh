#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Run lab themes (all by default) and print one table: probe, state, expected, seen, leaked
# packets. Each theme builds and tears down its own lab; up to -j of them run at once (the
# floods of atomic, watch and coexist_* always run alone).
#   KILLSWITCH=build/killswitch tests/e2e/run.sh [-j N] [THEME...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
all=(states-ipv4 states-ipv6 bound tunnelvision tunnelcrack dns lan protect partial mesh forward gateway preexisting wgquick fromwg openvpn boot atomic watch guard tunnel_restart coexist_nftables coexist_iptables coexist_firewalld coexist_ufw coexist_docker findings)
jobs=2

usage() {
	echo "usage: KILLSWITCH=PATH $0 [-j N] [THEME...]"
	echo "themes: ${all[*]}"
	exit 2
}
while getopts j:h opt; do
	case $opt in
	j) jobs=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
themes=("$@")
((${#themes[@]})) || themes=("${all[@]}")
for t in "${themes[@]}"; do
	[[ " ${all[*]} " == *" $t "* ]] || usage
done
[[ -n ${KILLSWITCH:-} ]] || usage
KILLSWITCH=$(readlink -f "$KILLSWITCH")
export KILLSWITCH

out=$(mktemp -d /tmp/ks-e2e-run.XXXXXX)
export KS_E2E_TABLE=$out/table
: >"$KS_E2E_TABLE"
declare -A pid_of=() rc_of=() t0_of=()

start() {
	local t=$1 script=$1.sh args=()
	if [[ $t == states-* ]]; then script=states.sh args=("${t#states-}"); fi
	t0_of[$t]=$SECONDS
	bash "$here/$script" "${args[@]}" >"$out/$t.log" 2>&1 &
	pid_of[$t]=$!
}
finish() {
	local t=$1 rc=0 what
	wait "${pid_of[$t]}" || rc=$?
	rc_of[$t]=$rc
	unset "pid_of[$t]"
	case $rc in
	0) what=passed ;;
	77) what="skipped: $(sed -n 's/^SKIP: //p' "$out/$t.log" | head -n1)" ;;
	*) what="FAILED (exit $rc)" ;;
	esac
	printf '  %-14s %s in %ds\n' "$t" "$what" $((SECONDS - t0_of[$t]))
}
wait_slot() { # wait until fewer than $1 themes run
	local t
	while ((${#pid_of[@]} >= $1)); do
		for t in "${!pid_of[@]}"; do
			kill -0 "${pid_of[$t]}" 2>/dev/null || finish "$t"
		done
		((${#pid_of[@]} < $1)) || sleep 0.5
	done
}

echo "Running ${#themes[@]} lab theme(s), $jobs at a time (logs in $out):"
for t in "${themes[@]}"; do
	if [[ $t == atomic || $t == watch || $t == guard || $t == coexist_* ]]; then
		wait_slot 1
		start "$t"
		wait_slot 1
	else
		wait_slot "$jobs"
		start "$t"
	fi
done
wait_slot 1

echo
printf '%-52s %-22s %-9s %-9s %7s  %s\n' PROBE STATE EXPECTED SEEN LEAKED RESULT
probes=0 controls=0 fails=0
for t in "${themes[@]}"; do
	echo "== $t"
	awk -F'\t' -v t="$t" '$1 == t && $2 !~ /^#summary/ { print $2 }' "$KS_E2E_TABLE"
	read -r p c f _ < <(awk -F'\t' -v t="$t" '$1 == t && $2 ~ /^#summary/ { split($2, a, " "); print a[2], a[3], a[4], a[5] }' \
		"$KS_E2E_TABLE") || true
	probes=$((probes + ${p:-0})) controls=$((controls + ${c:-0})) fails=$((fails + ${f:-0}))
	if [[ ${rc_of[$t]} -ne 0 && ${rc_of[$t]} -ne 77 && -z ${p:-} ]]; then
		echo "   (the theme stopped before its summary; last lines of $out/$t.log:)"
		tail -n 5 "$out/$t.log" | sed 's/^/   /'
	fi
	p='' c='' f=''
done
echo
status=0
for t in "${themes[@]}"; do
	[[ ${rc_of[$t]} -eq 0 || ${rc_of[$t]} -eq 77 ]] || status=1
done
echo "$probes probes, $controls controls (the same probe with the kill switch off, which must leak), $fails failed"
if [[ " ${themes[*]} " == *" findings "* && ${rc_of[findings]} -ne 0 ]]; then
	echo "The 'findings' theme asserts the correct behaviour where the lab found the core wrong; see tests/e2e/README.md."
fi
((status)) || rm -rf "$out"
exit $status
