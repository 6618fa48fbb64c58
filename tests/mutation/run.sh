#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Mutation run for the compiler: do the behaviour tests notice when a rule is loosened?
#
#   tests/mutation/run.sh [-m ID,ID...] [-q | -e | -f] [-j N] [-t SECONDS] [-o FILE] [-k] [SOURCE_TREE]
#   tests/mutation/run.sh -l [SOURCE_TREE]
#
# For each mutant of mutants.txt (one loosened or reordered rule of the compiler, src/compiler/*.c): apply
# it to a scratch copy of SOURCE_TREE (default: the tree this script is in; its working tree,
# uncommitted changes included), build without sanitizers, regenerate the goldens (so that no
# text comparison can be what catches it), check that nft accepts them, and run behaviour tests
# with ctest: the leak lab (e2e), split tunnelling's lab (split), apply. Never unit, golden or
# fuzz tests: they compare text. A baseline run without any mutant comes first, and every test
# it needs must pass there, else nothing is run.
#
# Which tests run for a mutant:
#   default  the tests its `tests:` line names (the ones that exercise its rule), all of them,
#            so the table says which of them caught it
#   -q       quick: the same tests, stopping at the first failure
#   -e       escalate: as the default, and when none of them fails, every other "core"
#            behaviour test too (all but the floods that need the machine to themselves and the
#            apply fault injections) before the mutant is called SURVIVED: about 3 more minutes
#            for each survivor on two cores
#   -f       full: every behaviour test, the heavy ones included, for every mutant
#
# Options:
#   -m IDS     only these mutants (comma-separated)
#   -l         list the mutants and whether each applies to SOURCE_TREE; build nothing
#   -j N       ctest's parallelism (default 2)
#   -t SECS    time limit of each test (default 300; replaces the tests' own TIMEOUT)
#   -o FILE    where the results table goes as well as stdout (default ./mutation-results.md)
#   -k         keep the scratch directory (tree, build, ctest logs) and say where
#
# Exit status: 0 every mutant was caught or survived as its `expect:` line says; 1 some mutant
# survived unexpectedly; 2 a mutant does not apply (mutants.txt must follow the compiler: fix its
# search text), does not build or gives a ruleset nft refuses, or the baseline failed.
# Needs root, like the tests it runs. Runs for a while: see docs/mutation.md for timings.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
mutants_file=$here/mutants.txt
compiler=src/compiler
mutate() { python3 "$here/mutate.py" "$@"; }

usage() {
	sed -n '3,/^# Needs root/s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

options=("$@")
only='' mode=default jobs=2 test_timeout=300 results=mutation-results.md keep=0 list=0
while getopts 'm:qeflj:t:o:kh' opt; do
	case $opt in
	m) only=$OPTARG ;;
	q) mode=quick ;;
	e) mode=escalate ;;
	f) mode=full ;;
	l) list=1 ;;
	j) jobs=$OPTARG ;;
	t) test_timeout=$OPTARG ;;
	o) results=$OPTARG ;;
	k) keep=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
