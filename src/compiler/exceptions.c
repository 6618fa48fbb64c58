// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --bypass and --allow-in in the table (docs/bypass.md): their sets, the
 * accepts in output and input, the marks that route bypassed connections and
 * the replies of accepted inbound ones around the tunnel, and their NAT.
 * Nothing is emitted for a policy without them. Also the element changes
 * of bypass|allow-in add|del: the difference between two policies' sets.
 */
#include <errno.h>
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
 * Whether (bypass i, proto) lies inside another entry of the same set (the
 * same port and protocol, or none): an element inside another would overlap
 * it, which nft refuses in a concatenation with intervals and auto-merge
 * would fold (then a delete of either could not be told apart), and the
 * outer entry already allows it. Of equal ones, the first.
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

/* The six sets, in the order they are declared; for a bypass set, its family and whether it is by port. */
enum { BYPASS4, BYPASS6, BYPASS_PORTS4, BYPASS_PORTS6, ALLOW_IN, ALLOW_IN_IF, N_SETS };
static const struct {
	const char *name, *type;
	int family;
	bool ports;
} sets[N_SETS] = {
	[BYPASS4] = { KS_SET_BYPASS4, "ipv4_addr", AF_INET, false },
	[BYPASS6] = { KS_SET_BYPASS6, "ipv6_addr", AF_INET6, false },
	[BYPASS_PORTS4] = { KS_SET_BYPASS_PORTS4, "ipv4_addr . inet_proto . inet_service", AF_INET, true },
	[BYPASS_PORTS6] = { KS_SET_BYPASS_PORTS6, "ipv6_addr . inet_proto . inet_service", AF_INET6, true },
	[ALLOW_IN] = { KS_SET_ALLOW_IN, "inet_proto . inet_service", 0, false },
	[ALLOW_IN_IF] = { KS_SET_ALLOW_IN_IF, "ifname . inet_proto . inet_service", 0, false },
};

#define ELEM_LEN (KS_CIDR_STRLEN + IFNAMSIZ + 32)
typedef void elem_fn(void *data, const char *elem);

/*
 * The elements of set s for policy p, each handed to fn: the table's set
 * holds exactly these, so a change between two policies is the difference
 * of their lists. No element lies inside another of its set.
 */
static void set_elements(const struct ks_policy *p, unsigned s, elem_fn *fn, void *data)
{
	char text[KS_CIDR_STRLEN], elem[ELEM_LEN];

	for (size_t i = 0; s < ALLOW_IN && i < p->n_bypass; i++) {
		const struct ks_bypass *b = &p->bypass[i];

		if (b->cidr.addr.family != sets[s].family || !b->port != !sets[s].ports)
			continue;
		ks_format_cidr(&b->cidr, text);
		for (size_t k = 0; k < (sets[s].ports ? 2 : 1); k++) {
			/* Without a port, proto 0: tcp stands for "covered by an entry without a port". */
			if (!covers(b->proto, both[k]) || bypass_covered(p, i, both[k]))
				continue;
			if (sets[s].ports)
				snprintf(elem, sizeof(elem), "%s . %s . %u", text, ks_proto_name(both[k]), b->port);
			else
				snprintf(elem, sizeof(elem), "%s", text);
			fn(data, elem);
		}
	}
	for (size_t i = 0; s >= ALLOW_IN && i < p->n_allow_in; i++) {
		const struct ks_allow_in *a = &p->allow_in[i];
		bool with_iface = s == ALLOW_IN_IF;
		struct ks_ifname check;

		/* Pasted between quotes: checked again, whoever filled the policy. */
		if (!a->iface[0] == with_iface || (with_iface && ks_parse_ifname(a->iface, &check) < 0))
			continue;
		for (size_t k = 0; k < 2; k++) {
			/* Sorted with proto 0 (both) first: a later equal protocol is already in. */
			if (!covers(a->proto, both[k]) || (a->proto && i && !memcmp(a->iface, p->allow_in[i - 1].iface, IFNAMSIZ) &&
							   a->port == p->allow_in[i - 1].port && !p->allow_in[i - 1].proto))
				continue;
			if (with_iface)
				snprintf(elem, sizeof(elem), "\"%s\" . %s . %u", a->iface, ks_proto_name(both[k]), a->port);
			else
				snprintf(elem, sizeof(elem), "%s . %u", ks_proto_name(both[k]), a->port);
			fn(data, elem);
		}
	}
}

struct declaring {
	struct ks_buf *out;
	bool first;
};

static void declare_elem(void *data, const char *elem)
{
	struct declaring *d = data;

	ks_buf_printf(d->out, "%s\t\t\t%s,\n", d->first ? "\t\telements = {\n" : "", elem);
	d->first = false;
}

/*
 * The bypass sets have intervals but no auto-merge: each element is one
 * entry (or a port's protocol) of the list, as given, so that bypass del
 * deletes exactly it, and not a merged range with its neighbour.
 */
static void declare_set(struct compiler *c, unsigned s)
{
	struct declaring d = { c->out, true };

	ks_buf_printf(c->out, "\n\tset %s {\n\t\ttype %s\n%s", sets[s].name, sets[s].type,
		      s < ALLOW_IN ? "\t\tflags interval\n" : "");
	set_elements(c->p, s, declare_elem, &d);
	ks_buf_puts(c->out, d.first ? "\t}\n" : "\t\t}\n\t}\n");
}

/* Whether the bypass rules apply: connected only (blocked lets nothing but the contract's list out). */
static bool bypassing(const struct ks_policy *p)
{
	return p->n_bypass && p->state == KS_STATE_ENABLED;
}

