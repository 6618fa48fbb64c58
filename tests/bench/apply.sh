#!/usr/bin/env bash
# Apply time: `killswitch enable` against `nft -f` of the very text it
# compiles, side by side in one throwaway namespace, alternating the two,
# several rounds per size. Prints medians, the ratio and its spread.
# Usage: apply.sh KILLSWITCH [ROUNDS] [SIZES...]   (root; a Release build)
set -euo pipefail
KS=$1
ROUNDS=${2:-7}
shift $(($# > 1 ? 2 : 1))
SIZES=("${@:-1 1000 10000}")
read -r -a SIZES <<<"${SIZES[*]}"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for a network namespace"; exit 77; }
NS=ks-bench-$$
TMP=$(mktemp -d)
trap 'ip netns del "$NS" 2>/dev/null || true; rm -rf "$TMP"' EXIT
ip netns add "$NS"
export KILLSWITCH_RUNDIR=$TMP/run

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

printf '%-9s %14s %14s %8s %s\n' endpoints "killswitch ms" "nft -f ms" ratio "ratio range"
for n in "${SIZES[@]}"; do
	python3 - "$n" >"$TMP/eps" <<'PY'
import sys
n = int(sys.argv[1])
for i in range(n):
    # 10.0.0.0/8 is enough for 16M distinct endpoints
    print(f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}:{51820 + i % 3}")
PY
	args=(--tunnel wg0 --endpoints-file "$TMP/eps" --dns 10.64.0.1)
	{ printf 'table inet killswitch\ndelete table inet killswitch\n'; "$KS" compile "${args[@]}" 2>/dev/null; } >"$TMP/txn.nft"
	: >"$TMP/ks" ; : >"$TMP/nft"; : >"$TMP/ratio"
	for _ in $(seq "$ROUNDS"); do
		t0=$(now); ip netns exec "$NS" "$KS" enable "${args[@]}" 2>/dev/null; t1=$(now)
		ip netns exec "$NS" nft -f "$TMP/txn.nft"; t2=$(now)
		echo $(((t1 - t0) / 1000)) >>"$TMP/ks"
		echo $(((t2 - t1) / 1000)) >>"$TMP/nft"
		echo "scale=3; ($t1 - $t0) / ($t2 - $t1)" | bc >>"$TMP/ratio"
	done
	ks=$(median <"$TMP/ks"); nf=$(median <"$TMP/nft"); r=$(median <"$TMP/ratio")
	lo=$(sort -n "$TMP/ratio" | head -1); hi=$(sort -n "$TMP/ratio" | tail -1)
	printf '%-9s %14.1f %14.1f %8.2f %s-%s\n' "$n" "$(echo "$ks/1000" | bc -l)" "$(echo "$nf/1000" | bc -l)" "$r" "$lo" "$hi"
done
