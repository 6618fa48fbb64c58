// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --include-only: only the programs of the inclusion group use the tunnel,
 * and are locked to it in every state. Their sockets' packets are marked in
 * mangle (the routing rule "fwmark KS_INCLUDE_MARK lookup TABLE" of
 * killswitch routing add --include sends them into the tunnel) and
 * masqueraded there; in the filter chains they leave only through the
 * tunnel, their DNS only to the --dns resolvers in it. Everything else
 * meets the --partial tails (src/compiler/partial.c). docs/include-only.md.
 */
#include <errno.h>
#include <stdio.h>

#include "compiler.h"
#include "killswitch/parse.h"

/* The socket match for included programs; "" when the policy is not --include-only or has no group. */
int included_match(struct compiler *c)
{
	const struct ks_split *inc = &c->p->include;
	char path[KS_CGROUP_PATH_MAX];
	unsigned depth;

	*c->included = '\0';
	c->include_only = c->p->include_only;
	if (!c->include_only || inc->mode == KS_SPLIT_OFF)
		return 0;
	/* The mark routes them into the tunnel: never the VPN's own fwmark, nor the exclusion's ct mark. */
	if (!inc->ct_mark || inc->ct_mark == c->p->fwmark || inc->ct_mark == c->p->split.ct_mark ||
	    inc->ct_mark == KS_REJECT_CT_MARK)
		return -EINVAL;
	if (inc->mode == KS_SPLIT_V1) {
		if (!inc->classid || inc->classid == c->p->split.classid)
			return -EINVAL;
		snprintf(c->included, sizeof(c->included), "meta cgroup 0x%x", inc->classid);
		return 0;
	}
	/* Validated on parsing; checked again, it is pasted into a quoted string. */
	if (ks_parse_cgroup_path(inc->path, path, &depth) < 0 || inc->level < 1 || inc->level > depth)
		return -EINVAL;
	snprintf(c->included, sizeof(c->included), "socket cgroupv2 level %u \"%s\"", inc->level, path);
	return 0;
}

/*
 * Output, before loopback is accepted: an included program's DNS to a
 * local stub (systemd-resolved's 127.0.0.53, dnsmasq) would be forwarded
 * by the stub, which is not included, straight out of the physical
 * interface. Refused: included programs ask the --dns resolvers.
 */
void included_loopback(struct compiler *c)
{
	if (!*c->included)
		return;
	ks_buf_printf(c->out, "\t\toifname \"lo\" %s meta l4proto { tcp, udp } th dport { 53, 853 } counter name blocked_dns reject\n",
		      c->included);
}

/*
 * Output: every packet of an included program, by its socket or (a
 * time-wait ACK, a socket gone) by its connection's ct mark, carries the
 * include mark for the rules below and for included_post. Its DNS only to
 * the resolvers (when enabled), never elsewhere; then, when enabled,
 * accepted here and checked in included_post: the output hook still names
 * the device of the route before mangle's re-route (the physical one), the
 * postrouting hook the one the packet really leaves by. Blocked: refused
 * here, at once. Closes nothing: the rest of the chain is for the others.
 */
void included_out(struct compiler *c, const char *counter)
{
	const uint32_t mark = c->p->include.ct_mark;

	if (!*c->included)
		return;
	ks_buf_printf(c->out, "\t\t%s meta mark set 0x%x\n", c->included, mark);
	ks_buf_printf(c->out, "\t\tct mark 0x%x meta mark set 0x%x\n", mark, mark);
	if (c->enabled) {
		ks_buf_printf(c->out, "\t\tmeta mark 0x%x ip daddr @resolvers4 meta l4proto { tcp, udp } th dport 53 accept\n", mark);
		ks_buf_printf(c->out, "\t\tmeta mark 0x%x ip6 daddr @resolvers6 meta l4proto { tcp, udp } th dport 53 accept\n", mark);
	}
	ks_buf_printf(c->out, "\t\tmeta mark 0x%x meta l4proto { tcp, udp } th dport { 53, 853 } counter name blocked_dns reject\n", mark);
	if (c->enabled) {
		ks_buf_printf(c->out, "\t\tmeta mark 0x%x accept\n", mark);
		return;
	}
	ks_buf_printf(c->out, "\t\tmeta mark 0x%x meta l4proto tcp counter name %s reject with tcp reset\n", mark, counter);
	ks_buf_printf(c->out, "\t\tmeta mark 0x%x counter name %s reject with icmpx admin-prohibited\n", mark, counter);
}

/*
 * The postrouting filter chain (table and guard): an included packet
 * leaves through a tunnel or not at all. Wherever the re-route sent it:
 * the tunnel's table empty (the interface gone with its VPN client), the
 * rule missing, a socket bound to the physical interface, the guard alone
 * (no mangle, so no re-route). Dropped: reject is not allowed here.
 */
void chain_included_post(struct compiler *c)
{
	const uint32_t mark = c->p->include.ct_mark;

	if (!*c->included)
		return;
	chain_open(c, KS_CHAIN_INCLUDED_POST, "filter hook postrouting priority 0", "accept");
	/* The mark leaves local routes alone: the group's loopback traffic stays where it was accepted. */
	ks_buf_puts(c->out, "\t\toifname \"lo\" accept\n");
	if (c->enabled)
		ks_buf_printf(c->out, "\t\tmeta mark 0x%x oifname @tunnels accept\n", mark);
	ks_buf_printf(c->out, "\t\tmeta mark 0x%x counter name blocked_out drop\n", mark);
	ks_buf_puts(c->out, "\t}\n");
}

/* Input: an included connection hears only from the tunnel (a reply injected off it is dropped). */
void included_in(struct compiler *c, const char *counter)
{
	if (*c->included)
		ks_buf_printf(c->out, "\t\tiifname != @tunnels ct mark 0x%x counter name %s drop\n",
			      c->p->include.ct_mark, counter);
}

/* Prerouting: replies from the tunnel carry the include mark, so rp_filter (src_valid_mark) routes them by it. */
void included_prerouting(struct compiler *c)
{
	if (*c->included)
		ks_buf_printf(c->out, "\t\tiifname @tunnels ct mark 0x%x meta mark set 0x%x\n", c->p->include.ct_mark,
			      c->p->include.ct_mark);
}

/* Mangle: included sockets, and their connections, go to the chain that marks them for the tunnel's table. */
void included_mangle(struct compiler *c)
{
	if (!*c->included)
		return;
	ks_buf_printf(c->out, "\t\t%s goto included\n", c->included);
	ks_buf_printf(c->out, "\t\tct mark 0x%x goto included\n", c->p->include.ct_mark);
}

/* The mark selects the tunnel's routing table on re-route; the ct mark follows the connection (NAT, replies). */
void chain_included(struct compiler *c)
{
	const uint32_t mark = c->p->include.ct_mark;

	if (!*c->included)
		return;
	ks_buf_puts(c->out, "\n\tchain included {\n");
	ks_buf_printf(c->out, "\t\tct mark set 0x%x meta mark set 0x%x\n", mark, mark);
	ks_buf_puts(c->out, "\t}\n");
}

/*
 * NAT: the source of an included packet was chosen by the main table's
 * route (the physical address) before the mark re-routed it: the tunnel's
 * address instead, or the VPN server drops it (and would learn the LAN address).
 */
void included_masquerade(struct compiler *c)
{
	if (*c->included)
		ks_buf_printf(c->out, "\t\tct mark 0x%x oifname @tunnels masquerade\n", c->p->include.ct_mark);
}
