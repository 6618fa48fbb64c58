// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The ruleset compiler: policy in, nft text out. The order of the rules and
 * the reason for each are in docs/ruleset.md; keep both in step.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "killswitch/compile.h"
#include "killswitch/endpoint_change.h"
#include "killswitch/parse.h"
#include "killswitch/protect.h"

/* Fixed LAN ranges: never "whatever DHCP calls local" (TunnelCrack LocalNet). */
static const char *const lan4_fixed[] = { "10.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16" };
static const char *const lan6_fixed[] = { "fc00::/7", "fe80::/10" };
static const char *const mcast4_fixed[] = { "224.0.0.0/24", "239.0.0.0/8", "255.255.255.255" };
static const char *const mcast6_fixed[] = { "ff01::/16", "ff02::/16", "ff03::/16", "ff04::/16", "ff05::/16" };
#define N(a) (sizeof(a) / sizeof((a)[0]))

struct compiler {
	const struct ks_policy *p;
	struct ks_buf *out;
	bool enabled;
	bool lan4, lan6;	 /* the LAN sets hold something */
	bool vouched4, vouched6; /* the user gave --lan ranges of that family */
	char mark[32]; /* "meta mark 0x... " or "" with --fwmark none */
	/* Split tunnelling: the match for excluded sockets, "" when off or blocked. */
	char excluded[KS_CGROUP_PATH_MAX + 48];
	unsigned user_level; /* v2: the level of the groups in users' slices */
	uint32_t unit_levels; /* v2: the levels of excluded units' cgroups (bit N: level N) */
	bool guard;	     /* the guard table: the filter chains only (see ks_compile_guard) */
	bool partial;	     /* --partial: only the protected prefixes and the resolvers are locked */
	bool paired;	     /* two tunnels or more: each protected prefix only through its own */
};

static bool lan_has_family(const struct ks_policy *p, int family)
{
	for (size_t i = 0; i < p->n_lan; i++)
		if (p->lan[i].addr.family == family)
			return true;
	return false;
}

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

static void declarations(struct compiler *c)
{
	const struct ks_policy *p = c->p;

	for (unsigned i = 0; i < KS_COUNTER_MAX; i++)
		ks_buf_printf(c->out, "\tcounter %s {\n\t}\n", ks_counter_names[i]);

	set_quoted(c, "tunnels", "ifname", p->tunnels ? p->tunnels[0].name : NULL, p->n_tunnels, sizeof(*p->tunnels));

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
}

static void chain_open(struct compiler *c, const char *name, const char *type_hook, const char *policy)
{
	ks_buf_printf(c->out, "\n\tchain %s {\n\t\ttype %s; policy %s;\n", name, type_hook, policy);
}

static void rule(struct compiler *c, const char *text)
{
	ks_buf_printf(c->out, "\t\t%s\n", text);
}

static void chain_prerouting(struct compiler *c)
{
	chain_open(c, "prerouting", "filter hook prerouting priority -199", "accept");
	/*
	 * This host's own packets, looped back: another firewall's reset for a
	 * connection through the tunnel comes to the tunnel address over lo from
	 * a remote source, and the rule below would drop it (the program would
	 * hang instead of failing at once). Nothing from outside arrives on lo.
	 */
	rule(c, "iifname \"lo\" accept");
	/* CVE-2019-14899: packets for the tunnel address that arrive elsewhere. */
	rule(c, "iifname != @tunnels ip daddr @tunnel_addrs4 fib saddr type != local counter name blocked_in drop");
	rule(c, "iifname != @tunnels ip6 daddr @tunnel_addrs6 fib saddr type != local counter name blocked_in drop");
	if (!c->p->fwmark_none) {
		/* With src_valid_mark, the endpoint's replies pass rp_filter through the main table. */
		ks_buf_printf(c->out, "\t\tip saddr . meta l4proto . th sport @endpoints4 meta mark set 0x%x\n",
			      c->p->fwmark);
		ks_buf_printf(c->out, "\t\tip6 saddr . meta l4proto . th sport @endpoints6 meta mark set 0x%x\n",
			      c->p->fwmark);
	}
	if (*c->excluded)
		ks_buf_printf(c->out, "\t\tiifname != @tunnels ct mark 0x%x meta mark set 0x%x\n", c->p->split.ct_mark,
			      c->p->fwmark);
	ks_buf_puts(c->out, "\t}\n");
}

/*
 * Connections of excluded programs, marked in mangle: accepted in every
 * filter chain while connected (only then is c->excluded set).
 */
static void excluded_accept(struct compiler *c)
{
	if (*c->excluded)
		ks_buf_printf(c->out, "\t\tct mark 0x%x accept\n", c->p->split.ct_mark);
}

