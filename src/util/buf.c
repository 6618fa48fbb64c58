// SPDX-License-Identifier: GPL-2.0-or-later
/* A growable text buffer whose first allocation failure sticks (checked once, at the end). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
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

static void append(struct ks_buf *buf, const char *text, size_t n)
{
	if (reserve(buf, n) < 0)
		return;
	memcpy(buf->data + buf->len, text, n);
	buf->len += n;
	buf->data[buf->len] = '\0';
}

static void append_number(struct ks_buf *buf, unsigned long long v, unsigned base)
{
	char digits[24];
	size_t n = 0;

	do {
		digits[sizeof(digits) - ++n] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	append(buf, digits + sizeof(digits) - n, n);
}

/* Only %s, %d, %u, %x, %zu and %%, without flags or widths: all the formats here use. */
static bool plain(const char *fmt)
{
	for (const char *p = strchr(fmt, '%'); p; p = strchr(p, '%')) {
		p += p[1] == 'z' ? 2 : 1;
		if (!*p || !strchr(p[-1] == 'z' ? "u" : "sdux%", *p))
			return false;
		p++;
	}
	return true;
}

/*
 * Formats plain conversions without vsnprintf: the compiler and the state
 * file print a line per set element, and glibc's printf machinery cost
 * more than all the rest of building those lines.
 */
static void format_plain(struct ks_buf *buf, const char *fmt, va_list ap)
{
	while (*fmt) {
		const char *pct = strchr(fmt, '%'), *s;
		int d;

		if (!pct) {
			append(buf, fmt, strlen(fmt));
			return;
		}
		append(buf, fmt, (size_t)(pct - fmt));
		fmt = pct + 2;
		switch (pct[1]) {
		case 's':
			s = va_arg(ap, const char *);
			append(buf, s ? s : "(null)", strlen(s ? s : "(null)"));
			break;
		case 'd':
			d = va_arg(ap, int);
			if (d < 0)
				append(buf, "-", 1);
			append_number(buf, d < 0 ? -(unsigned long long)d : (unsigned long long)d, 10);
			break;
		case 'u':
			append_number(buf, va_arg(ap, unsigned), 10);
			break;
		case 'x':
			append_number(buf, va_arg(ap, unsigned), 16);
			break;
		case 'z':
			append_number(buf, va_arg(ap, size_t), 10);
			fmt++;
			break;
		default:
			append(buf, "%", 1);
			break;
		}
	}
}

void ks_buf_printf(struct ks_buf *buf, const char *fmt, ...)
{
	size_t avail = buf->cap > buf->len ? buf->cap - buf->len : 0;
	va_list ap;
	int n;

	if (buf->err)
		return;
	if (plain(fmt)) {
		va_start(ap, fmt);
		format_plain(buf, fmt, ap);
		va_end(ap);
		/* An empty result appends nothing: the text must still end in NUL. */
		if (!buf->err && !buf->data)
			append(buf, "", 0);
		return;
	}
	/* One pass when it fits (nearly always). */
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
