// SPDX-License-Identifier: GPL-2.0-or-later
/* The endpoint journal's format: its lines written, parsed and replayed, and the search of a mapped state file. */
#include <errno.h>
#include <sys/mman.h>

#include "killswitch/journal.h"
#include "unit.h"

static void expect_endpoint(const struct ks_endpoint *ep, const char *text)
{
	char out[KS_ENDPOINT_STRLEN];

	ks_format_endpoint(ep, out);
	assert_string_equal(out, text);
}

static struct ks_endpoint endpoint(const char *text)
{
	struct ks_endpoint ep;

	if (ks_parse_endpoint(text, &ep) < 0)
		fail_msg("bad endpoint in the test: '%s'", text);
	return ep;
}

/* The endpoints of policy, finalized, one "ENDPOINT\n" each. */
static char *endpoints_text(struct ks_policy *policy)
{
	struct ks_buf buf = KS_BUF_INIT;
	char text[KS_ENDPOINT_STRLEN];

	ks_policy_finalize(policy);
	ks_buf_puts(&buf, "");
	for (size_t i = 0; i < policy->n_endpoints; i++) {
		ks_format_endpoint(&policy->endpoints[i], text);
		ks_buf_printf(&buf, "%s\n", text);
	}
	assert_int_equal(buf.err, 0);
	return ks_buf_steal(&buf);
}

static void test_format(void **state)
{
	const struct ks_endpoint eps[] = { endpoint("192.0.2.1:51820"), endpoint("[2001:db8::1]:443/tcp") };
	struct ks_buf buf = KS_BUF_INIT;

	(void)state;
	ks_journal_format_marker(&buf, 3);
	ks_journal_format(&buf, eps, 2, true, 5);
	ks_journal_format(&buf, eps, 2, false, 3);
	ks_journal_format(&buf, eps, 0, true, 3);
	assert_int_equal(buf.err, 0);
	assert_string_equal(buf.data, "# endpoints above: 3; endpoint add|del append their changes below\n"
				      "endpoint-add 192.0.2.1:51820/udp # 4\n"
				      "endpoint-add [2001:db8::1]:443/tcp # 5\n"
				      "endpoint-del 192.0.2.1:51820/udp # 4\n"
				      "endpoint-del [2001:db8::1]:443/tcp # 3\n");
	ks_buf_free(&buf);
}

/* Parses text (its length by strlen) as one line, expecting a journal line. */
static struct ks_journal_change parse_ok(const char *text)
{
	struct ks_journal_change change;
	char err[KS_ERR_LEN] = "";
	int ret = ks_journal_parse_line(text, strlen(text), &change, err);

	if (ret != 1)
		fail_msg("%d for \"%s\": %s", ret, text, err);
	return change;
}

