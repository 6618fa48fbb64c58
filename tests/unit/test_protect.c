// SPDX-License-Identifier: GPL-2.0-or-later
/* Protected prefixes from the tunnel's own description: allowed IPs, interface addresses. */
#include <errno.h>

#include "killswitch/protect.h"
#include "killswitch/sources.h"
#include "unit.h"

/* ks_protect_from_allowed_ips() of the given CIDRs, as one string "a b c" ("" for none). */
static void expect_protected(const char *const *ips, size_t n, const char *want)
{
	struct ks_cidr in[8], *out = NULL;
	char got[512] = "", text[KS_CIDR_STRLEN];
	size_t n_out = 0;

	assert_true(n <= ARRAY_SIZE(in));
	for (size_t i = 0; i < n; i++)
		assert_int_equal(ks_parse_cidr(ips[i], &in[i]), 0);
	assert_int_equal(ks_protect_from_allowed_ips(in, n, &out, &n_out), 0);
	for (size_t i = 0; i < n_out; i++) {
		ks_format_cidr(&out[i], text);
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "", text);
	}
	free(out);
	assert_string_equal(got, want);
}
#define PROTECTED(want, ...) \
	expect_protected((const char *const[]){ __VA_ARGS__ }, ARRAY_SIZE(((const char *const[]){ __VA_ARGS__ })), want)

static void test_allowed_ips(void **state)
{
	(void)state;
	/* A full tunnel protects nothing of itself, however it is written. */
	PROTECTED("", "0.0.0.0/0", "::/0");
	PROTECTED("", "0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1");
	PROTECTED("", "0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1");
	/* ... but a network listed inside it is the VPN's own. */
	PROTECTED("10.10.13.0/24 fd00:13::/64", "0.0.0.0/0", "10.10.13.0/24", "::/0", "fd00:13::/64");
	PROTECTED("10.10.13.0/24", "0.0.0.0/1", "128.0.0.0/1", "10.10.13.0/24");
	/* A split-include tunnel protects what it carries, once each. */
	PROTECTED("10.10.13.0/24 192.168.2.0/24", "10.10.13.0/24", "192.168.2.0/24", "10.10.13.0/24");
	/* Half the space is not all of it; a full IPv4 says nothing about IPv6. */
	PROTECTED("0.0.0.0/1", "0.0.0.0/1");
	PROTECTED("2000::/3", "0.0.0.0/0", "2000::/3");
	/* A gap anywhere (here 64.0.0.0/2) means not everything. */
	PROTECTED("0.0.0.0/2 128.0.0.0/1", "0.0.0.0/2", "128.0.0.0/1");
	PROTECTED("10.66.0.2/32", "10.66.0.2/32");
	PROTECTED("", "0.0.0.0/0");
}

static void from_address(const char *addr, unsigned prefix, int want_ret, const char *want)
{
	struct ks_addr a;
	struct ks_cidr c;
	char text[KS_CIDR_STRLEN];

	assert_int_equal(ks_parse_addr(addr, &a), 0);
	assert_int_equal(ks_protect_from_address(&a, prefix, &c), want_ret);
	if (want_ret)
		return;
	ks_format_cidr(&c, text);
	assert_string_equal(text, want);
}

static void test_address(void **state)
{
	(void)state;
	from_address("10.66.0.2", 24, 0, "10.66.0.0/24");
	from_address("10.66.1.130", 25, 0, "10.66.1.128/25");
	from_address("10.66.0.2", 31, 0, "10.66.0.2/31");
	from_address("fd00:66::2", 64, 0, "fd00:66::/64");
	from_address("fd00:66::ff:fa02", 117, 0, "fd00:66::ff:f800/117");
	/* The host's own address, and nothing at all, protect nothing. */
	from_address("10.66.0.2", 32, -EDOM, NULL);
	from_address("fd00:66::2", 128, -EDOM, NULL);
	from_address("10.66.0.2", 0, -EDOM, NULL);
	from_address("10.66.0.2", 33, -EDOM, NULL);
}

