// SPDX-License-Identifier: GPL-2.0-or-later
/* Partial tunnels and per-tunnel protected prefixes (issue 14, parts 2 and 4), asserted on the text. */
#include <errno.h>

#include "killswitch/protect.h"
#include "killswitch/schema.h"
#include "unit.h"

static char *compile_file(const char *text)
{
	struct ks_policy policy;
	char *out;

	policy_from_file(&policy, text);
	out = compile_text(&policy);
	ks_policy_free(&policy);
	return out;
}

static bool has_rule(const char *body, const char *rule)
{
	char line[512];

	snprintf(line, sizeof(line), "\t\t%s\n", rule);
	return strstr(body, line) != NULL;
}

/* The last rule of body is exactly rule. */
static void ends_with(const char *body, const char *rule)
{
	char line[512];
	size_t n = strlen(body), m;

	m = (size_t)snprintf(line, sizeof(line), "\t\t%s\n", rule);
	if (n < m || strcmp(body + n - m, line))
		fail_msg("chain should end with \"%s\":\n%s", rule, body);
}

#define PARTIAL_POLICY                                                                                      \
	"tunnel wg0\nendpoint 198.51.100.10:51820\ndns 10.10.13.1\npartial\n"                               \
	"protect-allowed-ips 10.10.13.0/24 wg0\nprotect-allowed-ips 192.168.2.0/24 wg0\n"

#define PROTECTED_OUT4 "oifname != @tunnels ip daddr @protected4 counter name blocked_out reject with icmpx admin-prohibited"
#define RESOLVER_LOCK4                                                                                        \
	"oifname != @tunnels ip daddr @resolvers4 meta l4proto { tcp, udp } th dport { 53, 853 } counter name " \
	"blocked_dns reject"
#define DNS_ANYWHERE "meta l4proto { tcp, udp } th dport { 53, 853 } counter name blocked_dns reject"

/* Enabled: protected destinations and DNS to the resolvers only through the tunnel, the rest as routed. */
static void test_partial_enabled(void **state)
{
	char *text = compile_file(PARTIAL_POLICY), *out = chain(text, "output"), *in = chain(text, "input"),
	     *fwd = chain(text, "forward");

	(void)state;
	assert_non_null(strstr(text, "policy drop;"));
	/* The protected prefixes, then the resolvers, then the tunnel, then everything else. */
	assert_true(rule_at(out, PROTECTED_OUT4) < rule_at(out, RESOLVER_LOCK4));
	assert_true(rule_at(out, RESOLVER_LOCK4) < rule_at(out, "oifname @tunnels accept"));
	ends_with(out, "accept");
	/* Other DNS is the host's own business; the LAN is not locked, so no LAN rule either. */
	assert_false(has_rule(out, DNS_ANYWHERE));
	assert_null(strstr(out, "@lan4"));
	assert_null(strstr(out, "reject with tcp reset"));
	/* Inbound: protected sources only through the tunnel, the rest for the host's other firewall. */
	assert_true(rule_at(in, "iifname != @tunnels ip saddr @protected4 counter name blocked_in drop") <
		    rule_at(in, "accept"));
	ends_with(in, "accept");
	/* Forward: guests the same; replies from the tunnel, never a new connection from it. */
	rule_at(fwd, "oifname != @tunnels ip daddr @protected4 counter name blocked_fwd reject with icmpx admin-prohibited");
	assert_true(rule_at(fwd, "iifname @tunnels ct state established,related accept") <
		    rule_at(fwd, "iifname @tunnels counter name blocked_fwd ct mark set 0x4b52 reject with icmpx admin-prohibited"));
	ends_with(fwd, "accept");
	free(out);
	free(in);
	free(fwd);
	free(text);
}