static void test_parse_line(void **state)
{
	static const struct {
		const char *line;
		bool add;
		const char *ep;
		bool counted;
		size_t count;
	} cases[] = {
		{ "endpoint-add 192.0.2.1:51820/udp # 4\n", true, "192.0.2.1:51820/udp", true, 4 },
		{ "endpoint-del [2001:db8::1]:443/tcp # 0\n", false, "[2001:db8::1]:443/tcp", true, 0 },
		{ "endpoint-add 192.0.2.1:51820\n", true, "192.0.2.1:51820/udp", false, 0 },
		{ "endpoint-add 192.0.2.1:51820 #\n", true, "192.0.2.1:51820/udp", false, 0 },
		{ "endpoint-add 192.0.2.1:51820 #4\n", true, "192.0.2.1:51820/udp", false, 0 },
		{ "endpoint-add 192.0.2.1:51820 # four\n", true, "192.0.2.1:51820/udp", false, 0 },
		{ "endpoint-add 192.0.2.1:51820 # 12 endpoints\n", true, "192.0.2.1:51820/udp", true, 12 },
		/* Every form a policy file line takes. */
		{ "  --endpoint-del = 192.0.2.1:1/tcp   # 7\r\n", false, "192.0.2.1:1/tcp", true, 7 },
		{ "endpoint-add=192.0.2.1:1\n", true, "192.0.2.1:1/udp", false, 0 },
		{ "\tendpoint-add\t192.0.2.1:1\t\n", true, "192.0.2.1:1/udp", false, 0 },
		/* The largest count there is, and one past it: not a count. */
		{ "endpoint-add 192.0.2.1:1 # 18446744073709551615\n", true, "192.0.2.1:1/udp", SIZE_MAX == UINT64_MAX,
		  SIZE_MAX == UINT64_MAX ? SIZE_MAX : 0 },
		{ "endpoint-add 192.0.2.1:1 # 18446744073709551616\n", true, "192.0.2.1:1/udp", false, 0 },
		{ "endpoint-add 192.0.2.1:1 # 99999999999999999999999999\n", true, "192.0.2.1:1/udp", false, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ks_journal_change change = parse_ok(cases[i].line);

		assert_int_equal(change.add, cases[i].add);
		assert_false(change.torn);
		expect_endpoint(&change.ep, cases[i].ep);
		if (change.counted != cases[i].counted)
			fail_msg("counted %d for \"%s\"", change.counted, cases[i].line);
		if (change.counted)
			assert_int_equal(change.count, cases[i].count);
	}
}

/* A line without its newline is being appended: torn, whatever follows the keyword. */
static void test_parse_torn(void **state)
{
	static const char *const lines[] = { "endpoint-add 192.0.2.1:51820/udp # 4", "endpoint-del 192.0.2.3:5",
					     "endpoint-del 192.0.", "endpoint-add 192.0.2.1:51820/udp #",
					     "endpoint-add [2001:db8::1]:443/tcp # 1\r" };
	const char whole[] = "endpoint-add 192.0.2.1:51820/udp # 4\n";

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
		assert_true(parse_ok(lines[i]).torn);
	/* A line is what the caller says: the same text cut before its newline is torn. */
	for (size_t len = strlen("endpoint-add 1"); len < sizeof(whole) - 1; len++) {
		struct ks_journal_change change;
		char err[KS_ERR_LEN];

		assert_int_equal(ks_journal_parse_line(whole, len, &change, err), 1);
		assert_true(change.torn);
	}
}

static void test_parse_other_lines(void **state)
{
	static const char *const lines[] = {
		"",
		"\n",
		"   \t\r\n",
		"# endpoint-add 192.0.2.1:51820\n",
		"# endpoints above: 3; endpoint add|del append their changes below\n",
		"endpoint 192.0.2.1:51820/udp\n",
		"endpoints-file /etc/endpoints\n",
		"endpoint-added 192.0.2.1:51820\n",
		"endpoint-ad 192.0.2.1:51820\n",
		"Endpoint-add 192.0.2.1:51820\n",
		"-endpoint-add 192.0.2.1:51820\n",
		"tunnel wg0\n",
		"endpoint",
	};
	struct ks_journal_change change;
	char err[KS_ERR_LEN] = "";

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
		if (ks_journal_parse_line(lines[i], strlen(lines[i]), &change, err) != 0)
			fail_msg("\"%s\" taken for a journal line", lines[i]);
	assert_int_equal(ks_journal_parse_line("x", 0, &change, err), 0);
	assert_string_equal(err, "");
}

/* Bad lines are refused with the value quoted, as the policy file loader reports them. */
static void test_parse_refused(void **state)
{
	static const struct {
		const char *line;
		const char *quoted;
	} cases[] = {
		{ "endpoint-del 192.0.2.1\n", "192.0.2.1" },
		{ "endpoint-add vpn.example.com:51820 # 3\n", "vpn.example.com:51820" },
		{ "endpoint-add 192.0.2.1:51820/sctp\n", "192.0.2.1:51820/sctp" },
		{ "endpoint-add 192.0.2.1:51820 192.0.2.2:51820\n", "192.0.2.1:51820 192.0.2.2:51820" },
		{ "endpoint-add 192.0.2.1:51820 } ; flush ruleset\n", "192.0.2.1:51820 } ; flush ruleset" },
		{ "endpoint-add 192.0.2.1:0\n", "192.0.2.1:0" },
		{ "endpoint-add [::]:1\n", "[::]:1" },
		{ "endpoint-add 192.0.2.1:51820\x1b[2J\n", "192.0.2.1:51820\x1b[2J" },
		{ "endpoint-add\n", "endpoint-add" },
		{ "--endpoint-del =  # 3\n", "--endpoint-del =" },
		/* Refused as any option without its value, whole or torn. */
		{ "endpoint-add", "endpoint-add" },
	};
	char longer[2048];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ks_journal_change change;
		char err[KS_ERR_LEN] = "";

		if (ks_journal_parse_line(cases[i].line, strlen(cases[i].line), &change, err) != -EINVAL)
			fail_msg("\"%s\" not refused", cases[i].line);
		assert_quotes(err, cases[i].quoted);
	}
	/* A long value is quoted cut short, on one line. */
	memset(longer, 'a', sizeof(longer));
	memcpy(longer, "endpoint-add 1", 14);
	longer[sizeof(longer) - 1] = '\n';
	{
		struct ks_journal_change change;
		char err[KS_ERR_LEN] = "";

		assert_int_equal(ks_journal_parse_line(longer, sizeof(longer), &change, err), -EINVAL);
		assert_one_line(err);
		assert_non_null(strstr(err, "aaaa...'"));
	}
	/* A NUL ends nothing: the endpoint before it is not taken for the value. */
	{
		static const char nul[] = "endpoint-add 192.0.2.1:51820\0junk # 3\n";
		struct ks_journal_change change;
		char err[KS_ERR_LEN] = "";

		assert_int_equal(ks_journal_parse_line(nul, sizeof(nul) - 1, &change, err), -EINVAL);
		assert_one_line(err);
	}
}

