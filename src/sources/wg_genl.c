// SPDX-License-Identifier: GPL-2.0-or-later
/* Kernel WireGuard over generic netlink (libmnl): WG_CMD_GET_DEVICE. */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "killswitch/array.h"
#include "killswitch/mnl.h"
#include "killswitch/parse.h"
#include "killswitch/sources.h"

struct walk {
	struct ks_wg_device *dev;
	char *err;
	int ret;
};

static int bad(struct walk *w, const char *what)
{
	snprintf(w->err, KS_ERR_LEN, "%s: '%s'", what, "kernel WireGuard reply");
	w->ret = -EINVAL;
	return MNL_CB_ERROR;
}

/* struct sockaddr_in or sockaddr_in6, as WGPEER_A_ENDPOINT carries it. */
static int endpoint_of(const struct nlattr *attr, struct ks_endpoint *ep)
{
	const void *data = mnl_attr_get_payload(attr);
	size_t len = mnl_attr_get_payload_len(attr);
	sa_family_t family;

	memset(ep, 0, sizeof(*ep));
	if (len < sizeof(family))
		return -EINVAL;
	memcpy(&family, data, sizeof(family));
	if (family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in sin;

		memcpy(&sin, data, sizeof(sin));
		ep->addr.family = AF_INET;
		ep->addr.v4 = sin.sin_addr;
		ep->port = ntohs(sin.sin_port);
	} else if (family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 sin6;

		memcpy(&sin6, data, sizeof(sin6));
		ep->addr.family = AF_INET6;
		ep->addr.v6 = sin6.sin6_addr;
		ep->port = ntohs(sin6.sin6_port);
	} else {
		return -EINVAL;
	}
	ep->proto = IPPROTO_UDP;
	return 0;
}

static int allowed_ip_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, WGALLOWEDIP_A_MAX) < 0)
		return MNL_CB_OK;
	if ((type == WGALLOWEDIP_A_FAMILY && mnl_attr_validate(attr, MNL_TYPE_U16) < 0) ||
	    (type == WGALLOWEDIP_A_CIDR_MASK && mnl_attr_validate(attr, MNL_TYPE_U8) < 0))
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

/* One WGPEER_A_ALLOWEDIPS entry, through the strict CIDR parser like a command-line --protect. */
static int allowed_ip_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr *tb[WGALLOWEDIP_A_MAX + 1] = { 0 };
	struct walk *w = data;
	char text[KS_CIDR_STRLEN], check[KS_CIDR_STRLEN * 2];
	struct ks_cidr cidr = { 0 };
	size_t len;

	if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0 || mnl_attr_parse_nested(attr, allowed_ip_attr_cb, tb) < 0 ||
	    !tb[WGALLOWEDIP_A_FAMILY] || !tb[WGALLOWEDIP_A_IPADDR] || !tb[WGALLOWEDIP_A_CIDR_MASK])
		return bad(w, "malformed allowed IP");
	cidr.addr.family = mnl_attr_get_u16(tb[WGALLOWEDIP_A_FAMILY]);
	len = mnl_attr_get_payload_len(tb[WGALLOWEDIP_A_IPADDR]);
	if (cidr.addr.family == AF_INET && len >= sizeof(cidr.addr.v4))
		memcpy(&cidr.addr.v4, mnl_attr_get_payload(tb[WGALLOWEDIP_A_IPADDR]), sizeof(cidr.addr.v4));
	else if (cidr.addr.family == AF_INET6 && len >= sizeof(cidr.addr.v6))
		memcpy(&cidr.addr.v6, mnl_attr_get_payload(tb[WGALLOWEDIP_A_IPADDR]), sizeof(cidr.addr.v6));
	else
		return bad(w, "malformed allowed IP");
	cidr.prefix = mnl_attr_get_u8(tb[WGALLOWEDIP_A_CIDR_MASK]);
	if (cidr.prefix > (cidr.addr.family == AF_INET ? 32 : 128))
		return bad(w, "malformed allowed IP");
	ks_format_cidr(&cidr, text);
	if (ks_parse_cidr(text, &cidr) < 0) {
		snprintf(w->err, KS_ERR_LEN, "WireGuard device reports an allowed IP killswitch cannot use: '%s'",
			 ks_escape(text, check, sizeof(check)));
		w->ret = -EINVAL;
		return MNL_CB_ERROR;
	}
	w->ret = ks_array_append((void **)&w->dev->allowed_ips, &w->dev->n_allowed_ips, sizeof(cidr), &cidr);
	return w->ret < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

