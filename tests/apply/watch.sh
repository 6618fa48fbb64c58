#!/usr/bin/env bash
# killswitch watch in a throwaway namespace: third-party removals and edits
# are undone, killswitch's own changes are followed, and the time from
# removal to restore is measured. Usage: watch.sh KILLSWITCH
set -euo pipefail

# shellcheck source=tests/apply/lib.sh
. "$(dirname "$0")/lib.sh"

KS=$1
export KILLSWITCH_CGROUP_NAME=ks-watch-$$
WATCH_PID=
NS2=
cleanup_hook() {
	if [ -n "$NS2" ]; then ip netns del "$NS2" 2>/dev/null || true; fi
	if [ -n "$WATCH_PID" ]; then
		kill "$WATCH_PID" 2>/dev/null || true
		wait "$WATCH_PID" 2>/dev/null || true
	fi
	find /sys/fs/cgroup -maxdepth 2 -type d -name "$KILLSWITCH_CGROUP_NAME" -exec rmdir {} + 2>/dev/null || true
}
CHECK_QUIET=stdout # the checked commands' errors stay in the log
ks_setup watch

# lib.sh's ks, but nsenter, not ip netns exec: the same view of /sys/fs/cgroup as watch, so both plan split tunnelling alike
ks() { nsenter --net="/run/netns/$NS" "$KS" "$@"; }
# ms_until COMMAND...: poll every 2 ms for up to 3 s; prints the milliseconds it took (lib's
# wait_for polls every 50 ms: too coarse for the restore times measured here)
ms_until() {
	local start end
	start=$(date +%s%N)
	for _ in $(seq 1500); do
		if "$@" >/dev/null 2>&1; then
			end=$(date +%s%N)
			echo $(((end - start) / 1000000))
			return 0
		fi
		sleep 0.002
	done
	return 1
}
table_whole() { grep -q 'policy drop' <(inns nft list chain inet killswitch output); }
rule_count() { inns nft list chain inet killswitch output | grep -c accept; }

ks enable --tunnel wg0 --endpoint 192.0.2.1:51820 --dns 10.64.0.1 2>/dev/null
good_rules=$(rule_count)
exclusion_cgroup() { grep -q . <(find /sys/fs/cgroup -maxdepth 2 -type d -name "$KILLSWITCH_CGROUP_NAME"); }
had_cgroup=0
! exclusion_cgroup || had_cgroup=1
# nsenter execs in place, so $! is watch itself
nsenter --net="/run/netns/$NS" "$KS" watch 2>"$RUN/watch.log" &
WATCH_PID=$!
ms_until grep -q guarding "$RUN/watch.log" >/dev/null

inns nft flush ruleset
ms=$(ms_until table_whole) && check "restored after 'nft flush ruleset' (${ms} ms)" true || check "restored after 'nft flush ruleset'" false
inns nft delete table inet killswitch
ms=$(ms_until table_whole) && check "restored after 'nft delete table' (${ms} ms)" true || check "restored after 'nft delete table'" false
rules_back() { test "$(rule_count)" = "$good_rules"; }
no_intruder() { ! inns nft list set inet killswitch endpoints4 | grep -q 203.0.113.9; }
inns nft add rule inet killswitch output accept
check "a rule added by someone else is removed" ms_until rules_back
inns nft add element inet killswitch endpoints4 '{ 203.0.113.9 . udp . 53 }'
check "an element added by someone else is removed" ms_until no_intruder
inns nft 'add chain inet killswitch output { type filter hook output priority 0; policy accept; }'
check "a policy flipped to accept is put back" ms_until table_whole
# A process is known by its name in nftables' events, and any process may take ours: nft itself,
# copied under the name killswitch, is checked, not trusted.
mkdir -p "$RUN/impostor" && cp "$(command -v nft)" "$RUN/impostor/killswitch"
inns "$RUN/impostor/killswitch" delete table inet killswitch
check "a table deleted by another process named killswitch is restored" ms_until table_whole
inns "$RUN/impostor/killswitch" add rule inet killswitch output accept
check "  ... and a rule it added is removed" ms_until rules_back