/* What ks_journal_format() writes, ks_journal_parse_line() reads back. */
static void test_round_trip(void **state)
{
	const struct ks_endpoint eps[] = { endpoint("192.0.2.1:1"), endpoint("[2001:db8::ffff:1]:65535/tcp"),
					   endpoint("[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:65535/tcp") };
	struct ks_buf buf = KS_BUF_INIT;

	(void)state;
	for (int add = 0; add < 2; add++) {
		const char *line;
		size_t i = 0;

		ks_journal_format(&buf, eps, ARRAY_SIZE(eps), add, 1000);
		assert_int_equal(buf.err, 0);
		for (line = buf.data; *line; line = strchr(line, '\n') + 1, i++) {
			struct ks_journal_change change;
			char err[KS_ERR_LEN] = "";

			assert_int_equal(ks_journal_parse_line(line, (size_t)(strchr(line, '\n') + 1 - line), &change, err),
					 1);
			assert_int_equal(change.add, add);
			assert_memory_equal(&change.ep, &eps[i], sizeof(eps[i]));
			assert_true(change.counted);
			assert_int_equal(change.count, add ? 1000 - 2 + i : 1000 + 2 - i);
		}
		assert_int_equal(i, ARRAY_SIZE(eps));
		ks_buf_free(&buf);
	}
}

/* Replays the journal lines of text (one a line) onto policy. */
static void replay_text(struct ks_policy *policy, const char *text)
{
	struct ks_journal_replay replay = { 0 };

	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl + 1 - line) : strlen(line);
		struct ks_journal_change change;
		char err[KS_ERR_LEN] = "";

		if (ks_journal_parse_line(line, len, &change, err) != 1)
			fail_msg("%s", err);
		assert_int_equal(ks_journal_replay(&replay, policy, &change), 0);
		line += len;
	}
	ks_journal_replay_end(&replay, policy);
	assert_null(replay.dels);
	assert_int_equal(replay.n_dels, 0);
}

