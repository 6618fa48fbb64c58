#!/usr/bin/env bash
# The NetworkManager dispatcher hook as the build configured it (issue 11, finding 5: it must act
# only on the connections the administrator named by UUID in a root-owned configuration file).
# NetworkManager is not running here, so the test runs the hook the way its dispatcher does: as
# root, argv IFACE ACTION, an environment of the dispatcher's making (CONNECTION_UUID,
# DEVICE_IFACE, ...) and nothing else. A copy of the configured hook has three paths rewritten and
# nothing more: the killswitch it calls (a stub recording its arguments), its configuration file,
# and /sys/class/net (a fake uevent saying DEVTYPE=wireguard); its PATH line gets a stub nmcli in
# front. The installed hook reads no test switch from the environment.
# Usage: nm_hook.sh HOOK KILLSWITCH_PATH CONF_PATH   (the configured hook and the two paths the
# build filled in)
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/lib/checks.sh
. "$(dirname "$0")/../lib/checks.sh"
CHECK_QUIET=none # what the checked commands say stays in the log
HOOK=$1 KS_PATH=$2 CONF_PATH=$3
need_root "needs root (the hook trusts only a configuration file owned by root)"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

U1=0f6a8a3e-5a8c-4b8e-9d5e-2b1f0c7d9e41
U2=6c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5
U3=11111111-2222-4333-8444-555555555555 # a connection nobody named (a user's own)

# ---- the stubs and the fake system -----------------------------------------------------------
mkdir -p "$TMP/bin" "$TMP/stub" "$TMP/evil" "$TMP/sys/class/net/wgtest" "$TMP/sys/class/net/eth0"
printf 'DEVTYPE=wireguard\nINTERFACE=wgtest\nIFINDEX=7\n' >"$TMP/sys/class/net/wgtest/uevent"
printf 'INTERFACE=eth0\nIFINDEX=2\n' >"$TMP/sys/class/net/eth0/uevent"
cat >"$TMP/bin/killswitch" <<-EOF
	#!/bin/sh
	printf '[%s]' "\$@" >"$TMP/calls"
EOF
# nmcli -g connection.permissions connection show uuid UUID: prints nmcli.out, exits nmcli.rc.
cat >"$TMP/stub/nmcli" <<-EOF
	#!/bin/sh
	printf '%s\n' "\$*" >>"$TMP/nmcli.calls"
	cat "$TMP/nmcli.out" 2>/dev/null
	exit \$(cat "$TMP/nmcli.rc" 2>/dev/null || echo 0)
EOF
# What a caller's PATH could bring: a stat that calls every file root's and private.
cat >"$TMP/evil/stat" <<-EOF
	#!/bin/sh
	echo '0 600'
EOF
chmod 0755 "$TMP/bin/killswitch" "$TMP/stub/nmcli" "$TMP/evil/stat"

CONF_DIR=$TMP/etc/killswitch
CONF=$CONF_DIR/networkmanager.conf
HOOK_COPY=$TMP/90-killswitch
sed -e "s#$KS_PATH#$TMP/bin/killswitch#g" -e "s#$CONF_PATH#$CONF#g" \
	-e "s#/sys/class/net/#$TMP/sys/class/net/#g" -e "s#^PATH=#PATH=$TMP/stub:#" "$HOOK" >"$HOOK_COPY"
chmod 0755 "$HOOK_COPY"
check "the configured hook calls $KS_PATH and reads $CONF_PATH" \
	bash -c 'grep -q "$1" "$3" && grep -q "$2" "$3"' _ "$KS_PATH" "$CONF_PATH" "$HOOK"
check "the copy calls the stub and reads the test's configuration, nothing else" \
	bash -c '! grep -qe "$1" -e "$2" "$3" && grep -q "$4" "$3" && grep -q "$5" "$3"' _ \
	"$KS_PATH" "$CONF_PATH" "$HOOK_COPY" "$TMP/bin/killswitch" "$CONF"

conf() { # conf [TEXT]: the configuration file, root's, 0644, in a root-owned 0755 directory
	rm -rf "${TMP:?}/etc"
	mkdir -p "$CONF_DIR"
	chmod 0755 "$TMP/etc" "$CONF_DIR"
	printf '%s\n' "${1-KILLSWITCH_CONNECTIONS=\"$U1 $U2\"
KILLSWITCH_ARGS=\"--dns 10.64.0.1 --allow-lan\"}" >"$CONF"
	chmod 0644 "$CONF"
}

