#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Figure 1, the packet path: packets per second of small UDP packets (iperf3, 64-byte payloads,
# unlimited rate) through a WireGuard tunnel (wireguard-go in two namespaces joined by a veth),
# counted by the receiving iperf3 on the far side, with the kill switch enabled on the sender
# (1, 1,000 and 10,000 endpoints, plus --allow-lan, 1,000 --lan ranges and 64 resolvers),
# divided by the packets per second of the same path with no firewall at all.
#
# Side by side in the strict sense: two identical paths, A and B, run at the same time, one with
# the table and one without, so whatever else the machine does in that second hits both; then
# the roles swap. A round's ratio is the geometric mean of the two (which cancels any difference
# between the paths themselves). The two compete for the CPU on equal terms, so the ratio is how
# much less the firewalled path gets through for the same CPU: its cost per packet. Medians and
# the spread over the rounds.
#
# With watch's guard (guard-N): the table and the guard, the filter chains twice, against the bare
# path like the others; its cost is the ratio next to ks-N's.
#
# Beside the rate, the CPU time the sender side spends per packet (iperf3's own CPU from its JSON,
# plus wireguard-go's from /proc, over the packets that reached the server), firewalled over bare:
# the cost per packet, less dependent than the rate on who else gets the CPU.
#
# The conntrack-only host (ct-only): a table whose only rule is `ct state established accept` in
# an output chain, what any stateful firewall costs, as a floor for ours.
#
# The reference, Mullvad's layout (ref-N): its order, as the design notes learned it (loopback,
# DHCP/NDP, the endpoint exemptions, DNS, the tunnel, the LAN, reject: no fast lane, the endpoints
# after DHCP/NDP), with our table's rules, and the endpoint exemptions as one rule per endpoint
# (`ip daddr X udp dport P meta mark M accept` in output, its reply twin in input), the tunnel's
# endpoint in the middle of the list.
# rules-N: our own table and order, with the same rule per endpoint instead of the set lookups:
# what a set costs against a comparison at a given size.
#
# The base: what the other path holds while one path holds a configuration; none (bare) unless
# KS_BENCH_PKT_BASE=ct-only, which measures every configuration head to head against the
# conntrack-only host (and the bare host against it too, as the configuration `none`): issue 15's
# goal is a cost per packet within 3% of that host's, which the two ratios of separate rounds
# against the bare path cannot resolve.
#
# KS_BENCH_PKT_TCP=1: TCP bulk (iperf3's default, one stream) instead of 64-byte UDP; the rate is
# the receiver's Mbit/s and the CPU figure the sender side's per megabyte delivered.
#
# Usage: packet_path.sh KILLSWITCH [ROUNDS] [SECONDS]   (root; a Release build)
# KS_BENCH_PKT_SIZES, _REF_SIZES, _RULES_SIZES, _GUARD_SIZES, _STATELESS_SIZES: the sizes of each configuration;
# KS_BENCH_PKT_CT_ONLY=0 leaves the conntrack-only host out; KS_BENCH_PKT_BASE=ct-only (above).
# KS_BENCH_BEFORE=OLD_KILLSWITCH adds OLD's table at the same sizes to the rounds (before/after).
# KS_BENCH_PERF=0 skips the profiles (perf record of the sender side, by kernel function; the cost
# per packet of each configuration over the base's, from netfilter's share of the CPU);
# KS_BENCH_PROF_ROUNDS: how many times each configuration is profiled (default 3).
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
source "$BENCH_DIR/lib.sh"

