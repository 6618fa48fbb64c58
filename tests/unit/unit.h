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

#endif
