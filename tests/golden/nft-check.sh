#!/usr/bin/env bash
# Every golden ruleset must be accepted by nft: `nft -c -f` on each *.nft of
# the directory (rulesets/ by default), in a throwaway network namespace.
# Exit 77 (skipped) when nft or a namespace is not available here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/../../rulesets}
. "$here/netns.sh"

if ! command -v nft >/dev/null; then
	echo "nft-check: skipped: nft is not installed"
	exit 77
fi
if ! netns_start; then
	echo "nft-check: skipped: $netns_why"
	exit 77
fi

shopt -s nullglob
files=("$dir"/*.nft)
if [ "${#files[@]}" -eq 0 ]; then
	echo "nft-check: no *.nft in $dir" >&2
	exit 1
fi
failed=0
for f in "${files[@]}"; do
	if out=$("${netns_run[@]}" nft -c -f "$f" 2>&1); then
		echo "ok   $f"
	else
		echo "FAIL $f"
		printf '%s\n' "$out"
		failed=$((failed + 1))
	fi
done
echo "${#files[@]} checked, $failed failed"
[ "$failed" -eq 0 ]
