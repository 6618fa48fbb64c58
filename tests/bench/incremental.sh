#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Figure 3, incremental changes: `killswitch endpoint add|del ADDR:PORT` with 1,000, 10,000 and
# 100,000 endpoints in force (each in its own namespace, with 1,000 --lan ranges and 64
# resolvers), against a full re-apply of the same policy and against nft's own `add|delete
# element` of the same element. Each round runs every command once per size, in a rotating order,
# so the sizes are compared side by side. Process start-up is measured apart (`killswitch
# --version`: exec, the dynamic loader, libnftables and the rest) and subtracted: the operation
# is what is left. All times are wall clock, as bash sees the command (fork, exec, exit).
#
# Usage: incremental.sh KILLSWITCH [ROUNDS] [FULL_ROUNDS]   (root; a Release build)
# KS_BENCH_INC_WATCH=1 (the default) adds a namespace at the reference size where `killswitch
# watch` runs, so that add and del go as nftables text to watch's guard-owning libnftables context
# (both tables' sets in one transaction): timed in the same rounds, against the same commands
# without watch.
# KS_BENCH_BEFORE=OLD_KILLSWITCH adds OLD's endpoint add and del (of a third endpoint) to every
# round; the ratio new/old of the whole command is taken within each round (before/after). With
# watch too, a second watch namespace where OLD's watch holds the guard and OLD's commands change
# it, before or after the new pair under watch by turns.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
source "$BENCH_DIR/lib.sh"

KS=$(readlink -f "${1:?usage: incremental.sh KILLSWITCH [ROUNDS] [FULL_ROUNDS]}")
ROUNDS=${2:-100}
FULL_ROUNDS=${3:-5}
read -r -a SIZES <<<"${KS_BENCH_INC_SIZES:-1000 10000 100000}"
REF=${KS_BENCH_INC_REF:-10000} # the size the goal is stated at
BEFORE=${KS_BENCH_BEFORE:+$(readlink -f "$KS_BENCH_BEFORE")}
WATCH=${KS_BENCH_INC_WATCH:-1}
WATCH_PID=
OLD_WATCH_PID=

bench_need_root incremental.sh
# watch repairs any change made by a process not named killswitch: a copy called otherwise would
# have every change under watch undone and redone, and that timed.
if ((WATCH)); then
	for bin in "$KS" $BEFORE; do
		[[ $(basename "$bin") == killswitch ]] || die "with watch, the binary must be called killswitch: '$bin'"
	done
fi
need_tools incremental.sh nsenter
TMP=$(mktemp -d /tmp/ks-bench-inc.XXXXXX)
RUNDIR=$(bench_rundir)
cleanup() {
	for pid in $WATCH_PID $OLD_WATCH_PID; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; done
	for n in "${SIZES[@]}" watch watch_old; do ip netns del "ks-bench-inc-$$-$n" 2>/dev/null || true; done
	rm -rf "$TMP" "$RUNDIR"
}
trap cleanup EXIT
export KILLSWITCH_SPLIT_TUNNEL=off

python3 - "$TMP" "${SIZES[@]}" <<'PY'
import sys
tmp = sys.argv[1]
for n in map(int, sys.argv[2:]):
    with open(f"{tmp}/eps-{n}", "w") as f:
        for i in range(n):
            f.write(f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}:{51820 + i % 3}\n")
with open(f"{tmp}/extra.args", "w") as f:
    for i in range(1000):
        f.write(f"--lan\n100.{64 + i // 128}.{(i % 128) * 2}.0/24\n")
    for i in range(64):
        f.write(f"--dns\n10.64.{i // 250}.{1 + i % 250}\n")
PY
mapfile -t EXTRA <"$TMP/extra.args"
for n in "${SIZES[@]}"; do
	ip netns add "ks-bench-inc-$$-$n"
	mkdir -m 0700 "$RUNDIR/$n"
	KILLSWITCH_RUNDIR=$RUNDIR/$n ip netns exec "ks-bench-inc-$$-$n" "$KS" enable --tunnel wg0 \
		--endpoints-file "$TMP/eps-$n" --allow-lan "${EXTRA[@]}" 2>/dev/null
