// SPDX-License-Identifier: GPL-2.0-or-later
/* Properties of the compiler, asserted on its text (the exact text is the golden tests' job). */
#include <arpa/inet.h>
#include <errno.h>

#include "unit.h"

/* Everything the command line can say: both families, the LAN, a LAN resolver. */
#define FULL_ARGS                                                                                                    \
	"--tunnel", "wg0", "--endpoint", "198.51.100.10:51820", "--endpoint", "[2001:db8::1]:443/tcp", "--dns",      \
		"10.64.0.1", "--dns", "fd00:64::1", "--dns", "192.168.1.1", "--allow-lan", "--lan", "100.64.0.0/10", \
		"--lan", "2001:db8:cafe::/48"

static char *compile_args(int argc, char *const argv[], enum ks_state state)
{
	struct ks_policy policy;
	char *text;

	policy_from_args(&policy, argc, argv);
	policy.state = state;
	text = compile_text(&policy);
	ks_policy_free(&policy);
	return text;
}

static void expect_order(const char *body, const char *const *rules, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (rule_at(body, rules[i - 1]) >= rule_at(body, rules[i]))
			fail_msg("\"%s\" should come before \"%s\" in\n%s", rules[i - 1], rules[i], body);
}

static unsigned count(const char *text, const char *needle)
{
	unsigned n = 0;

	for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static bool line_has(const char *line, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++)
		if (!strncmp(line + i, needle, n))
			return true;
	return false;
}

/*
 * text without the portal group's sets, chains and rules (test_portal.c
 * asserts those): every line naming a portal set, chain or mark. In place.
 */
static char *without_portal(char *text)
{
	char *out = text, *line = text;
	bool skipping = false;

	while (*line) {
		char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
		bool drop = skipping;

		if (!strncmp(line, "\tchain portal", 13) || !strncmp(line, "\tset portal", 11))
			drop = skipping = true;
		else if (!skipping && (line_has(line, len, "portal") || line_has(line, len, "0x4b50 ")))
			drop = true;
		if (skipping && !strncmp(line, "\t}\n", 3))
			skipping = false;
		if (!drop) {
			memmove(out, line, len);
			out += len;
		}
		line += len;
	}
	*out = '\0';
	return text;
}

typedef int compile_fn(const struct ks_policy *policy, const char *table, struct ks_buf *out);

/* compile refuses policy under the table name table: -EINVAL, and nothing written. */
static void expect_refused_by(compile_fn *compile, const struct ks_policy *policy, const char *table)
{
	struct ks_buf buf = KS_BUF_INIT;
	int ret = compile(policy, table, &buf);

	if (ret != -EINVAL)
		fail_msg("table \"%s\", split path \"%s\" level %u: %d, not -EINVAL", table ? table : "(null)",
			 policy->split.path, policy->split.level, ret);
	assert_int_equal(buf.len, 0);
	ks_buf_free(&buf);
}

static void expect_compile_fails(const struct ks_policy *policy)
{
	expect_refused_by(ks_compile, policy, KS_TABLE_NAME);
}

/* A list of rules and its length, for expect_chain_order. */
#define RULES(...) ((const char *const[]){ __VA_ARGS__ }), ARRAY_SIZE(((const char *const[]){ __VA_ARGS__ }))

/* In chain name of text, these rules in this order; with last, the last of them ends the chain. */
static void expect_chain_order(const char *text, const char *name, const char *const *order, size_t n, bool last)
{
	char *body = chain(text, name);

	expect_order(body, order, n);
	if (last) {
		char line[512];

		snprintf(line, sizeof(line), "\t\t%s\n", order[n - 1]);
		assert_string_equal(body + rule_at(body, order[n - 1]), line);
	}
	free(body);
}

/* The rules of chain name in this order in what FULL_ARGS compile to, enabled (ipv6: with --ipv6 allow). */
static void expect_full_order(bool ipv6, const char *name, const char *const *order, size_t n, bool last)
{
	char *text = ipv6 ? compile_args(ARGS(FULL_ARGS, "--ipv6", "allow"), KS_STATE_ENABLED)
			  : compile_args(ARGS(FULL_ARGS), KS_STATE_ENABLED);

	expect_chain_order(text, name, order, n, last);
	free(text);
}

/* check on what argv compiles to, in each state a policy can be in. */
static void in_every_state(int argc, char *const argv[], void (*check)(const char *text))
{
	static const enum ks_state states[] = { KS_STATE_ENABLED, KS_STATE_BLOCKED };

	for (size_t s = 0; s < ARRAY_SIZE(states); s++) {
		char *text = compile_args(argc, argv, states[s]);

		check(text);
		free(text);
	}
}

static void chain_policies(const char *text)
{
	assert_int_equal(ks_n_chain_specs, 7);
	for (unsigned i = 0; i < ks_n_chain_specs; i++) {
		char *body = chain(text, ks_chain_specs[i].name);
		char want[64];

		snprintf(want, sizeof(want), "; policy %s;\n", ks_chain_specs[i].policy);
		/* Idle (hooked nowhere, see chain_open_idle) only where the spec allows it, and then empty. */
		if (!strstr(body, want) && !(ks_chain_specs[i].may_idle && !*body))
			fail_msg("chain %s lacks \"%s\"", ks_chain_specs[i].name, want);
		free(body);
	}
	/* And the portal group's chain, which carries no hook (its routing is in the portal's own table). */
	assert_int_equal(count(text, "\n\tchain ") - count(text, "\n\tchain portal"), ks_n_chain_specs);
	assert_int_equal(count(text, "\n\tchain portal"), 1);
	assert_int_equal(count(text, "policy drop;"), 3);
	for (const char *const *name = (const char *const[]){ "output", "input", "forward", NULL }; *name; name++) {
		char *body = chain(text, *name);

		assert_non_null(strstr(body, "; policy drop;\n"));
		free(body);
	}
}

static void test_chain_policies(void **state)
{
	(void)state;
	in_every_state(ARGS(FULL_ARGS, "--ipv6", "allow"), chain_policies);
}

