// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The one path from a policy to the kernel, shared by enable, block,
 * restore and watch: learn from the running system what the policy cannot
 * say (tunnel addresses, the split-tunnel mechanism), compile, apply in one
 * transaction, record.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "killswitch/cgroup.h"
#include "killswitch/compile.h"
#include "killswitch/env.h"
#include "killswitch/netlink.h"
#include "killswitch/nft.h"
#include "killswitch/rundir.h"
#include "units.h"

/* The levels of the excluded units (split-tunnel add --unit): a set and a rule each. v2 only. */
static void discover_units(struct ks_policy *policy)
{
	struct ks_units units = { 0 };
	char err[KS_ERR_LEN] = "";

	policy->unit_levels = 0;
	if (policy->split.mode != KS_SPLIT_V2)
		return;
	if (cli_units_load_all(&units, err) < 0)
		cli_warn("%s; excluded units stay in the tunnel", err);
	else
		policy->unit_levels = ks_units_levels(&units);
	ks_units_free(&units);
}

/*
 * After the table is in: the ids of the excluded units' cgroups that exist
 * now. Until then (a few milliseconds) their packets go through the tunnel,
 * or, for a connection already excluded, nowhere: never around it unasked.
 */
static void sync_units(const struct ks_policy *policy, const char *table)
{
	struct ks_units units = { 0 };
	char err[KS_ERR_LEN] = "", hierarchy[KS_UNIT_PATH_MAX];

	if (!policy->unit_levels || policy->split.mode != KS_SPLIT_V2 || policy->state != KS_STATE_ENABLED)
		return;
	if (ks_unit_hierarchy(policy->split.path, policy->split.level, hierarchy, sizeof(hierarchy)) < 0 ||
	    cli_units_load_all(&units, err) < 0 || cli_units_sync(table, hierarchy, &units, NULL, err) < 0)
		cli_warn("cannot add the excluded units' cgroups to the table; they stay in the tunnel: %s",
			 err[0] ? err : "bad cgroup path");
	ks_units_free(&units);
}

/*
 * Split tunnelling is an extra: without it the kill switch still holds, so
 * warn and go on with it off. With create, the exclusion cgroup is made
 * (nft resolves a v2 path when the rule is loaded); without, a v2 plan
 * whose cgroup does not exist yet is left out rather than printed as text
 * nft would refuse.
 */
static void discover_split(struct ks_policy *policy, bool create)
{
	char err[KS_ERR_LEN] = "", path[sizeof(KS_CGROUP_ROOT) + KS_CGROUP_PATH_MAX + 1];
	bool created = false;
	int ret;

	policy->split.mode = KS_SPLIT_OFF;
	/*
	 * compile leaves the split-tunnel rules out unless asked: they depend on
	 * this host's cgroups, and text naming a v2 path fails nft -c wherever
	 * that cgroup is not visible (another host, a namespace from ip netns exec).
	 */
	if (!create && !ks_env()->split)
		return;
	if (policy->fwmark_none) {
		if (create)
			cli_warn("split tunnelling needs the VPN's fwmark to route around the tunnel: off with '%s'",
				 "--fwmark none");
		return;
	}
	ret = ks_cgroup_choose(&policy->split, err);
	if (ret == 0 && create)
		ret = ks_cgroup_prepare(&policy->split, &created, err);
	/* disable removes the group only if killswitch made it (not an admin's, not split-tunnel's). */
	if (created && ks_cgroup_record_save(err) < 0)
		cli_warn("%s (disable will leave the exclusion cgroup)", err);
	if (ret < 0) {
		const char *asked = ks_env()->split;

		/* No cgroups visible at all (a namespace from ip netns exec) is worth a word only when asked for. */
		if (ret != -EOPNOTSUPP || (asked && strcmp(asked, "auto")))
			cli_warn("split tunnelling is unavailable, continuing without it: %s", err);
		policy->split.mode = KS_SPLIT_OFF;
		return;
	}
	if (!create && policy->split.mode == KS_SPLIT_V2) {
		snprintf(path, sizeof(path), KS_CGROUP_ROOT "/%s", policy->split.path);
		if (access(path, F_OK) < 0)
			policy->split.mode = KS_SPLIT_OFF;
	}
	policy->n_user_groups = 0;
	if (ks_cgroup_find_user_groups(&policy->split, policy) < 0)
		cli_warn("cannot list the exclusion groups in users' slices; their programs stay in the tunnel");
	discover_units(policy);
}

