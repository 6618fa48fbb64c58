// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The captive portal in the table (docs/portal.md): the portal group's sets,
 * always there and empty, and its chain in the filter chains (the grant, or
 * reject); the table's text never depends on whether a portal is open. The
 * grant's route marking and NAT live in a table of their own, TABLE_portal,
 * which `killswitch portal` creates with the grant and the next apply
 * removes: hooked route and NAT chains cost every packet of the host
 * something (docs/performance.md), a portal is open for minutes a day.
 */
#include <errno.h>
#include <stdio.h>

#include "compiler.h"
#include "killswitch/parse.h"
#include "killswitch/portal.h"

void portal_declarations(struct compiler *c)
{
	ks_buf_printf(c->out, "\n\tset %s {\n\t\ttype ipv4_addr . inet_proto . inet_service\n\t\tflags timeout\n\t}\n",
		      KS_SET_PORTAL4);
	ks_buf_printf(c->out, "\n\tset %s {\n\t\ttype ipv6_addr . inet_proto . inet_service\n\t\tflags timeout\n\t}\n",
		      KS_SET_PORTAL6);
	ks_buf_printf(c->out, "\n\tset %s {\n\t\ttype cgroupsv2\n\t}\n", KS_SET_PORTAL_GROUPS);
}

/* The portal group's sockets: v1 by classid, v2 by the group's id in portal_groups; both always. */
static void portal_goto(struct compiler *c, const char *chain)
{
	ks_buf_printf(c->out, "\t\tmeta cgroup 0x%x goto %s\n", KS_PORTAL_CLASSID, chain);
	ks_buf_printf(c->out, "\t\tsocket cgroupv2 level %u @%s goto %s\n", KS_PORTAL_CGROUP_LEVEL,
		      KS_SET_PORTAL_GROUPS, chain);
}

/*
 * output, after the accepts that only the VPN's own traffic and the network's
 * plumbing meet (endpoints, the tunnel's fast lane, DHCP, ND) and before
 * everything that refuses or opens: the portal group meets its own chain
 * for the rest, in every state.
 */
void portal_out(struct compiler *c)
{
	portal_goto(c, KS_CHAIN_PORTAL);
}

/* input, right after loopback: replies of the grant's connections, while the grant lasts. */
void portal_in(struct compiler *c)
{
	ks_buf_printf(c->out, "\t\tct mark 0x%x ct state established ip saddr . meta l4proto . th sport @%s accept\n",
		      KS_PORTAL_CT_MARK, KS_SET_PORTAL4);
	ks_buf_printf(c->out, "\t\tct mark 0x%x ct state established ip6 saddr . meta l4proto . th sport @%s accept\n",
		      KS_PORTAL_CT_MARK, KS_SET_PORTAL6);
}

/* prerouting: the replies carry the VPN's fwmark, so rp_filter checks them against the main table. */
void portal_prerouting(struct compiler *c)
{
	if (!c->p->fwmark_none)
		ks_buf_printf(c->out, "\t\tct mark 0x%x iifname != @tunnels meta mark set 0x%x\n", KS_PORTAL_CT_MARK,
			      c->p->fwmark);
}

/*
 * The portal chain: the VPN's own networks never (they are the tunnel's
 * alone), the grant's destinations while their timeout runs, nothing else.
 */
void chain_portal(struct compiler *c)
{
	ks_buf_printf(c->out, "\n\tchain %s {\n", KS_CHAIN_PORTAL);
	ks_buf_printf(c->out, "\t\tip daddr @%s counter name blocked_out reject with icmpx admin-prohibited\n",
		      KS_SET_PROTECTED4);
	ks_buf_printf(c->out, "\t\tip6 daddr @%s counter name blocked_out reject with icmpx admin-prohibited\n",
		      KS_SET_PROTECTED6);
	ks_buf_printf(c->out, "\t\tip daddr . meta l4proto . th dport @%s accept\n", KS_SET_PORTAL4);
	ks_buf_printf(c->out, "\t\tip6 daddr . meta l4proto . th dport @%s accept\n", KS_SET_PORTAL6);
	rule(c, "meta l4proto tcp counter name blocked_out reject with tcp reset");
	rule(c, "counter name blocked_out reject with icmpx admin-prohibited");
	ks_buf_puts(c->out, "\t}\n");
}

/* The grant's route marking: its packets marked, so that the tunnel's default route does not take them. */
static void chain_portal_route(struct compiler *c)
{
	char mark[32] = "";

	if (!c->p->fwmark_none)
		snprintf(mark, sizeof(mark), " meta mark set 0x%x", c->p->fwmark);
	ks_buf_printf(c->out, "\n\tchain %s {\n", KS_CHAIN_PORTAL_ROUTE);
	ks_buf_printf(c->out, "\t\tip daddr . meta l4proto . th dport @%s ct mark set 0x%x%s\n", KS_SET_PORTAL4,
		      KS_PORTAL_CT_MARK, mark);
	ks_buf_printf(c->out, "\t\tip6 daddr . meta l4proto . th dport @%s ct mark set 0x%x%s\n", KS_SET_PORTAL6,
		      KS_PORTAL_CT_MARK, mark);
	ks_buf_puts(c->out, "\t}\n");
}