static void test_output_order(void **state)
{
	static const char *const order[] = {
		/* The two packets of every one the tunnel carries first: the VPN's own, then the fast lane. */
		"meta mark 0xca6c ip daddr . meta l4proto . th dport @endpoints4 accept",
		/* The fast lane leaves 53 and 853 to the DNS reject: the same ports, or DNS leaks through it. */
		"oifname \"wg0\" th dport != 53 th dport != 853 accept",
		"oifname \"lo\" accept",
		"meta mark 0xca6c ip6 daddr . meta l4proto . th dport @endpoints6 accept",
		"oifname != @tunnels meta nfproto ipv4 udp sport 68 udp dport 67 accept",
		"oifname != @tunnels ip6 saddr fe80::/10 udp sport 546 ip6 daddr { ff02::1:2, ff05::1:3 } udp dport 547 accept",
		"ct mark 0x4b52 ct state related ct direction reply tcp flags & rst == rst accept",
		"ct mark 0x4b52 ct state related ct direction reply meta l4proto { icmp, ipv6-icmp } accept",
		"meta cgroup 0x4b500001 goto portal",
		"socket cgroupv2 level 1 @portal_groups goto portal",
		"oifname @tunnels ip daddr @resolvers4 meta l4proto { tcp, udp } th dport 53 accept",
		"oifname @tunnels ip6 daddr @resolvers6 meta l4proto { tcp, udp } th dport 53 accept",
		"oifname != @tunnels ip daddr @resolvers4 ip daddr @lan_vouched4 meta l4proto { tcp, udp } th dport 53 accept",
		"meta l4proto { tcp, udp } th dport { 53, 853 } counter name blocked_dns reject",
		"oifname @tunnels accept",
		"oifname != @tunnels ip daddr @lan4 accept",
		"oifname != @tunnels ip6 daddr @lan6 accept",
		"oifname != @tunnels ip daddr @lan_mcast4 accept",
		"meta nfproto ipv6 accept",
		"meta l4proto tcp counter name blocked_out reject with tcp reset",
		"counter name blocked_out reject with icmpx admin-prohibited",
	};

	(void)state;
	/* The final reject is the last rule. */
	expect_full_order(true, "output", order, ARRAY_SIZE(order), true);
}

/* The fast lane compares the name of a single tunnel (no set lookup per packet), and looks up @tunnels for several. */
static void test_fast_lane_name(void **state)
{
	char *one = compile_args(ARGS("--tunnel", "wg0"), KS_STATE_ENABLED);
	char *two = compile_args(ARGS("--tunnel", "wg0", "--tunnel", "tun1"), KS_STATE_ENABLED);

	(void)state;
	assert_int_equal(count(one, "\t\toifname \"wg0\" th dport != 53 th dport != 853 accept\n"), 2);
	assert_int_equal(count(one, "th dport != 853 accept"), 2);
	assert_int_equal(count(two, "\t\toifname @tunnels th dport != 53 th dport != 853 accept\n"), 2);
	assert_int_equal(count(two, "th dport != 853 accept"), 2);
	assert_null(strstr(two, "oifname \"wg0\" th"));
	/* The same for what the tunnel delivers, in prerouting and input. */
	assert_int_equal(count(one, "\t\tiifname \"wg0\" accept\n"), 2);
	assert_int_equal(count(two, "\t\tiifname @tunnels accept\n"), 2);
	assert_null(strstr(two, "iifname \"wg0\""));
	free(one);
	free(two);
}

static void test_input_order(void **state)
{
	static const char *const order[] = {
		"iifname \"lo\" accept",
		/* First after loopback: only accepts come before the final drop, and most packets take this one. */
		"iifname \"wg0\" accept",
		/* Then the VPN's own replies: the other packet of every one the tunnel receives. */
		"ip saddr . meta l4proto . th sport @endpoints4 ct state established accept",
		"iifname != @tunnels udp sport 67 ip daddr 255.255.255.255 udp dport 68 accept",
		"iifname != @tunnels meta nfproto ipv4 udp sport 67 udp dport 68 ct state established accept",
		"iifname != @tunnels ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept",
		"iifname != @tunnels ip saddr @lan4 accept",
		"iifname != @tunnels ip6 saddr @lan6 accept",
		"counter name blocked_in drop",
	};

	(void)state;
	/* The final drop is the last rule. */
	expect_full_order(false, "input", order, ARRAY_SIZE(order), true);
}

static void test_prerouting_order(void **state)
{
	static const char *const order[] = {
		"iifname \"lo\" accept",
		/* What the tunnel delivers leaves after two comparisons: nothing below is for it. */
		"iifname \"wg0\" accept",
		/* The address first: the endpoint's packets miss it after one lookup. */
		"ip daddr @tunnel_addrs4 iifname != @tunnels fib saddr type != local counter name blocked_in drop",
		"ip6 daddr @tunnel_addrs6 iifname != @tunnels fib saddr type != local counter name blocked_in drop",
		"ip saddr . meta l4proto . th sport @endpoints4 meta mark set 0xca6c",
		"ip6 saddr . meta l4proto . th sport @endpoints6 meta mark set 0xca6c",
		"ct mark 0x4b50 iifname != @tunnels meta mark set 0xca6c",
	};
	char *blocked = compile_args(ARGS("--tunnel", "wg0"), KS_STATE_BLOCKED);
	char *body = chain(blocked, "prerouting");

	(void)state;
	expect_full_order(false, "prerouting", order, ARRAY_SIZE(order), true);
	/* Blocked: no accept for the tunnel, so its address is still guarded from elsewhere. */
	assert_null(strstr(body, "iifname \"wg0\""));
	assert_null(strstr(body, "iifname @tunnels accept"));
	assert_non_null(strstr(body, "\t\tip daddr @tunnel_addrs4 iifname != @tunnels fib saddr type != local counter name blocked_in drop\n"));
	free(body);
	free(blocked);
}

static void test_forward_order(void **state)
{
	static const char *const order[] = {
		"oifname \"wg0\" th dport != 53 th dport != 853 accept",
		"oifname @tunnels ip daddr @resolvers4 meta l4proto { tcp, udp } th dport 53 accept",
		"meta l4proto { tcp, udp } th dport { 53, 853 } counter name blocked_dns reject",
		"oifname @tunnels accept",
		"iifname @tunnels ct state established,related accept",
		"iifname != @tunnels oifname != @tunnels ip saddr @lan4 ip daddr @lan4 accept",
		"counter name blocked_fwd ct mark set 0x4b52 reject with icmpx admin-prohibited",
	};

	(void)state;
	expect_full_order(false, "forward", order, ARRAY_SIZE(order), false);
}

