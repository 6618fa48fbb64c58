#!/usr/bin/env bash
# SIGKILL at random moments, and many concurrent callers, in a throwaway
# network namespace. Once a kill switch is up the host is never open: after
# every kill the table is the previous one or the new one, whole (compared
# with fingerprints of both, taken from complete runs), never missing or
# partial. Concurrent enable/block/disable calls serialise: the final table
# is exactly one caller's, and the state file names the same policy.
# Usage: sigkill.sh KILLSWITCH
# KS_SIGKILL_ROUNDS (default 60) kills of enable; a third as many of block
# and of disable. KS_SIGKILL_ENDPOINTS (default 5000) endpoints in the large
# policy (20000 takes about 4 times as long).
set -euo pipefail

# shellcheck source=tests/apply/lib.sh
. "$(dirname "$0")/lib.sh"

KS=$1
ROUNDS=${KS_SIGKILL_ROUNDS:-60}
ENDPOINTS=${KS_SIGKILL_ENDPOINTS:-5000}
CONCURRENT_ROUNDS=${KS_SIGKILL_CONCURRENT_ROUNDS:-3}
BG=()
cleanup_hook() {
	local pid
	for pid in "${BG[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
ks_setup kill

elements() { # elements SET: how many elements the set holds
	inns nft list set inet killswitch "$1" | grep -o ' \. \(udp\|tcp\) \. [0-9]*' | wc -l
}
drop_policies() {
	local out
	out=$(inns nft list table inet killswitch) || return 1
	for hook in output input forward; do
		grep -q "hook $hook priority filter; policy drop;" <<<"$out" || return 1
	done
}

# The policies: A small, B large (endpoints from a file), K a blocked ("connecting") state.
for ((i = 1; i <= ENDPOINTS; i++)); do
	printf '10.%d.%d.%d:%d\n' $((i >> 16 & 255)) $((i >> 8 & 255)) $((i & 255)) $((1024 + i % 50000))
done >"$RUN/endpoints"
POLICY_A=(enable --tunnel wgA --endpoint 192.0.2.1:51820 --dns 10.64.0.1)
POLICY_B=(enable --tunnel wgB --endpoints-file "$RUN/endpoints" --dns 10.64.0.2 --allow-lan)
POLICY_K=(block --tunnel wgA --endpoint 192.0.2.7:51820)

check "policy B (the large one) applies" ks "${POLICY_B[@]}"
FP_B=$(fingerprint)
check "B's table has drop policies" drop_policies
check "B's endpoint set holds all $ENDPOINTS endpoints" test "$(elements endpoints4)" = "$ENDPOINTS"
check "policy K (blocked) applies" ks "${POLICY_K[@]}"
FP_K=$(fingerprint)
check "K's table has drop policies" drop_policies
check "policy A applies" ks "${POLICY_A[@]}"
FP_A=$(fingerprint)
check "A's table has drop policies" drop_policies
check "A's endpoint set holds its 1 endpoint" test "$(elements endpoints4)" = 1
check "the three fingerprints differ" test "$FP_A" != "$FP_B" -a "$FP_A" != "$FP_K" -a "$FP_B" != "$FP_K"

# duration COMMAND...: the median wall time of three complete runs from A, in microseconds
duration() {
	local runs=() t0 i
	for i in 1 2 3; do
		ks "${POLICY_A[@]}" 2>/dev/null
		t0=$(now_us)
		ks "$@" >/dev/null 2>&1
		runs+=($(($(now_us) - t0)))
	done
	printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p
}
# random_below N: a random integer in [0, N)
random_below() { echo $(((RANDOM << 15 | RANDOM) % $1)); }

# kill_during OUTCOMES_VAR ALLOWED_FPS DURATION_US COMMAND...: starts COMMAND from A, SIGKILLs it
# after a random delay in [0, 1.2 * DURATION), and asserts that the table is then one of
# ALLOWED_FPS (space-separated fingerprints, or "absent"). Counts outcomes in the named
# associative array.
kill_during() {
	local -n outcomes=$1
	local allowed=$2 dur=$3 delay fp pid rc=0 how key n
	shift 3
	if [ "$(fingerprint)" != "$FP_A" ]; then ks "${POLICY_A[@]}" 2>/dev/null; fi
	delay=$(random_below $((dur * 12 / 10 + 1)))
	# ip netns exec execs in place: $! is killswitch itself
	ks "$@" >/dev/null 2>&1 &
	pid=$!
	BG+=("$pid")
	sleep "$(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))"
	kill -KILL "$pid" 2>/dev/null || true
	{ wait "$pid"; } 2>/dev/null || rc=$?
	BG=()
	if [ "$rc" = 137 ]; then how=killed; else how="finished(rc=$rc)"; fi
	fp=$(fingerprint)
	case " $allowed " in
	*" $fp "*)
		case $fp in
		"$FP_A") key=$how:previous ;;
		absent) key=$how:absent ;;
		*) key=$how:new ;;
		esac
		n=${outcomes[$key]:-0}
		outcomes[$key]=$((n + 1))
		# The state file should name what the kernel has (status shows it, watch restores it).
		if { [ "$fp" = "$FP_A" ] && ! state_names wgA; } || { [ "$fp" = "$FP_B" ] && ! state_names wgB; } ||
			{ [ "$fp" = absent ] && [ -e "$KILLSWITCH_RUNDIR/policy" ]; }; then
			key=state-file-behind
			n=${outcomes[$key]:-0}
			outcomes[$key]=$((n + 1))
		fi
		;;
	*)
		n=${outcomes[BAD]:-0}
		outcomes[BAD]=$((n + 1))
		echo "#   after SIGKILL at ${delay} us of '$*': table is '$fp' ($(inns nft list tables | tr '\n' ' '))"
		;;
	esac
}
summary() { # summary ARRAY_NAME: "key=count ..." sorted
	local -n arr=$1
	local k
	for k in "${!arr[@]}"; do echo "$k=${arr[$k]}"; done | sort | tr '\n' ' '
}