/* Blocked: the tunnel closed (and the protected prefixes and resolvers with it), the internet untouched. */
static void test_partial_blocked(void **state)
{
	char *text = compile_file("state blocked\n" PARTIAL_POLICY), *out = chain(text, "output"),
	     *in = chain(text, "input"), *fwd = chain(text, "forward");

	(void)state;
	assert_false(has_rule(out, "oifname @tunnels accept"));
	assert_null(strstr(out, "th dport != 53 th dport != 853 accept"));
	assert_true(rule_at(out, PROTECTED_OUT4) < rule_at(out, "oifname @tunnels counter name blocked_out reject with icmpx admin-prohibited"));
	rule_at(out, "oifname @tunnels meta l4proto tcp counter name blocked_out reject with tcp reset");
	rule_at(out, RESOLVER_LOCK4);
	ends_with(out, "accept");
	assert_false(has_rule(in, "iifname @tunnels accept"));
	assert_null(strstr(in, "iifname \"wg0\" accept"));
	assert_true(rule_at(in, "iifname @tunnels counter name blocked_in drop") < rule_at(in, "accept"));
	assert_false(has_rule(fwd, "oifname @tunnels accept"));
	rule_at(fwd, "oifname @tunnels counter name blocked_fwd ct mark set 0x4b52 reject with icmpx admin-prohibited");
	ends_with(fwd, "accept");
	free(out);
	free(in);
	free(fwd);
	free(text);
}

/* A vouched LAN resolver still answers on the LAN; the lock is for the others. */
static void test_partial_vouched_resolver(void **state)
{
	char *text = compile_file(PARTIAL_POLICY "dns 192.168.1.1\nlan 192.168.1.0/24\n"), *out = chain(text, "output");

	(void)state;
	assert_true(rule_at(out, "oifname != @tunnels ip daddr @lan_vouched4 ip daddr @resolvers4 meta l4proto { tcp, udp } th dport 53 accept") <
		    rule_at(out, RESOLVER_LOCK4));
	free(out);
	free(text);
}

/* Without a protected prefix --partial would lock nothing: the compiler refuses it, writing nothing. */
static void test_partial_needs_protected(void **state)
{
	struct ks_buf buf = KS_BUF_INIT;
	struct ks_policy policy;

	(void)state;
	policy_from_args(&policy, ARGS("--tunnel", "wg0", "--partial", "--dns", "10.10.13.1"));
	assert_true(policy.partial);
	assert_int_equal(ks_compile(&policy, KS_TABLE_NAME, &buf), -EINVAL);
	assert_int_equal(buf.len, 0);
	assert_int_equal(ks_compile_transaction(&policy, KS_TABLE_NAME, &buf), -EINVAL);
	policy.state = KS_STATE_BLOCKED;
	assert_int_equal(ks_compile(&policy, KS_TABLE_NAME, &buf), -EINVAL);
	ks_buf_free(&buf);
	ks_policy_free(&policy);
	/* One --protect is enough. */
	policy_from_args(&policy, ARGS("--tunnel", "wg0", "--partial", "--protect", "10.10.13.0/24"));
	free(compile_text(&policy));
	ks_policy_free(&policy);
}

/* --partial on the command line and in files, written back by ks_options_format. */
static void test_partial_round_trip(void **state)
{
	struct ks_buf first = KS_BUF_INIT;
	struct ks_policy policy, back;
	char *text;

	(void)state;
	policy_from_args(&policy, ARGS("--tunnel", "wg0", "--partial", "--protect", "10.10.13.0/24"));
	text = format_round_trip(&policy, &back);
	assert_non_null(strstr(text, "\npartial\n"));
	assert_true(back.partial);
	free(text);
	ks_policy_free(&back);
	ks_policy_free(&policy);
	/* Without it nothing is written, and --partial takes no value. */
	policy_from_args(&policy, ARGS("--tunnel", "wg0"));
	ks_options_format(&policy, &first);
	assert_null(strstr(first.data, "partial"));
	assert_false(policy.partial);
	ks_buf_free(&first);
	ks_policy_free(&policy);
	{
		char err[KS_ERR_LEN] = "";

		ks_policy_init(&policy);
		assert_int_equal(ks_options_parse_args(&policy, NULL, ARGS("--partial=yes"), err), -EINVAL);
		assert_quotes(err, "--partial=yes");
		ks_policy_free(&policy);
	}
}

#define MESH_POLICY                                                                                          \
	"tunnel wg0\ntunnel tailscale0\nprotect 172.20.0.0/16\nprotect-tunnel 10.66.0.0/24 wg0\n"          \
	"protect-allowed-ips 100.64.0.0/10 tailscale0\nprotect-allowed-ips fd7a:115c:a1e0::/48 tailscale0\n"