int ks_portal_table_name(const char *table, char name[KS_GUARD_NAME_LEN])
{
	if (ks_parse_table_name(table) < 0)
		return -EINVAL;
	snprintf(name, KS_GUARD_NAME_LEN, "%s" KS_PORTAL_TABLE_SUFFIX, table);
	return 0;
}

int ks_compile_portal_table_removal(const char *table, struct ks_buf *out)
{
	char name[KS_GUARD_NAME_LEN];

	if (ks_portal_table_name(table, name) < 0)
		return -EINVAL;
	ks_buf_printf(out, "table inet %s\ndelete table inet %s\n", name, name);
	return out->err;
}

int ks_compile_portal_table(const struct ks_policy *policy, const char *table, struct ks_buf *out)
{
	struct compiler c = { .p = policy, .out = out };
	char name[KS_GUARD_NAME_LEN];
	size_t start = out->len;

	if (ks_portal_table_name(table, name) < 0 || tunnels_check(policy) < 0)
		return -EINVAL;
	/* Replaced whole: a new grant starts from an empty table. */
	ks_compile_portal_table_removal(table, out);
	ks_buf_printf(out, "table inet %s {\n\tcomment \"killswitch portal: the grant's routing and NAT\"\n", name);
	set_tunnels(&c);
	portal_declarations(&c);
	/* First in the route hook, as the table's mangle: the grant's packets marked before routing. */
	chain_open(&c, "mangle", "route hook output priority -150", "accept");
	portal_goto(&c, KS_CHAIN_PORTAL_ROUTE);
	ks_buf_puts(out, "\t}\n");
	chain_portal_route(&c);
	/* Re-routed off the tunnel, the grant's connections need the physical interface's address. */
	chain_open(&c, "nat", "nat hook postrouting priority srcnat", "accept");
	ks_buf_printf(out, "\t\tct mark 0x%x oifname != @tunnels oifname != \"lo\" masquerade\n", KS_PORTAL_CT_MARK);
	ks_buf_puts(out, "\t}\n}\n");
	if (out->err) {
		out->len = start;
		return out->err;
	}
	return 0;
}

/* The ports of a grant: DNS both ways, HTTP, HTTPS and QUIC. */
static const struct {
	const char *proto;
	unsigned port;
} grant_ports[] = { { "udp", 53 }, { "tcp", 53 }, { "tcp", 80 }, { "tcp", 443 }, { "udp", 443 } };

static void grant_line(const struct ks_portal_grant *grant, const char *table, const char *set, int family,
		       struct ks_buf *out)
{
	char text[KS_ADDR_STRLEN];
	bool first = true;

	for (size_t i = 0; i < grant->n_addrs; i++) {
		if (grant->addrs[i].family != family)
			continue;
		ks_format_addr(&grant->addrs[i], text);
		for (size_t p = 0; p < sizeof(grant_ports) / sizeof(grant_ports[0]); p++) {
			ks_buf_printf(out, first ? "add element inet %s %s { " : ", ", table, set);
			first = false;
			ks_buf_printf(out, "%s . %s . %u timeout %us", text, grant_ports[p].proto, grant_ports[p].port,
				      grant->seconds);
		}
	}
	if (!first)
		ks_buf_puts(out, " }\n");
}

int ks_compile_portal_grant(const struct ks_portal_grant *grant, const char *table, enum ks_portal_where where,
			    struct ks_buf *out)
{
	char name[KS_GUARD_NAME_LEN], path[KS_CGROUP_PATH_MAX];
	unsigned depth;

	if (ks_parse_table_name(table) < 0 || !grant->n_addrs || grant->n_addrs > KS_PORTAL_MAX_ADDRS ||
	    grant->seconds < 1 || grant->seconds > KS_PORTAL_SECONDS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < grant->n_addrs; i++)
		if (grant->addrs[i].family != AF_INET && grant->addrs[i].family != AF_INET6)
			return -EINVAL;
	/* Pasted between quotes: checked again, whoever filled it. */
	if (grant->v2_path[0] && ks_parse_cgroup_path(grant->v2_path, path, &depth) < 0)
		return -EINVAL;
	if (where == KS_PORTAL_IN_GUARD)
		ks_guard_name(table, name);
	else if (where == KS_PORTAL_IN_OWN_TABLE)
		ks_portal_table_name(table, name);
	else
		snprintf(name, sizeof(name), "%s", table);
	/* A new grant replaces the last one whole: every timeout starts again. */
	ks_buf_printf(out, "flush set inet %s %s\nflush set inet %s %s\n", name, KS_SET_PORTAL4, name, KS_SET_PORTAL6);
	grant_line(grant, name, KS_SET_PORTAL4, AF_INET, out);
	grant_line(grant, name, KS_SET_PORTAL6, AF_INET6, out);
	if (grant->v2_path[0])
		ks_buf_printf(out, "add element inet %s %s { \"%s\" }\n", name, KS_SET_PORTAL_GROUPS, path);
	return out->err;
}
