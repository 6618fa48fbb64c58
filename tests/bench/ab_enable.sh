#!/usr/bin/env bash
# A/B: `killswitch enable` of two builds (A, B: e.g. two commits' Release builds), plus `nft -f`
# of the compiled transaction, alternating in one throwaway network namespace; prints medians and
# the median of per-round ratios B/A. Used for the child-process cost in docs/performance.md.
# Usage (root): ab_enable.sh A_KILLSWITCH B_KILLSWITCH [SIZE:ROUNDS ...]
set -euo pipefail
OLD=$(readlink -f "$1") NEW=$(readlink -f "$2"); shift 2
SPECS=("$@"); ((${#SPECS[@]})) || SPECS=(1:30 1000:30 10000:20 100000:8)
NS=ks-ab-$$
W=$(mktemp -d /tmp/ks-ab.XXXXXX)
RUN_OLD=$(mktemp -d /dev/shm/ks-ab-old.XXXXXX) RUN_NEW=$(mktemp -d /dev/shm/ks-ab-new.XXXXXX)
CONF_OLD=$(mktemp -d /tmp/ks-ab-conf.XXXXXX) CONF_NEW=$(mktemp -d /tmp/ks-ab-conf.XXXXXX)
trap 'ip netns del "$NS" 2>/dev/null || true; rm -rf "$RUN_OLD" "$RUN_NEW" "$CONF_OLD" "$CONF_NEW"' EXIT
ip netns add "$NS"
export KILLSWITCH_SPLIT_TUNNEL=off
echo "workdir $W  netns $NS"

cat >"$W/rounds.sh" <<'EOF'
set -u
OLD=$1 NEW=$2 N=$3 R=$4 D=$5 RO=$6 RN=$7 CO=$8 CN=$9
args=(--tunnel wg0 --endpoints-file "$D/eps-$N")
us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
run() { # name cmd...
	local name=$1 t0; shift; t0=$(us)
	"$@" >/dev/null 2>"$D/err" || { echo "$name failed:" >&2; cat "$D/err" >&2; }
	echo $(($(us) - t0)) >>"$D/$name-$N"
}
o() { KILLSWITCH_RUNDIR=$RO KILLSWITCH_CONFDIR=$CO run old "$OLD" enable "${args[@]}"; }
n() { KILLSWITCH_RUNDIR=$RN KILLSWITCH_CONFDIR=$CN run new "$NEW" enable "${args[@]}"; }
f() { run nft nft -f "$D/txn-$N.nft"; }
# warm-up: the table exists (same size) before the first timed replace; caches warm
o; n; f; rm -f "$D/old-$N" "$D/new-$N" "$D/nft-$N"
for ((r = 0; r < R; r++)); do
	if ((r % 2)); then f; n; o; else o; n; f; fi
done
EOF

pstats() { # file -> "median p10 p90" (nearest rank)
	sort -g "$1" | awk '{a[NR]=$1} END {m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2;
		k10=int((NR*10+99)/100); k90=int((NR*90+99)/100); if(k10<1)k10=1; printf "%.4f %.4f %.4f", m, a[k10], a[k90]}'
}

ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
printf '%-7s %6s %10s %10s %10s %8s %14s %9s %9s\n' size rounds "old ms" "new ms" "nft-f ms" "new/old" "p10-p90" "old/nft" "new/nft"
for spec in "${SPECS[@]}"; do
	N=${spec%%:*} R=${spec##*:}
	python3 - "$N" >"$W/eps-$N" <<'PY'
import sys
n = int(sys.argv[1])
for i in range(n):
    print(f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}:51820")
PY
	{ printf 'table inet killswitch\ndelete table inet killswitch\n'
	  KILLSWITCH_RUNDIR=$RUN_NEW KILLSWITCH_CONFDIR=$CONF_NEW "$NEW" compile --tunnel wg0 --endpoints-file "$W/eps-$N"; } >"$W/txn-$N.nft"
	ip netns exec "$NS" bash "$W/rounds.sh" "$OLD" "$NEW" "$N" "$R" "$W" "$RUN_OLD" "$RUN_NEW" "$CONF_OLD" "$CONF_NEW"
	paste "$W/old-$N" "$W/new-$N" "$W/nft-$N" | awk '{printf "%.4f %.4f %.4f\n", $2/$1, $1/$3, $2/$3}' >"$W/ratios-$N"
	cut -d' ' -f1 "$W/ratios-$N" >"$W/r-newold-$N"; cut -d' ' -f2 "$W/ratios-$N" >"$W/r-oldnft-$N"; cut -d' ' -f3 "$W/ratios-$N" >"$W/r-newnft-$N"
	read -r mo _ _ <<<"$(pstats "$W/old-$N")"; read -r mn _ _ <<<"$(pstats "$W/new-$N")"; read -r mf _ _ <<<"$(pstats "$W/nft-$N")"
	read -r rm r10 r90 <<<"$(pstats "$W/r-newold-$N")"
	read -r ro _ _ <<<"$(pstats "$W/r-oldnft-$N")"; read -r rn _ _ <<<"$(pstats "$W/r-newnft-$N")"
	LC_ALL=C printf '%-7s %6s %10.1f %10.1f %10.1f %8.3f %14s %9.3f %9.3f\n' "$N" "$R" \
		"$(ms "$mo")" "$(ms "$mn")" "$(ms "$mf")" "$rm" "$r10-$r90" "$ro" "$rn"
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
