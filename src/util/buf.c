// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "killswitch/buf.h"

static int reserve(struct ks_buf *buf, size_t extra)
{
	size_t want, cap;
	char *data;

	if (buf->err)
		return buf->err;
	if (extra > (size_t)-1 / 2 - buf->len)
		goto nomem;
	want = buf->len + extra + 1;
	if (want <= buf->cap)
		return 0;
	cap = buf->cap ? buf->cap : 256;
	while (cap < want)
		cap *= 2;
	data = realloc(buf->data, cap);
	if (!data)
		goto nomem;
	buf->data = data;
	buf->cap = cap;
	return 0;
nomem:
	buf->err = -ENOMEM;
	return buf->err;
}

void ks_buf_printf(struct ks_buf *buf, const char *fmt, ...)
{
	size_t avail = buf->cap > buf->len ? buf->cap - buf->len : 0;
	va_list ap;
	int n;

	if (buf->err)
		return;
	/* One pass when it fits (nearly always): the compiler prints a line per set element. */
	va_start(ap, fmt);
	n = vsnprintf(avail ? buf->data + buf->len : NULL, avail, fmt, ap);
	va_end(ap);
	if (n < 0) {
		buf->err = -EINVAL;
		return;
	}
	if ((size_t)n >= avail) {
		if (reserve(buf, (size_t)n) < 0)
			return;
		va_start(ap, fmt);
		vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	buf->len += (size_t)n;
}

void ks_buf_puts(struct ks_buf *buf, const char *text)
{
	size_t n = strlen(text);

	if (reserve(buf, n) < 0)
		return;
	memcpy(buf->data + buf->len, text, n + 1);
	buf->len += n;
}

void ks_buf_free(struct ks_buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = buf->cap = 0;
	buf->err = 0;
}

char *ks_buf_steal(struct ks_buf *buf)
{
	char *data = NULL;

	if (!buf->err) {
		if (reserve(buf, 0) == 0) {
			buf->data[buf->len] = '\0';
			data = buf->data;
			buf->data = NULL;
		}
	}
	ks_buf_free(buf);
	return data;
}