/* The UAPI reply carries each peer's allowed IPs; a bad one is refused, quoted. */
static void test_uapi_allowed_ips(void **state)
{
	struct ks_wg_device dev;
	char err[KS_ERR_LEN] = "", text[KS_CIDR_STRLEN];

	(void)state;
	assert_int_equal(ks_wg_uapi_parse("public_key=aa\nendpoint=192.0.2.1:51820\nallowed_ip=10.10.13.0/24\n"
					  "allowed_ip=fd00:13::/64\npublic_key=bb\nallowed_ip=192.168.2.0/24\nerrno=0\n\n",
					  &dev, err),
			 0);
	assert_int_equal(dev.n_allowed_ips, 3);
	ks_format_cidr(&dev.allowed_ips[1], text);
	assert_string_equal(text, "fd00:13::/64");
	ks_format_cidr(&dev.allowed_ips[2], text);
	assert_string_equal(text, "192.168.2.0/24");
	ks_wg_device_free(&dev);
	assert_int_equal(dev.n_allowed_ips, 0);

	assert_int_equal(ks_wg_uapi_parse("allowed_ip=10.10.13.1/24\nerrno=0\n\n", &dev, err), -EINVAL);
	assert_quotes(err, "10.10.13.1/24");
	ks_wg_device_free(&dev);
	assert_int_equal(ks_wg_uapi_parse("allowed_ip=10.0.0.0/8 }; flush ruleset\nerrno=0\n\n", &dev, err), -EINVAL);
	assert_quotes(err, "10.0.0.0/8 }; flush ruleset");
	ks_wg_device_free(&dev);
}

/*
 * Protected destinations are refused off the tunnel before every accept that
 * could let them out (LAN, vouched resolvers, --ipv6 allow), in output and
 * forward, and protected sources dropped in input and forward, in every
 * state; excluded programs keep them in the tunnel.
 */
static void test_protected_rules(void **state)
{
	enum ks_state states[] = { KS_STATE_ENABLED, KS_STATE_BLOCKED };

	(void)state;
	for (size_t s = 0; s < ARRAY_SIZE(states); s++) {
		struct ks_policy policy;
		char *text, *out, *in, *fwd, *ex;

		policy_from_args(&policy, ARGS("--tunnel", "wg0", "--endpoint", "198.51.100.10:51820", "--dns",
					       "192.168.1.53", "--lan", "192.168.1.0/24", "--allow-lan", "--ipv6", "allow",
					       "--protect", "10.66.0.0/24", "--protect", "fd00:66::/64"));
		policy.state = states[s];
		policy.split.mode = KS_SPLIT_V1;
		text = compile_text(&policy);
		assert_non_null(strstr(text, "\tset protected4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n"
					     "\t\tauto-merge\n\t\telements = {\n\t\t\t10.66.0.0/24,\n"));
		assert_non_null(strstr(text, "\t\t\tfd00:66::/64,\n"));
		out = chain_of(text, "output");
		in = chain_of(text, "input");
		fwd = chain_of(text, "forward");
		before(out, "oifname != @tunnels ip daddr @protected4 counter name blocked_out reject",
		       "ip daddr @lan4 accept");
		before(out, "oifname != @tunnels ip daddr @protected4", "ip daddr @lan_vouched4");
		before(out, "oifname != @tunnels ip6 daddr @protected6 counter name blocked_out reject",
		       "meta nfproto ipv6 accept");
		/* The VPN's own packets first: it never sends them to the tunnel's networks. */
		before(out, "@endpoints4 accept", "@protected4");
		before(in, "iifname != @tunnels ip saddr @protected4 counter name blocked_in drop", "ip saddr @lan4 accept");
		before(in, "iifname != @tunnels ip6 saddr @protected6 counter name blocked_in drop",
		       "meta nfproto ipv6 ct state established,related accept");
		before(fwd, "oifname != @tunnels ip daddr @protected4 counter name blocked_fwd reject",
		       "ip saddr @lan4 ip daddr @lan4 accept");
		before(fwd, "iifname != @tunnels ip saddr @protected4 counter name blocked_fwd drop",
		       "ip saddr @lan4 ip daddr @lan4 accept");
		if (states[s] == KS_STATE_ENABLED) {
			ex = chain_of(text, "excluded");
			before(ex, "ip daddr @protected4 return", "meta mark set");
			before(ex, "ip6 daddr @protected6 return", "meta mark set");
			free(ex);
		}
		free(out);
		free(in);
		free(fwd);
		free(text);
		ks_policy_free(&policy);
	}
}