KS=$(readlink -f "${1:?usage: packet_path.sh KILLSWITCH [ROUNDS] [SECONDS]}")
ROUNDS=${2:-6}
SECS=${3:-2}
read -r -a SIZES <<<"${KS_BENCH_PKT_SIZES:-1 1000 10000}"
read -r -a REF_SIZES <<<"${KS_BENCH_PKT_REF_SIZES:-10000}"
read -r -a GUARD_SIZES <<<"${KS_BENCH_PKT_GUARD_SIZES:-10000}"
read -r -a RULES_SIZES <<<"${KS_BENCH_PKT_RULES_SIZES:-}"
CT_ONLY=${KS_BENCH_PKT_CT_ONLY:-1} # 0 leaves the conntrack-only host out
# stateless-N: what a kill switch without connection tracking would cost, measured, not proposed:
# the compiled table with every ct expression taken out (the endpoint replies and DHCP's accepted
# statelessly, the related and portal rules gone), so that nothing in the namespace loads
# conntrack. Less safe (any packet from an endpoint's address and port would reach every local
# port; docs/performance.md); the figure for issue 15's goal 4 against a bare host. Off unless sizes
# are given.
read -r -a STATELESS_SIZES <<<"${KS_BENCH_PKT_STATELESS_SIZES:-}"
BASE=${KS_BENCH_PKT_BASE:-none}
[[ $BASE == none || $BASE == ct-only ]] || die "KS_BENCH_PKT_BASE: none or ct-only: '$BASE'"
TCP=${KS_BENCH_PKT_TCP:-0}
BEFORE=${KS_BENCH_BEFORE:+$(readlink -f "$KS_BENCH_BEFORE")}

bench_need_root packet_path.sh
need_tools packet_path.sh iperf3 wireguard-go wg nft ip python3
[[ -c /dev/net/tun ]] || skip "packet_path.sh needs /dev/net/tun"

ID=$(printf '%04x' $((($$ ^ RANDOM) & 0xffff)))
TMP=$(mktemp -d /tmp/ks-bench-pkt.XXXXXX)
RUNDIR=$(bench_rundir)
# Split tunnelling would make an exclusion cgroup on this host: not what is measured here.
export KILLSWITCH_SPLIT_TUNNEL=off
MARK=0xca6c
PATHS=(a b)

# Per path: client ns (the kill switch) --veth-- server ns; WireGuard over the veth.
nsc() { echo "ksb-$ID-$1c"; }
nss() { echo "ksb-$ID-$1s"; }
wgc() { echo "ksb$ID$1c"; }
wgs() { echo "ksb$ID$1s"; }
net() { [[ $1 == a ]] && echo 1 || echo 2; }
endpoint() { echo "10.200.$(net "$1").2:51820"; }

