// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The endpoint journal's format, in one place: its lines written, parsed and
 * replayed onto a policy, and the search of a state file for the endpoints
 * that share an address with a few. Pure functions over buffers, no I/O.
 */
#define _GNU_SOURCE /* memrchr */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "killswitch/array.h"
#include "killswitch/buf.h"
#include "killswitch/journal.h"
#include "killswitch/parse.h"

#define MARKER "# endpoints above: "

void ks_journal_format_marker(struct ks_buf *out, size_t count)
{
	ks_buf_printf(out, MARKER "%zu; endpoint add|del append their changes below\n", count);
}

void ks_journal_format(struct ks_buf *out, const struct ks_endpoint *eps, size_t n, bool add, size_t total)
{
	char text[KS_ENDPOINT_STRLEN];

	for (size_t i = 0; i < n; i++) {
		ks_format_endpoint(&eps[i], text);
		ks_buf_printf(out, "endpoint-%s %s # %zu\n", add ? "add" : "del", text,
			      add ? total - n + i + 1 : total + n - i - 1);
	}
}

/*
 * A policy file line cut as options.c cuts it: '#' starts a comment, blanks
 * and line ends around the rest go, then "[--]NAME", blanks, an optional
 * '=' and blanks, and VALUE to the end. Spans of the line, which may hold
 * any byte and need not be NUL-terminated.
 */
struct line_parts {
	const char *text, *name, *value, *comment; /* comment: after the '#', NULL without one */
	size_t text_len, name_len, value_len;
};

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static void split_line(const char *line, size_t len, struct line_parts *parts)
{
	const char *stop = memchr(line, '#', len), *p = line;

	parts->comment = stop ? stop + 1 : NULL;
	if (!stop)
		stop = line + len;
	while (p < stop && blank(*p))
		p++;
	while (stop > p && (blank(stop[-1]) || stop[-1] == '\r' || stop[-1] == '\n'))
		stop--;
	parts->text = p;
	parts->text_len = (size_t)(stop - p);
	if (stop - p >= 2 && p[0] == '-' && p[1] == '-')
		p += 2;
	parts->name = p;
	while (p < stop && !blank(*p) && *p != '=')
		p++;
	parts->name_len = (size_t)(p - parts->name);
	while (p < stop && blank(*p))
		p++;
	if (p < stop && *p == '=')
		for (p++; p < stop && blank(*p); p++)
			;
	parts->value = p;
	parts->value_len = (size_t)(stop - p);
}

static bool is_name(const struct line_parts *parts, const char *name)
{
	return parts->name_len == strlen(name) && !memcmp(parts->name, name, parts->name_len);
}

/* The endpoint a value spells; -EINVAL for anything else. */
static int value_endpoint(const char *value, size_t len, struct ks_endpoint *ep)
{
	/* Longer than any endpoint ks_parse_endpoint() takes ("[45-character IPv6]:65535/udp"). */
	char text[KS_ENDPOINT_STRLEN + 1];

	if (len >= sizeof(text) || memchr(value, '\0', len))
		return -EINVAL;
	memcpy(text, value, len);
	text[len] = '\0';
	return ks_parse_endpoint(text, ep);
}

/* Fills err with "<what>: '<value>'" and returns -EINVAL; value is a span of a line. */
static int bad(char err[KS_ERR_LEN], const char *what, const char *value, size_t len)
{
	/* A longer value is cut by ks_escape() all the same. */
	char text[KS_ERR_LEN], escaped[KS_ERR_LEN / 2];

	if (len >= sizeof(text))
		len = sizeof(text) - 1;
	memcpy(text, value, len);
	text[len] = '\0';
	snprintf(err, KS_ERR_LEN, "%s: '%s'", what, ks_escape(text, escaped, sizeof(escaped)));
	return -EINVAL;
}

/* The decimal number at [p, end), up to the first other byte; -EINVAL without a digit, -ERANGE past SIZE_MAX. */
static int parse_count(const char *p, const char *end, size_t *count)
{
	const char *digits = p;
	size_t value = 0;

	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (value > (SIZE_MAX - (size_t)(*p - '0')) / 10)
			return -ERANGE;
		value = value * 10 + (size_t)(*p - '0');
	}
	if (p == digits)
		return -EINVAL;
	*count = value;
	return 0;
}

