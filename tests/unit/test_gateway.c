// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Gateway mode (--gateway IFACE, issue 14 part 3): the option, its state
 * file line, and the rules: forward refuses the gateway's clients off the
 * tunnel before any accept, drops their invalid packets, clamps the MSS;
 * nat masquerades them into the tunnel; nat_prerouting redirects their DNS
 * to the first resolver of each family; blocked refuses them everything
 * (with --partial: what it refuses the host); with --partial the other
 * site opens connections to them;
 * the guard holds the same forward chain but no NAT.
 */
#include "killswitch/schema.h"
#include "unit.h"

#define ARGS_GW                                                                                               \
	"--tunnel", "wg0", "--endpoint", "198.51.100.10:51820", "--dns", "10.64.0.1", "--dns", "10.64.0.2",   \
		"--dns", "fd00:64::1", "--gateway", "eth1", "--gateway", "br-lan", "--allow-lan", "--ipv6", "allow"

static void add_addr(struct ks_policy *policy, const char *text)
{
	struct ks_addr addr;

	assert_int_equal(ks_parse_unicast_addr(text, &addr), 0);
	assert_int_equal(ks_policy_add_tunnel_addr(policy, &addr), 0);
}

/* Enabled: the gateway's rules stand before every accept of forward, and NAT does its part. */
static void test_enabled_rules(void **state)
{
	struct ks_policy policy;
	char *text, *fwd, *nat, *pre, *out, *in;

	(void)state;
	policy_from_args(&policy, ARGS(ARGS_GW));
	add_addr(&policy, "10.66.0.2");
	add_addr(&policy, "fd00:66::2");
	ks_policy_finalize(&policy);
	text = compile_text(&policy);
	has(text, "\tset gateways {\n\t\ttype ifname\n\t\telements = {\n\t\t\t\"br-lan\",\n\t\t\t\"eth1\",\n\t\t}\n\t}\n");
	fwd = chain_or_null(text, "forward");
	nat = chain_or_null(text, "nat");
	pre = chain_or_null(text, KS_CHAIN_NAT_PREROUTING);
	assert_non_null(fwd);
	assert_non_null(nat);
	assert_non_null(pre);
	/* First in forward: invalid state, then the refusals, then the clamp, then the accepts. */
	has(fwd, "policy drop;\n\t\tiifname @gateways ct state invalid counter name blocked_fwd drop\n");
	before(fwd, "iifname @gateways ct state invalid", "iifname @gateways oifname != @tunnels ip daddr != @lan4 meta");
	before(fwd, "iifname @gateways oifname != @tunnels ip daddr != @lan4 counter name blocked_fwd ct mark set 0x4b52 "
		    "reject with icmpx admin-prohibited",
	       "oifname \"wg0\" th dport != 53 th dport != 853 accept");
	before(fwd, "iifname @gateways oifname != @tunnels ip6 daddr != @lan6 counter", "meta nfproto ipv6 accept");
	before(fwd, "oifname @gateways iifname != @tunnels ip6 saddr != @lan6 counter name blocked_fwd drop",
	       "meta nfproto ipv6 accept");
	before(fwd, "oifname @gateways iifname != @tunnels ip saddr != @lan4 counter name blocked_fwd drop",
	       "ip saddr @lan4 ip daddr @lan4 accept");
	before(fwd, "iifname @gateways oifname @tunnels tcp flags syn tcp option maxseg size set rt mtu",
	       "oifname \"wg0\" th dport != 53 th dport != 853 accept");
	before(fwd, "iifname @tunnels oifname @gateways tcp flags syn tcp option maxseg size set rt mtu",
	       "iifname @tunnels ct state established,related accept");
	/* The router's DHCP server answers its clients, before any reject. */
	out = chain_or_null(text, "output");
	in = chain_or_null(text, "input");
	before(out, "oifname @gateways udp sport 67 udp dport 68 accept", "counter name blocked_dns reject");
	before(in, "iifname @gateways udp sport 68 udp dport 67 accept", "ip saddr @lan4 accept");
	free(out);
	free(in);
	/* The tunnel carries IPv6: the clients' IPv6 goes through it. */
	lacks(fwd, "iifname @gateways meta nfproto ipv6");
	has(nat, "\t\tiifname @gateways oifname @tunnels masquerade");
	/* The first resolver of each family (sorted: the lowest address), port 53 over UDP and TCP. */
	has(pre, "type nat hook prerouting priority dstnat; policy accept;\n");
	has(pre, "\t\tiifname @gateways meta nfproto ipv4 meta l4proto { tcp, udp } th dport 53 dnat ip to 10.64.0.1\n");
	has(pre, "\t\tiifname @gateways meta nfproto ipv6 meta l4proto { tcp, udp } th dport 53 dnat ip6 to fd00:64::1");
	lacks(pre, "10.64.0.2");
	lacks(pre, "853");
	free(fwd);
	free(nat);
	free(pre);
	free(text);
	ks_policy_free(&policy);
}