# ---- SIGKILL during enable (A -> B), block (A -> K), disable (A -> nothing) -------------------

D_ENABLE=$(duration "${POLICY_B[@]}")
D_BLOCK=$(duration "${POLICY_K[@]}")
D_DISABLE=$(duration disable)
echo "# durations (median of 3): enable B $((D_ENABLE / 1000)) ms ($ENDPOINTS endpoints)," \
	"block $((D_BLOCK / 1000)) ms, disable $((D_DISABLE / 1000)) ms"

declare -A ENABLE_OUT=() BLOCK_OUT=() DISABLE_OUT=()
t0=$SECONDS
for ((r = 0; r < ROUNDS; r++)); do
	kill_during ENABLE_OUT "$FP_A $FP_B" "$D_ENABLE" "${POLICY_B[@]}"
done
echo "# enable killed at random moments, $ROUNDS rounds in $((SECONDS - t0)) s: $(summary ENABLE_OUT)"
check "SIGKILL of enable: always A or B whole, never absent or partial ($ROUNDS rounds)" test -z "${ENABLE_OUT[BAD]:-}"
check "  ... some kills landed before the commit (A stayed)" test -n "${ENABLE_OUT[killed:previous]:-}"
check "  ... some after it (B whole)" test -n "${ENABLE_OUT[killed:new]:-}${ENABLE_OUT[finished(rc=0):new]:-}"

for ((r = 0; r < ROUNDS / 3; r++)); do
	kill_during BLOCK_OUT "$FP_A $FP_K" "$D_BLOCK" "${POLICY_K[@]}"
done
echo "# block killed at random moments, $((ROUNDS / 3)) rounds: $(summary BLOCK_OUT)"
check "SIGKILL of block: always A or K whole, never absent or partial" test -z "${BLOCK_OUT[BAD]:-}"

