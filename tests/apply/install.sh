#!/usr/bin/env bash
# cmake --install puts every file in its place, with paths filled in for the
# prefix; the systemd units pass systemd-analyze verify; the scripts parse.
# Usage: install.sh BUILD_DIR
set -euo pipefail
# shellcheck source=tests/lib/checks.sh
. "$(dirname "$0")/../lib/checks.sh"
BUILD=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# checks.sh's check, but what a failed command said on stderr is shown under its FAIL line.
check() {
	local what=$1
	shift
	if "$@" >/dev/null 2>"$TMP/err"; then ok "$what"; else not_ok "$what"; cat "$TMP/err"; fi
}

DESTDIR=$TMP/root cmake --install "$BUILD" >/dev/null
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD/CMakeCache.txt")
root=$TMP/root$prefix
for f in sbin/killswitch bin/split-tunnel share/man/man8/killswitch.8 share/man/man1/split-tunnel.1 \
	lib/systemd/system/killswitch.service lib/systemd/system/killswitch-watch.service \
	libexec/killswitch/killswitch-openvpn share/bash-completion/completions/killswitch \
	share/bash-completion/completions/split-tunnel; do
	check "installed $f" test -f "$root/$f"
done
check "installed the NetworkManager hook" test -x "$(find "$TMP/root" -path '*NetworkManager/dispatcher.d/90-killswitch')"
check "split-tunnel is not setuid by default" test ! -u "$root/bin/split-tunnel"
check "units name the installed binary" grep -qx "ExecStart=$prefix/sbin/killswitch restore" "$root/lib/systemd/system/killswitch.service"
check "no placeholder left" bash -c "! grep -r '@KS_' '$TMP/root'"

# systemd-analyze checks ExecStart exists: point it at the built binary.
mkdir -p "$TMP/units" "$TMP/man/man8"
cp "$root/share/man/man8/killswitch.8" "$TMP/man/man8/"
for u in killswitch.service killswitch-watch.service; do
	sed "s|$prefix/sbin/killswitch|$BUILD/killswitch|" "$root/lib/systemd/system/$u" >"$TMP/units/$u"
done
check "boot unit runs before the network" grep -q '^Before=network-pre.target' "$TMP/units/killswitch.service"
check "boot unit has no default dependencies" grep -q '^DefaultDependencies=no' "$TMP/units/killswitch.service"
check "boot unit restores after nftables.service's flush" grep -q '^After=.*nftables.service' "$TMP/units/killswitch.service"
# watch: up before the network and the firewall managers, down after them (docs/integrations.md)
check "watch unit runs before the network" grep -q '^Before=network-pre.target' "$TMP/units/killswitch-watch.service"
check "watch unit has no default dependencies" grep -q '^DefaultDependencies=no' "$TMP/units/killswitch-watch.service"
check "watch unit comes after the boot unit" grep -q '^After=.*killswitch.service' "$TMP/units/killswitch-watch.service"
check "watch unit starts before the managers" grep -q '^Before=.*firewalld.service' "$TMP/units/killswitch-watch.service"
check "watch unit starts at boot" grep -qx 'WantedBy=sysinit.target' "$TMP/units/killswitch-watch.service"
if command -v systemd-analyze >/dev/null; then
	check "systemd-analyze verify" env MANPATH="$TMP/man" systemd-analyze verify "$TMP/units/killswitch.service" \
		"$TMP/units/killswitch-watch.service"
fi
check "NetworkManager hook parses" sh -n "$(find "$TMP/root" -path '*dispatcher.d/90-killswitch')"
check "OpenVPN script parses" sh -n "$root/libexec/killswitch/killswitch-openvpn"
check "bash completion loads" bash -c "source '$root/share/bash-completion/completions/killswitch' && complete -p killswitch"
check "split-tunnel's bash completion loads" bash -c "source '$root/share/bash-completion/completions/split-tunnel' && complete -p split-tunnel"
check "man pages render without warnings" bash -c "groff -man -Tutf8 -ww -z '$root/share/man/man8/killswitch.8' 2>&1 | (! grep .) && groff -man -Tutf8 -ww -z '$root/share/man/man1/split-tunnel.1' 2>&1 | (! grep .)"
finish