/* A del drops what the lines before it hold, a later add brings one back, a torn line is not there yet. */
static void test_replay(void **state)
{
	struct ks_policy policy;
	char *text;

	(void)state;
	ks_policy_init(&policy);
	for (int i = 1; i <= 3; i++) {
		char name[32];
		struct ks_endpoint ep;

		snprintf(name, sizeof(name), "192.0.2.%d:51820", i);
		ep = endpoint(name);
		assert_int_equal(ks_policy_add_endpoint(&policy, &ep), 0);
	}
	replay_text(&policy, "endpoint-add 192.0.2.4:51820/udp # 4\n"
			     "endpoint-del 192.0.2.1:51820/udp # 3\n"
			     "endpoint-del 192.0.2.4:51820/udp # 2\n"
			     "endpoint-add [2001:db8::2]:443/tcp # 3\n"
			     "endpoint-del 192.0.2.2:51820/udp # 2\n"
			     "endpoint-add 192.0.2.2:51820/udp # 3\n"
			     "endpoint-del 198.51.100.9:1/udp # 3\n"
			     "endpoint-del 192.0.2.3:5");
	text = endpoints_text(&policy);
	assert_string_equal(text, "192.0.2.2:51820/udp\n192.0.2.3:51820/udp\n[2001:db8::2]:443/tcp\n");
	free(text);
	ks_policy_free(&policy);

	/* Forgetting a replay after an error leaves the policy as it is. */
	{
		struct ks_journal_replay replay = { 0 };
		struct ks_journal_change del = { .ep = endpoint("192.0.2.1:1") };

		ks_policy_init(&policy);
		assert_int_equal(ks_policy_add_endpoint(&policy, &del.ep), 0);
		assert_int_equal(ks_journal_replay(&replay, &policy, &del), 0);
		ks_journal_replay_free(&replay);
		assert_null(replay.dels);
		assert_int_equal(policy.n_endpoints, 1);
		ks_policy_free(&policy);
	}
}

/*
 * A copy of text in pages of its own, placed against an inaccessible page:
 * after it (at_end) or before it. A read past the buffer faults, as it
 * would past a mapped file.
 */
struct fenced {
	char *map;
	size_t size;
	const char *buf;
};

static void fence(const char *text, size_t len, bool at_end, struct fenced *g)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), data = (len + page - 1) / page * page;
	char *start;

	g->size = data + 2 * page;
	g->map = mmap(NULL, g->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->map != MAP_FAILED);
	start = g->map + page + (at_end ? data - len : 0);
	memcpy(start, text, len);
	assert_int_equal(mprotect(g->map, page, PROT_NONE), 0);
	assert_int_equal(mprotect(g->map + page, data, PROT_READ), 0);
	assert_int_equal(mprotect(g->map + page + data, page, PROT_NONE), 0);
	g->buf = start;
}

static void unfence(struct fenced *g)
{
	assert_int_equal(munmap(g->map, g->size), 0);
}

struct near_result {
	int ret;
	struct ks_state_near near;
	char *endpoints; /* endpoints_text() of the policy, on success */
};

/* ks_journal_load_near over text for the endpoints named (NULL-terminated), against both fences. */
static struct near_result load_near(const char *text, size_t len, const char *const *names)
{
	struct ks_endpoint eps[64];
	struct near_result result = { 0 };
	size_t n = 0;

	for (; names[n]; n++)
		eps[n] = endpoint(names[n]);
	for (int at_end = 0; at_end < 2; at_end++) {
		struct ks_state_near near;
		struct ks_policy policy;
		struct fenced g;
		int ret;

		fence(text, len, at_end, &g);
		ks_policy_init(&policy);
		ret = ks_journal_load_near(g.buf, len, &policy, eps, n, &near);
		unfence(&g);
		if (!at_end) {
			result.ret = ret;
			result.near = near;
			result.endpoints = ret == 0 ? endpoints_text(&policy) : NULL;
		} else {
			char *again = ret == 0 ? endpoints_text(&policy) : NULL;

			assert_int_equal(ret, result.ret);
			assert_memory_equal(&near, &result.near, sizeof(near));
			if (again)
				assert_string_equal(again, result.endpoints);
			free(again);
		}
		ks_policy_free(&policy);
	}
	return result;
}