cleanup() {
	local p ns pids
	set +e
	for p in "${PATHS[@]}"; do
		for ns in "$(nsc "$p")" "$(nss "$p")"; do
			[[ -e /run/netns/$ns ]] || continue
			pids=$(ip netns pids "$ns" 2>/dev/null)
			# shellcheck disable=SC2086 # every process in these namespaces is ours
			[[ -z $pids ]] || kill $pids 2>/dev/null
		done
	done
	sleep 0.3
	for p in "${PATHS[@]}"; do
		ip -n "$(nsc "$p")" link del "$(wgc "$p")" 2>/dev/null
		ip -n "$(nss "$p")" link del "$(wgs "$p")" 2>/dev/null
		ip netns del "$(nsc "$p")" 2>/dev/null
		ip netns del "$(nss "$p")" 2>/dev/null
		rm -f "/var/run/wireguard/$(wgc "$p").sock" "/var/run/wireguard/$(wgs "$p").sock"
	done
	rm -rf "$TMP" "$RUNDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

inc() { local p=$1; shift; KILLSWITCH_RUNDIR=$RUNDIR/$p ip netns exec "$(nsc "$p")" "$@"; }
ins() { local p=$1; shift; ip netns exec "$(nss "$p")" "$@"; }
start_wg() { # NS IFNAME
	ip netns exec "$1" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error wireguard-go "$2" >"$TMP/$2.log" 2>&1 &
	wait_for 10 test -S "/var/run/wireguard/$2.sock" || die "wireguard-go $2 did not start"
}

make_path() { # a | b
	local p=$1 n c s
	n=$(net "$p") c=$(nsc "$p") s=$(nss "$p")
	for ns in "$c" "$s"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
	mkdir -m 0700 "$RUNDIR/$p"
	ip link add "c$n" netns "$c" type veth peer name "s$n" netns "$s"
	inc "$p" ip addr add "10.200.$n.1/24" dev "c$n"
	ins "$p" ip addr add "10.200.$n.2/24" dev "s$n"
	inc "$p" ip link set "c$n" up
	ins "$p" ip link set "s$n" up
	umask 077
	wg genkey >"$TMP/$p-c.key"
	wg genkey >"$TMP/$p-s.key"
	umask 022
	start_wg "$s" "$(wgs "$p")"
	start_wg "$c" "$(wgc "$p")"
	ins "$p" wg set "$(wgs "$p")" private-key "$TMP/$p-s.key" listen-port 51820 \
		peer "$(wg pubkey <"$TMP/$p-c.key")" allowed-ips "10.201.$n.1/32"
	inc "$p" wg set "$(wgc "$p")" private-key "$TMP/$p-c.key" fwmark $MARK \
		peer "$(wg pubkey <"$TMP/$p-s.key")" endpoint "$(endpoint "$p")" allowed-ips "10.201.$n.2/32" persistent-keepalive 25
	ins "$p" ip addr add "10.201.$n.2/32" dev "$(wgs "$p")"
	inc "$p" ip addr add "10.201.$n.1/32" dev "$(wgc "$p")"
	ins "$p" ip link set "$(wgs "$p")" up
	inc "$p" ip link set "$(wgc "$p")" up
	ins "$p" ip route add "10.201.$n.1/32" dev "$(wgs "$p")"
	inc "$p" ip route add "10.201.$n.2/32" dev "$(wgc "$p")"
	ins "$p" iperf3 -s -B "10.201.$n.2" >"$TMP/iperf3-server-$p.log" 2>&1 &
	wait_for 10 inc "$p" ping -c 1 -W 1 "10.201.$n.2" || die "no traffic through tunnel $p"
}
for p in "${PATHS[@]}"; do make_path "$p"; done

# ---- the configurations --------------------------------------------------------------------
# Endpoints: the tunnel's own, among N-1 others in 198.18.0.0/15 (the benchmarking range).
python3 - "$TMP" "${SIZES[@]}" "${REF_SIZES[@]}" "${RULES_SIZES[@]}" <<'PY'
import sys
tmp = sys.argv[1]
for path, net in (("a", 1), ("b", 2)):
    ep = f"10.200.{net}.2:51820"
    for n in sorted({int(a) for a in sys.argv[2:]}):
        others = [f"198.{18 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}:{51820 + i % 3}" for i in range(n - 1)]
        # In the middle: one-rule-per-endpoint pays half the list on average for it.
        eps = others[: len(others) // 2] + [ep] + others[len(others) // 2 :]
        open(f"{tmp}/eps-{path}-{n}", "w").write("\n".join(eps) + "\n")
with open(f"{tmp}/extra.args", "w") as f:
    for i in range(1000):  # /24s with gaps between them, so auto-merge keeps 1,000 ranges
        f.write(f"--lan\n100.{64 + i // 128}.{(i % 128) * 2}.0/24\n")
    for i in range(64):
        f.write(f"--dns\n10.64.{i // 250}.{1 + i % 250}\n")
PY
mapfile -t EXTRA <"$TMP/extra.args"
policy() { echo --tunnel "$(wgc "$1")" --endpoints-file "$TMP/eps-$1-$2" --allow-lan "${EXTRA[@]}"; }
# The transaction enable would apply on PATH at SIZE endpoints, for the layouts made from it.
# shellcheck disable=SC2046 # policy prints words
transaction() { printf 'table inet killswitch\ndelete table inet killswitch\n'; "$KS" compile $(policy "$1" "$2"); }

# ref-N (Mullvad's order) and rules-N (ours): the endpoint set lookups replaced by a rule per endpoint.
for p in "${PATHS[@]}"; do
	for kind in ref rules; do
		[[ $kind == ref ]] && sizes=("${REF_SIZES[@]}") || sizes=("${RULES_SIZES[@]}")
		for n in "${sizes[@]}"; do
			transaction "$p" "$n" >"$TMP/ks-$p-$n.nft"
			python3 - "$TMP/ks-$p-$n.nft" "$TMP/eps-$p-$n" "$MARK" "$kind" >"$TMP/$kind-$p-$n.nft" <<'PY'
import sys
text, eps, mark, kind = open(sys.argv[1]).read().splitlines(), open(sys.argv[2]).read().split(), sys.argv[3], sys.argv[4]
pairs = [e.rsplit(":", 1) for e in eps]
out_set = f"meta mark {mark} ip daddr . meta l4proto . th dport @endpoints4 accept"
in_set = "ip saddr . meta l4proto . th sport @endpoints4 ct state established accept"
out_rules = [f"\t\tip daddr {a} udp dport {p} meta mark {mark} accept" for a, p in pairs]
in_rules = [f"\t\tip saddr {a} udp sport {p} ct state established accept" for a, p in pairs]
if kind == "ref":
    # Mullvad's order in output: loopback first, no fast lane, the endpoints after DHCP/NDP (and
    # after our fail-fast accepts, where ours used to be), before everything that refuses.
    start = text.index("\tchain output {")
    end = text.index("\t}", start)
    # Ours alone, which Mullvad's table does not have: the fast lane, the portal's goto, the
    # protected prefixes' rejects.
    ours = (" th dport != 853 accept", " goto portal", "daddr @protected")
    body = [l for l in text[start + 2 : end] if l.strip() != out_set and not any(o in l for o in ours)]
    lo = [l for l in body if l.strip() == 'oifname "lo" accept']
    ep6 = [l for l in body if "@endpoints6 accept" in l]
    body = [l for l in body if l not in lo and l not in ep6]
    k = next(i for i, l in enumerate(body) if not l.endswith(" accept") or "@resolvers" in l)
    body = lo + body[:k] + out_rules + ep6 + body[k:]
    assert len(lo) == 1 and len(ep6) == 1, "loopback or the IPv6 endpoint exemption was not found"
    text[start + 2 : end] = body
for line in text:
    if line.strip() == out_set:
        print("\n".join(out_rules))
    elif line.strip() == in_set:
        print("\n".join(in_rules))
    else:
        print(line)
PY
			grep -q "udp dport 51820 meta mark" "$TMP/$kind-$p-$n.nft" || die "the $kind layout was not built"
		done
	done
done

# stateless-N: the compiled table without a ct expression.
for p in "${PATHS[@]}"; do
	for n in "${STATELESS_SIZES[@]}"; do
		transaction "$p" "$n" |
			python3 -c '
import re, sys
out = []
for line in sys.stdin.read().split("\n"):
    if re.search(r"\bct (state|mark|original|direction)\b", line) and " accept" in line and "ct state established accept" not in line:
        continue  # related, portal and forwarded-reply accepts: nothing to match without conntrack
    if re.search(r"\bct mark 0x[0-9a-f]+ iifname != @tunnels meta mark set\b", line):
        continue  # the portal replies'"'"' mark
    line = line.replace(" ct state established accept", " accept").replace("ct mark set 0x4b52 ", "")
    out.append(line)
text = "\n".join(out)
assert not re.search(r"\bct\b", text), [l for l in out if re.search(r"\bct\b", l)]
sys.stdout.write(text)' >"$TMP/stateless-$p-$n.nft" || die "the stateless layout was not built"
	done
done

# The guard (guard-N): killswitch watch runs in the client and holds inet killswitch_guard, the
# filter chains a second time, beside the table of ks-N.
declare -A WATCH=()
watch_start() { # PATH
	# Emptied here, not by the background job's redirection, which may come after the first poll:
	# the last round's "guarding" would then be read as this one's.
	: >"$TMP/watch-$1.log"
	KILLSWITCH_RUNDIR=$RUNDIR/$1 ip netns exec "$(nsc "$1")" "$KS" watch 2>"$TMP/watch-$1.log" &
	WATCH[$1]=$!
	wait_for 10 grep -q guarding "$TMP/watch-$1.log" || { cat "$TMP/watch-$1.log" >&2; die "watch did not start"; }
}
watch_stop() { # PATH
	[[ -n ${WATCH[$1]:-} ]] || return 0
	kill "${WATCH[$1]}" 2>/dev/null || true
	wait "${WATCH[$1]}" 2>/dev/null || true
	WATCH[$1]=
}

# shellcheck disable=SC2046 # policy prints words
apply_config() { # PATH none | ct-only | ks-N | guard-N | ref-N | rules-N | stateless-N | before-N
	local p=$1
	# From whatever the path held (the base, with KS_BENCH_PKT_BASE, is not none).
	watch_stop "$p"
	inc "$p" "$KS" disable >/dev/null 2>&1 || true
	inc "$p" nft delete table inet ksbench_ct_only 2>/dev/null || true
	case $2 in
	none) ;;
	ct-only) inc "$p" nft -f - <<<'table inet ksbench_ct_only { chain output { type filter hook output priority 0; policy accept; ct state established accept; }; }' ;;
	ks-*) inc "$p" "$KS" enable $(policy "$p" "${2#ks-}") >/dev/null 2>&1 ;;
	guard-*)
		inc "$p" "$KS" enable $(policy "$p" "${2#guard-}") >/dev/null 2>&1
		watch_start "$p"
		inc "$p" nft list table inet killswitch_guard >/dev/null || { cat "$TMP/watch-$p.log" >&2; die "no guard"; }
		;;
	before-*) inc "$p" "$BEFORE" enable $(policy "$p" "${2#before-}") >/dev/null 2>&1 ;;
	ref-*) inc "$p" nft -f "$TMP/ref-$p-${2#ref-}.nft" ;;
	rules-*) inc "$p" nft -f "$TMP/rules-$p-${2#rules-}.nft" ;;
	stateless-*) inc "$p" nft -f "$TMP/stateless-$p-${2#stateless-}.nft" ;;
	esac
}