/*
 * --include-only: the inclusion group, made as the exclusion group is (nft
 * resolves a v2 path at load time). Without one nothing can be included:
 * every program leaves directly, which is what the policy says of the
 * programs outside it, so warn and go on.
 */
static void discover_include(struct ks_policy *policy, bool create)
{
	char err[KS_ERR_LEN] = "", path[sizeof(KS_CGROUP_ROOT) + KS_CGROUP_PATH_MAX + 1];
	int ret;

	policy->include.mode = KS_SPLIT_OFF;
	if (!policy->include_only || (!create && !ks_env()->split))
		return;
	ret = ks_cgroup_choose_include(&policy->include, err);
	if (ret == 0 && create)
		ret = ks_cgroup_prepare(&policy->include, NULL, err);
	if (ret < 0) {
		cli_warn("the inclusion group is unavailable, no program can use the tunnel: %s", err);
		policy->include.mode = KS_SPLIT_OFF;
		return;
	}
	if (!create && policy->include.mode == KS_SPLIT_V2) {
		snprintf(path, sizeof(path), KS_CGROUP_ROOT "/%s", policy->include.path);
		if (access(path, F_OK) < 0)
			policy->include.mode = KS_SPLIT_OFF;
	}
}

void cli_policy_discover(struct ks_policy *policy, bool create, bool fresh_addrs)
{
	struct ks_protected *kept = NULL;
	size_t n_kept = 0;

	if (fresh_addrs) {
		/* A partial policy may hang on its tunnel's networks alone: keep them at hand (below). */
		if (policy->partial && policy->n_protect) {
			kept = calloc(policy->n_protect, sizeof(*kept));
			for (size_t i = 0; kept && i < policy->n_protect; i++)
				if (policy->protect[i].source == KS_PROTECT_TUNNEL)
					kept[n_kept++] = policy->protect[i];
		}
		policy->n_tunnel_addrs = 0;
		ks_policy_drop_protect(policy, KS_PROTECT_TUNNEL);
	}
	/* Best effort: without the addresses only the CVE-2019-14899 rule is empty. */
	if (ks_rtnl_tunnel_addrs(policy) < 0)
		cli_warn("cannot read the tunnel addresses; the anti-spoofing rule stays empty");
	/*
	 * restore and watch: a partial tunnel whose interface lost its addresses
	 * (re-created, not up yet) keeps the networks it had. Refusing it would
	 * leave whatever is there, or nothing after a flush, instead of them.
	 */
	if (policy->partial && !policy->n_protect)
		for (size_t i = 0; i < n_kept; i++)
			if (ks_policy_add_protect(policy, &kept[i].cidr, KS_PROTECT_TUNNEL, kept[i].iface) < 0)
				break;
	free(kept);
	ks_policy_finalize(policy);
	/* Refused by the caller (cli_partial_unprotected): create nothing for it. */
	if (cli_partial_unprotected(policy, NULL))
		return;
	discover_split(policy, create);
	discover_include(policy, create);
}

bool cli_partial_unprotected(const struct ks_policy *policy, char err[KS_ERR_LEN])
{
	if (!policy->partial || policy->n_protect)
		return false;
	if (err)
		snprintf(err, KS_ERR_LEN,
			 "--partial needs a protected prefix (--protect, a --from-wg peer's network, or a tunnel "
			 "address wider than /32 or /128): '%s'",
			 policy->n_tunnels ? policy->tunnels[0].name : "--partial");
	return true;
}

/*
 * The kernel has policy: the state file must name it, or be gone (status
 * then says the policy is unknown) rather than name the previous one,
 * which status would show and watch restore. With whole, the rules and the
 * table's handle are also recorded, for status to see later edits and a
 * table re-created behind the state file's back.
 */
