#!/usr/bin/env bash
# Low resources in a throwaway network namespace: the kernel refuses (EPERM:
# a user namespace that holds no CAP_NET_ADMIN over the network namespace),
# memory allocation fails at every stage of enable and disable (an LD_PRELOAD
# shim, allocfail.c, makes the Nth allocation fail, then all later ones, or
# only that one), the address space is too small (prlimit --as; plain builds
# only) and the OOM killer strikes (a memory cgroup v1 limit).
#
# Each failure must give exit 1 (2 is for bad usage only) and one line on
# stderr, "killswitch: ...", never a crash; the ruleset must be
# byte-identical to the one before, or, when the failure came after the
# kernel committed the new table, that new table whole; and the state file
# must name the policy the kernel has (status shows it, watch restores it).
# Usage: lowres.sh KILLSWITCH ALLOCFAIL_SO
# KS_LOWRES_POINTS (default 8): allocation indices tried per stage of enable.
set -euo pipefail

# shellcheck source=tests/apply/lib.sh
. "$(dirname "$0")/lib.sh"

KS=$1
SHIM=$2
POINTS=${KS_LOWRES_POINTS:-8}
MEMCG=
NOISE=
cleanup_hook() {
	if [ -n "$NOISE" ]; then kill "$NOISE" 2>/dev/null || true; fi
	if [ -n "$MEMCG" ] && [ -d "$MEMCG" ]; then
		rmdir "$MEMCG" 2>/dev/null || true
	fi
}
ks_setup lowres

# The error lines of a stderr file: everything but warnings.
error_lines() { grep -v '^killswitch: warning: ' "$1" || true; }
# one_line FILE: exactly one error line, "killswitch: ..."
one_line() {
	local lines
	lines=$(error_lines "$1")
	[ -n "$lines" ] && [ "$(wc -l <<<"$lines")" = 1 ] && [[ $lines == killswitch:\ * ]]
}

# Sanitizer reports must not pass for exit 1.
export ASAN_OPTIONS=exitcode=86:detect_leaks=0 UBSAN_OPTIONS=exitcode=86
SANITIZED=0
if grep -q -e libasan -e libubsan <(ldd "$KS"); then
	SANITIZED=1
	# The shim comes first in the library list; ASan only checks that it does itself.
	ASAN_OPTIONS+=:verify_asan_link_order=0
fi

# Someone else's table, which must stay byte-identical too.
inns nft add table inet other
inns nft add chain inet other keep '{ type filter hook output priority 10; policy accept; }'
printf '192.0.2.%d:51820\n' 20 21 22 23 >"$RUN/endpoints"
POLICY_A=(enable --tunnel wgA --endpoint 192.0.2.1:51820 --dns 10.64.0.1)
POLICY_B=(enable --tunnel wgB --endpoint 192.0.2.5:51820 --endpoint '[2001:db8::5]:443/tcp'
	--endpoints-file "$RUN/endpoints" --dns 10.64.0.2 --dns fd00::53 --allow-lan --lan 100.64.0.0/10)

ks "${POLICY_B[@]}" 2>/dev/null
FP_B=$(fingerprint)
ks "${POLICY_A[@]}" 2>/dev/null
FP_A=$(fingerprint)
to_A() {
	if [ "$(fingerprint)" != "$FP_A" ] || ! state_names wgA; then ks "${POLICY_A[@]}" 2>/dev/null; fi
}

# ---- EPERM: the kernel refuses ---------------------------------------------------------------

# unshare --user --map-root-user: every capability, but in a user namespace that does not own the
# network namespace, so nfnetlink answers EPERM (the CapEff check in killswitch passes).
eperm() { # eperm NAME ARGS...
	local name=$1 rc=0 before
	shift
	before=$(ruleset)
	inns unshare --user --map-root-user timeout 10 "$KS" "$@" >/dev/null 2>"$RUN/err" || rc=$?
	if [ "$rc" = 1 ]; then ok "EPERM: $name exits 1"; else not_ok "EPERM: $name exits 1 (rc=$rc)"; fi
	if one_line "$RUN/err"; then
		ok "EPERM: $name says one line: $(error_lines "$RUN/err")"
	else
		not_ok "EPERM: $name says one line, not: $(error_lines "$RUN/err" | tr '\n' '|')"
	fi
	check "EPERM: $name leaves the ruleset byte-identical" test "$before" = "$(ruleset)"
}
to_A
eperm enable "${POLICY_B[@]}"
eperm block block --endpoint 192.0.2.9:51820
eperm disable disable
eperm status status
eperm "endpoint add" endpoint add 192.0.2.9:1
eperm watch watch
check "EPERM: the state file still names the policy applied" state_names wgA

