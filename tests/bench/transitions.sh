#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Figure 4, transitions: 1,000 policy swaps (enable, block, enable, ...) while UDP floods off the
# tunnel (bound to the physical interface, IPv4 and IPv6), in the leak lab (tests/e2e/lib.sh:
# wireguard-go between namespaces). What leaked is counted on the far side of the link by the
# lab's oracle, never by the sender. The policy is the packet-path one at 1,000 endpoints (the
# tunnel's among them, 1,000 --lan ranges, 64 resolvers), so every swap replaces ~3,000 set
# elements. The control: the same flood while the table is replaced non-atomically (deleted, then
# enabled) must show leaks, or the oracle proves nothing.
#
# Usage: transitions.sh KILLSWITCH [SWAPS] [CONTROL_SWAPS]   (root)
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
export KILLSWITCH=${1:?usage: transitions.sh KILLSWITCH [SWAPS] [CONTROL_SWAPS]}
SWAPS=${2:-1000}
CONTROL_SWAPS=${3:-20}
# shellcheck source=tests/e2e/lib.sh
source "$BENCH_DIR/../e2e/lib.sh"
# shellcheck source=tests/bench/lib.sh
source "$BENCH_DIR/lib.sh"
export KILLSWITCH_SPLIT_TUNNEL=off

lab_init bench-transitions
# shellcheck disable=SC2119 # lab_up's only argument is an option this benchmark does not want
lab_up

"$PYTHON" - "$LAB_TMP" "$ENDPOINT" "$VPNDNS4" <<'PY'
import sys
tmp, ep, dns = sys.argv[1:4]
others = [f"198.{18 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}:{51820 + i % 3}" for i in range(999)]
open(f"{tmp}/eps", "w").write("\n".join(others[:500] + [ep] + others[500:]) + "\n")
with open(f"{tmp}/extra.args", "w") as f:
    f.write(f"--dns\n{dns}\n")
    for i in range(1000):
        f.write(f"--lan\n100.{64 + i // 128}.{(i % 128) * 2}.0/24\n")
    for i in range(63):
        f.write(f"--dns\n10.64.{i // 250}.{1 + i % 250}\n")
PY
mapfile -t EXTRA <"$LAB_TMP/extra.args"
swap_enable() { ks_quiet enable --tunnel "$WGC" --endpoints-file "$LAB_TMP/eps" "${EXTRA[@]}"; }
swap_block() { ks_quiet block --endpoints-file "$LAB_TMP/eps" "${EXTRA[@]}"; }

# The flood: the lab's flood_start SECONDS, flood_stop, flood_attempts (IPv4 and IPv6 UDP off the
# tunnel, bound to phy0, and the send attempts counted from their outputs).

# The swaps, under the flood; each one timed.
swap_enable || die "enable failed"
before=$(oracle_phys)
flood_start 900
sleep 0.3
fails=0
for ((i = 0; i < SWAPS; i++)); do
	t0=$EPOCHREALTIME
	if ((i % 2)); then swap_enable || fails=$((fails + 1)); else swap_block || fails=$((fails + 1)); fi
	t1=$EPOCHREALTIME
	echo $((${t1/./} - ${t0/./})) >>"$LAB_TMP/swap-us"
done
# End enabled: with an odd number of swaps the last one was a block.
if ((SWAPS % 2)); then swap_enable || fails=$((fails + 1)); fi
sleep 0.2
flood_stop
sleep "$SETTLE"
leaked=$(($(oracle_phys) - before))
attempts=$(flood_attempts)
swap_ms=$(fmt "$(ratio "$(median "$LAB_TMP/swap-us")" 1000)" 1)
log "swaps: $SWAPS, failed: $fails, flood sends: $attempts, leaked: $leaked, median swap: $swap_ms ms"

# The control: the same flood, the table deleted and enabled again (two transactions).
swap_enable
before=$(oracle_phys)
flood_start 120
sleep 0.3
for ((i = 0; i < CONTROL_SWAPS; i++)); do
	inc nft delete table inet killswitch
	swap_enable
done
sleep 0.2
flood_stop
sleep "$SETTLE"
control=$(($(oracle_phys) - before))
control_attempts=$(flood_attempts)
log "control: $CONTROL_SWAPS non-atomic replacements, flood sends: $control_attempts, leaked: $control"

# The tunnel still works after all that.
handshake_completes 10 && tunnel=works || tunnel=BROKEN

printf 'swaps %d (failed %d), flood sends %d, leaked %d; control (%d delete+enable) leaked %d; tunnel %s\n' \
	"$SWAPS" "$fails" "$attempts" "$leaked" "$CONTROL_SWAPS" "$control" "$tunnel"
result "4 leaks in $SWAPS swaps enable<->block under a flood" "0 packets" "$leaked" \
	"$fails failed swaps" "$attempts flood sends; median swap $swap_ms ms; control ($CONTROL_SWAPS non-atomic replacements): $control leaked; tunnel $tunnel afterwards"
((leaked == 0 && fails == 0 && control > 0)) && [[ $tunnel == works ]]
