#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Debian package (issue 17), the way a user gets it: built with
# dpkg-buildpackage from a clean copy of the tree (the files git tracks),
# lintian-clean, installed with `apt-get install ./killswitch_*.deb` into a
# fresh minbase root made by debootstrap from the mirror apt uses here, tried
# there (--version, compile against a golden, man, the group and the
# dpkg-statoverride, nothing enabled), then removed and purged with a kill
# switch on in a throwaway network namespace: the table must stay whole, and
# after the purge nothing of the package may remain.
# Usage: deb.sh [SOURCE_DIR]   (default: the tree this script is in)
# Exits 77 (skipped) without root, the packaging tools, apt's Debian mirror.
# Environment: KS_DEB_MIRROR, KS_DEB_SUITE override the mirror and the suite
# (default: the host's, from apt's sources and /etc/os-release).
set -euo pipefail
top=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
export LC_ALL=C

skip() {
	echo "SKIP: $*"
	exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, chroot, a network namespace)"
for tool in git dpkg-buildpackage dpkg-source dh lintian debootstrap chroot ip nft; do
	command -v "$tool" >/dev/null || skip "$tool is not installed (see .ci/packages)"
done
git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1 || skip "$top is not a git checkout"

work=$(mktemp -d "${TMPDIR:-/tmp}/ks-deb.XXXXXX")
root=$work/root
# The remove and purge run with a kill switch on, in a network namespace of
# their own: the table there is the test's, never this host's.
ns=ks-deb-$$-$RANDOM
ip netns add "$ns" 2>/dev/null || { rm -rf "$work"; skip "cannot create a network namespace"; }
cleanup() {
	local rc=$?
	[ -z "$ns" ] || ip netns del "$ns" 2>/dev/null || true
	if mountpoint -q "$root/proc" 2>/dev/null; then
		umount "$root/proc" || umount -l "$root/proc" || true
	fi
	# Never remove a tree something is still mounted in.
	if grep -q " $work/" /proc/self/mounts; then
		echo "deb.sh: $work left in place: something is still mounted there" >&2
	else
		rm -rf --one-file-system "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

passed=0 failed=0
check() {
	local what=$1
	shift
	if "$@" >"$work/out" 2>&1; then
		passed=$((passed + 1))
		echo "ok   - $what"
	else
		failed=$((failed + 1))
		echo "FAIL - $what"
		sed 's/^/       /' "$work/out" | head -40
	fi
}
# Stops at a step the rest depends on.
must() {
	local before=$failed
	check "$@"
	[ "$failed" = "$before" ] || {
		echo "$passed passed, $failed failed (stopped)"
		exit 1
	}
}
elapsed() { echo "     ($((SECONDS - start)) s: $1)"; }
start=$SECONDS

# ---- one version: CMakeLists.txt's project() --------------------------------
version=$(sed -n 's/^project(killswitch VERSION \([0-9][0-9.]*\).*/\1/p' "$top/CMakeLists.txt")
deb_version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
must "debian/changelog's version ($deb_version) is CMakeLists.txt's ($version)" test "$deb_version" = "$version"
arch=$(dpkg --print-architecture)

# ---- build from a clean copy -------------------------------------------------
src=$work/killswitch-$version
mkdir -p "$src"
(cd "$top" && git ls-files -z | while IFS= read -r -d '' f; do
	if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
done | xargs -0 cp -a --parents -t "$src")
# The source package too, for lintian's source checks.
source_package() { (cd "$work" && dpkg-source -b "killswitch-$version"); }
build() {
	(cd "$src" && nice -n 10 dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) || {
		tail -40 "$work/build.log"
		return 1
	}
}
must "dpkg-source -b" source_package
must "dpkg-buildpackage -us -uc -b" build
deb=$work/killswitch_${version}_${arch}.deb
must "built killswitch_${version}_${arch}.deb" test -f "$deb"
[ ! -f "$work/killswitch-dbgsym_${version}_${arch}.deb" ] || echo "     (and killswitch-dbgsym_${version}_${arch}.deb)"
elapsed built

# Errors and warnings fail; every one that is not fixed is overridden with its
# reason in debian/killswitch.lintian-overrides. Shown: the info and pedantic
# tags, and the overrides with their reasons.
lintian_clean() {
	lintian --fail-on error,warning --display-info --pedantic --show-overrides \
		"$work/killswitch_$version.dsc" "$work/killswitch_${version}_${arch}.changes" >"$work/lintian.log" 2>&1
}
check "lintian: no error, no warning" lintian_clean
{ grep -v '^running with root privileges' "$work/lintian.log" || true; } | sed 's/^/     lintian: /'
elapsed lintian

# "MODE PATH", as dpkg -L names them (no trailing slash; the root is "/.").
dpkg-deb -c "$deb" | awk '{ sub(/^\./, "", $6); sub(/\/$/, "", $6); if ($6 == "") $6 = "/."; print $1, $6 }' \
	>"$work/contents"
for f in /usr/sbin/killswitch /usr/bin/split-tunnel /usr/share/man/man8/killswitch.8.gz \
	/usr/share/man/man1/split-tunnel.1.gz /lib/systemd/system/killswitch.service \
	/lib/systemd/system/killswitch-watch.service /etc/NetworkManager/dispatcher.d/90-killswitch \
	/usr/libexec/killswitch/killswitch-openvpn /usr/share/bash-completion/completions/killswitch \
	/usr/share/doc/killswitch/README.Debian /usr/share/doc/killswitch/copyright \
	/usr/share/doc/killswitch/README.md.gz; do
	check "the package holds $f" grep -qx -- "-[-rwx]* $f" "$work/contents"
done
check "split-tunnel is shipped without its setuid bit (postinst sets it)" \
	grep -qx -- '-rwxr-xr-x /usr/bin/split-tunnel' "$work/contents"
depends=$(dpkg-deb -f "$deb" Depends)
check "runs with libnftables (Depends: $depends)" grep -q 'libnftables1' <<<"$depends"
check "no test-only dependency at run time" \
	bash -c '! grep -Eq "cmocka|wireguard|iperf|dnsmasq|openvpn|clang|busybox|strace" <<<"$1"' - "$depends"

# ---- a fresh root from the mirror apt uses ------------------------------------
suite=${KS_DEB_SUITE:-$(. /etc/os-release && echo "${VERSION_CODENAME:-}")}
[ -n "$suite" ] || skip "no VERSION_CODENAME in /etc/os-release (set KS_DEB_SUITE)"
# apt's own view of its sources (one-line and deb822 alike): the suite and its
# -updates/-security companions, component main.
apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT) $(IDENTIFIER)' |
	awk -v s="$suite" '$3 == "main" && $4 == "Packages" && ($2 == s || index($2, s "-") == 1) { print $1, $2 }' |
	sort -u >"$work/sources"
