// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The four filter chains (prerouting, output, input, forward): the kill
 * switch itself. Their order and the reason for each rule are in
 * docs/ruleset.md; the protected prefixes, --partial, --gateway and split
 * tunnelling add their rules through the functions of their own files.
 */
#include <stdio.h>

#include "compiler.h"

/*
 * The tunnels as a match, in the rules that every packet of the tunnel meets:
 * with one tunnel (the usual case) its name compared rather than looked up
 * in @tunnels, which only a new table changes. DIR is iifname or oifname.
 */
static const char *tunnels_match(const struct compiler *c, const char *dir, char *buf, size_t size)
{
	if (c->p->n_tunnels == 1)
		snprintf(buf, size, "%s \"%s\"", dir, c->p->tunnels[0].name);
	else
		snprintf(buf, size, "%s @tunnels", dir);
	return buf;
}

/*
 * What the tunnel delivers, accepted at once when enabled: P0a in prerouting,
 * where nothing below is for it, and I2 in input, where every rule above the
 * final drop accepts and most packets come this way.
 */
static void tunnel_in_accept(struct compiler *c)
{
	char dev[IFNAMSIZ + 16];

	if (c->enabled)
		ks_buf_printf(c->out, "\t\t%s accept\n", tunnels_match(c, "iifname", dev, sizeof(dev)));
}

void chain_prerouting(struct compiler *c)
{
	chain_open(c, "prerouting", "filter hook prerouting priority -199", "accept");
	/*
	 * This host's own packets, looped back: another firewall's reset for a
	 * connection through the tunnel comes to the tunnel address over lo from
	 * a remote source, and the rule below would drop it (the program would
	 * hang instead of failing at once). Nothing from outside arrives on lo.
	 */
	rule(c, "iifname \"lo\" accept");
	included_prerouting(c);
	/*
	 * What the tunnel delivers has nothing more to meet here: every rule
	 * below is for packets from elsewhere. Its decrypted packets leave this
	 * chain after two comparisons (docs/performance.md). It is also why an
	 * endpoint's address inside the tunnel does not get the VPN's fwmark.
	 */
	tunnel_in_accept(c);
	/*
	 * CVE-2019-14899: packets for the tunnel address that arrive elsewhere.
	 * The address first: the endpoint's packets, which all come this way,
	 * miss it after one lookup.
	 */
	rule(c, "ip daddr @tunnel_addrs4 iifname != @tunnels fib saddr type != local counter name blocked_in drop");
	rule(c, "ip6 daddr @tunnel_addrs6 iifname != @tunnels fib saddr type != local counter name blocked_in drop");
	if (!c->p->fwmark_none) {
		/* With src_valid_mark, the endpoint's replies pass rp_filter through the main table. */
		ks_buf_printf(c->out, "\t\tip saddr . meta l4proto . th sport @endpoints4 meta mark set 0x%x\n",
			      c->p->fwmark);
		ks_buf_printf(c->out, "\t\tip6 saddr . meta l4proto . th sport @endpoints6 meta mark set 0x%x\n",
			      c->p->fwmark);
	}
	if (*c->excluded)
		ks_buf_printf(c->out, "\t\tct mark 0x%x iifname != @tunnels meta mark set 0x%x\n", c->p->split.ct_mark,
			      c->p->fwmark);
	exceptions_prerouting(c);
	portal_prerouting(c);
	ks_buf_puts(c->out, "\t}\n");
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
 * the kill switch's cost per packet (docs/performance.md). Written to cost
 * the least per packet: two comparisons for the ports, the tunnel's name.
 */
static void tunnel_fast_lane(struct compiler *c)
{
	char dev[IFNAMSIZ + 16];

	if (!c->enabled)
		return;
	ks_buf_printf(c->out, "\t\t%s th dport != 53 th dport != 853 accept\n", tunnels_match(c, "oifname", dev, sizeof(dev)));
}

/*
 * This host's own traffic over lo. After the IPv4 endpoint exemption and the
 * fast lane, which take the two packets of every one the tunnel carries and
 * never match lo: those leave after one rule each (docs/performance.md).
 */
static void loopback_out(struct compiler *c)
{
	rule(c, "oifname \"lo\" accept");
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

void chain_output(struct compiler *c)
{
	chain_open(c, "output", "filter hook output priority 0", "drop");
	included_loopback(c);
	/* --include-only: the inclusion group's rules below must never see loopback. */
	if (*c->included)
		loopback_out(c);
	excluded_accept(c);
	protected_via_out(c, "blocked_out");
	included_out(c, "blocked_out");
	/*
	 * Endpoints only for the VPN's own socket (TunnelCrack ServerIP). First
	 * of the accepts, then the fast lane: the VPN's encrypted packet and the
	 * tunnel's plaintext one, the two of every packet the tunnel carries,
	 * leave after one rule and two. Everything from here to the portal's
	 * goto below only accepts, so this order changes no verdict.
	 */
	ks_buf_printf(c->out, "\t\t%sip daddr . meta l4proto . th dport @endpoints4 accept\n", c->mark);
	tunnel_fast_lane(c);
	if (!*c->included)
		loopback_out(c);
	ks_buf_printf(c->out, "\t\t%sip6 daddr . meta l4proto . th dport @endpoints6 accept\n", c->mark);
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
	/* The portal group leaves here for its own chain: the grant or reject (docs/portal.md). */
	portal_out(c);
	protected_out(c, "blocked_out");
	if (c->partial) {
		partial_out_tail(c, "blocked_out", false);
		return;
	}
	/* (With --partial the tail above accepts them: it accepts whatever is not locked.) */
	allow_in_out(c);
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
	bypass_out(c);
	if (c->p->ipv6 == KS_IPV6_ALLOW)
		rule(c, "meta nfproto ipv6 accept");
	final_reject(c, "blocked_out", false);
}

void chain_input(struct compiler *c)
{
	chain_open(c, "input", "filter hook input priority 0", "drop");
	rule(c, "iifname \"lo\" accept");
	excluded_accept(c);
	protected_via_in(c, "blocked_in");
	/* Up front: every rule before the final drop accepts, so the order only sets what a packet costs. */
	tunnel_in_accept(c);
	/* Replies only: never a generic "established", which would keep pre-existing connections alive. */
	rule(c, "ip saddr . meta l4proto . th sport @endpoints4 ct state established accept");
	rule(c, "ip6 saddr . meta l4proto . th sport @endpoints6 ct state established accept");
	portal_in(c);
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
	/* ICMP errors about the VPN's own packets (Packet Too Big): path MTU discovery. */
	rule(c, "ct original ip daddr @endpoint_addrs4 ct state related accept");
	rule(c, "ct original ip6 daddr @endpoint_addrs6 ct state related accept");
	protected_in(c, "blocked_in");
	included_in(c, "blocked_in");
	exceptions_in(c);
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

void chain_forward(struct compiler *c)
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
