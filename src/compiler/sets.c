// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The table's declarations: its named counters and sets, filled from the
 * policy. Every element is formatted from parsed values, never pasted text.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "compiler.h"
#include "killswitch/parse.h"
#include "killswitch/protect.h"

/* Fixed LAN ranges: never "whatever DHCP calls local" (TunnelCrack LocalNet). */
static const char *const lan4_fixed[] = { "10.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16" };
static const char *const lan6_fixed[] = { "fc00::/7", "fe80::/10" };
static const char *const mcast4_fixed[] = { "224.0.0.0/24", "239.0.0.0/8", "255.255.255.255" };
static const char *const mcast6_fixed[] = { "ff01::/16", "ff02::/16", "ff03::/16", "ff04::/16", "ff05::/16" };
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void open_elements(struct compiler *c, bool *first)
{
	if (*first)
		ks_buf_puts(c->out, "\t\telements = {\n");
	*first = false;
}

static void close_elements(struct compiler *c, bool first)
{
	if (!first)
		ks_buf_puts(c->out, "\t\t}\n");
}

static void set_header(struct compiler *c, const char *name, const char *type, bool interval)
{
	ks_buf_printf(c->out, "\n\tset %s {\n\t\ttype %s\n", name, type);
	if (interval)
		ks_buf_puts(c->out, "\t\tflags interval\n\t\tauto-merge\n");
}

static void set_addrs(struct compiler *c, const char *name, int family, const struct ks_addr *addrs, size_t n)
{
	char text[KS_ADDR_STRLEN];
	bool first = true;

	set_header(c, name, family == AF_INET ? "ipv4_addr" : "ipv6_addr", false);
	for (size_t i = 0; i < n; i++) {
		if (addrs[i].family != family)
			continue;
		open_elements(c, &first);
		ks_format_addr(&addrs[i], text);
		ks_buf_printf(c->out, "\t\t\t%s,\n", text);
	}
	close_elements(c, first);
	ks_buf_puts(c->out, "\t}\n");
}

static void set_endpoints(struct compiler *c, const char *name, int family)
{
	char text[KS_ADDR_STRLEN];
	bool first = true;

	set_header(c, name, family == AF_INET ? "ipv4_addr . inet_proto . inet_service"
					      : "ipv6_addr . inet_proto . inet_service", false);
	for (size_t i = 0; i < c->p->n_endpoints; i++) {
		const struct ks_endpoint *ep = &c->p->endpoints[i];

		if (ep->addr.family != family)
			continue;
		open_elements(c, &first);
		ks_format_addr(&ep->addr, text);
		ks_buf_printf(c->out, "\t\t\t%s . %s . %u,\n", text, ks_proto_name(ep->proto), ep->port);
	}
	close_elements(c, first);
	ks_buf_puts(c->out, "\t}\n");
}

/* The endpoints' addresses alone, for ICMP errors about the VPN's own packets (path MTU). */
static void set_endpoint_addrs(struct compiler *c, const char *name, int family)
{
	char text[KS_ADDR_STRLEN];
	const struct ks_addr *last = NULL;
	bool first = true;

	set_header(c, name, family == AF_INET ? "ipv4_addr" : "ipv6_addr", false);
	for (size_t i = 0; i < c->p->n_endpoints; i++) {
		const struct ks_addr *addr = &c->p->endpoints[i].addr;

		/* Endpoints are sorted by address: equal addresses are neighbours. */
		if (addr->family != family || (last && !memcmp(last, addr, sizeof(*addr))))
			continue;
		last = addr;
		open_elements(c, &first);
		ks_format_addr(addr, text);
		ks_buf_printf(c->out, "\t\t\t%s,\n", text);
	}
	close_elements(c, first);
	ks_buf_puts(c->out, "\t}\n");
}

/*
 * An interval set of the fixed ranges (when with_fixed) plus the prefixes
 * of that family among n CIDRs, each at the start of an element of stride
 * bytes from cidrs (the user's --lan ranges, the protected prefixes).
 */