/* DNS to the allowed resolvers, then every other DNS rejected: before the tunnel and LAN accepts. */
static void dns_rules(struct compiler *c, const char *dir)
{
	if (c->enabled) {
		ks_buf_printf(c->out, "\t\t%s @tunnels ip daddr @resolvers4 meta l4proto { tcp, udp } th dport 53 accept\n", dir);
		ks_buf_printf(c->out, "\t\t%s @tunnels ip6 daddr @resolvers6 meta l4proto { tcp, udp } th dport 53 accept\n", dir);
	}
	/*
	 * A resolver outside the tunnel only inside a range the user vouched for
	 * with --lan. The fixed --allow-lan ranges hold VPN resolvers too (10.64.0.1),
	 * and a rogue DHCP server can route or put them on-link: TunnelVision.
	 */
	if (c->vouched4)
		ks_buf_printf(c->out, "\t\t%s != @tunnels ip daddr @resolvers4 ip daddr @lan_vouched4 meta l4proto { tcp, udp } th dport 53 accept\n", dir);
	if (c->vouched6)
		ks_buf_printf(c->out, "\t\t%s != @tunnels ip6 daddr @resolvers6 ip6 daddr @lan_vouched6 meta l4proto { tcp, udp } th dport 53 accept\n", dir);
	ks_buf_puts(c->out, "\t\tmeta l4proto { tcp, udp } th dport { 53, 853 } counter name blocked_dns reject\n");
}

/*
 * The tunnel's fast lane: every packet leaving through the tunnel that is
 * not DNS, accepted at once. Only accepts and the DNS reject stand between
 * it and the tunnel accept further down, and it leaves the ports that
 * reject looks at (53, 853) to them, so every packet gets the verdict it
 * would get there; it just skips a dozen rules and their set lookups, half
 * the kill switch's cost per packet (docs/performance.md).
 */
static void tunnel_fast_lane(struct compiler *c)
{
	if (c->enabled)
		rule(c, "oifname @tunnels th dport != { 53, 853 } accept");
}

/*
 * Apps fail fast instead of hanging. The forward chain's resets and errors
 * leave through the output chain: the ct mark lets them pass there.
 */
static void final_reject(struct compiler *c, const char *counter, bool forwarded)
{
	char mark[32] = "";

	if (forwarded)
		snprintf(mark, sizeof(mark), "ct mark set 0x%x ", KS_REJECT_CT_MARK);
	ks_buf_printf(c->out, "\t\tmeta l4proto tcp counter name %s %sreject with tcp reset\n", counter, mark);
	ks_buf_printf(c->out, "\t\tcounter name %s %sreject with icmpx admin-prohibited\n", counter, mark);
	ks_buf_puts(c->out, "\t}\n");
}

/*
 * The VPN's own networks never leave off the tunnel: a rogue DHCP or RA
 * route for 10.66.0.50 via the LAN would otherwise hand the tunnel's
 * private traffic to the LAN (--allow-lan accepts 10/8). Before every
 * accept that could let it out, after the VPN's own packets (which never
 * go to the tunnel's networks) have had theirs.
 */
static void protected_out(struct compiler *c, const char *counter)
{
	ks_buf_printf(c->out, "\t\toifname != @tunnels ip daddr @%s counter name %s reject with icmpx admin-prohibited\n",
		      KS_SET_PROTECTED4, counter);
	ks_buf_printf(c->out, "\t\toifname != @tunnels ip6 daddr @%s counter name %s reject with icmpx admin-prohibited\n",
		      KS_SET_PROTECTED6, counter);
}

/* ... nor arrive from off the tunnel: a LAN host posing as one of them is no LAN host. */
static void protected_in(struct compiler *c, const char *counter)
{
	ks_buf_printf(c->out, "\t\tiifname != @tunnels ip saddr @%s counter name %s drop\n", KS_SET_PROTECTED4, counter);
	ks_buf_printf(c->out, "\t\tiifname != @tunnels ip6 saddr @%s counter name %s drop\n", KS_SET_PROTECTED6, counter);
}

/*
 * Two tunnels or more (a mesh VPN beside the main one): a protected prefix
 * leaves only through its own tunnel. A route that sends 100.64.0.0/10 into
 * the main VPN (a pushed route, a full tunnel's 0.0.0.0/0 winning once the
 * mesh is down) would hand the mesh's traffic to the main VPN's server. One
 * lookup in protected4/6 for what leaves by a tunnel, the pair lookup only
 * for protected destinations. Before the fast lane, which would accept it.
 */