# The CPU time (clock ticks) wireguard-go of the client of path P has used so far.
wg_ticks() { # PATH
	local pid
	pid=$(pgrep -f "^wireguard-go $(wgc "$1")\$" | head -1)
	[[ -n $pid ]] && awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0
}
TICK=$(getconf CLK_TCK)

# Both paths at once: packets per second that reached each server, and the sender side's CPU
# microseconds per packet that did: "A_PPS B_PPS A_CPU B_CPU".
measure() {
	local p pids=() w0=() w1=()
	for p in "${PATHS[@]}"; do w0+=("$(wg_ticks "$p")"); done
	for p in "${PATHS[@]}"; do
		if ((TCP)); then
			inc "$p" iperf3 -c "10.201.$(net "$p").2" -t "$SECS" -J >"$TMP/iperf3-$p.json" 2>&1 &
		else
			inc "$p" iperf3 -c "10.201.$(net "$p").2" -u -b 0 -l 64 -t "$SECS" -J >"$TMP/iperf3-$p.json" 2>&1 &
		fi
		pids+=($!)
	done
	wait "${pids[@]}" || true
	for p in "${PATHS[@]}"; do w1+=("$(wg_ticks "$p")"); done
	local i=0 rates=() cpus=()
	for p in "${PATHS[@]}"; do
		read -r rate cpu < <(python3 - "$TMP/iperf3-$p.json" "$((w1[i] - w0[i]))" "$TICK" "$TCP" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))["end"]
    s = j["sum_received"] if sys.argv[4] == "1" else j["sum"]
    # iperf3's own CPU over the test, and wireguard-go's: the sender side of the path.
    cpu_s = j["cpu_utilization_percent"]["host_total"] / 100 * s["seconds"] + int(sys.argv[2]) / int(sys.argv[3])
    if sys.argv[4] == "1":  # TCP: Mbit/s received, CPU microseconds per megabyte
        got = s["bytes"] / 1e6
        print(f"{s['bits_per_second'] / 1e6:.2f} {cpu_s / got * 1e6 if got else 0:.4f}")
        sys.exit(0)
    got = s["packets"] - s["lost_packets"]
    # Per packet delivered: iperf3 sends more than a slow path carries (the rest is dropped at the
    # tunnel's queue, cheaply), so per packet sent would flatter the slowest layouts.
    print(f"{got / s['seconds']:.1f} {cpu_s / got * 1e6 if got else 0:.4f}")