ks block --endpoint 192.0.2.1:51820 2>/dev/null
sleep 0.5
check "killswitch's own block is followed, not reverted" grep -q '"state": "blocked"' <(ks status --json)
check "blocked table stays without tunnel accept" bash -c "! ip netns exec $NS nft list chain inet killswitch output | grep -q 'oifname @tunnels accept'"
inns nft flush ruleset
check "restored again after a flush" ms_until table_whole
check "the blocked policy is what comes back" bash -c "! ip netns exec $NS nft list chain inet killswitch output | grep -q 'oifname @tunnels accept'"
# restore under watch changes the guard too: it used to change the table alone (watch follows
# killswitch's own commits), leaving the guard on the policy before
guard_has() { grep -q "$1" <(inns nft list set inet killswitch_guard endpoints4); }
not() { ! "$@"; }
ks enable --tunnel wg0 --endpoint 192.0.2.7:51820 --persist 2>/dev/null
ks enable --tunnel wg0 --endpoint 192.0.2.8:51820 2>/dev/null
ks restore 2>/dev/null
check "restore under watch: the guard holds the persisted endpoint" guard_has 192.0.2.7
check "  ... and no longer the endpoint before it" not guard_has 192.0.2.8
# A command in another network namespace that shares the run directory (ip netns exec keeps /run)
# applies in its own: its text used to run in watch's namespace, changing watch's table and
# leaving its own without any
NS2=$NS-b
ip netns add "$NS2"
ip netns exec "$NS2" "$KS" enable --tunnel wg9 --endpoint 192.0.2.99:51820 2>/dev/null || true
check "enable in another namespace under the same run dir: its table is there" ip netns exec "$NS2" nft list table inet killswitch
check "  ... and watch's table is not changed by it" not grep -q wg9 <(inns nft list set inet killswitch tunnels)
ip netns del "$NS2"
NS2=
ks enable --tunnel wg0 --endpoint 192.0.2.7:51820 2>/dev/null
ks disable
sleep 0.5
check "killswitch disable is followed: no table" bash -c "! ip netns exec $NS nft list tables | grep -q killswitch"
check "watch is still running" kill -0 "$WATCH_PID"
if ((had_cgroup)); then
	check "disable removed the exclusion cgroup enable made" bash -c "! find /sys/fs/cgroup -maxdepth 2 -type d -name '$KILLSWITCH_CGROUP_NAME' | grep -q ."
	# a group that was there before enable (an admin's, split-tunnel's) is not killswitch's to remove
	ks enable --tunnel wg0 --endpoint 192.0.2.1:51820 2>/dev/null
	group=$(find /sys/fs/cgroup -maxdepth 2 -type d -name "$KILLSWITCH_CGROUP_NAME")
	ks disable
	mkdir "$group"
	ks enable --tunnel wg0 --endpoint 192.0.2.1:51820 2>/dev/null
	ks disable
	check "disable leaves an exclusion cgroup that was there before enable" test -d "$group"
	rmdir "$group"
else
	echo "# no exclusion cgroup was made here (no usable cgroup mechanism): its removal is not checked"
fi
check "each restore was logged" test "$(grep -c restored "$RUN/watch.log")" -ge 5
# A root client that sends its request (its header) a byte every 3 s (each recv() within watch's 5 s timeout)
# holds watch away from the nftables events no longer than 5 s in all: a flush meanwhile is
# repaired within 8 s (it used to wait for the whole trickle, 15 s here)
if command -v python3 >/dev/null; then
	ks enable --tunnel wg0 --endpoint 192.0.2.1:51820 2>/dev/null
	python3 - "$KILLSWITCH_RUNDIR/watch.sock" <<'PY' &
import socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
header = struct.pack("=IIII", 0x4b535732, 2, 100, 0)
for i in range(5):
    try:
        s.send(header[i:i + 1])
    except OSError:
        break
    time.sleep(3)
PY
	trickle_pid=$!
	sleep 0.5
	inns nft flush ruleset
	check "a client trickling its request holds watch 5 s at most: table back within 8 s" wait_for 8 table_whole
	kill "$trickle_pid" 2>/dev/null || true
	wait "$trickle_pid" 2>/dev/null || true
else
	echo "# no python3: a trickling client is not checked"