static void protected_via_out(struct compiler *c, const char *counter)
{
	if (!c->paired)
		return;
	ks_buf_printf(c->out, "\t\toifname @tunnels ip daddr @%s oifname . ip daddr != @%s counter name %s reject with icmpx admin-prohibited\n",
		      KS_SET_PROTECTED4, KS_SET_PROTECTED_VIA4, counter);
	ks_buf_printf(c->out, "\t\toifname @tunnels ip6 daddr @%s oifname . ip6 daddr != @%s counter name %s reject with icmpx admin-prohibited\n",
		      KS_SET_PROTECTED6, KS_SET_PROTECTED_VIA6, counter);
}

/* ... nor arrive by another tunnel: the main VPN's server posing as a mesh node. */
static void protected_via_in(struct compiler *c, const char *counter)
{
	if (!c->paired)
		return;
	ks_buf_printf(c->out, "\t\tiifname @tunnels ip saddr @%s iifname . ip saddr != @%s counter name %s drop\n",
		      KS_SET_PROTECTED4, KS_SET_PROTECTED_VIA4, counter);
	ks_buf_printf(c->out, "\t\tiifname @tunnels ip6 saddr @%s iifname . ip6 saddr != @%s counter name %s drop\n",
		      KS_SET_PROTECTED6, KS_SET_PROTECTED_VIA6, counter);
}

/*
 * --partial: DNS to the --dns resolvers never leaves off the tunnel (they
 * are the VPN's; a rogue route to one would hand every query to the LAN),
 * unless the user vouched for its network with --lan. Other DNS is the
 * host's own business, as the rest of its traffic.
 */
static void partial_dns(struct compiler *c)
{
	if (c->vouched4)
		rule(c, "oifname != @tunnels ip daddr @lan_vouched4 ip daddr @resolvers4 meta l4proto { tcp, udp } th dport 53 accept");
	if (c->vouched6)
		rule(c, "oifname != @tunnels ip6 daddr @lan_vouched6 ip6 daddr @resolvers6 meta l4proto { tcp, udp } th dport 53 accept");
	rule(c, "oifname != @tunnels ip daddr @resolvers4 meta l4proto { tcp, udp } th dport { 53, 853 } counter name blocked_dns reject");
	rule(c, "oifname != @tunnels ip6 daddr @resolvers6 meta l4proto { tcp, udp } th dport { 53, 853 } counter name blocked_dns reject");
}

/* A reject of what match selects, TCP with a reset (forwarded: marked for O6/O7, as final_reject). */
static void partial_reject(struct compiler *c, const char *match, const char *counter, bool forwarded)
{
	char mark[32] = "";

	if (forwarded)
		snprintf(mark, sizeof(mark), "ct mark set 0x%x ", KS_REJECT_CT_MARK);
	ks_buf_printf(c->out, "\t\t%s meta l4proto tcp counter name %s %sreject with tcp reset\n", match, counter, mark);
	ks_buf_printf(c->out, "\t\t%s counter name %s %sreject with icmpx admin-prohibited\n", match, counter, mark);
}

/*
 * The end of output and forward with --partial, after the protected
 * prefixes were refused off the tunnel: the resolvers likewise, then the
 * tunnel (open when enabled, closed when blocked: the protected prefixes
 * and the resolvers with it), then everything else leaves as routed. No
 * LAN rule: the LAN is not locked. The chain's policy stays drop.
 */
static void partial_out_tail(struct compiler *c, const char *counter, bool forwarded)
{
	partial_dns(c);
	if (c->enabled) {
		rule(c, "oifname @tunnels accept");
		/* Replies from the tunnel to guests; a new connection from it is refused, as in a full tunnel. */
		if (forwarded)
			ks_buf_puts(c->out, "\t\tiifname @tunnels ct state established,related accept\n");
	} else {
		partial_reject(c, "oifname @tunnels", counter, forwarded);
	}
	if (forwarded)
		partial_reject(c, "iifname @tunnels", counter, forwarded);
	rule(c, "accept");
	ks_buf_puts(c->out, "\t}\n");
}

/*
 * The router's DHCP server for its gateway's clients, in both states (they
 * keep their addresses while blocked, as this host keeps its own): requests
 * come from 0.0.0.0 before a lease, which no LAN rule accepts; the answers
 * go to the client's new address or to broadcast, which without --allow-lan
 * no rule accepts either.
 */
static void gateway_dhcp_server(struct compiler *c, bool out)
{
	if (c->p->n_gateways)
		rule(c, out ? "oifname @gateways udp sport 67 udp dport 68 accept"
			    : "iifname @gateways udp sport 68 udp dport 67 accept");
}

