// SPDX-License-Identifier: GPL-2.0-or-later
/* killswitch portal: its command line, the grant's addresses and text, and its rules in every table. */
#include <arpa/inet.h>

#include "killswitch/portal.h"
#include "unit.h"

static void test_args(void **state)
{
	static const struct {
		const char *argv[6];
		unsigned minutes;
		int command;
	} ok[] = {
		{ { "portal", "firefox" }, 5, 1 },
		{ { "portal", "--", "firefox" }, 5, 2 },
		{ { "portal", "--minutes", "1", "firefox" }, 1, 3 },
		{ { "portal", "--minutes=60", "--", "-x" }, 60, 3 },
		{ { "portal", "--minutes", "12", "--", "curl", "-v" }, 12, 4 },
		/* Options after the command are the command's. */
		{ { "portal", "curl", "--minutes", "9" }, 5, 1 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct ks_portal_args args;
		char err[KS_ERR_LEN] = "";
		int argc = 0;

		while (argc < 6 && ok[i].argv[argc])
			argc++;
		assert_int_equal(ks_portal_parse_args(argc, (char *const *)ok[i].argv, &args, err), 0);
		assert_int_equal(args.minutes, ok[i].minutes);
		assert_int_equal(args.command, ok[i].command);
	}
}

static void test_args_refused(void **state)
{
	static const struct {
		const char *argv[5];
		const char *quoted;
	} bad[] = {
		{ { "portal", "--minutes", "0", "x" }, "0" },
		{ { "portal", "--minutes", "61", "x" }, "61" },
		{ { "portal", "--minutes", "05", "x" }, "05" },
		{ { "portal", "--minutes", "-1", "x" }, "-1" },
		{ { "portal", "--minutes", "1m", "x" }, "1m" },
		{ { "portal", "--minutes", " 5", "x" }, " 5" },
		{ { "portal", "--minutes", "99999999999", "x" }, "99999999999" },
		{ { "portal", "--minutes=", "x" }, "" },
		{ { "portal", "--minutes", "5;drop", "x" }, "5;drop" },
		{ { "portal", "--minutes" }, "" },
		{ { "portal", "--seconds", "5", "x" }, "--seconds" },
		{ { "portal", "-m", "5", "x" }, "-m" },
		{ { "portal" }, "" },
		{ { "portal", "--minutes", "3" }, "" },
		{ { "portal", "--" }, "" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct ks_portal_args args;
		char err[KS_ERR_LEN];
		int argc = 0;

		memset(err, 'Z', sizeof(err));
		while (argc < 5 && bad[i].argv[argc])
			argc++;
		assert_int_equal(ks_portal_parse_args(argc, (char *const *)bad[i].argv, &args, err), -EINVAL);
		assert_non_null(memchr(err, '\0', sizeof(err)));
		assert_quotes(err, bad[i].quoted);
	}
}

static void test_seconds(void **state)
{
	unsigned s = 0;

	(void)state;
	assert_int_equal(ks_portal_parse_seconds("1", &s), 0);
	assert_int_equal(s, 1);
	assert_int_equal(ks_portal_parse_seconds("3600", &s), 0);
	assert_int_equal(s, 3600);
	for (const char *const *bad = (const char *const[]){ "0", "3601", "", "10s", "+5", "0x10", "007", NULL }; *bad;
	     bad++)
		assert_int_equal(ks_portal_parse_seconds(*bad, &s), -EINVAL);
	assert_int_equal(ks_portal_parse_seconds(NULL, &s), -EINVAL);
}

static struct ks_addr addr_of(const char *text)
{
	struct ks_addr a;

	assert_int_equal(ks_parse_addr(text, &a), 0);
	return a;
}

static void test_grant_add(void **state)
{
	struct ks_portal_grant g = { 0 };
	struct ks_addr a;

	(void)state;
	a = addr_of("192.168.77.1");
	assert_int_equal(ks_portal_grant_add(&g, &a), 0);
	assert_int_equal(ks_portal_grant_add(&g, &a), 0); /* each once */
	assert_int_equal(g.n_addrs, 1);
	for (const char *const *bad = (const char *const[]){ "127.0.0.53", "0.0.0.0", "224.0.0.1", "255.255.255.255",
							    "::1", "::", "ff02::1", "fe80::1", "::ffff:1.2.3.4", NULL };
	     *bad; bad++) {
		a = addr_of(*bad);
		if (ks_portal_grant_add(&g, &a) != -EINVAL)
			fail_msg("the grant took %s", *bad);
	}
	assert_int_equal(g.n_addrs, 1);
	for (unsigned i = 2; g.n_addrs < KS_PORTAL_MAX_ADDRS; i++) {
		char text[32];

		snprintf(text, sizeof(text), "10.0.0.%u", i);
		a = addr_of(text);
		assert_int_equal(ks_portal_grant_add(&g, &a), 0);
	}
	a = addr_of("10.1.1.1");
	assert_int_equal(ks_portal_grant_add(&g, &a), -ENOSPC);
}

static void test_resolv(void **state)
{
	struct ks_portal_grant g = { 0 };
	char text[KS_ADDR_STRLEN];
	static const char conf[] = "# NetworkManager\n"
				   "search hotel.example\n"
				   "nameserver 127.0.0.53\n"
				   "nameserver 192.168.77.1 # the hotel's\n"
				   "  nameserver\t2001:db8:77::1\n"
				   "nameserver fe80::1%eth0\n"
				   "nameserver resolver.example\n"
				   "nameservers 10.9.9.9\n"
				   "nameserver 192.168.77.1\n"
				   "nameserver 10.0.0.1;rm";

	(void)state;
	assert_int_equal(ks_portal_parse_resolv(conf, &g), 3);
	assert_int_equal(g.n_addrs, 3);
	ks_format_addr(&g.addrs[0], text);
	assert_string_equal(text, "192.168.77.1");
	ks_format_addr(&g.addrs[1], text);
	assert_string_equal(text, "2001:db8:77::1");
	ks_format_addr(&g.addrs[2], text);
	assert_string_equal(text, "10.0.0.1");
	assert_int_equal(ks_portal_parse_resolv("", &g), 0);
}

static void test_lease(void **state)
{
	struct ks_portal_grant g = { 0 };
	char text[KS_ADDR_STRLEN];
	static const char lease[] = "# This is private data. Do not parse.\n"
				    "ADDRESS=192.168.77.2\n"
				    "ROUTER=192.168.77.1\n"
				    "NTP_DNS=10.9.9.9\n"
				    "DNS=192.168.77.1 127.0.0.53  10.0.0.7\n"
				    "DOMAINNAME=hotel.example\n"
				    "DNS=2001:db8:77::1";

	(void)state;
	assert_int_equal(ks_portal_parse_lease(lease, &g), 3);
	ks_format_addr(&g.addrs[0], text);
	assert_string_equal(text, "192.168.77.1");
	ks_format_addr(&g.addrs[1], text);
	assert_string_equal(text, "10.0.0.7");
	ks_format_addr(&g.addrs[2], text);
	assert_string_equal(text, "2001:db8:77::1");
	assert_int_equal(ks_portal_parse_lease("DNS=\nDNS=x y\n", &g), 0);
}

static char *grant_text(const struct ks_portal_grant *g, enum ks_portal_where where, int want)
{
	struct ks_buf buf = KS_BUF_INIT;

	assert_int_equal(ks_compile_portal_grant(g, KS_TABLE_NAME, where, &buf), want);
	if (want)
		assert_int_equal(buf.len, 0);
	return ks_buf_steal(&buf);
}

static void test_grant_text(void **state)
{
	struct ks_portal_grant g = { .seconds = 300 };
	struct ks_addr a = addr_of("192.168.77.1");
	char *text;

	(void)state;
	ks_portal_grant_add(&g, &a);
	a = addr_of("2001:db8:77::1");
	ks_portal_grant_add(&g, &a);
	snprintf(g.v2_path, sizeof(g.v2_path), "unified/killswitch-portal");
	text = grant_text(&g, KS_PORTAL_IN_TABLE, 0);
	assert_string_equal(text,
			    "flush set inet killswitch portal4\n"
			    "flush set inet killswitch portal6\n"
			    "add element inet killswitch portal4 { 192.168.77.1 . udp . 53 timeout 300s, "
			    "192.168.77.1 . tcp . 53 timeout 300s, 192.168.77.1 . tcp . 80 timeout 300s, "
			    "192.168.77.1 . tcp . 443 timeout 300s, 192.168.77.1 . udp . 443 timeout 300s }\n"
			    "add element inet killswitch portal6 { 2001:db8:77::1 . udp . 53 timeout 300s, "
			    "2001:db8:77::1 . tcp . 53 timeout 300s, 2001:db8:77::1 . tcp . 80 timeout 300s, "
			    "2001:db8:77::1 . tcp . 443 timeout 300s, 2001:db8:77::1 . udp . 443 timeout 300s }\n"
			    "add element inet killswitch portal_groups { \"unified/killswitch-portal\" }\n");
	free(text);
	/* The guard's sets by its name; v1 only: no group element. */
	g.v2_path[0] = '\0';
	text = grant_text(&g, KS_PORTAL_IN_GUARD, 0);
	assert_non_null(strstr(text, "flush set inet killswitch_guard portal4\n"));
	assert_non_null(strstr(text, "add element inet killswitch_guard portal6 { "));
	assert_null(strstr(text, "portal_groups"));
	assert_null(strstr(text, "inet killswitch "));
	free(text);
	/* And the portal's own table. */
	text = grant_text(&g, KS_PORTAL_IN_OWN_TABLE, 0);
	assert_non_null(strstr(text, "flush set inet killswitch_portal portal4\n"));
	assert_non_null(strstr(text, "add element inet killswitch_portal portal4 { 192.168.77.1 . udp . 53 timeout 300s, "));
	assert_null(strstr(text, "inet killswitch "));
	free(text);
}

static void test_grant_refused(void **state)
{
	struct ks_portal_grant g = { .seconds = 60 };
	struct ks_addr a = addr_of("192.168.77.1");
	struct ks_buf buf = KS_BUF_INIT;

	(void)state;
	free(grant_text(&g, KS_PORTAL_IN_TABLE, -EINVAL)); /* empty */
	ks_portal_grant_add(&g, &a);
	g.seconds = 0;
	free(grant_text(&g, KS_PORTAL_IN_TABLE, -EINVAL));
	g.seconds = KS_PORTAL_SECONDS_MAX + 1;
	free(grant_text(&g, KS_PORTAL_IN_TABLE, -EINVAL));
	g.seconds = 60;
	snprintf(g.v2_path, sizeof(g.v2_path), "unified/x\" } flush ruleset {\"");
	free(grant_text(&g, KS_PORTAL_IN_TABLE, -EINVAL));
	snprintf(g.v2_path, sizeof(g.v2_path), "../etc");
	free(grant_text(&g, KS_PORTAL_IN_TABLE, -EINVAL));
	g.v2_path[0] = '\0';
	g.addrs[0].family = 0;
	free(grant_text(&g, KS_PORTAL_IN_TABLE, -EINVAL));
	g.addrs[0].family = AF_INET;
	assert_int_equal(ks_compile_portal_grant(&g, "killswitch; flush ruleset", KS_PORTAL_IN_OWN_TABLE, &buf), -EINVAL);
	assert_int_equal(buf.len, 0);
	ks_buf_free(&buf);
}

/* The body of chain name in text (its lines up to the closing brace), malloc'ed. */
static char *body_of(const char *text, const char *name)
{
	char head[64];
	const char *start, *end;

	snprintf(head, sizeof(head), "\n\tchain %s {\n", name);
	start = strstr(text, head);
	if (!start)
		fail_msg("no chain %s", name);
	end = start ? strstr(start + 1, "\n\t}\n") : NULL;
	assert_non_null(end);
	return strndup(start, (size_t)(end - start) + 1);
}

static size_t at(const char *body, const char *rule)
{
	char line[256];
	const char *p;

	snprintf(line, sizeof(line), "\t\t%s\n", rule);
	p = strstr(body, line);
	if (!p)
		fail_msg("no rule \"%s\" in\n%s", rule, body);
	return (size_t)(p - body);
}

static char *compile_guard_text(const struct ks_policy *p)
{
	struct ks_buf buf = KS_BUF_INIT;

	assert_int_equal(ks_compile_guard_transaction(p, KS_TABLE_NAME, false, &buf), 0);
	return ks_buf_steal(&buf);
}

/*
 * The portal's rules, in every state, in the table and the guard: after the
 * accepts that never open anything (loopback, endpoints, the fast lane,
 * DHCP, ND), before everything that refuses or opens.
 */
static void check_rules(const char *text, bool guard, bool fwmark)
{
	char *out = body_of(text, "output"), *in = body_of(text, "input"), *portal = body_of(text, "portal");
	char *pre = body_of(text, "prerouting");
	size_t go = at(out, "meta cgroup 0x4b500001 goto portal");
	const char *refusals[] = { "oifname != @tunnels ip daddr @protected4 counter name blocked_out reject with icmpx admin-prohibited",
				   "meta l4proto { tcp, udp } th dport { 53, 853 } counter name blocked_dns reject",
				   "oifname != @tunnels ip daddr @lan4 accept",
				   "meta l4proto tcp counter name blocked_out reject with tcp reset" };

	assert_non_null(strstr(text, "\tset portal4 {\n\t\ttype ipv4_addr . inet_proto . inet_service\n\t\tflags timeout\n\t}\n"));
	assert_non_null(strstr(text, "\tset portal6 {\n\t\ttype ipv6_addr . inet_proto . inet_service\n\t\tflags timeout\n\t}\n"));
	assert_non_null(strstr(text, "\tset portal_groups {\n\t\ttype cgroupsv2\n\t}\n"));
	assert_int_equal(go + strlen("\t\tmeta cgroup 0x4b500001 goto portal\n"),
			 at(out, "socket cgroupv2 level 1 @portal_groups goto portal"));
	/* Every rule before them accepts. */
	for (const char *line = strstr(out, "policy drop;\n") + strlen("policy drop;\n"); line < out + go;
	     line = strchr(line, '\n') + 1) {
		const char *eol = strchr(line, '\n');

		if (eol - line < 7 || strncmp(eol - 7, " accept", 7))
			fail_msg("a rule before the portal's goto that does not accept: %.*s", (int)(eol - line), line);
	}
	/* The endpoint exemption, the fast lane (enabled) and the DHCP client before them. */
	assert_true(at(out, "oifname != @tunnels meta nfproto ipv4 udp sport 68 udp dport 67 accept") < go);
	assert_true(strstr(out, "ip daddr . meta l4proto . th dport @endpoints4 accept\n") < out + go);
	/* Every refusal and every opening after them. */
	for (size_t i = 0; i < ARRAY_SIZE(refusals); i++)
		assert_true(go < at(out, refusals[i]));
	/* The chain: protected prefixes first, then the grant, then reject: never a fall-through. */
	assert_true(at(portal, "ip daddr @protected4 counter name blocked_out reject with icmpx admin-prohibited") <
		    at(portal, "ip daddr . meta l4proto . th dport @portal4 accept"));
	assert_true(at(portal, "ip6 daddr . meta l4proto . th dport @portal6 accept") <
		    at(portal, "meta l4proto tcp counter name blocked_out reject with tcp reset"));
	assert_non_null(strstr(portal, "\t\tcounter name blocked_out reject with icmpx admin-prohibited\n"));
	assert_null(strstr(portal, "goto"));
	assert_null(strstr(portal, "jump"));
	/* Replies: only established, only of marked connections, only from the grant's destinations. */
	at(in, "ct mark 0x4b50 ct state established ip saddr . meta l4proto . th sport @portal4 accept");
	at(in, "ct mark 0x4b50 ct state established ip6 saddr . meta l4proto . th sport @portal6 accept");
	if (fwmark)
		at(pre, "ct mark 0x4b50 iifname != @tunnels meta mark set 0xca6c");
	else
		assert_null(strstr(pre, "0x4b50"));
	/* The routing and NAT are the portal table's: nothing of them here, so mangle and nat stay unhooked. */
	assert_null(strstr(text, "portal_route"));
	assert_null(strstr(text, "masquerade"));
	if (!guard) {
		assert_non_null(strstr(text, "\n\tchain mangle {\n\t}\n"));
		assert_non_null(strstr(text, "\n\tchain nat {\n\t}\n"));
	}
	free(out);
	free(in);
	free(portal);
	free(pre);
}

/* The portal's own table: the sets again, the grant's marking first in the route hook, its NAT. */
static void test_portal_table(void **state)
{
	struct ks_buf buf = KS_BUF_INIT;
	struct ks_policy p;
	char *text, *mangle, *route, *nat;

	(void)state;
	for (int none = 0; none < 2; none++) {
		policy_from_args(&p, ARGS("--tunnel", "wg0", "--tunnel", "tun1", "--endpoint", "203.0.113.1:51820",
					  "--fwmark", none ? "none" : "0xca6c"));
		assert_int_equal(ks_compile_portal_table(&p, KS_TABLE_NAME, &buf), 0);
		text = ks_buf_steal(&buf);
		/* Replaced whole. */
		assert_int_equal(strncmp(text, "table inet killswitch_portal\ndelete table inet killswitch_portal\n"
					       "table inet killswitch_portal {\n", 93), 0);
		assert_non_null(strstr(text, "\tset tunnels {\n\t\ttype ifname\n\t\telements = {\n\t\t\t\"tun1\",\n"
					     "\t\t\t\"wg0\",\n\t\t}\n\t}\n"));
		assert_non_null(strstr(text, "\tset portal4 {\n\t\ttype ipv4_addr . inet_proto . inet_service\n\t\tflags timeout\n\t}\n"));
		assert_non_null(strstr(text, "\tset portal_groups {\n\t\ttype cgroupsv2\n\t}\n"));
		mangle = body_of(text, "mangle");
		route = body_of(text, "portal_route");
		nat = body_of(text, "nat");
		assert_int_equal(at(mangle, "meta cgroup 0x4b500001 goto portal_route"),
				 strstr(mangle, "type route hook output priority -150; policy accept;\n") +
					 strlen("type route hook output priority -150; policy accept;\n") - mangle);
		at(mangle, "socket cgroupv2 level 1 @portal_groups goto portal_route");
		at(route, none ? "ip daddr . meta l4proto . th dport @portal4 ct mark set 0x4b50"
			       : "ip daddr . meta l4proto . th dport @portal4 ct mark set 0x4b50 meta mark set 0xca6c");
		at(route, none ? "ip6 daddr . meta l4proto . th dport @portal6 ct mark set 0x4b50"
			       : "ip6 daddr . meta l4proto . th dport @portal6 ct mark set 0x4b50 meta mark set 0xca6c");
		at(nat, "type nat hook postrouting priority srcnat; policy accept;");
		at(nat, "ct mark 0x4b50 oifname != @tunnels oifname != \"lo\" masquerade");
		/* Nothing that filters: a verdict here could never be final anyway, and must not be. */
		assert_null(strstr(text, "filter"));
		assert_null(strstr(text, "drop"));
		assert_null(strstr(text, "reject"));
		free(mangle);
		free(route);
		free(nat);
		free(text);
		ks_policy_free(&p);
	}
	/* Refused: a bad table name, a tunnel name that would break out of its quotes. */
	policy_from_args(&p, ARGS("--tunnel", "wg0"));
	assert_int_equal(ks_compile_portal_table(&p, "killswitch; flush ruleset", &buf), -EINVAL);
	snprintf(p.tunnels[0].name, sizeof(p.tunnels[0].name), "wg0\"");
	assert_int_equal(ks_compile_portal_table(&p, KS_TABLE_NAME, &buf), -EINVAL);
	assert_int_equal(buf.len, 0);
	ks_policy_free(&p);
	/* Its removal, for the apply and disable transactions; and inside the apply's. */
	assert_int_equal(ks_compile_portal_table_removal(KS_TABLE_NAME, &buf), 0);
	assert_string_equal(buf.data, "table inet killswitch_portal\ndelete table inet killswitch_portal\n");
	ks_buf_free(&buf);
	assert_int_equal(ks_compile_portal_table_removal("killswitch; x", &buf), -EINVAL);
	policy_from_args(&p, ARGS("--tunnel", "wg0"));
	assert_int_equal(ks_compile_transaction(&p, KS_TABLE_NAME, &buf), 0);
	assert_non_null(strstr(buf.data, "table inet killswitch_portal\ndelete table inet killswitch_portal\n"));
	ks_buf_free(&buf);
	ks_policy_free(&p);
}

static void test_rules_everywhere(void **state)
{
	static const enum ks_state states[] = { KS_STATE_ENABLED, KS_STATE_BLOCKED };

	(void)state;
	for (size_t s = 0; s < ARRAY_SIZE(states); s++)
		for (int none = 0; none < 2; none++) {
			struct ks_policy p;
			char *text, *guard;

			policy_from_args(&p, ARGS("--tunnel", "wg0", "--endpoint", "203.0.113.1:51820", "--dns",
						  "10.64.0.1", "--allow-lan", "--fwmark", none ? "none" : "0xca6c"));
			p.state = states[s];
			text = compile_text(&p);
			guard = compile_guard_text(&p);
			check_rules(text, false, !none);
			check_rules(guard, true, !none);
			free(text);
			free(guard);
			ks_policy_free(&p);
		}
}

/* The table's text does not depend on a grant: the same with or without one (nothing of it is in the policy). */
static void test_text_constant(void **state)
{
	struct ks_policy a, b;
	char *ta, *tb;

	(void)state;
	policy_from_args(&a, ARGS("--tunnel", "wg0"));
	policy_from_args(&b, ARGS("--tunnel", "wg0", "--endpoint", "203.0.113.1:51820"));
	ta = compile_text(&a);
	tb = compile_text(&b);
	/* Same portal part whatever the policy: the portal chain is byte-identical. */
	{
		char *pa = body_of(ta, "portal"), *pb = body_of(tb, "portal");

		assert_string_equal(pa, pb);
		free(pa);
		free(pb);
	}
	free(ta);
	free(tb);
	ks_policy_free(&a);
	ks_policy_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_args_refused),
		cmocka_unit_test(test_seconds),
		cmocka_unit_test(test_grant_add),
		cmocka_unit_test(test_resolv),
		cmocka_unit_test(test_lease),
		cmocka_unit_test(test_grant_text),
		cmocka_unit_test(test_grant_refused),
		cmocka_unit_test(test_rules_everywhere),
		cmocka_unit_test(test_portal_table),
		cmocka_unit_test(test_text_constant),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
