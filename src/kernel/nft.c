// SPDX-License-Identifier: GPL-2.0-or-later
/* The kernel seam's operations (nft.h): apply and verify, remove, change the endpoints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "killswitch/buf.h"
#include "killswitch/compile.h"
#include "killswitch/endpoint_change.h"
#include "killswitch/netlink.h"
#include "killswitch/portal.h"
#include "killswitch/nft.h"
#include "killswitch/parse.h"
#include "nft_child.h"

/*
 * Checks the chains of table against ks_chain_specs; fills status->active,
 * complete and problem. Over nfnetlink: libnftables would need a context
 * and a cache for the same six names and policies.
 */
static int check_chains(const char *table, struct ks_nft_status *status, char err[KS_ERR_LEN])
{
	struct ks_nfnl_chain chains[16];
	bool problem = false;
	size_t n = 0;
	int ret;

	ret = ks_nfnl_chains(table, chains, sizeof(chains) / sizeof(chains[0]), &n);
	if (ret < 0) {
		snprintf(err, KS_ERR_LEN, "nftables refused to list the table: '%s'", strerror(-ret));
		return ret;
	}
	status->active = n > 0;
	for (unsigned s = 0; s < ks_n_chain_specs && !problem; s++) {
		const struct ks_nfnl_chain *found = NULL;

		for (size_t i = 0; i < n && !found; i++)
			if (!strcmp(chains[i].name, ks_chain_specs[s].name))
				found = &chains[i];
		problem = true;
		if (!found)
			snprintf(status->problem, sizeof(status->problem), "chain %s is missing", ks_chain_specs[s].name);
		/* An idle chain (no hook, no policy: "none") is how the compiler leaves one that would be empty. */
		else if (strcmp(found->policy, ks_chain_specs[s].policy) &&
			 !(ks_chain_specs[s].may_idle && !strcmp(found->policy, "none")))
			snprintf(status->problem, sizeof(status->problem), "chain %s has policy %s, not %s",
				 found->name, found->policy, ks_chain_specs[s].policy);
		else
			problem = false;
	}
	status->complete = !problem;
	return 0;
}

/* Through nfnetlink: libnftables would fetch every set element to list four counters. */
static int read_counters(const char *table, struct ks_nft_status *status, char err[KS_ERR_LEN])
{
	struct ks_nfnl_counter counters[KS_COUNTER_MAX];
	int ret = ks_nfnl_counters(table, ks_counter_names, KS_COUNTER_MAX, counters);

	if (ret < 0) {
		snprintf(err, KS_ERR_LEN, "cannot read the counters: '%s'", strerror(-ret));
		return ret;
	}
	for (unsigned c = 0; c < KS_COUNTER_MAX; c++) {
		status->counters[c].present = counters[c].present;
		status->counters[c].packets = counters[c].packets;
		status->counters[c].bytes = counters[c].bytes;
	}
	return 0;
}

/* Apply needs only the chains; status also reads the counters. */
static int read_status(const char *table, bool with_counters, struct ks_nft_status *status, char err[KS_ERR_LEN])
{
	int ret;

	memset(status, 0, sizeof(*status));
	ret = check_chains(table, status, err);
	if (ret < 0 || !status->active || !with_counters)
		return ret;
	return read_counters(table, status, err);
}

int ks_nft_status(const char *table, struct ks_nft_status *status, char err[KS_ERR_LEN])
{
	return read_status(table, true, status, err);
}

/* The handle of our table, 0 when there is none. */
static int table_handle(const char *table, uint64_t *handle)
{
	int ret = ks_nfnl_table_handle(table, handle);

	if (ret == -ENOENT) {
		*handle = 0;
		return 0;
	}
	return ret;
}

/*
 * libnftables died (how): did the kernel take the transaction? It always
 * re-creates the table, and the kernel numbers tables as it creates them,
 * so a table with another handle than before is the new one. Another
 * program's commits meanwhile do not fool this (they would the nftables
 * generation).
 */
static int after_child_died(const char *table, uint64_t before, char err[KS_ERR_LEN])
{
	char how[KS_ERR_LEN];
	uint64_t after;
	int ret;

	memcpy(how, err, sizeof(how));
	ret = table_handle(table, &after);
	if (ret < 0) {
		snprintf(err, KS_ERR_LEN, "libnftables failed (%.300s), and whether nftables committed cannot be told: '%s'",
			 how, strerror(-ret));
		return -EUCLEAN;
	}
	if (!after && before) {
		snprintf(err, KS_ERR_LEN, "libnftables failed, and the table is gone (removed by another program?): %.400s",
			 how);
		return -EIO;
	}
	if (!after || after == before) {
		snprintf(err, KS_ERR_LEN, "libnftables failed before committing; the previous ruleset is unchanged: %.400s",
			 how);
		return -EIO;
	}
	snprintf(err, KS_ERR_LEN, "nftables committed the ruleset, but libnftables failed afterwards: %.400s", how);
	return -ENOTRECOVERABLE;
}

