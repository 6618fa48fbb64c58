# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Sourced by the test scripts under tests/ (apply, integrations, e2e and split through the lab's
# lib.sh, bench): the messages, the skips and the polling they all wrote for themselves.
#
#   log MSG...               "# MSG" on stderr
#   die MSG...               "FATAL: MSG" on stderr; exit 1
#   skip MSG...              "SKIP: MSG" on stdout; exit 77 (the tests' SKIP_RETURN_CODE; bench/run.sh
#                            and e2e/run.sh read the reason from that line)
#   need_root MSG...         skip MSG unless running as root
#   need_tools WHO TOOL...   skip "WHO needs TOOL" for the first TOOL not on PATH
#   wait_for SECONDS CMD...  run CMD (output discarded) every 50 ms until it succeeds; 1 when SECONDS
#                            pass first
#   now_us                   the wall clock bash keeps ($EPOCHREALTIME), in microseconds

log() { printf '# %s\n' "$*" >&2; }
die() {
	printf 'FATAL: %s\n' "$*" >&2
	exit 1
}
skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}

need_root() { [[ $(id -u) == 0 ]] || skip "$@"; }
need_tools() {
	local who=$1 tool
	shift
	for tool; do
		command -v "$tool" >/dev/null || skip "$who needs $tool"
	done
}

wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < end)) || return 1
		sleep 0.05
	done
}

now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
