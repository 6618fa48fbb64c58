#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The guard `killswitch watch` holds (docs/security.md, "The guard"): a second table, created with
# nftables' owner flag by watch's netlink socket, with the table's filter verdicts. Asserted, in
# the live lab:
#  - no other process can delete or loosen the guard, and `nft flush ruleset` leaves it;
#  - with the table gone and watch unable to restore it (stopped), the guard alone refuses an
#    off-tunnel flood (control: without either table the same flood leaks);
#  - a change made while watch runs (enable, block, endpoint add|del) is in force in both tables
#    when the command returns: a newly added endpoint's first handshake gets through (WireGuard
#    retries only after 5 s; we wait 3), a deleted one's does not (control: an endpoint allowed
#    by the table alone, watch stopped, is dropped by the guard);
#  - commands and third-party flushes at once neither deadlock nor leave the tables apart;
#  - watch killed (SIGKILL): the guard goes, the table stays and refuses the flood; a new watch
#    takes the guard back; disable removes both;
#  - watch's socket: run dir 0700, socket 0600, and a process that is not root is refused even
#    when it can reach the socket.
# Measured: how long a change takes with watch (through its socket) and without.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

lab_init guard
lab_require setpriv
# shellcheck disable=SC2317 # the EXIT trap
guard_teardown() {
	local rc=$?
	watch_stop
	(exit "$rc")
	lab_teardown
}
trap guard_teardown EXIT
lab_up
table_header

# An endpoint nothing answers at, for a policy that does not allow the lab's VPN server.
OTHER_EP=203.0.113.99:51820
ks_enable_other() { ks_quiet enable --tunnel "$WGC" --endpoint "$OTHER_EP" --dns "$KS_DNS"; }
guard_has_endpoint() { [[ $(inc nft list set inet $GUARD endpoints4) == *"$EP4 . udp . $EP_PORT"* ]]; }
guard_says() { [[ $(inc nft list table inet $GUARD) == *"comment \"killswitch guard: $1\""* ]]; }
quiet_flood() { flood_start 2; sleep 1.5; flood_stop; }

# ---- the guard resists third parties ---------------------------------------------------------

ks_enable || die "enable failed"
watch_start watch.log
check "watch holds the guard (flags owner)" "enabled, watch" owned guard_owned
check "nft delete table inet $GUARD is refused" "enabled, watch" refused not inc nft delete table inet $GUARD
check "nft insert rule inet $GUARD output accept is refused" "enabled, watch" refused \
	not inc nft insert rule inet $GUARD output accept
flush_keeps_guard() {
	inc nft flush ruleset
	guard_owned && wait_for 5 ks_table_present
}
check "nft flush ruleset leaves the guard (and watch restores the table)" "enabled, watch" kept flush_keeps_guard

# The guard alone: watch stopped (it keeps its socket, so the guard stays) and the table deleted.
kill -STOP "$WATCH_PID"
inc nft delete table inet killswitch
run_probe "UDP flood off the tunnel, table deleted, guard alone" "guard only (watch stopped)" blocked phys quiet_flood
kill -CONT "$WATCH_PID"
check "watch, continued, restores the table" "enabled, watch" restored wait_for 5 ks_table_present

# ---- changes made under watch hold in both tables when the command returns --------------------

ks_enable_other || die "enable with another endpoint failed"
check "enable under watch: the guard no longer allows $ENDPOINT" "enabled, watch" changed not guard_has_endpoint
check "  ... so a handshake with $ENDPOINT fails" "enabled, watch" dropped handshake_fails 3
# The control: the table alone allowing the endpoint (watch stopped, so it cannot undo it) is not
# enough, because the guard drops the handshake. An endpoint change that missed the guard would
# look like this.
kill -STOP "$WATCH_PID"
inc nft add element inet killswitch endpoints4 "{ $EP4 . udp . $EP_PORT }"
inc nft add element inet killswitch endpoint_addrs4 "{ $EP4 }"
check_control "handshake allowed by the table alone: the guard drops it" "table only (watch stopped)" dropped \
	handshake_fails 3
inc nft delete element inet killswitch endpoints4 "{ $EP4 . udp . $EP_PORT }"
inc nft delete element inet killswitch endpoint_addrs4 "{ $EP4 }"
kill -CONT "$WATCH_PID"

t0=${EPOCHREALTIME/./}
ks_quiet endpoint add "$ENDPOINT" || die "endpoint add failed"
ADD_MS=$(((${EPOCHREALTIME/./} - t0) / 1000))
check "endpoint add under watch: in the guard's set when it returns" "enabled, watch" added guard_has_endpoint
check "  ... and the new endpoint's first handshake gets through (< 3 s)" "enabled, watch" handshake \
	handshake_completes 3
ks_quiet endpoint del "$ENDPOINT" || die "endpoint del failed"
check "endpoint del under watch: out of the guard's set" "enabled, watch" deleted not guard_has_endpoint
check "  ... and its handshake fails" "enabled, watch" dropped handshake_fails 3
t0=${EPOCHREALTIME/./}
ks_enable || die "enable failed"
ENABLE_MS=$(((${EPOCHREALTIME/./} - t0) / 1000))
check "enable under watch: the endpoint's handshake gets through (< 3 s)" "enabled, watch" handshake \
	handshake_completes 3