int ks_journal_parse_line(const char *line, size_t len, struct ks_journal_change *change, char err[KS_ERR_LEN])
{
	struct line_parts parts;

	split_line(line, len, &parts);
	if (!is_name(&parts, "endpoint-add") && !is_name(&parts, "endpoint-del"))
		return 0;
	memset(change, 0, sizeof(*change));
	change->add = is_name(&parts, "endpoint-add");
	/* Refused as any option without its value is, whole or torn. */
	if (!parts.value_len)
		return bad(err, "option needs a value", parts.text, parts.text_len);
	change->torn = line[len - 1] != '\n';
	if (change->torn)
		return 1;
	if (value_endpoint(parts.value, parts.value_len, &change->ep) < 0)
		return bad(err, "invalid endpoint (numeric ADDR:PORT or [ADDR6]:PORT, then /udp or /tcp)", parts.value,
			   parts.value_len);
	if (parts.comment && parts.comment < line + len && *parts.comment == ' ')
		change->counted = parse_count(parts.comment + 1, line + len, &change->count) == 0;
	return 1;
}

/* An endpoint-del line drops the endpoint from the lines before it: the first `before` endpoints. */
struct ks_journal_del {
	struct ks_endpoint ep;
	size_t before;
};

int ks_journal_replay(struct ks_journal_replay *replay, struct ks_policy *policy,
		      const struct ks_journal_change *change)
{
	struct ks_journal_del del = { .ep = change->ep, .before = policy->n_endpoints };

	if (change->torn)
		return 0;
	if (change->add)
		return ks_policy_add_endpoint(policy, &change->ep);
	return ks_array_append((void **)&replay->dels, &replay->n_dels, sizeof(del), &del);
}

static int cmp_del(const void *va, const void *vb)
{
	const struct ks_journal_del *a = va, *b = vb;
	int r = memcmp(&a->ep, &b->ep, sizeof(a->ep));

	return r ? r : (a->before > b->before) - (a->before < b->before);
}

/*
 * An endpoint goes when a del line after it names it. Sorted, the last del
 * of each endpoint reaches furthest; then one binary search per endpoint.
 */
void ks_journal_replay_end(struct ks_journal_replay *replay, struct ks_policy *policy)
{
	struct ks_journal_del *dels = replay->dels;
	size_t kept = 0, last = 0, n_dels = replay->n_dels;

	if (!n_dels)
		goto cleanup;
	qsort(dels, n_dels, sizeof(*dels), cmp_del);
	for (size_t i = 1; i < n_dels; i++) {
		if (memcmp(&dels[i].ep, &dels[last].ep, sizeof(dels[i].ep)))
			last++;
		dels[last] = dels[i];
	}
	n_dels = last + 1;
	for (size_t i = 0; i < policy->n_endpoints; i++) {
		const struct ks_endpoint *ep = &policy->endpoints[i];
		size_t lo = 0, hi = n_dels;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (memcmp(&dels[mid].ep, ep, sizeof(*ep)) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == n_dels || memcmp(&dels[lo].ep, ep, sizeof(*ep)) || i >= dels[lo].before)
			policy->endpoints[kept++] = *ep;
	}
	policy->n_endpoints = kept;
cleanup:
	ks_journal_replay_free(replay);
}

void ks_journal_replay_free(struct ks_journal_replay *replay)
{
	free(replay->dels);
	replay->dels = NULL;
	replay->n_dels = 0;
}

/* The line before *end in [base, *end): its start and length with the newline. False at base. */
static bool prev_line(const char *base, const char **end, const char **line, size_t *len)
{
	const char *nl;

	if (*end <= base)
		return false;
	nl = *end - 1 > base ? memrchr(base, '\n', (size_t)(*end - 1 - base)) : NULL;
	*line = nl ? nl + 1 : base;
	*len = (size_t)(*end - *line);
	*end = *line;
	return true;
}

/* The length of the line at line, its newline included, stopping at limit. */
static size_t line_len(const char *line, const char *limit)
{
	const char *nl = memchr(line, '\n', (size_t)(limit - line));

	return nl ? (size_t)(nl + 1 - line) : (size_t)(limit - line);
}

/* The count of a whole marker line; -EINVAL for any other line. */
static int marker_count(const char *line, size_t len, size_t *count)
{
	size_t n = strlen(MARKER);

	if (len <= n || memcmp(line, MARKER, n) || line[len - 1] != '\n')
		return -EINVAL;
	return parse_count(line + n, line + len, count);
}

static bool is_saved(const char *line, size_t len, struct line_parts *parts)
{
	split_line(line, len, parts);
	return is_name(parts, "endpoint");
}

