// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --bypass and --allow-in in the table (docs/bypass.md): their sets, the
 * accepts in output and input, the marks that route bypassed connections and
 * the replies of accepted inbound ones around the tunnel, and their NAT.
 * Nothing is emitted for a policy without them.
 */
#include <stdio.h>
#include <string.h>

#include "compiler.h"
#include "killswitch/parse.h"
#include "killswitch/protect.h"

/* The protocols a bypass or allow-in entry stands for: proto 0 is both. */
static const uint8_t both[] = { IPPROTO_TCP, IPPROTO_UDP };

static bool covers(uint8_t entry, uint8_t proto)
{
	return !entry || entry == proto;
}

/*
 * Whether (bypass i, proto) lies inside another entry of the same port and
 * protocol: nft refuses overlapping elements in a concatenation with
 * intervals, and the outer entry already allows it. Of equal ones, the first.
 */
static bool bypass_covered(const struct ks_policy *p, size_t i, uint8_t proto)
{
	const struct ks_bypass *b = &p->bypass[i];

	for (size_t j = 0; j < p->n_bypass; j++) {
		const struct ks_bypass *o = &p->bypass[j];

		if (j == i || o->port != b->port || !covers(o->proto, proto) || !ks_cidr_contains(&o->cidr, &b->cidr))
			continue;
		if (o->cidr.prefix < b->cidr.prefix || j < i)
			return true;
	}
	return false;
}

static void bypass_set(struct compiler *c, const char *name, int family, bool ports)
{
	const struct ks_policy *p = c->p;
	char text[KS_CIDR_STRLEN];
	bool first = true;

	ks_buf_printf(c->out, "\n\tset %s {\n\t\ttype %s%s\n\t\tflags interval\n", name,
		      family == AF_INET ? "ipv4_addr" : "ipv6_addr", ports ? " . inet_proto . inet_service" : "");
	if (!ports)
		ks_buf_puts(c->out, "\t\tauto-merge\n");
	for (size_t i = 0; i < p->n_bypass; i++) {
		const struct ks_bypass *b = &p->bypass[i];

		if (b->cidr.addr.family != family || !b->port != !ports)
			continue;
		ks_format_cidr(&b->cidr, text);
		for (size_t k = 0; k < (ports ? 2 : 1); k++) {
			if (ports && (!covers(b->proto, both[k]) || bypass_covered(p, i, both[k])))
				continue;
			ks_buf_puts(c->out, first ? "\t\telements = {\n" : "");
			first = false;
			if (ports)
				ks_buf_printf(c->out, "\t\t\t%s . %s . %u,\n", text, ks_proto_name(both[k]), b->port);
			else
				ks_buf_printf(c->out, "\t\t\t%s,\n", text);
		}
	}
	ks_buf_puts(c->out, first ? "\t}\n" : "\t\t}\n\t}\n");
}

/* The allow-in entries for every interface (with_iface false) or for one. */
static void allow_in_set(struct compiler *c, const char *name, bool with_iface)
{
	const struct ks_policy *p = c->p;
	bool first = true;

	ks_buf_printf(c->out, "\n\tset %s {\n\t\ttype %sinet_proto . inet_service\n", name, with_iface ? "ifname . " : "");
	for (size_t i = 0; i < p->n_allow_in; i++) {
		const struct ks_allow_in *a = &p->allow_in[i];
		struct ks_ifname check;

		/* Pasted between quotes: checked again, whoever filled the policy. */
		if (!a->iface[0] == with_iface || (with_iface && ks_parse_ifname(a->iface, &check) < 0))
			continue;
		for (size_t k = 0; k < 2; k++) {
			/* Sorted with proto 0 (both) first: a later equal protocol is already in. */
			if (!covers(a->proto, both[k]) || (a->proto && i && !memcmp(a->iface, p->allow_in[i - 1].iface, IFNAMSIZ) &&
							   a->port == p->allow_in[i - 1].port && !p->allow_in[i - 1].proto))
				continue;
			ks_buf_puts(c->out, first ? "\t\telements = {\n" : "");
			first = false;
			if (with_iface)
				ks_buf_printf(c->out, "\t\t\t\"%s\" . %s . %u,\n", a->iface, ks_proto_name(both[k]), a->port);
			else
				ks_buf_printf(c->out, "\t\t\t%s . %u,\n", ks_proto_name(both[k]), a->port);
		}
	}
	ks_buf_puts(c->out, first ? "\t}\n" : "\t\t}\n\t}\n");
}