/* Never a generic "ct state established accept": old connections must not survive. */
static void test_no_generic_established(void **state)
{
	char *text = compile_args(ARGS(FULL_ARGS, "--ipv6", "allow"), KS_STATE_ENABLED);

	(void)state;
	assert_null(strstr(text, "\t\tct state"));
	/* Replies from the endpoints, and the DHCP server's answer to our RENEW. */
	assert_int_equal(count(text, "ct state established accept"), 3);
	assert_int_equal(count(text, "udp sport 67 udp dport 68 ct state established accept"), 1);
	/* Related packets only for connections to an endpoint (ICMP errors for path MTU). */
	assert_int_equal(count(text, "ct state related accept"), 2);
	assert_int_equal(count(text, "ct original ip daddr @endpoint_addrs4 ct state related accept"), 1);
	assert_int_equal(count(text, "ct original ip6 daddr @endpoint_addrs6 ct state related accept"), 1);
	assert_int_equal(count(text, "@endpoints4 ct state established accept"), 1);
	assert_int_equal(count(text, "@endpoints6 ct state established accept"), 1);
	free(text);
}

/*
 * The output accepts for the forward chain's resets and ICMP errors hold only
 * for what the kernel sends about a refused connection: related, in its reply
 * direction (issue 11, finding 7). Any RST or ICMP of a marked connection, in
 * either direction, was accepted before.
 */
static void reject_replies(const char *text)
{
	char *out = chain(text, "output");

	rule_at(out, "ct mark 0x4b52 ct state related ct direction reply tcp flags & rst == rst accept");
	rule_at(out, "ct mark 0x4b52 ct state related ct direction reply meta l4proto { icmp, ipv6-icmp } accept");
	/* No other rule of the whole table accepts by that mark. */
	assert_int_equal(count(text, "ct mark 0x4b52 "), 2);
	assert_int_equal(count(text, "ct mark 0x4b52 ct state related ct direction reply "), 2);
	free(out);
}

static void test_reject_replies(void **state)
{
	(void)state;
	in_every_state(ARGS(FULL_ARGS), reject_replies);
}

/* Every rule of body that contains needle starts with prefix; returns how many there are. */
static unsigned rules_with(const char *body, const char *needle, const char *prefix)
{
	unsigned n = 0;

	for (const char *line = body; *line; line = strchr(line, '\n') + 1) {
		size_t len = (size_t)(strchr(line, '\n') - line);
		char text[512];

		assert_true(len < sizeof(text));
		memcpy(text, line, len);
		text[len] = '\0';
		if (!strstr(text, needle))
			continue;
		if (strncmp(text, "\t\t", 2) || strncmp(text + 2, prefix, strlen(prefix)))
			fail_msg("rule \"%s\" does not start with \"%s\"", text, prefix);
		n++;
	}
	return n;
}

/*
 * DHCP only off the tunnel, and inbound DHCPv4 only broadcast or in answer to
 * our own request (issue 11, finding 8): "udp sport 67 udp dport 68 accept"
 * let any internet host, or the tunnel's far side while blocked, reach port 68.
 */
static void dhcp_scope(const char *text)
{
	char *out = chain(text, "output");
	char *in = chain(text, "input");

	assert_int_equal(rules_with(out, "udp sport 68 ", "oifname != @tunnels "), 1);
	assert_int_equal(rules_with(out, "udp sport 546 ", "oifname != @tunnels "), 1);
	rule_at(out, "oifname != @tunnels meta nfproto ipv4 udp sport 68 udp dport 67 accept");
	rule_at(out, "oifname != @tunnels ip6 saddr fe80::/10 udp sport 546 ip6 daddr { ff02::1:2, ff05::1:3 } udp dport 547 accept");

	assert_int_equal(rules_with(in, "udp dport 68 ", "iifname != @tunnels "), 2);
	assert_int_equal(rules_with(in, "udp dport 546 ", "iifname != @tunnels "), 1);
	/* Broadcast, or the reply to a request of ours: never new unicast from anywhere. */
	rule_at(in, "iifname != @tunnels udp sport 67 ip daddr 255.255.255.255 udp dport 68 accept");
	rule_at(in, "iifname != @tunnels meta nfproto ipv4 udp sport 67 udp dport 68 ct state established accept");
	rule_at(in, "iifname != @tunnels ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept");
	assert_null(strstr(text, "\t\tudp sport"));
	assert_null(strstr(text, "\t\tip6 saddr fe80::/10 udp"));
	free(in);
	free(out);
}

static void test_dhcp_scope(void **state)
{
	(void)state;
	in_every_state(ARGS(FULL_ARGS), dhcp_scope);
}

static void test_blocked(void **state)
{
	char *blocked = compile_args(ARGS(FULL_ARGS), KS_STATE_BLOCKED);
	char *no_lan = compile_args(ARGS("--tunnel", "wg0", "--endpoint", "198.51.100.10:51820", "--dns", "10.64.0.1",
					 "--dns", "fd00:64::1"),
				    KS_STATE_BLOCKED);

	(void)state;
	assert_non_null(strstr(blocked, "comment \"killswitch: blocked\""));
	for (const char *const *text = (const char *const[]){ blocked, no_lan, NULL }; *text; text++) {
		assert_null(strstr(*text, "oifname @tunnels accept"));
		assert_null(strstr(*text, "oifname @tunnels th dport"));
		assert_null(strstr(*text, "iifname @tunnels accept"));
		assert_null(strstr(*text, "iifname \"wg0\" accept"));
		assert_null(strstr(*text, "oifname \"wg0\""));
		assert_null(strstr(*text, "iifname @tunnels ct state"));
		assert_null(strstr(*text, "oifname @tunnels ip daddr @resolvers4"));
		assert_null(strstr(*text, "oifname @tunnels ip6 daddr @resolvers6"));
		/* "connecting": the endpoints still pass, with the fwmark. */
		assert_non_null(strstr(*text, "meta mark 0xca6c ip daddr . meta l4proto . th dport @endpoints4 accept"));
		assert_non_null(strstr(*text, "oifname \"lo\" accept"));
		assert_non_null(strstr(*text, "oifname != @tunnels meta nfproto ipv4 udp sport 68 udp dport 67 accept"));
		assert_int_equal(count(*text, "th dport { 53, 853 } counter name blocked_dns reject"), 2);
	}
	/* Without the LAN nothing mentions the resolvers outside their sets. */
	assert_null(strstr(no_lan, "@resolvers"));
	assert_null(strstr(no_lan, "@lan"));
	/* With it, the LAN is open and DNS still rejected before it. */
	expect_chain_order(blocked, "output",
			   RULES("meta l4proto { tcp, udp } th dport { 53, 853 } counter name blocked_dns reject",
				 "oifname != @tunnels ip daddr @lan4 accept"),
			   false);
	free(blocked);
	free(no_lan);
}

