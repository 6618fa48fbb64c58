// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The guard's text (ks_compile_guard_transaction, ks_compile_guard_removal)
 * and the endpoint change (ks_endpoint_change_plan, ks_compile_endpoint_change):
 * the guard refuses exactly what the table refuses, and a change reaches
 * the same elements in both.
 */
#include <errno.h>

#include "killswitch/endpoint_change.h"
#include "unit.h"

#define ARGS_ALL                                                                                                \
	"--tunnel", "wg0", "--endpoint", "198.51.100.10:51820", "--endpoint", "[2001:db8::1]:443/tcp", "--dns", \
		"10.64.0.1", "--dns", "fd00:64::1", "--allow-lan", "--lan", "100.64.0.0/10"

static const char *const filter_chains[] = { "prerouting", "output", "input", "forward" };

static char *steal(struct ks_buf *buf)
{
	char *text = ks_buf_steal(buf);

	assert_non_null(text);
	return text;
}

/* The table's and the guard's transactions for policy; the guard's text starts after the table's. */
static void both(const struct ks_policy *policy, bool persist, char **table, char **guard)
{
	struct ks_buf a = KS_BUF_INIT, b = KS_BUF_INIT;

	assert_int_equal(ks_compile_transaction(policy, KS_TABLE_NAME, &a), 0);
	assert_int_equal(ks_compile_guard_transaction(policy, KS_TABLE_NAME, persist, &b), 0);
	*table = steal(&a);
	*guard = steal(&b);
}

static void assert_same_filter_chains(const char *table, const char *guard)
{
	for (size_t i = 0; i < ARRAY_SIZE(filter_chains); i++) {
		char *t = chain_or_null(table, filter_chains[i]), *g = chain_or_null(guard, filter_chains[i]);

		assert_non_null(t);
		assert_non_null(g);
		assert_string_equal(g, t);
		free(t);
		free(g);
	}
	/* Marking and NAT stay in the table: a second masquerade or mark would only cost. */
	assert_non_null(strstr(table, "\n\tchain mangle {\n"));
	assert_null(strstr(guard, "\n\tchain mangle {\n"));
	assert_null(strstr(guard, "\n\tchain nat {\n"));
	assert_null(strstr(guard, "\n\tchain excluded {\n"));
}

static void test_guard_same_verdicts(void **state)
{
	enum ks_state states[] = { KS_STATE_ENABLED, KS_STATE_BLOCKED };
	struct ks_policy policy;
	char *table, *guard;

	(void)state;
	policy_from_args(&policy, ARGS(ARGS_ALL));
	/* Split tunnelling on, with users' groups: its accept is in the filter chains, its marks are not. */
	policy.split.mode = KS_SPLIT_V2;
	strcpy(policy.split.path, "unified/killswitch-exclude");
	policy.split.level = 1;
	assert_int_equal(ks_policy_add_user_group(&policy, "unified/user.slice/user-1000.slice/killswitch-exclude"), 0);
	for (size_t s = 0; s < ARRAY_SIZE(states); s++) {
		policy.state = states[s];
		both(&policy, false, &table, &guard);
		assert_same_filter_chains(table, guard);
		assert_null(strstr(guard, KS_SET_EXCLUDED_USERS));
		if (states[s] == KS_STATE_ENABLED) {
			assert_non_null(strstr(guard, "\t\tct mark 0x4b53 accept\n"));
			assert_non_null(strstr(guard, "comment \"killswitch guard: enabled\""));
		} else {
			assert_non_null(strstr(guard, "comment \"killswitch guard: blocked\""));
		}
		free(table);
		free(guard);
	}
	ks_policy_free(&policy);
}

