// SPDX-License-Identifier: GPL-2.0-or-later
/* The bad value quoted in an error line, made safe to print (error.h). */
#include <stdio.h>
#include <string.h>

#include "killswitch/error.h"

/* The escaped form of one byte; returns its length. */
static size_t escape_byte(unsigned char c, char tmp[5])
{
	if (c < 0x20 || c >= 0x7f || c == '\'' || c == '"' || c == '\\')
		return (size_t)snprintf(tmp, 5, "\\x%02x", c);
	tmp[0] = (char)c;
	tmp[1] = '\0';
	return 1;
}

char *ks_escape(const char *text, char *out, size_t size)
{
	const unsigned char *p = (const unsigned char *)(text ? text : "");
	size_t full = 0, o = 0, room;
	char tmp[5];

	if (!size)
		return out;
	for (const unsigned char *q = p; *q; q++)
		full += escape_byte(*q, tmp);
	/* Cut short, keep room for "..." and never split an escape. */
	room = full < size ? size - 1 : (size > 3 ? size - 4 : 0);
	for (; *p; p++) {
		size_t n = escape_byte(*p, tmp);

		if (o + n > room)
			break;
		memcpy(out + o, tmp, n);
		o += n;
	}
	if (*p && size > 3)
		memcpy(out + o, "...", 3), o += 3;
	out[o] = '\0';
	return out;
}
