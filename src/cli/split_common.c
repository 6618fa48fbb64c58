// SPDX-License-Identifier: GPL-2.0-or-later
/* What every split-tunnel subcommand starts with: who, what we hold for them, which group. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "killswitch/cgroup.h"
#include "killswitch/compile.h"
#include "killswitch/env.h"
#include "killswitch/netlink.h"
#include "killswitch/nft.h"
#include "killswitch/parse.h"
#include "split.h"

/* The caller's domain for a user (setuid, sudo, or none at all); refused outside their own slice. */
static int find_domain(struct split_ctx *ctx, int fail_code)
{
	char own[PATH_MAX], escaped[KS_ERR_LEN / 2];
	int ret;

	ctx->domain[0] = '\0';
	if (ctx->who.mode == KS_PRIV_ROOT || ctx->split.mode == KS_SPLIT_OFF)
		return KS_EXIT_OK;
	/* No v2 hierarchy (a v1-only host): moving in net_cls leaves the others as they are. Nothing else passes. */
	ret = ks_cgroup_of(-1, own, sizeof(own));
	if (ret == -ENOENT)
		return KS_EXIT_OK;
	if (ret < 0)
		return cli_error(fail_code, "cannot tell which cgroup this runs in (%s): '%s'", strerror(-ret),
				 "/proc/self/cgroup");
	ret = ks_cgroup_user_domain(own, ctx->who.uid, ctx->domain, sizeof(ctx->domain));
	if (ret < 0)
		return cli_error(fail_code, "split tunnelling is only for programs in your own user slice "
					    "(user.slice/user-%u.slice) or the root cgroup, not in: '%s'",
				 (unsigned)ctx->who.uid, ks_escape(own, escaped, sizeof(escaped)));
	if (ks_cgroup_plan_in(&ctx->split, ctx->domain) < 0)
		return cli_error(fail_code, "the exclusion cgroup's path is too long in: '%s'",
				 ks_escape(ctx->domain, escaped, sizeof(escaped)));
	return KS_EXIT_OK;
}

int split_setup(struct split_ctx *ctx, int fail_code, bool usage_is_fail)
{
	char err[KS_ERR_LEN] = "";
	int usage = usage_is_fail ? fail_code : KS_EXIT_USAGE;
	int ret;

	*ctx = (struct split_ctx){ .split = { .ct_mark = KS_DEFAULT_CT_MARK, .classid = KS_DEFAULT_CLASSID } };
	if (ks_priv_invoker(&ks_priv_sys, &ctx->who, err) < 0)
		return cli_error(usage, "%s", err);
	/* Before anything is checked: from here on the user can neither stop us nor make us fail halfway. */
	if (ks_priv_hold(&ks_priv_sys, &ctx->who, &ctx->held, err) < 0)
		return cli_error(fail_code, "%s", err);
	if (ks_priv_check_group(&ks_priv_sys, &ctx->who, KS_SPLIT_TUNNEL_GROUP, err) < 0)
		return cli_error(fail_code, "%s", err);
	/* The caller's environment only when it is trusted: not set-user-ID. */
	if (ks_env_load(!ctx->who.secure, err) < 0)
		return cli_error(usage, "%s", err);
	ret = ks_cgroup_choose(&ctx->split, err);
	if (ret < 0)
		return cli_error(ret == -EINVAL ? usage : fail_code, "%s", err);
	if (ctx->split.mode == KS_SPLIT_OFF)
		return cli_error(fail_code, "split tunnelling is turned off: '%s'", "KILLSWITCH_SPLIT_TUNNEL=off");
	return find_domain(ctx, fail_code);
}

