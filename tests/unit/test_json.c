// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The JSON writer of split-tunnel list --json: strings escaped so that any
 * command name makes valid JSON that a terminal cannot act on, and the same
 * layout as jansson's (killswitch's own --json, and split-tunnel's before).
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "killswitch/json.h"

#define FFFD "\\ufffd"

/* text quoted by ks_json_quote, as a string to free. */
static char *quote(const char *text)
{
	struct ks_buf buf = KS_BUF_INIT;
	char *out;

	ks_json_quote(&buf, text);
	out = ks_buf_steal(&buf);
	assert_non_null(out);
	return out;
}

static void check_quote(const char *text, const char *want)
{
	char *out = quote(text);
	char expected[256];

	snprintf(expected, sizeof(expected), "\"%s\"", want);
	if (strcmp(out, expected))
		fail_msg("quoted as %s, not %s", out, expected);
	free(out);
}

static void test_quote_ascii(void **state)
{
	char text[2] = { 0 }, want[8];

	(void)state;
	check_quote("", "");
	check_quote("bash", "bash");
	check_quote("a \"b\" \\c /d", "a \\\"b\\\" \\\\c /d");
	for (unsigned c = 1; c < 0x80; c++) {
		text[0] = (char)c;
		if (c < 0x20 || c == 0x7f)
			snprintf(want, sizeof(want), "\\u%04x", c);
		else if (c == '"' || c == '\\')
			snprintf(want, sizeof(want), "\\%c", c);
		else
			snprintf(want, sizeof(want), "%c", c);
		check_quote(text, want);
	}
	check_quote("\x1b[2J\r\n\t", "\\u001b[2J\\u000d\\u000a\\u0009");
}

/* Well-formed UTF-8 as it is, the C1 controls excepted. */
static void test_quote_utf8(void **state)
{
	static const char *const same[] = {
		"\xc2\xa0",	    /* U+00A0, the first after the C1 controls */
		"na\xc3\xafve",	    /* U+00EF */
		"\xe2\x82\xac",	    /* U+20AC */
		"\xe6\x97\xa5\xe6\x9c\xac", /* U+65E5 U+672C */
		"\xed\x9f\xbf",	    /* U+D7FF, below the surrogates */
		"\xee\x80\x80",	    /* U+E000, above them */
		"\xef\xbf\xbf",	    /* U+FFFF */
		"\xf0\x90\x80\x80", /* U+10000 */
		"\xf4\x8f\xbf\xbf", /* U+10FFFF, the last */
		"\xf0\x9f\x98\x80", /* U+1F600 */
	};
	char text[3] = { '\xc2', 0, 0 }, want[8];

	(void)state;
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		check_quote(same[i], same[i]);
	for (unsigned c = 0x80; c < 0xa0; c++) {
		text[1] = (char)c;
		snprintf(want, sizeof(want), "\\u%04x", c);
		check_quote(text, want);
	}
}

/* Every byte of what is not well-formed UTF-8 becomes U+FFFD, and what follows is read afresh. */
static void test_quote_invalid(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "\x80", FFFD },			       /* a continuation byte alone */
		{ "\xbf", FFFD },
		{ "\xfe", FFFD },
		{ "\xff", FFFD },
		{ "\xc0\xaf", FFFD FFFD },		       /* overlong '/' */
		{ "\xc1\xbf", FFFD FFFD },
		{ "\xe0\x80\xaf", FFFD FFFD FFFD },	       /* overlong, three bytes */
		{ "\xf0\x8f\xbf\xbf", FFFD FFFD FFFD FFFD },   /* overlong, four bytes */
		{ "\xed\xa0\x80", FFFD FFFD FFFD },	       /* U+D800, a surrogate */
		{ "\xed\xbf\xbf", FFFD FFFD FFFD },	       /* U+DFFF */
		{ "\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD },   /* U+110000 */
		{ "\xf5\x80\x80\x80", FFFD FFFD FFFD FFFD },
		{ "\xe2\x82", FFFD FFFD },		       /* cut short at the end */
		{ "\xe2\x82" "A", FFFD FFFD "A" },	       /* cut short before ASCII */
		{ "\xe2\x82\"", FFFD FFFD "\\\"" },
		{ "\xe2\x82\x0a", FFFD FFFD "\\u000a" },
		{ "\xf0\x9f\x98", FFFD FFFD FFFD },
		{ "\xc3\xc3\xa9", FFFD "\xc3\xa9" },	       /* a lead byte, then a whole character */
		/* The kernel cuts comm at 15 bytes, in the middle of a character if need be. */
		{ "steam-\xe2\x82\xac\xe2\x82\xac\xe2\x82", "steam-\xe2\x82\xac\xe2\x82\xac" FFFD FFFD },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_quote(cases[i].text, cases[i].want);
}