/* Two tunnels: each derived prefix paired with its tunnel, a --protect prefix with each. */
static void test_pairs(void **state)
{
	char *text = compile_file(MESH_POLICY), *out = chain(text, "output"), *in = chain(text, "input"),
	     *fwd = chain(text, "forward");
	const char *via4 = strstr(text, "\tset " KS_SET_PROTECTED_VIA4 " {\n"), *via6;

	(void)state;
	assert_non_null(via4);
	via6 = strstr(via4, "\tset " KS_SET_PROTECTED_VIA6 " {\n");
	assert_non_null(via6);
	assert_non_null(strstr(via4, "\t\ttype ifname . ipv4_addr\n\t\tflags interval\n"));
	assert_non_null(strstr(via4, "\t\t\t\"wg0\" . 10.66.0.0/24,\n"));
	assert_non_null(strstr(via4, "\t\t\t\"tailscale0\" . 100.64.0.0/10,\n"));
	assert_non_null(strstr(via4, "\t\t\t\"tailscale0\" . 172.20.0.0/16,\n"));
	assert_non_null(strstr(via4, "\t\t\t\"wg0\" . 172.20.0.0/16,\n"));
	assert_null(strstr(via4, "\"wg0\" . 100.64.0.0/10"));
	assert_null(strstr(via4, "\"tailscale0\" . 10.66.0.0/24"));
	assert_true(strstr(via6, "\t\t\t\"tailscale0\" . fd7a:115c:a1e0::/48,\n") < strstr(via6, "\n\t}\n"));
	/* Before the fast lane, which would accept the packet through the wrong tunnel. */
	assert_true(rule_at(out, "oifname @tunnels ip daddr @protected4 oifname . ip daddr != @protected_via4 counter name blocked_out reject with icmpx admin-prohibited") <
		    rule_at(out, "oifname @tunnels th dport != 53 th dport != 853 accept"));
	rule_at(out, "oifname @tunnels ip6 daddr @protected6 oifname . ip6 daddr != @protected_via6 counter name blocked_out reject with icmpx admin-prohibited");
	assert_true(rule_at(in, "iifname @tunnels ip saddr @protected4 iifname . ip saddr != @protected_via4 counter name blocked_in drop") <
		    rule_at(in, "iifname @tunnels accept"));
	assert_true(rule_at(fwd, "iifname @tunnels ip6 saddr @protected6 iifname . ip6 saddr != @protected_via6 counter name blocked_fwd drop") <
		    rule_at(fwd, "oifname @tunnels th dport != 53 th dport != 853 accept"));
	free(out);
	free(in);
	free(fwd);
	free(text);
}

/*
 * Site to site beside a mesh (--partial --gateway, two tunnels): the other
 * site's new connections (PT7) are accepted only after V2 dropped a protected
 * source that came by the wrong tunnel, and after F7b dropped one from off
 * the tunnels; blocked, PT7 is gone.
 */
static void test_site_in_after_pairs(void **state)
{
	char *text = compile_file(MESH_POLICY "partial\ngateway br-lan\n"), *fwd = chain(text, "forward");
	char *blocked = compile_file(MESH_POLICY "partial\ngateway br-lan\nstate blocked\n"), *bfwd = chain(blocked, "forward");
	const char *site4 = "iifname @tunnels oifname @gateways ip saddr @protected4 accept";
	const char *site6 = "iifname @tunnels oifname @gateways ip6 saddr @protected6 accept";

	(void)state;
	assert_true(rule_at(fwd, "iifname @tunnels ip saddr @protected4 iifname . ip saddr != @protected_via4 counter name blocked_fwd drop") <
		    rule_at(fwd, site4));
	assert_true(rule_at(fwd, "iifname @tunnels ip6 saddr @protected6 iifname . ip6 saddr != @protected_via6 counter name blocked_fwd drop") <
		    rule_at(fwd, site6));
	assert_true(rule_at(fwd, "iifname != @tunnels ip saddr @protected4 counter name blocked_fwd drop") < rule_at(fwd, site4));
	assert_true(rule_at(fwd, site6) <
		    rule_at(fwd, "iifname @tunnels meta l4proto tcp counter name blocked_fwd ct mark set 0x4b52 reject with tcp reset"));
	ends_with(fwd, "accept");
	assert_null(strstr(bfwd, "@gateways ip saddr"));
	assert_null(strstr(bfwd, "@gateways ip6 saddr"));
	ends_with(bfwd, "accept");
	free(fwd);
	free(text);
	free(bfwd);
	free(blocked);
}