#define NAMES(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void expect_near(const char *text, const char *const *names, const char *endpoints, size_t total,
			size_t journal)
{
	struct near_result r = load_near(text, strlen(text), names);

	if (r.ret)
		fail_msg("%d for:\n%s", r.ret, text);
	assert_string_equal(r.endpoints, endpoints);
	assert_int_equal(r.near.total, total);
	assert_int_equal(r.near.journal, journal);
	free(r.endpoints);
}

static void expect_eproto(const char *text, size_t len)
{
	struct near_result r = load_near(text, len, NAMES("192.0.2.1:1"));

	if (r.ret != -EPROTO)
		fail_msg("%d, not -EPROTO, for:\n%s", r.ret, text);
}

#define SAVED                                                                                                          \
	"# The policy killswitch last applied; read by 'killswitch status'.\n"                                         \
	"state enabled\n"                                                                                              \
	"tunnel wg0\n"                                                                                                 \
	"endpoint 192.0.2.1:51820/udp\n"                                                                               \
	"endpoint 192.0.2.1:443/tcp\n"                                                                                 \
	"endpoint 192.0.2.2:51820/udp\n"                                                                               \
	"endpoint 198.51.100.10:1/udp\n"                                                                               \
	"endpoint [2001:db8::1]:51820/udp\n"                                                                           \
	"endpoint [2001:db8::1]:443/tcp\n"                                                                             \
	"fwmark 0xca6c\n"                                                                                              \
	"dns 10.64.0.1\n"                                                                                              \
	"ipv6 block\n"
#define MARKER(n) "# endpoints above: " #n "; endpoint add|del append their changes below\n"

static void test_near_saved(void **state)
{
	(void)state;
	expect_near(SAVED MARKER(6), NAMES("192.0.2.1:9"), "192.0.2.1:51820/udp\n192.0.2.1:443/tcp\n", 6, 0);
	expect_near(SAVED MARKER(6), NAMES("192.0.2.2:9"), "192.0.2.2:51820/udp\n", 6, 0);
	expect_near(SAVED MARKER(6), NAMES("198.51.100.10:9"), "198.51.100.10:1/udp\n", 6, 0);
	expect_near(SAVED MARKER(6), NAMES("[2001:db8::1]:9"),
		    "[2001:db8::1]:51820/udp\n[2001:db8::1]:443/tcp\n", 6, 0);
	/* Before the first, between two, after the last, of either family. */
	expect_near(SAVED MARKER(6), NAMES("10.0.0.1:9", "192.0.2.3:9", "203.0.113.1:9", "[::1]:9", "[2001:db8::2]:9"),
		    "", 6, 0);
	expect_near(SAVED MARKER(6), NAMES("192.0.2.2:9", "[2001:db8::1]:1", "192.0.2.2:10"),
		    "192.0.2.2:51820/udp\n[2001:db8::1]:51820/udp\n[2001:db8::1]:443/tcp\n", 6, 0);
	/* No endpoints at all; none asked for. */
	expect_near("state enabled\ntunnel wg0\nfwmark 0xca6c\n" MARKER(0), NAMES("192.0.2.1:1"), "", 0, 0);
	expect_near(MARKER(0), NAMES("192.0.2.1:1"), "", 0, 0);
	{
		struct near_result r = load_near(SAVED MARKER(6), strlen(SAVED MARKER(6)), (const char *const[]){ NULL });

		assert_int_equal(r.ret, 0);
		assert_string_equal(r.endpoints, "");
		assert_int_equal(r.near.total, 6);
		free(r.endpoints);
	}
}