/* A tunnel without an IPv6 address: the clients' IPv6 is refused; without a v6 resolver, no v6 redirect. */
static void test_tunnel_without_ipv6(void **state)
{
	struct ks_policy policy;
	char *text, *fwd, *pre;

	(void)state;
	policy_from_args(&policy, ARGS("--tunnel", "wg0", "--dns", "10.64.0.1", "--gateway", "eth1"));
	add_addr(&policy, "10.66.0.2");
	ks_policy_finalize(&policy);
	text = compile_text(&policy);
	fwd = chain_or_null(text, "forward");
	pre = chain_or_null(text, KS_CHAIN_NAT_PREROUTING);
	before(fwd, "iifname @gateways meta nfproto ipv6 meta l4proto tcp counter name blocked_fwd ct mark set 0x4b52 "
		    "reject with tcp reset",
	       "oifname \"wg0\" th dport != 53 th dport != 853 accept");
	has(fwd, "iifname @gateways meta nfproto ipv6 counter name blocked_fwd ct mark set 0x4b52 reject with icmpx "
		 "admin-prohibited\n");
	has(pre, "dnat ip to 10.64.0.1");
	lacks(pre, "dnat ip6");
	free(fwd);
	free(pre);
	free(text);
	ks_policy_free(&policy);
}

/*
 * With --partial (a site joined to another through the tunnel): the clients'
 * other traffic leaves as routed, so no off-tunnel refusal and no inbound
 * drop for them; their protected destinations are refused off the tunnel by
 * the partial rules, and the invalid drop, the MSS clamp and IPv6 into a
 * tunnel without IPv6 stay.
 */
static void test_partial(void **state)
{
	struct ks_policy policy;
	char *text, *fwd, *nat;

	(void)state;
	policy_from_args(&policy, ARGS("--tunnel", "wg0", "--dns", "10.64.0.1", "--gateway", "eth1", "--partial",
				       "--protect", "192.168.2.0/24"));
	add_addr(&policy, "10.66.0.2");
	ks_policy_finalize(&policy);
	text = compile_text(&policy);
	fwd = chain_or_null(text, "forward");
	has(fwd, "iifname @gateways ct state invalid counter name blocked_fwd drop\n");
	has(fwd, "iifname @gateways oifname @tunnels tcp flags syn tcp option maxseg size set rt mtu\n");
	has(fwd, "iifname @gateways oifname @tunnels meta nfproto ipv6 counter name blocked_fwd");
	lacks(fwd, "iifname @gateways oifname != @tunnels ip daddr != @lan4");
	lacks(fwd, "oifname @gateways iifname != @tunnels ip saddr != @lan4");
	before(fwd, "iifname @gateways ct state invalid", "oifname != @tunnels ip daddr @protected4 counter name blocked_fwd reject");
	/*
	 * Site to site: the other site opens connections to the clients, from a
	 * protected source only, after the replies and before the tunnel's other
	 * new connections are refused; never to anything but the clients.
	 */
	before(fwd, "iifname @tunnels ct state established,related accept",
	       "iifname @tunnels oifname @gateways ip saddr @protected4 accept\n");
	before(fwd, "iifname @tunnels oifname @gateways ip saddr @protected4 accept\n",
	       "iifname @tunnels oifname @gateways ip6 saddr @protected6 accept\n");
	before(fwd, "iifname @tunnels oifname @gateways ip6 saddr @protected6 accept\n",
	       "iifname @tunnels meta l4proto tcp counter name blocked_fwd");
	/* Posers from off the tunnel were dropped before: the accept is for the tunnel's sources only. */
	before(fwd, "iifname != @tunnels ip saddr @protected4 counter name blocked_fwd drop",
	       "iifname @tunnels oifname @gateways ip saddr @protected4 accept\n");
	lacks(fwd, "iifname @tunnels accept");
	lacks(fwd, "iifname @tunnels oifname != @gateways");
	/* The clients still leave through the tunnel masqueraded (the contract): the far end knows our address. */
	nat = chain_or_null(text, "nat");
	has(nat, "iifname @gateways oifname @tunnels masquerade");
	free(nat);
	free(fwd);
	free(text);
	ks_policy_free(&policy);

	/* Without --gateway, --partial refuses every new connection from the tunnel, as before. */
	policy_from_args(&policy, ARGS("--tunnel", "wg0", "--dns", "10.64.0.1", "--partial", "--protect", "192.168.2.0/24"));
	text = compile_text(&policy);
	fwd = chain_or_null(text, "forward");
	lacks(fwd, "@gateways");
	has(fwd, "iifname @tunnels meta l4proto tcp counter name blocked_fwd");
	free(fwd);
	free(text);
	ks_policy_free(&policy);
}