mirror=${KS_DEB_MIRROR:-$(awk -v s="$suite" '$2 == s { print $1; exit }' "$work/sources")}
[ -n "$mirror" ] || skip "apt has no source for $suite main (set KS_DEB_MIRROR)"
/usr/lib/apt/apt-helper download-file "${mirror%/}/dists/$suite/InRelease" "$work/InRelease" >/dev/null 2>&1 ||
	skip "the mirror $mirror cannot be reached"
[ -s "$work/sources" ] || echo "$mirror $suite" >"$work/sources"

bootstrap() {
	nice -n 10 debootstrap --variant=minbase --include=man-db "$suite" "$root" "$mirror" \
		>"$work/debootstrap.log" 2>&1 || {
		tail -20 "$work/debootstrap.log"
		return 1
	}
}
must "debootstrap --variant=minbase $suite from $mirror" bootstrap
elapsed debootstrap
awk '{ print "deb", $1, $2, "main" }' "$work/sources" >"$root/etc/apt/sources.list"
# Nothing installed in the root may start a service: it would run in this host's network.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"
in_root() {
	chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
# The package's paths the root had before it (directories such as /usr/bin).
while read -r _ f; do
	if [ -e "$root$f" ]; then echo "$f"; fi
done <"$work/contents" >"$work/before"

cp "$deb" "$root/tmp/"
install_deb() {
	in_root sh -c "apt-get update -q && cd /tmp && apt-get install -y -q ./${deb##*/}" >"$work/apt.log" 2>&1 || {
		tail -30 "$work/apt.log"
		return 1
	}
}
must "apt-get install ./${deb##*/}" install_deb
elapsed installed
in_root dpkg -L killswitch >"$work/files"

# ---- what an installed killswitch does ----------------------------------------
installed_version() { [ "$(in_root killswitch --version)" = "killswitch $version" ]; }
check "killswitch --version: killswitch $version" installed_version
# The golden ruleset, compiled by the installed binary as nobody (compile needs no privilege).
args=()
while read -r key value; do
	case $key in '' | \#*) continue ;; esac
	args+=("--$key${value:+=$value}")
done <"$top/rulesets/minimal-ipv4.policy"
compile_golden() {
	chroot --userspec=nobody:nogroup "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin KILLSWITCH_SPLIT_TUNNEL=off \
		killswitch compile "${args[@]}" >"$work/compiled.nft" &&
		diff -u "$top/rulesets/minimal-ipv4.nft" "$work/compiled.nft"
}
check "killswitch compile ${args[*]} (as nobody) is rulesets/minimal-ipv4.nft" compile_golden
# As a user does (root's man would leave a cat page in man-db's cache).
man_page() {
	chroot --userspec=nobody:nogroup "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/ LANG=C.UTF-8 MANPAGER=cat \
		man "$1" | grep -Eq "$2"
}
check "man killswitch" man_page killswitch '^ +killswitch +- +a +VPN +kill +switch'
check "man split-tunnel" man_page split-tunnel '^ +split-tunnel +- '
check "bash completion loads" in_root bash -c 'source /usr/share/bash-completion/completions/killswitch && complete -p killswitch'
check "postinst created the system group killswitch" in_root getent group killswitch
override() { [ "$(in_root dpkg-statoverride --list /usr/bin/split-tunnel)" = "root killswitch 4750 /usr/bin/split-tunnel" ]; }
check "split-tunnel: dpkg-statoverride root killswitch 4750" override
setuid_group() { [ "$(in_root stat -c '%A %U %G' /usr/bin/split-tunnel)" = "-rwsr-x--- root killswitch" ]; }
check "split-tunnel is setuid root, for the group only" setuid_group
nothing_enabled() { ! find "$root/etc/systemd" "$root/etc/rc"*.d -name '*killswitch*' 2>/dev/null | grep .; }
check "no unit enabled" nothing_enabled
in_root adduser --quiet --system --group ks-member >/dev/null
in_root adduser --quiet ks-member killswitch >/dev/null
as_user() {
	local user=$1
	shift
	chroot --userspec="$(in_root id -u "$user"):$(in_root id -g "$user")" \
		--groups="$(in_root id -G "$user" | tr ' ' ,)" "$root" /usr/bin/env -i PATH=/usr/bin:/bin "$@"
}
member_runs() { [ "$(as_user ks-member split-tunnel --version)" = "split-tunnel $version" ]; }
check "a member of the group runs split-tunnel" member_runs
others_cannot() {
	! as_user nobody split-tunnel --version >"$work/nobody.out" 2>&1 && grep -q 'Permission denied' "$work/nobody.out"
}
check "nobody else can (Permission denied)" others_cannot
in_root deluser --quiet --system ks-member >/dev/null 2>&1
in_root delgroup --quiet --system ks-member >/dev/null

# ---- reinstall, remove and purge with the kill switch on ----------------------
in_ns() {
	ip netns exec "$ns" chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		DEBIAN_FRONTEND=noninteractive KILLSWITCH_SPLIT_TUNNEL=off "$@"
}
table_unchanged() { ip netns exec "$ns" nft -s list table inet killswitch | diff -u "$work/table.on" -; }
apt_in_ns() {
	in_ns apt-get "$1" -y -q killswitch >"$work/$1.log" 2>&1 || {
		cat "$work/$1.log"
		return 1
	}
}
must "killswitch block --persist (in the namespace)" in_ns killswitch block --persist
ip netns exec "$ns" nft -s list table inet killswitch >"$work/table.on"
must "the persisted policy is in /etc/killswitch" test -f "$root/etc/killswitch/policy"

# The same version again: dpkg's upgrade path (prerm upgrade, postinst configure VERSION).
reinstall() {
	ip netns exec "$ns" chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		DEBIAN_FRONTEND=noninteractive dpkg -i "/tmp/${deb##*/}" >"$work/reinstall.log" 2>&1 || {
		cat "$work/reinstall.log"
		return 1
	}
}
check "dpkg -i the same package again (the upgrade path)" reinstall
check "upgrade leaves the table as it was, whole" table_unchanged
override_kept() { override && setuid_group; }
check "upgrade keeps the dpkg-statoverride and the setuid bit" override_kept
rm "$root/tmp/${deb##*/}"

check "apt-get remove killswitch" apt_in_ns remove
check "remove says the kill switch stays on" grep -q 'the kill switch is on and stays on' "$work/remove.log"
check "remove leaves the table as it was, whole" table_unchanged
check "remove keeps /etc/killswitch" test -f "$root/etc/killswitch/policy"
check "remove keeps the group" in_root getent group killswitch
check "remove takes the programs" test ! -e "$root/usr/sbin/killswitch" -a ! -e "$root/usr/bin/split-tunnel"

check "apt-get purge killswitch" apt_in_ns purge
check "purge leaves the table as it was, whole" table_unchanged
ip netns del "$ns"
ns=
forgotten() { ! in_root dpkg-query -W -f='${db:Status-Status}\n' killswitch 2>/dev/null | grep -v not-installed; }
check "purge: dpkg knows no killswitch" forgotten
leftovers() {
	local f
	while read -r f; do
		[ -e "$root$f" ] || [ -L "$root$f" ] || continue
		grep -qxF -- "$f" "$work/before" || echo "$f"
	done <"$work/files"
	# Anything else named after it, but /run/killswitch: it records what is in the
	# kernel for a later disable and goes at reboot with the rules (README.Debian).
	find "$root" -xdev -path "$root/run/killswitch" -prune -o -iname '*killswitch*' -print | sed "s|^$root||"
}
nothing_left() { ! leftovers | grep .; }
check "purge: nothing of the package is left" nothing_left
check "purge: /etc/killswitch is gone" test ! -e "$root/etc/killswitch"
check "purge: the group killswitch is gone" bash -c '! chroot "$1" getent group killswitch' - "$root"
no_override() { ! in_root dpkg-statoverride --list | grep .; }
check "purge: no dpkg-statoverride left" no_override
elapsed purged

echo "$passed passed, $failed failed ($((SECONDS - start)) s)"
[ "$failed" = 0 ]