static void chain_output(struct compiler *c)
{
	chain_open(c, "output", "filter hook output priority 0", "drop");
	rule(c, "oifname \"lo\" accept");
	excluded_accept(c);
	protected_via_out(c, "blocked_out");
	tunnel_fast_lane(c);
	/*
	 * DHCP client, never into a tunnel: broadcasts (DISCOVER, REQUEST, REBIND)
	 * and the unicast RENEW to the server, whose reply input then accepts as
	 * established. The host must keep its LAN address while blocked.
	 */
	rule(c, "oifname != @tunnels meta nfproto ipv4 udp sport 68 udp dport 67 accept");
	rule(c, "oifname != @tunnels ip6 saddr fe80::/10 udp sport 546 ip6 daddr { ff02::1:2, ff05::1:3 } udp dport 547 accept");
	gateway_dhcp_server(c, true);
	rule(c, "ip6 daddr ff02::2 icmpv6 type nd-router-solicit ip6 hoplimit 255 accept");
	/* Any destination: a neighbour that solicits from its global address gets its answer there. */
	rule(c, "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept");
	/*
	 * The resets and ICMP errors the forward chain sends back to forwarded
	 * senders. The kernel gives them the refused connection's conntrack as
	 * related, reply direction (measured: docs/ruleset.md, O6): nothing else
	 * of a marked connection, and nothing toward its destination, passes.
	 */
	ks_buf_printf(c->out, "\t\tct mark 0x%x ct state related ct direction reply tcp flags & rst == rst accept\n",
		      KS_REJECT_CT_MARK);
	ks_buf_printf(c->out, "\t\tct mark 0x%x ct state related ct direction reply meta l4proto { icmp, ipv6-icmp } accept\n",
		      KS_REJECT_CT_MARK);
	/* Endpoints only for the VPN's own socket (TunnelCrack ServerIP). */
	ks_buf_printf(c->out, "\t\t%sip daddr . meta l4proto . th dport @endpoints4 accept\n", c->mark);
	ks_buf_printf(c->out, "\t\t%sip6 daddr . meta l4proto . th dport @endpoints6 accept\n", c->mark);
	protected_out(c, "blocked_out");
	if (c->partial) {
		partial_out_tail(c, "blocked_out", false);
		return;
	}
	dns_rules(c, "oifname");
	if (c->enabled)
		rule(c, "oifname @tunnels accept");
	if (c->lan4)
		rule(c, "oifname != @tunnels ip daddr @lan4 accept");
	if (c->lan6)
		rule(c, "oifname != @tunnels ip6 daddr @lan6 accept");
	if (c->p->allow_lan) {
		rule(c, "oifname != @tunnels ip daddr @lan_mcast4 accept");
		rule(c, "oifname != @tunnels ip6 daddr @lan_mcast6 accept");
	}
	if (c->p->ipv6 == KS_IPV6_ALLOW)
		rule(c, "meta nfproto ipv6 accept");
	final_reject(c, "blocked_out", false);
}

/*
 * The end of input with --partial: protected sources came only through the
 * tunnel (protected_in); a closed tunnel lets nothing in; the rest is the
 * host's other firewall's to decide.
 */
static void partial_in_tail(struct compiler *c)
{
	if (!c->enabled)
		rule(c, "iifname @tunnels counter name blocked_in drop");
	rule(c, "accept");
	ks_buf_puts(c->out, "\t}\n");
}

static void chain_input(struct compiler *c)
{
	chain_open(c, "input", "filter hook input priority 0", "drop");
	rule(c, "iifname \"lo\" accept");
	excluded_accept(c);
	protected_via_in(c, "blocked_in");
	/* Up front: every rule before the final drop accepts, so the order only sets what a packet costs. */
	if (c->enabled)
		rule(c, "iifname @tunnels accept");
	/*
	 * DHCP replies, never from a tunnel: broadcast, or the answer to our own
	 * RENEW. Not "from port 67" alone, which any host on the internet can send.
	 * OFFERs before the lease arrive on the client's packet socket, which no
	 * netfilter hook sees.
	 */
	rule(c, "iifname != @tunnels udp sport 67 ip daddr 255.255.255.255 udp dport 68 accept");
	rule(c, "iifname != @tunnels meta nfproto ipv4 udp sport 67 udp dport 68 ct state established accept");
	rule(c, "iifname != @tunnels ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept");
	gateway_dhcp_server(c, false);
	rule(c, "ip6 saddr fe80::/10 icmpv6 type nd-router-advert ip6 hoplimit 255 accept");
	rule(c, "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept");
	/* Replies only: never a generic "established", which would keep pre-existing connections alive. */
	rule(c, "ip saddr . meta l4proto . th sport @endpoints4 ct state established accept");
	rule(c, "ip6 saddr . meta l4proto . th sport @endpoints6 ct state established accept");
	/* ICMP errors about the VPN's own packets (Packet Too Big): path MTU discovery. */
	rule(c, "ct original ip daddr @endpoint_addrs4 ct state related accept");
	rule(c, "ct original ip6 daddr @endpoint_addrs6 ct state related accept");
	protected_in(c, "blocked_in");
	if (c->partial) {
		partial_in_tail(c);
		return;
	}
	if (c->lan4)
		rule(c, "iifname != @tunnels ip saddr @lan4 accept");
	if (c->lan6)
		rule(c, "iifname != @tunnels ip6 saddr @lan6 accept");
	if (c->p->ipv6 == KS_IPV6_ALLOW)
		rule(c, "meta nfproto ipv6 ct state established,related accept");
	rule(c, "counter name blocked_in drop");
	ks_buf_puts(c->out, "\t}\n");
}

