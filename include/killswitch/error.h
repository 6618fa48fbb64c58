/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_ERROR_H
#define KILLSWITCH_ERROR_H

#include <stddef.h>

/*
 * How every layer reports a failure: a negative errno as the return value,
 * and one line "<what>: '<the bad value>'" in a caller's buffer of this size.
 */
#define KS_ERR_LEN 512

/*
 * Copies text into out (size bytes) with control characters, bytes above
 * 0x7e, quotes and backslashes escaped as \xNN (and "..." when cut short),
 * so an error message that quotes a bad value stays one line whatever the
 * value holds. Returns out. (src/util/error.c)
 */
char *ks_escape(const char *text, char *out, size_t size);

#endif
