#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds with -Werror and
# ASan/UBSan, runs every ctest test (unit, golden, apply, end-to-end lab).
# Run as root: the apply and lab tests build network namespaces (they skip
# with exit 77, reported as skipped, when they cannot).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build-test}
"$top/.ci/install-deps"
cmake -S "$top" -B "$build" -DKS_WERROR=ON -DKS_SANITIZE=ON
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure -j"$(nproc)" "$@"