/* Owned from its first line: created owned (or adopted), deleted, created whole and owned. */
static void test_guard_owned(void **state)
{
	static const char head[] = "table inet killswitch_guard { flags owner; }\n"
				   "delete table inet killswitch_guard\n"
				   "table inet killswitch_guard {\n\tflags owner\n";
	static const char head_persist[] = "table inet killswitch_guard { flags owner, persist; }\n"
					   "delete table inet killswitch_guard\n"
					   "table inet killswitch_guard {\n\tflags owner, persist\n";
	struct ks_policy policy;
	char *table, *guard;

	(void)state;
	policy_from_args(&policy, ARGS(ARGS_ALL));
	both(&policy, false, &table, &guard);
	assert_memory_equal(guard, head, strlen(head));
	/* The table itself is never owned: it must outlive watch. */
	assert_null(strstr(table, "owner"));
	free(table);
	free(guard);
	both(&policy, true, &table, &guard);
	assert_memory_equal(guard, head_persist, strlen(head_persist));
	free(table);
	free(guard);
	ks_policy_free(&policy);
}

static void test_guard_names(void **state)
{
	char name[KS_GUARD_NAME_LEN];
	struct ks_buf buf = KS_BUF_INIT;
	struct ks_policy policy;
	char *text;

	(void)state;
	assert_int_equal(ks_guard_name("killswitch", name), 0);
	assert_string_equal(name, "killswitch_guard");
	assert_int_equal(ks_guard_name("killswitch_abcdefghijklmnopqrstu", name), 0);
	assert_string_equal(name, "killswitch_abcdefghijklmnopqrstu_guard");
	assert_int_equal(ks_guard_name("firewalld", name), -EINVAL);
	assert_int_equal(ks_guard_name("killswitch; flush ruleset", name), -EINVAL);
	policy_from_args(&policy, ARGS(ARGS_ALL));
	assert_int_equal(ks_compile_guard_transaction(&policy, "killswitch x", false, &buf), -EINVAL);
	ks_policy_free(&policy);

	assert_int_equal(ks_compile_guard_removal(KS_TABLE_NAME, true, false, &buf), 0);
	assert_int_equal(ks_compile_guard_removal(KS_TABLE_NAME, false, false, &buf), 0);
	text = steal(&buf);
	assert_string_equal(text, "table inet killswitch_guard { flags owner; }\n"
				  "delete table inet killswitch_guard\n"
				  "table inet killswitch_guard\n"
				  "delete table inet killswitch_guard\n");
	free(text);
}

static struct ks_endpoint endpoint(const char *text)
{
	struct ks_endpoint ep;

	assert_int_equal(ks_parse_endpoint(text, &ep), 0);
	return ep;
}

/* Only what changes, once; an address goes into (out of) its set with its first (last) endpoint. */
static void test_endpoint_change_plan(void **state)
{
	struct ks_endpoint_change change;
	struct ks_policy policy;
	struct ks_endpoint asked[] = {
		endpoint("198.51.100.10:51820"), /* present */
		endpoint("198.51.100.10:443"),	 /* new, its address in use */
		endpoint("192.0.2.1:51820"),	 /* new address */
		endpoint("192.0.2.1:51820"),	 /* twice */
		endpoint("[2001:db8::2]:51820"), /* new address */
	};
	struct ks_endpoint gone[] = {
		endpoint("198.51.100.10:51820"), /* present, the address's only endpoint */
		endpoint("[2001:db8::1]:443/tcp"),
		endpoint("192.0.2.9:1"), /* absent */
	};
	char addr[KS_ADDR_STRLEN];

	(void)state;
	policy_from_args(&policy, ARGS(ARGS_ALL));
	assert_int_equal(ks_endpoint_change_plan(&policy, asked, ARRAY_SIZE(asked), true, &change), 0);
	assert_int_equal(change.n, 3);
	assert_memory_equal(&change.eps[0], &asked[1], sizeof(asked[1]));
	assert_memory_equal(&change.eps[1], &asked[2], sizeof(asked[2]));
	assert_memory_equal(&change.eps[2], &asked[4], sizeof(asked[4]));
	assert_int_equal(change.n_addrs, 2);
	ks_format_addr(&change.addrs[0], addr);
	assert_string_equal(addr, "192.0.2.1");
	ks_format_addr(&change.addrs[1], addr);
	assert_string_equal(addr, "2001:db8::2");
	/* Applied, the policy holds them; planned again, nothing is left to add. */
	assert_int_equal(ks_endpoint_change_apply(&policy, &change), 0);
	assert_int_equal(policy.n_endpoints, 5);
	ks_endpoint_change_free(&change);
	assert_int_equal(ks_endpoint_change_plan(&policy, asked, ARRAY_SIZE(asked), true, &change), 0);
	assert_int_equal(change.n, 0);
	assert_int_equal(change.n_addrs, 0);
	ks_endpoint_change_free(&change);

	/* 198.51.100.10 keeps its :443: its address stays. */
	assert_int_equal(ks_endpoint_change_plan(&policy, gone, ARRAY_SIZE(gone), false, &change), 0);
	assert_int_equal(change.n, 2);
	assert_int_equal(change.n_addrs, 1);
	ks_format_addr(&change.addrs[0], addr);
	assert_string_equal(addr, "2001:db8::1");
	assert_int_equal(ks_endpoint_change_apply(&policy, &change), 0);
	assert_int_equal(policy.n_endpoints, 3);
	ks_endpoint_change_free(&change);
	ks_policy_free(&policy);
}