static void set_ranges(struct compiler *c, const char *name, int family, const char *const *fixed, size_t n_fixed,
		       bool with_fixed, const void *cidrs, size_t n, size_t stride)
{
	char text[KS_CIDR_STRLEN];
	bool first = true;

	set_header(c, name, family == AF_INET ? "ipv4_addr" : "ipv6_addr", true);
	for (size_t i = 0; with_fixed && i < n_fixed; i++) {
		open_elements(c, &first);
		ks_buf_printf(c->out, "\t\t\t%s,\n", fixed[i]);
	}
	for (size_t i = 0; i < n; i++) {
		const struct ks_cidr *cidr = (const void *)((const char *)cidrs + i * stride);

		if (cidr->addr.family != family)
			continue;
		open_elements(c, &first);
		ks_format_cidr(cidr, text);
		ks_buf_printf(c->out, "\t\t\t%s,\n", text);
	}
	close_elements(c, first);
	ks_buf_puts(c->out, "\t}\n");
}

/*
 * A set of quoted names: n strings, each at the start of an element of
 * stride bytes from first. Validated before (interface names, cgroup paths
 * of safe components): nothing to escape.
 */
static void set_quoted(struct compiler *c, const char *name, const char *type, const char *first, size_t n,
		       size_t stride)
{
	bool none = true;

	set_header(c, name, type, false);
	for (size_t i = 0; i < n; i++) {
		open_elements(c, &none);
		ks_buf_printf(c->out, "\t\t\t\"%s\",\n", first + i * stride);
	}
	close_elements(c, none);
	ks_buf_puts(c->out, "\t}\n");
}

/* The tunnel protected prefix i may use: its own, or (--protect) tunnel t of the policy. */
static const char *via_tunnel(const struct ks_policy *p, size_t i, size_t t)
{
	return p->protect[i].iface[0] ? p->protect[i].iface : p->tunnels[t].name;
}

/*
 * Whether the pair (tunnel, prefix i) lies inside another pair of the same
 * tunnel: nft refuses overlapping elements in a concatenation with
 * intervals, and the outer pair already allows it.
 */
static bool via_covered(const struct ks_policy *p, const char *tunnel, size_t i)
{
	for (size_t j = 0; j < p->n_protect; j++) {
		bool same = false;

		if (j == i || !ks_cidr_contains(&p->protect[j].cidr, &p->protect[i].cidr))
			continue;
		for (size_t t = 0; t < (p->protect[j].iface[0] ? 1 : p->n_tunnels) && !same; t++)
			same = !strcmp(via_tunnel(p, j, t), tunnel);
		/* Equal prefixes are listed once in a policy; keep the first all the same. */
		if (same && (p->protect[j].cidr.prefix < p->protect[i].cidr.prefix || j < i))
			return true;
	}
	return false;
}

/*
 * Multiple tunnels: which tunnel each protected prefix may leave by, as
 * "tunnel . prefix" pairs. A derived prefix (the tunnel's own network, its
 * peers' allowed IPs) belongs to its tunnel; a --protect prefix to all of them.
 */
static void set_protected_via(struct compiler *c, const char *name, int family)
{
	const struct ks_policy *p = c->p;
	char text[KS_CIDR_STRLEN];
	bool first = true;

	set_header(c, name, family == AF_INET ? "ifname . ipv4_addr" : "ifname . ipv6_addr", false);
	ks_buf_puts(c->out, "\t\tflags interval\n");
	for (size_t i = 0; i < p->n_protect; i++) {
		if (p->protect[i].cidr.addr.family != family)
			continue;
		ks_format_cidr(&p->protect[i].cidr, text);
		for (size_t t = 0; t < (p->protect[i].iface[0] ? 1 : p->n_tunnels); t++) {
			const char *tunnel = via_tunnel(p, i, t);
			struct ks_ifname check;

			/* Pasted between quotes: a state file's interface name is checked like --tunnel's. */
			if (via_covered(p, tunnel, i) || ks_parse_ifname(tunnel, &check) < 0)
				continue;
			open_elements(c, &first);
			ks_buf_printf(c->out, "\t\t\t\"%s\" . %s,\n", tunnel, text);
		}
	}
	close_elements(c, first);
	ks_buf_puts(c->out, "\t}\n");
}

/*
 * One set per level of excluded units, empty: their ids are added after the
 * table is loaded. Only beside the rules that use them (not blocked, not the guard).
 */