# run IFACE ACTION [VAR=VALUE...]: the hook as the dispatcher runs it; rc, $TMP/err, $TMP/calls
run() {
	local iface=$1 action=$2
	shift 2
	rm -f "$TMP/calls" "$TMP/nmcli.calls"
	rc=0
	env -i NM_DISPATCHER_ACTION="$action" DEVICE_IFACE="$iface" DEVICE_IP_IFACE="$iface" \
		CONNECTION_ID=office CONNECTION_DBUS_PATH=/org/freedesktop/NetworkManager/Settings/3 \
		CONNECTION_FILENAME=/etc/NetworkManager/system-connections/office.nmconnection \
		"$@" "$HOOK_COPY" "$iface" "$action" >"$TMP/out" 2>"$TMP/err" || rc=$?
}
called() { [ -f "$TMP/calls" ] && [ "$(cat "$TMP/calls")" = "$1" ]; }
not_called() { [ ! -e "$TMP/calls" ]; }
exit_is() { [ "$rc" = "$1" ]; }
one_line() { [ "$(wc -l <"$TMP/err")" = 1 ] && grep -q "^90-killswitch: .*${1:-}" "$TMP/err"; }
# acted WHAT CALL: exit 0 and exactly that call; ignored WHAT: exit 0, no call; refused WHAT: exit 1,
# one line on stderr, no call
acted() { check "$1" bash -c '[ "$1" = 0 ] && [ "$(cat "$2" 2>/dev/null)" = "$3" ]' _ "$rc" "$TMP/calls" "$2"; }
ignored() { check "$1" bash -c '[ "$1" = 0 ] && [ ! -e "$2" ]' _ "$rc" "$TMP/calls"; }
refused() {
	check "$1" bash -c '[ "$1" = 1 ] && [ ! -e "$2" ] && [ "$(wc -l <"$3")" = 1 ] &&
		grep -q "^90-killswitch: " "$3"' _ "$rc" "$TMP/calls" "$TMP/err"
}
ENABLE="[enable][--from-wg][wgtest][--dns][10.64.0.1][--allow-lan]"
BLOCK="[block][--dns][10.64.0.1][--allow-lan]"

# ---- the connections the administrator named ---------------------------------------------------
conf
rm -f "$TMP/nmcli.out" "$TMP/nmcli.rc"
run wgtest up CONNECTION_UUID=$U1
acted "up of a named connection: enable --from-wg IFACE with KILLSWITCH_ARGS" "$ENABLE"
check "up: nmcli asked for the connection's permissions by UUID" \
	grep -qxe "-g connection.permissions connection show uuid $U1" "$TMP/nmcli.calls"
run wgtest up CONNECTION_UUID=$U2
acted "up of the second named connection" "$ENABLE"
run wgtest down CONNECTION_UUID=$U1
acted "down of a named connection: block with KILLSWITCH_ARGS" "$BLOCK"
run wgtest pre-down CONNECTION_UUID=$U1
acted "pre-down of a named connection: block" "$BLOCK"
run wggone down CONNECTION_UUID=$U1
acted "down of a named connection whose device is gone already: block" "$BLOCK"
echo -- >"$TMP/nmcli.out"
run wgtest up CONNECTION_UUID=$U1
acted "up: nmcli printing '--' (no permissions) is no owner" "$ENABLE"
rm -f "$TMP/nmcli.out"

# ---- everything else: ignored ------------------------------------------------------------------
run wgtest up CONNECTION_UUID=$U3
ignored "up of a connection not named: no call, exit 0"
check "... and one line saying so, with its UUID" one_line "$U3"
run wgtest down CONNECTION_UUID=$U3
ignored "down of a connection not named: no call"
run wgtest up
ignored "up without CONNECTION_UUID: no call, exit 0"
run wgtest up CONNECTION_UUID=
ignored "up with an empty CONNECTION_UUID: no call, exit 0"
run wgtest up CONNECTION_UUID=${U1^^}
ignored "up of the named UUID in capitals (another connection to NetworkManager): no call"
run eth0 up CONNECTION_UUID=$U1
ignored "up of a named connection on a device that is not WireGuard: no call"
check "... in silence" test ! -s "$TMP/err"
run eth0 down CONNECTION_UUID=$U3
ignored "down of another device's connection: no call"
check "... in silence" test ! -s "$TMP/err"
run wgtest dhcp4-change CONNECTION_UUID=$U1
ignored "other actions (dhcp4-change): no call"
run ../wgtest up CONNECTION_UUID=$U1
ignored "an interface name that is a path: no call"
conf "KILLSWITCH_ARGS=\"--dns 10.64.0.1\""
run wgtest up CONNECTION_UUID=$U1
ignored "no KILLSWITCH_CONNECTIONS: nothing named, no call"
rm -f "$CONF"
run wgtest up CONNECTION_UUID=$U1
ignored "no configuration file: nothing named, no call"

