// SPDX-License-Identifier: GPL-2.0-or-later
/* --include-only (issue 16, part 2): its options, its state keys, and its rules, asserted on the text. */
#include <errno.h>

#include "killswitch/compile.h"
#include "unit.h"

#define INCLUDE_V1                                                                                          \
	"tunnel wg0\nendpoint 198.51.100.10:51820\ndns 10.64.0.1\ninclude-only\n"                           \
	"include-group v1\ninclude-classid 0x4b490001\n"
#define INCLUDE_V2                                                                                          \
	"tunnel wg0\nendpoint 198.51.100.10:51820\ndns 10.64.0.1\ninclude-only\n"                           \
	"include-group v2\ninclude-cgroup unified/killswitch-include\ninclude-level 1\n"

#define SOCK_V1 "meta cgroup 0x4b490001"
#define SOCK_V2 "socket cgroupv2 level 1 \"unified/killswitch-include\""

static char *compile_file(const char *text)
{
	struct ks_policy policy;
	char *out;

	policy_from_file(&policy, text);
	out = compile_text(&policy);
	ks_policy_free(&policy);
	return out;
}

static int compile_status(const char *text)
{
	struct ks_buf buf = KS_BUF_INIT;
	struct ks_policy policy;
	int ret;

	policy_from_file(&policy, text);
	ret = ks_compile(&policy, KS_TABLE_NAME, &buf);
	ks_buf_free(&buf);
	ks_policy_free(&policy);
	return ret;
}

/* --include-only on the command line and in a file; it takes no value, refuses a gateway and the KI mark. */
static void test_options(void **state)
{
	static const struct refused_args refused[] = {
		{ { "--include-only=yes" }, "--include-only=yes" },
		{ { "--include-only", "--gateway", "eth1" }, "eth1" },
		{ { "--include-only", "--fwmark", "0x4b49" }, "0x4b49" },
	};
	struct ks_policy policy;

	(void)state;
	policy_from_args(&policy, ARGS("--tunnel", "wg0", "--include-only"));
	assert_true(policy.include_only);
	/* The group is the system's to find (apply), never the user's to give: off until then. */
	assert_int_equal(policy.include.mode, KS_SPLIT_OFF);
	assert_int_equal(policy.include.ct_mark, KS_INCLUDE_MARK);
	assert_int_equal(policy.include.classid, KS_INCLUDE_CLASSID);
	ks_policy_free(&policy);
	policy_from_args(&policy, ARGS("--tunnel", "wg0"));
	assert_false(policy.include_only);
	ks_policy_free(&policy);
	run_refused_args(refused, ARRAY_SIZE(refused), false, SAID_VALUE);
}

/* The state keys round-trip; a bad one is refused with its line and value; half a v2 group too. */
static void test_state_keys(void **state)
{
	static const struct file_error errors[] = {
		{ "include-group v3\n", 1, "v3" },
		{ "include-classid 0\n", 1, "0" },
		{ "include-cgroup ../etc\n", 1, "../etc" },
		{ "include-level 0\n", 1, "0" },
		{ "include-only yes\n", 1, "include-only yes" },
	};
	struct ks_policy policy, back;
	char *text;

	(void)state;
	policy_from_file(&policy, INCLUDE_V2);
	assert_true(policy.include_only);
	assert_int_equal(policy.include.mode, KS_SPLIT_V2);
	assert_int_equal(policy.include.level, 1);
	text = format_round_trip(&policy, &back);
	has(text, "include-only\n");
	has(text, "include-group v2\ninclude-cgroup unified/killswitch-include\ninclude-level 1\n");
	assert_string_equal(back.include.path, "unified/killswitch-include");
	free(text);
	ks_policy_free(&back);
	ks_policy_free(&policy);
	run_file_errors(ks_options_parse_file, errors, ARRAY_SIZE(errors));
}

/* A v2 group without its path is no group: refused when the file is read. */
static void test_state_half_group(void **state)
{
	struct ks_policy policy;
	char path[64], err[KS_ERR_LEN] = "";
	const char *text = "include-only\ninclude-group v2\n";

	(void)state;
	write_temp(text, strlen(text), path);
	ks_policy_init(&policy);
	assert_int_equal(ks_options_parse_file(&policy, path, err), -EINVAL);
	unlink(path);
	assert_quotes(err, "include-group v2");
	ks_policy_free(&policy);
}

