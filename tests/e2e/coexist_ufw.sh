#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Coexistence (issue 13): ufw (Debian 12: 0.36, on iptables-nft), the real program in the client's
# namespace, each call in a mount namespace of its own over copies of /etc/ufw, /lib/ufw and
# /etc/default/ufw (the host's configuration is never touched; the sysctls it sets are the
# namespace's). Under a flood off the tunnel (a rogue more specific route via the physical link,
# and sockets bound to it), with the kill switch enabled (--allow-lan): `ufw enable`, `ufw reload`,
# `ufw disable`; first with `killswitch watch` running, then without it. Asserted: not one packet
# leaked during any step, our tables are there after each, the tunnel works afterwards, and ufw
# still does its job: its default deny refuses a LAN host's connection (which --allow-lan lets past
# the kill switch) until `ufw allow` opens the port. The control: ufw leaves our table alone, so
# the same steps without watch leak nothing either; the control is the same steps with the kill
# switch off, where the flood leaks (the oracle sees the packets sent during each step).
# shellcheck source=tests/e2e/coexist_lib.sh
source "$(dirname "$0")/coexist_lib.sh"

coexist_init coexist_ufw ufw unshare iptables-nft
[[ -d /etc/ufw && -d /lib/ufw && -f /etc/default/ufw ]] || skip "coexist_ufw needs /etc/ufw, /lib/ufw and /etc/default/ufw (the ufw package)"
UFW=$LAB_TMP/ufw
mkdir -p "$UFW"
cp -a /etc/ufw "$UFW/etc"
cp -a /lib/ufw "$UFW/lib"
cp -a /etc/default/ufw "$UFW/default"

# ufw ARGS...: the real ufw over the copies, in the client's namespace.
ufw() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	inc unshare --mount --propagation private sh -c 'u=$1; shift
		mount --bind "$u/etc" /etc/ufw && mount --bind "$u/lib" /lib/ufw &&
		mount --bind "$u/default" /etc/default/ufw && exec ufw "$@"' sh "$UFW" "$@"
}
ufw_enable() { ufw --force enable; }
ufw_reload() { ufw reload; }
ufw_disable() { ufw disable; }
ufw_chains() { [[ $(inc iptables-nft -S) == *"-N ufw-user-input"* ]]; }

coexist_up
# A port ufw does not open, for the check of its job.
bg serve-client-7002 labnet_c serve --tcp 7002 --ready "$LAB_TMP/serve-client-7002.ready"
wait_for 10 test -f "$LAB_TMP/serve-client-7002.ready" || die "the 7002 listener did not start"

# steps STATE leak|blocked: ufw's enable, reload and disable under the flood.
steps() {
	local state=$1 expect=$2
	flood_phase_start
	coexist_step "$state" "$expect" "ufw enable" ufw_enable
	[[ $expect != blocked ]] || check "  ... its chains are there" "$state" present ufw_chains
	coexist_step "$state" "$expect" "ufw reload" ufw_reload
	coexist_step "$state" "$expect" "ufw disable" ufw_disable
	flood_phase_stop "$state"
}

ks_enable --allow-lan || die "enable failed"
coexist_watch_start
steps "enabled, watch" blocked
check "watch is still running" "enabled, watch" running kill -0 "$WATCH_PID"
check "  ... and had nothing to restore" "enabled, watch" 0 test "$(watch_restores)" = 0

# ufw does its job beside the kill switch: its default deny filters what --allow-lan lets in.
ufw_enable >/dev/null || die "ufw enable failed"
lan_connects() { send_from_isp tcp $C4 7002 --bind-addr $LANHOST4; }
check "ufw's default deny refuses tcp 7002 from a LAN host" "enabled, watch" refused not lan_connects
check "  ... ufw allow 7002/tcp" "enabled, watch" success ufw allow 7002/tcp
check "  ... then the LAN host connects" "enabled, watch" connects lan_connects
check "  ... ufw delete allow 7002/tcp" "enabled, watch" success ufw delete allow 7002/tcp
check "  ... and it is refused again" "enabled, watch" refused not lan_connects
tunnel_works "watch + ufw"
ufw_disable >/dev/null || die "ufw disable failed"
tunnel_works "enabled, watch"

# The same steps without watch: ufw leaves our table alone, nothing leaks.
watch_stop
steps "enabled, no watch" blocked

# The control: the kill switch off.
echo "# control: ufw never touched our table (the rows without watch leaked nothing), so the"
echo "# control is the same steps with the kill switch off: the flood must leak during each of them."
ks_disable
steps "disabled (control)" leak
coexist_finish
