// SPDX-License-Identifier: GPL-2.0-or-later
/* The default routes' gateways off the tunnels over rtnetlink: where a captive portal lives (killswitch portal). */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <time.h>

#include "killswitch/mnl.h"
#include "killswitch/netlink.h"

struct gateways {
	const struct ks_ifname *skip;
	size_t n_skip;
	struct ks_gateway *out;
	size_t max, n;
};

static int route_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, RTA_MAX) < 0)
		return MNL_CB_OK;
	if (type == RTA_OIF && mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return MNL_CB_ERROR;
	if (type == RTA_GATEWAY || type == RTA_OIF)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct gateways *g = data;
	struct ks_gateway gw = { 0 };
	size_t len;

	if (rtm->rtm_dst_len != 0 || rtm->rtm_type != RTN_UNICAST ||
	    (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6))
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, tb) < 0)
		return MNL_CB_ERROR;
	/* A tunnel's default route has no gateway: it is a point-to-point link. */
	if (!tb[RTA_GATEWAY] || !tb[RTA_OIF])
		return MNL_CB_OK;
	gw.ifindex = mnl_attr_get_u32(tb[RTA_OIF]);
	if (!if_indextoname(gw.ifindex, gw.iface.name))
		return MNL_CB_OK;
	for (size_t i = 0; i < g->n_skip; i++)
		if (!strcmp(g->skip[i].name, gw.iface.name))
			return MNL_CB_OK;
	gw.addr.family = rtm->rtm_family;
	len = mnl_attr_get_payload_len(tb[RTA_GATEWAY]);
	if (len != (gw.addr.family == AF_INET ? sizeof(gw.addr.v4) : sizeof(gw.addr.v6)))
		return MNL_CB_ERROR;
	memcpy(gw.addr.family == AF_INET ? (void *)&gw.addr.v4 : (void *)&gw.addr.v6,
	       mnl_attr_get_payload(tb[RTA_GATEWAY]), len);
	for (size_t i = 0; i < g->n; i++)
		if (!memcmp(&g->out[i], &gw, sizeof(gw)))
			return MNL_CB_OK;
	if (g->n < g->max)
		g->out[g->n++] = gw;
	return MNL_CB_OK;
}

int ks_rtnl_default_gateways(const struct ks_ifname *skip, size_t n_skip, struct ks_gateway *out, size_t max,
			     size_t *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct gateways g = { .skip = skip, .n_skip = n_skip, .out = out, .max = max };
	struct mnl_socket *nl = NULL;
	int ret = 0;

	*n = 0;
	nl = ks_mnl_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	/* Every table: a VPN's policy routing may keep the physical default route outside main. */
	for (int f = 0; f < 2 && ret == 0; f++) {
		struct nlmsghdr *nlh = ks_nl_msg(buf, RTM_GETROUTE, NLM_F_DUMP, (unsigned)time(NULL) + (unsigned)f);
		struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

		rtm->rtm_family = f ? AF_INET6 : AF_INET;
		ret = ks_mnl_talk(nl, nlh, route_cb, &g);
	}
	mnl_socket_close(nl);
	*n = g.n;
	return ret;
}