static void test_fwmark(void **state)
{
	char *none = compile_args(ARGS(FULL_ARGS, "--fwmark", "none"), KS_STATE_ENABLED);
	char *custom = compile_args(ARGS(FULL_ARGS, "--fwmark", "0x1234"), KS_STATE_ENABLED);
	char *out;

	(void)state;
	assert_null(strstr(none, "meta mark"));
	assert_null(strstr(none, "0xca6c"));
	out = chain(none, "output");
	rule_at(out, "ip daddr . meta l4proto . th dport @endpoints4 accept");
	rule_at(out, "ip6 daddr . meta l4proto . th dport @endpoints6 accept");
	free(out);

	assert_null(strstr(custom, "0xca6c"));
	out = chain(custom, "output");
	rule_at(out, "meta mark 0x1234 ip daddr . meta l4proto . th dport @endpoints4 accept");
	rule_at(out, "meta mark 0x1234 ip6 daddr . meta l4proto . th dport @endpoints6 accept");
	/* Every endpoint accept in output carries the mark. */
	assert_int_equal(count(out, "th dport @endpoints"), count(out, "meta mark 0x1234 ip"));
	free(out);
	out = chain(custom, "prerouting");
	rule_at(out, "ip saddr . meta l4proto . th sport @endpoints4 meta mark set 0x1234");
	free(out);
	free(none);
	free(custom);
}

static void test_deterministic(void **state)
{
	struct ks_policy policy;
	struct ks_buf buf = KS_BUF_INIT;
	char *a, *b;

	(void)state;
	policy_from_args(&policy, ARGS(FULL_ARGS));
	a = compile_text(&policy);
	b = compile_text(&policy);
	assert_string_equal(a, b);
	/* ks_compile appends to what the buffer holds. */
	ks_buf_puts(&buf, "prefix\n");
	assert_int_equal(ks_compile(&policy, KS_TABLE_NAME, &buf), 0);
	assert_int_equal(strncmp(buf.data, "prefix\n", 7), 0);
	assert_string_equal(buf.data + 7, a);
	ks_buf_free(&buf);
	free(a);
	free(b);
	ks_policy_free(&policy);
}

static void test_argument_order(void **state)
{
	char *const forward[] = { "--tunnel",
				  "wg0",
				  "--tunnel",
				  "wg1",
				  "--endpoint",
				  "198.51.100.10:51820",
				  "--endpoint",
				  "[2001:db8::1]:443/tcp",
				  "--endpoint",
				  "198.51.100.9:51820/tcp",
				  "--dns",
				  "10.64.0.1",
				  "--dns",
				  "fd00:64::1",
				  "--lan",
				  "100.64.0.0/10",
				  "--lan",
				  "192.168.77.0/24",
				  "--lan",
				  "2001:db8:cafe::/48",
				  "--allow-lan" };
	enum { N = ARRAY_SIZE(forward) / 2 };
	char *reference = compile_args((int)ARRAY_SIZE(forward), forward, KS_STATE_ENABLED);

	(void)state;
	/* The pairs rotated and reversed, and once with every pair twice. */
	for (unsigned shift = 0; shift < N; shift++) {
		for (int reverse = 0; reverse < 2; reverse++) {
			char *argv[2 * N + 1], *text;
			int argc = 0;

			for (unsigned i = 0; i < N; i++) {
				unsigned k = (reverse ? N - 1 - i + shift : i + shift) % N;

				argv[argc++] = forward[2 * k];
				argv[argc++] = forward[2 * k + 1];
			}
			argv[argc++] = "--allow-lan";
			text = compile_args(argc, argv, KS_STATE_ENABLED);
			assert_string_equal(text, reference);
			free(text);
		}
	}
	{
		char *argv[4 * N + 1], *text;
		int argc = 0;

		for (unsigned i = 0; i < 2 * N; i++) {
			unsigned k = N - 1 - i % N;

			argv[argc++] = forward[2 * k];
			argv[argc++] = forward[2 * k + 1];
		}
		argv[argc++] = "--allow-lan";
		text = compile_args(argc, argv, KS_STATE_ENABLED);
		assert_string_equal(text, reference);
		free(text);
	}
	free(reference);
}

static void test_table_name(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", "kill switch", "ks;flush", "ks\"", "ks}", "ks\n", "abcdefghijklmnop", "inet/killswitch",
		/* nft keywords and names nft would not take bare: a name must start with "killswitch". */
		"counter", "inet", "1abc", "-x", "ks_test-1", "killswitch-1", "killswitch;", "killswitch_abcdefghijklmnopqrstuvw",
		NULL,
	};
	struct ks_policy policy;

	(void)state;
	policy_from_args(&policy, ARGS(FULL_ARGS));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		expect_refused_by(ks_compile, &policy, bad[i]);
		expect_refused_by(ks_compile_transaction, &policy, bad[i]);
	}
	{
		struct ks_buf buf = KS_BUF_INIT;
		const char *head = "table inet killswitch_test1\ndelete table inet killswitch_test1\n"
				   "table inet killswitch_test1_portal\ndelete table inet killswitch_test1_portal\n"
				   "table inet killswitch_test1 {\n";

		assert_int_equal(ks_compile_transaction(&policy, "killswitch_test1", &buf), 0);
		assert_int_equal(strncmp(buf.data, head, strlen(head)), 0);
		assert_int_equal(count(buf.data, "killswitch {"), 0);
		ks_buf_free(&buf);
	}
	ks_policy_free(&policy);
}

static void test_sticky_error(void **state)
{
	struct ks_policy policy;
	struct ks_buf buf = KS_BUF_INIT;

	(void)state;
	ks_policy_init(&policy);
	buf.err = -ENOMEM;
	assert_int_equal(ks_compile(&policy, KS_TABLE_NAME, &buf), -ENOMEM);
	assert_int_equal(buf.len, 0);
	assert_null(ks_buf_steal(&buf));
	ks_policy_free(&policy);
}

