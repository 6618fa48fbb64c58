/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_FILE_H
#define KILLSWITCH_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "killswitch/error.h"

/* File helpers every layer shares (src/util/file.c). */

/* "cannot VERB (reason): 'PATH'" in err, for the negative errno ret; returns ret. */
int ks_sys_error(char err[KS_ERR_LEN], const char *verb, const char *path, int ret);

/* Reads a whole file (a /proc or cgroup file, a record) into *out, malloc'ed and NUL-terminated. */
int ks_file_read_all(const char *path, char **out);

/*
 * Replaces path with data: written to tmp (O_NOFOLLOW, mode 0600), then
 * renamed over path, so readers see the old file or the new one, whole.
 * durable: the file, then its directory, are synced (a power loss leaves
 * one or the other). tmp is removed on failure. 0 or a negative errno.
 */
int ks_file_replace(const char *path, const char *tmp, const void *data, size_t len, bool durable);

#endif