/* The same elements in the table and the guard, as nftables text. */
static void test_endpoint_change_text(void **state)
{
	struct ks_endpoint asked[] = { endpoint("192.0.2.1:51820"), endpoint("[2001:db8::2]:443/tcp"),
				       endpoint("192.0.2.2:1") };
	struct ks_endpoint_change change;
	struct ks_buf buf = KS_BUF_INIT;
	struct ks_policy policy;
	char *text;

	(void)state;
	policy_from_args(&policy, ARGS("--tunnel", "wg0"));
	assert_int_equal(ks_endpoint_change_plan(&policy, asked, ARRAY_SIZE(asked), true, &change), 0);
	assert_int_equal(ks_compile_endpoint_change(&change, KS_TABLE_NAME, false, &buf), 0);
	assert_int_equal(ks_compile_endpoint_change(&change, KS_TABLE_NAME, true, &buf), 0);
	text = steal(&buf);
	assert_string_equal(text,
			    "add element inet killswitch endpoints4 { 192.0.2.1 . udp . 51820, 192.0.2.2 . udp . 1 }\n"
			    "add element inet killswitch endpoints6 { 2001:db8::2 . tcp . 443 }\n"
			    "add element inet killswitch endpoint_addrs4 { 192.0.2.1, 192.0.2.2 }\n"
			    "add element inet killswitch endpoint_addrs6 { 2001:db8::2 }\n"
			    "add element inet killswitch_guard endpoints4 { 192.0.2.1 . udp . 51820, 192.0.2.2 . udp . 1 }\n"
			    "add element inet killswitch_guard endpoints6 { 2001:db8::2 . tcp . 443 }\n"
			    "add element inet killswitch_guard endpoint_addrs4 { 192.0.2.1, 192.0.2.2 }\n"
			    "add element inet killswitch_guard endpoint_addrs6 { 2001:db8::2 }\n");
	free(text);
	change.add = false;
	assert_int_equal(ks_compile_endpoint_change(&change, KS_TABLE_NAME, true, &buf), 0);
	text = steal(&buf);
	assert_memory_equal(text, "delete element inet killswitch_guard endpoints4 { ", 50);
	free(text);
	assert_int_equal(ks_compile_endpoint_change(&change, "not-ours", false, &buf), -EINVAL);
	ks_buf_free(&buf);
	ks_endpoint_change_free(&change);
	ks_policy_free(&policy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guard_same_verdicts),   cmocka_unit_test(test_guard_owned),
		cmocka_unit_test(test_guard_names),	      cmocka_unit_test(test_endpoint_change_plan),
		cmocka_unit_test(test_endpoint_change_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