# ---- allocation failures --------------------------------------------------------------------

shimmed() { # shimmed LOG AT MODE ARGS...: killswitch under the shim
	local log=$1 at=$2 mode=$3
	shift 3
	inns env LD_PRELOAD="$SHIM" KS_ALLOCFAIL_LOG="$log" KS_ALLOCFAIL_AT="$at" KS_ALLOCFAIL_MODE="$mode" \
		"$KS" "$@"
}
# Allocation logs: LOG from killswitch, LOG.child from the child it runs libnftables in, whose
# allocations count from CHILD_BASE on (allocfail.c).
CHILD_BASE=1000000000
logs() { cat "$1" "$1.child" 2>/dev/null || true; }
# stage_points LOG: allocation indices to try, POINTS per stage between two markers (all of a
# short stage), from a counting run's logs, each process's on its own
stage_points() {
	local f
	for f in "$1" "$1.child"; do
		[ -e "$f" ] || continue
		awk -v p="$POINTS" '
			$1 == "total" || $1 == "failed-in" { next }
			{ at[n++] = $2 }
			END {
				for (i = 0; i + 1 < n; i++) {
					lo = at[i] + 1; hi = at[i + 1]
					if (hi < lo) continue
					if (hi - lo + 1 <= p) { for (k = lo; k <= hi; k++) print k; continue }
					for (k = 0; k < p; k++) print lo + int(k * (hi - lo) / (p - 1))
				}
			}' "$f"
	done | sort -n -u
}
# stage_of LOG N: the marker the Nth allocation follows ("nft_run_cmd_from_buffer#1", ...)
stage_of() {
	local f=$1
	(($2 < CHILD_BASE)) || f=$1.child
	awk -v n="$2" '$1 != "total" && $1 != "failed-in" { seen[$1]++; if ($2 < n) s = $1 "#" seen[$1] } END { print s }' "$f" 2>/dev/null
}
# marker_at LOG NAME: the index of NAME's first marker
marker_at() { logs "$1" | awk -v m="$2" '$1 == m { print $2; exit }'; }
# before_commit N FORK COMMIT: whether failing allocation N stops the run before libnftables'
# commit: in killswitch up to the fork, or in the child up to the batch's sendmsg
before_commit() {
	local n=$1 fork=$2 commit=$3
	[ -n "$commit" ] || return 1
	if ((n < CHILD_BASE)); then [ -z "$fork" ] || ((n <= fork)); else ((n <= commit)); fi
}