except Exception:
    print("0 0")
PY
		)
		rates+=("$rate") cpus+=("$cpu")
		i=$((i + 1))
	done
	echo "${rates[*]} ${cpus[*]}"
}

CONFIGS=()
[[ $BASE == none ]] || CONFIGS+=(none)
((CT_ONLY)) && [[ $BASE != ct-only ]] && CONFIGS+=(ct-only)
for n in "${SIZES[@]}"; do CONFIGS+=("ks-$n"); done
for n in "${REF_SIZES[@]}"; do CONFIGS+=("ref-$n"); done
for n in "${RULES_SIZES[@]}"; do CONFIGS+=("rules-$n"); done
for n in "${GUARD_SIZES[@]}"; do CONFIGS+=("guard-$n"); done
for n in "${STATELESS_SIZES[@]}"; do CONFIGS+=("stateless-$n"); done
if [[ -n $BEFORE ]]; then
	for n in "${SIZES[@]}"; do CONFIGS+=("before-$n"); done
fi
measure >/dev/null # warm-up: the handshakes, the neighbours, the CPU frequency

printf '# %d rounds x %d configurations; two paths at once for %ss (%s), each configuration against the base (%s), then swapped\n' \
	"$ROUNDS" "${#CONFIGS[@]}" "$SECS" "$( ((TCP)) && echo "TCP bulk" || echo "64-byte UDP")" "$BASE"
