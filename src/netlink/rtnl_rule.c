// SPDX-License-Identifier: GPL-2.0-or-later
/* Policy routing over rtnetlink (killswitch routing add|del): wg-quick's rules or include mode's, and the tunnel's default route. */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <time.h>

#include "killswitch/mnl.h"
#include "killswitch/netlink.h"

static struct nlmsghdr *header(char *buf, uint16_t type, uint16_t flags)
{
	static unsigned seq;

	seq = seq ? seq + 1 : (unsigned)time(NULL);
	return ks_nl_msg(buf, type, NLM_F_ACK | flags, seq);
}

/*
 * The three rules killswitch routing writes: wg-quick's "not fwmark MARK
 * table T" and "table main suppress_prefixlength 0", and include mode's
 * "fwmark MARK table T".
 */
enum rule_kind {
	RULE_NOT_FWMARK,
	RULE_SUPPRESS,
	RULE_FWMARK,
};

static int rule(struct mnl_socket *nl, bool add, int family, enum rule_kind kind, uint32_t fwmark, uint32_t table)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = header(buf, add ? RTM_NEWRULE : RTM_DELRULE, add ? NLM_F_CREATE : 0);
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));

	frh->family = (uint8_t)family;
	frh->action = FR_ACT_TO_TBL;
	if (kind == RULE_SUPPRESS) {
		mnl_attr_put_u32(nlh, FRA_TABLE, RT_TABLE_MAIN);
		mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, 0);
	} else {
		if (kind == RULE_NOT_FWMARK)
			frh->flags = FIB_RULE_INVERT;
		mnl_attr_put_u32(nlh, FRA_FWMARK, fwmark);
		mnl_attr_put_u32(nlh, FRA_FWMASK, 0xffffffffu);
		mnl_attr_put_u32(nlh, FRA_TABLE, table);
	}
	return ks_mnl_talk(nl, nlh, NULL, NULL);
}

static int default_route(struct mnl_socket *nl, bool add, int family, unsigned ifindex, uint32_t table)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = header(buf, add ? RTM_NEWROUTE : RTM_DELROUTE, add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_table = RT_TABLE_UNSPEC;
	rtm->rtm_protocol = add ? RTPROT_BOOT : 0; /* 0: delete whoever added it */
	rtm->rtm_scope = add ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (ifindex)
		mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	return ks_mnl_talk(nl, nlh, NULL, NULL);
}

#define ANY_FWMARK 0xffffffffu /* a rule_match for any rule of its kind, whatever its mark and table */

struct rule_match {
	enum rule_kind kind;
	uint32_t fwmark;
	uint32_t table;
	bool found;
};

static int rule_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, FRA_MAX) < 0)
		return MNL_CB_OK;
	if ((type == FRA_FWMARK || type == FRA_TABLE || type == FRA_SUPPRESS_PREFIXLEN) &&
	    mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[FRA_MAX + 1] = { 0 };
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	struct rule_match *m = data;
	bool inverted = frh->flags & FIB_RULE_INVERT;
	uint32_t table;

	if (mnl_attr_parse(nlh, sizeof(*frh), rule_attr_cb, tb) < 0)
		return MNL_CB_ERROR;
	table = tb[FRA_TABLE] ? mnl_attr_get_u32(tb[FRA_TABLE]) : frh->table;
	if (frh->action != FR_ACT_TO_TBL)
		return MNL_CB_OK;
	if (m->kind == RULE_SUPPRESS)
		m->found |= table == RT_TABLE_MAIN && tb[FRA_SUPPRESS_PREFIXLEN] &&
			    mnl_attr_get_u32(tb[FRA_SUPPRESS_PREFIXLEN]) == 0;
	else if (tb[FRA_FWMARK] && inverted == (m->kind == RULE_NOT_FWMARK))
		m->found |= m->fwmark == ANY_FWMARK ||
			    (table == m->table && mnl_attr_get_u32(tb[FRA_FWMARK]) == m->fwmark);
	return MNL_CB_OK;
}

/* The kernel gives a rule without a priority a fresh one, so NLM_F_EXCL never sees a twin: look. */
static int rule_exists(struct mnl_socket *nl, int family, enum rule_kind kind, uint32_t fwmark, uint32_t table,
		       bool *found)
{
	char buf[8192];
	struct rule_match m = { .kind = kind, .fwmark = fwmark, .table = table };
	struct nlmsghdr *nlh = header(buf, RTM_GETRULE, NLM_F_DUMP);
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	int ret;

	nlh->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
	frh->family = (uint8_t)family;
	ret = ks_mnl_talk(nl, nlh, rule_cb, &m);
	if (ret < 0)
		return ret;
	*found = m.found;
	return 0;
}

/* Adds the rule unless an equal one is there. */
static int ensure_rule(struct mnl_socket *nl, int family, enum rule_kind kind, uint32_t fwmark, uint32_t table)
{
	bool found = false;
	int ret = rule_exists(nl, family, kind, fwmark, table, &found);

	if (ret < 0 || found)
		return ret;
	return rule(nl, true, family, kind, fwmark, table);
}

/* A kernel without IPv6 refuses the family: there is nothing to route there. */
static bool no_family(int ret)
{
	return ret == -EAFNOSUPPORT || ret == -EPROTONOSUPPORT;
}

/*
 * The tunnel's default route in table, then rules (ahead of the older ones,
 * each in front of the last: given in the reverse of their final order),
 * for IPv4 and IPv6. names: what each rule is called in errors.
 */
