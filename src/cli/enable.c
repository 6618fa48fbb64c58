// SPDX-License-Identifier: GPL-2.0-or-later
/* enable and block: compile the policy and swap it in atomically. */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "killswitch/cgroup.h"
#include "killswitch/compile.h"
#include "killswitch/netlink.h"
#include "killswitch/nft.h"
#include "killswitch/rundir.h"

/*
 * Split tunnelling is an extra: without it the kill switch still holds, so
 * warn once and go on with it off. The exclusion cgroup must exist before a
 * ruleset naming its v2 path is loaded.
 */
static void split_prepare(struct ks_policy *policy)
{
	char err[KS_ERR_LEN] = "";

	if (policy->fwmark_none) {
		cli_warn("split tunnelling needs the VPN's fwmark to route around the tunnel: off with '%s'",
			 "--fwmark none");
		policy->split.mode = KS_SPLIT_OFF;
		return;
	}
	if (ks_cgroup_choose(true, &policy->split, err) < 0 || ks_cgroup_prepare(&policy->split, err) < 0) {
		cli_warn("split tunnelling is unavailable, continuing without it: %s", err);
		policy->split.mode = KS_SPLIT_OFF;
	}
}

static int apply_main(int argc, char *argv[], enum ks_state state)
{
	struct ks_policy policy;
	struct ks_options opts = { 0 };
	struct ks_buf text = KS_BUF_INIT;
	char err[KS_ERR_LEN] = "";
	const char *table;
	int lock = -1, sysctl, ret;

	ret = cli_parse_policy(argc, argv, state, &policy, &opts);
	if (ret)
		goto cleanup;
	if (state == KS_STATE_ENABLED && !policy.n_tunnels) {
		ret = cli_error(KS_EXIT_USAGE, "enable needs at least one --tunnel: '%s'", "");
		goto cleanup;
	}
	if (ks_table_name(&table, err) < 0) {
		ret = cli_error(KS_EXIT_USAGE, "%s", err);
		goto cleanup;
	}
	ret = cli_require_net_admin(argv[0]);
	if (ret)
		goto cleanup;
	if (state == KS_STATE_ENABLED && !policy.n_resolvers)
		cli_warn("no --dns given: all DNS is blocked");

	if (ks_lock(&lock, err) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	/* Best effort: without the addresses only the CVE-2019-14899 rule is empty. */
	if (ks_rtnl_tunnel_addrs(&policy) < 0)
		cli_warn("cannot read the tunnel addresses; the anti-spoofing rule stays empty");
	ks_policy_finalize(&policy);
	split_prepare(&policy);
	/* Replies to excluded connections get the fwmark: rp_filter must route them by it. */
	sysctl = cli_sysctl_write("net/ipv4/conf/all/src_valid_mark", "1");
	if (sysctl < 0)
		cli_warn("cannot set net.ipv4.conf.all.src_valid_mark=1 (excluded programs may get no replies): '%s'",
			 strerror(-sysctl));

	if (ks_compile_transaction(&policy, table, &text) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "cannot compile the ruleset: '%s'", strerror(ENOMEM));
		goto cleanup;
	}
	if (ks_nft_apply(text.data, table, err) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	if (ks_state_save(&policy, err) < 0)
		cli_warn("%s (the ruleset is applied; status cannot show the policy)", err);
	ret = KS_EXIT_OK;
	if (opts.json) {
		json_t *obj = json_object();

		json_object_set_new(obj, "applied", json_true());
		json_object_set_new(obj, "policy", cli_policy_json(&policy));
		ret = cli_print_json(obj);
	}
cleanup:
	ks_unlock(lock);
	ks_buf_free(&text);
	ks_policy_free(&policy);
	return ret;
}

int enable_main(int argc, char *argv[])
{
	return apply_main(argc, argv, KS_STATE_ENABLED);
}

int block_main(int argc, char *argv[])
{
	return apply_main(argc, argv, KS_STATE_BLOCKED);
}