/* Forward with --partial: guests' protected traffic only through the tunnel, the rest as routed. */
static void chain_forward_partial(struct compiler *c)
{
	protected_out(c, "blocked_fwd");
	protected_in(c, "blocked_fwd");
	partial_out_tail(c, "blocked_fwd", true);
}

/* The forward chain's final reject, for the packets of MATCH only (which ends with a blank). */
static void gateway_refuse(struct compiler *c, const char *match)
{
	ks_buf_printf(c->out, "\t\t%smeta l4proto tcp counter name blocked_fwd ct mark set 0x%x reject with tcp reset\n",
		      match, KS_REJECT_CT_MARK);
	ks_buf_printf(c->out, "\t\t%scounter name blocked_fwd ct mark set 0x%x reject with icmpx admin-prohibited\n",
		      match, KS_REJECT_CT_MARK);
}

/* Whether the tunnel carries IPv6: one of its addresses is IPv6 (read when the table is applied). */
static bool tunnel_has_ipv6(const struct ks_policy *p)
{
	for (size_t i = 0; i < p->n_tunnel_addrs; i++)
		if (p->tunnel_addrs[i].family == AF_INET6)
			return true;
	return false;
}

/*
 * --gateway: this host routes the clients on the gateway interfaces into
 * the tunnel (a VPN router). First in forward, before every accept: what
 * the other rules let a container or VM do, a gateway's client may do only
 * through the tunnel (docs/ruleset.md, "Gateway mode").
 */
static void gateway_forward(struct compiler *c)
{
	if (!c->p->n_gateways)
		return;
	/* No conntrack entry, so no NAT: it would leave with the client's private source ("NAT leakage"). */
	rule(c, "iifname @gateways ct state invalid counter name blocked_fwd drop");
	if (!c->enabled) {
		/* Blocked and connecting: the clients get nothing, and nothing reaches them. */
		gateway_refuse(c, "iifname @gateways ");
		rule(c, "oifname @gateways counter name blocked_fwd drop");
		return;
	}
	/*
	 * Off the tunnel only to the LAN ranges the policy allows (--allow-lan,
	 * --lan); the rest of forward decides those. With --partial (a site
	 * joined to another through the tunnel) the clients' other traffic
	 * leaves as routed, and only the protected prefixes are locked, by the
	 * rules that follow.
	 */
	if (!c->partial) {
		gateway_refuse(c, "iifname @gateways oifname != @tunnels ip daddr != @lan4 ");
		gateway_refuse(c, "iifname @gateways oifname != @tunnels ip6 daddr != @lan6 ");
	}
	/* IPv6 only through a tunnel that carries it: through one that does not, it would leave unmasqueraded. */
	if (!tunnel_has_ipv6(c->p))
		gateway_refuse(c, c->partial ? "iifname @gateways oifname @tunnels meta nfproto ipv6 "
					     : "iifname @gateways meta nfproto ipv6 ");
	/* Nothing reaches the clients from off the tunnel but the LAN (not even with --ipv6 allow). */
	if (!c->partial) {
		rule(c, "oifname @gateways iifname != @tunnels ip saddr != @lan4 counter name blocked_fwd drop");
		rule(c, "oifname @gateways iifname != @tunnels ip6 saddr != @lan6 counter name blocked_fwd drop");
	}
	/*
	 * The MSS of SYNs both ways between the clients and the tunnel, to the
	 * smaller MTU of the routes to either end: a 1500-byte LAN behind a
	 * 1420-byte tunnel otherwise stalls on large transfers (the router's
	 * "fragmentation needed" never reaches the client). The kernel only lowers it.
	 */
	rule(c, "iifname @gateways oifname @tunnels tcp flags syn tcp option maxseg size set rt mtu");
	rule(c, "iifname @tunnels oifname @gateways tcp flags syn tcp option maxseg size set rt mtu");
}

