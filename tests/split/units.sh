#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Split tunnelling by systemd unit (issue 16) in the leak lab, cgroup v2: a unit's own cgroup is
# excluded (`split-tunnel add --unit`), matched by its id, no process moved; its process reaches
# the internet directly while another unit's stays in the tunnel; restarted (its cgroup made
# again, with a new id), it is still excluded once watch has seen the new cgroup; a user's own
# user unit (`--user`) the same, deeper in the tree; `--persist` comes back after a "boot" (the
# run directory gone); `del --unit` puts it back in the tunnel. Who may exclude what: a system
# unit only root, a user their own user units only; names outside systemd's alphabet refused.
#
# This machine kind runs no systemd: the units' cgroups are made by hand where systemd would
# make them (system.slice/NAME.service, user.slice/user-UID.slice/user@UID.service/app.slice/...)
# under the v2 hierarchy, and "restarting" a unit is what systemd does: the processes killed,
# the cgroup removed, made again, a new process started in it.
#
# Usage: units.sh KILLSWITCH SPLIT_TUNNEL. Everything touching cgroups runs under `nsenter --net`:
# `ip netns exec` remounts /sys and hides them.
# The lab library is found at run time; single-quoted scripts are expanded by the shells running them.
# shellcheck disable=SC1091,SC2016
source "$(dirname "$0")/../e2e/lib.sh"
source "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2034 # KILLSWITCH and KS_ARGV (below) are the lab library's
KILLSWITCH=${1:?usage: units.sh KILLSWITCH SPLIT_TUNNEL}
SPLIT=${2:?usage: units.sh KILLSWITCH SPLIT_TUNNEL}
export KILLSWITCH_SPLIT_TUNNEL=v2

lab_init "split-units"
lab_require useradd userdel groupadd groupdel setpriv
SPLIT=$(readlink -f "$SPLIT")
# The v2 hierarchy: at /sys/fs/cgroup/unified on a hybrid host (this machine kind), or /sys/fs/cgroup.
if [[ -f /sys/fs/cgroup/unified/cgroup.procs ]]; then
	V2=/sys/fs/cgroup/unified