static void record_applied(const struct ks_policy *policy, const char *table, bool whole)
{
	char err[KS_ERR_LEN] = "";

	if (ks_state_save(policy, err) < 0) {
		cli_warn("%s (the ruleset is applied; status cannot show the policy)", err);
		/* The previous table's fingerprint would call this one re-created by someone else. */
		if (ks_state_clear(err) < 0 || cli_applied_forget(err) < 0)
			cli_warn("%s (status may show the previous policy)", err);
		return;
	}
	/* A fingerprint of the previous table would make status call this one edited, or re-created. */
	if (!whole || cli_applied_record(table, err) < 0) {
		if (cli_applied_forget(err) < 0 || whole)
			cli_warn("cannot record the rules as applied; status cannot see later edits");
	}
}

int cli_apply_locked(struct ks_policy *policy, const char *table, bool fresh_addrs, char err[KS_ERR_LEN])
{
	return cli_apply_locked_then(policy, table, fresh_addrs, NULL, err);
}

int cli_apply_locked_then(struct ks_policy *policy, const char *table, bool fresh_addrs, const char *then,
			  char err[KS_ERR_LEN])
{
	struct ks_buf text = KS_BUF_INIT;
	char state_err[KS_ERR_LEN] = "";
	bool persist = false;
	int ret;

	cli_policy_discover(policy, true, fresh_addrs);
	/* Before anything changes: a partial tunnel that protects nothing would lock nothing. */
	if (cli_partial_unprotected(policy, err))
		return -EDOM;
	/* Replies to excluded connections carry the fwmark: rp_filter must route them by it. */
	ret = cli_sysctl_set(KS_SYSCTL_SRC_VALID_MARK, "1");
	if (ret < 0)
		cli_warn("cannot set net.ipv4.conf.all.src_valid_mark=1 (excluded programs may get no replies): '%s'",
			 strerror(-ret));
	ret = ks_compile_transaction(policy, table, &text);
	/* With watch: the guard too, in the same transaction, so both hold the new policy when this returns. */
	if (ret == 0 && ks_nft_guarded(&persist))
		ret = ks_compile_guard_transaction(policy, table, persist, &text);
	if (ret == 0 && then) {
		ks_buf_puts(&text, then);
		ret = text.err;
	}
	if (ret < 0) {
		snprintf(err, KS_ERR_LEN, "cannot compile the ruleset: '%s'",
			 ret == -ENOMEM ? strerror(ENOMEM) : "inconsistent policy");
		goto cleanup;
	}
	ret = ks_nft_apply(text.data, table, err);
	if (ret == 0 || ret == -ENOTRECOVERABLE)
		record_applied(policy, table, ret == 0);
	if (ret == 0)
		sync_units(policy, table);
	else if (ret == -EUCLEAN && ks_state_clear(state_err) < 0)
		cli_warn("%s (status may show the previous policy)", state_err);
cleanup:
	ks_buf_free(&text);
	return ret;
}

int cli_apply(struct ks_policy *policy, const struct ks_options *opts)
{
	char err[KS_ERR_LEN] = "";
	const char *table;
	int lock = -1, ret;

	ret = cli_begin(policy->state == KS_STATE_ENABLED ? "enable" : "block", &table, &lock);
	if (ret)
		return ret;
	ret = cli_apply_locked(policy, table, false, err);
	if (ret < 0) {
		ret = cli_error(ret == -EDOM ? KS_EXIT_USAGE : KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	if (opts->persist && ks_persist_save(policy, err) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "applied, but not persisted for the next boot: %s", err);
		goto cleanup;
	}
	ret = KS_EXIT_OK;
	if (opts->json) {
		json_t *obj = json_object();

		json_object_set_new(obj, "applied", json_true());
		json_object_set_new(obj, "persisted", json_boolean(opts->persist));
		json_object_set_new(obj, "policy", cli_policy_json(policy));
		ret = cli_print_json(obj);
	}
cleanup:
	ks_unlock(lock);
	return ret;
}