/* Lists are sets: the rules do not grow with the policy, only the set elements do. */
static void test_lists_are_sets(void **state)
{
	struct ks_policy small, big;
	char *a, *b, *chains_a, *chains_b;

	(void)state;
	policy_from_args(&small, ARGS(FULL_ARGS));
	policy_from_args(&big, ARGS(FULL_ARGS));
	for (unsigned i = 0; i < 1000; i++) {
		struct ks_endpoint ep = { .addr = { .family = AF_INET }, .port = (uint16_t)(1 + i), .proto = IPPROTO_UDP };
		struct ks_addr addr = { .family = AF_INET6 };

		ep.addr.v4.s_addr = htonl(0xc6336400u + i % 200);
		addr.v6.s6_addr[0] = 0x20;
		addr.v6.s6_addr[15] = (uint8_t)i;
		addr.v6.s6_addr[14] = (uint8_t)(i >> 8);
		assert_int_equal(ks_policy_add_endpoint(&big, &ep), 0);
		assert_int_equal(ks_policy_add_resolver(&big, &addr), 0);
	}
	ks_policy_finalize(&big);
	assert_int_equal(big.n_endpoints, 1002);
	a = compile_text(&small);
	b = compile_text(&big);
	chains_a = strstr(a, "\n\tchain ");
	chains_b = strstr(b, "\n\tchain ");
	assert_non_null(chains_a);
	assert_non_null(chains_b);
	assert_string_equal(chains_a, chains_b);
	assert_true(count(b, " . udp . ") >= 1000);
	free(a);
	free(b);
	ks_policy_free(&small);
	ks_policy_free(&big);
}

/* Addresses of one family never land in the other family's set. */
static void test_families_apart(void **state)
{
	static const char *const v4_sets[] = { "tunnel_addrs4", "endpoints4", "resolvers4", "lan4", "lan_mcast4" };
	static const char *const v6_sets[] = { "tunnel_addrs6", "endpoints6", "resolvers6", "lan6", "lan_mcast6" };
	struct ks_policy policy;
	struct ks_addr addr;
	char *text;

	(void)state;
	policy_from_args(&policy, ARGS(FULL_ARGS));
	assert_int_equal(ks_parse_addr("10.66.1.2", &addr), 0);
	assert_int_equal(ks_policy_add_tunnel_addr(&policy, &addr), 0);
	assert_int_equal(ks_parse_addr("fd00:66::2", &addr), 0);
	assert_int_equal(ks_policy_add_tunnel_addr(&policy, &addr), 0);
	text = compile_text(&policy);
	for (size_t i = 0; i < ARRAY_SIZE(v4_sets); i++) {
		char head[64];
		const char *v4, *v6, *end;

		snprintf(head, sizeof(head), "\n\tset %s {\n", v4_sets[i]);
		v4 = strstr(text, head);
		assert_non_null(v4);
		end = strstr(v4 + 1, "\n\t}\n");
		assert_non_null(strstr(v4, "elements = {"));
		for (const char *p = strstr(v4, "elements"); p < end; p++)
			assert_true(*p != ':');
		snprintf(head, sizeof(head), "\n\tset %s {\n", v6_sets[i]);
		v6 = strstr(text, head);
		assert_non_null(v6);
		end = strstr(v6 + 1, "\n\t}\n");
		for (const char *p = strstr(v6, "elements"); p < end; p++)
			if (*p == '.' && p[-1] != ' ' && p[1] != ' ')
				fail_msg("an IPv4 address in set %s", v6_sets[i]);
	}
	free(text);
	ks_policy_free(&policy);
}

static void test_lan_sets(void **state)
{
	static const char *const fixed_ranges[] = {
		"10.0.0.0/8",	"172.16.0.0/12", "192.168.0.0/16",  "169.254.0.0/16", "fe80::/10", "fc00::/7",
		"224.0.0.0/24", "239.0.0.0/8",	 "255.255.255.255", "ff01::/16",      "ff02::/16", "ff05::/16",
	};
	char *none = compile_args(ARGS("--tunnel", "wg0"), KS_STATE_ENABLED);
	char *extra4 = compile_args(ARGS("--tunnel", "wg0", "--lan", "192.168.77.0/24"), KS_STATE_ENABLED);
	char *fixed = compile_args(ARGS("--tunnel", "wg0", "--allow-lan"), KS_STATE_ENABLED);

	(void)state;
	assert_null(strstr(none, "@lan"));
	assert_null(strstr(none, "10.0.0.0/8"));

	assert_non_null(strstr(extra4, "@lan4"));
	assert_null(strstr(extra4, "@lan6"));
	assert_null(strstr(extra4, "@lan_mcast"));
	assert_null(strstr(extra4, "10.0.0.0/8"));
	assert_non_null(strstr(extra4, "\t\t\t192.168.77.0/24,\n"));

	for (size_t i = 0; i < ARRAY_SIZE(fixed_ranges); i++) {
		char line[64];

		snprintf(line, sizeof(line), "\t\t\t%s,\n", fixed_ranges[i]);
		if (count(fixed, line) != 1)
			fail_msg("fixed LAN range %s should appear once", fixed_ranges[i]);
	}
	free(none);
	free(extra4);
	free(fixed);
}

/*
 * Nothing from the policy reaches the text except through validated values:
 * every token is nft vocabulary, a number, an address or CIDR that parses
 * back, a reference to a declared set or counter, or a quoted string that is
 * "lo", the table comment, the v2 cgroup path, or exactly one of the
 * policy's tunnel names.
 */
