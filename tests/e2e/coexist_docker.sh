#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Coexistence (issue 13): Docker (docker.io, Debian 12: 20.10), the real dockerd in the client's
# namespace (nsenter --net, not ip netns exec, which remounts /sys and hides the cgroups), in a
# mount namespace of its own (tmpfs on /run and /etc/docker), with its data, exec root, socket and
# cgroup parent in the lab's own names; the image is `docker import` of a busybox-static root.
# dockerd gets --dns with the VPN's resolver, as a user sets it up. Under a flood off the tunnel (a
# rogue more specific route via the physical link, and sockets bound to it), with the kill switch
# enabled (--allow-lan): dockerd starts, a container starts (a published port), the container sends
# traffic (through the tunnel, and toward the rogue route), dockerd restarts (the container with
# it), the container is removed, dockerd stops; first with `killswitch watch` running, then without.
# Asserted: not one packet leaked during any step, our tables are there after each, the tunnel
# works afterwards, and Docker still does its job: the container reaches the internet through the
# tunnel (Docker's own masquerade: the VPN server accepts only the tunnel address) and nowhere else
# when the tunnel is down, its published port is reachable from the LAN with --allow-lan (and not
# without it, nor from the internet), and its DNS goes only to the --dns resolver. The control:
# Docker leaves our table alone, so the same steps without watch leak nothing either; the control is
# the same steps with the kill switch off, where the flood leaks; the container's own probes have
# theirs (the kill switch off).
# shellcheck source=tests/e2e/coexist_lib.sh
source "$(dirname "$0")/coexist_lib.sh"

coexist_init coexist_docker dockerd containerd runc unshare iptables-nft
[[ -x /usr/bin/docker ]] || skip "coexist_docker needs /usr/bin/docker (the docker.io package)"
# The image: a static busybox (busybox-static), as the only file with its applets' links.
BUSYBOX=$(command -v busybox) || skip "coexist_docker needs busybox-static"
[[ $(ldd "$BUSYBOX" 2>&1) == *"not a dynamic executable"* ]] ||
	skip "coexist_docker needs a static busybox (busybox-static) for its image"

DK=$LAB_TMP/docker
DK_CG=kse-$LAB_ID-docker
mkdir -p "$DK/root/bin" "$DK/root/etc" "$DK/root/proc" "$DK/root/sys" "$DK/root/dev" "$DK/root/tmp"
cp "$BUSYBOX" "$DK/root/bin/busybox"
while read -r applet; do
	[[ $applet == busybox ]] || ln -s busybox "$DK/root/bin/$applet"
done < <(busybox --list)

cat >"$DK/inner.sh" <<'EOF'
set -e
d=$1 cg=$2 dns=$3
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=0755 tmpfs /etc/docker
exec dockerd --data-root "$d/data" --exec-root "$d/exec" -H "unix://$d/d.sock" --pidfile "$d/d.pid" \
	--cgroup-parent "$cg" --dns "$dns"
EOF
# The packaged CLI, whatever else is in PATH; its own files in the lab.
docker() { DOCKER_CONFIG=$DK/cli /usr/bin/docker -H "unix://$DK/d.sock" "$@"; }
dockerd_up() { docker info >/dev/null 2>&1; }
dockerd_start() {
	rm -f "$DK/d.pid"
	bg "dockerd-$BASHPID" nsenter --net="/run/netns/$NS_C" unshare --mount --propagation private \
		sh "$DK/inner.sh" "$DK" "$DK_CG" "$VPNDNS4"
	wait_for 90 dockerd_up
}
dockerd_stop() { # as its unit stops it: SIGTERM; it stops the containers
	[[ -s $DK/d.pid ]] || return 0
	local pid
	pid=$(<"$DK/d.pid")
	kill "$pid" 2>/dev/null || return 0
	wait_for 60 not kill -0 "$pid"
}
dockerd_restart() {
	dockerd_stop || return 1
	dockerd_start || return 1
	wait_for 30 ctr_running
}
ctr_running() { [[ $(docker inspect -f '{{.State.Running}}' web 2>/dev/null) == true ]]; }
# The container: a TCP echo server (busybox nc) on 7, published on the host's 8080.
ctr_run() {
	docker run -d --name web --restart always -p 8080:7 kse-bb nc -ll -p 7 -e cat >/dev/null &&
		wait_for 30 ctr_running
}
ctr_rm() { docker rm -f web >/dev/null; }
ctr_pid() { docker inspect -f '{{.State.Pid}}' web; }
# labnet in the container's network namespace (the same probes as lib.sh's, from the container).
labnet_ctr() { nsenter --net="/proc/$(ctr_pid)/ns/net" "$PYTHON" -S "$LABNET" "$@"; }
send_ctr() { labnet_ctr send --wait "$CTR_WAIT" "$@"; }
dns_ctr() { labnet_ctr dns --wait "$CTR_WAIT" "$@"; }
# What the container does on its own: ping through the tunnel, and toward the rogue route.
ctr_traffic() {
	docker exec web ping -c 3 -i 0.2 -W 1 $NET4B
	docker exec web ping -c 3 -i 0.2 -W 1 $NET4 || true
	send_ctr tcp $NET4B 80
}

