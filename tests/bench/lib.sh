# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Shared by the benchmarks: statistics over a file of numbers, one per line, and the RESULT lines
# run.sh turns into the table. Every figure is a ratio of two configurations measured side by
# side, alternating, over several rounds; absolute values are context only. Brings
# tests/lib/common.sh (log, die, skip, need_root, need_tools, wait_for, now_us).

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

# median FILE, pct FILE P (nearest rank), lo/hi FILE: the smallest and largest value.
median() { sort -g "$1" | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
pct() { sort -g "$1" | awk -v p="$2" '{a[NR] = $1} END {k = int((NR * p + 99) / 100); if (k < 1) k = 1; print a[k]}'; }
lo() { sort -g "$1" | head -1; }
hi() { sort -g "$1" | tail -1; }
# fmt NUMBER [DIGITS]: fixed-point.
fmt() { LC_ALL=C printf "%.${2:-3}f" "$1"; }
# ratio A B: A / B.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.6f", (b == 0) ? 0 : a / b}'; }

# block_ratios A B K: for each block of K consecutive rounds, median(A) / median(B) over the block
# (A and B: one time per round, the same rounds). On a loaded machine one round's ratio swings by
# 2x either way; a block's median ratio is what a before/after spread can be read from.
block_ratios() {
	paste "$1" "$2" | awk -v k="$3" '
	function med(x, n,   i, j, t) {
		for (i = 2; i <= n; i++) for (j = i; j > 1 && x[j - 1] > x[j]; j--) { t = x[j]; x[j] = x[j - 1]; x[j - 1] = t }
		return (n % 2) ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
	}
	{ i = (NR - 1) % k + 1; a[i] = $1; b[i] = $2; if (i == k) printf "%.4f\n", med(a, k) / med(b, k) }'
}

# peak_rss_kib NETNS CMD...: the largest resident set of CMD (run in NETNS) and of every process it
# started, waited for or not (killswitch does not wait for its libnftables child's exit), in KiB.
peak_rss_kib() {
	ip netns exec "$1" python3 -c '
import ctypes, os, resource, subprocess, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: the orphans come to us
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "${@:2}"
}

# result FIGURE GOAL MEDIAN SPREAD CONTEXT: one row of the table (tab-separated, on stdout).
result() {
	printf 'RESULT\t%s\t%s\t%s\t%s\t%s\n' "$@"
}

bench_need_root() { need_root "$1 needs root (network namespaces, nftables)"; }

# bench_rundir: a fresh KILLSWITCH_RUNDIR on tmpfs, as /run is where killswitch runs for real
# (on a disk the state file's write and rename would be timed as a disk's).
bench_rundir() {
	local base=/run
	[[ $(findmnt -n -o FSTYPE -T /run 2>/dev/null) == tmpfs ]] || base=/dev/shm
	mktemp -d "$base/ks-bench-run.XXXXXX"
}
