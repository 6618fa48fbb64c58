// SPDX-License-Identifier: GPL-2.0-or-later
/* --bypass and --allow-in in the compiler: where their rules stand, what each state holds, what is refused. */
#include "unit.h"

#define BASE "--tunnel", "wg0", "--endpoint", "198.51.100.10:51820", "--dns", "10.64.0.1", "--protect", "203.0.113.8/29"
#define LISTS "--bypass", "203.0.113.0/28", "--bypass", "[2001:db8::/48]:443/tcp", "--allow-in", "22/tcp"

static char *compile_in(enum ks_state state, int argc, char *const argv[])
{
	struct ks_policy policy;
	char *text;

	policy_from_args(&policy, argc, argv);
	policy.state = state;
	text = compile_text(&policy);
	ks_policy_free(&policy);
	return text;
}

/* A policy without them compiles to exactly what it did: no set, rule or mark of theirs. */
static void test_nothing_without_them(void **state)
{
	static const char *const absent[] = { "bypass", "allow_in", "0x4b42", "0x4b41" };

	(void)state;
	for (int s = KS_STATE_ENABLED; s <= KS_STATE_BLOCKED; s++) {
		char *text = compile_in((enum ks_state)s, ARGS(BASE));

		for (size_t i = 0; i < ARRAY_SIZE(absent); i++)
			if (strstr(text, absent[i]))
				fail_msg("\"%s\" in a policy without --bypass or --allow-in:\n%s", absent[i], text);
		free(text);
	}
}

/* Output: never DNS, never a protected prefix, never before the tunnel's own accepts; then the final reject. */
static void test_bypass_order(void **state)
{
	char *text = compile_in(KS_STATE_ENABLED, ARGS(BASE, LISTS));
	char *out = chain(text, "output"), *in = chain(text, "input"), *mangle = chain(text, "mangle");
	char *bypass = chain(text, "bypass"), *nat = chain(text, "nat");

	(void)state;
	before(out, "oifname != @tunnels ip daddr @protected4 counter name blocked_out reject with icmpx admin-prohibited",
	       "oifname != @tunnels ip daddr @bypass4 accept");
	before(out, "meta l4proto { tcp, udp } th dport { 53, 853 } counter name blocked_dns reject",
	       "oifname != @tunnels ip daddr @bypass4 accept");
	before(out, "oifname != @tunnels ip6 daddr . meta l4proto . th dport @bypass_ports6 accept",
	       "meta l4proto tcp counter name blocked_out reject with tcp reset");
	/* Replies of accepted inbound connections: after the protected prefixes, in the reply direction only. */
	before(out, "oifname != @tunnels ip6 daddr @protected6 counter name blocked_out reject with icmpx admin-prohibited",
	       "oifname != @tunnels ct mark 0x4b41 ct direction reply accept");
	/* Input: posers from protected prefixes dropped first; each accept names its own connections. */
	before(in, "iifname != @tunnels ip6 saddr @protected6 counter name blocked_in drop",
	       "iifname != @tunnels ct direction original meta l4proto . th dport @allow_in ct mark set 0x4b41 accept");
	before(in, "iifname != @tunnels ct mark 0x4b42 ct direction reply accept", "\t\tcounter name blocked_in drop\n");
	assert_null(strstr(in, "ct state established accept\n\t\tcounter"));
	/* Mangle: the allow-in replies marked, new bypassed connections to the bypass chain. */
	before(mangle, "ct mark 0x4b41 ct direction reply meta mark set 0xca6c", "ip daddr @bypass4 goto bypass");
	/* The bypass chain: what began in the tunnel, DNS and the protected prefixes return before the mark. */
	before(bypass, "ct state != new ct mark != 0x4b42 return", "ct mark set 0x4b42 meta mark set 0xca6c");
	before(bypass, "meta l4proto { tcp, udp } th dport { 53, 853 } return", "ct mark set 0x4b42 meta mark set 0xca6c");
	before(bypass, "ip daddr @protected4 return", "ct mark set 0x4b42 meta mark set 0xca6c");
	before(bypass, "ip6 daddr @protected6 return", "ct mark set 0x4b42 meta mark set 0xca6c");
	rule_at(nat, "ct mark 0x4b42 oifname != @tunnels oifname != \"lo\" masquerade");
	/* Forward is not the host's: nothing of theirs there. */
	{
		char *fwd = chain(text, "forward");

		assert_null(strstr(fwd, "bypass"));
		assert_null(strstr(fwd, "allow_in"));
		free(fwd);
	}
	free(nat);
	free(bypass);
	free(mangle);
	free(in);
	free(out);
	free(text);
}

