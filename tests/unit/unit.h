/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the unit tests; cmocka needs its headers in this order. */
#ifndef KILLSWITCH_TESTS_UNIT_H
#define KILLSWITCH_TESTS_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "killswitch/buf.h"
#include "killswitch/compile.h"
#include "killswitch/options.h"
#include "killswitch/parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* An argc, argv pair from a list of strings. */
#define ARGS(...) (int)ARRAY_SIZE(((char *const[]){ __VA_ARGS__ })), ((char *const[]){ __VA_ARGS__ })

/* Writes text to a new temporary file; path receives its name (unlink it). */
static inline void write_temp(const char *text, size_t len, char path[64])
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, 64, "%s/ks-unit-XXXXXX", dir && strlen(dir) < 40 ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* An error message is one printable line: no control characters at all. */
static inline void assert_one_line(const char *msg)
{
	assert_true(msg[0] != '\0');
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			fail_msg("control character 0x%02x in message '%s'", *p, msg);
}

/* msg ends with ": '<value, escaped>'", after a non-empty description. */
static inline void assert_quotes(const char *msg, const char *value)
{
	char escaped[KS_ERR_LEN / 2], tail[KS_ERR_LEN];
	size_t n, m;

	assert_one_line(msg);
	snprintf(tail, sizeof(tail), ": '%s'", ks_escape(value, escaped, sizeof(escaped)));
	n = strlen(msg);
	m = strlen(tail);
	if (n <= m || strcmp(msg + n - m, tail))
		fail_msg("message '%s' does not end with \"%s\"", msg, tail);
}

/* Compiles policy into a malloc'ed string, asserting success. */
static inline char *compile_text(const struct ks_policy *policy)
{
	struct ks_buf buf = KS_BUF_INIT;
	char *text;

	assert_int_equal(ks_compile(policy, KS_TABLE_NAME, &buf), 0);
	text = ks_buf_steal(&buf);
	assert_non_null(text);
	return text;
}

/* Parses command-line options into a fresh, finalized policy, asserting success. */
static inline void policy_from_args(struct ks_policy *policy, int argc, char *const argv[])
{
	char err[KS_ERR_LEN] = "";
	int ret;

	ks_policy_init(policy);
	ret = ks_options_parse_args(policy, NULL, argc, argv, err);
	if (ret)
		fail_msg("ks_options_parse_args: %d: %s", ret, err);
	ks_policy_finalize(policy);
}

/* ---- Table runners: the loops the tests' tables share ------------------------------------ */

/*
 * ks_options_parse_args refuses argv: -EINVAL, and a message in err that is
 * one line and NUL-terminated inside its buffer. opts NULL: no command options.
 */
static inline void expect_args_refused(struct ks_options *opts, int argc, char *const argv[], char err[KS_ERR_LEN])
{
	struct ks_policy policy;
	int ret;

	memset(err, 'Z', KS_ERR_LEN);
	ks_policy_init(&policy);
	ret = ks_options_parse_args(&policy, opts, argc, argv, err);
	ks_policy_free(&policy);
	if (ret != -EINVAL)
		fail_msg("ks_options_parse_args(%s%s%s ...) returned %d, not -EINVAL", argc > 0 ? argv[0] : "",
			 argc > 1 ? " " : "", argc > 1 ? argv[1] : "", ret);
	assert_non_null(memchr(err, '\0', KS_ERR_LEN));
	assert_one_line(err);
}

/* A command line (up to four arguments) the options parser refuses, and what it says about it. */
struct refused_args {
	const char *argv[4];
	const char *said;
};

/* said: the whole message (SAID_EXACTLY) or the value it ends quoting (SAID_VALUE, assert_quotes). */
enum said { SAID_VALUE, SAID_EXACTLY };

/* Every row refused, each with fresh command options (with_opts) or none, saying what the row says. */
static inline void run_refused_args(const struct refused_args *rows, size_t n, bool with_opts, enum said how)
{
	for (size_t i = 0; i < n; i++) {
		struct ks_options opts = { 0 };
		char err[KS_ERR_LEN];
		int argc = 0;

		while (argc < (int)ARRAY_SIZE(rows[i].argv) && rows[i].argv[argc])
			argc++;
		expect_args_refused(with_opts ? &opts : NULL, argc, (char *const *)rows[i].argv, err);
		if (how == SAID_EXACTLY)
			assert_string_equal(err, rows[i].said);
		else
			assert_quotes(err, rows[i].said);
	}
}

/* A file ks_options_parse_file or ks_options_parse_endpoints_file refuses: the bad line's number and value. */
struct file_error {
	const char *text;
	unsigned line;
	const char *bad;
};

typedef int parse_file_fn(struct ks_policy *policy, const char *path, char err[KS_ERR_LEN]);