static void declare_unit_sets(struct compiler *c)
{
	for (unsigned level = 1; level <= 31; level++)
		if (c->unit_levels & (UINT32_C(1) << level) && *c->excluded && !c->guard)
			ks_buf_printf(c->out, "\n\tset %s%u {\n\t\ttype cgroupsv2\n\t}\n", KS_SET_EXCLUDED_UNITS_PREFIX,
				      level);
}

int tunnels_check(const struct ks_policy *p)
{
	for (size_t i = 0; i < p->n_tunnels; i++) {
		struct ks_ifname check;

		if (ks_parse_ifname(p->tunnels[i].name, &check) < 0)
			return -EINVAL;
	}
	return 0;
}

void set_tunnels(struct compiler *c)
{
	const struct ks_policy *p = c->p;

	set_quoted(c, "tunnels", "ifname", p->tunnels ? p->tunnels[0].name : NULL, p->n_tunnels, sizeof(*p->tunnels));
}

void declarations(struct compiler *c)
{
	const struct ks_policy *p = c->p;

	for (unsigned i = 0; i < KS_COUNTER_MAX; i++)
		ks_buf_printf(c->out, "\tcounter %s {\n\t}\n", ks_counter_names[i]);

	set_tunnels(c);

	set_addrs(c, "tunnel_addrs4", AF_INET, p->tunnel_addrs, p->n_tunnel_addrs);
	set_addrs(c, "tunnel_addrs6", AF_INET6, p->tunnel_addrs, p->n_tunnel_addrs);
	set_endpoints(c, KS_SET_ENDPOINTS4, AF_INET);
	set_endpoints(c, KS_SET_ENDPOINTS6, AF_INET6);
	set_endpoint_addrs(c, KS_SET_ENDPOINT_ADDRS4, AF_INET);
	set_endpoint_addrs(c, KS_SET_ENDPOINT_ADDRS6, AF_INET6);
	set_addrs(c, "resolvers4", AF_INET, p->resolvers, p->n_resolvers);
	set_addrs(c, "resolvers6", AF_INET6, p->resolvers, p->n_resolvers);
	set_ranges(c, "lan4", AF_INET, lan4_fixed, N(lan4_fixed), p->allow_lan, p->lan, p->n_lan, sizeof(*p->lan));
	set_ranges(c, "lan6", AF_INET6, lan6_fixed, N(lan6_fixed), p->allow_lan, p->lan, p->n_lan, sizeof(*p->lan));
	set_ranges(c, "lan_vouched4", AF_INET, NULL, 0, false, p->lan, p->n_lan, sizeof(*p->lan));
	set_ranges(c, "lan_vouched6", AF_INET6, NULL, 0, false, p->lan, p->n_lan, sizeof(*p->lan));
	set_ranges(c, "lan_mcast4", AF_INET, mcast4_fixed, N(mcast4_fixed), p->allow_lan, NULL, 0, 0);
	set_ranges(c, "lan_mcast6", AF_INET6, mcast6_fixed, N(mcast6_fixed), p->allow_lan, NULL, 0, 0);
	set_ranges(c, KS_SET_PROTECTED4, AF_INET, NULL, 0, false, p->protect, p->n_protect, sizeof(*p->protect));
	set_ranges(c, KS_SET_PROTECTED6, AF_INET6, NULL, 0, false, p->protect, p->n_protect, sizeof(*p->protect));
	/* Declared with the rules that read them, as excluded_users: one tunnel, or nothing protected, needs no pairs. */
	if (c->paired) {
		set_protected_via(c, KS_SET_PROTECTED_VIA4, AF_INET);
		set_protected_via(c, KS_SET_PROTECTED_VIA6, AF_INET6);
	}
	set_quoted(c, KS_SET_GATEWAYS, "ifname", p->gateways ? p->gateways[0].name : NULL, p->n_gateways,
		   sizeof(*p->gateways));
	if (c->user_level && !c->guard)
		set_quoted(c, KS_SET_EXCLUDED_USERS, "cgroupsv2", p->user_groups ? p->user_groups[0].path : NULL,
			   p->n_user_groups, sizeof(*p->user_groups));
	declare_unit_sets(c);
	exceptions_sets(c);
}