declare -A CLASSES=() EXAMPLE=()
VIOLATIONS=()
# sweep NAME MODE NEW_FP NEW_TUNNEL ARGS...: counting run, then one failing run per index
sweep() {
	local name=$1 mode=$2 new_fp=$3 new_tunnel=$4
	shift 4
	local count_log=$RUN/count.log n rc before after fp stage lib table msg commit fork key problems
	local t0=$SECONDS runs=0
	to_A
	rm -f "$count_log" "$count_log.child"
	shimmed "$count_log" 0 from "$@" >/dev/null 2>&1 || true
	ks "${POLICY_A[@]}" 2>/dev/null
	commit=$(marker_at "$count_log" sendmsg)
	fork=$(marker_at "$count_log" fork)
	echo "# $name: $(logs "$count_log" | awk '$1 == "total" { printf "%s%s", s, $2; s = "+" }') allocations" \
		"(killswitch+child); stages: $(logs "$count_log" | awk '$1 != "failed-in" { printf "%s@%s ", $1, $2 }')"
	for n in $(stage_points "$count_log"); do
		to_A
		before=$(ruleset)
		cp "$KILLSWITCH_RUNDIR/policy" "$RUN/state.before"
		rc=0
		rm -f "$RUN/fail.log" "$RUN/fail.log.child"
		shimmed "$RUN/fail.log" "$n" "$mode" "$@" >/dev/null 2>"$RUN/err" || rc=$?
		runs=$((runs + 1))
		after=$(ruleset)
		fp=$(fingerprint)
		stage=$(stage_of "$count_log" "$n")
		lib=$(logs "$RUN/fail.log" | awk '$1 == "failed-in" && $2 != "-" { print $2; exit }')
		if [ "$after" = "$before" ]; then
			table=old
		elif [ "$fp" = "$new_fp" ]; then
			table=new
		else
			table=OTHER
		fi
		if [ "$rc" = 0 ]; then msg=-; elif one_line "$RUN/err"; then msg=one-line; else msg=BAD; fi
		problems=
		case $rc in
		0) [ "$table" = new ] || problems+=" success-without-the-new-table" ;;
		1) ;;
		2) problems+=" usage-exit-code-for-a-system-failure" ;;
		86) problems+=" sanitizer-report" ;;
		*) if ((rc > 128)); then problems+=" killed-by-signal-$((rc - 128))"; else problems+=" exit-code-$rc"; fi ;;
		esac
		[ "$table" != OTHER ] || problems+=" ruleset-neither-old-nor-new"
		# (a transient failure the program got over may still end in the new table, with exit 0)
		[ "$table" != new ] || [ "$rc" = 0 ] || ! before_commit "$n" "$fork" "$commit" || problems+=" new-table-before-the-commit"
		# Exit 1 promises the previous state; after the commit the message must say otherwise.
		if [ "$rc" = 1 ] && [ "$table" = new ] && ! error_lines "$RUN/err" | grep -qi -e appl -e commit; then
			problems+=" failure-reported-with-the-new-table-in-force-unsaid"
		fi
		[ "$msg" != BAD ] || problems+=" not-one-line-message"
		# With the new table in place the state file names it, or is gone (status then says
		# "unknown"); naming the old policy makes status show it and watch restore it.
		if [ "$table" = new ] && [ -n "$new_tunnel" ] && ! state_names "$new_tunnel" &&
			[ -e "$KILLSWITCH_RUNDIR/policy" ]; then
			problems+=" state-file-names-the-old-policy"
		elif [ "$table" = new ] && [ -z "$new_tunnel" ] && [ -e "$KILLSWITCH_RUNDIR/policy" ]; then
			problems+=" state-file-left-after-removal"
		elif [ "$table" = old ] && ! cmp -s "$RUN/state.before" "$KILLSWITCH_RUNDIR/policy"; then
			problems+=" state-file-changed-without-the-table"
		fi
		key="$name rc=$rc table=$table msg=$msg in=${lib:-?}${problems:+ |$problems}"
		CLASSES[$key]=$((${CLASSES[$key]:-0} + 1))
		if [ -z "${EXAMPLE[$key]:-}" ]; then
			EXAMPLE[$key]="N=$n ($stage): $(error_lines "$RUN/err" | head -n 2 | tr '\n' '|' | cut -c1-160)"
		fi
		[ -z "$problems" ] || VIOLATIONS+=("$name N=$n ($stage, in ${lib:-?}):$problems")
	done
	echo "# $name: $runs failing runs in $((SECONDS - t0)) s"
}

count_violations() { # count_violations PATTERN: violations whose text matches
	local v c=0
	for v in "${VIOLATIONS[@]}"; do [[ $v != *$1* ]] || c=$((c + 1)); done
	echo "$c"
}

sweep "enable (from N on)" from "$FP_B" wgB "${POLICY_B[@]}"
sweep "enable (only N)" once "$FP_B" wgB "${POLICY_B[@]}"
sweep "disable (from N on)" from absent "" disable

echo "# outcome classes (count, class, first example):"
for key in "${!CLASSES[@]}"; do
	printf '#   %4d  %s\n#         %s\n' "${CLASSES[$key]}" "$key" "${EXAMPLE[$key]}"
done | paste - - | sort -t$'\t' -k1,1 | tr '\t' '\n'
total=0
for key in "${!CLASSES[@]}"; do total=$((total + CLASSES[$key])); done
check "allocation failures: $total runs, the ruleset is always the old one or the new one whole" \
	test "$(count_violations ruleset-neither-old-nor-new)" = 0