# ---- the environment cannot name connections or steer the checks -------------------------------
conf "KILLSWITCH_CONNECTIONS=$U1"
run wgtest up CONNECTION_UUID=$U3 KILLSWITCH_CONNECTIONS=$U3
ignored "KILLSWITCH_CONNECTIONS from the environment is not read"
run wgtest up CONNECTION_UUID=$U1 KILLSWITCH_ARGS="--ipv6 allow"
acted "KILLSWITCH_ARGS from the environment is not read" "[enable][--from-wg][wgtest]"
conf
chmod 0666 "$CONF"
run wgtest up CONNECTION_UUID=$U1 PATH="$TMP/evil:/usr/bin:/bin"
refused "a PATH from the environment does not replace the hook's (a stat that lies)"

# ---- malicious UUIDs: refused, never evaluated --------------------------------------------------
conf
bad_uuid() { # bad_uuid WHAT VALUE
	run wgtest up CONNECTION_UUID="$2"
	refused "CONNECTION_UUID $1 refused: exit 1, one line, no call"
}
bad_uuid '$(touch FILE)' "\$(touch $TMP/pwned)"
bad_uuid '`touch FILE`' "\`touch $TMP/pwned\`"
bad_uuid 'U1;touch FILE' "$U1;touch $TMP/pwned"
bad_uuid "U1'" "$U1'"
bad_uuid '"U1 U3"' "$U1 $U3"
bad_uuid 'U1<newline>U3' "$U1
$U3"
bad_uuid 'U1<newline>' "$U1
"
bad_uuid '*' '*'
bad_uuid '--help' '--help'
bad_uuid 'U1 less its last digit' "${U1:0:35}"
bad_uuid 'U1 with a digit more' "${U1}0"
bad_uuid 'U1 without dashes' "${U1//-/}"
bad_uuid 'of dashes and hex digits in the wrong places' "-${U1:0:35}"
check "... none of them was evaluated" test ! -e "$TMP/pwned"
conf "KILLSWITCH_CONNECTIONS='$U1 \$(touch $TMP/pwned)'"
run wgtest up CONNECTION_UUID=$U1
refused "a configuration entry that is not a UUID is refused"
check "... and not evaluated" test ! -e "$TMP/pwned"
# The lists are split on blanks, never expanded as file names: in a working directory holding a
# file named like the UUID, '*' would name it, and an IPv6 endpoint's [...] would match a file.
mkdir "$TMP/cwd" "$TMP/cwd6"
: >"$TMP/cwd/$U1"
: >"$TMP/cwd6/1:51820"
conf "KILLSWITCH_CONNECTIONS='*'"
rc=$(cd "$TMP/cwd" && { run wgtest up CONNECTION_UUID=$U1; echo "$rc"; })
refused "KILLSWITCH_CONNECTIONS='*' is no file name pattern"
conf "KILLSWITCH_CONNECTIONS=$U1
KILLSWITCH_ARGS='--endpoint [fd00::1]:51820'"
rc=$(cd "$TMP/cwd6" && { run wgtest up CONNECTION_UUID=$U1; echo "$rc"; })
acted "KILLSWITCH_ARGS '--endpoint [fd00::1]:51820' passed as written" \
	"[enable][--from-wg][wgtest][--endpoint][[fd00::1]:51820]"

# ---- a configuration file others could have written: refused ------------------------------------
for mode in 0664 0646 0666 0620; do
	conf
	chmod "$mode" "$CONF"
	run wgtest up CONNECTION_UUID=$U1
	refused "configuration file mode $mode refused: exit 1, one line, no call"
done
conf
chown 65534:0 "$CONF"
run wgtest up CONNECTION_UUID=$U1
refused "configuration file not owned by root refused"
conf
chown 0:65534 "$CONF"
chmod 0664 "$CONF"
run wgtest down CONNECTION_UUID=$U1
refused "group-writable configuration file refused on down too"
conf
mv "$CONF" "$CONF_DIR/real.conf"
ln -s real.conf "$CONF"
run wgtest up CONNECTION_UUID=$U1
refused "configuration file that is a symbolic link refused"
for mode in 0775 0757 1777; do
	conf
	chmod "$mode" "$CONF_DIR"
	run wgtest up CONNECTION_UUID=$U1
	refused "configuration directory mode $mode refused"
done
conf
chown 65534 "$CONF_DIR"
run wgtest up CONNECTION_UUID=$U1
refused "configuration directory not owned by root refused"

# ---- a user's own connection under a named UUID (connection.permissions) ------------------------
conf
echo "user:mallory" >"$TMP/nmcli.out"
run wgtest up CONNECTION_UUID=$U1
refused "a named connection with connection.permissions user:mallory refused"
rm -f "$TMP/nmcli.out"
echo 10 >"$TMP/nmcli.rc"
run wgtest up CONNECTION_UUID=$U1
refused "nmcli failing (cannot tell the owner) refused"
rm -f "$TMP/nmcli.rc"

finish