static int peer_cb(const struct nlattr *attr, void *data)
{
	struct walk *w = data;
	struct ks_endpoint ep;
	char text[KS_ENDPOINT_STRLEN], check[KS_ENDPOINT_STRLEN];

	if (mnl_attr_get_type(attr) == WGPEER_A_ALLOWEDIPS) {
		if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0)
			return bad(w, "malformed allowed IPs");
		return mnl_attr_parse_nested(attr, allowed_ip_cb, w);
	}
	if (mnl_attr_get_type(attr) != WGPEER_A_ENDPOINT)
		return MNL_CB_OK;
	if (endpoint_of(attr, &ep) < 0)
		return bad(w, "malformed peer endpoint");
	/* Round-trip through the strict parser: the same rules as a command-line endpoint. */
	ks_format_endpoint(&ep, text);
	if (ks_parse_endpoint(text, &ep) < 0) {
		snprintf(w->err, KS_ERR_LEN, "WireGuard device reports an endpoint killswitch cannot use: '%s'",
			 ks_escape(text, check, sizeof(check)));
		w->ret = -EINVAL;
		return MNL_CB_ERROR;
	}
	w->ret = ks_array_append((void **)&w->dev->endpoints, &w->dev->n_endpoints, sizeof(ep), &ep);
	return w->ret < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

static int peers_cb(const struct nlattr *attr, void *data)
{
	struct walk *w = data;

	if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0)
		return bad(w, "malformed peer");
	return mnl_attr_parse_nested(attr, peer_cb, w);
}

static int device_cb(const struct nlattr *attr, void *data)
{
	struct walk *w = data;

	switch (mnl_attr_get_type(attr)) {
	case WGDEVICE_A_FWMARK:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return bad(w, "malformed fwmark");
		w->dev->fwmark = mnl_attr_get_u32(attr);
		break;
	case WGDEVICE_A_PEERS:
		if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0)
			return bad(w, "malformed peer list");
		return mnl_attr_parse_nested(attr, peers_cb, w);
	}
	return MNL_CB_OK;
}

static int message_cb(const struct nlmsghdr *nlh, void *data)
{
	struct walk *w = data;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct genlmsghdr))
		return bad(w, "truncated message");
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), device_cb, w);
}

int ks_wg_genl_parse(const void *msg, size_t len, struct ks_wg_device *dev, char err[KS_ERR_LEN])
{
	struct walk w = { .dev = dev, .err = err };
	const struct nlmsghdr *nlh = msg;

	/* mnl_nlmsg_ok() compares nlmsg_len as an int: 2 GiB and more would pass. */
	if (len < sizeof(*nlh) || nlh->nlmsg_len > len || !mnl_nlmsg_ok(nlh, (int)len)) {
		snprintf(err, KS_ERR_LEN, "malformed message: '%s'", "kernel WireGuard reply");
		return -EINVAL;
	}
	if (message_cb(nlh, &w) == MNL_CB_ERROR)
		return w.ret ? w.ret : -EINVAL;
	return 0;
}

static int family_cb(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_ID && mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
		*(uint16_t *)data = mnl_attr_get_u16(attr);
	return MNL_CB_OK;
}

static int family_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_cb, data);
}

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct walk *w = data;

	if (ks_wg_genl_parse(nlh, nlh->nlmsg_len, w->dev, w->err) < 0) {
		w->ret = -EINVAL;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

int ks_wg_genl_read(const char *ifname, struct ks_wg_device *dev, char err[KS_ERR_LEN])
{
	char buf[MNL_SOCKET_BUFFER_SIZE], escaped[64];
	struct walk w = { .dev = dev, .err = err };
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct genlmsghdr *genl;
	uint16_t family = 0;
	unsigned seq = (unsigned)time(NULL);
	int ret;

	nl = ks_mnl_open(NETLINK_GENERIC);
	if (!nl) {
		ret = -errno;
		snprintf(err, KS_ERR_LEN, "cannot open generic netlink: '%s'", strerror(-ret));
		goto cleanup;
	}
	nlh = ks_nl_msg(buf, GENL_ID_CTRL, NLM_F_ACK, seq++);
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = CTRL_CMD_GETFAMILY;
	genl->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	ret = ks_mnl_talk(nl, nlh, family_msg_cb, &family);
	if (ret < 0 || !family) {
		ret = -ENOENT;
		snprintf(err, KS_ERR_LEN, "no WireGuard device (no UAPI socket, no kernel WireGuard): '%s'",
			 ks_escape(ifname, escaped, sizeof(escaped)));
		goto cleanup;
	}
	nlh = ks_nl_msg(buf, family, NLM_F_ACK | NLM_F_DUMP, seq);
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = WG_CMD_GET_DEVICE;
	genl->version = WG_GENL_VERSION;
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
	ret = ks_mnl_talk(nl, nlh, dump_cb, &w);
	if (ret < 0 && !w.ret)
		snprintf(err, KS_ERR_LEN, "cannot read the WireGuard device (%s): '%s'", strerror(-ret),
			 ks_escape(ifname, escaped, sizeof(escaped)));
	if (w.ret)
		ret = w.ret;
cleanup:
	if (nl)
		mnl_socket_close(nl);
	return ret;
}
