#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The benchmarks' smoke run (ctest bench_smoke): figures 1-3 with tiny sizes and a round or two,
# against whatever build ctest has (a sanitizer build too). It checks that each script runs to its
# RESULT lines; it asserts no time, rate or ratio: those are the machine's, and only mean anything
# from a Release build on a quiet machine (docs/performance.md).
#
# Usage: smoke.sh KILLSWITCH   (root; skips without it)
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
source "$BENCH_DIR/lib.sh"

KS=$(readlink -f "${1:?usage: smoke.sh KILLSWITCH}")
bench_need_root smoke.sh
need_tools smoke.sh nsenter python3 nft
OUT=$(mktemp -d /tmp/ks-bench-smoke.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
fails=0

# smoke NAME MIN_RESULTS CMD...: runs CMD; a skip (77) is fine, anything else must exit 0 with results.
smoke() {
	local name=$1 min=$2 rc=0 n
	shift 2
	"$@" >"$OUT/$name.log" 2>&1 || rc=$?
	n=$(grep -c '^RESULT' "$OUT/$name.log" || true)
	if ((rc == 77)); then
		echo "ok   - $name: skipped ($(grep -m1 '^SKIP' "$OUT/$name.log" || echo "no reason given"))"
	elif ((rc == 0 && n >= min)); then
		echo "ok   - $name: runs, $n results"
	else
		echo "FAIL - $name: exit $rc, $n results (at least $min expected); its log:"
		sed 's/^/#   /' "$OUT/$name.log"
		fails=$((fails + 1))
	fi
}

smoke apply 1 "$BENCH_DIR/apply.sh" "$KS" 1 1 100
smoke incremental 5 env KS_BENCH_INC_SIZES="10 100" KS_BENCH_INC_REF=100 KS_BENCH_BEFORE="$KS" \
	"$BENCH_DIR/incremental.sh" "$KS" 5 1
# Needs iperf3, wireguard-go and /dev/net/tun; skips without them.
smoke packet_path 4 env KS_BENCH_PKT_SIZES=10 KS_BENCH_PKT_REF_SIZES=10 KS_BENCH_PKT_GUARD_SIZES=10 KS_BENCH_PERF=0 \
	"$BENCH_DIR/packet_path.sh" "$KS" 1 1
((fails == 0))