static const char *const vocabulary[] = {
	"table", "inet", "killswitch", "{", "}", "comment", "counter", "set", "type", "ifname", "ipv4_addr",
	"ipv6_addr", ".", "inet_proto", "inet_service", "elements", "=", "flags", "interval", "auto-merge", "chain",
	"filter", "hook", "prerouting", "priority", "policy", "accept", "drop", "output", "input", "forward", "route",
	"mangle", "nat", "postrouting", "srcnat", "iifname", "oifname", "!=", "ip", "ip6", "daddr", "saddr", "sport",
	"dport", "fib", "local", "name", "meta", "l4proto", "th", "mark", "udp", "tcp", "icmpv6", "nd-router-solicit",
	"nd-router-advert", "nd-neighbor-solicit", "nd-neighbor-advert", "hoplimit", "ct", "state", "established",
	"established,related", "reject", "with", "reset", "icmpx", "admin-prohibited", "nfproto", "ipv4", "ipv6",
	"direction", "reply",
	"blocked_out", "blocked_dns", "blocked_in", "blocked_fwd", "cgroup", "socket", "cgroupv2", "level", "return",
	"masquerade", "goto", "excluded", "cgroupsv2",
	/* the portal group (portal.c) */
	"portal", "portal_route", "timeout",
	/* --gateway: the DNS redirect, MSS clamping */
	"nat_prerouting", "dstnat", "dnat", "to", "syn", "option", "maxseg", "size", "rt", "mtu",
};
static const char *const set_names[] = {
	"tunnels",    "tunnel_addrs4", "tunnel_addrs6", "endpoints4", "endpoints6", "endpoint_addrs4", "endpoint_addrs6", "original", "related", "invalid", "lan_vouched4", "lan_vouched6", "flags", "rst", "&", "==", "icmp", "ipv6-icmp", "resolvers4",
	"resolvers6", "lan4",	       "lan6",		"lan_mcast4", "lan_mcast6", "excluded_users", "protected4", "protected6",
	"protected_via4", "protected_via6",
	"excluded_units_l2", "excluded_units_l5",
	"gateways",
	"portal4", "portal6", "portal_groups",
};

static bool in_list(const char *token, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(token, list[i]))
			return true;
	return false;
}

static bool is_number(const char *token)
{
	size_t i = token[0] == '-';

	if (!strncmp(token, "0x", 2))
		return token[2] && strspn(token + 2, "0123456789abcdef") == strlen(token + 2);
	return token[i] && strspn(token + i, "0123456789") == strlen(token + i);
}

static void check_token(const struct ks_policy *policy, const char *token)
{
	struct ks_cidr cidr;

	if (in_list(token, vocabulary, ARRAY_SIZE(vocabulary)) || is_number(token) ||
	    (token[0] == '@' && in_list(token + 1, set_names, ARRAY_SIZE(set_names))) ||
	    ks_parse_cidr(token, &cidr) == 0)
		return;
	if (in_list(token, set_names, ARRAY_SIZE(set_names)))
		return;
	if (policy->split.mode == KS_SPLIT_V2 && token[0] == '"' && strlen(token) == strlen(policy->split.path) + 2 &&
	    !strncmp(token + 1, policy->split.path, strlen(policy->split.path)))
		return;
	for (size_t i = 0; token[0] == '"' && i < policy->n_user_groups; i++) {
		char quoted[KS_CGROUP_PATH_MAX + 2];

		snprintf(quoted, sizeof(quoted), "\"%s\"", policy->user_groups[i].path);
		if (!strcmp(token, quoted))
			return;
	}
	if (!strcmp(token, "\"lo\"") || !strcmp(token, "\"killswitch: enabled\"") ||
	    !strcmp(token, "\"killswitch: blocked\""))
		return;
	for (size_t i = 0; token[0] == '"' && i < policy->n_tunnels; i++) {
		char quoted[IFNAMSIZ + 2];

		snprintf(quoted, sizeof(quoted), "\"%s\"", policy->tunnels[i].name);
		if (!strcmp(token, quoted))
			return;
	}
	for (size_t i = 0; token[0] == '"' && i < policy->n_gateways; i++) {
		char quoted[IFNAMSIZ + 2];

		snprintf(quoted, sizeof(quoted), "\"%s\"", policy->gateways[i].name);
		if (!strcmp(token, quoted))
			return;
	}
	fail_msg("unexpected token <%s> in the compiled text", token);
}

static void check_tokens(const struct ks_policy *policy, const char *text)
{
	const char *p = text;

	while (*p) {
		char token[128];
		size_t n;

		p += strspn(p, " \t\n");
		if (!*p)
			break;
		if (*p == '"') {
			const char *close = strchr(p + 1, '"');

			assert_non_null(close);
			assert_null(memchr(p, '\n', (size_t)(close - p)));
			n = (size_t)(close - p) + 1;
			if (p[n] == ',' || p[n] == ';')
				n++;
		} else {
			n = strcspn(p, " \t\n");
		}
		assert_true(n < sizeof(token));
		memcpy(token, p, n);
		token[n] = '\0';
		p += n;
		/* List and statement separators. */
		while (n > 1 && (token[n - 1] == ',' || token[n - 1] == ';'))
			token[--n] = '\0';
		check_token(policy, token);
	}
}

static void test_only_validated_values(void **state)
{
	struct ks_policy policy;
	struct ks_addr addr;
	char *text;

	(void)state;
	policy_from_args(&policy, ARGS(FULL_ARGS, "--tunnel", "...", "--tunnel", "-wg", "--tunnel", "A-Z_a-z.0-9",
				       "--tunnel", "abcdefghijklmno", "--fwmark", "0xffffffff", "--ipv6", "allow"));
	assert_int_equal(ks_parse_addr("10.66.1.2", &addr), 0);
	assert_int_equal(ks_policy_add_tunnel_addr(&policy, &addr), 0);
	ks_policy_finalize(&policy);
	text = compile_text(&policy);
	check_tokens(&policy, text);
	/* Each tunnel name appears once, quoted, in the tunnels set; rules only name the set. */
	for (size_t i = 0; i < policy.n_tunnels; i++) {
		char quoted[IFNAMSIZ + 8];

		snprintf(quoted, sizeof(quoted), "\t\"%s\",\n", policy.tunnels[i].name);
		assert_int_equal(count(text, quoted), 1);
	}
	free(text);

	policy.split.mode = KS_SPLIT_V1;
	text = compile_text(&policy);
	check_tokens(&policy, text);
	free(text);

	policy.split.mode = KS_SPLIT_V2;
	strcpy(policy.split.path, "unified/ks.slice/-x_Y.9");
	policy.split.level = 3;
	text = compile_text(&policy);
	check_tokens(&policy, text);
	free(text);

	policy.state = KS_STATE_BLOCKED;
	policy.fwmark_none = true;
	text = compile_text(&policy);
	check_tokens(&policy, text);
	free(text);
	ks_policy_free(&policy);
}

static char *compile_split_in(enum ks_state state, enum ks_split_mode mode, const char *path, unsigned level,
			      bool fwmark_none)
{
	struct ks_policy policy;
	char *text;

	policy_from_args(&policy, ARGS(FULL_ARGS));
	policy.state = state;
	policy.split.mode = mode;
	snprintf(policy.split.path, sizeof(policy.split.path), "%s", path);
	policy.split.level = level;
	policy.fwmark_none = fwmark_none;
	text = compile_text(&policy);
	ks_policy_free(&policy);
	/* The exclusion alone: the portal group's own cgroup match is test_portal.c's. */
	return without_portal(text);
}