for ((r = 0; r < ROUNDS; r++)); do
	printf '# round %d:' "$((r + 1))"
	for c in "${CONFIGS[@]}"; do
		apply_config a "$c"
		apply_config b "$BASE"
		read -r a1 b1 ca1 cb1 <<<"$(measure)"
		apply_config a "$BASE"
		apply_config b "$c"
		read -r a2 b2 ca2 cb2 <<<"$(measure)"
		echo "$a1 $b2" | tr ' ' '\n' >>"$TMP/pps-$c"
		echo "$b1 $a2" | tr ' ' '\n' >>"$TMP/pps-base"
		echo "$ca1 $cb2" | tr ' ' '\n' >>"$TMP/cpu-$c"
		echo "$cb1 $ca2" | tr ' ' '\n' >>"$TMP/cpu-base"
		# The geometric mean of with/without on A and with/without on B: the paths' own difference cancels.
		awk -v a1="$a1" -v b1="$b1" -v a2="$a2" -v b2="$b2" \
			'BEGIN {printf "%.4f\n", (b1 > 0 && a2 > 0) ? sqrt((a1 / b1) * (b2 / a2)) : 0}' >>"$TMP/ratio-$c"
		# CPU per packet, firewalled over bare, the same way.
		awk -v a1="$ca1" -v b1="$cb1" -v a2="$ca2" -v b2="$cb2" \
			'BEGIN {printf "%.4f\n", (b1 > 0 && a2 > 0) ? sqrt((a1 / b1) * (b2 / a2)) : 0}' >>"$TMP/cpuratio-$c"
		printf ' %s=%.3f/%.3f' "$c" "$(tail -1 "$TMP/ratio-$c")" "$(tail -1 "$TMP/cpuratio-$c")"
	done
	echo
done
for p in "${PATHS[@]}"; do apply_config "$p" none; done