int split_setup_include(struct split_ctx *ctx, int fail_code, bool usage_is_fail)
{
	char err[KS_ERR_LEN] = "", escaped[KS_ERR_LEN / 2];
	int ret = split_setup(ctx, fail_code, usage_is_fail);

	if (ret)
		return ret;
	/* Fail closed: a group the ruleset does not name would leave its programs off the tunnel. */
	if (ctx->domain[0] && strcmp(ctx->domain, "/"))
		return cli_error(fail_code, "--include is for root, or programs in the root cgroup, not yet for a "
					    "user's slice: '%s'",
				 ks_escape(ctx->domain, escaped, sizeof(escaped)));
	ctx->split = (struct ks_split){ .ct_mark = KS_INCLUDE_MARK, .classid = KS_INCLUDE_CLASSID };
	ctx->include = true;
	ret = ks_cgroup_choose_include(&ctx->split, err);
	if (ret < 0)
		return cli_error(ret == -EINVAL ? (usage_is_fail ? fail_code : KS_EXIT_USAGE) : fail_code, "%s", err);
	if (ctx->split.mode == KS_SPLIT_OFF)
		return cli_error(fail_code, "split tunnelling is turned off: '%s'", "KILLSWITCH_SPLIT_TUNNEL=off");
	return KS_EXIT_OK;
}

/*
 * The inclusion group is killswitch's to make (enable, restore, watch), the
 * ruleset loaded right after: a v2 ruleset names the group by the id it had
 * then, and a group made again here would be another one, its programs
 * matched by nothing and sent direct; and a group made before any
 * --include-only ruleset would run the command unlocked. So it must be
 * there already (v1 too: the same rule for both).
 */
/* Whether the table, or its guard, holds the chain that locks included programs to the tunnel. */
static bool include_locked(const char *table)
{
	struct ks_nfnl_chain chains[64];
	char guard[KS_GUARD_NAME_LEN];
	size_t n = 0;

	if (ks_guard_name(table, guard) < 0)
		return false;
	for (int t = 0; t < 2; t++) {
		if (ks_nfnl_chains(t ? guard : table, chains, sizeof(chains) / sizeof(chains[0]), &n) < 0)
			continue;
		for (size_t i = 0; i < n && i < sizeof(chains) / sizeof(chains[0]); i++)
			if (!strcmp(chains[i].name, KS_CHAIN_INCLUDED_POST))
				return true;
	}
	return false;
}

static int include_prepare(const struct split_ctx *ctx, char err[KS_ERR_LEN])
{
	char escaped[KS_ERR_LEN / 2];
	uint64_t id;

	if (ks_cgroup_id(&ctx->split, &id, err) < 0) {
		snprintf(err, KS_ERR_LEN, "no inclusion group yet (apply the kill switch with --include-only first): '%s'",
			 ks_escape(ctx->split.path, escaped, sizeof(escaped)));
		return -ENOENT;
	}
	/*
	 * The group outlives the ruleset that named it (disable leaves it, and
	 * another policy may follow): only a ruleset that locks it (its
	 * included_post chain, in the table or the guard) makes the command
	 * "locked to the tunnel", else it would run direct, unlocked.
	 */
	if (!include_locked(ks_env()->table)) {
		snprintf(err, KS_ERR_LEN, "the kill switch is not applied with --include-only (enable or block with it "
					  "first): '%s'", ks_escape(ks_env()->table, escaped, sizeof(escaped)));
		return -ENOENT;
	}
	return 0;
}

int split_prepare(const struct split_ctx *ctx, char err[KS_ERR_LEN])
{
	struct ks_nft_elem elem = { .set = KS_SET_EXCLUDED_USERS, .len = sizeof(uint64_t) };
	uint64_t id;
	int ret;

	if (ctx->include)
		return include_prepare(ctx, err);
	if (ctx->who.mode == KS_PRIV_USER)
		return 0;
	ret = ks_cgroup_prepare(&ctx->split, NULL, err);
	if (ret < 0 || ctx->split.mode != KS_SPLIT_V2 || !strcmp(ctx->domain, "/") || !ctx->domain[0])
		return ret;
	ret = ks_cgroup_id(&ctx->split, &id, err);
	if (ret < 0)
		return ret;
	/* No table (the kill switch is off) or no such set (split tunnelling off in it): nothing to tell. */
	memcpy(elem.key, &id, sizeof(id));
	if (ks_nft_set_elements(ks_env()->table, &elem, 1, true, err) < 0)
		err[0] = '\0';
	return 0;
}
