#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The performance suite in one command: builds a Release killswitch (unless given a build
# directory that has one), runs the benchmarks of docs/performance.md (figures 1, 1b, 1c, 2-5) and
# prints their table with the machine line. Every figure is a ratio of two configurations
# measured side by side in this run (alternating, several rounds; medians and spread); absolute
# times are context.
#
# Not part of ctest or CI: it needs root, takes 25-30 minutes and measures the machine it runs on.
#
# Usage: sudo tests/bench/run.sh [BUILD_DIR]          (default: build-bench, Release)
#   KS_BENCH_ONLY="1 3"   only these figures (1 1b 1c 2 3 4 5)
#   KS_BENCH_QUICK=1      a few rounds each: checks the suite runs, the figures are not for the record
#   KS_BENCH_BEFORE=BIN   an older killswitch timed side by side in figures 1, 2 and 3 (before/after)
#   KS_BENCH_OUT=FILE     where the table goes too (default: BUILD_DIR/bench-results.md)
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/../.." && pwd)
# shellcheck source=tests/bench/lib.sh
source "$BENCH_DIR/lib.sh"

BUILD=$(readlink -f "${1:-$ROOT/build-bench}")
ONLY=${KS_BENCH_ONLY:-1 1b 1c 2 3 4 5}
bench_need_root run.sh

if [[ ! -x $BUILD/killswitch ]]; then
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DKS_TESTS=OFF >/dev/null
	cmake --build "$BUILD" -j"$(nproc)" >/dev/null
fi
if grep -q 'KS_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
	die "$BUILD is a sanitizer build; benchmark a Release build"
fi
KS=$BUILD/killswitch
OUT=${KS_BENCH_OUT:-$BUILD/bench-results.md}
LOGS=$(mktemp -d /tmp/ks-bench-logs.XXXXXX)

# Rounds: the defaults keep the whole suite near 25-30 minutes on 2 cores.
if [[ -n ${KS_BENCH_QUICK:-} ]]; then
	PKT=(3 1) PROF=1 TUN=(3 1) APPLY=(3 1 1000 10000) INC=(10 2) SWAPS=(100 5) SPLIT=(30)
else
	PKT=(10 2) PROF=6 TUN=(12 2) APPLY=(5 1 1000 10000 100000) INC=(100 5) SWAPS=(1000 20) SPLIT=(200)
fi

machine="$(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r), $(nft --version), $(date -u '+%Y-%m-%d %H:%M UTC')"
printf '# %s\n# load average at start: %s\n' "$machine" "$(cut -d' ' -f1-3 /proc/loadavg)"

run() { # FIGURE NAME CMD...: runs one benchmark, its log kept; a skip (77) or failure is noted
	local fig=$1 name=$2 rc=0 t0=$SECONDS
	shift 2
	[[ " $ONLY " == *" $fig "* ]] || return 0
	printf '\n## %s: %s\n' "$fig" "$name"
	"$@" 2>&1 | tee "$LOGS/$fig.log" | grep -v '^RESULT' || rc=${PIPESTATUS[0]}
	printf '# %s: %ds, exit %d\n' "$name" "$((SECONDS - t0))" "$rc"
	if ((rc == 77)); then
		why=$(grep -m1 '^SKIP' "$LOGS/$fig.log" || true)
		result "$fig $name" - skipped - "$why" >>"$LOGS/$fig.log"
	elif ((rc)) && ! grep -q '^RESULT' "$LOGS/$fig.log"; then
		result "$fig $name" - FAILED - "exit $rc; log: $LOGS/$fig.log" >>"$LOGS/$fig.log"
	fi
}

# 1: the cost per packet head to head with the conntrack-only host (issue 15, goals 1 and 5), with
# Mullvad's layout (its order, a rule per endpoint), our table with a rule per endpoint, the guard
# and the bare host in the same rounds, and the profiles that resolve 1%.
run 1 "packet path" env KS_BENCH_PKT_BASE=ct-only KS_BENCH_PKT_SIZES="1 1000 10000" \
	KS_BENCH_PKT_REF_SIZES="1 10000" KS_BENCH_PKT_RULES_SIZES=1 KS_BENCH_PKT_GUARD_SIZES=10000 KS_BENCH_PROF_ROUNDS=$PROF \
	"$BENCH_DIR/packet_path.sh" "$KS" "${PKT[@]}"
# 1b: through the tunnel against a host with no firewall at all (goal 4): 64-byte UDP, then TCP bulk.
run 1b "through the tunnel" sh -c 'KS_BENCH_PKT_SIZES=10000 KS_BENCH_PKT_REF_SIZES=" " KS_BENCH_PKT_GUARD_SIZES=" " \
	KS_BENCH_PROF_ROUNDS=0 "$0" "$@" && KS_BENCH_PKT_TCP=1 KS_BENCH_PKT_SIZES=10000 KS_BENCH_PKT_REF_SIZES=" " \
	KS_BENCH_PKT_GUARD_SIZES=" " "$0" "$@"' "$BENCH_DIR/packet_path.sh" "$KS" "${TUN[@]}"
# 1c: TCP bulk through the tunnel head to head with the conntrack-only host: goal 4 on a host that
# already tracks connections, as almost every real one does (the bare host is in it too).
run 1c "through the tunnel, against conntrack" env KS_BENCH_PKT_BASE=ct-only KS_BENCH_PKT_TCP=1 KS_BENCH_PKT_SIZES=10000 \
	KS_BENCH_PKT_REF_SIZES=" " KS_BENCH_PKT_GUARD_SIZES=" " KS_BENCH_PROF_ROUNDS=$PROF "$BENCH_DIR/packet_path.sh" "$KS" "${TUN[@]}"
run 2 "apply" "$BENCH_DIR/apply.sh" "$KS" "${APPLY[@]}"
run 3 "incremental" "$BENCH_DIR/incremental.sh" "$KS" "${INC[@]}"
run 4 "transitions" "$BENCH_DIR/transitions.sh" "$KS" "${SWAPS[@]}"
run 5 "split-tunnel exec" "$BENCH_DIR/split_exec.sh" "$BUILD/split-tunnel" "${SPLIT[@]}"

{
	# shellcheck disable=SC2016 # the backquotes are Markdown
	printf '\nCommand: `sudo tests/bench/run.sh`%s\n\n' "${KS_BENCH_QUICK:+ (KS_BENCH_QUICK=1)}"
	printf 'Machine: %s; load average at the end %s.\n\n' "$machine" "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf '| figure | goal | median | spread | context (absolute) |\n|---|---|---|---|---|\n'
	cat "$LOGS"/*.log | grep '^RESULT' | cut -f2- | sed 's/\t/ | /g; s/^/| /; s/$/ |/'
} | tee "$OUT"
printf '\n# the table is in %s; the logs in %s\n' "$OUT" "$LOGS"