static void test_near_journal(void **state)
{
	static const char text[] = SAVED MARKER(6) "endpoint-add 192.0.2.1:1/udp # 7\n"
						   "endpoint-del 192.0.2.1:443/tcp # 6\n"
						   "endpoint-add 203.0.113.5:1/udp # 7\n"
						   "endpoint-del 192.0.2.1:1/udp # 6\n"
						   "endpoint-add [2001:db8::1]:1/udp # 7\n"
						   "endpoint-add 192.0.2.1:443/tcp # 8\n"
						   "endpoint-del 192.0.2.2:51820/udp # 7\n";

	(void)state;
	expect_near(text, NAMES("192.0.2.1:9"), "192.0.2.1:51820/udp\n192.0.2.1:443/tcp\n", 7, 7);
	expect_near(text, NAMES("192.0.2.2:9"), "", 7, 7);
	expect_near(text, NAMES("203.0.113.5:9"), "203.0.113.5:1/udp\n", 7, 7);
	expect_near(text, NAMES("[2001:db8::1]:9"),
		    "[2001:db8::1]:1/udp\n[2001:db8::1]:51820/udp\n[2001:db8::1]:443/tcp\n", 7, 7);
	expect_near(text, NAMES("198.51.100.10:9"), "198.51.100.10:1/udp\n", 7, 7);
	/* Only the last whole change needs its count; a torn one after it is not there yet. */
	expect_near(SAVED MARKER(6) "endpoint-add 192.0.2.9:1\n"
				    "endpoint-add 192.0.2.9:2 # 8\n"
				    "endpoint-add 192.0.2.9:3 # 9",
		    NAMES("192.0.2.9:9"), "192.0.2.9:1/udp\n192.0.2.9:2/udp\n", 8, 2);
	expect_near(SAVED MARKER(6) "endpoint-del 192.0.2.2:51820 # 5\nendpoint-", NAMES("192.0.2.2:1"), "", 5, 1);
	expect_near(SAVED MARKER(6) "e", NAMES("192.0.2.2:1"), "192.0.2.2:51820/udp\n", 6, 0);
	/* Every form a policy file line takes, as the whole-file loader reads it. */
	expect_near(SAVED MARKER(6) "  --endpoint-add = 192.0.2.2:2/tcp\t# 7\r\n", NAMES("192.0.2.2:1"),
		    "192.0.2.2:51820/udp\n192.0.2.2:2/tcp\n", 7, 1);
	/* The largest count there is. */
	if (SIZE_MAX == UINT64_MAX) {
		expect_near(SAVED "# endpoints above: 18446744073709551615; endpoint add|del append their changes below\n",
			    NAMES("192.0.2.2:1"), "192.0.2.2:51820/udp\n", SIZE_MAX, 0);
		expect_near(SAVED MARKER(6) "endpoint-add 192.0.2.2:2 # 18446744073709551615\n", NAMES("192.0.2.2:1"),
			    "192.0.2.2:2/udp\n192.0.2.2:51820/udp\n", SIZE_MAX, 1);
	}
}

