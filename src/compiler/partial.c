// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --partial (a split-include VPN, site-to-site): the ends of output, input
 * and forward when only the protected prefixes and the resolvers are locked.
 */
#include <stdio.h>

#include "compiler.h"

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
 * Site to site (--partial --gateway): the other site opens connections to
 * this one's clients, as they open theirs to it. Only from a protected
 * source (the peers' allowed-ips, the tunnel's network, --protect: what the
 * far end routes to us and WireGuard's cryptokey routing vouches for; with
 * several tunnels protected_via_in already dropped one that came by another
 * tunnel) and only to the gateway's clients: the VPN's other hosts, or a
 * peer using this router as its way out to the underlay, stay refused. The
 * far end decides what it sends us: a split-include server that knows only
 * our tunnel address never routes our LAN to us. As the rest of --partial,
 * this is the kill switch not refusing: the host's own firewall may still.
 */
static void partial_site_in(struct compiler *c)
{
	if (!c->p->n_gateways)
		return;
	ks_buf_printf(c->out, "\t\tiifname @tunnels oifname @gateways ip saddr @%s accept\n", KS_SET_PROTECTED4);
	ks_buf_printf(c->out, "\t\tiifname @tunnels oifname @gateways ip6 saddr @%s accept\n", KS_SET_PROTECTED6);
}

/*
 * The end of output and forward with --partial, after the protected
 * prefixes were refused off the tunnel: the resolvers likewise, then the
 * tunnel (open when enabled, closed when blocked: the protected prefixes
 * and the resolvers with it), then everything else leaves as routed. No
 * LAN rule: the LAN is not locked. The chain's policy stays drop.
 */
void partial_out_tail(struct compiler *c, const char *counter, bool forwarded)
{
	partial_dns(c);
	if (c->enabled) {
		rule(c, "oifname @tunnels accept");
		/*
		 * Replies from the tunnel to guests; a new connection from it is
		 * refused, as in a full tunnel, but for the other site's to a gateway's clients.
		 */
		if (forwarded) {
			ks_buf_puts(c->out, "\t\tiifname @tunnels ct state established,related accept\n");
			partial_site_in(c);
		}
	} else {
		partial_reject(c, "oifname @tunnels", counter, forwarded);
	}
	if (forwarded)
		partial_reject(c, "iifname @tunnels", counter, forwarded);
	rule(c, "accept");
	ks_buf_puts(c->out, "\t}\n");
}

/*
 * The end of input with --partial: protected sources came only through the
 * tunnel (protected_in); a closed tunnel lets nothing in; the rest is the
 * host's other firewall's to decide.
 */
void partial_in_tail(struct compiler *c)
{
	if (!c->enabled)
		rule(c, "iifname @tunnels counter name blocked_in drop");
	rule(c, "accept");
	ks_buf_puts(c->out, "\t}\n");
}

/* Forward with --partial: guests' protected traffic only through the tunnel, the rest as routed. */
void chain_forward_partial(struct compiler *c)
{
	protected_out(c, "blocked_fwd");
	protected_in(c, "blocked_fwd");
	partial_out_tail(c, "blocked_fwd", true);
}
