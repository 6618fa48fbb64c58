// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * portal: run a browser in the portal group, which may reach the
 * DHCP-provided gateway and resolvers on 53, 80 and 443 for a few minutes
 * (kernel timeouts on the table's portal sets: no daemon), while everything
 * else stays blocked. The command runs as the invoking user, with its own
 * /etc/resolv.conf naming those resolvers; killswitch waits for it and
 * exits with its status. docs/portal.md.
 */
#define _GNU_SOURCE /* unshare */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "killswitch/cgroup.h"
#include "killswitch/env.h"
#include "killswitch/file.h"
#include "killswitch/netlink.h"
#include "killswitch/nft.h"
#include "killswitch/parse.h"
#include "killswitch/portal.h"
#include "killswitch/privilege.h"
#include "killswitch/rundir.h"

enum {
	EXIT_CANNOT_RUN = 126, /* as env(1) */
	EXIT_NOT_FOUND = 127,
};

/* Whether addr is one of the policy's --dns resolvers: the tunnel's, never granted off it. */
static bool is_tunnel_resolver(const struct ks_policy *policy, const struct ks_addr *addr)
{
	for (size_t i = 0; i < policy->n_resolvers; i++)
		if (!memcmp(&policy->resolvers[i], addr, sizeof(*addr)))
			return true;
	return false;
}

/* The resolvers a lease or resolv.conf names, but not the tunnel's own. */
static void add_resolvers_from(const struct ks_policy *policy, const char *path, struct ks_portal_grant *grant)
{
	struct ks_portal_grant found = { 0 };
	char *text = NULL;

	if (ks_file_read_all(path, &text) < 0)
		return;
	if (!strncmp(path, "/run/systemd/netif/", 19))
		ks_portal_parse_lease(text, &found);
	else
		ks_portal_parse_resolv(text, &found);
	for (size_t i = 0; i < found.n_addrs; i++)
		if (!is_tunnel_resolver(policy, &found.addrs[i]))
			ks_portal_grant_add(grant, &found.addrs[i]);
	free(text);
}

/*
 * The gateways of the default routes off the tunnels, and the resolvers of
 * their leases or resolv.conf: all in grant, the resolvers alone in named
 * (the browser's own resolv.conf; the gateways when no resolver is found).
 */
static int find_portal(const struct ks_policy *policy, struct ks_portal_grant *grant, struct ks_portal_grant *named)
{
	struct ks_gateway gws[KS_PORTAL_MAX_ADDRS];
	char path[64];
	size_t n = 0;
	int ret;

	ret = ks_rtnl_default_gateways(policy->tunnels, policy->n_tunnels, gws, KS_PORTAL_MAX_ADDRS, &n);
	if (ret < 0)
		return cli_error(KS_EXIT_SYSTEM, "cannot read the routes: '%s'", strerror(-ret));
	/* A gateway that is one of the --dns resolvers is the tunnel's resolver: never granted off it. */
	for (size_t i = 0; i < n; i++)
		if (!is_tunnel_resolver(policy, &gws[i].addr))
			ks_portal_grant_add(grant, &gws[i].addr); /* an IPv6 link-local gateway is refused: no zone in a set */
	if (!grant->n_addrs)
		return cli_error(KS_EXIT_SYSTEM, "no default route with a gateway outside the tunnel that is not a --dns "
						 "resolver: is the network up?");
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/run/systemd/netif/leases/%u", gws[i].ifindex);
		add_resolvers_from(policy, path, named);
	}
	add_resolvers_from(policy, "/etc/resolv.conf", named);
	/* Behind systemd-resolved's stub (127.0.0.53), the servers it was given. */
	add_resolvers_from(policy, "/run/systemd/resolve/resolv.conf", named);
	/* A full grant (eight addresses) drops the rest: the browser is told only of the ones it may ask. */
	for (size_t i = 0; i < named->n_addrs;) {
		if (ks_portal_grant_add(grant, &named->addrs[i]) == 0) {
			i++;
			continue;
		}
		memmove(&named->addrs[i], &named->addrs[i + 1], (named->n_addrs - i - 1) * sizeof(named->addrs[0]));
		named->n_addrs--;
	}
	if (!named->n_addrs)
		for (size_t i = 0; i < n; i++)
			ks_portal_grant_add(named, &gws[i].addr);
	return KS_EXIT_OK;
}

