// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VPN's own networks (protected prefixes): refused off the tunnel,
 * and, with several tunnels, off their own tunnel, in both directions.
 */


#include "compiler.h"

/*
 * The VPN's own networks never leave off the tunnel: a rogue DHCP or RA
 * route for 10.66.0.50 via the LAN would otherwise hand the tunnel's
 * private traffic to the LAN (--allow-lan accepts 10/8). Before every
 * accept that could let it out, after the VPN's own packets (which never
 * go to the tunnel's networks) have had theirs.
 */
void protected_out(struct compiler *c, const char *counter)
{
	ks_buf_printf(c->out, "\t\toifname != @tunnels ip daddr @%s counter name %s reject with icmpx admin-prohibited\n",
		      KS_SET_PROTECTED4, counter);
	ks_buf_printf(c->out, "\t\toifname != @tunnels ip6 daddr @%s counter name %s reject with icmpx admin-prohibited\n",
		      KS_SET_PROTECTED6, counter);
}

/* ... nor arrive from off the tunnel: a LAN host posing as one of them is no LAN host. */
void protected_in(struct compiler *c, const char *counter)
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
void protected_via_out(struct compiler *c, const char *counter)
{
	if (!c->paired)
		return;
	ks_buf_printf(c->out, "\t\toifname @tunnels ip daddr @%s oifname . ip daddr != @%s counter name %s reject with icmpx admin-prohibited\n",
		      KS_SET_PROTECTED4, KS_SET_PROTECTED_VIA4, counter);
	ks_buf_printf(c->out, "\t\toifname @tunnels ip6 daddr @%s oifname . ip6 daddr != @%s counter name %s reject with icmpx admin-prohibited\n",
		      KS_SET_PROTECTED6, KS_SET_PROTECTED_VIA6, counter);
}

/* ... nor arrive by another tunnel: the main VPN's server posing as a mesh node. */
void protected_via_in(struct compiler *c, const char *counter)
{
	if (!c->paired)
		return;
	ks_buf_printf(c->out, "\t\tiifname @tunnels ip saddr @%s iifname . ip saddr != @%s counter name %s drop\n",
		      KS_SET_PROTECTED4, KS_SET_PROTECTED_VIA4, counter);
	ks_buf_printf(c->out, "\t\tiifname @tunnels ip6 saddr @%s iifname . ip6 saddr != @%s counter name %s drop\n",
		      KS_SET_PROTECTED6, KS_SET_PROTECTED_VIA6, counter);
}