/* Whether the bypass rules apply: connected only (blocked lets nothing but the contract's list out). */
static bool bypassing(const struct compiler *c)
{
	return c->p->n_bypass && c->enabled;
}

void exceptions_sets(struct compiler *c)
{
	if (bypassing(c)) {
		bypass_set(c, KS_SET_BYPASS4, AF_INET, false);
		bypass_set(c, KS_SET_BYPASS6, AF_INET6, false);
		bypass_set(c, KS_SET_BYPASS_PORTS4, AF_INET, true);
		bypass_set(c, KS_SET_BYPASS_PORTS6, AF_INET6, true);
	}
	if (c->p->n_allow_in) {
		allow_in_set(c, KS_SET_ALLOW_IN, false);
		allow_in_set(c, KS_SET_ALLOW_IN_IF, true);
	}
}

/*
 * Prerouting: what arrives for an accepted inbound port, and the replies of
 * bypassed connections, carry the VPN's fwmark, so that rp_filter checks
 * their source against the main table and not the tunnel's default route
 * (src_valid_mark). Routing only: no filter rule reads it on the way in.
 */
void exceptions_prerouting(struct compiler *c)
{
	if (c->p->fwmark_none)
		return;
	if (c->p->n_allow_in) {
		ks_buf_printf(c->out, "\t\tiifname != @tunnels ct direction original meta l4proto . th dport @%s meta mark set 0x%x\n",
			      KS_SET_ALLOW_IN, c->p->fwmark);
		ks_buf_printf(c->out, "\t\tiifname != @tunnels ct direction original iifname . meta l4proto . th dport @%s meta mark set 0x%x\n",
			      KS_SET_ALLOW_IN_IF, c->p->fwmark);
	}
	if (bypassing(c))
		ks_buf_printf(c->out, "\t\tiifname != @tunnels ct mark 0x%x ct direction reply meta mark set 0x%x\n",
			      KS_BYPASS_CT_MARK, c->p->fwmark);
}

/*
 * Output, after the protected prefixes: the replies of the inbound
 * connections input accepted, in both states, off the tunnel only. Only
 * the reply direction: the connection's peer gets answers, nothing new.
 */
void allow_in_out(struct compiler *c)
{
	if (c->p->n_allow_in)
		ks_buf_printf(c->out, "\t\toifname != @tunnels ct mark 0x%x ct direction reply accept\n",
			      KS_ALLOW_IN_CT_MARK);
}

/*
 * Output, after the protected prefixes and DNS (never DNS, never the VPN's
 * networks), before the final reject: the bypassed destinations, connected
 * only. Any route: mangle sent them around the tunnel.
 */
void bypass_out(struct compiler *c)
{
	if (!bypassing(c))
		return;
	ks_buf_printf(c->out, "\t\toifname != @tunnels ip daddr @%s accept\n", KS_SET_BYPASS4);
	ks_buf_printf(c->out, "\t\toifname != @tunnels ip6 daddr @%s accept\n", KS_SET_BYPASS6);
	ks_buf_printf(c->out, "\t\toifname != @tunnels ip daddr . meta l4proto . th dport @%s accept\n", KS_SET_BYPASS_PORTS4);
	ks_buf_printf(c->out, "\t\toifname != @tunnels ip6 daddr . meta l4proto . th dport @%s accept\n",
		      KS_SET_BYPASS_PORTS6);
}