/* One tunnel, or nothing protected: no pairs, no pair rules (the text as before). */
static void test_no_pairs(void **state)
{
	char *one = compile_file("tunnel wg0\nprotect 172.20.0.0/16\nprotect-tunnel 10.66.0.0/24 wg0\n");
	char *none = compile_file("tunnel wg0\ntunnel tailscale0\n");

	(void)state;
	assert_null(strstr(one, KS_SET_PROTECTED_VIA4));
	assert_null(strstr(none, KS_SET_PROTECTED_VIA4));
	assert_null(strstr(none, "oifname . ip daddr"));
	free(one);
	free(none);
}

/* nft refuses overlapping pairs: a prefix inside another of the same tunnel is left to the outer one. */
static void test_nested_pairs(void **state)
{
	char *text = compile_file("tunnel wg0\ntunnel ts0\nprotect 10.0.0.0/8\nprotect-tunnel 10.66.0.0/24 wg0\n"
				  "protect-allowed-ips 100.64.0.0/10 ts0\nprotect-allowed-ips 100.64.1.0/24 ts0\n");

	(void)state;
	assert_non_null(strstr(text, "\t\t\t\"wg0\" . 10.0.0.0/8,\n"));
	assert_non_null(strstr(text, "\t\t\t\"ts0\" . 10.0.0.0/8,\n"));
	assert_null(strstr(text, "\"wg0\" . 10.66.0.0/24"));
	assert_non_null(strstr(text, "\t\t\t\"ts0\" . 100.64.0.0/10,\n"));
	assert_null(strstr(text, "\"ts0\" . 100.64.1.0/24"));
	free(text);
}

/* A derived prefix's tunnel, from a state file, is pasted between quotes: checked like --tunnel. */
static void test_pairs_names_checked(void **state)
{
	struct ks_cidr cidr;
	struct ks_policy policy;
	char *text;

	(void)state;
	policy_from_args(&policy, ARGS("--tunnel", "wg0", "--tunnel", "ts0"));
	assert_int_equal(ks_parse_cidr("100.64.0.0/10", &cidr), 0);
	assert_int_equal(ks_policy_add_protect(&policy, &cidr, KS_PROTECT_ALLOWED_IPS, "ts\"0"), 0);
	ks_policy_finalize(&policy);
	text = compile_text(&policy);
	assert_null(strstr(text, "ts\"0"));
	free(text);
	ks_policy_free(&policy);
}

static void test_cidr_contains(void **state)
{
	struct ks_cidr a, b, c;

	(void)state;
	assert_int_equal(ks_parse_cidr("10.0.0.0/8", &a), 0);
	assert_int_equal(ks_parse_cidr("10.66.0.0/24", &b), 0);
	assert_int_equal(ks_parse_cidr("fd00::/8", &c), 0);
	assert_true(ks_cidr_contains(&a, &b));
	assert_true(ks_cidr_contains(&a, &a));
	assert_false(ks_cidr_contains(&b, &a));
	assert_false(ks_cidr_contains(&a, &c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partial_enabled),
		cmocka_unit_test(test_partial_blocked),
		cmocka_unit_test(test_partial_vouched_resolver),
		cmocka_unit_test(test_partial_needs_protected),
		cmocka_unit_test(test_partial_round_trip),
		cmocka_unit_test(test_pairs),
		cmocka_unit_test(test_site_in_after_pairs),
		cmocka_unit_test(test_no_pairs),
		cmocka_unit_test(test_nested_pairs),
		cmocka_unit_test(test_pairs_names_checked),
		cmocka_unit_test(test_cidr_contains),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