/* A small PRNG, so that every run checks the same strings. */
static uint32_t next_random(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/*
 * Any bytes at all: jansson reads the result back as JSON (it refuses raw
 * control characters and malformed UTF-8), and gets the bytes back when they
 * were UTF-8 already; none of the output's bytes is a control character.
 */
static void test_quote_any_bytes(void **state)
{
	/* Biased to the bytes that make and break UTF-8 sequences. */
	static const unsigned char pool[] = { 'a', '"', '\\', 0x01, 0x1f, 0x7f, 0x80, 0x8f, 0x90, 0x9f,
					      0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4,
					      0xf5, 0xff };
	uint32_t x = 2463534242u;
	char text[16], wrapped[256];

	(void)state;
	for (int round = 0; round < 50000; round++) {
		size_t len = next_random(&x) % sizeof(text);
		json_t *array, *value;
		json_error_t error;
		char *out;

		for (size_t i = 0; i < len; i++)
			text[i] = (char)pool[next_random(&x) % sizeof(pool)];
		text[len] = '\0';
		out = quote(text);
		for (const unsigned char *p = (const unsigned char *)out; *p; p++)
			assert_true(*p >= 0x20 && *p != 0x7f);
		snprintf(wrapped, sizeof(wrapped), "[%s]", out);
		array = json_loads(wrapped, 0, &error);
		if (!array)
			fail_msg("%s: %s", out, error.text);
		value = json_string(text);
		/* jansson's json_string() takes only UTF-8, and the round trip is exact then (C1 included). */
		if (value)
			assert_true(json_equal(json_array_get(array, 0), value));
		json_decref(value);
		json_decref(array);
		free(out);
	}
}

/* What split-tunnel list --json prints, written by both; pids and names from the list. */
static char *list_ks(const char *const *names, size_t n)
{
	struct ks_json json = KS_JSON_INIT;

	ks_json_open(&json, '{');
	ks_json_key(&json, "mechanism");
	ks_json_string(&json, "v2");
	ks_json_key(&json, "cgroup");
	ks_json_string(&json, "user.slice/user-1000.slice/killswitch-exclude");
	ks_json_key(&json, "level");
	ks_json_int(&json, 3);
	ks_json_key(&json, "processes");
	ks_json_open(&json, '[');
	for (size_t i = 0; i < n; i++) {
		ks_json_open(&json, '{');
		ks_json_key(&json, "pid");
		ks_json_int(&json, 4000 + (long long)i);
		ks_json_key(&json, "comm");
		ks_json_string(&json, names[i]);
		ks_json_close(&json, '}');
	}
	ks_json_close(&json, ']');
	ks_json_close(&json, '}');
	assert_int_equal(json.depth, 0);
	return ks_buf_steal(&json.buf);
}

static char *list_jansson(const char *const *names, size_t n)
{
	json_t *obj = json_object(), *procs = json_array();
	char *text;

	json_object_set_new(obj, "mechanism", json_string("v2"));
	json_object_set_new(obj, "cgroup", json_string("user.slice/user-1000.slice/killswitch-exclude"));
	json_object_set_new(obj, "level", json_integer(3));
	for (size_t i = 0; i < n; i++) {
		json_t *one = json_object();

		json_object_set_new(one, "pid", json_integer(4000 + (json_int_t)i));
		json_object_set_new(one, "comm", json_string(names[i]));
		json_array_append_new(procs, one);
	}
	json_object_set_new(obj, "processes", procs);
	text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(obj);
	return text;
}

static void test_layout(void **state)
{
	static const char *const names[] = { "bash", "sle\"ep", "na\xc3\xafve" };
	static const char *const want =
		"{\n"
		"  \"mechanism\": \"v2\",\n"
		"  \"cgroup\": \"user.slice/user-1000.slice/killswitch-exclude\",\n"
		"  \"level\": 3,\n"
		"  \"processes\": [\n"
		"    {\n"
		"      \"pid\": 4000,\n"
		"      \"comm\": \"bash\"\n"
		"    },\n"
		"    {\n"
		"      \"pid\": 4001,\n"
		"      \"comm\": \"sle\\\"ep\"\n"
		"    },\n"
		"    {\n"
		"      \"pid\": 4002,\n"
		"      \"comm\": \"na\xc3\xafve\"\n"
		"    }\n"
		"  ]\n"
		"}";

	(void)state;
	for (size_t n = 0; n <= sizeof(names) / sizeof(names[0]); n++) {
		char *ours = list_ks(names, n), *theirs = list_jansson(names, n);

		assert_non_null(ours);
		assert_non_null(theirs);
		assert_string_equal(ours, theirs);
		if (n == 0)
			assert_non_null(strstr(ours, "\"processes\": []\n}"));
		if (n == 3)
			assert_string_equal(ours, want);
		free(ours);
		free(theirs);
	}
}

/* The first value at the top, and empty containers, as jansson writes them. */
static void test_empty(void **state)
{
	struct ks_json json = KS_JSON_INIT;
	char *out;

	(void)state;
	ks_json_open(&json, '[');
	ks_json_open(&json, '{');
	ks_json_close(&json, '}');
	ks_json_open(&json, '[');
	ks_json_close(&json, ']');
	ks_json_string(&json, "");
	ks_json_close(&json, ']');
	out = ks_buf_steal(&json.buf);
	assert_non_null(out);
	assert_string_equal(out, "[\n  {},\n  [],\n  \"\"\n]");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote_ascii),
		cmocka_unit_test(test_quote_utf8),
		cmocka_unit_test(test_quote_invalid),
		cmocka_unit_test(test_quote_any_bytes),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