done

# watched NAME KILLSWITCH: namespace NAME with KILLSWITCH's table at the reference size and its
# watch holding the guard; the watch's pid in WATCHED_PID.
watched() {
	local n=$1 ks=$2
	ip netns add "ks-bench-inc-$$-$n"
	mkdir -m 0700 "$RUNDIR/$n"
	KILLSWITCH_RUNDIR=$RUNDIR/$n ip netns exec "ks-bench-inc-$$-$n" "$ks" enable --tunnel wg0 \
		--endpoints-file "$TMP/eps-$REF" --allow-lan "${EXTRA[@]}" 2>/dev/null
	KILLSWITCH_RUNDIR=$RUNDIR/$n ip netns exec "ks-bench-inc-$$-$n" "$ks" watch 2>"$TMP/$n.log" &
	WATCHED_PID=$!
	wait_for 30 grep -q guarding "$TMP/$n.log" || { cat "$TMP/$n.log" >&2; die "$ks watch did not start"; }
}
if ((WATCH)); then
	watched watch "$KS"
	WATCH_PID=$WATCHED_PID
fi
if ((WATCH)) && [[ -n $BEFORE ]]; then
	watched watch_old "$BEFORE"
	OLD_WATCH_PID=$WATCHED_PID
fi

# inns SIZE CMD...: CMD in that size's namespace (nsenter: setns only, cheaper than ip netns exec).
inns() { local n=$1; shift; KILLSWITCH_RUNDIR=$RUNDIR/$n nsenter --net="/run/netns/ks-bench-inc-$$-$n" "$@"; }
# timed NAME SIZE CMD...: appends the wall time in microseconds to $TMP/NAME-SIZE.
timed() {
	local name=$1 n=$2 t0 t1
	shift 2
	t0=$EPOCHREALTIME
	inns "$n" "$@" >/dev/null 2>&1 || echo "FAILED: $*" >&2
	t1=$EPOCHREALTIME
	echo $((${t1/./} - ${t0/./})) >>"$TMP/$name-$n"
}
# The element nft adds and deletes is another than ours: each tool finds its own absent first.
steps=(start add del nft_add nft_del)
[[ -z $BEFORE ]] || steps+=(old_add old_del)
step() { # STEP SIZE
	case $1 in
	start) timed start "$2" "$KS" --version ;;
	add) timed add "$2" "$KS" endpoint add 192.0.2.1:51820 ;;
	del) timed del "$2" "$KS" endpoint del 192.0.2.1:51820 ;;
	nft_add) timed nft_add "$2" nft add element inet killswitch endpoints4 '{ 192.0.2.2 . udp . 51820 }' ;;
	nft_del) timed nft_del "$2" nft delete element inet killswitch endpoints4 '{ 192.0.2.2 . udp . 51820 }' ;;
	old_add) timed old_add "$2" "$BEFORE" endpoint add 192.0.2.3:51820 ;;
	old_del) timed old_del "$2" "$BEFORE" endpoint del 192.0.2.3:51820 ;;
	esac
}
# The CPU time (clock ticks) a watch has used so far: its work per change, which the machine's load
# does not stretch as it does wall time.
ticks() { [[ -n $1 ]] && awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
watch_t0=$(ticks "$WATCH_PID") old_watch_t0=$(ticks "$OLD_WATCH_PID")
ns=${#SIZES[@]}
for ((r = 0; r < ROUNDS; r++)); do
	for ((i = 0; i < ns; i++)); do
		n=${SIZES[$(((r + i) % ns))]}
		# add before del (del needs the endpoint), start-up anywhere in between, rotating.
		case $((r % 3)) in
		0) order=(start add del nft_add nft_del) ;;
		1) order=(add start del nft_add nft_del) ;;
		2) order=(add del start nft_add nft_del) ;;
		esac
		# The old binary's pair before or after the new one's, alternately.
		if [[ -n $BEFORE ]]; then
			if ((r % 2)); then order=(old_add old_del "${order[@]}"); else order+=(old_add old_del); fi
		fi
		for s in "${order[@]}"; do step "$s" "$n"; done
	done
	if ((WATCH)); then
		pairs=(new)
		[[ -z $OLD_WATCH_PID ]] || { ((r % 2)) && pairs=(old new) || pairs=(new old); }
		for w in "${pairs[@]}"; do
			if [[ $w == new ]]; then
				timed add watch "$KS" endpoint add 192.0.2.1:51820
				timed del watch "$KS" endpoint del 192.0.2.1:51820
			else
				timed add watch_old "$BEFORE" endpoint add 192.0.2.1:51820
				timed del watch_old "$BEFORE" endpoint del 192.0.2.1:51820
			fi
		done
	fi