/*
 * Blocked (and connecting) with --partial: for the clients what it means for
 * the host: the protected networks and the tunnel refused, the internet
 * untouched (forward ends in accept). Nothing from the tunnel reaches them,
 * not even from the other site; no NAT, no DNS redirect.
 */
static void test_partial_blocked(void **state)
{
	struct ks_policy policy;
	char *text, *fwd, *nat, *pre;

	(void)state;
	policy_from_args(&policy, ARGS("--tunnel", "wg0", "--endpoint", "198.51.100.10:51820", "--dns", "10.64.0.1",
				       "--gateway", "eth1", "--partial", "--protect", "192.168.2.0/24", "--state", "blocked"));
	text = compile_text(&policy);
	fwd = chain_or_null(text, "forward");
	nat = chain_or_null(text, "nat");
	pre = chain_or_null(text, KS_CHAIN_NAT_PREROUTING);
	has(fwd, "policy drop;\n\t\tiifname @gateways ct state invalid counter name blocked_fwd drop\n");
	lacks(fwd, "iifname @gateways meta l4proto tcp");
	lacks(fwd, "oifname @gateways counter name blocked_fwd drop");
	lacks(fwd, "ip saddr @protected4 accept");
	lacks(fwd, "maxseg");
	before(fwd, "oifname != @tunnels ip daddr @protected4 counter name blocked_fwd reject",
	       "oifname @tunnels meta l4proto tcp counter name blocked_fwd");
	before(fwd, "oifname @tunnels meta l4proto tcp counter name blocked_fwd",
	       "iifname @tunnels meta l4proto tcp counter name blocked_fwd");
	assert_non_null(strstr(fwd, "iifname @tunnels counter name blocked_fwd ct mark set 0x4b52 reject with icmpx admin-prohibited\n\t\taccept"));
	lacks(nat, "gateways");
	lacks(pre, "gateways");
	free(fwd);
	free(nat);
	free(pre);
	free(text);
	ks_policy_free(&policy);
}

/* Blocked (and connecting): the clients get nothing and nothing reaches them; no NAT, no redirect. */
static void test_blocked(void **state)
{
	struct ks_policy policy;
	char *text, *fwd, *nat, *pre;

	(void)state;
	policy_from_args(&policy, ARGS(ARGS_GW, "--state", "blocked"));
	text = compile_text(&policy);
	fwd = chain_or_null(text, "forward");
	nat = chain_or_null(text, "nat");
	pre = chain_or_null(text, KS_CHAIN_NAT_PREROUTING);
	has(fwd, "policy drop;\n\t\tiifname @gateways ct state invalid counter name blocked_fwd drop\n"
		 "\t\tiifname @gateways meta l4proto tcp counter name blocked_fwd ct mark set 0x4b52 reject with tcp reset\n"
		 "\t\tiifname @gateways counter name blocked_fwd ct mark set 0x4b52 reject with icmpx admin-prohibited\n"
		 "\t\toifname @gateways counter name blocked_fwd drop\n");
	lacks(fwd, "maxseg");
	/* The DHCP server still answers: the clients keep their addresses while blocked. */
	has(text, "iifname @gateways udp sport 68 udp dport 67 accept");
	has(text, "oifname @gateways udp sport 67 udp dport 68 accept");
	lacks(nat, "gateways");
	lacks(pre, "gateways");
	free(fwd);
	free(nat);
	free(pre);
	free(text);
	ks_policy_free(&policy);
}

/* Without --gateway: an empty set, an idle nat_prerouting (no hook, no rule), no rule names it. */
static void test_without_gateway(void **state)
{
	struct ks_policy policy;
	char *text, *pre;

	(void)state;
	policy_from_args(&policy, ARGS("--tunnel", "wg0", "--dns", "10.64.0.1"));
	text = compile_text(&policy);
	has(text, "\tset gateways {\n\t\ttype ifname\n\t}\n");
	assert_null(strstr(text, "@gateways"));
	pre = chain_or_null(text, KS_CHAIN_NAT_PREROUTING);
	assert_string_equal(pre, "\n\tchain nat_prerouting {");
	free(pre);
	free(text);
	ks_policy_free(&policy);
}