/* The portal group: v2 when the kernel matches it, else net_cls; made if needed. */
static int prepare_group(struct ks_split *group, struct ks_portal_grant *grant)
{
	struct ks_cgroup_mounts mounts;
	char err[KS_ERR_LEN] = "";
	int ret;

	*group = (struct ks_split){ .ct_mark = KS_PORTAL_CT_MARK, .classid = KS_PORTAL_CLASSID };
	ret = ks_cgroup_detect(&mounts);
	if (ret == 0)
		ret = ks_cgroup_plan(&mounts, ks_env()->want, KS_PORTAL_CGROUP_NAME, group);
	if (ret < 0)
		return cli_error(KS_EXIT_SYSTEM, "no cgroup mechanism for the portal group (cgroup v2 with socket "
						 "matching, or v1 net_cls): '%s'", strerror(-ret));
	/* The table matches the v2 group at a fixed level. */
	if (group->mode == KS_SPLIT_V2 && group->level != KS_PORTAL_CGROUP_LEVEL)
		return cli_error(KS_EXIT_SYSTEM, "the portal group is not a child of the cgroup v2 root: '%s'",
				 group->path);
	ret = ks_cgroup_prepare(group, NULL, err);
	if (ret < 0)
		return cli_error(KS_EXIT_SYSTEM, "%s", err);
	if (group->mode == KS_SPLIT_V2)
		snprintf(grant->v2_path, sizeof(grant->v2_path), "%s", group->path);
	return KS_EXIT_OK;
}

/*
 * The grant in the table, in the guard through watch when it holds one, and
 * in the portal's own table (its routing and NAT), created with it: one
 * transaction.
 */
static int open_portal(const struct ks_policy *policy, const char *table, const struct ks_portal_grant *grant)
{
	struct ks_buf text = KS_BUF_INIT;
	char err[KS_ERR_LEN] = "";
	int ret;

	ret = ks_compile_portal_table(policy, table, &text);
	if (ret == 0)
		ret = ks_compile_portal_grant(grant, table, KS_PORTAL_IN_OWN_TABLE, &text);
	if (ret == 0)
		ret = ks_compile_portal_grant(grant, table, KS_PORTAL_IN_TABLE, &text);
	if (ret == 0 && ks_nft_guarded(NULL))
		ret = ks_compile_portal_grant(grant, table, KS_PORTAL_IN_GUARD, &text);
	if (ret < 0)
		ret = cli_error(KS_EXIT_SYSTEM, "cannot compile the portal's grant: '%s'", strerror(-ret));
	else if (ks_nft_run(text.data, "nftables refused the portal's grant; nothing changed", err) < 0)
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
	ks_buf_free(&text);
	return ret;
}

#define RESOLV_FILE "portal-resolv.conf"

/*
 * The browser's own /etc/resolv.conf: the network's resolvers, which the
 * grant holds. A local stub (systemd-resolved, dnsmasq) would ask them from
 * outside the portal group, and be refused. Written under the run directory
 * (readable: it is bind-mounted for the user). 0 or an exit code.
 */
static int write_resolv(const struct ks_portal_grant *named, char path[4096])
{
	struct ks_buf text = KS_BUF_INIT;
	char err[KS_ERR_LEN] = "", tmp[4096 + 8], addr[KS_ADDR_STRLEN];
	int ret;

	ks_buf_puts(&text, "# killswitch portal: the network's resolvers, for the portal group only\n");
	for (size_t i = 0; i < named->n_addrs; i++) {
		ks_format_addr(&named->addrs[i], addr);
		ks_buf_printf(&text, "nameserver %s\n", addr);
	}
	ret = text.err;
	if (ret == 0)
		ret = ks_rundir_path(RESOLV_FILE, path, 4096, err);
	if (ret == 0) {
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		ret = ks_file_replace(path, tmp, text.data, text.len, false);
		if (ret == 0 && chmod(path, 0644) < 0)
			ret = -errno;
	}
	ks_buf_free(&text);
	if (ret < 0)
		return cli_error(KS_EXIT_SYSTEM, "cannot write the portal's resolv.conf (%s): '%s'", strerror(-ret), path);
	return KS_EXIT_OK;
}

/*
 * In the child: a mount namespace of its own in which /etc/resolv.conf is
 * the portal's. Nothing propagates back (slave mounts). Best effort: a
 * browser without it still has the grant, only not a stub's answers.
 */
