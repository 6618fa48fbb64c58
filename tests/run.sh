#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds with -Werror and
# ASan/UBSan, runs every ctest test (unit, golden, apply, end-to-end lab).
# Run as root: the apply and lab tests build network namespaces (they skip
# with exit 77, reported as skipped, when they cannot).
# Then the libFuzzer harnesses: a second build with clang (-DKS_FUZZ=ON) next
# to the first, each harness fuzzing for $KS_FUZZ_SECONDS (default 60; 0
# replays the seed corpora only). Fails if either run fails.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build-test}
fuzz_build=${FUZZ_BUILD_DIR:-$(dirname "$build")/build-fuzz}
export KS_FUZZ_SECONDS=${KS_FUZZ_SECONDS:-60}
"$top/.ci/install-deps"
cmake -S "$top" -B "$build" -DKS_WERROR=ON -DKS_SANITIZE=ON
cmake --build "$build" -j"$(nproc)"

# Both runs go to the end whatever the other did.
status=0
(cd "$build" && ctest --output-on-failure -j"$(nproc)" "$@") 2>&1 | tee "$build/ctest.log" || status=1

fuzz_status=0
mkdir -p "$fuzz_build"
if cmake -S "$top" -B "$fuzz_build" -DCMAKE_C_COMPILER=clang -DKS_FUZZ=ON &&
	cmake --build "$fuzz_build" --target ks_fuzz -j"$(nproc)"; then
	(cd "$fuzz_build" && ctest --output-on-failure -j"$(nproc)" -R '^fuzz_') 2>&1 |
		tee "$fuzz_build/ctest.log" || fuzz_status=1
else
	echo "the fuzz harnesses did not build" >"$fuzz_build/ctest.log"
	fuzz_status=1
fi

# ctest's own closing lines: the pass count, and the failed tests if any.
summary() {
	if grep -q 'tests passed' "$1" 2>/dev/null; then
		sed -n '/tests passed/,$p' "$1"
	else
		cat "$1" 2>/dev/null || echo "(no ctest run)"
	fi
}
echo
echo "== tests ($build)"
summary "$build/ctest.log"
echo
echo "== fuzz harnesses, ${KS_FUZZ_SECONDS}s each ($fuzz_build)"
summary "$fuzz_build/ctest.log"

# One closing line over both runs (ctest counts a skipped test, exit 77, among the passed).
counts() { sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1 \2/p' "$1" 2>/dev/null | tail -1; }
# A test that exits 77 is in ctest's "out of N"; a disabled one is not.
skips() { grep -c "$1" "$2" 2>/dev/null || true; }
read -r f1 t1 <<<"$(counts "$build/ctest.log")"
read -r f2 t2 <<<"$(counts "$fuzz_build/ctest.log")"
f=$((${f1:-0} + ${f2:-0})) t=$((${t1:-0} + ${t2:-0}))
k77=$(($(skips '\*\*\*Skipped' "$build/ctest.log") + $(skips '\*\*\*Skipped' "$fuzz_build/ctest.log")))
kdis=$(($(skips 'Not Run (Disabled)' "$build/ctest.log") + $(skips 'Not Run (Disabled)' "$fuzz_build/ctest.log")))
echo
echo "total: $((t - f - k77)) passed, $f failed, $((k77 + kdis)) skipped"
exit $((status || fuzz_status))
