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

#include "killswitch/mnl.h"
#include "killswitch/netlink.h"
#include "killswitch/nft.h"
#include "killswitch/parse.h"
#include "nft_child.h"

/* An nfnetlink message at buf + len; the caller adds its attributes (and its length to len). */
static struct nlmsghdr *put_msg(char *buf, size_t len, uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id,
				uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + len);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(res_id);
	return nlh;
}

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
	nlh = put_msg(buf, 0, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETCHAIN, NLM_F_DUMP, NFPROTO_INET, 0,
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

/*
 * Set elements go straight over nfnetlink. Before "add element" or "delete
 * element", libnftables 1.0.6 fetches its cache: the tables, chains, sets
 * and objects of the host, and every element of every interval set (the
 * LAN ranges): a millisecond, and a few more per thousand ranges, to change
 * one element. The batch below is what it sends after that.
 */

/* Each field of a concatenation fills whole 32-bit registers, zero-padded: the key the kernel stores. */
static void put_field(struct ks_nft_elem *elem, const void *data, size_t len)
{
	memcpy(elem->key + elem->len, data, len);
	elem->len += (uint8_t)((len + 3) & ~3u);
}

static void put_addr(struct ks_nft_elem *elem, const struct ks_addr *addr)
{
	if (addr->family == AF_INET)
		put_field(elem, &addr->v4, sizeof(addr->v4));
	else
		put_field(elem, &addr->v6, sizeof(addr->v6));
}

void ks_nft_endpoint_elem(const struct ks_endpoint *ep, struct ks_nft_elem *elem)
{
	uint16_t port = htons(ep->port);

	memset(elem, 0, sizeof(*elem));
	elem->set = ep->addr.family == AF_INET ? "endpoints4" : "endpoints6";
	put_addr(elem, &ep->addr);
	put_field(elem, &ep->proto, sizeof(ep->proto));
	put_field(elem, &port, sizeof(port));
}

void ks_nft_endpoint_addr_elem(const struct ks_addr *addr, struct ks_nft_elem *elem)
{
	memset(elem, 0, sizeof(*elem));
	elem->set = addr->family == AF_INET ? "endpoint_addrs4" : "endpoint_addrs6";
	put_addr(elem, addr);
}

#define ELEMS_PER_MSG 256 /* the elements nest's length must fit its 16 bits */

/* One NEWSETELEM or DELSETELEM per run of elements of the same set; returns the messages written. */
static unsigned put_elements(char *buf, size_t *len, const char *table, const struct ks_nft_elem *elems, size_t n,
			     bool add, uint32_t *seq)
{
	unsigned msgs = 0;

	for (size_t i = 0; i < n;) {
		struct nlmsghdr *nlh = put_msg(buf, *len, (NFNL_SUBSYS_NFTABLES << 8) |
						 (add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM),
					       (add ? NLM_F_CREATE : 0) | NLM_F_ACK, NFPROTO_INET, 0, (*seq)++);
		struct nlattr *list;
		size_t in_msg = 0;

		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, elems[i].set);
		list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
		for (const char *set = elems[i].set; i < n && elems[i].set == set && in_msg < ELEMS_PER_MSG; i++, in_msg++) {
			struct nlattr *elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
			struct nlattr *key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);

			mnl_attr_put(nlh, NFTA_DATA_VALUE, elems[i].len, elems[i].key);
			mnl_attr_nest_end(nlh, key);
			mnl_attr_nest_end(nlh, elem);
		}
		mnl_attr_nest_end(nlh, list);
		*len += NLMSG_ALIGN(nlh->nlmsg_len);
		msgs++;
	}
	return msgs;
}

/*
 * nfnetlink runs a batch inside sendmsg(): every answer is queued when it
 * returns, so nothing here waits. Each message asked for an ack; a failed
 * batch answers with the error first.
 */
static int read_acks(struct mnl_socket *nl, unsigned expected)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned acks = 0;

	while (acks < expected) {
		ssize_t got = recv(mnl_socket_get_fd(nl), buf, sizeof(buf), MSG_DONTWAIT);
		int len = (int)got;

		if (got < 0)
			return errno == EAGAIN ? -EIO : -errno;
		for (const struct nlmsghdr *nlh = (const void *)buf; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
				return -EBADMSG;
			if (e->error)
				return e->error;
			acks++;
		}
	}
	return 0;
}

int ks_nft_set_elements(const char *table, const struct ks_nft_elem *elems, size_t n, bool add, char err[KS_ERR_LEN])
{
	struct mnl_socket *nl = NULL;
	struct nlmsghdr *nlh;
	size_t len = 0, size = 512 + n * 128;
	uint32_t seq = 1;
	unsigned msgs;
	char *buf;
	int ret;

	if (!n)
		return 0;
	buf = calloc(1, size);
	if (!buf) {
		snprintf(err, KS_ERR_LEN, "cannot allocate the change: '%s'", strerror(ENOMEM));
		return -ENOMEM;
	}
	/* One transaction: the kernel applies every element or none. */
	nlh = put_msg(buf, len, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, seq++);
	len += NLMSG_ALIGN(nlh->nlmsg_len);
	msgs = put_elements(buf, &len, table, elems, n, add, &seq);
	nlh = put_msg(buf, len, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, seq++);
	len += NLMSG_ALIGN(nlh->nlmsg_len);
	nl = ks_mnl_open(NETLINK_NETFILTER);
	if (!nl) {
		ret = -errno;
		goto fail;
	}
	ret = mnl_socket_sendto(nl, buf, len) < 0 ? -errno : read_acks(nl, msgs);
	if (ret < 0)
		goto fail;
	goto cleanup;
fail:
	snprintf(err, KS_ERR_LEN, "nftables refused the change; nothing changed: '%s'", strerror(-ret));
cleanup:
	if (nl)
		mnl_socket_close(nl);
	free(buf);
	return ret;
}

int ks_nft_remove(const char *table, bool *was_active, char err[KS_ERR_LEN])
{
	char cmd[128], read_err[KS_ERR_LEN] = "", how[KS_ERR_LEN];
	struct ks_nft_status status;
	int ret;

	ret = read_status(table, false, &status, err);
	if (ret < 0)
		return ret;
	*was_active = status.active;
	/* Create-then-delete in one transaction: succeeds whether or not the table exists. */
	snprintf(cmd, sizeof(cmd), "table inet %s\ndelete table inet %s\n", table, table);
	ret = ks_nft_run_isolated(cmd, "nftables refused to remove the table", err);
	if (ret != -ECHILD)
		return ret;
	/* libnftables died on the way: the kernel says whether the table went. */
	memcpy(how, err, sizeof(how));
	if (read_status(table, false, &status, read_err) < 0) {
		snprintf(err, KS_ERR_LEN, "libnftables failed (%.300s), and the table cannot be listed: %.150s", how,
			 read_err);
		return -EUCLEAN;
	}
	if (status.active) {
		snprintf(err, KS_ERR_LEN, "libnftables failed; the table is still in place: %.400s", how);
		return -EIO;
	}
	return 0;
}
