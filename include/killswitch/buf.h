/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_BUF_H
#define KILLSWITCH_BUF_H

#include <stddef.h>

/* A growable text buffer with a sticky error, so builders check once at the end. */
struct ks_buf {
	char *data; /* always NUL-terminated once anything was appended */
	size_t len;
	size_t cap;
	int err; /* 0, or -ENOMEM after a failed append */
};

#define KS_BUF_INIT { 0 }

void ks_buf_printf(struct ks_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ks_buf_puts(struct ks_buf *buf, const char *text);
void ks_buf_free(struct ks_buf *buf);
/* Hands the text to the caller (free() it); NULL after an error. */
char *ks_buf_steal(struct ks_buf *buf);

#endif
