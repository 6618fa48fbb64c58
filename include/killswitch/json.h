/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_JSON_H
#define KILLSWITCH_JSON_H

#include <stdbool.h>

#include "killswitch/buf.h"

/*
 * A JSON writer for split-tunnel list --json (src/util/json.c): split-tunnel
 * may run setuid root, so it links no JSON library. It writes into buf, whose
 * sticky error the caller checks once at the end, laid out as killswitch's
 * own --json (jansson's JSON_INDENT(2)): a member or element per line,
 * indented by two spaces a level, "[]" and "{}" when empty. The caller keeps
 * the nesting right: a key before each value in an object, none in an array.
 */
struct ks_json {
	struct ks_buf buf;
	unsigned depth;
	bool empty; /* the object or array last opened has nothing in it yet */
	bool keyed; /* a key was written: its value follows on the same line */
};

#define KS_JSON_INIT { .buf = KS_BUF_INIT }

/* Opens ('{', '[') or closes ('}', ']') an object or an array. */
void ks_json_open(struct ks_json *json, char bracket);
void ks_json_close(struct ks_json *json, char bracket);
void ks_json_key(struct ks_json *json, const char *key);
void ks_json_string(struct ks_json *json, const char *text);
void ks_json_int(struct ks_json *json, long long value);
void ks_json_bool(struct ks_json *json, bool value);

/*
 * Appends text as a JSON string, quotes included. JSON text is UTF-8, and
 * what is quoted (a command name) is whatever bytes a program chose: '"' and
 * '\' are escaped, control characters (C0, DEL, and C1 in UTF-8) written
 * as \u00XX so a terminal shows rather than obeys them, well-formed UTF-8
 * (RFC 3629: no overlong forms, surrogates, or code points past U+10FFFF)
 * copied as it is, and every other byte written as \ufffd, the
 * replacement character.
 */
void ks_json_quote(struct ks_buf *buf, const char *text);

#endif
