// SPDX-License-Identifier: GPL-2.0-or-later
#include <arpa/inet.h>
#include <errno.h>
/* glibc's before the kernel's: it tells linux/in.h which structs it already has. */
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "killswitch/buf.h"
#include "killswitch/compile.h"
#include "killswitch/endpoint_change.h"
#include "killswitch/mnl.h"
#include "killswitch/netlink.h"
#include "killswitch/nft.h"
#include "killswitch/parse.h"
#include "nft_child.h"

struct chains {
	const char *table;
	struct ks_nft_status *status;
	bool seen[16];
	bool problem; /* the first one is kept */
};

static int chain_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, NFTA_CHAIN_MAX) < 0)
		return MNL_CB_OK;
	if (((type == NFTA_CHAIN_TABLE || type == NFTA_CHAIN_NAME) && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0) ||
	    (type == NFTA_CHAIN_POLICY && mnl_attr_validate(attr, MNL_TYPE_U32) < 0))
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

static const char *policy_name(const struct nlattr *policy)
{
	if (!policy)
		return "none"; /* not a base chain */
	switch (ntohl(mnl_attr_get_u32(policy))) {
	case NF_ACCEPT:
		return "accept";
	case NF_DROP:
		return "drop";
	default:
		return "other";
	}
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NFTA_CHAIN_MAX + 1] = { 0 };
	struct chains *c = data;
	const char *name, *policy;

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), chain_attr_cb, tb) < 0)
		return MNL_CB_ERROR;
	if (!tb[NFTA_CHAIN_TABLE] || !tb[NFTA_CHAIN_NAME] || strcmp(mnl_attr_get_str(tb[NFTA_CHAIN_TABLE]), c->table))
		return MNL_CB_OK;
	c->status->active = true;
	name = mnl_attr_get_str(tb[NFTA_CHAIN_NAME]);
	policy = policy_name(tb[NFTA_CHAIN_POLICY]);
	for (unsigned s = 0; s < ks_n_chain_specs; s++) {
		if (strcmp(name, ks_chain_specs[s].name))
			continue;
		if (strcmp(policy, ks_chain_specs[s].policy) && !c->problem) {
			c->problem = true;
			snprintf(c->status->problem, sizeof(c->status->problem), "chain %s has policy %s, not %s", name,
				 policy, ks_chain_specs[s].policy);
		}
		c->seen[s] = true;
	}
	return MNL_CB_OK;
}

/*
 * Checks the chains of table against ks_chain_specs; fills status->active,
 * complete and problem. A chain dump over nfnetlink: libnftables would
 * need a context and a cache for the same six names and policies.
 */
static int check_chains(const char *table, struct ks_nft_status *status, char err[KS_ERR_LEN])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct chains c = { .table = table, .status = status };
	struct mnl_socket *nl = ks_mnl_open(NETLINK_NETFILTER);
	struct nlmsghdr *nlh;
	int ret;

	if (!nl) {
		ret = -errno;
		goto fail;
	}
	/* Chain dumps take no table filter: every inet chain comes, ours are picked out. */
	nlh = ks_nfnl_msg(buf, 0, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETCHAIN, NLM_F_DUMP, NFPROTO_INET, 0,
		      (uint32_t)time(NULL));
	ret = ks_mnl_talk(nl, nlh, chain_cb, &c);
	mnl_socket_close(nl);
	if (ret < 0)
		goto fail;
	for (unsigned s = 0; s < ks_n_chain_specs && !c.problem; s++) {
		if (!c.seen[s]) {
			c.problem = true;
			snprintf(status->problem, sizeof(status->problem), "chain %s is missing", ks_chain_specs[s].name);
		}
	}
	status->complete = !c.problem;
	return 0;
fail:
	snprintf(err, KS_ERR_LEN, "nftables refused to list the table: '%s'", strerror(-ret));
	return ret;
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
	if (ret == -ECHILD) {
		char how[KS_ERR_LEN];

		memcpy(how, err, sizeof(how));
		snprintf(err, KS_ERR_LEN, "whether the endpoint sets changed cannot be told: %.400s", how);
	}
cleanup:
	ks_buf_free(&text);
	return ret;
}
