#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The leak lab in one command: installs what is missing (apt-get), builds killswitch into build/,
# builds the lab (network namespaces, veth links, wireguard-go as the VPN, a rogue DHCP server,
# a container), enables the kill switch around the live tunnel, runs every probe with its control
# and prints one table (probe, state, expected, seen, leaked packets). Everything happens inside
# the lab's own namespaces and is torn down at the end; the host's firewall and routes are never
# touched.
#   sudo tests/e2e/demo.sh                  every theme (a few minutes)
#   sudo tests/e2e/demo.sh states-ipv4 dns  some of them (tests/e2e/run.sh -h lists them)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)

if [[ $(id -u) -ne 0 ]]; then
	command -v sudo >/dev/null || { echo "demo.sh: run as root (network namespaces, nftables)" >&2; exit 1; }
	exec sudo -- "$0" "$@"
fi

# The build's and the lab's packages; the fuzzing toolchain in .ci/packages is not needed here.
mapfile -t pkgs < <(cat "$top/.ci/packages" 2>/dev/null |
	grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' -e '^clang$' -e '^llvm$' -e '^libclang-rt' | sort -u)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "== installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

echo "== building killswitch into build/"
cmake -S "$top" -B "$top/build" >/dev/null
cmake --build "$top/build" --target killswitch -j"$(nproc)" >/dev/null

echo "== the leak lab"
KILLSWITCH="$top/build/killswitch" exec "$top/tests/e2e/run.sh" -j 2 "$@"