(($# <= 1)) || usage
[[ $jobs =~ ^[1-9][0-9]*$ && $test_timeout =~ ^[1-9][0-9]*$ ]] || usage
src=$(cd "${1:-$here/../..}" && pwd)
[[ -d $src/$compiler ]] || {
	echo "run.sh: $src has no $compiler" >&2
	exit 2
}

say() { printf '== %s\n' "$*" >&2; }

# ---- the mutants, and whether they apply -------------------------------------------------------

declare -A TESTS=() EXPECT=() RULE=() WHAT=() APPLIES=() WHY=()
ids=()
while IFS=$'\x1f' read -r id tests expect rule what; do
	ids+=("$id")
	TESTS[$id]=$tests EXPECT[$id]=$expect RULE[$id]=$rule WHAT[$id]=$what
done < <(mutate list "$mutants_file")
if [[ -n $only ]]; then
	IFS=, read -r -a ids <<<"$only"
	for id in "${ids[@]}"; do
		[[ -n ${RULE[$id]+set} ]] || {
			echo "run.sh: no mutant '$id' in $mutants_file" >&2
			exit 2
		}
	done
fi
((${#ids[@]})) || {
	echo "run.sh: no mutants" >&2
	exit 2
}

not_applying=0
while IFS=$'\x1f' read -r id status why; do
	if [[ $status == applies ]]; then
		APPLIES[$id]=1 WHY[$id]=$why
	else
		APPLIES[$id]=0 WHY[$id]=$why
		not_applying=$((not_applying + 1))
	fi
done < <(mutate check "$mutants_file" "$src/$compiler" "${ids[@]}" || true)

if ((list)); then
	for id in "${ids[@]}"; do
		if ((APPLIES[$id])); then
			printf '%-28s applies %s\n' "$id" "${WHY[$id]}"
		else
			printf '%-28s DOES NOT APPLY: %s\n' "$id" "${WHY[$id]}"
		fi
	done
	((not_applying == 0)) || exit 2
	exit 0
fi
if ((not_applying)); then
	for id in "${ids[@]}"; do
		((APPLIES[$id])) || printf '!! %s DOES NOT APPLY to %s: %s\n' "$id" "$compiler" "${WHY[$id]}" >&2
	done
	printf '!! %d mutant(s) no longer match the compiler: update their search text in %s\n' \
		"$not_applying" "$mutants_file" >&2
fi
[[ $(id -u) == 0 ]] || {
	echo "run.sh: the behaviour tests need root" >&2
	exit 2
}

# ---- the scratch copy and its build ------------------------------------------------------------

scratch=$(mktemp -d /tmp/ks-mutation.XXXXXX)
# The tests run binaries from here as other users too (nobody, split's test user).
chmod 755 "$scratch"
tree=$scratch/tree build=$scratch/build logs=$scratch/logs
# shellcheck disable=SC2317 # the EXIT trap
cleanup() {
	local rc=$?
	if ((keep)); then
		say "kept $scratch"
	else
		rm -rf "$scratch"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$tree" "$logs"

# The working tree as it is, uncommitted changes included (a new test can be tried before it is
# committed), without build directories or anything else git ignores.
if git -C "$src" rev-parse --show-toplevel >/dev/null 2>&1; then
	(cd "$src" && git ls-files -z --cached --others --exclude-standard |
		tar --null --no-recursion --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$tree"
	commit=$(git -C "$src" rev-parse --short HEAD)
	git -C "$src" diff --quiet HEAD -- 2>/dev/null || commit="$commit + uncommitted changes"
else
	tar -C "$src" --exclude='./build*' -cf - . | tar -xf - -C "$tree"
	commit="(not a git tree)"
fi
cp -a "$tree/$compiler" "$scratch/compiler.orig"
cp -a "$tree/rulesets" "$scratch/rulesets.orig"

say "configuring $build (no sanitizers)"
cmake -S "$tree" -B "$build" -DKS_WERROR=OFF -DKS_SANITIZE=OFF -DKS_FUZZ=OFF -DKS_TESTS=ON \
	>"$logs/configure.log" 2>&1 || {
	cat "$logs/configure.log" >&2
	exit 2
}
# ctest's --timeout does not override a test's own TIMEOUT: rewrite it in the generated files.
find "$build" -name CTestTestfile.cmake -exec sed -i -E "s/ TIMEOUT \"[0-9.]+\"/ TIMEOUT \"$test_timeout\"/" {} +
# What the behaviour tests run, and the golden tool for the regeneration; nothing else.
build_targets=(killswitch split-tunnel apply_fault ks_allocfail ks_golden)
build() { cmake --build "$build" -j"$jobs" --target "${build_targets[@]}" >"$1" 2>&1; }

# ---- the behaviour tests -----------------------------------------------------------------------

declare -A KIND=()
core=() heavy=()
while IFS=$'\t' read -r name kind; do
	KIND[$name]=$kind
	if [[ $kind == core ]]; then core+=("$name"); else heavy+=("$name"); fi
done < <(cd "$build" && ctest -N --show-only=json-v1 | mutate behaviour)
((${#core[@]})) || {
	echo "run.sh: ctest lists no behaviour tests in $build" >&2
	exit 2
}

regex() { # regex NAME...: a ctest -R expression for exactly these tests
	local IFS='|'
	printf '^(%s)$' "$*"
}
# Every test a mutant names must be a behaviour test that ctest knows here.
for id in "${ids[@]}"; do
	for t in ${TESTS[$id]}; do
		[[ -n ${KIND[$t]+set} ]] || {
			echo "run.sh: mutant $id names '$t', which is not a behaviour test here" >&2
			exit 2
		}
	done
done

# run_tests LOG STOP NAME...: ctest on these tests; FAILED=( the tests that failed ), SKIPPED=(
# those that exited 77 ).
run_tests() {
	local log=$1 stop=$2
	shift 2
	local -a args=(-j"$jobs" --timeout "$test_timeout" --output-on-failure -R "$(regex "$@")")
	[[ $stop == stop ]] && args+=(--stop-on-failure)
	rm -f "$build/Testing/Temporary/LastTestsFailed.log"
	(cd "$build" && ctest "${args[@]}") >"$log" 2>&1 || true
	cp "$build/Testing/Temporary/LastTest.log" "$log.full" 2>/dev/null || true
	FAILED=() SKIPPED=()
	if [[ -f $build/Testing/Temporary/LastTestsFailed.log ]]; then
		mapfile -t FAILED < <(sed -n 's/^[0-9]*://p' "$build/Testing/Temporary/LastTestsFailed.log")
	fi
	mapfile -t SKIPPED < <(sed -n 's/.*Test *#[0-9]*: \([^ ]*\) .*\*\*\*Skipped.*/\1/p' "$log")
	# A failed lab keeps its logs in /tmp/ks-e2e.*; here failing is the point: remove ours (and
	# only ours: other runs on this machine keep theirs).
	local dir
	while read -r dir; do
		[[ $dir =~ ^/tmp/ks-e2e\.[0-9a-f]{4}\.[A-Za-z0-9]+$ ]] && rm -rf "$dir"
	done < <(sed -n 's/^# logs kept in \(.*\)$/\1/p' "$log.full" 2>/dev/null | sort -u)
	return 0
}

# The evidence: the first lines that say FAIL (lab rows, apply checks) or FATAL, per failed test.
evidence() { # evidence LASTTESTLOG TEST...
	local log=$1
	shift
	awk -v want=" $* " '
		/^[0-9]+\/[0-9]+ Testing: / { t = $3; n = 0; next }
		want ~ " " t " " && n < 2 && (/ FAIL$/ || /^FAIL - / || (/^killswitch: / && !/warning/) || /^FATAL: /) {
			sub(/[ \t]+$/, ""); gsub(/  +/, " "); print "  - " t ": `" $0 "`"; n++
		}' "$log"
}

# ---- the baseline -------------------------------------------------------------------------------

needed=()
case $mode in
full) needed=("${core[@]}" "${heavy[@]}") ;;
escalate) needed=("${core[@]}") ;;
esac
for id in "${ids[@]}"; do
	((APPLIES[$id])) || continue
	for t in ${TESTS[$id]}; do
		[[ " ${needed[*]} " == *" $t "* ]] || needed+=("$t")
	done
done

t0=$SECONDS
say "building the unmutated tree"
build "$logs/build-baseline.log" || {
	cat "$logs/build-baseline.log" >&2
	exit 2
}
say "baseline: ${#needed[@]} tests, nothing mutated (ctest -j$jobs)"
run_tests "$logs/baseline.log" go "${needed[@]}"
if ((${#FAILED[@]})); then
	printf '!! the baseline failed: %s\n' "${FAILED[*]}" >&2
	evidence "$logs/baseline.log.full" "${FAILED[@]}" >&2
	tail -n 30 "$logs/baseline.log" >&2
	keep=1
	exit 2
fi
baseline_time=$((SECONDS - t0))
declare -A UNUSABLE=()
for t in "${SKIPPED[@]}"; do UNUSABLE[$t]=1; done
((${#SKIPPED[@]} == 0)) || say "skipped here (exit 77), so left out: ${SKIPPED[*]}"
usable() { local t; for t; do [[ -n ${UNUSABLE[$t]+set} ]] || printf '%s\n' "$t"; done; }
say "baseline passed in ${baseline_time}s"

# ---- the mutants --------------------------------------------------------------------------------

declare -A VERDICT=() CAUGHT=() GOLDENS=() TIME=() RAN=()
evidence_file=$scratch/evidence.md
: >"$evidence_file"
unexpected=0 broken=$not_applying

for id in "${ids[@]}"; do
	if ((!APPLIES[$id])); then
		VERDICT[$id]="does not apply" CAUGHT[$id]="${WHY[$id]}"
		continue
	fi
	t0=$SECONDS
	say "mutant $id: ${WHAT[$id]}"
	rm -rf "${tree:?}/$compiler"
	cp -a "$scratch/compiler.orig" "$tree/$compiler"
	rm -rf "$tree/rulesets"
	cp -a "$scratch/rulesets.orig" "$tree/rulesets"
	variant=$(mutate apply "$mutants_file" "$id" "$tree/$compiler")
	[[ -z $variant ]] || WHY[$id]=$variant
	if ! build "$logs/build-$id.log"; then
		VERDICT[$id]="does not build" CAUGHT[$id]="see the build log"
		broken=$((broken + 1))
		tail -n 20 "$logs/build-$id.log" >&2
		continue
	fi
	# The goldens become the mutant's output, so golden_compare would pass; nft must accept them,
	# or every test would fail for a reason that has nothing to do with the rule.
	cmake --build "$build" --target golden-regen >"$logs/regen-$id.log" 2>&1
	GOLDENS[$id]=$( (diff -rq "$scratch/rulesets.orig" "$tree/rulesets" || true) | wc -l)
	if ! "$tree/tests/golden/nft-check.sh" "$tree/rulesets" >"$logs/nft-check-$id.log" 2>&1; then
		VERDICT[$id]="invalid" CAUGHT[$id]="nft refuses its ruleset: $(grep -m1 -i error "$logs/nft-check-$id.log" || true)"
		broken=$((broken + 1))
		continue
	fi
	if [[ $mode == full ]]; then
		mapfile -t first < <(usable "${core[@]}" "${heavy[@]}")
	else
		read -r -a named <<<"${TESTS[$id]}"
		mapfile -t first < <(usable "${named[@]}")
		((${#first[@]})) || mapfile -t first < <(usable "${core[@]}")
	fi
	stop=go
	[[ $mode == quick ]] && stop=stop
	run_tests "$logs/$id.log" "$stop" "${first[@]}"
	caught=("${FAILED[@]}")
	ran=${#first[@]}
	evidence "$logs/$id.log.full" "${caught[@]}" >"$scratch/ev"
	if ((${#caught[@]} == 0)) && [[ $mode == escalate ]]; then
		rest=()
		for t in $(usable "${core[@]}"); do
			[[ " ${first[*]} " == *" $t "* ]] || rest+=("$t")
		done
		if ((${#rest[@]})); then
			say "mutant $id: its tests passed; running the other ${#rest[@]}"
			run_tests "$logs/$id.rest.log" go "${rest[@]}"
			caught=("${FAILED[@]}")
			ran=$((ran + ${#rest[@]}))
			evidence "$logs/$id.rest.log.full" "${caught[@]}" >"$scratch/ev"
		fi
	fi
	RAN[$id]=$ran TIME[$id]=$((SECONDS - t0))
	if ((${#caught[@]})); then
		VERDICT[$id]=caught CAUGHT[$id]="${caught[*]}"
		{
			echo "- **$id**"
			cat "$scratch/ev"
		} >>"$evidence_file"
	elif [[ ${EXPECT[$id]} == survives* ]]; then
		VERDICT[$id]="survived (expected)" CAUGHT[$id]=""
	else
		VERDICT[$id]=SURVIVED CAUGHT[$id]=""
		unexpected=$((unexpected + 1))
	fi
	say "mutant $id: ${VERDICT[$id]} ${CAUGHT[$id]} (${TIME[$id]}s)"
done

# ---- the table ----------------------------------------------------------------------------------

md() { local s=$1; s=${s//|/\\|}; printf '%s' "$s"; }
report() {
	local id verdict why
	echo "# Mutation run of src/compiler"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- tree: \`$src\` at $commit"
	echo "- command: \`tests/mutation/run.sh ${options[*]}\`"
	echo "- baseline: ${#needed[@]} tests passed unmutated in ${baseline_time}s; per-test limit ${test_timeout}s"
	case $mode in
	default) echo "- mode: default: each mutant runs the tests its \`tests:\` line names (column \"tests run\"); SURVIVED means all of those passed" ;;
	quick) echo "- mode: quick (-q): each mutant runs the tests its \`tests:\` line names, up to the first failure" ;;
	escalate) echo "- mode: escalate (-e): each mutant runs the tests its \`tests:\` line names, and every other core test when those pass" ;;
	full) echo "- mode: full (-f): every behaviour test for every mutant" ;;
	esac
	echo "- core behaviour tests: ${core[*]}"
	echo "- heavy behaviour tests (only with -f): ${heavy[*]:-none}"
	((${#UNUSABLE[@]} == 0)) || echo "- skipped on this machine, left out: ${!UNUSABLE[*]}"
	echo
	echo "| mutant | rule (docs/ruleset.md) and threat | mutation | goldens changed | tests run | caught by | time |"
	echo "|---|---|---|---|---|---|---|"
	for id in "${ids[@]}"; do
		verdict=${VERDICT[$id]:-not run}
		case $verdict in
		caught) verdict=$(md "${CAUGHT[$id]}") ;;
		SURVIVED) verdict="**SURVIVED**" ;;
		"survived (expected)")
			why=${EXPECT[$id]#survives}
			verdict="survived, as expected: $(md "${why# -- }")"
			;;
		*) verdict="**${verdict^^}**: $(md "${CAUGHT[$id]}")" ;;
		esac
		printf '| %s | %s | %s%s | %s | %s | %s | %s |\n' "$id" "$(md "${RULE[$id]}")" "$(md "${WHAT[$id]}")" \
			"${WHY[$id]:+ ($(md "${WHY[$id]}"))}" "${GOLDENS[$id]:--}" "${RAN[$id]:--}" "$verdict" \
			"${TIME[$id]:+${TIME[$id]}s}"
	done
	echo
	echo "What caught each mutant (the first failing rows of each test):"
	echo
	cat "$evidence_file"
}
report | tee "$results"
say "results in $results"
((broken == 0)) || exit 2
((unexpected == 0)) || exit 1
exit 0
