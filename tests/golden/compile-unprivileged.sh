#!/usr/bin/env bash
# `killswitch compile` needs no privileges and no kernel: run it as nobody for
# each scenario of the directory (its file-only keys left out), check that nft
# accepts the text, and that it equals the golden when nothing was left out.
# Split tunnelling is planned from the host's cgroups, so the scenarios run
# with it off; it is checked on its own (v1 with nft -c; v2 names a cgroup nft
# must find at load time, which compile does not create). Bad input must give
# exit 2 and one line on stderr, as nobody too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:?usage: compile-unprivileged.sh KILLSWITCH [RULESETS_DIR]}
dir=${2:-$here/../../rulesets}
. "$here/netns.sh"

skip()
{
	echo "compile-unprivileged: skipped: $*"
	exit 77
}

if [ "$(id -u)" = 0 ]; then
	if command -v setpriv >/dev/null; then
		as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	elif command -v runuser >/dev/null; then
		as_nobody=(runuser -u nobody --)
	else
		skip "neither setpriv nor runuser can drop root here"
	fi
else
	as_nobody=()
fi
# A clean environment: no inherited KILLSWITCH_TABLE or state directory.
as_nobody+=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin KILLSWITCH_RUNDIR=/nonexistent/killswitch
	KILLSWITCH_CONFDIR=/nonexistent/killswitch)
caps=$("${as_nobody[@]}" sh -c 'sed -n "s/^CapEff:[[:space:]]*//p" /proc/self/status')
if [ "$caps" != 0000000000000000 ]; then
	echo "compile-unprivileged: the command still has capabilities: $caps" >&2
	exit 1
fi
"${as_nobody[@]}" test -x "$bin" || skip "nobody cannot execute $bin (a private directory on its path?)"
command -v nft >/dev/null || skip "nft is not installed"
netns_start || skip "$netns_why"