int ks_nft_apply(const char *transaction, const char *table, char err[KS_ERR_LEN])
{
	char read_err[KS_ERR_LEN] = "";
	struct ks_nft_status status;
	uint64_t before = 0;
	int ret;

	/*
	 * The handle, for telling whether a child that dies committed; also the
	 * permission probe (nfnetlink says EPERM before libnftables would print
	 * its own lines). In process (watch, which probed at its start) there is
	 * no child, and this request right after another program deleted the
	 * table was seen to wait 12 ms.
	 */
	ret = ks_nft_child_used() ? table_handle(table, &before) : 0;
	if (ret < 0) {
		snprintf(err, KS_ERR_LEN, "nftables refused the ruleset; the previous one is unchanged: '%s'",
			 strerror(-ret));
		return ret;
	}
	ret = ks_nft_run_isolated(transaction, "nftables refused the ruleset; the previous one is unchanged", err);
	if (ret == -ECHILD)
		ret = after_child_died(table, before, err);
	if (ret < 0 && ret != -ENOTRECOVERABLE)
		return ret;
	/* Committed: from here on every failure says so. */
	if (read_status(table, false, &status, read_err) < 0) {
		if (!ret)
			snprintf(err, KS_ERR_LEN, "nftables committed the ruleset, but it cannot be read back: %s", read_err);
		return -ENOTRECOVERABLE;
	}
	if (!status.active || !status.complete) {
		snprintf(err, KS_ERR_LEN, "nftables committed the ruleset, but the table read back is not whole: '%s'",
			 status.active ? status.problem : "table missing");
		return -ENOTRECOVERABLE;
	}
	return ret;
}

int ks_nft_remove(const char *table, bool *was_active, char err[KS_ERR_LEN])
{
	char read_err[KS_ERR_LEN] = "", how[KS_ERR_LEN];
	struct ks_buf cmd = KS_BUF_INIT;
	struct ks_nft_status status;
	bool owner, persist = false;
	int ret;

	ret = read_status(table, false, &status, err);
	if (ret < 0)
		goto cleanup;
	*was_active = status.active;
	/*
	 * Create-then-delete in one transaction: succeeds whether or not the
	 * table exists. The guard goes in the same one (through watch, its
	 * owner, when it runs; a guard another process owns refuses it all).
	 */
	ks_buf_printf(&cmd, "table inet %s\ndelete table inet %s\n", table, table);
	/* And the portal's routing and NAT, should a portal have been opened since the last apply. */
	ret = ks_compile_portal_table_removal(table, &cmd);
	if (ret < 0) {
		snprintf(err, KS_ERR_LEN, "cannot name the portal's table: '%s'", table);
		goto cleanup;
	}
	owner = ks_nft_guarded(&persist);
	ret = ks_compile_guard_removal(table, owner, persist, &cmd);
	if (ret < 0) {
		snprintf(err, KS_ERR_LEN, "cannot name the guard table: '%s'", table);
		goto cleanup;
	}
	ret = ks_nft_run_isolated(cmd.data, "nftables refused to remove the table", err);
	if (ret != -ECHILD)
		goto cleanup;
	/* libnftables died on the way: the kernel says whether the table went. */
	memcpy(how, err, sizeof(how));
	if (read_status(table, false, &status, read_err) < 0) {
		snprintf(err, KS_ERR_LEN, "libnftables failed (%.300s), and the table cannot be listed: %.150s", how,
			 read_err);
		ret = -EUCLEAN;
		goto cleanup;
	}
	ret = 0;
	if (status.active) {
		snprintf(err, KS_ERR_LEN, "libnftables failed; the table is still in place: %.400s", how);
		ret = -EIO;
	}
cleanup:
	ks_buf_free(&cmd);
	return ret;
}

/* Over nfnetlink: the endpoints' elements, then their addresses'. */
static int change_elements(const char *table, const struct ks_endpoint_change *change, char err[KS_ERR_LEN])
{
	struct ks_nft_elem *elems = calloc(change->n + change->n_addrs + 1, sizeof(*elems));
	size_t n = 0;
	int ret;

	if (!elems) {
		snprintf(err, KS_ERR_LEN, "cannot compile the change: '%s'", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (size_t i = 0; i < change->n; i++)
		ks_nft_endpoint_elem(&change->eps[i], &elems[n++]);
	for (size_t i = 0; i < change->n_addrs; i++)
		ks_nft_endpoint_addr_elem(&change->addrs[i], &elems[n++]);
	ret = ks_nft_set_elements(table, elems, n, change->add, err);
	free(elems);
	return ret;
}

int ks_nft_change_endpoints(const char *table, const struct ks_endpoint_change *change, char err[KS_ERR_LEN])
{
	struct ks_buf text = KS_BUF_INIT;
	int ret;

	if (!ks_nft_guarded(NULL))
		return change_elements(table, change, err);
	/* The guard's owner changes both tables' sets in one transaction. */
	ret = ks_compile_endpoint_change(change, table, false, &text);
	if (ret == 0)
		ret = ks_compile_endpoint_change(change, table, true, &text);
	if (ret < 0) {
		snprintf(err, KS_ERR_LEN, "cannot compile the change: '%s'", strerror(-ret));
		goto cleanup;
	}
	if (!text.len)
		goto cleanup;
	ret = ks_nft_run_isolated(text.data, "nftables refused the endpoint change; nothing changed", err);
	/*
	 * watch went between the link and this change (its guard with it): the
	 * text names a guard that is gone, and would fail here whole. The table alone.
	 */
	if (ret == -ENOENT && !ks_nft_guarded(NULL)) {
		err[0] = '\0';
		ret = change_elements(table, change, err);
		goto cleanup;
	}
	if (ret == -ECHILD) {
		char how[KS_ERR_LEN];

		memcpy(how, err, sizeof(how));
		snprintf(err, KS_ERR_LEN, "whether the endpoint sets changed cannot be told: %.400s", how);
	}
cleanup:
	ks_buf_free(&text);
	return ret;
}
