#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Figure 2, apply time: `killswitch enable` against `nft -f` of the very text it compiles
# (the same transaction: create, delete and define the table), side by side in one throwaway
# namespace, alternating which goes first, several rounds per size. Both replace a table of the
# same size, so both pay the kernel's teardown of the old one. Prints medians, the ratio and its
# spread, and the peak memory of both at the largest size.
#
# Usage: apply.sh KILLSWITCH [ROUNDS] [SIZES...]   (root; a Release build)
# ROUNDS is for the sizes above 10,000; 10,000 gets twice as many, smaller sizes six times (they
# take milliseconds, and the machine's noise is as large as they are).
# KS_BENCH_BEFORE=OLD_KILLSWITCH times OLD's enable in the same rounds too (before/after).
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
source "$BENCH_DIR/lib.sh"

KS=$(readlink -f "${1:?usage: apply.sh KILLSWITCH [ROUNDS] [SIZES...]}")
ROUNDS=${2:-5}
shift $(($# > 1 ? 2 : 1))
SIZES=("$@")
((${#SIZES[@]})) || SIZES=(1 1000 10000 100000)

bench_need_root apply.sh
NS=ks-bench-apply-$$
TMP=$(mktemp -d /tmp/ks-bench-apply.XXXXXX)
RUNDIR=$(bench_rundir)
trap 'ip netns del "$NS" 2>/dev/null || true; rm -rf "$TMP" "$RUNDIR"' EXIT
ip netns add "$NS"
export KILLSWITCH_RUNDIR=$RUNDIR
# compile leaves split tunnelling out; so must enable, or the two texts differ (and no cgroup is made).
export KILLSWITCH_SPLIT_TUNNEL=off

# The timed loop runs inside the namespace: `ip netns exec` (a mount namespace, /sys remounted)
# would otherwise be timed with each command.
cat >"$TMP/rounds.sh" <<'EOF'
set -u
KS=$1 ROUNDS=$2 N=$3 DIR=$4 BEFORE=${5:-}
args=(--tunnel wg0 --endpoints-file "$DIR/eps-$N" --dns 10.64.0.1)
us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
run_ks() { local t0; t0=$(us); "$KS" enable "${args[@]}" 2>/dev/null || echo "enable failed" >&2; echo $(($(us) - t0)) >>"$DIR/ks-$N"; }
run_nft() { local t0; t0=$(us); nft -f "$DIR/txn-$N.nft" || echo "nft -f failed" >&2; echo $(($(us) - t0)) >>"$DIR/nft-$N"; }
run_before() {
	[[ -n $BEFORE ]] || return 0
	local t0; t0=$(us); "$BEFORE" enable "${args[@]}" 2>/dev/null || echo "enable (before) failed" >&2
	echo $(($(us) - t0)) >>"$DIR/before-$N"
}
"$KS" enable "${args[@]}" 2>/dev/null # the table exists before the first timed replace
for ((r = 0; r < ROUNDS; r++)); do
	if ((r % 2)); then run_nft; run_before; run_ks; else run_ks; run_before; run_nft; fi
	a=$(tail -1 "$DIR/ks-$N") b=$(tail -1 "$DIR/nft-$N")
	awk -v a="$a" -v b="$b" 'BEGIN {printf "%.4f\n", a / b}' >>"$DIR/ratio-$N"
	if [[ -n $BEFORE ]]; then
		awk -v a="$(tail -1 "$DIR/before-$N")" -v b="$b" 'BEGIN {printf "%.4f\n", a / b}' >>"$DIR/ratio-before-$N"
	fi
done
EOF

printf '%-9s %14s %14s %8s %s\n' endpoints "killswitch ms" "nft -f ms" ratio "ratio spread"
for n in "${SIZES[@]}"; do
	python3 - "$n" >"$TMP/eps-$n" <<'PY'
import sys
n = int(sys.argv[1])
for i in range(n):
    # 10.0.0.0/8 is enough for 16M distinct endpoints
    print(f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}:{51820 + i % 3}")
PY
	{ printf 'table inet killswitch\ndelete table inet killswitch\n'
	  "$KS" compile --tunnel wg0 --endpoints-file "$TMP/eps-$n" --dns 10.64.0.1 2>/dev/null; } >"$TMP/txn-$n.nft"
	rounds=$((n <= 1000 ? ROUNDS * 6 : n <= 10000 ? ROUNDS * 2 : ROUNDS))
	ip netns exec "$NS" bash "$TMP/rounds.sh" "$KS" "$rounds" "$n" "$TMP" "${KS_BENCH_BEFORE:+$(readlink -f "$KS_BENCH_BEFORE")}"
	ks=$(median "$TMP/ks-$n") nf=$(median "$TMP/nft-$n") r=$(median "$TMP/ratio-$n")
	spread="p10-p90 $(fmt "$(pct "$TMP/ratio-$n" 10)" 2)-$(fmt "$(pct "$TMP/ratio-$n" 90)" 2)"
	printf '%-9s %14.1f %14.1f %8.2f %s\n' "$n" "$(ratio "$ks" 1000)" "$(ratio "$nf" 1000)" "$r" "$spread"
	context="$(fmt "$(ratio "$ks" 1000)" 1) ms vs $(fmt "$(ratio "$nf" 1000)" 1) ms"
	if [[ $n == "${SIZES[-1]}" ]]; then
		# Peak memory, once each: the policy, its text and libnftables' own copy of it.
		peak_rss_kib "$NS" "$KS" enable --tunnel wg0 --endpoints-file "$TMP/eps-$n" --dns 10.64.0.1 >"$TMP/rss-ks"
		peak_rss_kib "$NS" nft -f "$TMP/txn-$n.nft" >"$TMP/rss-nft"
		context+="; peak RSS $(($(tail -1 "$TMP/rss-ks") / 1024)) MiB vs $(($(tail -1 "$TMP/rss-nft") / 1024)) MiB"
		printf '# peak RSS at %s endpoints: killswitch %s KiB, nft -f %s KiB\n' "$n" "$(tail -1 "$TMP/rss-ks")" "$(tail -1 "$TMP/rss-nft")"
	fi
	result "2 enable / nft -f, $n endpoints" "<= 1.1" "$(fmt "$r" 2)" "$spread" "$context"
	if [[ -n ${KS_BENCH_BEFORE:-} ]]; then
		result "2 enable / nft -f, $n endpoints, before (KS_BENCH_BEFORE)" "(before)" "$(fmt "$(median "$TMP/ratio-before-$n")" 2)" \
			"p10-p90 $(fmt "$(pct "$TMP/ratio-before-$n" 10)" 2)-$(fmt "$(pct "$TMP/ratio-before-$n" 90)" 2)" \
			"$(fmt "$(ratio "$(median "$TMP/before-$n")" 1000)" 1) ms"
		# After over before directly, per block of 5 rounds (a round's own ratio swings too much on a loaded machine).
		block_ratios "$TMP/ks-$n" "$TMP/before-$n" 5 >"$TMP/after-before-$n"
		[[ -s $TMP/after-before-$n ]] && result "2 enable at $n endpoints, after / before (KS_BENCH_BEFORE)" "(before/after)" \
			"$(fmt "$(median "$TMP/after-before-$n")" 2)" \
			"blocks of 5 rounds: p10-p90 $(fmt "$(pct "$TMP/after-before-$n" 10)" 2)-$(fmt "$(pct "$TMP/after-before-$n" 90)" 2)" \
			"$(wc -l <"$TMP/after-before-$n") blocks; $(fmt "$(ratio "$ks" 1000)" 1) ms vs $(fmt "$(ratio "$(median "$TMP/before-$n")" 1000)" 1) ms"
	fi
	# The same for enable / nft -f itself.
	block_ratios "$TMP/ks-$n" "$TMP/nft-$n" 5 >"$TMP/blocks-$n"
	[[ ! -s $TMP/blocks-$n ]] || printf '# %s endpoints, enable / nft -f per block of 5 rounds: median %s, p10-p90 %s-%s (%d blocks)\n' "$n" \
		"$(fmt "$(median "$TMP/blocks-$n")" 2)" "$(fmt "$(pct "$TMP/blocks-$n" 10)" 2)" "$(fmt "$(pct "$TMP/blocks-$n" 90)" 2)" "$(wc -l <"$TMP/blocks-$n")"
done