static char *compile_split(enum ks_split_mode mode, const char *path, unsigned level, bool fwmark_none)
{
	return compile_split_in(KS_STATE_ENABLED, mode, path, level, fwmark_none);
}

static void test_split_v1(void **state)
{
	char *text = compile_split(KS_SPLIT_V1, "", 0, false);
	char *body;

	(void)state;
	/* ruleset.md: the exclusion ct mark first in output (before the endpoint exemption and loopback), before DHCP. */
	expect_chain_order(text, "output",
			   RULES("ct mark 0x4b53 accept", "meta mark 0xca6c ip daddr . meta l4proto . th dport @endpoints4 accept",
				 "oifname \"lo\" accept",
				 "oifname != @tunnels meta nfproto ipv4 udp sport 68 udp dport 67 accept"),
			   false);
	expect_chain_order(text, "input",
			   RULES("iifname \"lo\" accept", "ct mark 0x4b53 accept",
				 "iifname != @tunnels udp sport 67 ip daddr 255.255.255.255 udp dport 68 accept"),
			   false);
	body = chain(text, "forward");
	assert_int_equal(rule_at(body, "ct mark 0x4b53 accept"), (size_t)(strchr(body, '\n') + 1 - body));
	free(body);
	body = chain(text, "prerouting");
	rule_at(body, "ct mark 0x4b53 iifname != @tunnels meta mark set 0xca6c");
	free(body);
	body = chain(text, "mangle");
	rule_at(body, "meta cgroup 0x4b530001 goto excluded");
	/* net_cls is a hierarchy of its own: no per-user groups. */
	assert_null(strstr(text, "excluded_users"));
	free(body);
	expect_chain_order(text, "excluded",
			   RULES("ct state invalid drop", "ip daddr @resolvers4 meta l4proto { tcp, udp } th dport 53 return",
				 "ip6 daddr @resolvers6 meta l4proto { tcp, udp } th dport 53 return",
				 "ct mark set 0x4b53 meta mark set 0xca6c"),
			   false);
	expect_chain_order(text, "nat",
			   RULES("ct mark 0x4b53 oifname @tunnels drop", "ct mark 0x4b53 oifname != \"lo\" masquerade"),
			   false);
	free(text);
}

static void test_split_v2(void **state)
{
	char *text = compile_split(KS_SPLIT_V2, "unified/killswitch", 1, false);
	char *body;

	(void)state;
	/* The shared group, then every user's own inside their slice, two levels deeper. */
	expect_chain_order(text, "mangle",
			   RULES("socket cgroupv2 level 1 \"unified/killswitch\" goto excluded",
				 "socket cgroupv2 level 3 @excluded_users goto excluded"),
			   false);
	assert_null(strstr(text, "meta cgroup"));
	body = chain(text, "excluded");
	rule_at(body, "ct mark set 0x4b53 meta mark set 0xca6c");
	free(body);
	assert_non_null(strstr(text, "set excluded_users {\n\t\ttype cgroupsv2\n\t}"));
	free(text);
}

/* The groups that exist inside users' slices are named in the set, each checked like the shared one. */
static void test_split_v2_user_groups(void **state)
{
	struct ks_policy policy;
	char *text;

	(void)state;
	policy_from_args(&policy, ARGS(FULL_ARGS));
	policy.split.mode = KS_SPLIT_V2;
	strcpy(policy.split.path, "unified/killswitch-exclude");
	policy.split.level = 1;
	assert_int_equal(ks_policy_add_user_group(&policy, "unified/user.slice/user-1000.slice/killswitch-exclude"), 0);
	assert_int_equal(ks_policy_add_user_group(&policy, "unified/user.slice/user-1001.slice/killswitch-exclude"), 0);
	text = compile_text(&policy);
	rule_at(text, "elements = {\n\t\t\t\"unified/user.slice/user-1000.slice/killswitch-exclude\",\n"
		      "\t\t\t\"unified/user.slice/user-1001.slice/killswitch-exclude\",");
	check_tokens(&policy, text);
	free(text);

	/* A path that would break out of its quotes, or sits at another level, is refused whole. */
	policy.n_user_groups = 0;
	assert_int_equal(ks_policy_add_user_group(&policy, "unified/user.slice/x\" accept/killswitch-exclude"), 0);
	expect_compile_fails(&policy);
	policy.n_user_groups = 0;
	assert_int_equal(ks_policy_add_user_group(&policy, "unified/user.slice/killswitch-exclude"), 0);
	expect_compile_fails(&policy);
	ks_policy_free(&policy);
}

/*
 * Units excluded by split-tunnel add --unit (issue 16): one empty set and one
 * rule per level in use, after the shared group's match; nothing of a unit's
 * name in the text (the sets are filled by id). Blocked, or the guard: none.
 */
static void test_split_v2_units(void **state)
{
	struct ks_policy policy;
	struct ks_buf guard = KS_BUF_INIT;
	char *text;

	(void)state;
	policy_from_args(&policy, ARGS(FULL_ARGS));
	policy.split.mode = KS_SPLIT_V2;
	strcpy(policy.split.path, "unified/killswitch-exclude");
	policy.split.level = 1;
	policy.unit_levels = (1u << 2) | (1u << 5) | 1u;
	text = compile_text(&policy);
	assert_non_null(strstr(text, "\n\tset excluded_units_l2 {\n\t\ttype cgroupsv2\n\t}\n"));
	assert_non_null(strstr(text, "\n\tset excluded_units_l5 {\n\t\ttype cgroupsv2\n\t}\n"));
	assert_non_null(strstr(text, "\t\tsocket cgroupv2 level 1 \"unified/killswitch-exclude\" goto excluded\n"
				     "\t\tsocket cgroupv2 level 3 @excluded_users goto excluded\n"
				     "\t\tsocket cgroupv2 level 2 @excluded_units_l2 goto excluded\n"
				     "\t\tsocket cgroupv2 level 5 @excluded_units_l5 goto excluded\n"));
	/* Level 0 is the root cgroup, every process's: never a unit's. */
	assert_null(strstr(text, "excluded_units_l0"));
	assert_null(strstr(text, "excluded_units_l1"));
	check_tokens(&policy, text);
	free(text);
	assert_int_equal(ks_compile_guard_transaction(&policy, "killswitch", false, &guard), 0);
	assert_null(strstr(guard.data, "excluded_units"));
	ks_buf_free(&guard);

	policy.state = KS_STATE_BLOCKED;
	text = compile_text(&policy);
	assert_null(strstr(text, "excluded_units"));
	free(text);
	policy.state = KS_STATE_ENABLED;
	policy.split.mode = KS_SPLIT_V1;
	policy.split.classid = 0x100001;
	text = compile_text(&policy);
	assert_null(strstr(text, "excluded_units"));
	free(text);
	ks_policy_free(&policy);
}