static void chain_forward(struct compiler *c)
{
	chain_open(c, "forward", "filter hook forward priority 0", "drop");
	gateway_forward(c);
	excluded_accept(c);
	protected_via_out(c, "blocked_fwd");
	protected_via_in(c, "blocked_fwd");
	tunnel_fast_lane(c);
	if (c->partial) {
		chain_forward_partial(c);
		return;
	}
	dns_rules(c, "oifname");
	if (c->enabled) {
		rule(c, "oifname @tunnels accept");
		rule(c, "iifname @tunnels ct state established,related accept");
	}
	protected_out(c, "blocked_fwd");
	protected_in(c, "blocked_fwd");
	/* Between LAN hosts only: a LAN source alone would let containers out. */
	if (c->lan4)
		rule(c, "iifname != @tunnels oifname != @tunnels ip saddr @lan4 ip daddr @lan4 accept");
	if (c->lan6)
		rule(c, "iifname != @tunnels oifname != @tunnels ip6 saddr @lan6 ip6 daddr @lan6 accept");
	if (c->p->ipv6 == KS_IPV6_ALLOW)
		rule(c, "meta nfproto ipv6 accept");
	final_reject(c, "blocked_fwd", true);
}

/* The gateway's clients leave through the tunnel with its address: the VPN server knows no other. */
static void gateway_masquerade(struct compiler *c)
{
	if (c->p->n_gateways && c->enabled)
		rule(c, "iifname @gateways oifname @tunnels masquerade");
}

/* The first resolver of family, "" for none (resolvers are sorted: the lowest address). */
static void first_resolver(const struct ks_policy *p, int family, char text[KS_ADDR_STRLEN])
{
	*text = '\0';
	for (size_t i = 0; i < p->n_resolvers; i++)
		if (p->resolvers[i].family == family) {
			ks_format_addr(&p->resolvers[i], text);
			return;
		}
}

/*
 * nat prerouting, empty without --gateway: the clients' DNS, to whatever
 * resolver they name on port 53, goes to the first --dns resolver of its
 * family, through the tunnel (forward's DNS rules then accept it). 853 is
 * left to forward's DNS reject.
 */
static void chain_nat_prerouting(struct compiler *c)
{
	char text[KS_ADDR_STRLEN];

	chain_open(c, KS_CHAIN_NAT_PREROUTING, "nat hook prerouting priority dstnat", "accept");
	if (c->p->n_gateways && c->enabled) {
		first_resolver(c->p, AF_INET, text);
		if (*text)
			ks_buf_printf(c->out, "\t\tiifname @gateways meta nfproto ipv4 meta l4proto { tcp, udp } th dport 53 dnat ip to %s\n",
				      text);
		first_resolver(c->p, AF_INET6, text);
		if (*text)
			ks_buf_printf(c->out, "\t\tiifname @gateways meta nfproto ipv6 meta l4proto { tcp, udp } th dport 53 dnat ip6 to %s\n",
				      text);
	}
	ks_buf_puts(c->out, "\t}\n");
}

static void chain_split_tunnel(struct compiler *c)
{
	const char *ex = c->excluded;

	chain_open(c, "mangle", "route hook output priority -150", "accept");
	if (*ex) {
		ks_buf_printf(c->out, "\t\t%s goto excluded\n", ex);
		/* Each user's group inside their own slice, so that exclusion never takes a program out of it. */
		if (c->user_level)
			ks_buf_printf(c->out, "\t\tsocket cgroupv2 level %u @%s goto excluded\n", c->user_level,
				      KS_SET_EXCLUDED_USERS);
		/* Each excluded unit's own cgroup, at its level: its processes stay where systemd put them. */
		for (unsigned level = 1; level <= 31; level++)
			if (c->unit_levels & (UINT32_C(1) << level))
				ks_buf_printf(c->out, "\t\tsocket cgroupv2 level %u @%s%u goto excluded\n", level,
					      KS_SET_EXCLUDED_UNITS_PREFIX, level);
	}
	ks_buf_puts(c->out, "\t}\n");
	if (*ex) {
		ks_buf_puts(c->out, "\n\tchain excluded {\n");
		/* Without conntrack there is no ct mark and no NAT: never re-route such packets. */
		rule(c, "ct state invalid drop");
		/* DNS to the tunnel's resolvers stays in the tunnel: they answer nowhere else. */
		rule(c, "ip daddr @resolvers4 meta l4proto { tcp, udp } th dport 53 return");
		rule(c, "ip6 daddr @resolvers6 meta l4proto { tcp, udp } th dport 53 return");
		/* So do the VPN's own networks: an excluded program reaches them through it or not at all. */
		ks_buf_printf(c->out, "\t\tip daddr @%s return\n", KS_SET_PROTECTED4);
		ks_buf_printf(c->out, "\t\tip6 daddr @%s return\n", KS_SET_PROTECTED6);
		/* The fwmark sends the packet to the main table on re-route; the ct mark follows the connection. */
		ks_buf_printf(c->out, "\t\tct mark set 0x%x meta mark set 0x%x\n", c->p->split.ct_mark, c->p->fwmark);
		ks_buf_puts(c->out, "\t}\n");
	}
	chain_open(c, "nat", "nat hook postrouting priority srcnat", "accept");
	if (*ex) {
		/* Excluded traffic never uses the tunnel; elsewhere it needs the source of its new route. */
		ks_buf_printf(c->out, "\t\tct mark 0x%x oifname @tunnels drop\n", c->p->split.ct_mark);
		ks_buf_printf(c->out, "\t\tct mark 0x%x oifname != \"lo\" masquerade\n", c->p->split.ct_mark);
	}
	gateway_masquerade(c);
	ks_buf_puts(c->out, "\t}\n");
}