ks_block || die "block failed"
check "block under watch: the guard is blocked too" "blocked, watch" blocked guard_says blocked
check "  ... and the handshake fails" "blocked, watch" dropped handshake_fails 3
ks_connecting || die "block --endpoint failed"
check "block --endpoint under watch: the handshake gets through (< 3 s)" "connecting, watch" handshake \
	handshake_completes 3
ks_enable || die "enable failed"

# ---- commands and third-party flushes at the same time -------------------------------------

race() {
	local i end=$((SECONDS + 4)) fails=0
	(while ((SECONDS < end)); do inc nft flush ruleset; sleep 0.05; done) &
	local flusher=$!
	for ((i = 0; SECONDS < end; i++)); do
		ks_quiet endpoint add 203.0.113.50:$((1000 + i)) || fails=$((fails + 1))
		ks_quiet endpoint del 203.0.113.50:$((1000 + i)) || fails=$((fails + 1))
	done
	wait "$flusher"
	log "race: $i add/del pairs against flushes every 50 ms, $fails failed"
	((fails == 0)) && kill -0 "$WATCH_PID" && wait_for 5 ks_table_present && guard_owned &&
		[[ $(ks status --json | grep -c '"complete": true') -ge 1 ]]
}
check "endpoint add|del against nft flush ruleset every 50 ms (4 s): all done, tables whole" \
	"enabled, watch" whole race
check "  ... and the tunnel works" "enabled, watch" handshake handshake_completes 3

# ---- watch killed ----------------------------------------------------------------------------

kill -KILL "$WATCH_PID"
wait "$WATCH_PID" 2>/dev/null || true
WATCH_PID=
check "watch killed: the guard goes with its socket" "enabled, watch killed" gone not guard_present
check "  ... the table stays" "enabled, watch killed" kept ks_table_present
run_probe "UDP flood off the tunnel after watch was killed" "enabled, watch killed" blocked phys quiet_flood
# The control of the flood probes above: neither the table nor the guard, and the same flood leaks.
inc nft delete table inet killswitch
run_probe "UDP flood off the tunnel, neither table" "no table, no guard (control)" leak phys quiet_flood
ks_enable || die "enable failed"
watch_start watch-again.log
check "a new watch takes the guard back" "enabled, watch" owned guard_owned
check "  ... with the policy's endpoint" "enabled, watch" endpoint guard_has_endpoint

# ---- watch's socket ------------------------------------------------------------------------

mode_of() { stat -c %a "$1"; }
check "run dir 0700, watch's socket 0600" "enabled, watch" modes \
	test "$(mode_of "$LAB_TMP/run")/$(mode_of "$LAB_TMP/run/watch.sock")" = 700/600
# A process that is not root, let through the modes, connects: its PING request gets no answer
# (exit 0; 1 if it got one, 2 if it could not even connect, which would prove nothing).
unanswered_as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$PYTHON" -S -c '
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(3)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("cannot connect:", e)
    sys.exit(2)
try:
    s.sendall(struct.pack("=IIII", 0x4b535731, 1, 0, 0))
    sys.exit(1 if s.recv(16) else 0)
except (ConnectionResetError, BrokenPipeError, TimeoutError):
    sys.exit(0)' "$LAB_TMP/run/watch.sock"
}
chmod o+x "$LAB_TMP"
chmod 0755 "$LAB_TMP/run"
chmod 0666 "$LAB_TMP/run/watch.sock"
check "a process that is not root, let through to the socket, gets no answer" "enabled, watch" refused \
	unanswered_as_nobody
check "  ... and watch says so" "enabled, watch" logged wait_for 3 grep -q 'not root' "$WATCH_LOG"
chmod o-x "$LAB_TMP"
chmod 0700 "$LAB_TMP/run"
chmod 0600 "$LAB_TMP/run/watch.sock"

# ---- disable under watch; timings with and without it ---------------------------------------

ks_disable || die "disable failed"
tables_gone() { ! ks_table_present && ! guard_present; }
check "disable under watch removes the table and the guard" "disabled, watch" gone tables_gone
check "  ... and watch runs on" "disabled, watch" running kill -0 "$WATCH_PID"
ks_enable || die "enable failed"
check "enable under watch after disable: the guard is back" "enabled, watch" owned guard_owned
watch_stop
t0=${EPOCHREALTIME/./}
ks_quiet endpoint add "$OTHER_EP" || die "endpoint add failed"
ADD_NOWATCH_MS=$(((${EPOCHREALTIME/./} - t0) / 1000))
t0=${EPOCHREALTIME/./}
ks_enable || die "enable failed"
ENABLE_NOWATCH_MS=$(((${EPOCHREALTIME/./} - t0) / 1000))
log "a change under watch (through its socket, both tables) / without watch (the table only), whole command:"
log "  endpoint add: ${ADD_MS} ms / ${ADD_NOWATCH_MS} ms; enable: ${ENABLE_MS} ms / ${ENABLE_NOWATCH_MS} ms"
printf 'guard: endpoint_add_ms=%s/%s enable_ms=%s/%s\n' "$ADD_MS" "$ADD_NOWATCH_MS" "$ENABLE_MS" \
	"$ENABLE_NOWATCH_MS" >&2
lab_finish