done
watch_cpu=$(($(ticks "$WATCH_PID") - watch_t0)) old_watch_cpu=$(($(ticks "$OLD_WATCH_PID") - old_watch_t0))
for ((r = 0; r < FULL_ROUNDS; r++)); do
	timed full "$REF" "$KS" enable --tunnel wg0 --endpoints-file "$TMP/eps-$REF" --allow-lan "${EXTRA[@]}"
done

ms() { fmt "$(ratio "$1" 1000)" "${2:-2}"; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN {print a - b}'; }
printf '%-9s %9s %9s %9s %9s %9s %9s %9s   (median ms over %d rounds)\n' endpoints start-up add del \
	"add op" "del op" "nft add" "nft del" "$ROUNDS"
for n in "${SIZES[@]}"; do
	for s in "${steps[@]}"; do declare "m_$s=$(median "$TMP/$s-$n")"; done
	# shellcheck disable=SC2154 # m_* are declared just above
	printf '%-9s %9s %9s %9s %9s %9s %9s %9s\n' "$n" "$(ms "$m_start")" "$(ms "$m_add")" "$(ms "$m_del")" \
		"$(ms "$(minus "$m_add" "$m_start")")" "$(ms "$(minus "$m_del" "$m_start")")" "$(ms "$m_nft_add")" "$(ms "$m_nft_del")"
done
full=$(median "$TMP/full-$REF")
printf '# full re-apply at %s endpoints: %s ms (median of %d)\n' "$REF" "$(ms "$full" 1)" "$FULL_ROUNDS"

if ((WATCH)); then
	printf '%-9s %9s %9s %9s   (median ms; watch holds the guard)\n' "watch" - "$(ms "$(median "$TMP/add-watch")")" \
		"$(ms "$(median "$TMP/del-watch")")"
	for s in add del; do
		block_ratios "$TMP/$s-watch" "$TMP/$s-$REF" 5 >"$TMP/watch-ratio-$s"
		result "3 endpoint $s at $REF under watch (guard): whole command / without watch" "(context)" \
			"$(fmt "$(median "$TMP/watch-ratio-$s")" 2)" \
			"blocks of 5 rounds: p10-p90 $(fmt "$(pct "$TMP/watch-ratio-$s" 10)" 2)-$(fmt "$(pct "$TMP/watch-ratio-$s" 90)" 2)" \
			"$(ms "$(median "$TMP/$s-watch")") ms vs $(ms "$(median "$TMP/$s-$REF")") ms; whole command p10-p90 $(ms "$(pct "$TMP/$s-watch" 10)")-$(ms "$(pct "$TMP/$s-watch" 90)") ms"
		[[ -n $OLD_WATCH_PID ]] || continue
		[[ $s == add ]] && result "3 watch's CPU time per endpoint add and del at $REF / before (KS_BENCH_BEFORE, its own watch)" \
			"(before/after)" "$(fmt "$(ratio "$watch_cpu" "$old_watch_cpu")" 2)" "over $ROUNDS pairs each" \
			"$(fmt "$(awk -v t="$watch_cpu" -v r="$ROUNDS" -v h="$(getconf CLK_TCK)" 'BEGIN {print t / h / r * 1000}')" 2) ms vs $(fmt "$(awk -v t="$old_watch_cpu" -v r="$ROUNDS" -v h="$(getconf CLK_TCK)" 'BEGIN {print t / h / r * 1000}')" 2) ms of watch's CPU per add and del"
		block_ratios "$TMP/$s-watch" "$TMP/$s-watch_old" 5 >"$TMP/watch-vs-old-$s"
		result "3 endpoint $s at $REF under watch: whole command / before (KS_BENCH_BEFORE, its own watch)" \
			"(before/after)" "$(fmt "$(median "$TMP/watch-vs-old-$s")" 2)" \
			"blocks of 5 rounds: p10-p90 $(fmt "$(pct "$TMP/watch-vs-old-$s" 10)" 2)-$(fmt "$(pct "$TMP/watch-vs-old-$s" 90)" 2)" \
			"$(ms "$(median "$TMP/$s-watch")") ms vs $(ms "$(median "$TMP/$s-watch_old")") ms before; operation $(ms "$(minus "$(median "$TMP/$s-watch")" "$(median "$TMP/start-$REF")")") ms vs $(ms "$(minus "$(median "$TMP/$s-watch_old")" "$(median "$TMP/start-$REF")")") ms"
	done
fi

small=${SIZES[0]} large=${SIZES[-1]}
start=$(median "$TMP/start-$REF")
for s in add del; do
	tot=$(median "$TMP/$s-$REF")
	nft_name=$([[ $s == add ]] && echo add || echo delete)
	# The operation: the command's median less the start-up's, both over the same rounds.
	result "3 endpoint $s at $REF: operation (ms)" "<= 2 ms" "$(ms "$(minus "$tot" "$start")")" \
		"whole command p10-p90 $(ms "$(pct "$TMP/$s-$REF" 10)")-$(ms "$(pct "$TMP/$s-$REF" 90)") ms" \
		"$(ms "$tot") ms with process start-up ($(ms "$start") ms); nft $nft_name element $(ms "$(median "$TMP/nft_$s-$REF")") ms; full re-apply $(ms "$full" 1) ms (ratio $(fmt "$(ratio "$tot" "$full")" 4))"
	# Size independence: the whole command at the largest size over the smallest, round by round.
	paste "$TMP/$s-$large" "$TMP/$s-$small" | awk '{printf "%.4f\n", $1 / $2}' >"$TMP/indep-$s"
	result "3 endpoint $s, $large / $small endpoints" "~1 (independent)" "$(fmt "$(median "$TMP/indep-$s")" 2)" \
		"p10-p90 $(fmt "$(pct "$TMP/indep-$s" 10)" 2)-$(fmt "$(pct "$TMP/indep-$s" 90)" 2)" \
		"$(ms "$(median "$TMP/$s-$large")") ms vs $(ms "$(median "$TMP/$s-$small")") ms"
	[[ -n $BEFORE ]] || continue
	# Before/after: the whole command, new over old, within each round.
	# Per block of 5 rounds: one round's ratio swings by 2x either way on a loaded machine.
	block_ratios "$TMP/$s-$REF" "$TMP/old_$s-$REF" 5 >"$TMP/vs-old-$s"
	result "3 endpoint $s at $REF, whole command / before (KS_BENCH_BEFORE)" "(before/after)" \
		"$(fmt "$(median "$TMP/vs-old-$s")" 2)" \
		"blocks of 5 rounds: p10-p90 $(fmt "$(pct "$TMP/vs-old-$s" 10)" 2)-$(fmt "$(pct "$TMP/vs-old-$s" 90)" 2)" \
		"$(ms "$tot") ms vs $(ms "$(median "$TMP/old_$s-$REF")") ms before; operation $(ms "$(minus "$tot" "$start")") ms vs $(ms "$(minus "$(median "$TMP/old_$s-$REF")" "$start")") ms before"
done