/* The socket match for excluded programs; -EINVAL for an incomplete v2 description. */
static int excluded_match(struct compiler *c)
{
	const struct ks_split *split = &c->p->split;
	char path[KS_CGROUP_PATH_MAX];
	unsigned depth;

	/* Without the VPN's fwmark there is no routing rule to send excluded packets around the tunnel. */
	if (split->mode == KS_SPLIT_OFF || c->p->fwmark_none)
		return 0;
	if (split->mode == KS_SPLIT_V1) {
		snprintf(c->excluded, sizeof(c->excluded), "meta cgroup 0x%x", split->classid);
		return 0;
	}
	/* The path was validated on parsing; check again, it is pasted into a quoted string. */
	if (ks_parse_cgroup_path(split->path, path, &depth) < 0 || split->level < 1 || split->level > depth)
		return -EINVAL;
	snprintf(c->excluded, sizeof(c->excluded), "socket cgroupv2 level %u \"%s\"", split->level, path);
	/* Pasted between quotes as well, and two components deeper than the shared group: its level. */
	for (size_t i = 0; i < c->p->n_user_groups; i++) {
		unsigned user_depth;
		char user_path[KS_CGROUP_PATH_MAX];

		if (ks_parse_cgroup_path(c->p->user_groups[i].path, user_path, &user_depth) < 0 || user_depth != depth + 2)
			return -EINVAL;
	}
	/* "user.slice/user-UID.slice/" before the group's own components (ks_cgroup_plan_in). */
	c->user_level = split->level + 2;
	/* Level 0 is the root: never a unit's. */
	c->unit_levels = c->p->unit_levels & ~UINT32_C(1);
	return 0;
}

/* Gateway names are pasted between quotes too; and a gateway is never a tunnel (its clients leave through it). */
static int gateways_check(const struct ks_policy *p)
{
	for (size_t i = 0; i < p->n_gateways; i++) {
		struct ks_ifname check;

		if (ks_parse_ifname(p->gateways[i].name, &check) < 0 || !strcmp(check.name, "lo"))
			return -EINVAL;
		for (size_t t = 0; t < p->n_tunnels; t++)
			if (!strcmp(p->gateways[i].name, p->tunnels[t].name))
				return -EINVAL;
	}
	return 0;
}

/* The table named table (checked by the caller), whole or as the guard (flags: its "flags" line, or NULL). */
static int compile_table(const struct ks_policy *policy, const char *table, const char *flags, struct ks_buf *out)
{
	struct compiler c = { .p = policy, .out = out, .guard = flags != NULL };
	size_t start = out->len;

	/* Names are pasted between quotes: check them here too, whoever filled the policy. */
	for (size_t i = 0; i < policy->n_tunnels; i++) {
		struct ks_ifname check;

		if (ks_parse_ifname(policy->tunnels[i].name, &check) < 0)
			return -EINVAL;
	}
	if (gateways_check(policy) < 0)
		return -EINVAL;
	c.enabled = policy->state == KS_STATE_ENABLED;
	/* Partial without a protected prefix would lock nothing: a kill switch that is not one. */
	if (policy->partial && !policy->n_protect)
		return -EINVAL;
	c.partial = policy->partial;
	c.paired = policy->n_tunnels > 1 && policy->n_protect;
	c.lan4 = policy->allow_lan || lan_has_family(policy, AF_INET);
	c.lan6 = policy->allow_lan || lan_has_family(policy, AF_INET6);
	c.vouched4 = lan_has_family(policy, AF_INET);
	c.vouched6 = lan_has_family(policy, AF_INET6);
	if (!policy->fwmark_none)
		snprintf(c.mark, sizeof(c.mark), "meta mark 0x%x ", policy->fwmark);
	if (excluded_match(&c) < 0)
		return -EINVAL;
	/*
	 * Blocked means blocked for excluded programs too, so no rule names them:
	 * marked with the VPN's fwmark they would pass the endpoint exemption,
	 * reaching the VPN server's address and port off the tunnel while every
	 * other program is refused. Unmarked, they meet the same rules as the rest.
	 */
	if (!c.enabled) {
		*c.excluded = '\0';
		c.user_level = 0;
	}

	ks_buf_printf(out, "table inet %s {\n", table);
	if (flags)
		ks_buf_printf(out, "\tflags %s\n", flags);
	ks_buf_printf(out, "\tcomment \"killswitch%s: %s\"\n", flags ? " guard" : "", ks_state_name(policy->state));
	declarations(&c);
	chain_prerouting(&c);
	chain_output(&c);
	chain_input(&c);
	chain_forward(&c);
	/* The guard leaves marking and NAT to the table: it only refuses what the table refuses. */
	if (!flags) {
		chain_split_tunnel(&c);
		chain_nat_prerouting(&c);
	}
	ks_buf_puts(out, "}\n");
	if (out->err) {
		out->len = start;
		return out->err;
	}
	return 0;
}