/* The file refused: -EINVAL and "PATH:LINE: <what>: '<value>'". */
static inline void expect_file_error(parse_file_fn *parse_file, const char *text, unsigned lineno, const char *bad)
{
	struct ks_policy policy;
	char path[64], prefix[96], err[KS_ERR_LEN] = "";
	int ret;

	write_temp(text, strlen(text), path);
	ks_policy_init(&policy);
	ret = parse_file(&policy, path, err);
	unlink(path);
	if (ret != -EINVAL)
		fail_msg("%d, not -EINVAL, for line %u of \"%s\"", ret, lineno, text);
	snprintf(prefix, sizeof(prefix), "%s:%u: ", path, lineno);
	if (strncmp(err, prefix, strlen(prefix)))
		fail_msg("'%s' does not start with '%s'", err, prefix);
	assert_quotes(err, bad);
	ks_policy_free(&policy);
}

static inline void run_file_errors(parse_file_fn *parse_file, const struct file_error *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect_file_error(parse_file, rows[i].text, rows[i].line, rows[i].bad);
}

/* Parses text as a policy file into a fresh, finalized policy, asserting success. */
static inline void policy_from_file(struct ks_policy *policy, const char *text)
{
	char path[64], err[KS_ERR_LEN] = "";

	write_temp(text, strlen(text), path);
	ks_policy_init(policy);
	if (ks_options_parse_file(policy, path, err))
		fail_msg("%s\n%s", err, text);
	unlink(path);
	ks_policy_finalize(policy);
}

/*
 * policy written as a policy file and read back into *back, asserting that
 * the two format alike; returns the text (free it) for the caller's checks.
 */
static inline char *format_round_trip(const struct ks_policy *policy, struct ks_policy *back)
{
	struct ks_buf first = KS_BUF_INIT, second = KS_BUF_INIT;
	char *text;

	ks_options_format(policy, &first);
	assert_int_equal(first.err, 0);
	policy_from_file(back, first.data);
	ks_options_format(back, &second);
	assert_string_equal(first.data, second.data);
	ks_buf_free(&second);
	text = ks_buf_steal(&first);
	assert_non_null(text);
	return text;
}

/* ---- the compiled text: chains, rules, order ---- */

/* From "\n\tchain NAME {\n" up to its closing line (excluded), as a new string; NULL when absent. */
static inline char *chain_or_null(const char *text, const char *name)
{
	char head[64];
	const char *start, *end;

	snprintf(head, sizeof(head), "\n\tchain %s {\n", name);
	start = strstr(text, head);
	if (!start)
		return NULL;
	end = strstr(start + 1, "\n\t}\n");
	assert_non_null(end);
	return strndup(start, (size_t)(end - start));
}

/* The same, failing when the chain is absent. */
static inline char *chain_of(const char *text, const char *name)
{
	char *body = chain_or_null(text, name);

	if (!body)
		fail_msg("no chain %s", name);
	return body;
}

/* The rules of "chain NAME { ... }" (after its header line, each ending in a newline), as a new string. */
static inline char *chain(const char *text, const char *name)
{
	char head[64], *body;
	const char *start, *end;

	snprintf(head, sizeof(head), "\n\tchain %s {\n", name);
	start = strstr(text, head);
	if (!start)
		fail_msg("no chain %s", name);
	start += strlen(head);
	/* An idle chain (no hook, no rule: ks_chain_spec.may_idle) has an empty body. */
	end = strncmp(start, "\t}\n", 3) ? strstr(start, "\n\t}\n") : start - 1;
	assert_non_null(end);
	body = strndup(start, (size_t)(end - start) + 1);
	assert_non_null(body);
	return body;
}

/* Offset of the line that is exactly rule (tabs aside) in body; fails when absent or repeated. */
static inline size_t rule_at(const char *body, const char *rule)
{
	char line[512];
	const char *hit;

	snprintf(line, sizeof(line), "\t\t%s\n", rule);
	hit = strstr(body, line);
	if (!hit)
		fail_msg("no rule \"%s\" in\n%s", rule, body);
	if (strstr(hit + 1, line))
		fail_msg("rule \"%s\" twice in\n%s", rule, body);
	return (size_t)(hit - body);
}

/* first comes before second in body, each once. */
static inline void before(const char *body, const char *first, const char *second)
{
	const char *a = strstr(body, first), *b = strstr(body, second);

	if (!a || !b || strstr(a + 1, first) || strstr(b + 1, second) || a > b)
		fail_msg("\"%s\" should come once, before \"%s\", in\n%s", first, second, body);
}

static inline void has(const char *body, const char *what)
{
	if (!strstr(body, what))
		fail_msg("\"%s\" missing in\n%s", what, body);
}

static inline void lacks(const char *body, const char *what)
{
	if (strstr(body, what))
		fail_msg("\"%s\" unexpected in\n%s", what, body);
}

#endif