/* The order ks_policy_finalize() sorts endpoints in, by address: IPv4 first, then the bytes. */
static int addr_order(const struct ks_addr *a, const struct ks_addr *b)
{
	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	return a->family == AF_INET ? memcmp(&a->v4, &b->v4, sizeof(a->v4)) : memcmp(&a->v6, &b->v6, sizeof(a->v6));
}

/* Does a saved line hold an endpoint ordered before addr? Lines after the endpoints sort last. */
static bool line_before(const char *line, size_t len, const struct ks_addr *addr)
{
	struct line_parts parts;
	struct ks_endpoint ep;

	return is_saved(line, len, &parts) && value_endpoint(parts.value, parts.value_len, &ep) == 0 &&
	       addr_order(&ep.addr, addr) < 0;
}

/*
 * Adds the saved endpoints with address addr to policy: the saved list is
 * sorted, so a binary search over the lines [from, to) finds the first, and
 * the others follow it.
 */
static int add_saved(struct ks_policy *policy, const char *from, const char *to, const struct ks_addr *addr)
{
	const char *lo = from, *hi = to;
	struct line_parts parts;
	struct ks_endpoint ep;

	/* lo and hi stay at line starts; every probe reads the line around the middle. */
	while (lo < hi) {
		const char *mid = lo + (hi - lo) / 2, *nl = memrchr(lo, '\n', (size_t)(mid - lo));
		const char *line = nl ? nl + 1 : lo;
		size_t len = line_len(line, hi);

		if (line_before(line, len, addr))
			lo = line + len;
		else
			hi = line;
	}
	for (size_t len; lo < to; lo += len) {
		len = line_len(lo, to);
		if (!is_saved(lo, len, &parts) || value_endpoint(parts.value, parts.value_len, &ep) < 0 ||
		    addr_order(&ep.addr, addr))
			break;
		if (ks_policy_add_endpoint(policy, &ep) < 0)
			return -ENOMEM;
	}
	return 0;
}

static bool has_addr(const struct ks_endpoint *eps, size_t n, const struct ks_addr *addr)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(&eps[i].addr, addr, sizeof(*addr)))
			return true;
	return false;
}

int ks_journal_load_near(const char *buf, size_t size, struct ks_policy *policy, const struct ks_endpoint *eps,
			 size_t n, struct ks_state_near *near)
{
	struct ks_journal_replay replay = { 0 };
	struct ks_journal_change change;
	struct line_parts parts;
	const char *end = buf + size, *line, *marker = NULL, *first;
	char err[KS_ERR_LEN];
	size_t len, saved = 0;
	bool counted = false;
	int ret = 0;

	memset(near, 0, sizeof(*near));
	/* Backwards over the journal to the marker: a torn last line is not there yet, the last whole one counts. */
	while (!marker && prev_line(buf, &end, &line, &len)) {
		if (line + len == buf + size && line[len - 1] != '\n')
			continue;
		ret = ks_journal_parse_line(line, len, &change, err);
		if (ret > 0) {
			if (!counted && !change.counted)
				return -EPROTO;
			if (!counted)
				near->total = change.count;
			counted = true;
			near->journal++;
		} else if (ret == 0 && marker_count(line, len, &saved) == 0) {
			marker = line;
		} else {
			return -EPROTO;
		}
	}
	if (!marker)
		return -EPROTO;
	ret = 0;
	if (!counted)
		near->total = saved;
	/* The saved endpoints start after the state and tunnel lines. */
	for (first = buf; first < marker; first += len) {
		len = line_len(first, marker);
		if (is_saved(first, len, &parts))
			break;
	}
	for (size_t i = 0; i < n; i++) {
		if (has_addr(eps, i, &eps[i].addr))
			continue;
		ret = add_saved(policy, first, marker, &eps[i].addr);
		if (ret < 0)
			goto cleanup;
	}
	/* Forwards over the journal: every whole line is a change, checked above. */
	for (line = marker + line_len(marker, buf + size); line < buf + size; line += len) {
		len = line_len(line, buf + size);
		if (line[len - 1] != '\n')
			break;
		if (ks_journal_parse_line(line, len, &change, err) <= 0) {
			ret = -EPROTO;
			goto cleanup;
		}
		if (!has_addr(eps, n, &change.ep.addr))
			continue;
		ret = ks_journal_replay(&replay, policy, &change);
		if (ret < 0)
			goto cleanup;
	}
	ks_journal_replay_end(&replay, policy);
cleanup:
	ks_journal_replay_free(&replay);
	return ret;
}
