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
	/* Forward is not the host's: nothing of theirs there, nor the prerouting mark (it would route it off the tunnel). */
	{
		char *fwd = chain(text, "forward"), *pre = chain(text, "prerouting");

		rule_at(pre, "iifname != @tunnels iifname != @gateways ct direction original fib daddr type { local, broadcast, multicast } meta l4proto . th dport "
			     "@allow_in meta mark set 0xca6c");
		rule_at(pre, "iifname != @tunnels iifname != @gateways ct direction original fib daddr type { local, broadcast, multicast } iifname . meta l4proto . "
			     "th dport @allow_in_if meta mark set 0xca6c");
		assert_null(strstr(pre, "original meta l4proto . th dport @allow_in meta mark"));
		free(pre);

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

/* No auto-merge: two adjacent /28s stay two elements; a range inside another of its set is left out. */
static void test_no_merge(void **state)
{
	char *text = compile_in(KS_STATE_ENABLED, ARGS(BASE, "--bypass", "198.51.100.64/28", "--bypass", "198.51.100.80/28",
						       "--bypass", "192.0.2.0/24", "--bypass", "192.0.2.16/28"));

	(void)state;
	assert_null(strstr(text, "auto-merge\n\t\telements = {\n\t\t\t192.0.2"));
	assert_non_null(strstr(text, "\tset bypass4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = {\n"
				     "\t\t\t192.0.2.0/24,\n\t\t\t198.51.100.64/28,\n\t\t\t198.51.100.80/28,\n\t\t}\n"));
	free(text);
}

/* The elements of set name in a compiled table, as "\nA\nB\n". */
static void set_elems(const char *text, const char *name, struct ks_buf *out)
{
	char head[64];
	const char *p, *end;

	ks_buf_puts(out, "\n");
	snprintf(head, sizeof(head), "\tset %s {\n", name);
	p = strstr(text, head);
	assert_non_null(p);
	end = strstr(p, "\n\t}\n");
	p = strstr(p, "\t\telements = {\n");
	if (!p || p > end)
		return;
	for (p += strlen("\t\telements = {\n"); strncmp(p, "\t\t}", 3); p = strchr(p, '\n') + 1) {
		size_t len = strcspn(p + 3, "\n");

		assert_int_equal(p[3 + len - 1], ',');
		ks_buf_printf(out, "%.*s\n", (int)len - 1, p + 3);
	}
}

/* Removes "\nelem\n" from list (must be there) or appends it (must not be). */
static void apply_elem(struct ks_buf *list, const char *elem, bool add)
{
	char needle[160];
	char *at;

	snprintf(needle, sizeof(needle), "\n%s\n", elem);
	at = strstr(list->data, needle);
	if (add) {
		if (at)
			fail_msg("added twice: %s", elem);
		ks_buf_printf(list, "%s\n", elem);
		return;
	}
	if (!at)
		fail_msg("deleted but absent: %s", elem);
	memmove(at + 1, at + strlen(needle), strlen(at + strlen(needle)) + 1);
	list->len -= strlen(needle) - 1;
}

/* The same elements, in any order. */
static void same_elems(const struct ks_buf *a, const struct ks_buf *b, const char *set)
{
	size_t na = 0, nb = 0;

	for (const char *p = a->data + 1; *p; p = strchr(p, '\n') + 1, na++) {
		char needle[160];

		snprintf(needle, sizeof(needle), "\n%.*s\n", (int)strcspn(p, "\n"), p);
		if (!strstr(b->data, needle))
			fail_msg("%s: %s missing after the change", set, needle + 1);
	}
	for (const char *p = b->data + 1; *p; p = strchr(p, '\n') + 1)
		nb++;
	if (na != nb)
		fail_msg("%s: %zu elements expected, %zu after the change", set, na, nb);
}

static const char *const change_sets[] = { "bypass4", "bypass6", "bypass_ports4", "bypass_ports6", "allow_in",
					   "allow_in_if" };

/*
 * The change turns the sets of the table compiled from before into those
 * of the one compiled from after: each delete removes an element there,
 * each add one not there (nft would refuse either otherwise), deletes first.
 */
static void check_change(struct ks_policy *before, struct ks_policy *after)
{
	char *was = compile_text(before), *want = compile_text(after);
	struct ks_buf change = KS_BUF_INIT;
	bool adding = false;

	assert_true(ks_exceptions_same_rules(before, after));
	assert_int_equal(ks_compile_exceptions_change(before, after, KS_TABLE_NAME, false, &change), 0);
	for (size_t s = 0; s < ARRAY_SIZE(change_sets); s++) {
		struct ks_buf have = KS_BUF_INIT, expect = KS_BUF_INIT;
		char head[2][64];

		if (!strstr(was, change_sets[s]))
			continue;
		set_elems(was, change_sets[s], &have);
		set_elems(want, change_sets[s], &expect);
		snprintf(head[0], sizeof(head[0]), "delete element inet %s %s { ", KS_TABLE_NAME, change_sets[s]);
		snprintf(head[1], sizeof(head[1]), "add element inet %s %s { ", KS_TABLE_NAME, change_sets[s]);
		for (const char *line = change.data ? change.data : ""; *line; line = strchr(line, '\n') + 1) {
			for (int add = 0; add < 2; add++) {
				const char *p = line + strlen(head[add]);

				if (strncmp(line, head[add], strlen(head[add])))
					continue;
				while (strncmp(p, " }\n", 3)) {
					size_t len = strcspn(p, ",}");
					char elem[128];

					snprintf(elem, sizeof(elem), "%.*s", (int)(p[len] == '}' ? len - 1 : len), p);
					apply_elem(&have, elem, add);
					p += p[len] == '}' ? len - 1 : len + 2;
				}
			}
		}
		same_elems(&expect, &have, change_sets[s]);
		ks_buf_free(&have);
		ks_buf_free(&expect);
	}
	for (const char *line = change.data ? change.data : ""; *line; line = strchr(line, '\n') + 1) {
		adding |= !strncmp(line, "add ", 4);
		if (adding && strncmp(line, "add ", 4))
			fail_msg("a delete after an add:\n%s", change.data);
	}
	ks_buf_free(&change);
	free(want);
	free(was);
}

/* The change's text, exactly. */
static void expect_change(struct ks_policy *before, struct ks_policy *after, bool guard, const char *text)
{
	struct ks_buf change = KS_BUF_INIT;

	assert_int_equal(ks_compile_exceptions_change(before, after, KS_TABLE_NAME, guard, &change), 0);
	assert_string_equal(change.data ? change.data : "", text);
	ks_buf_free(&change);
}

/* Two adjacent /28s: deleting one deletes exactly it, in the table and in the guard. */
static void test_change_adjacent(void **state)
{
	struct ks_policy two, one;

	(void)state;
	policy_from_args(&two, ARGS(BASE, "--bypass", "198.51.100.64/28", "--bypass", "198.51.100.80/28"));
	policy_from_args(&one, ARGS(BASE, "--bypass", "198.51.100.64/28"));
	expect_change(&two, &one, false, "delete element inet killswitch bypass4 { 198.51.100.80/28 }\n");
	expect_change(&two, &one, true, "delete element inet killswitch_guard bypass4 { 198.51.100.80/28 }\n");
	expect_change(&one, &two, false, "add element inet killswitch bypass4 { 198.51.100.80/28 }\n");
	check_change(&two, &one);
	check_change(&one, &two);
	ks_policy_free(&one);
	ks_policy_free(&two);
}

/* A range that covered others gives way to them in the same transaction: deleted first, then they are added. */
static void test_change_cover(void **state)
{
	struct ks_policy outer, inner;

	(void)state;
	policy_from_args(&outer, ARGS(BASE, "--bypass", "198.51.100.0/24", "--bypass", "198.51.100.16/28", "--bypass",
				      "198.51.100.0/24:443", "--bypass", "198.51.100.16/28:443/tcp"));
	policy_from_args(&inner, ARGS(BASE, "--bypass", "198.51.100.16/28", "--bypass", "198.51.100.16/28:443/tcp"));
	expect_change(&outer, &inner, false,
		      "delete element inet killswitch bypass4 { 198.51.100.0/24 }\n"
		      "delete element inet killswitch bypass_ports4 { 198.51.100.0/24 . tcp . 443, 198.51.100.0/24 . udp . 443 }\n"
		      "add element inet killswitch bypass4 { 198.51.100.16/28 }\n"
		      "add element inet killswitch bypass_ports4 { 198.51.100.16/28 . tcp . 443 }\n");
	check_change(&outer, &inner);
	check_change(&inner, &outer);
	ks_policy_free(&inner);
	ks_policy_free(&outer);
}

/* Every pair of a handful of lists: the change always turns one table's sets into the other's. */
static void test_change_pairs(void **state)
{
	static const char *const entries[] = { "198.51.100.0/24", "198.51.100.16/28", "198.51.100.32/28",
					       "198.51.100.0/24:443", "198.51.100.16/28:443/tcp", "[2001:db8::/48]",
					       "[2001:db8::/64]:80/udp", "[2001:db8::/48]:80" };
	static const char *const ins[] = { "22/tcp", "22", "5353/udp@eth1", "5353@eth1", "23/udp@eth2" };
	unsigned pairs = 0;

	(void)state;
	for (unsigned a = 1; a < 1u << ARRAY_SIZE(entries); a += 7)
		for (unsigned b = 1; b < 1u << ARRAY_SIZE(entries); b += 11) {
			struct ks_policy p[2];
			unsigned masks[2] = { a, b };

			for (int k = 0; k < 2; k++) {
				policy_from_args(&p[k], ARGS(BASE));
				for (size_t i = 0; i < ARRAY_SIZE(entries); i++) {
					struct ks_bypass e;

					if (!(masks[k] & (1u << i)))
						continue;
					assert_int_equal(ks_parse_bypass(entries[i], &e), 0);
					assert_int_equal(ks_policy_add_bypass(&p[k], &e), 0);
				}
				for (size_t i = 0; i < ARRAY_SIZE(ins); i++) {
					struct ks_allow_in e;

					if (!((masks[k] >> 1) & (1u << i)) && i)
						continue;
					assert_int_equal(ks_parse_allow_in(ins[i], &e), 0);
					assert_int_equal(ks_policy_add_allow_in(&p[k], &e), 0);
				}
				ks_policy_finalize(&p[k]);
			}
			check_change(&p[0], &p[1]);
			pairs++;
			ks_policy_free(&p[0]);
			ks_policy_free(&p[1]);
		}
	assert_true(pairs > 500);
}

/*
 * When the sets come or go (the first entry, the last), the rules differ:
 * no element change, the table is applied again. Blocked has no bypass
 * sets: a bypass change there changes no element.
 */
static void test_change_rules(void **state)
{
	struct ks_policy none, some, blocked_none, blocked_some;
	struct ks_buf change = KS_BUF_INIT;

	(void)state;
	policy_from_args(&none, ARGS(BASE, "--allow-in", "22/tcp"));
	policy_from_args(&some, ARGS(BASE, "--allow-in", "22/tcp", "--bypass", "198.51.100.0/24"));
	assert_false(ks_exceptions_same_rules(&none, &some));
	assert_false(ks_exceptions_same_rules(&some, &none));
	assert_int_equal(ks_compile_exceptions_change(&none, &some, KS_TABLE_NAME, false, &change), -EINVAL);
	assert_int_equal(change.len, 0);
	policy_from_args(&blocked_none, ARGS(BASE, "--allow-in", "22/tcp"));
	policy_from_args(&blocked_some, ARGS(BASE, "--allow-in", "22/tcp", "--bypass", "198.51.100.0/24"));
	blocked_none.state = blocked_some.state = KS_STATE_BLOCKED;
	assert_true(ks_exceptions_same_rules(&blocked_none, &blocked_some));
	expect_change(&blocked_none, &blocked_some, false, "");
	ks_policy_free(&blocked_none);
	ks_policy_free(&blocked_some);
	/* The last allow-in goes: its sets and rules with it. */
	ks_policy_free(&none);
	policy_from_args(&none, ARGS(BASE, "--bypass", "198.51.100.0/24"));
	assert_false(ks_exceptions_same_rules(&some, &none));
	/* A bad table name is refused, as by ks_compile. */
	assert_int_equal(ks_compile_exceptions_change(&some, &some, "bad name", false, &change), -EINVAL);
	ks_policy_free(&none);
	ks_policy_free(&some);
	ks_buf_free(&change);
}

/* An interface name that could carry nft syntax never reaches the change's text. */
static void test_change_quotes(void **state)
{
	struct ks_policy before, after;
	struct ks_buf change = KS_BUF_INIT;

	(void)state;
	policy_from_args(&before, ARGS(BASE, "--allow-in", "22/tcp"));
	policy_from_args(&after, ARGS(BASE, "--allow-in", "22/tcp", "--allow-in", "23@eth1"));
	strcpy(after.allow_in[after.allow_in[0].iface[0] ? 0 : 1].iface, "e\"; flush");
	assert_int_equal(ks_compile_exceptions_change(&before, &after, KS_TABLE_NAME, false, &change), 0);
	assert_null(change.data ? strstr(change.data, "flush") : NULL);
	ks_policy_free(&before);
	ks_policy_free(&after);
	ks_buf_free(&change);
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
		cmocka_unit_test(test_no_merge),
		cmocka_unit_test(test_change_adjacent),
		cmocka_unit_test(test_change_cover),
		cmocka_unit_test(test_change_pairs),
		cmocka_unit_test(test_change_rules),
		cmocka_unit_test(test_change_quotes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
