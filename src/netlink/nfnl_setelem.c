// SPDX-License-Identifier: GPL-2.0-or-later
/* How long the elements of one timeout set of our table have left, over nfnetlink: the portal's time in status. */
#include <endian.h>
#include <errno.h>
#include <libmnl/libmnl.h>
/* glibc's before the kernel's: it tells linux/in.h which structs it already has. */
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <time.h>

#include "killswitch/mnl.h"
#include "killswitch/netlink.h"

struct expiry {
	size_t n;
	uint64_t max_ms;
};

static int elem_cb(const struct nlattr *attr, void *data)
{
	struct expiry *e = data;
	const struct nlattr *a;

	if (mnl_attr_get_type(attr) != NFTA_LIST_ELEM)
		return MNL_CB_OK;
	mnl_attr_for_each_nested(a, attr) {
		uint64_t ms;

		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_EXPIRATION)
			continue;
		if (mnl_attr_validate(a, MNL_TYPE_U64) < 0)
			return MNL_CB_ERROR;
		ms = be64toh(mnl_attr_get_u64(a));
		e->n++;
		if (ms > e->max_ms)
			e->max_ms = ms;
	}
	return MNL_CB_OK;
}

static int list_cb(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) != NFTA_SET_ELEM_LIST_ELEMENTS)
		return MNL_CB_OK;
	return mnl_attr_parse_nested(attr, elem_cb, data);
}

static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct nfgenmsg), list_cb, data);
}

int ks_nfnl_set_expiry(const char *table, const char *set, size_t *n, uint64_t *max_ms)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct expiry e = { 0 };
	struct mnl_socket *nl = ks_mnl_open(NETLINK_NETFILTER);
	struct nlmsghdr *nlh;
	int ret;

	*n = 0;
	*max_ms = 0;
	if (!nl)
		return -errno;
	nlh = ks_nfnl_msg(buf, 0, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM, NLM_F_DUMP, NFPROTO_INET, 0,
			  (unsigned)time(NULL));
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	ret = ks_mnl_talk(nl, nlh, msg_cb, &e);
	mnl_socket_close(nl);
	if (ret == 0) {
		*n = e.n;
		*max_ms = e.max_ms;
	}
	return ret;
}