# Where the sender's CPU time goes, the view of the same cost that the machine's load does not
# blur: perf samples of path A's sender side (iperf3's client and the client wireguard-go) while
# it carries the 64-byte flood, for each configuration and the base in turn, PROF_ROUNDS times.
# f: the share of the samples under nf_hook_slow (netfilter: every hook, the rules, conntrack,
# NAT). The rest of the work per packet is the same with any table, so a configuration's cost
# per packet over the base's is (1 - f_base) / (1 - f): one such ratio per profile round.
# TCP bulk: both ends of path A and the softirq threads, per megabyte. The ACKs come back through
# the client's prerouting and input, work the kernel does wherever the veth delivers them: in the
# server's wireguard-go as it sends, or in ksoftirqd. The sender side alone would not see it.
PROF_ROUNDS=${KS_BENCH_PROF_ROUNDS:-3}
profile_config() { # CONFIG: appends the shares to $TMP/prof-CONFIG
	local c=$1 client pids comm ns nss=("$(nsc a)")
	apply_config a "$c"
	if ((TCP)); then
		inc a iperf3 -c 10.201.1.2 -t $((SECS + 2)) -J >/dev/null 2>&1 &
		nss+=("$(nss a)")
	else
		inc a iperf3 -c 10.201.1.2 -u -b 0 -l 64 -t $((SECS + 2)) -J >/dev/null 2>&1 &
	fi
	client=$!
	sleep 1
	pids=$( {
		for ns in "${nss[@]}"; do
			for p in $(ip netns pids "$ns"); do
				comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
				[[ $comm == iperf3 || $comm == wireguard-go ]] && echo "$p"
			done
		done
		if ((TCP)); then pgrep '^ksoftirqd/'; fi
	} | paste -sd,)
	perf record -q -F 1999 -g -p "$pids" -o "$TMP/perf.data" -- sleep "$SECS" >/dev/null 2>&1 || true
	wait "$client" || true
	apply_config a none
	perf report -i "$TMP/perf.data" --children --sort sym --stdio >"$TMP/perf.txt" 2>/dev/null || true
	share() { awk -v f="$1" '$NF == f && $1 ~ /%$/ {sub("%", "", $1); v = $1; exit} END {print v + 0}' "$TMP/perf.txt"; }
	grep -q '%' "$TMP/perf.txt" || return 0
	echo "$(share nf_hook_slow) $(share nft_do_chain) $(share nf_conntrack_in) $(share nf_nat_inet_fn) $(share nf_route_table_inet)" >>"$TMP/prof-$c"
}
prof_shares() { # CONFIG: "netfilter X% of the sender's CPU (rules ..., ...)" from the medians over the rounds (TCP: both ends')
	local f="$TMP/prof-$1" i name
	local names=(netfilter rules conntrack "NAT hooks" "route chain") med=()
	[[ -s $f ]] || return 0
	for i in 1 2 3 4 5; do
		awk -v k=$i '{print $k}' "$f" >"$f.col"
		med+=("$(fmt "$(median "$f.col")" 2)")
	done
	printf '%s %s%% of %s CPU (' "${names[0]}" "${med[0]}" "$( ((TCP)) && echo "both ends'" || echo "the sender's")"
	for i in 1 2 3 4; do
		name=${names[i]}
		printf '%s %s%%%s' "$name" "${med[i]}" "$( ((i < 4)) && echo ", ")"
	done
	printf ')'
}
PROF_CONFIGS=("$BASE" "${CONFIGS[@]}")
if [[ ${KS_BENCH_PERF:-1} != 0 ]] && ((PROF_ROUNDS > 0)) && command -v perf >/dev/null; then
	printf '# profiles: %d rounds x %d configurations\n' "$PROF_ROUNDS" "${#PROF_CONFIGS[@]}"
	for ((r = 0; r < PROF_ROUNDS; r++)); do
		for c in "${PROF_CONFIGS[@]}"; do profile_config "$c"; done
		# This round's cost per packet of each configuration over the base's.
		b=$(tail -1 "$TMP/prof-$BASE" 2>/dev/null | awk '{print $1}')
		printf '# profile round %d: %s netfilter %s%%' "$((r + 1))" "$BASE" "${b:-?}"
		for c in "${CONFIGS[@]}"; do
			x=$(tail -1 "$TMP/prof-$c" 2>/dev/null | awk '{print $1}')
			[[ -n $b && -n $x ]] || continue
			awk -v b="$b" -v x="$x" 'BEGIN {printf "%.4f\n", (100 - b) / (100 - x)}' >>"$TMP/profratio-$c"
			printf ' %s=%s%%:%.3f' "$c" "$x" "$(tail -1 "$TMP/profratio-$c")"
		done
		echo
	done
fi

