/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the unit tests; cmocka needs its headers in this order. */
#ifndef KILLSWITCH_TESTS_UNIT_H
#define KILLSWITCH_TESTS_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

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

#endif