/*
 * Input, after the protected prefixes' posers were dropped: new inbound
 * connections to an allowed port on a non-tunnel interface, in both states,
 * marked so that their replies (and the rest of them, and ICMP errors about
 * them) pass; then the replies of bypassed connections, connected only.
 * Never a generic "established": each accept names its own connections.
 */
void exceptions_in(struct compiler *c)
{
	if (c->p->n_allow_in) {
		ks_buf_printf(c->out, "\t\tiifname != @tunnels ct direction original meta l4proto . th dport @%s ct mark set 0x%x accept\n",
			      KS_SET_ALLOW_IN, KS_ALLOW_IN_CT_MARK);
		ks_buf_printf(c->out, "\t\tiifname != @tunnels ct direction original iifname . meta l4proto . th dport @%s ct mark set 0x%x accept\n",
			      KS_SET_ALLOW_IN_IF, KS_ALLOW_IN_CT_MARK);
		ks_buf_printf(c->out, "\t\tiifname != @tunnels ct mark 0x%x ct direction original accept\n",
			      KS_ALLOW_IN_CT_MARK);
	}
	if (bypassing(c))
		ks_buf_printf(c->out, "\t\tiifname != @tunnels ct mark 0x%x ct direction reply accept\n", KS_BYPASS_CT_MARK);
}

/*
 * The mangle chain (route hook): replies of accepted inbound connections
 * carry the VPN's fwmark, so the re-route takes the main table (a reply to a
 * source beyond the LAN would take the tunnel's default route); new
 * connections to bypassed destinations go to the bypass chain.
 */
void exceptions_mangle(struct compiler *c)
{
	if (c->p->n_allow_in && !c->p->fwmark_none)
		ks_buf_printf(c->out, "\t\tct mark 0x%x ct direction reply meta mark set 0x%x\n", KS_ALLOW_IN_CT_MARK,
			      c->p->fwmark);
	if (!bypassing(c))
		return;
	ks_buf_printf(c->out, "\t\tip daddr @%s goto bypass\n", KS_SET_BYPASS4);
	ks_buf_printf(c->out, "\t\tip6 daddr @%s goto bypass\n", KS_SET_BYPASS6);
	ks_buf_printf(c->out, "\t\tip daddr . meta l4proto . th dport @%s goto bypass\n", KS_SET_BYPASS_PORTS4);
	ks_buf_printf(c->out, "\t\tip6 daddr . meta l4proto . th dport @%s goto bypass\n", KS_SET_BYPASS_PORTS6);
}

/*
 * The bypass chain: a connection that began through the tunnel stays there
 * (rerouted unmasqueraded, it would carry the tunnel's address onto the LAN);
 * DNS and the VPN's own networks stay in the tunnel too. The rest is marked:
 * the fwmark sends it to the main table on re-route, the ct mark follows the
 * connection (its replies, its NAT).
 */
void exceptions_chains(struct compiler *c)
{
	if (!bypassing(c))
		return;
	ks_buf_puts(c->out, "\n\tchain bypass {\n");
	ks_buf_printf(c->out, "\t\tct state != new ct mark != 0x%x return\n", KS_BYPASS_CT_MARK);
	rule(c, "meta l4proto { tcp, udp } th dport { 53, 853 } return");
	ks_buf_printf(c->out, "\t\tip daddr @%s return\n", KS_SET_PROTECTED4);
	ks_buf_printf(c->out, "\t\tip6 daddr @%s return\n", KS_SET_PROTECTED6);
	ks_buf_printf(c->out, "\t\tct mark set 0x%x meta mark set 0x%x\n", KS_BYPASS_CT_MARK, c->p->fwmark);
	ks_buf_puts(c->out, "\t}\n");
}

/* Bypassed connections leave with the source of their new route (the first lookup gave the tunnel's). */
void exceptions_masquerade(struct compiler *c)
{
	if (bypassing(c))
		ks_buf_printf(c->out, "\t\tct mark 0x%x oifname != @tunnels oifname != \"lo\" masquerade\n",
			      KS_BYPASS_CT_MARK);
}