/* Enabled: marked in mangle, masqueraded into the tunnel, DNS only to the resolvers, out only by a tunnel. */
static void test_enabled(void **state)
{
	char *text = compile_file(INCLUDE_V1), *out = chain(text, "output"), *post = chain(text, "included_post"),
	     *mangle = chain(text, "mangle"), *nat = chain(text, "nat"), *in = chain(text, "input"),
	     *pre = chain(text, "prerouting"), *inc = chain(text, "included");

	(void)state;
	has(mangle, SOCK_V1 " goto included");
	has(mangle, "ct mark 0x4b49 goto included");
	has(inc, "ct mark set 0x4b49 meta mark set 0x4b49");
	has(nat, "ct mark 0x4b49 oifname @tunnels masquerade");
	has(pre, "iifname @tunnels ct mark 0x4b49 meta mark set 0x4b49");
	/* Ahead of the tunnel's accept (P0a), which would end the chain before the replies get their mark. */
	before(pre, "iifname @tunnels ct mark 0x4b49 meta mark set 0x4b49", "iifname \"wg0\" accept");
	has(in, "iifname != @tunnels ct mark 0x4b49 counter name blocked_in drop");
	/* Loopback DNS refused before loopback is accepted: a local stub would forward it off the tunnel. */
	before(out, "oifname \"lo\" " SOCK_V1 " meta l4proto { tcp, udp } th dport { 53, 853 } counter name blocked_dns reject",
	       "oifname \"lo\" accept");
	/* Marked, the resolvers accepted before any other DNS is refused, then the rest accepted for postrouting. */
	before(out, SOCK_V1 " meta mark set 0x4b49", "meta mark 0x4b49 ip daddr @resolvers4");
	before(out, "meta mark 0x4b49 ip daddr @resolvers4 meta l4proto { tcp, udp } th dport 53 accept",
	       "meta mark 0x4b49 meta l4proto { tcp, udp } th dport { 53, 853 } counter name blocked_dns reject");
	before(out, "meta mark 0x4b49 meta l4proto { tcp, udp } th dport { 53, 853 } counter name blocked_dns reject",
	       "meta mark 0x4b49 accept");
	/* Before the fast lane and every accept of the others. */
	before(out, "meta mark 0x4b49 accept", "oifname \"wg0\" th dport != 53 th dport != 853 accept");
	/* The way out judged where the device is the real one. */
	before(post, "oifname \"lo\" accept", "meta mark 0x4b49 oifname @tunnels accept");
	before(post, "meta mark 0x4b49 oifname @tunnels accept", "meta mark 0x4b49 counter name blocked_out drop");
	/* The others: as --partial, the chain ends in accept; nothing is excluded. */
	assert_int_equal(strcmp(out + strlen(out) - strlen("\t\taccept\n"), "\t\taccept\n"), 0);
	lacks(text, "goto excluded");
	free(out);
	free(post);
	free(mangle);
	free(nat);
	free(in);
	free(pre);
	free(inc);
	free(text);
}

/* Blocked: the group refused in output, whatever the device; nothing accepted for it in postrouting. */
static void test_blocked(void **state)
{
	char *text = compile_file("state blocked\n" INCLUDE_V2), *out = chain(text, "output"),
	     *post = chain(text, "included_post");

	(void)state;
	has(out, SOCK_V2 " meta mark set 0x4b49");
	lacks(out, "@resolvers4 meta l4proto { tcp, udp } th dport 53 accept");
	lacks(out, "meta mark 0x4b49 accept");
	before(out, "meta mark 0x4b49 meta l4proto tcp counter name blocked_out reject with tcp reset",
	       "meta mark 0x4b49 counter name blocked_out reject with icmpx admin-prohibited");
	lacks(post, "oifname @tunnels accept");
	has(post, "meta mark 0x4b49 counter name blocked_out drop");
	free(out);
	free(post);
	free(text);
}

/* The guard holds the same filter chains, postrouting included, and no mangle or NAT. */
static void test_guard(void **state)
{
	struct ks_buf buf = KS_BUF_INIT;
	struct ks_policy policy;
	char *post;

	(void)state;
	policy_from_file(&policy, INCLUDE_V1);
	assert_int_equal(ks_compile_guard_transaction(&policy, KS_TABLE_NAME, false, &buf), 0);
	post = chain(buf.data, "included_post");
	has(post, "meta mark 0x4b49 counter name blocked_out drop");
	lacks(buf.data, "chain mangle");
	has(buf.data, SOCK_V1 " meta mark set 0x4b49");
	free(post);
	ks_buf_free(&buf);
	ks_policy_free(&policy);
}

/* Without a group, or without --include-only, no include rule at all; a group colliding with others refused. */
static void test_no_group_and_collisions(void **state)
{
	char *text = compile_file("tunnel wg0\ninclude-only\n");

	(void)state;
	lacks(text, "0x4b49");
	lacks(text, "included");
	free(text);
	text = compile_file("tunnel wg0\ninclude-group v1\n");
	lacks(text, "0x4b49");
	free(text);
	/* The exclusion group's classid, or a path nft would read as something else. */
	assert_int_equal(compile_status("tunnel wg0\ninclude-only\ninclude-group v1\ninclude-classid 0x4b530001\n"),
			 -EINVAL);
	assert_int_equal(compile_status("tunnel wg0\ninclude-only\ninclude-group v2\n"
					"include-cgroup unified/killswitch-include\ninclude-level 3\n"),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_state_keys),
		cmocka_unit_test(test_state_half_group),
		cmocka_unit_test(test_enabled),
		cmocka_unit_test(test_blocked),
		cmocka_unit_test(test_guard),
		cmocka_unit_test(test_no_group_and_collisions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