check "allocation failures: before the commit the ruleset stays byte-identical" \
	test "$(count_violations new-table-before-the-commit)" = 0
check "allocation failures: exit 0 only with the new table in place" test "$(count_violations success-without)" = 0
check "allocation failures: no sanitizer report" test "$(count_violations sanitizer-report)" = 0
check "allocation failures: never killed by a signal ($(count_violations killed-by-signal) runs were)" \
	test "$(count_violations killed-by-signal)" = 0
check "allocation failures: exit 1, not 2 or other codes ($(count_violations exit-code) runs were not)" \
	test "$(count_violations exit-code)" = 0
check "allocation failures: one line 'killswitch: ...' ($(count_violations not-one-line) runs said otherwise)" \
	test "$(count_violations not-one-line)" = 0
check "allocation failures: exit 1 after the commit says the new table is in force ($(count_violations in-force-unsaid) runs did not)" \
	test "$(count_violations in-force-unsaid)" = 0
check "allocation failures: the state file names what the kernel has ($(count_violations state-file) runs did not)" \
	test "$(count_violations state-file)" = 0

# ---- libnftables dies right after the kernel committed ---------------------------------------

to_A
rc=0
inns env LD_PRELOAD="$SHIM" KS_ALLOCFAIL_DIE_AFTER_COMMIT=1 "$KS" "${POLICY_B[@]}" >/dev/null 2>"$RUN/err" || rc=$?
check "libnftables dies after the commit: enable exits 1 (rc=$rc)" test "$rc" = 1
check "libnftables dies after the commit: one line, saying the ruleset was committed: $(error_lines "$RUN/err")" \
	eval 'one_line "$RUN/err" && error_lines "$RUN/err" | grep -q committed'
check "libnftables dies after the commit: the new table is there, whole" test "$(fingerprint)" = "$FP_B"
check "libnftables dies after the commit: the state file names the new policy" state_names wgB
rc=0
inns env LD_PRELOAD="$SHIM" KS_ALLOCFAIL_DIE_AFTER_COMMIT=1 "$KS" disable >/dev/null 2>"$RUN/err" || rc=$?
check "libnftables dies after the commit: disable, the table gone, exits 0 (rc=$rc)" test "$rc" = 0
check "libnftables dies after the commit: disable leaves no table and no state file" \
	eval '[ "$(fingerprint)" = absent ] && [ ! -e "$KILLSWITCH_RUNDIR/policy" ]'

# ---- libnftables dies before its commit while another program commits -----------------------
# Every commit in the namespace moves the nftables generation; only the table's handle (a new
# table per apply) says whether ours went in. Dying before the commit must read as "unchanged".
noise_bad=0
for i in 1 2 3 4 5 6; do
	to_A
	# not through inns (a function: $! would be its subshell); stopped before nft lists anything,
	# since libnftables' cache fetch starts over while the generation keeps moving
	ip netns exec "$NS" bash -c 'while :; do nft add table inet noise; nft delete table inet noise; done' \
		>/dev/null 2>&1 &
	NOISE=$!
	sleep 0.05
	rc=0
	# the child out of memory from its 5th allocation on: inside nft_ctx_new(), long before the batch
	shimmed "$RUN/noise.log" $((CHILD_BASE + 5)) from "${POLICY_B[@]}" >/dev/null 2>"$RUN/err" || rc=$?
	kill "$NOISE"
	wait "$NOISE" 2>/dev/null || true
	NOISE=
	inns nft delete table inet noise 2>/dev/null || true
	if [ "$rc" != 1 ] || [ "$(fingerprint)" != "$FP_A" ] || ! state_names wgA ||
		! error_lines "$RUN/err" | grep -q 'before committing'; then
		noise_bad=$((noise_bad + 1))
		echo "#   run $i: rc=$rc $(error_lines "$RUN/err" | head -n 1)"
	fi
done
check "libnftables dies before its commit under another program's commits: 6 runs exit 1, old table, old state, 'before committing'" \
	test "$noise_bad" = 0

# ---- the address space too small (plain builds: ASan reserves terabytes) ----------------------

if ((SANITIZED)); then
	echo "# prlimit --as: skipped for a sanitizer build"
elif ! command -v prlimit >/dev/null; then
	echo "# prlimit --as: skipped, no prlimit"
