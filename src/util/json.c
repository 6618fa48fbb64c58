// SPDX-License-Identifier: GPL-2.0-or-later
/* A JSON writer small enough for a setuid program (json.h). */
#include <stdio.h>
#include <string.h>

#include "killswitch/json.h"

/* The length of the well-formed UTF-8 sequence of two or more bytes at s (RFC 3629, table 3-7 of Unicode), or 0. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	/* The second byte's range shuts out overlong forms, surrogates and what lies past U+10FFFF. */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	/* A NUL ends the text here: it is no continuation byte, so nothing past it is read. */
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* The JSON form of the character at p into tmp; returns how many bytes of p it stands for. */
static size_t quote_char(const unsigned char *p, char tmp[8])
{
	size_t len;

	if (*p == '"' || *p == '\\') {
		snprintf(tmp, 8, "\\%c", *p);
		return 1;
	}
	if (*p < 0x20 || *p == 0x7f) {
		snprintf(tmp, 8, "\\u%04x", *p);
		return 1;
	}
	if (*p < 0x80) {
		tmp[0] = (char)*p;
		tmp[1] = '\0';
		return 1;
	}
	len = utf8_len(p);
	if (!len) {
		snprintf(tmp, 8, "\\ufffd");
		return 1;
	}
	/* U+0080 to U+009F: C1 controls (0x9b is CSI to some terminals). */
	if (p[0] == 0xc2 && p[1] < 0xa0) {
		snprintf(tmp, 8, "\\u%04x", p[1]);
		return 2;
	}
	memcpy(tmp, p, len);
	tmp[len] = '\0';
	return len;
}

void ks_json_quote(struct ks_buf *buf, const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	char tmp[8];

	ks_buf_puts(buf, "\"");
	while (*p) {
		p += quote_char(p, tmp);
		ks_buf_puts(buf, tmp);
	}
	ks_buf_puts(buf, "\"");
}

/* A new line at the current depth, after a comma when something came before it. */
static void new_line(struct ks_json *json, bool comma)
{
	ks_buf_printf(&json->buf, "%s\n%*s", comma ? "," : "", (int)json->depth * 2, "");
}

/* Where a value goes: after its key, or on a line of its own in an array. */
static void start_value(struct ks_json *json)
{
	if (json->keyed)
		json->keyed = false;
	else if (json->depth)
		new_line(json, !json->empty);
	json->empty = false;
}

void ks_json_open(struct ks_json *json, char bracket)
{
	start_value(json);
	ks_buf_printf(&json->buf, "%c", bracket);
	json->depth++;
	json->empty = true;
}

void ks_json_close(struct ks_json *json, char bracket)
{
	json->depth--;
	if (!json->empty)
		new_line(json, false);
	ks_buf_printf(&json->buf, "%c", bracket);
	json->empty = false;
}

void ks_json_key(struct ks_json *json, const char *key)
{
	new_line(json, !json->empty);
	ks_json_quote(&json->buf, key);
	ks_buf_puts(&json->buf, ": ");
	json->empty = false;
	json->keyed = true;
}

void ks_json_string(struct ks_json *json, const char *text)
{
	start_value(json);
	ks_json_quote(&json->buf, text);
}

void ks_json_int(struct ks_json *json, long long value)
{
	start_value(json);
	ks_buf_printf(&json->buf, "%lld", value);
}

void ks_json_bool(struct ks_json *json, bool value)
{
	start_value(json);
	ks_buf_puts(&json->buf, value ? "true" : "false");
}
