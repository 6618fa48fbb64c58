// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Split tunnelling in the table: the mangle chain that marks excluded
 * programs' sockets, the chain that sends them around the tunnel, their NAT,
 * and their accept in the filter chains.
 */
#include <errno.h>
#include <stdio.h>

#include "compiler.h"
#include "killswitch/parse.h"

/*
 * Connections of excluded programs, marked in mangle: accepted in every
 * filter chain while connected (only then is c->excluded set).
 */
void excluded_accept(struct compiler *c)
{
	if (*c->excluded)
		ks_buf_printf(c->out, "\t\tct mark 0x%x accept\n", c->p->split.ct_mark);
}

void chain_split_tunnel(struct compiler *c)
{
	const char *ex = c->excluded;
	struct idle_chain mangle, nat;

	mangle = chain_open_idle(c, "mangle", "route hook output priority -150", "accept");
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
	included_mangle(c);
	exceptions_mangle(c);
	chain_close_idle(c, &mangle);
	chain_included(c);
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
	exceptions_chains(c);
	nat = chain_open_idle(c, "nat", "nat hook postrouting priority srcnat", "accept");
	if (*ex) {
		/* Excluded traffic never uses the tunnel; elsewhere it needs the source of its new route. */
		ks_buf_printf(c->out, "\t\tct mark 0x%x oifname @tunnels drop\n", c->p->split.ct_mark);
		ks_buf_printf(c->out, "\t\tct mark 0x%x oifname != \"lo\" masquerade\n", c->p->split.ct_mark);
	}
	included_masquerade(c);
	gateway_masquerade(c);
	exceptions_masquerade(c);
	chain_close_idle(c, &nat);
}

/* The socket match for excluded programs; -EINVAL for an incomplete v2 description. */
int excluded_match(struct compiler *c)
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