else
	declare -A AS_OUT=()
	as_bad=0
	for kb in 4096 $(seq 6144 256 12800) 16384 32768; do
		to_A
		before=$(ruleset)
		rc=0
		inns prlimit --as=$((kb << 10)) "$KS" "${POLICY_B[@]}" >/dev/null 2>"$RUN/err" || rc=$?
		fp=$(fingerprint)
		if [ "$(ruleset)" = "$before" ]; then table=old; elif [ "$fp" = "$FP_B" ]; then table=new; else table=OTHER; fi
		what="rc=$rc table=$table"
		# The loader itself failing (exit 127, nothing of killswitch ran) is outside its control.
		if [ "$rc" = 127 ] && grep -q 'error while loading shared libraries' "$RUN/err"; then
			what="loader-failed table=$table"
		elif [ "$rc" != 0 ] && { [ "$rc" != 1 ] || ! one_line "$RUN/err"; }; then
			as_bad=$((as_bad + 1))
			what+=" BAD: $(error_lines "$RUN/err" | head -n 1 | cut -c1-120)"
		fi
		[ "$table" != OTHER ] || as_bad=$((as_bad + 1))
		[ "$table" != new ] || [ "$rc" = 0 ] || state_names wgB || as_bad=$((as_bad + 1))
		AS_OUT[$kb]=$what
	done
	for kb in $(printf '%s\n' "${!AS_OUT[@]}" | sort -n); do echo "#   --as=${kb}K: ${AS_OUT[$kb]}"; done
	check "prlimit --as: exit 0, or exit 1 with one line; the ruleset old or new whole" test "$as_bad" = 0
fi

# ---- the OOM killer (memory cgroup v1): like SIGKILL, the table stays whole ------------------

if [ -w /sys/fs/cgroup/memory ] && [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
	MEMCG=/sys/fs/cgroup/memory/ks-lowres-$$-$RANDOM
	mkdir "$MEMCG"
	in_memcg() { sh -c 'echo $$ >"$1/cgroup.procs"; shift; exec "$@"' sh "$MEMCG" "$@"; }
	# the large policy makes the kernel's share (set elements) large too
	for ((i = 1; i <= 20000; i++)); do printf '10.%d.%d.%d:51820\n' $((i >> 16)) $((i >> 8 & 255)) $((i & 255)); done >"$RUN/large"
	POLICY_L=(enable --tunnel wgL --endpoints-file "$RUN/large")
	ks "${POLICY_L[@]}" 2>/dev/null
	FP_L=$(fingerprint)
	to_A
	echo 0 >"$MEMCG/memory.max_usage_in_bytes" 2>/dev/null || true
	in_memcg ip netns exec "$NS" "$KS" "${POLICY_L[@]}" >/dev/null 2>&1
	peak=$(cat "$MEMCG/memory.max_usage_in_bytes")
	declare -A OOM_OUT=()
	oom_bad=0
	for pct in 10 30 50 70 80 85 90 93 96 98 100 120; do
		to_A
		echo $((peak * pct / 100)) >"$MEMCG/memory.limit_in_bytes"
		rc=0
		in_memcg ip netns exec "$NS" "$KS" "${POLICY_L[@]}" >/dev/null 2>"$RUN/err" || rc=$?
		echo -1 >"$MEMCG/memory.limit_in_bytes"
		fp=$(fingerprint)
		case $fp in "$FP_A") table=old ;; "$FP_L") table=new ;; *) table=OTHER oom_bad=$((oom_bad + 1)) ;; esac
		OOM_OUT[$pct]="rc=$rc table=$table"
	done
	echo "# memory cgroup limit as a share of enable's peak ($((peak >> 20)) MiB), 20000 endpoints:"
	for pct in $(printf '%s\n' "${!OOM_OUT[@]}" | sort -n); do echo "#   ${pct}%: ${OOM_OUT[$pct]}"; done
	check "OOM killer mid-enable: the table is the old one or the new one, whole" test "$oom_bad" = 0
else
	echo "# OOM killer: skipped, no writable memory cgroup v1 hierarchy"
fi

if ((${#VIOLATIONS[@]})); then
	echo "# contract violations (first 40 of ${#VIOLATIONS[@]}):"
	printf '#   %s\n' "${VIOLATIONS[@]:0:40}"
fi
finish
