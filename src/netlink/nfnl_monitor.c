// SPDX-License-Identifier: GPL-2.0-or-later
/* nftables change events for watch: the subscription, and the pure classifier of each message. */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "killswitch/netlink.h"

struct ks_nfnl_monitor {
	struct mnl_socket *nl;
	char buf[1 << 16];
};

/* Every nftables object message names its table in attribute 1 (NFTA_*_TABLE). */
#define NFTA_ANY_TABLE 1

struct gen_attrs {
	const struct nlattr *tb[NFTA_GEN_MAX + 1];
};

static int gen_attr_cb(const struct nlattr *attr, void *data)
{
	struct gen_attrs *g = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, NFTA_GEN_MAX) < 0)
		return MNL_CB_OK;
	if ((type == NFTA_GEN_ID || type == NFTA_GEN_PROC_PID) && mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return MNL_CB_ERROR;
	if (type == NFTA_GEN_PROC_NAME && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_ERROR;
	g->tb[type] = attr;
	return MNL_CB_OK;
}

static int table_attr_cb(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == NFTA_ANY_TABLE) {
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			return MNL_CB_ERROR;
		*(const char **)data = mnl_attr_get_str(attr);
	}
	return MNL_CB_OK;
}

int ks_nfnl_classify(const void *msg, size_t len, const char *table, struct ks_nft_event *event)
{
	const struct nlmsghdr *nlh = msg;
	const struct nfgenmsg *nfg;
	const char *name = NULL;
	unsigned type;

	memset(event, 0, sizeof(*event));
	/* mnl_nlmsg_ok() compares nlmsg_len as an int: 2 GiB and more would pass. */
	if (len < sizeof(*nlh) || nlh->nlmsg_len > len || !mnl_nlmsg_ok(nlh, (int)len) ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*nfg))
		return -EINVAL;
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
		return 0;
	nfg = mnl_nlmsg_get_payload(nlh);
	type = NFNL_MSG_TYPE(nlh->nlmsg_type);
	if (type == NFT_MSG_NEWGEN) {
		struct gen_attrs g = { 0 };

		if (mnl_attr_parse(nlh, sizeof(*nfg), gen_attr_cb, &g) < 0)
			return -EINVAL;
		event->kind = KS_NFT_EVENT_NEWGEN;
		if (g.tb[NFTA_GEN_PROC_PID])
			event->pid = ntohl(mnl_attr_get_u32(g.tb[NFTA_GEN_PROC_PID]));
		if (g.tb[NFTA_GEN_PROC_NAME])
			strncpy(event->proc, mnl_attr_get_str(g.tb[NFTA_GEN_PROC_NAME]), sizeof(event->proc) - 1);
		return 0;
	}
	if (nfg->nfgen_family != NFPROTO_INET)
		return 0;
	switch (type) {
	case NFT_MSG_NEWTABLE: case NFT_MSG_DELTABLE:
	case NFT_MSG_NEWCHAIN: case NFT_MSG_DELCHAIN:
	case NFT_MSG_NEWRULE: case NFT_MSG_DELRULE:
	case NFT_MSG_NEWSET: case NFT_MSG_DELSET:
	case NFT_MSG_NEWSETELEM: case NFT_MSG_DELSETELEM:
	case NFT_MSG_NEWOBJ: case NFT_MSG_DELOBJ:
	case NFT_MSG_NEWFLOWTABLE: case NFT_MSG_DELFLOWTABLE:
		break;
	default:
		return 0;
	}
	if (mnl_attr_parse(nlh, sizeof(*nfg), table_attr_cb, &name) < 0)
		return -EINVAL;
	if (name && !strcmp(name, table))
		event->kind = KS_NFT_EVENT_TABLE;
	return 0;
}

int ks_nfnl_monitor_open(struct ks_nfnl_monitor **monitor)
{
	struct ks_nfnl_monitor *m = calloc(1, sizeof(*m));
	int group = NFNLGRP_NFTABLES, size = 8 << 20, ret;

	if (!m)
		return -ENOMEM;
	m->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!m->nl || mnl_socket_bind(m->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(m->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
		ret = -errno;
		ks_nfnl_monitor_close(m);
		return ret;
	}
	/* A big table loads as thousands of element notifications; FORCE needs CAP_NET_ADMIN, which we have. */
	if (setsockopt(mnl_socket_get_fd(m->nl), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(mnl_socket_get_fd(m->nl), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	*monitor = m;
	return 0;
}

int ks_nfnl_monitor_next(struct ks_nfnl_monitor *m, int (*cb)(const void *msg, size_t len, void *data),
			 void *data)
{
	ssize_t n = mnl_socket_recvfrom(m->nl, m->buf, sizeof(m->buf));
	int left;

	if (n < 0)
		return -errno;
	left = (int)n;
	/* mnl_nlmsg_ok() compares nlmsg_len as an int: a length of 2 GiB or more would pass it. */
	for (const struct nlmsghdr *nlh = (const void *)m->buf;
	     mnl_nlmsg_ok(nlh, left) && nlh->nlmsg_len <= (unsigned)left; nlh = mnl_nlmsg_next(nlh, &left)) {
		int ret = cb(nlh, nlh->nlmsg_len, data);

		if (ret < 0)
			return ret;
	}
	return 0;
}

int ks_nfnl_monitor_fd(const struct ks_nfnl_monitor *m)
{
	return mnl_socket_get_fd(m->nl);
}

void ks_nfnl_monitor_close(struct ks_nfnl_monitor *m)
{
	if (!m)
		return;
	if (m->nl)
		mnl_socket_close(m->nl);
	free(m);
}
