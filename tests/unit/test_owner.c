// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The reader of watch's fast path for endpoint changes (src/kernel/nft_owner.c):
 * what ks_compile_endpoint_change writes comes back as the very elements
 * endpoint add|del sends without watch; anything else is refused (and left
 * to libnftables).
 */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "killswitch/endpoint_change.h"
#include "killswitch/nft.h"
#include "../../src/kernel/nft_owner.h"

static struct ks_endpoint ep(const char *text)
{
	struct ks_endpoint e;

	assert_int_equal(ks_parse_endpoint(text, &e), 0);
	return e;
}

static void assert_elem(const struct ks_nft_elem *got, const struct ks_nft_elem *want)
{
	assert_string_equal(got->set, want->set);
	assert_int_equal(got->len, want->len);
	assert_memory_equal(got->key, want->key, want->len);
}

/* The table's and the guard's lines of one change, as the command sends them to watch. */
static void round_trip(bool add)
{
	struct ks_endpoint eps[] = { ep("192.0.2.1:51820"), ep("[2001:db8::1]:443/tcp"), ep("198.51.100.7:1194/udp") };
	struct ks_addr addrs[] = { eps[0].addr, eps[1].addr };
	struct ks_endpoint_change change = { .add = add, .eps = eps, .n = 3, .addrs = addrs, .n_addrs = 2 };
	struct ks_buf text = KS_BUF_INIT;
	struct ks_nft_parsed_change parsed;
	struct ks_nft_elem want;

	assert_int_equal(ks_compile_endpoint_change(&change, "killswitch", false, &text), 0);
	assert_int_equal(ks_compile_endpoint_change(&change, "killswitch", true, &text), 0);
	assert_int_equal(ks_nft_parse_element_change(text.data, &parsed), 0);
	assert_true(parsed.add == add);
	/* Per table: endpoints4 (2), endpoints6 (1), endpoint_addrs4 (1), endpoint_addrs6 (1). */
	assert_int_equal(parsed.n_lines, 8);
	assert_int_equal(parsed.n, 10);
	for (size_t t = 0; t < 2; t++) {
		const struct ks_nft_parsed_line *l = &parsed.lines[t * 4];

		for (size_t i = 0; i < 4; i++)
			assert_string_equal(l[i].table, t ? "killswitch_guard" : "killswitch");
		assert_int_equal(l[0].n, 2);
		ks_nft_endpoint_elem(&eps[0], &want);
		assert_elem(&parsed.elems[l[0].first], &want);
		ks_nft_endpoint_elem(&eps[2], &want);
		assert_elem(&parsed.elems[l[0].first + 1], &want);
		assert_int_equal(l[1].n, 1);
		ks_nft_endpoint_elem(&eps[1], &want);
		assert_elem(&parsed.elems[l[1].first], &want);
		ks_nft_endpoint_addr_elem(&addrs[0], &want);
		assert_elem(&parsed.elems[l[2].first], &want);
		ks_nft_endpoint_addr_elem(&addrs[1], &want);
		assert_elem(&parsed.elems[l[3].first], &want);
	}
	ks_nft_parsed_change_free(&parsed);
	ks_buf_free(&text);
}

static void test_round_trip_add(void **state)
{
	(void)state;
	round_trip(true);
}

static void test_round_trip_del(void **state)
{
	(void)state;
	round_trip(false);
}

/* Every text that is not exactly such a change goes to libnftables. */
static void test_refused(void **state)
{
	static const char *const texts[] = {
		"",
		"flush ruleset\n",
		"add element inet killswitch endpoints4 { 192.0.2.1 . udp . 51820 }",	 /* no newline */
		"add element inet killswitch endpoints4 { 192.0.2.1 . udp . 51820 }\nflush ruleset\n",
		"add element inet killswitch lan4 { 192.0.2.0/24 }\n",			 /* not an endpoint set */
		"add element inet killswitch endpoints4 { 2001:db8::1 . udp . 51820 }\n", /* family */
		"add element inet killswitch endpoint_addrs6 { 192.0.2.1 }\n",
		"add element inet killswitch endpoints4 { 192.0.2.1 . icmp . 51820 }\n",
		"add element inet killswitch endpoints4 { 192.0.2.1 . udp . 65536 }\n",
		"add element inet killswitch endpoints4 { 192.0.2.1 . udp }\n",
		"add element inet killswitch endpoints4 { 192.0.2.1 . udp . 1 . 2 }\n",
		"add element inet killswitch endpoints4 { 192.0.2.1 . udp . 51820, }\n",
		"add element inet killswitch endpoints4 {  }\n",
		"add element inet other endpoints4 { 192.0.2.1 . udp . 51820 }\n",	 /* not our table */
		"add element ip killswitch endpoints4 { 192.0.2.1 . udp . 51820 }\n",
		"replace element inet killswitch endpoints4 { 192.0.2.1 . udp . 51820 }\n",
		"add element inet killswitch endpoints4 { 192.0.2.1 . udp . 51820 }\n"
		"delete element inet killswitch_guard endpoints4 { 192.0.2.1 . udp . 51820 }\n", /* two verbs */
		"add element inet killswitch endpoint_addrs4 { 192.0.2.1 }\n"
		"add element inet killswitch endpoint_addrs4 { 192.0.2.2 }\n"
		"add element inet killswitch endpoint_addrs4 { 192.0.2.3 }\n"
		"add element inet killswitch endpoint_addrs4 { 192.0.2.4 }\n"
		"add element inet killswitch endpoint_addrs4 { 192.0.2.5 }\n"
		"add element inet killswitch endpoint_addrs4 { 192.0.2.6 }\n"
		"add element inet killswitch endpoint_addrs4 { 192.0.2.7 }\n"
		"add element inet killswitch endpoint_addrs4 { 192.0.2.8 }\n"
		"add element inet killswitch endpoint_addrs4 { 192.0.2.9 }\n", /* more lines than a change has */
	};
	struct ks_nft_parsed_change parsed;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		if (ks_nft_parse_element_change(texts[i], &parsed) != -EINVAL)
			fail_msg("accepted: '%s'", texts[i]);
		assert_null(parsed.elems);
		assert_int_equal(parsed.n, 0);
	}
	/* The control: one of them, made right, is read. */
	assert_int_equal(ks_nft_parse_element_change("add element inet killswitch endpoints4 { 192.0.2.1 . udp . 51820 }\n",
						     &parsed),
			 0);
	assert_int_equal(parsed.n, 1);
	ks_nft_parsed_change_free(&parsed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_add),
		cmocka_unit_test(test_round_trip_del),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