static int routing_add(const char *tunnel, const enum rule_kind *kinds, const char *const (*names)[2], size_t n,
		       uint32_t fwmark, uint32_t table, const char **what)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct mnl_socket *nl = NULL;
	unsigned ifindex;
	int ret = 0;

	*what = "tunnel interface";
	ifindex = if_nametoindex(tunnel);
	if (!ifindex) {
		ret = -ENODEV;
		goto cleanup;
	}
	*what = "rtnetlink socket";
	nl = ks_mnl_open(NETLINK_ROUTE);
	if (!nl) {
		ret = -errno;
		goto cleanup;
	}
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		int f = families[i];

		/* The route first: the rule must never send traffic to an empty table. */
		*what = f == AF_INET ? "IPv4 default route" : "IPv6 default route";
		ret = default_route(nl, true, f, ifindex, table);
		if (no_family(ret))
			continue;
		if (ret < 0 && ret != -EEXIST)
			goto cleanup;
		for (size_t r = 0; r < n; r++) {
			*what = names[r][f == AF_INET6];
			ret = ensure_rule(nl, f, kinds[r], fwmark, table);
			if (ret < 0)
				goto cleanup;
		}
	}
	ret = 0;
cleanup:
	if (nl)
		mnl_socket_close(nl);
	return ret;
}

int ks_rtnl_routing_add(const char *tunnel, uint32_t fwmark, uint32_t table, const char **what)
{
	/* The fwmark rule first, so the suppress_prefixlength rule ends up ahead of it, as wg-quick orders them. */
	static const enum rule_kind kinds[] = { RULE_NOT_FWMARK, RULE_SUPPRESS };
	static const char *const names[][2] = {
		{ "IPv4 fwmark rule", "IPv6 fwmark rule" },
		{ "IPv4 suppress_prefixlength rule", "IPv6 suppress_prefixlength rule" },
	};

	return routing_add(tunnel, kinds, names, 2, fwmark, table, what);
}

/*
 * The rules of kind (every copy), then the tunnel's default route in table,
 * for IPv4 and IPv6: rules first, so nothing is steered to a table being
 * emptied. With wg-quick's rules, the suppress_prefixlength rule too, unless
 * another tunnel's fwmark rule still needs it (it is shared).
 */
static int routing_del(enum rule_kind kind, const char *const names[2], uint32_t fwmark, uint32_t table,
		       const char **what)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct mnl_socket *nl;
	bool others = false;
	int ret = 0;

	*what = "rtnetlink socket";
	nl = ks_mnl_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		int f = families[i];

		*what = names[f == AF_INET6];
		while ((ret = rule(nl, false, f, kind, fwmark, table)) == 0)
			;
		if (no_family(ret))
			continue;
		if (ret != -ENOENT)
			goto cleanup;
		if (kind == RULE_NOT_FWMARK) {
			*what = f == AF_INET ? "IPv4 suppress_prefixlength rule" : "IPv6 suppress_prefixlength rule";
			ret = rule_exists(nl, f, RULE_NOT_FWMARK, ANY_FWMARK, 0, &others);
			if (ret < 0)
				goto cleanup;
			while (!others && (ret = rule(nl, false, f, RULE_SUPPRESS, 0, table)) == 0)
				;
			if (!others && ret != -ENOENT)
				goto cleanup;
		}
		*what = f == AF_INET ? "IPv4 default route" : "IPv6 default route";
		while ((ret = default_route(nl, false, f, 0, table)) == 0)
			;
		if (ret != -ESRCH && ret != -ENOENT)
			goto cleanup;
	}
	ret = 0;
cleanup:
	mnl_socket_close(nl);
	return ret;
}

int ks_rtnl_routing_del(uint32_t fwmark, uint32_t table, const char **what)
{
	static const char *const names[2] = { "IPv4 fwmark rule", "IPv6 fwmark rule" };

	return routing_del(RULE_NOT_FWMARK, names, fwmark, table, what);
}

int ks_rtnl_fwmark_routing_in_use(bool *in_use)
{
	struct mnl_socket *nl = ks_mnl_open(NETLINK_ROUTE);
	bool v4 = false, v6 = false;
	int ret;

	if (!nl)
		return -errno;
	ret = rule_exists(nl, AF_INET, RULE_NOT_FWMARK, ANY_FWMARK, 0, &v4);
	if (ret == 0 && !v4) {
		ret = rule_exists(nl, AF_INET6, RULE_NOT_FWMARK, ANY_FWMARK, 0, &v6);
		if (no_family(ret))
			ret = 0;
	}
	mnl_socket_close(nl);
	*in_use = v4 || v6;
	return ret;
}

/* ---- --include-only: "fwmark MARK lookup TABLE", the included programs' packets into the tunnel ---- */

int ks_rtnl_include_routing_add(const char *tunnel, uint32_t mark, uint32_t table, const char **what)
{
	static const enum rule_kind kinds[] = { RULE_FWMARK };
	static const char *const names[][2] = { { "IPv4 include rule", "IPv6 include rule" } };

	return routing_add(tunnel, kinds, names, 1, mark, table, what);
}

int ks_rtnl_include_routing_del(uint32_t mark, uint32_t table, const char **what)
{
	static const char *const names[2] = { "IPv4 include rule", "IPv6 include rule" };

	return routing_del(RULE_FWMARK, names, mark, table, what);
}
