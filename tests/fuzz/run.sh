#!/usr/bin/env bash
# One harness for $KS_FUZZ_SECONDS (default 60) from a copy of its seeds, so
# what it learns never lands in the tree. 0 seconds replays the seeds only.
# Any crash, leak, slow input or broken invariant exits non-zero.
#	run.sh HARNESS SEED_DIR WORK_DIR [DICTIONARY]
set -euo pipefail
harness=$1 seeds=$2 work=$3 dict=${4:-}
secs=${KS_FUZZ_SECONDS:-60}

case $secs in
''|*[!0-9]*) echo "KS_FUZZ_SECONDS must be a number of seconds: '$secs'" >&2; exit 2 ;;
esac
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
cp -R "$seeds/." "$work/corpus/"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
args=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1
      -artifact_prefix="$work/artifacts/")
[ -n "$dict" ] && args+=(-dict="$dict")
if [ "$secs" = 0 ]; then
	exec "$harness" "${args[@]}" -runs=0 "$work/corpus"
fi
# -max_total_time is checked between inputs; timeout(1) is the backstop for a hang in libFuzzer itself.
exec timeout -k 10 $((secs + 120)) "$harness" "${args[@]}" -max_total_time="$secs" "$work/corpus"