/* Blocked: no bypass at all (set, rule, chain, NAT); the inbound ports and their replies stay. */
static void test_blocked(void **state)
{
	char *text = compile_in(KS_STATE_BLOCKED, ARGS(BASE, LISTS));
	char *out = chain(text, "output"), *in = chain(text, "input");

	(void)state;
	assert_null(strstr(text, "bypass"));
	assert_null(strstr(text, "0x4b42"));
	rule_at(out, "oifname != @tunnels ct mark 0x4b41 ct direction reply accept");
	rule_at(in, "iifname != @tunnels ct direction original meta l4proto . th dport @allow_in ct mark set 0x4b41 accept");
	free(in);
	free(out);
	free(text);
}

/* Set elements: tcp and udp for a port without a protocol, inner ranges of the same port folded. */
static void test_elements(void **state)
{
	char *text = compile_in(KS_STATE_ENABLED, ARGS(BASE, "--bypass", "198.51.100.0/24:443", "--bypass",
						       "198.51.100.16/28:443/tcp", "--bypass", "198.51.100.16/28:80",
						       "--allow-in", "5353/udp@eth1", "--allow-in", "5353@eth1"));

	(void)state;
	assert_non_null(strstr(text, "\t\t\t198.51.100.0/24 . tcp . 443,\n\t\t\t198.51.100.0/24 . udp . 443,\n"));
	assert_null(strstr(text, "198.51.100.16/28 . tcp . 443"));
	assert_non_null(strstr(text, "\t\t\t198.51.100.16/28 . tcp . 80,\n\t\t\t198.51.100.16/28 . udp . 80,\n"));
	/* 5353 on both protocols once: the udp-only entry adds nothing. */
	assert_non_null(strstr(text, "\t\t\t\"eth1\" . tcp . 5353,\n\t\t\t\"eth1\" . udp . 5353,\n\t\t}\n"));
	free(text);
}

/* Refused by the compiler too, whoever filled the policy: -EINVAL and nothing written. */
static void test_refused(void **state)
{
	struct ks_policy policy;
	struct ks_buf buf = KS_BUF_INIT;
	struct ks_allow_in a = { .port = 22, .proto = IPPROTO_TCP };

	(void)state;
	policy_from_args(&policy, ARGS(BASE, LISTS));
	policy.fwmark_none = true;
	assert_int_equal(ks_compile(&policy, KS_TABLE_NAME, &buf), -EINVAL);
	assert_int_equal(buf.len, 0);
	ks_policy_free(&policy);

	policy_from_args(&policy, ARGS(BASE));
	strcpy(a.iface, "wg0");
	assert_int_equal(ks_policy_add_allow_in(&policy, &a), 0);
	assert_int_equal(ks_compile(&policy, KS_TABLE_NAME, &buf), -EINVAL);
	assert_int_equal(buf.len, 0);
	/* An interface name that could carry nft syntax never reaches the text. */
	strcpy(policy.allow_in[0].iface, "e\"; flush");
	{
		char *text = compile_text(&policy);

		assert_null(strstr(text, "flush"));
		free(text);
	}
	ks_policy_free(&policy);
	ks_buf_free(&buf);
}

/* Policy files keep them: written and read back to an equal policy. */
static void test_round_trip(void **state)
{
	struct ks_policy policy, back;
	struct ks_buf buf = KS_BUF_INIT;
	char path[64], err[KS_ERR_LEN];

	(void)state;
	policy_from_args(&policy, ARGS(BASE, LISTS, "--allow-in", "5353@eth1"));
	ks_options_format(&policy, &buf);
	write_temp(buf.data, buf.len, path);
	ks_policy_init(&back);
	assert_int_equal(ks_options_parse_file(&back, path, err), 0);
	ks_policy_finalize(&back);
	unlink(path);
	assert_int_equal(back.n_bypass, 2);
	assert_int_equal(back.n_allow_in, 2);
	assert_memory_equal(back.bypass, policy.bypass, 2 * sizeof(*back.bypass));
	assert_memory_equal(back.allow_in, policy.allow_in, 2 * sizeof(*back.allow_in));
	ks_policy_free(&back);
	ks_policy_free(&policy);
	ks_buf_free(&buf);
}

/* del removes the equal entry only. */
static void test_del(void **state)
{
	struct ks_policy policy;
	struct ks_bypass b;

	(void)state;
	policy_from_args(&policy, ARGS(BASE, LISTS));
	assert_int_equal(ks_parse_bypass("203.0.113.0/28:443", &b), 0);
	assert_int_equal(ks_policy_del_bypass(&policy, &b), 0);
	assert_int_equal(ks_parse_bypass("203.0.113.0/28", &b), 0);
	assert_int_equal(ks_policy_del_bypass(&policy, &b), 1);
	assert_int_equal(policy.n_bypass, 1);
	ks_policy_free(&policy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_without_them),
		cmocka_unit_test(test_bypass_order),
		cmocka_unit_test(test_blocked),
		cmocka_unit_test(test_elements),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_del),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