# shellcheck disable=SC2317 # the EXIT trap, through coexist_teardown
coexist_cleanup() {
	docker rm -f web >/dev/null 2>&1
	dockerd_stop
	# Whatever is left in its cgroups (a dockerd killed before it stopped its containers), then them.
	local dir pid
	for dir in /sys/fs/cgroup/*/"$DK_CG"; do
		[[ -d $dir ]] || continue
		while read -r pid; do
			kill -KILL "$pid" 2>/dev/null
		done < <(find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null)
	done
	sleep 0.2
	for dir in /sys/fs/cgroup/*/"$DK_CG"; do
		[[ -d $dir ]] && find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	# Nothing of the containers may still be mounted under the lab's directory when it is removed.
	awk -v d="$DK/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
	return 0
}

coexist_up
dockerd_start || die "dockerd did not start: $(tail -n 5 "$LAB_TMP"/dockerd-*.log)"
tar -C "$DK/root" -c . | docker import --change 'ENV PATH=/bin' - kse-bb:latest >/dev/null ||
	die "docker import failed"
dockerd_stop

# steps_up STATE blocked|leak: start, a container, its traffic, a restart; steps_down: the rest.
steps_up() {
	flood_phase_start
	coexist_step "$1" "$2" "dockerd starts" dockerd_start
	coexist_step "$1" "$2" "docker run -d -p 8080:7 (a container starts)" ctr_run
	coexist_step "$1" "$2" "container traffic (tunnel, rogue route)" ctr_traffic
	coexist_step "$1" "$2" "dockerd restarts (and the container)" dockerd_restart
	flood_phase_stop "$1"
}
steps_down() {
	flood_phase_start
	coexist_step "$1" "$2" "docker rm -f (the container stops)" ctr_rm
	coexist_step "$1" "$2" "dockerd stops" dockerd_stop
	flood_phase_stop "$1"
}

ks_enable --allow-lan || die "enable failed"
coexist_watch_start
steps_up "enabled, watch" blocked
check "watch is still running" "enabled, watch" running kill -0 "$WATCH_PID"

# Docker does its job beside the kill switch.
S="watch + docker"
check "the container's resolver is the --dns one" "$S" "$VPNDNS4" docker exec web grep -q "nameserver $VPNDNS4" /etc/resolv.conf
run_probe "container: ping $NET4B (docker exec)" "$S" tunnel phys docker exec web ping -c 1 -W 2 $NET4B
run_probe "container: tcp4 $(hp $NET4B 80), Docker's masquerade" "$S" tunnel phys send_ctr tcp $NET4B 80
run_probe "container: nslookup (its resolv.conf, docker exec)" "$S" tunnel phys docker exec web nslookup host.lab.test
run_probe "container: udp DNS to $VPNDNS4 (the --dns one)" "$S" tunnel phys dns_ctr $VPNDNS4
enable_lan() { ks_enable --allow-lan; }
# Another resolver through the tunnel ($NET4B answers DNS too), and one the rogue route takes off it.
leak_pair "container: udp DNS to $NET4B (other, tunnel)" "$S" enable_lan tun dns_ctr $NET4B
leak_pair "container: tcp DNS to $NET4B (other, tunnel)" "$S" enable_lan tun dns_ctr $NET4B --tcp
leak_pair "container: udp DNS to $RESOLVER4 (other, rogue route)" "$S" enable_lan phys dns_ctr $RESOLVER4
leak_pair "container: udp DNS to $GW4 (the LAN's resolver)" "$S" enable_lan phys dns_ctr $GW4
leak_pair "container: tcp4 $(hp $NET4 80) (the rogue route)" "$S" enable_lan phys send_ctr tcp $NET4 80
# The published port: from the LAN with --allow-lan, neither without it nor from the internet.
enable_lan
lan_published() { send_from_isp tcp $C4 8080 --bind-addr $LANHOST4; }
net_published() { send_from_isp tcp $C4 8080 --bind-addr $NET4; }
check "a LAN host reaches the published port 8080 (--allow-lan)" "$S" connects lan_published
check "the internet does not reach it" "$S" refused not net_published
ks_enable || die "enable failed"
check "a LAN host does not reach it without --allow-lan" "enabled, watch" refused not lan_published
ks_disable
check_control "the kill switch off: the internet reaches it" "disabled (control)" connects net_published
check_control "the kill switch off: the LAN host reaches it" "disabled (control)" connects lan_published
# The tunnel down (the VPN's interface gone down, its routes with it): the container goes nowhere.
tunnel_down() {
	inc ip link set "$WGC" down
	enable_lan
}
leak_pair "container: tcp4 $(hp $NET4B 80), the tunnel down" "tunnel down, watch" tunnel_down phys send_ctr tcp $NET4B 80
leak_pair "container: ping $NET4B (docker exec), the tunnel down" "tunnel down, watch" tunnel_down phys \
	docker exec web ping -c 1 -W 1 $NET4B
inc ip link set "$WGC" up
# (IPv6 addresses go with the link)
inc ip addr replace $TUN6/128 dev "$WGC" nodad
routes_tunnel
enable_lan
wait_handshake 10 || handshake_completes 10 || log "no fresh handshake"
run_probe "container: tcp4 $(hp $NET4B 80), the tunnel back" "$S" tunnel phys send_ctr tcp $NET4B 80
tunnel_works "$S"
steps_down "enabled, watch" blocked
tunnel_works "enabled, watch"

# The same steps without watch: Docker leaves our table alone, nothing leaks.
watch_stop
steps_up "enabled, no watch" blocked
steps_down "enabled, no watch" blocked

# The control: the kill switch off.
echo "# control: Docker never touched our table (the rows without watch leaked nothing), so the"
echo "# control is the same steps with the kill switch off: the flood must leak during each of them."
ks_disable
steps_up "disabled (control)" leak
steps_down "disabled (control)" leak
coexist_finish