/* The guard has the table's forward chain, gateway rules included, but neither NAT chain nor redirect. */
static void test_guard(void **state)
{
	struct ks_buf a = KS_BUF_INIT, b = KS_BUF_INIT;
	struct ks_policy policy;
	char *table, *guard, *t, *g;

	(void)state;
	policy_from_args(&policy, ARGS(ARGS_GW));
	assert_int_equal(ks_compile_transaction(&policy, KS_TABLE_NAME, &a), 0);
	assert_int_equal(ks_compile_guard_transaction(&policy, KS_TABLE_NAME, false, &b), 0);
	table = ks_buf_steal(&a);
	guard = ks_buf_steal(&b);
	t = chain_or_null(table, "forward");
	g = chain_or_null(guard, "forward");
	assert_string_equal(g, t);
	has(g, "@gateways");
	has(guard, "\tset gateways {");
	assert_null(chain_or_null(guard, KS_CHAIN_NAT_PREROUTING));
	assert_null(chain_or_null(guard, "nat"));
	lacks(guard, "masquerade");
	lacks(guard, "dnat");
	free(t);
	free(g);
	free(table);
	free(guard);
	ks_policy_free(&policy);
}

/* The option: interface names only, not loopback, never a tunnel; each once, sorted. */
static void test_option(void **state)
{
	static const struct refused_args refused[] = {
		{ { "--gateway", "eth1 }" }, "eth1 }" },
		{ { "--gateway", "" }, "" },
		{ { "--gateway", "0123456789abcdef" }, "0123456789abcdef" },
		{ { "--gateway", "lo" }, "lo" },
		{ { "--tunnel", "wg0", "--gateway", "wg0" }, "wg0" },
		{ { "--gateway" }, "--gateway" },
	};
	struct ks_policy policy;

	(void)state;
	run_refused_args(refused, ARRAY_SIZE(refused), false, SAID_VALUE);
	policy_from_args(&policy, ARGS("--gateway", "eth1", "--gateway=br-lan", "--gateway", "eth1"));
	assert_int_equal(policy.n_gateways, 2);
	assert_string_equal(policy.gateways[0].name, "br-lan");
	assert_string_equal(policy.gateways[1].name, "eth1");
	ks_policy_free(&policy);
}

/* The compiler refuses a policy it was handed with a bad gateway name, or a gateway that is a tunnel. */
static void test_compiler_checks(void **state)
{
	const char *bad[] = { "eth1\"; flush ruleset", "lo", "wg0" };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct ks_buf buf = KS_BUF_INIT;
		struct ks_policy policy;

		ks_policy_init(&policy);
		assert_int_equal(ks_policy_add_tunnel(&policy, "wg0"), 0);
		assert_int_equal(ks_policy_add_gateway(&policy, bad[i]), 0);
		assert_int_equal(ks_compile(&policy, KS_TABLE_NAME, &buf), -EINVAL);
		assert_int_equal(buf.len, 0);
		ks_buf_free(&buf);
		ks_policy_free(&policy);
	}
}

/* The state file keeps the gateways; read back, the policy formats the same. */
static void test_round_trip(void **state)
{
	char *text;
	struct ks_policy policy, back;
	char path[64], err[KS_ERR_LEN] = "";

	(void)state;
	policy_from_args(&policy, ARGS(ARGS_GW));
	text = format_round_trip(&policy, &back);
	assert_non_null(strstr(text, "\ngateway br-lan\ngateway eth1\n"));
	assert_int_equal(back.n_gateways, 2);
	assert_memory_equal(back.gateways, policy.gateways, 2 * sizeof(*back.gateways));
	free(text);
	ks_policy_free(&back);
	ks_policy_free(&policy);

	/* A bad name in a policy file: refused with its line. */
	ks_policy_init(&policy);
	write_temp("gateway eth1;x\n", 15, path);
	assert_int_equal(ks_options_parse_file(&policy, path, err), -EINVAL);
	unlink(path);
	assert_one_line(err);
	assert_non_null(strstr(err, ":1: "));
	ks_policy_free(&policy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enabled_rules), cmocka_unit_test(test_tunnel_without_ipv6),
		cmocka_unit_test(test_blocked),	      cmocka_unit_test(test_without_gateway),
		cmocka_unit_test(test_guard),	      cmocka_unit_test(test_option),
		cmocka_unit_test(test_compiler_checks), cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_partial),	      cmocka_unit_test(test_partial_blocked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
