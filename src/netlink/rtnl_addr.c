// SPDX-License-Identifier: GPL-2.0-or-later
/* The tunnel interfaces' addresses over rtnetlink, and the networks they make protected. */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "killswitch/mnl.h"
#include "killswitch/netlink.h"
#include "killswitch/protect.h"

struct dump {
	struct ks_policy *policy;
	unsigned *ifindexes;
	const char **names; /* of the tunnels, by the same index */
	size_t n_ifindexes;
	int err;
};

static int addr_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, IFA_MAX) < 0)
		return MNL_CB_OK;
	if (type == IFA_ADDRESS || type == IFA_LOCAL) {
		if (mnl_attr_validate(attr, MNL_TYPE_BINARY) < 0)
			return MNL_CB_ERROR;
		tb[type] = attr;
	}
	return MNL_CB_OK;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFA_MAX + 1] = { 0 };
	struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct dump *dump = data;
	const struct nlattr *attr;
	struct ks_addr addr = { 0 };
	struct ks_cidr net;
	const char *name = NULL;

	for (size_t i = 0; i < dump->n_ifindexes; i++)
		if (dump->ifindexes[i] == ifa->ifa_index)
			name = dump->names[i];
	if (!name || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, tb) < 0)
		return MNL_CB_ERROR;
	/* On point-to-point links IFA_LOCAL is ours and IFA_ADDRESS the peer's. */
	attr = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!attr)
		return MNL_CB_OK;
	addr.family = ifa->ifa_family;
	if (addr.family == AF_INET) {
		if (mnl_attr_get_payload_len(attr) != sizeof(addr.v4))
			return MNL_CB_ERROR;
		memcpy(&addr.v4, mnl_attr_get_payload(attr), sizeof(addr.v4));
	} else {
		if (mnl_attr_get_payload_len(attr) != sizeof(addr.v6))
			return MNL_CB_ERROR;
		memcpy(&addr.v6, mnl_attr_get_payload(attr), sizeof(addr.v6));
		if (IN6_IS_ADDR_LINKLOCAL(&addr.v6))
			return MNL_CB_OK;
	}
	/* The tunnel's network (10.66.0.2/24: 10.66.0.0/24) is the VPN's: protected. */
	if (ks_policy_add_tunnel_addr(dump->policy, &addr) < 0 ||
	    (ks_protect_from_address(&addr, ifa->ifa_prefixlen, &net) == 0 &&
	     ks_policy_add_protect(dump->policy, &net, KS_PROTECT_TUNNEL, name) < 0)) {
		dump->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

int ks_rtnl_tunnel_addrs(struct ks_policy *policy)
{
	unsigned ifindexes[64];
	const char *names[64];
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct dump dump = { .policy = policy, .ifindexes = ifindexes, .names = names };
	struct mnl_socket *nl = NULL;
	struct nlmsghdr *nlh;
	struct rtgenmsg *rt;
	int ret = 0;

	for (size_t i = 0; i < policy->n_tunnels && dump.n_ifindexes < 64; i++) {
		unsigned idx = if_nametoindex(policy->tunnels[i].name);

		if (!idx)
			continue;
		names[dump.n_ifindexes] = policy->tunnels[i].name;
		ifindexes[dump.n_ifindexes++] = idx;
	}
	if (!dump.n_ifindexes)
		goto cleanup;

	nlh = ks_nl_msg(buf, RTM_GETADDR, NLM_F_DUMP, (unsigned)time(NULL));
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtgen_family = AF_UNSPEC;

	nl = ks_mnl_open(NETLINK_ROUTE);
	if (!nl) {
		ret = -errno;
		goto cleanup;
	}
	ret = ks_mnl_talk(nl, nlh, addr_cb, &dump);
	if (ret < 0 && dump.err)
		ret = dump.err;
cleanup:
	if (nl)
		mnl_socket_close(nl);
	return ret;
}
