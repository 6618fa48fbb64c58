#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What the split-tunnel lab scripts share, sourced after tests/e2e/lib.sh: the client namespace
# with the host's mounts (in_c), the unprivileged test user $TU in group $TG with a set-user-ID
# copy of $SPLIT ($SUID) it may run, and their removal for the scripts' teardowns.
# Set TU and TG (per lab) and SPLIT before calling split_test_user; SU_DIR, TU_MADE and TG_MADE
# record what was made.
SU_DIR='' TU_MADE=0 TG_MADE=0

# Everything touching cgroups runs under `nsenter --net`: `ip netns exec` remounts /sys and hides them.
in_c() { nsenter --net="/run/netns/$NS_C" "$@"; }
# As the test user itself, with its groups, no capabilities at all.
as_user() { in_c setpriv --reuid="$TU_UID" --regid="$TU_GID" --init-groups --inh-caps=-all "$@"; }

# The test user, a member of the group killswitch (whose members may use a set-user-ID install, as an
# install makes it; left in place, like one), and the setuid-root copy of split-tunnel it runs.
split_test_user() {
	groupadd "$TG" || die "cannot create the group $TG"
	TG_MADE=1
	groupadd -f -r killswitch || die "cannot create the group killswitch"
	useradd -M -N -r -g "$TG" -G daemon,killswitch -s /usr/sbin/nologin "$TU" || die "cannot create the user $TU"
	TU_MADE=1
	TU_UID=$(id -u "$TU") TU_GID=$(id -g "$TU")
	SU_DIR=$(mktemp -d "/tmp/ks-split-suid.$LAB_ID.XXXXXX")
	chmod 755 "$SU_DIR"
	install -o root -g root -m 4755 "$SPLIT" "$SU_DIR/split-tunnel"
	SUID=$SU_DIR/split-tunnel
	setpriv --reuid="$TU_UID" --regid="$TU_GID" --init-groups test -x "$SUID" ||
		skip "the test user cannot execute $SUID (nosuid or private /tmp?)"
}

# For the teardowns: the setuid copy, the user and its group, whichever were made.
split_test_user_remove() {
	[[ -n $SU_DIR ]] && rm -rf "$SU_DIR"
	((TU_MADE)) && userdel "$TU" 2>/dev/null
	((TG_MADE)) && groupdel "$TG" 2>/dev/null
	return 0
}