elif [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
	V2=/sys/fs/cgroup
else
	skip "no cgroup v2 hierarchy mounted"
fi
CG_NAME=ks-split-$LAB_ID-units
UNIT=kse-test-$LAB_ID.service OTHER=kse-other-$LAB_ID.service UUNIT=kse-user-$LAB_ID.service
# shellcheck disable=SC2034 # TG: the test user's group, made by split_test_user (lib.sh)
TU=ks-st-$LAB_ID TG=ks-sg-$LAB_ID
TU_UID=''
declare -A UNIT_PID=() UNIT_DIR=()
declare -a MADE_DIRS=()

# Our processes and cgroups first, deepest first, then the user, then the lab's own.
units_teardown() {
	local rc=$? name dir i
	set +e
	watch_stop
	{
		for name in "${!UNIT_PID[@]}"; do kill -KILL "${UNIT_PID[$name]}"; done
		for name in "${!UNIT_PID[@]}"; do wait "${UNIT_PID[$name]}"; done
	} 2>/dev/null
	for ((i = ${#MADE_DIRS[@]} - 1; i >= 0; i--)); do
		dir=${MADE_DIRS[i]}
		[[ -d $dir ]] || continue
		# shellcheck disable=SC2046
		kill -KILL $(cat "$dir/cgroup.procs" 2>/dev/null) 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$dir" 2>/dev/null && break; sleep 0.1; done
	done
	split_test_user_remove
	(exit "$rc")
	lab_teardown
}
trap units_teardown EXIT

# mkdir_tracked DIR: makes DIR and each missing parent, remembering them for the teardown.
mkdir_tracked() {
	local dir=$1 missing=()
	while [[ ! -d $dir ]]; do
		missing=("$dir" "${missing[@]}")
		dir=${dir%/*}
	done
	for dir in "${missing[@]}"; do
		mkdir "$dir" || return 1
		MADE_DIRS+=("$dir")
	done
}

# killswitch (and watch) with the host's mounts: the units' cgroups must be visible to it.
ks_argv() {
	# shellcheck disable=SC2034
	KS_ARGV=(nsenter --net="/run/netns/$NS_C" env KILLSWITCH_RUNDIR="$LAB_TMP/run" KILLSWITCH_CONFDIR="$LAB_TMP/conf"
		KILLSWITCH_CGROUP_NAME="$CG_NAME" KILLSWITCH_SPLIT_TUNNEL=v2)
}
st() {
	in_c env KILLSWITCH_RUNDIR="$LAB_TMP/run" KILLSWITCH_CONFDIR="$LAB_TMP/conf" KILLSWITCH_CGROUP_NAME="$CG_NAME" \
		KILLSWITCH_SPLIT_TUNNEL=v2 "$SPLIT" "$@"
}
# As run through sudo by the test user: root, with sudo's SUDO_* variables (and the lab's directories).
# shellcheck disable=SC2153 # TU_GID: set by split_test_user (lib.sh)
st_sudo() { in_c env SUDO_UID="$TU_UID" SUDO_GID="$TU_GID" SUDO_USER="$TU" KILLSWITCH_RUNDIR="$LAB_TMP/run" \
	KILLSWITCH_CONFDIR="$LAB_TMP/conf" KILLSWITCH_CGROUP_NAME="$CG_NAME" KILLSWITCH_SPLIT_TUNNEL=v2 "$SPLIT" "$@"; }

lab_up

# ---- the test user and the setuid copy (the permission checks) -------------------------------

split_test_user

# ---- the probes -----------------------------------------------------------------------------

ini nft -f - <<-EOF
	table inet splitoracle {
		counter physical_source {
		}
		chain pre {
			type filter hook prerouting priority -450; policy accept;
			iifname "isp0" ip saddr $C4 ip daddr $NET4 counter name physical_source
		}
	}
EOF
oracle_src() { counter_of inet splitoracle physical_source; }

# sprobe NAME EXPECT CMD...: EXPECT direct: answered, seen on the physical link from the physical
# address, nothing through the tunnel; tunnel: answered through the tunnel, nothing on the link.
sprobe() {
	local name=$1 expect=$2 p0 t0 s0 dp dt ds rc=0 out seen ok=0
	shift 2
	p0=$(oracle_phys) t0=$(oracle_tun) s0=$(oracle_src)
	out=$("$@" 2>&1) || rc=$?
	sleep "$SETTLE"
	dp=$(($(oracle_phys) - p0)) dt=$(($(oracle_tun) - t0)) ds=$(($(oracle_src) - s0))
	case $expect in
	direct)
		if ((rc == 0 && dp > 0 && ds > 0 && dt == 0)); then seen=direct ok=1
		elif ((dt > 0)); then seen=TUNNEL
		else seen=no-reply; fi
		;;
	tunnel)
		if ((rc == 0 && dp == 0 && dt > 0)); then seen=tunnel ok=1
		elif ((dp > 0)); then seen=LEAK
		else seen=no-reply; fi
		;;
	*) die "sprobe: bad expectation $expect" ;;
	esac
	lab_record "${SPROBE_KIND:-probe}" "$name" "${SPROBE_STATE:-enabled, units}" "$expect" "$seen" "$dp" "$ok" \
		"$(printf '    command: %s\n    rc=%s phys=%s tun=%s physsrc=%s output: %s' "$*" "$rc" "$dp" "$dt" \
			"$ds" "${out//$'\n'/ | }")"
}
expect_rc() {
	local name=$1 want=$2 rc=0 out ok=0
	shift 2
	out=$("$@" 2>&1) || rc=$?
	[[ $rc != "$want" ]] || ok=1
	lab_record probe "$name" "units" "exit $want" "exit $rc" - "$ok" \
		"$(printf '    command: %s\n    output: %s' "$*" "${out//$'\n'/ | }")"
	LAST_OUT=$out
}
one_line_quoting() { # the last expect_rc said one line, "split-tunnel: ...: 'VALUE'"
	[[ $(printf '%s\n' "$LAST_OUT" | wc -l) == 1 && $LAST_OUT == "split-tunnel: "*": '$1'" ]] || {
		printf '%s\n' "$LAST_OUT"
		return 1
	}
}

# The units, as systemd would run them: unit_start KEY DIR makes the cgroup DIR (a unit's start),
# and starts in it a shell that makes one connection per line written to its fifo (its main
# process, whose children connect); unit_stop KEY kills it and removes the cgroup (a stop).
cat >"$LAB_TMP/unit-main.sh" <<'EOF'
#!/bin/bash
# unit-main.sh CGROUP FIFO PYTHON LABNET ADDR OUT
echo $$ >"$1/cgroup.procs" || exit 1
exec 3<>"$2"
while read -r n <&3; do "$3" -S "$4" send udp "$5" 5000 >"$6.$n" 2>&1; echo "rc=$?" >>"$6.$n"; done
EOF
unit_start() {
	local key=$1 dir=$2
	mkdir_tracked "$dir" || die "cannot make the cgroup $dir"
	UNIT_DIR[$key]=$dir
	rm -f "$LAB_TMP/$key.fifo"
	mkfifo "$LAB_TMP/$key.fifo"
	nsenter --net="/run/netns/$NS_C" bash "$LAB_TMP/unit-main.sh" "$dir" "$LAB_TMP/$key.fifo" "$PYTHON" "$LABNET" \
		"$NET4" "$LAB_TMP/$key.out" &
	UNIT_PID[$key]=$!
	wait_for 5 grep -qx "0::${dir#"$V2"}" "/proc/${UNIT_PID[$key]}/cgroup" || die "$key did not start in $dir"
}
unit_stop() {
	local key=$1
	kill -KILL "${UNIT_PID[$key]}" 2>/dev/null
	wait "${UNIT_PID[$key]}" 2>/dev/null || true
	unset "UNIT_PID[$key]"
	wait_for 5 rmdir "${UNIT_DIR[$key]}" || die "cannot remove the cgroup ${UNIT_DIR[$key]}"
}
unit_probe() { # unit_probe KEY: one connection from a fresh child of the unit's main process
	local key=$1 n
	n=$(($(cat "$LAB_TMP/$key.n" 2>/dev/null || echo 0) + 1))
	echo "$n" >"$LAB_TMP/$key.n"
	echo "$n" >"$LAB_TMP/$key.fifo"
	wait_for 5 grep -q '^rc=' "$LAB_TMP/$key.out.$n" || return 1
	cat "$LAB_TMP/$key.out.$n"
	grep -qx 'rc=0' "$LAB_TMP/$key.out.$n"
}

enable_quietly() { # enable, and split tunnelling must not have been turned off, nor the units left out
	local out
	out=$(ks enable --tunnel "$WGC" --endpoint "$ENDPOINT" --dns "$VPNDNS4" 2>&1) || { echo "$out"; return 1; }
	if [[ $out == *"split tunnelling"* || $out == *"units"* ]]; then echo "$out"; return 1; fi
}
mangle_has() { local out; out=$(in_c nft list chain inet killswitch mangle) && grep -qF "$1" <<<"$out"; }
# The set's elements as nft shows them: a cgroup id it can name is shown as its path.
set_names() { local out; out=$(in_c nft list set inet killswitch "excluded_units_l$1") && grep -qF "\"$2\"" <<<"$out"; }
listed() { local out; out=$("$@") && grep -qxF "$LIST_LINE" <<<"$out"; }
restores() { grep -c 'restored (excluded units changed)' "$WATCH_LOG" || true; }

SYS_DIR=$V2/system.slice/$UNIT
OTHER_DIR=$V2/system.slice/$OTHER
USER_PATH=user.slice/user-$TU_UID.slice/user@$TU_UID.service/app.slice/$UUNIT
USER_DIR=$V2/$USER_PATH

table_header

# ---- a system unit --------------------------------------------------------------------------

check "enable, split tunnelling v2" enabled applied enable_quietly
unit_start unit "$SYS_DIR"
unit_start other "$OTHER_DIR"
sprobe "$UNIT before add" tunnel unit_probe unit
expect_rc "add --unit $UNIT (root)" 0 st add --unit "$UNIT"
check "  ... says the table has no rule for its level yet" enabled said grep -q "no rule for this unit's level" <<<"$LAST_OUT"
check "  ... listed in the run directory" enabled listed grep -qx "system.slice/$UNIT" "$LAB_TMP/run/split-units"
LIST_LINE=$'unit\t'"system.slice/$UNIT"$'\trunning'
check "  ... list shows it, running" enabled listed listed st list
status_unit() { local out; out=$(ks status) && grep -qF "excluded units: system.slice/$UNIT (running)" <<<"$out"; }
check "  ... status lists it, running" enabled listed status_unit
check "enable again: a rule for level 2" enabled present enable_quietly
check "  ... socket cgroupv2 level 2 @excluded_units_l2" enabled present mangle_has "socket cgroupv2 level 2 @excluded_units_l2 goto excluded"
check "  ... the unit's cgroup id in the set" enabled present set_names 2 "${SYS_DIR#/sys/fs/cgroup/}"
sprobe "$UNIT's process, excluded by --unit" direct unit_probe unit
SPROBE_KIND=control sprobe "$OTHER's process (control)" tunnel unit_probe other
check "its process was never moved" enabled "${SYS_DIR#"$V2"}" grep -qx "0::${SYS_DIR#"$V2"}" "/proc/${UNIT_PID[unit]}/cgroup"

# Restarted without watch: the cgroup has a new id the table does not hold, so the unit goes
# through the tunnel (never around it) until the next apply. The control for watch's part.
unit_stop unit
unit_start unit "$SYS_DIR"
SPROBE_KIND=control SPROBE_STATE="restarted, no watch" sprobe "$UNIT restarted, before any apply" tunnel unit_probe unit
check "enable again" enabled applied enable_quietly
sprobe "$UNIT restarted, after enable" direct unit_probe unit

# Restarted with watch: watch sees the cgroup made again and applies the table with the new id.
watch_start watch.log
before=$(restores)
unit_stop unit
t0=${EPOCHREALTIME/./}
unit_start unit "$SYS_DIR"
wait_for 5 set_names 2 "${SYS_DIR#/sys/fs/cgroup/}"
t1=${EPOCHREALTIME/./}
# An upper bound: from before mkdir to nft listing the id, the test's own polling (nft, 50 ms) included;
# watch's own line says how long its apply took once inotify woke it.
log "restart to the new id in the set, with watch: $(((t1 - t0) / 1000)) ms;" \
	"watch: $(grep 'restored (excluded units changed)' "$WATCH_LOG" | tail -1 | sed 's/.* in //')"
check "watch applied the table for the restart" watch restored test "$(restores)" -gt "$before"
sprobe "$UNIT restarted, watch running" direct unit_probe unit
SPROBE_KIND=control sprobe "$OTHER's process (control)" tunnel unit_probe other
before=$(restores)
unit_stop unit
unit_start unit "$SYS_DIR"
wait_for 5 set_names 2 "${SYS_DIR#/sys/fs/cgroup/}"
sprobe "$UNIT restarted again, watch running" direct unit_probe unit

# del: back in the tunnel at once (watch applies again, without the unit's level).
expect_rc "del --unit $UNIT" 0 st del --unit "$UNIT"
wait_for 5 not mangle_has "@excluded_units_l2"
check "  ... the level's rule gone (watch)" watch gone not mangle_has "@excluded_units_l2"
sprobe "$UNIT after del" tunnel unit_probe unit
expect_rc "del --unit of a unit not excluded" 1 st del --unit "$UNIT"
check "  ... one line quoting it" units "one line" one_line_quoting "$UNIT"

# ---- a user's own user unit, through sudo -------------------------------------------------------

unit_start user "$USER_DIR"
sprobe "user unit $UUNIT before add" tunnel unit_probe user
expect_rc "sudo: add --user --unit $UUNIT" 0 st_sudo add --user --unit "$UUNIT"
check "  ... listed inside the user's slice" sudo listed grep -qx "$USER_PATH" "$LAB_TMP/run/split-units"
wait_for 5 set_names 5 "${USER_DIR#/sys/fs/cgroup/}"
check "  ... watch put it in excluded_units_l5" watch present set_names 5 "${USER_DIR#/sys/fs/cgroup/}"
sprobe "user unit $UUNIT, excluded by --user --unit" direct unit_probe user
SPROBE_KIND=control sprobe "$OTHER's process (control)" tunnel unit_probe other
unit_stop user
unit_start user "$USER_DIR"
wait_for 5 set_names 5 "${USER_DIR#/sys/fs/cgroup/}"
sprobe "user unit $UUNIT restarted, watch running" direct unit_probe user
expect_rc "sudo: del --user --unit $UUNIT" 0 st_sudo del --user --unit "$UUNIT"
wait_for 5 not mangle_has "@excluded_units_l5"
sprobe "user unit $UUNIT after del" tunnel unit_probe user

# ---- who may exclude what, and which names ----------------------------------------------------

expect_rc "setuid user: add --unit of a system unit refused" 1 as_user "$SUID" add --unit "$OTHER"
check "  ... one line quoting it" setuid "one line" one_line_quoting "$OTHER"
expect_rc "setuid user: add --slice of a system slice refused" 1 as_user "$SUID" add --slice system.slice
expect_rc "sudo: add --unit of a system unit refused (the caller is the user)" 1 st_sudo add --unit "$OTHER"
check "  ... nothing listed" units "not listed" not grep -q "$OTHER" "$LAB_TMP/run/split-units"
for bad in "a/b.service" "../x.service" "x.service/.." $'x\n.service' 'x";drop.service' "x y.service" "getty@.service" \
	'x\x2.service' "-x.service" ""; do
	expect_rc "add --unit $(printf '%q' "$bad") refused" 2 st add --unit "$bad"
done
expect_rc "add --slice -.slice (the root) refused" 2 st add --slice -.slice
expect_rc "add --slice a--b.slice refused" 2 st add --slice a--b.slice
expect_rc "add --unit without a name" 2 st add --unit
expect_rc "add --unit with an unknown option" 2 st add --unit "$UNIT" --frobnicate
check "  ... nothing listed by the refusals" units "not listed" not test -e "$LAB_TMP/run/split-units"

# ---- --persist: back after a boot ---------------------------------------------------------------

expect_rc "add --unit $UNIT --persist" 0 st add --unit "$UNIT" --persist
check "  ... listed in the config directory" enabled listed grep -qx "system.slice/$UNIT" "$LAB_TMP/conf/split-units"
wait_for 5 set_names 2 "${SYS_DIR#/sys/fs/cgroup/}"
sprobe "$UNIT excluded, persisted" direct unit_probe unit
LIST_LINE=$'unit\t'"system.slice/$UNIT"$'\trunning\tpersistent'
check "  ... list says persistent" enabled listed listed st list
check "  ... list --json too" enabled listed grep -q '"cgroup":"system.slice/'"$UNIT"'","running":true,"persistent":true' \
	<<<"$(st list --json | tr -d ' \n')"
check "  ... status --json too" enabled listed grep -q '"excluded_units":\[{"cgroup":"system.slice/'"$UNIT"'","running":true,"persistent":true}' \
	<<<"$(ks status --json | tr -d ' \n')"
# A boot: watch gone, the run directory empty, the unit started again, the kill switch enabled.
watch_stop
ks disable >/dev/null
find "$LAB_TMP/run" -mindepth 1 -delete
unit_stop unit
unit_start unit "$SYS_DIR"
check "enable after the \"boot\"" enabled applied enable_quietly
sprobe "$UNIT after the \"boot\"" direct unit_probe unit
SPROBE_KIND=control sprobe "$OTHER's process (control)" tunnel unit_probe other
expect_rc "del --unit $UNIT (off both lists)" 0 st del --unit "$UNIT"
check "  ... gone from the config directory" enabled gone not test -e "$LAB_TMP/conf/split-units"

# ---- the controls: the exclusion is the table's --------------------------------------------

# Listed, with the kill switch off: nothing excludes it, the unit goes where the routes say.
st add --unit "$UNIT" >/dev/null 2>&1
ks disable >/dev/null
SPROBE_KIND=control SPROBE_STATE="disabled (control)" sprobe "$UNIT listed, kill switch off" tunnel unit_probe unit
# With no route into the tunnel and the kill switch off, the probe leaks: it can see a leak.
routes_off
SPROBE_KIND=control SPROBE_STATE="disabled, no routes" sprobe "$OTHER, kill switch off, no tunnel routes" direct \
	unit_probe other
routes_tunnel
st del --unit "$UNIT" >/dev/null 2>&1

# A user lists at most 32 units: each costs every apply a stat and watch a directory.
fill_users_units() {
	local i
	for i in $(seq 1 32); do st_sudo add --user --unit "kse-cap$i-$LAB_ID.service" >/dev/null 2>&1 || return 1; done
}
check "sudo: 32 user units listed" sudo listed fill_users_units
expect_rc "sudo: a 33rd refused" 1 st_sudo add --user --unit "kse-cap33-$LAB_ID.service"
check "  ... one line quoting the limit" sudo "one line" one_line_quoting 32
expect_rc "sudo: one listed already, added again" 0 st_sudo add --user --unit "kse-cap1-$LAB_ID.service"
expect_rc "root: a system unit still" 0 st add --unit "$UNIT"
st del --unit "$UNIT" >/dev/null 2>&1
for i in $(seq 1 32); do st_sudo del --user --unit "kse-cap$i-$LAB_ID.service" >/dev/null 2>&1; done
check "  ... all deleted: no list left" units gone not test -e "$LAB_TMP/run/split-units"

lab_finish