spread() { echo "$(fmt "$(pct "$1" 10)")-$(fmt "$(pct "$1" 90)")"; }
unit="pps" per="packet" what="64-byte UDP"
((TCP)) && unit="Mbit/s" per="MB" what="TCP bulk"
[[ $BASE == none ]] && base_name="bare" || base_name="conntrack-only"
printf '%-12s %12s %8s %15s %10s %9s %15s\n' config "$unit median" ratio "ratio p10-p90" "us/$per" "cpu ratio" "cpu p10-p90"
printf '%-12s %12.1f %8s %15s %10.3f %9s %15s\n' "base:$BASE" "$(median "$TMP/pps-base")" - - "$(median "$TMP/cpu-base")" - -
for c in "${CONFIGS[@]}"; do
	m=$(median "$TMP/ratio-$c")
	printf '%-12s %12.1f %8s %15s %10.3f %9s %15s\n' "$c" "$(median "$TMP/pps-$c")" "$(fmt "$m")" "$(spread "$TMP/ratio-$c")" \
		"$(median "$TMP/cpu-$c")" "$(fmt "$(median "$TMP/cpuratio-$c")")" "$(spread "$TMP/cpuratio-$c")"
	n=${c#*-}
	cpu="sender CPU per $per $(fmt "$(median "$TMP/cpuratio-$c")") of $base_name (p10-p90 $(spread "$TMP/cpuratio-$c"); $(fmt "$(median "$TMP/cpu-$c")" 2) us vs $(fmt "$(median "$TMP/cpu-base")" 2) us)"
	context="$what; $(fmt "$(median "$TMP/pps-$c")" 1) $unit vs $(fmt "$(median "$TMP/pps-base")" 1) $unit $base_name; $cpu"
	# Issue 15: against the bare host, the rate through the tunnel (goal 4, >= 0.98 with TCP); against
	# the conntrack-only host, the cost per packet (goal 1, <= 1.03: the rate >= 1 / 1.03).
	goal="(vs $base_name)"
	[[ $c == ks-* && $BASE == none ]] && goal=">= 0.98 (tunnel)"
	[[ $c == ks-* && $BASE == ct-only ]] && goal=">= 0.971 (cost <= 1.03x)"
	# TCP against the conntrack-only host: goal 4 on a host that already tracks connections.
	[[ $c == ks-* && $BASE == ct-only ]] && ((TCP)) && goal=">= 0.98 (tunnel)"
	label="1 $what / $base_name:"
	case $c in
	none) label+=" bare host" ;;
	ct-only) label+=" conntrack only (ct state established accept)" ;;
	ks-*) label+=" killswitch, $n endpoints" ;;
	guard-*) label+=" killswitch and watch's guard table, $n endpoints" ;;
	stateless-*) label+=" not proposed: $n endpoints without conntrack (every ct expression out)" ;;
	before-*) label+=" killswitch before (KS_BENCH_BEFORE), $n endpoints" ;;
	ref-*) label+=" Mullvad's layout (its order, a rule per endpoint), $n endpoints" ;;
	rules-*) label+=" our table with a rule per endpoint instead of the set, $n endpoints" ;;
	esac
	result "$label" "$goal" "$(fmt "$m")" "p10-p90 $(spread "$TMP/ratio-$c")" "$context"
	# Issue 15's goal 1, from the profiles: the cost per packet over the conntrack-only host's; goal
	# 4 through the tunnel, over the bare host's: a rate of 0.98 is a cost of 1/0.98.
	if [[ -s $TMP/profratio-$c ]]; then
		pgoal="(vs $base_name)"
		[[ $c == ks-* && $BASE == ct-only ]] && pgoal="<= 1.03"
		[[ $c == ks-* && ($BASE == none || $TCP == 1) ]] && pgoal="<= 1.02 (tunnel)"
		result "1 cost per $per from profiles: ${label#1 }" "$pgoal" "$(fmt "$(median "$TMP/profratio-$c")")" \
			"p10-p90 $(spread "$TMP/profratio-$c") ($(wc -l <"$TMP/profratio-$c") rounds)" \
			"$(prof_shares "$c") vs ${BASE}: $(prof_shares "$BASE")"
	fi
done