static void private_resolv(const char *path)
{
	if (unshare(CLONE_NEWNS) < 0) {
		cli_warn("cannot give the command its own resolv.conf (unshare: %s): '%s'", strerror(errno), path);
		return;
	}
	/* Never bind over the host's file: only once our mounts no longer propagate. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
		cli_warn("cannot give the command its own resolv.conf (mount: %s): '%s'", strerror(errno), path);
		return;
	}
	if (mount(path, "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0)
		cli_warn("cannot give the command its own resolv.conf (bind mount: %s): '%s'", strerror(errno),
			 "/etc/resolv.conf");
}

/* The child: into the portal group as root, then the user for good, then the command. Never returns. */
static void run_command(const struct ks_split *group, const char *resolv, const struct ks_invoker *who,
			const struct ks_priv_held *held, char *const argv[])
{
	char err[KS_ERR_LEN] = "", escaped[KS_ERR_LEN / 2];
	int saved;

	if (ks_cgroup_enter(group, err) < 0)
		_exit(cli_error(EXIT_CANNOT_RUN, "%s", err));
	private_resolv(resolv);
	/* Fail closed: never run the browser with privileges it was not meant to have. */
	if (ks_priv_drop(&ks_priv_sys, who, err) < 0 || ks_priv_release(&ks_priv_sys, held, err) < 0)
		_exit(cli_error(EXIT_CANNOT_RUN, "%s", err));
	execvp(argv[0], argv);
	saved = errno;
	_exit(cli_error(saved == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN, "cannot run the command (%s): '%s'",
			strerror(saved), ks_escape(argv[0], escaped, sizeof(escaped))));
}

static int wait_command(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return cli_error(KS_EXIT_SYSTEM, "cannot wait for the command: '%s'", strerror(errno));
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int portal_main(int argc, char *argv[])
{
	struct ks_portal_grant grant = { 0 }, named = { 0 };
	struct ks_portal_args args;
	char resolv[4096] = "";
	struct ks_nft_status st;
	struct ks_policy policy;
	struct ks_invoker who;
	struct ks_priv_held held = { 0 };
	struct ks_split group;
	char err[KS_ERR_LEN] = "";
	const char *table;
	int lock = -1, ret;
	pid_t pid;

	ks_policy_init(&policy);
	if (ks_portal_parse_args(argc, argv, &args, err) < 0) {
		ret = cli_error(KS_EXIT_USAGE, "%s", err);
		goto cleanup;
	}
	grant.seconds = ks_env()->portal_seconds ? ks_env()->portal_seconds : args.minutes * 60;
	if (ks_priv_invoker(&ks_priv_sys, &who, err) < 0) {
		ret = cli_error(KS_EXIT_USAGE, "%s", err);
		goto cleanup;
	}
	ret = cli_begin(argv[0], &table, &lock);
	if (ret)
		goto cleanup;
	if (ks_nft_status(table, &st, err) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	/* Without the table there is nothing to open a hole in: the portal would be the whole internet. */
	if (!st.active || !st.complete) {
		ret = cli_error(KS_EXIT_SYSTEM, "killswitch is not active (enable or block first): '%s'", table);
		goto cleanup;
	}
	/* A table an older killswitch applied has no portal sets: say so rather than relay nft's ENOENT. */
	if (ks_nfnl_set_expiry(table, KS_SET_PORTAL4, &(size_t){ 0 }, &(uint64_t){ 0 }) == -ENOENT) {
		ret = cli_error(KS_EXIT_SYSTEM, "the table has no portal sets (applied by an older killswitch: enable "
						"or block again): '%s'", table);
		goto cleanup;
	}
	ret = ks_state_load(&policy, err);
	if (ret < 0 && ret != -ENOENT) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	ret = find_portal(&policy, &grant, &named);
	if (!ret)
		ret = write_resolv(&named, resolv);
	if (!ret)
		ret = prepare_group(&group, &grant);
	if (!ret)
		ret = open_portal(&policy, table, &grant);
	ks_unlock(lock);
	lock = -1;
	if (ret)
		goto cleanup;
	fflush(NULL);
	/* From here on the user can neither stop us nor make us fail halfway (sudo); the child gets it all back. */
	if (ks_priv_hold(&ks_priv_sys, &who, &held, err) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	pid = fork();
	if (pid < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "cannot start the command: '%s'", strerror(errno));
		goto cleanup;
	}
	if (pid == 0)
		run_command(&group, resolv, &who, &held, argv + args.command);
	ret = wait_command(pid);
cleanup:
	ks_unlock(lock);
	ks_policy_free(&policy);
	return ret;
}