/* Whether the table of policy p declares set s (and has the rules that read it). */
static bool declared(const struct ks_policy *p, unsigned s)
{
	return s < ALLOW_IN ? bypassing(p) : p->n_allow_in > 0;
}

void exceptions_sets(struct compiler *c)
{
	for (unsigned s = 0; s < N_SETS; s++)
		if (declared(c->p, s))
			declare_set(c, s);
}

bool ks_exceptions_same_rules(const struct ks_policy *before, const struct ks_policy *after)
{
	for (unsigned s = 0; s < N_SETS; s++)
		if (declared(before, s) != declared(after, s))
			return false;
	return true;
}

/* A set's elements as "\nA\nB\n": membership is a search for "\nX\n". */
static void collect_elem(void *data, const char *elem)
{
	ks_buf_printf(data, "%s\n", elem);
}

static bool has_elem(const struct ks_buf *list, const char *elem)
{
	char needle[ELEM_LEN + 2];

	snprintf(needle, sizeof(needle), "\n%s\n", elem);
	return list->data && strstr(list->data, needle);
}

/* "VERB element inet T SET { ... }" for the elements of from not in other; nothing when there are none. */
static void diff_line(struct ks_buf *out, const char *verb, const char *table, unsigned s, const struct ks_buf *from,
		      const struct ks_buf *other)
{
	bool first = true;

	for (const char *line = from->data ? from->data + 1 : ""; *line;) {
		size_t len = strcspn(line, "\n");
		char elem[ELEM_LEN];

		snprintf(elem, sizeof(elem), "%.*s", (int)len, line);
		line += len + 1;
		if (has_elem(other, elem))
			continue;
		if (first)
			ks_buf_printf(out, "%s element inet %s %s { ", verb, table, sets[s].name);
		ks_buf_printf(out, "%s%s", first ? "" : ", ", elem);
		first = false;
	}
	if (!first)
		ks_buf_puts(out, " }\n");
}

int ks_compile_exceptions_change(const struct ks_policy *before, const struct ks_policy *after, const char *table,
				 bool guard, struct ks_buf *out)
{
	struct ks_buf old[N_SETS], new[N_SETS];
	char name[KS_GUARD_NAME_LEN];
	int ret = 0;

	if (ks_parse_table_name(table) < 0 || !ks_exceptions_same_rules(before, after))
		return -EINVAL;
	if (guard)
		ks_guard_name(table, name);
	else
		snprintf(name, sizeof(name), "%s", table);
	for (unsigned s = 0; s < N_SETS; s++) {
		old[s] = (struct ks_buf)KS_BUF_INIT;
		new[s] = (struct ks_buf)KS_BUF_INIT;
		ks_buf_puts(&old[s], "\n");
		ks_buf_puts(&new[s], "\n");
		set_elements(before, s, collect_elem, &old[s]);
		set_elements(after, s, collect_elem, &new[s]);
		if (old[s].err || new[s].err)
			ret = -ENOMEM;
	}
	/* Deletes first: an entry that covered others gives way to them in the same transaction. */
	for (unsigned s = 0; s < N_SETS && !ret; s++)
		if (declared(before, s))
			diff_line(out, "delete", name, s, &old[s], &new[s]);
	for (unsigned s = 0; s < N_SETS && !ret; s++)
		if (declared(after, s))
			diff_line(out, "add", name, s, &new[s], &old[s]);
	for (unsigned s = 0; s < N_SETS; s++) {
		ks_buf_free(&old[s]);
		ks_buf_free(&new[s]);
	}
	return ret ? ret : out->err;
}

/*
 * Prerouting: what arrives for an accepted inbound port, and the replies of
 * bypassed connections, carry the VPN's fwmark, so that rp_filter checks
 * their source against the main table and not the tunnel's default route
 * (src_valid_mark). Routing only: no filter rule reads it on the way in.
 * Only what is addressed to this host: a forwarded packet (a container's, a
 * --gateway client's) to that port elsewhere would be routed by the mark to
 * the main table, off the tunnel that should carry it, and refused there.
 * Nothing from a gateway's LAN either: its DNS to this host is redirected to
 * the VPN's resolver after this chain (nat_prerouting), and the mark would
 * send it off the tunnel too; its sources are on-link, rp_filter needs no mark.
 */
void exceptions_prerouting(struct compiler *c)
{
	if (c->p->fwmark_none)
		return;
	if (c->p->n_allow_in) {
		ks_buf_printf(c->out, "\t\tiifname != @tunnels iifname != @%s ct direction original fib daddr type { local, broadcast, multicast } meta l4proto . th dport @%s meta mark set 0x%x\n",
			      KS_SET_GATEWAYS, KS_SET_ALLOW_IN, c->p->fwmark);
		ks_buf_printf(c->out, "\t\tiifname != @tunnels iifname != @%s ct direction original fib daddr type { local, broadcast, multicast } iifname . meta l4proto . th dport @%s meta mark set 0x%x\n",
			      KS_SET_GATEWAYS, KS_SET_ALLOW_IN_IF, c->p->fwmark);
	}
	if (bypassing(c->p))
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
	if (!bypassing(c->p))
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
	if (bypassing(c->p))
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
	if (!bypassing(c->p))
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
	if (!bypassing(c->p))
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
	if (bypassing(c->p))
		ks_buf_printf(c->out, "\t\tct mark 0x%x oifname != @tunnels oifname != \"lo\" masquerade\n",
			      KS_BYPASS_CT_MARK);
}