fi
# Two watches started at once: the first probes the socket (nothing answers) and replaces the
# socket file later (strace holds its unlink 1.5 s); the second starts meanwhile. Exactly one may
# be left, and the commands must reach the one that owns the guard (the other used to stay with
# the guard, its socket file replaced: commands missed the guard, disable failed with EPERM).
if command -v strace >/dev/null; then
	kill "$WATCH_PID"
	wait "$WATCH_PID" 2>/dev/null || true
	WATCH_PID=
	ks enable --tunnel wg0 --endpoint 192.0.2.1:51820 2>/dev/null
	nsenter --net="/run/netns/$NS" strace -f -o "$RUN/strace.out" -e trace=unlink \
		-e inject=unlink:delay_enter=1500000 "$KS" watch 2>"$RUN/watch-a.log" &
	TRACER_PID=$!
	wait_for 10 grep -q 'unlink(.*watch.sock' "$RUN/strace.out" || true
	nsenter --net="/run/netns/$NS" "$KS" watch 2>"$RUN/watch-b.log" &
	WATCH_PID=$!
	sleep 3
	WATCH_A=$(pgrep -P "$TRACER_PID" || true)
	left=0
	for pid in $WATCH_A $WATCH_PID; do if kill -0 "$pid" 2>/dev/null; then left=$((left + 1)); fi; done
	check "two watches started at once: one is left" test "$left" = 1
	ks endpoint add 192.0.2.9:51820 2>/dev/null
	check "  ... and endpoint add reaches its guard" guard_has 192.0.2.9
	check "  ... and disable removes both tables" ks disable
	ks enable --tunnel wg0 --endpoint 192.0.2.1:51820 2>/dev/null
	for pid in $WATCH_A $WATCH_PID $TRACER_PID; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	# watch gone between a command's link and its change (strace holds the second connect): the
	# change goes to the table alone; its text named the guard, gone with watch, and failed whole
	nsenter --net="/run/netns/$NS" "$KS" watch 2>"$RUN/watch-c.log" &
	WATCH_PID=$!
	wait_for 10 grep -q guarding "$RUN/watch-c.log" || true
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 nsenter --net="/run/netns/$NS" strace -f -o "$RUN/strace-cmd.out" -e trace=connect \
		-e inject=connect:delay_enter=1500000:when=2 "$KS" endpoint add 192.0.2.10:51820 2>/dev/null &
	cmd_pid=$!
	wait_for 10 grep -q 'connect(.*watch.sock.*= 0' "$RUN/strace-cmd.out" || true
	kill "$WATCH_PID"
	wait "$WATCH_PID" 2>/dev/null || true
	cmd_rc=0
	wait "$cmd_pid" || cmd_rc=$?
	check "endpoint add with watch gone before its change succeeds" test "$cmd_rc" = 0
	check "  ... in the table" bash -c "ip netns exec $NS nft list set inet killswitch endpoints4 | grep -q 192.0.2.10"
	ks disable 2>/dev/null
	wait 2>/dev/null || true
	WATCH_PID=
else
	echo "# no strace: two watches started at once are not checked"
fi
# A listener of another user at watch's socket path (a run directory it can write to) answers
# every request "done": commands must not believe it (it used to take enable's text and say it
# was applied, the table unchanged)
if command -v python3 >/dev/null; then
	rm -f "$KILLSWITCH_RUNDIR/watch.sock"
	nsenter --net="/run/netns/$NS" python3 - "$KILLSWITCH_RUNDIR/watch.sock" <<'PY' &
import os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
os.setresuid(65534, 65534, 65534)  # the listener's credentials are taken at listen()
s.listen(4)
netns = os.stat("/proc/self/ns/net").st_ino
while True:
    c, _ = s.accept()
    head = c.recv(16)
    magic = struct.unpack("=I", head[:4])[0]
    c.settimeout(0.5)
    try:
        while c.recv(65536):
            pass
    except OSError:
        pass
    c.sendall(struct.pack("=IiIIQ", magic, 0, 4242, 0, netns) + bytes(512))
    c.close()
PY
	imposter_pid=$!
	wait_for 5 test -S "$KILLSWITCH_RUNDIR/watch.sock" || true
	ks enable --tunnel wg0 --endpoint 192.0.2.55:51820 2>/dev/null || true
	check "a listener that is not root at watch's socket is not believed: enable applied" \
		grep -q 192.0.2.55 <(inns nft list set inet killswitch endpoints4)
	kill "$imposter_pid" 2>/dev/null || true
	wait "$imposter_pid" 2>/dev/null || true
	ks disable 2>/dev/null || true
fi
# watch starting while a command holds the lock (a slow one, or one stuck in libnftables' cache
# loop): the guard is in place from the stored policy at once, the table comes back once the lock
# is free
ks enable --tunnel wg0 --endpoint 192.0.2.1:51820 --dns 10.64.0.1 2>/dev/null
if [ -n "$WATCH_PID" ]; then
	kill "$WATCH_PID" 2>/dev/null || true
	wait "$WATCH_PID" 2>/dev/null || true
	WATCH_PID=
fi
inns nft delete table inet killswitch
flock "$KILLSWITCH_RUNDIR/lock" sleep 3 &
holder=$!
sleep 0.3
nsenter --net="/run/netns/$NS" "$KS" watch 2>"$RUN/watch-locked.log" &
WATCH_PID=$!
guard_there() { inns nft list table inet killswitch_guard >/dev/null 2>&1; }
check "watch started under a held lock puts the guard in place before the lock is free" ms_until guard_there
check "  ... while the table waits for the lock" bash -c "! ip netns exec $NS nft list table inet killswitch >/dev/null 2>&1"
wait "$holder" || true
check "  ... and the table is back once the lock is free" ms_until table_whole
kill "$WATCH_PID" 2>/dev/null || true
wait "$WATCH_PID" 2>/dev/null || true
WATCH_PID=
ks disable 2>/dev/null || true
echo "--- watch log"; cat "$RUN/watch.log"
finish
