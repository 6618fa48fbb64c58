# Sourced by the golden scripts: runs commands in a throwaway network
# namespace, because `nft -c` still talks to the kernel. netns_start sets
# netns_run (a command prefix), or returns 1 with the reason in netns_why.

netns_name=
netns_run=()
netns_why=

netns_cleanup()
{
	if [ -n "$netns_name" ]; then
		ip netns del "$netns_name" 2>/dev/null || true
		netns_name=
	fi
}

netns_start()
{
	local name

	if [ "$(id -u)" = 0 ] && command -v ip >/dev/null; then
		name="ks-golden-$$-$RANDOM"
		trap netns_cleanup EXIT
		trap 'exit 130' INT TERM
		if ip netns add "$name" 2>/dev/null; then
			netns_name=$name
			netns_run=(ip netns exec "$name")
			return 0
		fi
	fi
	# Unprivileged: a user namespace gives CAP_NET_ADMIN over a new netns.
	if unshare -rn true 2>/dev/null; then
		netns_run=(unshare -rn)
		return 0
	fi
	netns_why="neither 'ip netns add' (needs root) nor 'unshare -rn' (needs unprivileged user namespaces) works here"
	return 1
}