/*
 * Blocked means blocked for excluded programs too (issue 11, finding 4). Their
 * packets must not get the VPN's fwmark: with it they pass the endpoint
 * exemption and reach the VPN server's address and port off the tunnel.
 * Nothing names them in the blocked state: no mark, no masquerade, no restore.
 */
static void test_split_blocked(void **state)
{
	static const struct {
		enum ks_split_mode mode;
		const char *path;
		unsigned level;
	} mechanisms[] = { { KS_SPLIT_V1, "", 0 }, { KS_SPLIT_V2, "unified/killswitch", 2 } };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(mechanisms); i++) {
		char *enabled = compile_split_in(KS_STATE_ENABLED, mechanisms[i].mode, mechanisms[i].path,
						 mechanisms[i].level, false);
		char *blocked = compile_split_in(KS_STATE_BLOCKED, mechanisms[i].mode, mechanisms[i].path,
						 mechanisms[i].level, false);
		char *body;

		/* Enabled, the exclusion is there: the assertions below are not vacuous. */
		assert_non_null(strstr(enabled, "ct mark set 0x4b53 meta mark set 0xca6c"));
		assert_non_null(strstr(enabled, "masquerade"));

		/* The endpoint exemption is still there, with its mark... */
		assert_non_null(strstr(blocked, "meta mark 0xca6c ip daddr . meta l4proto . th dport @endpoints4 accept"));
		/* ...and only the endpoints' own replies get the fwmark (P3/P4). */
		assert_int_equal(count(blocked, "meta mark set"), 2);
		body = chain(blocked, "prerouting");
		assert_int_equal(count(body, "meta mark set"), 2);
		assert_int_equal(count(body, "@endpoints4 meta mark set 0xca6c\n"), 1);
		assert_int_equal(count(body, "@endpoints6 meta mark set 0xca6c\n"), 1);
		free(body);
		assert_null(strstr(blocked, "0x4b53"));
		assert_null(strstr(blocked, "cgroup"));
		assert_null(strstr(blocked, "masquerade"));
		/* mangle and nat hold no rule of the exclusion's: idle, not even a type line. */
		for (const char *const *name = (const char *const[]){ "mangle", "nat", NULL }; *name; name++) {
			body = chain(blocked, *name);
			assert_int_equal(count(body, "\n"), 0);
			free(body);
		}
		free(enabled);
		free(blocked);
	}
}

/* Without a fwmark there is no routing around the tunnel: no exclusion at all. */
static void test_split_needs_fwmark(void **state)
{
	char *off = compile_split(KS_SPLIT_OFF, "", 0, false);
	char *v1 = compile_split(KS_SPLIT_V1, "", 0, true);

	(void)state;
	/* No split-tunnel ct mark (0x4b52 marks the forward chain's rejects: not an exclusion). */
	assert_null(strstr(off, "ct mark 0x4b53"));
	assert_null(strstr(off, "cgroup"));
	assert_null(strstr(v1, "ct mark 0x4b53"));
	assert_null(strstr(v1, "cgroup"));
	free(off);
	free(v1);
}

/* The cgroup path is pasted into a quoted string: the compiler checks it again. */
static void test_split_bad_path(void **state)
{
	static const struct {
		const char *path;
		unsigned level;
	} bad[] = {
		{ "unified/killswitch", 3 }, { "unified/killswitch", 0 }, { "", 1 },		  { "ks\"; flush ruleset; \"", 1 },
		{ "../ks", 2 },		     { "/ks", 1 },		  { "ks/", 1 },		  { "ks ks", 1 },
	};
	struct ks_policy policy;

	(void)state;
	policy_from_args(&policy, ARGS(FULL_ARGS));
	policy.split.mode = KS_SPLIT_V2;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(policy.split.path, sizeof(policy.split.path), "%s", bad[i].path);
		policy.split.level = bad[i].level;
		expect_compile_fails(&policy);
	}
	ks_policy_free(&policy);
}

static void test_counters(void **state)
{
	char *text = compile_args(ARGS(FULL_ARGS), KS_STATE_ENABLED);

	(void)state;
	for (unsigned i = 0; i < KS_COUNTER_MAX; i++) {
		char decl[64], use[64];

		snprintf(decl, sizeof(decl), "\tcounter %s {\n", ks_counter_names[i]);
		snprintf(use, sizeof(use), "counter name %s ", ks_counter_names[i]);
		assert_int_equal(count(text, decl), 1);
		assert_true(count(text, use) >= 1);
	}
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_policies),
		cmocka_unit_test(test_output_order),
		cmocka_unit_test(test_fast_lane_name),
		cmocka_unit_test(test_prerouting_order),
		cmocka_unit_test(test_input_order),
		cmocka_unit_test(test_forward_order),
		cmocka_unit_test(test_no_generic_established),
		cmocka_unit_test(test_reject_replies),
		cmocka_unit_test(test_dhcp_scope),
		cmocka_unit_test(test_blocked),
		cmocka_unit_test(test_fwmark),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_argument_order),
		cmocka_unit_test(test_table_name),
		cmocka_unit_test(test_sticky_error),
		cmocka_unit_test(test_lists_are_sets),
		cmocka_unit_test(test_families_apart),
		cmocka_unit_test(test_lan_sets),
		cmocka_unit_test(test_only_validated_values),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_split_v1),
		cmocka_unit_test(test_split_v2),
		cmocka_unit_test(test_split_v2_user_groups),
		cmocka_unit_test(test_split_v2_units),
		cmocka_unit_test(test_split_blocked),
		cmocka_unit_test(test_split_needs_fwmark),
		cmocka_unit_test(test_split_bad_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