for ((r = 0; r < ROUNDS / 3; r++)); do
	kill_during DISABLE_OUT "$FP_A absent" "$D_DISABLE" disable
done
echo "# disable killed at random moments, $((ROUNDS / 3)) rounds: $(summary DISABLE_OUT)"
check "SIGKILL of disable: A whole or no table, never partial" test -z "${DISABLE_OUT[BAD]:-}"
stale=$((${ENABLE_OUT[state-file-behind]:-0} + ${BLOCK_OUT[state-file-behind]:-0} + ${DISABLE_OUT[state-file-behind]:-0}))
echo "# kills between the commit and the state file write (status/watch see the older policy): $stale"

check "after all the kills, enable still works" ks "${POLICY_A[@]}"
check "  ... and status says complete" grep -q '"complete": true' <(ks status --json)
check "no lock left held: disable completes at once" timeout 10 ip netns exec "$NS" "$KS" disable

# ---- many concurrent enable / block / disable calls -------------------------------------------

# Twelve enables and twelve blocks with distinct policies, and six disables; fingerprints of each
# policy taken alone first.
declare -A FP_OF=()
CALLS=()
for i in $(seq 1 12); do
	args="enable --tunnel wgE$i --endpoint 192.0.2.$i:51820"
	((i % 3)) || args+=" --allow-lan"
	((i % 4)) || args+=" --dns 10.64.0.$i"
	CALLS+=("$args")
	args="block --tunnel wgK$i --endpoint 198.51.100.$i:51820"
	((i % 2)) || args+=" --allow-lan"
	CALLS+=("$args")
done
for i in 1 2 3 4 5 6; do CALLS+=(disable); done
for args in "${CALLS[@]}"; do
	[ "$args" = disable ] && continue
	# shellcheck disable=SC2086
	ks $args >/dev/null 2>&1 || not_ok "alone: $args"
	FP_OF[$(fingerprint)]=$args
done
check "each of the 24 policies has its own fingerprint" test "${#FP_OF[@]}" = 24

for ((round = 1; round <= CONCURRENT_ROUNDS; round++)); do
	ks "${POLICY_B[@]}" >/dev/null 2>&1 # a slow one in flight with the others
	pids=() order=()
	while read -r n; do order+=("${CALLS[n]}"); done < <(shuf -i 0-$((${#CALLS[@]} - 1)))
	ks "${POLICY_B[@]}" >/dev/null 2>&1 &
	pids+=($!)
	for args in "${order[@]}"; do
		# shellcheck disable=SC2086
		ks $args >/dev/null 2>>"$RUN/concurrent.err" &
		pids+=($!)
	done
	BG+=("${pids[@]}")
	rcs=0
	for p in "${pids[@]}"; do wait "$p" || rcs=$((rcs + 1)); done
	BG=()
	fp=$(fingerprint)
	check "round $round: all $((${#order[@]} + 1)) concurrent calls exit 0" test "$rcs" = 0
	if [ "$fp" = absent ]; then
		check "round $round: final state is a disable: no table, no state file" test ! -e "$KILLSWITCH_RUNDIR/policy"
	elif [ "$fp" = "$FP_B" ]; then
		check "round $round: final table is B, whole, and the state file says so" state_names wgB
	elif [ -n "${FP_OF[$fp]:-}" ]; then
		tunnel=${FP_OF[$fp]#*--tunnel }
		tunnel=${tunnel%% *}
		check "round $round: final table is exactly '${FP_OF[$fp]}', whole; the state file says so" state_names "$tunnel"
	else
		not_ok "round $round: final table is none of the callers' policies ($(inns nft list tables | tr '\n' ' '))"
	fi
	echo "# round $round: last writer: ${FP_OF[$fp]:-$([ "$fp" = "$FP_B" ] && echo B || echo "$fp")}"
done
if [ -s "$RUN/concurrent.err" ]; then
	echo "# stderr of the concurrent calls (warnings):"
	sort "$RUN/concurrent.err" | uniq -c | sed 's/^/#   /'
fi

finish
