#!/usr/bin/env bash
# The binaries carry the hardening the build asks for (issue 11): PIE, full RELRO (a GNU_RELRO
# segment and BIND_NOW, so the GOT is read-only once loaded), the stack protector, and in
# optimised builds without sanitizers _FORTIFY_SOURCE; the setuid-capable split-tunnel neither
# loads libnftables or libjansson nor calls into them (issue 12). Read from the ELF files with
# readelf, as a distribution's lintian or checksec would.
# Usage: hardening.sh FORTIFY KILLSWITCH SPLIT_TUNNEL   (FORTIFY: 1 when the build fortifies)
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/lib/checks.sh
. "$(dirname "$0")/../lib/checks.sh"
CHECK_QUIET=none
fortify=$1
shift
has() { grep -Eq "$1" <<<"$2"; }
lacks() { ! has "$@"; }
command -v readelf >/dev/null || skip "no readelf (binutils)"

for bin; do
	name=$(basename "$bin")
	header=$(readelf -hW "$bin")
	dynamic=$(readelf -dW "$bin")
	segments=$(readelf -lW "$bin")
	dynsyms=$(readelf --dyn-syms -W "$bin")
	check "$name: ELF type DYN (position-independent)" has '^ *Type: +DYN ' "$header"
	check "$name: FLAGS_1 PIE" has '\(FLAGS_1\) +Flags:.* PIE( |$)' "$dynamic"
	check "$name: GNU_RELRO segment" has '^ *GNU_RELRO ' "$segments"
	check "$name: BIND_NOW (full RELRO)" has '\(BIND_NOW\)|\(FLAGS\) +.*BIND_NOW' "$dynamic"
	check "$name: FLAGS_1 NOW" has '\(FLAGS_1\) +Flags:.* NOW( |$)' "$dynamic"
	check "$name: no text relocations" lacks 'TEXTREL' "$dynamic"
	check "$name: no executable stack" lacks '^ *GNU_STACK .* RWE ' "$segments"
	check "$name: stack protector (__stack_chk_fail)" has ' __stack_chk_fail(@|$)' "$dynsyms"
	if [ "$fortify" = 1 ]; then
		check "$name: _FORTIFY_SOURCE (__*_chk calls)" has ' __[a-z0-9_]+_chk@' \
			"$(grep -v ' __stack_chk_fail' <<<"$dynsyms")"
	else
		echo "skip - $name: _FORTIFY_SOURCE (not an optimised build without sanitizers)"
	fi
	if [ "$name" = split-tunnel ]; then
		needed=$(sed -nE 's/.*\(NEEDED\) +Shared library: \[([^]]+)\].*/\1/p' <<<"$dynamic")
		echo "     split-tunnel needs: $(tr '\n' ' ' <<<"$needed")"
		# It links ks_split and ks_netlink alone (CMakeLists.txt): neither library is NEEDED, and
		# no function of theirs is called (--as-needed would drop an unused NEEDED, not a call).
		for lib in libnftables.so libjansson.so; do
			check "$name: does not load $lib" lacks "^$lib" "$needed"
		done
		undefined=$(awk '$7 == "UND" { print $8 }' <<<"$dynsyms")
		check "$name: calls no nft_* function (libnftables)" lacks '^nft_' "$undefined"
		check "$name: calls no json_* function (jansson)" lacks '^json_' "$undefined"
	fi
done
finish