int ks_compile(const struct ks_policy *policy, const char *table, struct ks_buf *out)
{
	if (ks_parse_table_name(table) < 0)
		return -EINVAL;
	return compile_table(policy, table, NULL, out);
}

int ks_compile_transaction(const struct ks_policy *policy, const char *table, struct ks_buf *out)
{
	if (ks_parse_table_name(table) < 0)
		return -EINVAL;
	ks_buf_printf(out, "table inet %s\ndelete table inet %s\n", table, table);
	return compile_table(policy, table, NULL, out);
}

int ks_guard_name(const char *table, char name[KS_GUARD_NAME_LEN])
{
	if (ks_parse_table_name(table) < 0)
		return -EINVAL;
	snprintf(name, KS_GUARD_NAME_LEN, "%s" KS_GUARD_SUFFIX, table);
	return 0;
}

int ks_compile_guard_transaction(const struct ks_policy *policy, const char *table, bool persist, struct ks_buf *out)
{
	const char *flags = persist ? "owner, persist" : "owner";
	char guard[KS_GUARD_NAME_LEN];

	if (ks_guard_name(table, guard) < 0)
		return -EINVAL;
	/* Created owned (or adopted, when a persistent one lost its owner), then replaced whole. */
	ks_buf_printf(out, "table inet %s { flags %s; }\ndelete table inet %s\n", guard, flags, guard);
	return compile_table(policy, guard, flags, out);
}

int ks_compile_guard_removal(const char *table, bool owner, bool persist, struct ks_buf *out)
{
	char guard[KS_GUARD_NAME_LEN];

	if (ks_guard_name(table, guard) < 0)
		return -EINVAL;
	/* Created if absent, so that the delete cannot fail; by its owner with its flags (nftables refuses to drop one). */
	if (owner)
		ks_buf_printf(out, "table inet %s { flags %s; }\n", guard, persist ? "owner, persist" : "owner");
	else
		ks_buf_printf(out, "table inet %s\n", guard);
	ks_buf_printf(out, "delete table inet %s\n", guard);
	return out->err;
}

/* "add element inet T SET { ... }" for the members of one family; nothing when there are none. */
static void change_line(struct ks_buf *out, const char *verb, const char *table, const char *set, int family,
			const struct ks_endpoint_change *change, bool endpoints)
{
	char text[KS_ADDR_STRLEN];
	size_t n = endpoints ? change->n : change->n_addrs;
	bool first = true;

	for (size_t i = 0; i < n; i++) {
		const struct ks_addr *addr = endpoints ? &change->eps[i].addr : &change->addrs[i];

		if (addr->family != family)
			continue;
		ks_buf_printf(out, first ? "%s element inet %s %s { " : ", ", verb, table, set);
		first = false;
		ks_format_addr(addr, text);
		if (endpoints)
			ks_buf_printf(out, "%s . %s . %u", text, ks_proto_name(change->eps[i].proto), change->eps[i].port);
		else
			ks_buf_puts(out, text);
	}
	if (!first)
		ks_buf_puts(out, " }\n");
}

int ks_compile_endpoint_change(const struct ks_endpoint_change *change, const char *table, bool guard,
			       struct ks_buf *out)
{
	const char *verb = change->add ? "add" : "delete";
	char name[KS_GUARD_NAME_LEN];

	if (ks_parse_table_name(table) < 0)
		return -EINVAL;
	if (guard)
		ks_guard_name(table, name);
	else
		snprintf(name, sizeof(name), "%s", table);
	change_line(out, verb, name, KS_SET_ENDPOINTS4, AF_INET, change, true);
	change_line(out, verb, name, KS_SET_ENDPOINTS6, AF_INET6, change, true);
	change_line(out, verb, name, KS_SET_ENDPOINT_ADDRS4, AF_INET, change, false);
	change_line(out, verb, name, KS_SET_ENDPOINT_ADDRS6, AF_INET6, change, false);
	return out->err;
}