# Turns a policy file into command-line options; file_only=1 when a key only a
# file can carry (state, tunnel-addr, split-*, include-* but include-only, the derived protect-*) was left out.
policy_args()
{
	local line name value

	args=()
	file_only=0
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%%#*}
		line=${line%$'\r'}
		line=${line#"${line%%[![:space:]]*}"}
		line=${line%"${line##*[![:space:]]}"}
		[ -n "$line" ] || continue
		line=${line#--}
		name=${line%%[[:space:]=]*}
		value=${line:${#name}}
		value=${value#"${value%%[![:space:]]*}"}
		value=${value#=}
		value=${value#"${value%%[![:space:]]*}"}
		case $name in
		state | tunnel-addr | split-* | include-group | include-classid | include-cgroup | include-level | \
			protect-tunnel | protect-allowed-ips)
			file_only=1
			continue
			;;
		esac
		if [ -n "$value" ]; then
			args+=("--$name=$value")
		else
			args+=("--$name")
		fi
	done <"$1"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; netns_cleanup' EXIT
chmod 755 "$tmp"
failed=0
checked=0
shopt -s nullglob
for policy in "$dir"/*.policy; do
	name=$(basename "$policy" .policy)
	policy_args "$policy"
	checked=$((checked + 1))
	if ! "${as_nobody[@]}" KILLSWITCH_SPLIT_TUNNEL=off "$bin" compile "${args[@]}" >"$tmp/$name.nft" \
		2>"$tmp/$name.err"; then
		echo "FAIL $name: killswitch compile ${args[*]}"
		cat "$tmp/$name.err"
		failed=$((failed + 1))
		continue
	fi
	if [ -s "$tmp/$name.err" ]; then
		echo "FAIL $name: compile wrote to stderr"
		cat "$tmp/$name.err"
		failed=$((failed + 1))
		continue
	fi
	if ! out=$("${netns_run[@]}" nft -c -f "$tmp/$name.nft" 2>&1); then
		echo "FAIL $name: nft -c refuses the output of killswitch compile ${args[*]}"
		printf '%s\n' "$out"
		failed=$((failed + 1))
		continue
	fi
	if [ "$file_only" = 0 ] && ! cmp -s "$tmp/$name.nft" "$dir/$name.nft"; then
		echo "FAIL $name: killswitch compile ${args[*]} differs from $dir/$name.nft"
		diff -u "$dir/$name.nft" "$tmp/$name.nft" | head -20 || true
		failed=$((failed + 1))
		continue
	fi
	if [ "$file_only" = 1 ]; then
		echo "ok   $name (file-only keys left out: checked with nft -c only)"
	else
		echo "ok   $name"
	fi
done
[ "$checked" -gt 0 ] || { echo "compile-unprivileged: no *.policy in $dir" >&2; exit 1; }

# Split tunnelling as the host allows it: always a table; with v1 (a classid,
# nothing to resolve) nft must accept it too.
simple=(--tunnel=wg0 --endpoint=198.51.100.10:51820 --dns=10.64.0.1)
for mode in auto v1; do
	checked=$((checked + 1))
	if ! "${as_nobody[@]}" KILLSWITCH_SPLIT_TUNNEL=$mode "$bin" compile "${simple[@]}" >"$tmp/split-$mode.nft" \
		2>"$tmp/split-$mode.err" || ! grep -q '^table inet killswitch {$' "$tmp/split-$mode.nft"; then
		echo "FAIL split tunnelling $mode: killswitch compile ${simple[*]}"
		cat "$tmp/split-$mode.err"
		failed=$((failed + 1))
	elif [ "$mode" = v1 ] && grep -q 'meta cgroup' "$tmp/split-$mode.nft" &&
		! out=$("${netns_run[@]}" nft -c -f "$tmp/split-$mode.nft" 2>&1); then
		echo "FAIL split tunnelling v1: nft -c refuses the output"
		printf '%s\n' "$out"
		failed=$((failed + 1))
	else
		echo "ok   split tunnelling $mode ($(grep -o -m1 'meta cgroup\|socket cgroupv2' "$tmp/split-$mode.nft" ||
			echo off))"
	fi
done

# --include-only with v1: the inclusion group's classid in mangle and postrouting, accepted by nft.
checked=$((checked + 1))
if ! "${as_nobody[@]}" KILLSWITCH_SPLIT_TUNNEL=v1 "$bin" compile "${simple[@]}" --include-only >"$tmp/include.nft" \
	2>"$tmp/include.err"; then
	echo "FAIL include-only v1: killswitch compile ${simple[*]} --include-only"
	cat "$tmp/include.err"
	failed=$((failed + 1))
elif grep -q 'meta cgroup 0x4b490001 goto included' "$tmp/include.nft" &&
	! out=$("${netns_run[@]}" nft -c -f "$tmp/include.nft" 2>&1); then
	echo "FAIL include-only v1: nft -c refuses the output"
	printf '%s\n' "$out"
	failed=$((failed + 1))
else
	echo "ok   include-only v1 ($(grep -c '0x4b49' "$tmp/include.nft") rules name the inclusion group's marks)"
fi

# Refused input: exit 2, nothing on stdout, one line on stderr quoting the value.
bad=(--tunnel 'wg0"; flush ruleset; "')
checked=$((checked + 1))
set +e
"${as_nobody[@]}" "$bin" compile "${bad[@]}" >"$tmp/bad.out" 2>"$tmp/bad.err"
rc=$?
set -e
if [ "$rc" != 2 ] || [ -s "$tmp/bad.out" ] || [ "$(wc -l <"$tmp/bad.err")" != 1 ] ||
	! grep -qxF "killswitch: invalid interface name (1-15 of A-Z a-z 0-9 _ . -): 'wg0\\x22; flush ruleset; \\x22'" "$tmp/bad.err"; then
	echo "FAIL refused input: exit $rc (want 2), stderr:"
	cat "$tmp/bad.err"
	failed=$((failed + 1))
else
	echo "ok   refused input: $(cat "$tmp/bad.err")"
fi
echo "$checked checked, $failed failed"
[ "$failed" -eq 0 ]
