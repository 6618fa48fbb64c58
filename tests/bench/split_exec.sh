#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The cost of `split-tunnel exec true` next to plain `true` (and libcgroup's
# `cgexec -g net_cls:GROUP true` when cgroup-tools is installed): RUNS rounds,
# each running every variant once in a rotating order, wall-clock time of the
# whole fork+exec as bash sees it; prints median, 10th and 90th percentiles and
# the median's overhead over `true`; then, round by round, each variant's time over the time of
# `true` (and of cgexec) in the same round: the median ratio and its 10th-90th percentiles. Use a
# build without sanitizers.
#
# Usage: split_exec.sh SPLIT_TUNNEL [RUNS]   (root: it joins cgroups)
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "$0")/lib.sh"

split=$(readlink -f "${1:?usage: split_exec.sh SPLIT_TUNNEL [RUNS]}")
runs=${2:-200}
need_root "split_exec.sh needs root (it moves processes between cgroups)"
true_bin=$(type -P true)
name=ks-bench-$$
run=$(mktemp -d /tmp/ks-bench-split.XXXXXX)
export KILLSWITCH_RUNDIR=$run KILLSWITCH_CGROUP_NAME=$name

cleanup() {
	local dir
	for dir in "/sys/fs/cgroup/unified/$name" "/sys/fs/cgroup/$name" "/sys/fs/cgroup/net_cls/$name"; do
		[[ -d $dir ]] && rmdir "$dir" 2>/dev/null
	done
	rm -rf "$run"
}
trap cleanup EXIT

variants=(true split-v2 split-v1 split-v2-sudo)
# Each variant: environment assignments, then the command; every run is one fork and one exec.
declare -A envs=(
	[true]=""
	[split-v2]="KILLSWITCH_SPLIT_TUNNEL=v2"
	[split-v1]="KILLSWITCH_SPLIT_TUNNEL=v1"
	[split-v2-sudo]="KILLSWITCH_SPLIT_TUNNEL=v2 SUDO_UID=65534 SUDO_GID=65534"
)
declare -A cmd=(
	[true]="$true_bin"
	[split-v2]="$split exec $true_bin"
	[split-v1]="$split exec $true_bin"
	[split-v2-sudo]="$split exec $true_bin"
)
if command -v cgexec >/dev/null; then
	envs[cgexec-net_cls]=""
	cmd[cgexec-net_cls]="$(type -P cgexec) -g net_cls:$name $true_bin"
	variants+=(cgexec-net_cls)
fi
run_variant() {
	# shellcheck disable=SC2206 # word splitting wanted: the tables hold words
	local -a e=(${envs[$1]}) argv=(${cmd[$1]})
	(
		[[ ${#e[@]} == 0 ]] || export "${e[@]}"
		exec "${argv[@]}"
	)
}
# Create the groups (and mount net_cls if needed) before timing anything.
for v in split-v2 split-v1 "${variants[@]: -1}"; do
	run_variant "$v" || die "${envs[$v]} ${cmd[$v]} fails"
done

declare -A times
n=${#variants[@]}
for ((i = 0; i < runs; i++)); do
	declare -A round=()
	for ((j = 0; j < n; j++)); do
		v=${variants[$(((i + j) % n))]}
		t0=$EPOCHREALTIME
		run_variant "$v"
		t1=$EPOCHREALTIME
		round[$v]=$((${t1/./} - ${t0/./}))
		times[$v]+="${round[$v]} "
	done
	for v in "${variants[@]}"; do
		echo "${round[$v]} ${round[true]} ${round[cgexec-net_cls]:-0}" >>"$run/rounds-$v"
	done
done

# percentile LIST P: the P-th percentile (nearest rank) of microsecond values.
percentile() {
	local -a sorted
	mapfile -t sorted < <(tr ' ' '\n' <<<"$1" | grep . | sort -n)
	local k=$(((${#sorted[@]} * $2 + 99) / 100 - 1))
	((k < 0)) && k=0
	echo "${sorted[$k]}"
}

base=$(percentile "${times[true]}" 50)
printf '%d rounds on %s, kernel %s\n' "$runs" "$(hostname)" "$(uname -r)"
printf '%-16s %9s %9s %9s %10s   %s\n' variant median_us p10_us p90_us overhead command
for v in "${variants[@]}"; do
	med=$(percentile "${times[$v]}" 50)
	printf '%-16s %9d %9d %9d %+10d   %s\n' "$v" "$med" "$(percentile "${times[$v]}" 10)" \
		"$(percentile "${times[$v]}" 90)" "$((med - base))" "${envs[$v]:+${envs[$v]} }${cmd[$v]}"
done

# ratios FILE COLUMN: the per-round ratios of column 1 over COLUMN, one per line.
ratios() { awk -v c="$2" '$c > 0 { printf "%.4f\n", $1 / $c }' "$1"; }
printf '\n%-16s %14s %16s %14s %16s\n' variant "/ true" "p10-p90" "/ cgexec" "p10-p90"
for v in "${variants[@]:1}"; do
	t=$(ratios "$run/rounds-$v" 2 | tr '\n' ' ')
	c=$(ratios "$run/rounds-$v" 3 | tr '\n' ' ')
	if [[ -z $c ]]; then
		printf '%-16s %14s %16s\n' "$v" "$(percentile "$t" 50)" "$(percentile "$t" 10)-$(percentile "$t" 90)"
	else
		printf '%-16s %14s %16s %14s %16s\n' "$v" "$(percentile "$t" 50)" "$(percentile "$t" 10)-$(percentile "$t" 90)" \
			"$(percentile "$c" 50)" "$(percentile "$c" 10)-$(percentile "$c" 90)"
	fi
	[[ $v == split-* ]] || continue
	context="$(percentile "${times[$v]}" 50) us vs $(percentile "${times[true]}" 50) us for true"
	if [[ -n $c ]]; then
		context+=", $(percentile "${times[cgexec-net_cls]}" 50) us for cgexec"
		result "5 split-tunnel exec true / cgexec ($v)" "(context)" "$(fmt "$(percentile "$c" 50)" 2)" \
			"p10-p90 $(fmt "$(percentile "$c" 10)" 2)-$(fmt "$(percentile "$c" 90)" 2)" "$context"
	fi
	result "5 split-tunnel exec true / true ($v)" "(context)" "$(fmt "$(percentile "$t" 50)" 2)" \
		"p10-p90 $(fmt "$(percentile "$t" 10)" 2)-$(fmt "$(percentile "$t" 90)" 2)" "$context"
done