/* What the near reader does not follow: the caller loads the state whole instead, which reports any error. */
static void test_near_refused(void **state)
{
	static const char *const texts[] = {
		"",
		"\n",
		/* From an older version: no marker. */
		SAVED,
		SAVED "endpoint-add 192.0.2.1:1 # 7\n",
		/* The marker torn, or cut short, or without its count. */
		SAVED "# endpoints above: 6; endpoint add|del append their changes below",
		SAVED "# endpoints above: 6",
		SAVED "# endpoints above: \n",
		SAVED "# endpoints above: x\n",
		SAVED " # endpoints above: 6\n",
		SAVED "# endpoints above: 18446744073709551616\n",
		/* The last whole change without its count. */
		SAVED MARKER(6) "endpoint-add 192.0.2.1:1\n",
		SAVED MARKER(6) "endpoint-add 192.0.2.1:1 # 7\nendpoint-add 192.0.2.1:2 # x\nendpoint-add 192.0.2.1:3 # 9",
		SAVED MARKER(6) "endpoint-add 192.0.2.1:1 # 18446744073709551616\n",
		/* Anything but changes after the marker. */
		SAVED MARKER(6) "# a comment\n",
		SAVED MARKER(6) "\n",
		SAVED MARKER(6) "endpoint-add 192.0.2.1:1 # 7\n\nendpoint-add 192.0.2.1:2 # 8\n",
		SAVED MARKER(6) "endpoint 192.0.2.1:1\n",
		SAVED MARKER(6) "tunnel wg1\nendpoint-add 192.0.2.1:1 # 7\n",
		/* Bad changes. */
		SAVED MARKER(6) "endpoint-add vpn.example.com:1 # 7\n",
		SAVED MARKER(6) "endpoint-add 192.0.2.1:1 # 7\nendpoint-del 192.0.2.1 # 6\nendpoint-add 192.0.2.1:2 # 7\n",
		SAVED MARKER(6) "endpoint-add # 7\n",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
		expect_eproto(texts[i], strlen(texts[i]));
	/* A NUL does not end a change's endpoint. */
	{
		static const char nul[] = SAVED MARKER(6) "endpoint-add 192.0.2.1:1\0x # 7\n";

		expect_eproto(nul, sizeof(nul) - 1);
	}
}

/*
 * Many states, near reads against the whole-file loader: for every address,
 * the same endpoints. The saved lists are sorted as ks_state_save() writes
 * them; the journals add and delete at random, some changes cancelling
 * others, some torn at the end.
 */
static void test_near_matches_whole(void **state)
{
	uint32_t seed = 12345;

	(void)state;
	for (int round = 0; round < 40; round++) {
		struct ks_policy saved, whole;
		struct ks_endpoint pool[48];
		struct ks_buf text = KS_BUF_INIT;
		char path[64], err[KS_ERR_LEN] = "";
		size_t n_pool = 0, total;

		for (int a = 0; a < 12; a++)
			for (int port = 1; port <= 4; port++) {
				char ep[64];

				if (a % 3 == 2)
					snprintf(ep, sizeof(ep), "[2001:db8::%x]:%d/%s", a, port, port % 2 ? "udp" : "tcp");
				else
					snprintf(ep, sizeof(ep), "192.0.2.%d:%d/%s", a * 7, port, port % 2 ? "udp" : "tcp");
				pool[n_pool++] = endpoint(ep);
			}
		ks_policy_init(&saved);
		assert_int_equal(ks_policy_add_tunnel(&saved, "wg0"), 0);
		for (size_t i = 0; i < n_pool; i++) {
			seed = seed * 1103515245 + 12345;
			if ((seed >> 16) % 3 == 0 || round == 0)
				assert_int_equal(ks_policy_add_endpoint(&saved, &pool[i]), 0);
		}
		if (round == 1)
			saved.n_endpoints = 0;
		ks_policy_finalize(&saved);
		ks_options_format(&saved, &text);
		ks_journal_format_marker(&text, saved.n_endpoints);
		total = saved.n_endpoints;
		for (int change = 0; change < round * 3; change++) {
			struct ks_endpoint *ep;

			seed = seed * 1103515245 + 12345;
			ep = &pool[(seed >> 16) % n_pool];
			/* Counts as endpoint add|del write them, though the replay does not depend on them. */
			if ((seed >> 8) % 2) {
				total++;
				ks_journal_format(&text, ep, 1, true, total);
			} else {
				total = total ? total - 1 : 0;
				ks_journal_format(&text, ep, 1, false, total);
			}
		}
		if (round % 4 == 3)
			ks_buf_puts(&text, "endpoint-add 192.0.2.0:9 # 1");
		assert_int_equal(text.err, 0);

		write_temp(text.data, text.len, path);
		ks_policy_init(&whole);
		if (ks_options_parse_file(&whole, path, err))
			fail_msg("%s", err);
		unlink(path);
		ks_policy_finalize(&whole);
		for (size_t i = 0; i < n_pool; i += 4) {
			struct ks_buf expected = KS_BUF_INIT;
			char name[KS_ENDPOINT_STRLEN], ep_text[KS_ENDPOINT_STRLEN];
			struct near_result r;

			ks_format_endpoint(&pool[i], name);
			r = load_near(text.data, text.len, NAMES(name));
			assert_int_equal(r.ret, 0);
			ks_buf_puts(&expected, "");
			for (size_t j = 0; j < whole.n_endpoints; j++)
				if (!memcmp(&whole.endpoints[j].addr, &pool[i].addr, sizeof(pool[i].addr))) {
					ks_format_endpoint(&whole.endpoints[j], ep_text);
					ks_buf_printf(&expected, "%s\n", ep_text);
				}
			assert_string_equal(r.endpoints, expected.data);
			assert_int_equal(r.near.journal, (size_t)round * 3);
			free(r.endpoints);
			ks_buf_free(&expected);
		}
		ks_buf_free(&text);
		ks_policy_free(&whole);
		ks_policy_free(&saved);
	}
}

/* Many saved endpoints: every one is found, among its neighbours and only with them. */
static void test_near_many(void **state)
{
	struct ks_policy saved;
	struct ks_buf text = KS_BUF_INIT;

	(void)state;
	ks_policy_init(&saved);
	for (int i = 0; i < 3000; i++) {
		char name[64];
		struct ks_endpoint ep;

		if (i % 2)
			snprintf(name, sizeof(name), "10.%d.%d.1:%d", i / 256, i % 256, 1 + i % 3);
		else
			snprintf(name, sizeof(name), "[2001:db8::%x]:%d/tcp", i, 1 + i % 3);
		ep = endpoint(name);
		assert_int_equal(ks_policy_add_endpoint(&saved, &ep), 0);
		/* A second port on some addresses. */
		ep.port = 9;
		if (i % 5 == 0)
			assert_int_equal(ks_policy_add_endpoint(&saved, &ep), 0);
	}
	ks_policy_finalize(&saved);
	ks_options_format(&saved, &text);
	ks_journal_format_marker(&text, saved.n_endpoints);
	assert_int_equal(text.err, 0);
	for (size_t i = 0; i < saved.n_endpoints; i += 7) {
		struct ks_state_near near;
		struct ks_policy policy;
		size_t expected = 0;

		for (size_t j = 0; j < saved.n_endpoints; j++)
			expected += !memcmp(&saved.endpoints[j].addr, &saved.endpoints[i].addr, sizeof(struct ks_addr));
		ks_policy_init(&policy);
		assert_int_equal(ks_journal_load_near(text.data, text.len, &policy, &saved.endpoints[i], 1, &near), 0);
		assert_int_equal(near.total, saved.n_endpoints);
		assert_int_equal(policy.n_endpoints, expected);
		for (size_t j = 0; j < policy.n_endpoints; j++)
			assert_memory_equal(&policy.endpoints[j].addr, &saved.endpoints[i].addr, sizeof(struct ks_addr));
		ks_policy_free(&policy);
	}
	ks_buf_free(&text);
	ks_policy_free(&saved);
}

/* The journal's keys are the state file's, not options: the command line does not know them. */
static void test_not_options(void **state)
{
	static const char *const args[] = { "--endpoint-add=192.0.2.1:1", "--endpoint-del=192.0.2.1:1",
					    "--tunnel-addr=10.66.1.2", "--split-tunnel=v1" };
	struct ks_options opts = { 0 };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(args); i++) {
		struct ks_policy policy;
		char err[KS_ERR_LEN] = "";

		ks_policy_init(&policy);
		assert_int_equal(ks_options_parse_args(&policy, &opts, 1, (char *const[]){ (char *)args[i] }, err),
				 -EINVAL);
		assert_true(!strncmp(err, "unknown option: ", 16));
		assert_quotes(err, args[i]);
		assert_int_equal(policy.n_endpoints, 0);
		ks_policy_free(&policy);
	}
	{
		struct ks_policy policy;
		char err[KS_ERR_LEN] = "";

		ks_policy_init(&policy);
		assert_int_equal(ks_options_parse_args(&policy, &opts, ARGS("--endpoint-add", "192.0.2.1:1"), err),
				 -EINVAL);
		assert_string_equal(err, "unknown option: '--endpoint-add'");
		ks_policy_free(&policy);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_parse_line),
		cmocka_unit_test(test_parse_torn),
		cmocka_unit_test(test_parse_other_lines),
		cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_near_saved),
		cmocka_unit_test(test_near_journal),
		cmocka_unit_test(test_near_refused),
		cmocka_unit_test(test_near_matches_whole),
		cmocka_unit_test(test_near_many),
		cmocka_unit_test(test_not_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
