// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --gateway (a VPN router): its clients' forwarded traffic only through the
 * tunnel, masqueraded, their DNS redirected, MSS clamped, and their DHCP.
 */
#include <errno.h>
#include <string.h>

#include "compiler.h"
#include "killswitch/parse.h"

/*
 * The router's DHCP server for its gateway's clients, in both states (they
 * keep their addresses while blocked, as this host keeps its own): requests
 * come from 0.0.0.0 before a lease, which no LAN rule accepts; the answers
 * go to the client's new address or to broadcast, which without --allow-lan
 * no rule accepts either.
 */
void gateway_dhcp_server(struct compiler *c, bool out)
{
	if (c->p->n_gateways)
		rule(c, out ? "oifname @gateways udp sport 67 udp dport 68 accept"
			    : "iifname @gateways udp sport 68 udp dport 67 accept");
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
void gateway_forward(struct compiler *c)
{
	if (!c->p->n_gateways)
		return;
	/* No conntrack entry, so no NAT: it would leave with the client's private source ("NAT leakage"). */
	rule(c, "iifname @gateways ct state invalid counter name blocked_fwd drop");
	/*
	 * Blocked and connecting with --partial: for the clients what it means for
	 * this host, the protected networks and the resolvers are refused (the
	 * partial rules that follow close the tunnel) and the internet is
	 * untouched: a site whose tunnel is down keeps its own internet.
	 */
	if (!c->enabled && c->partial)
		return;
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

/* The gateway's clients leave through the tunnel with its address: the VPN server knows no other. */
void gateway_masquerade(struct compiler *c)
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
void chain_nat_prerouting(struct compiler *c)
{
	char text[KS_ADDR_STRLEN];
	struct idle_chain chain = chain_open_idle(c, KS_CHAIN_NAT_PREROUTING, "nat hook prerouting priority dstnat", "accept");

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
	chain_close_idle(c, &chain);
}

/* Gateway names are pasted between quotes too; and a gateway is never a tunnel (its clients leave through it). */
int gateways_check(const struct ks_policy *p)
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