/* --protect takes a CIDR, not everything; each prefix once, --protect before a derived one. */
static void test_protect_option(void **state)
{
	struct ks_policy policy;
	struct ks_cidr cidr;
	char err[KS_ERR_LEN] = "";

	(void)state;
	ks_policy_init(&policy);
	assert_int_equal(ks_options_parse_args(&policy, NULL, ARGS("--protect", "10.66.0.1/24"), err), -EINVAL);
	assert_quotes(err, "10.66.0.1/24");
	assert_int_equal(ks_options_parse_args(&policy, NULL, ARGS("--protect", "0.0.0.0/0"), err), -EINVAL);
	assert_quotes(err, "0.0.0.0/0");
	assert_int_equal(ks_options_parse_args(&policy, NULL, ARGS("--protect", "10.66.0.0/24 }"), err), -EINVAL);
	assert_quotes(err, "10.66.0.0/24 }");
	ks_policy_free(&policy);

	ks_policy_init(&policy);
	assert_int_equal(ks_parse_cidr("10.66.0.0/24", &cidr), 0);
	assert_int_equal(ks_policy_add_protect(&policy, &cidr, KS_PROTECT_TUNNEL, "wg0"), 0);
	assert_int_equal(ks_options_parse_args(&policy, NULL, ARGS("--protect", "10.66.0.0/24", "--protect",
								   "192.0.2.0/24"), err), 0);
	ks_policy_finalize(&policy);
	assert_int_equal(policy.n_protect, 2);
	assert_int_equal(policy.protect[0].source, KS_PROTECT_GIVEN);
	assert_string_equal(policy.protect[0].iface, "");
	ks_policy_drop_protect(&policy, KS_PROTECT_GIVEN);
	assert_int_equal(policy.n_protect, 0);
	ks_policy_free(&policy);
}

/* The state file keeps each prefix with its source and tunnel; read back, it formats the same. */
static void test_protect_round_trip(void **state)
{
	char *text;
	struct ks_policy policy, back;
	struct ks_cidr cidr;
	char path[64], err[KS_ERR_LEN] = "";

	(void)state;
	policy_from_args(&policy, ARGS("--tunnel", "wg0", "--protect", "172.20.0.0/16"));
	assert_int_equal(ks_parse_cidr("10.66.0.0/24", &cidr), 0);
	assert_int_equal(ks_policy_add_protect(&policy, &cidr, KS_PROTECT_TUNNEL, "wg0"), 0);
	assert_int_equal(ks_parse_cidr("fd00:13::/64", &cidr), 0);
	assert_int_equal(ks_policy_add_protect(&policy, &cidr, KS_PROTECT_ALLOWED_IPS, "wg.1-x"), 0);
	ks_policy_finalize(&policy);
	text = format_round_trip(&policy, &back);
	assert_non_null(strstr(text, "\nprotect 172.20.0.0/16\n"));
	assert_non_null(strstr(text, "\nprotect-tunnel 10.66.0.0/24 wg0\n"));
	assert_non_null(strstr(text, "\nprotect-allowed-ips fd00:13::/64 wg.1-x\n"));
	assert_int_equal(back.n_protect, 3);
	assert_memory_equal(back.protect, policy.protect, 3 * sizeof(*back.protect));
	free(text);
	ks_policy_free(&back);
	ks_policy_free(&policy);

	/* A derived prefix the command line cannot give, and a bad one in the file, are refused. */
	ks_policy_init(&policy);
	assert_int_equal(ks_options_parse_args(&policy, NULL, ARGS("--protect-tunnel", "10.66.0.0/24 wg0"), err),
			 -EINVAL);
	write_temp("protect-tunnel 10.66.0.0/24 wg0;x\n", 35, path);
	assert_int_equal(ks_options_parse_file(&policy, path, err), -EINVAL);
	unlink(path);
	assert_one_line(err);
	ks_policy_free(&policy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_ips),
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_uapi_allowed_ips),
		cmocka_unit_test(test_protected_rules),
		cmocka_unit_test(test_protect_option),
		cmocka_unit_test(test_protect_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
