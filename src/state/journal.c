// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The endpoint journal: endpoint add|del append their changes to the state
 * file instead of rewriting it; loading replays them, and a load near a
 * few endpoints reads only what it needs through a map of the file.
 */
#define _GNU_SOURCE /* memrchr, memmem */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "killswitch/buf.h"
#include "killswitch/file.h"
#include "killswitch/parse.h"
#include "killswitch/rundir.h"
#include "state.h"

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

static size_t line_len(const char *line, const char *limit)
{
	const char *nl = memchr(line, '\n', (size_t)(limit - line));

	return nl ? (size_t)(nl + 1 - line) : (size_t)(limit - line);
}

/* The mapped file has no terminating NUL: every comparison is bounded by the line. */
static bool starts(const char *line, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && !memcmp(line, prefix, n);
}

/* The endpoint of a line "KEYWORD ENDPOINT[ # comment]"; -EINVAL for any other line. */
static int line_endpoint(const char *line, size_t len, const char *keyword, struct ks_endpoint *ep)
{
	size_t k = strlen(keyword), n = 0;
	char text[KS_ENDPOINT_STRLEN + 1];

	if (len <= k || memcmp(line, keyword, k) || line[k] != ' ')
		return -EINVAL;
	line += k + 1;
	len -= k + 1;
	while (n < len && !strchr(" \t#\r\n", line[n]))
		n++;
	if (!n || n >= sizeof(text))
		return -EINVAL;
	memcpy(text, line, n);
	text[n] = '\0';
	return ks_parse_endpoint(text, ep);
}

/* The number after the first `after` in a whole line; -EINVAL without one. */
static int line_count(const char *line, size_t len, const char *after, size_t *count)
{
	const char *p = memmem(line, len, after, strlen(after));

	if (!p || line[len - 1] != '\n')
		return -EINVAL;
	p += strlen(after);
	/* The line ends with its newline: strtoul stops there at the latest. */
	if (*p < '0' || *p > '9')
		return -EINVAL;
	*count = strtoul(p, NULL, 10);
	return 0;
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
	struct ks_endpoint ep;

	return line_endpoint(line, len, "endpoint", &ep) == 0 && addr_order(&ep.addr, addr) < 0;
}

/*
 * Adds the saved endpoints with address addr to policy: the saved list is
 * sorted, so a binary search over the lines [from, to) finds the first, and
 * the others follow it.
 */
static int add_saved(struct ks_policy *policy, const char *from, const char *to, const struct ks_addr *addr)
{
	const char *lo = from, *hi = to;
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
		if (line_endpoint(lo, len, "endpoint", &ep) < 0 || addr_order(&ep.addr, addr))
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

/* One journal line replayed on the endpoints of policy that share an address with eps[0..n). */
static int replay(struct ks_policy *policy, const struct ks_endpoint *eps, size_t n, const char *line, size_t len)
{
	struct ks_endpoint ep;
	bool add = line_endpoint(line, len, "endpoint-add", &ep) == 0;
	size_t kept = 0;

	if (!add && line_endpoint(line, len, "endpoint-del", &ep) < 0)
		return -EPROTO;
	if (!has_addr(eps, n, &ep.addr))
		return 0;
	for (size_t i = 0; i < policy->n_endpoints; i++)
		if (memcmp(&policy->endpoints[i], &ep, sizeof(ep)))
			policy->endpoints[kept++] = policy->endpoints[i];
	policy->n_endpoints = kept;
	return add ? ks_policy_add_endpoint(policy, &ep) : 0;
}

/* Reads the state file's endpoints near eps from its mapping; -EPROTO when it has no journal marker. */
static int load_near(const char *map, size_t size, struct ks_policy *policy, const struct ks_endpoint *eps, size_t n,
		     struct ks_state_near *near)
{
	const char *end = map + size, *line, *marker = NULL, *first;
	size_t len, last_total = 0;
	bool have_total = false;
	int ret;

	/* Backwards over the journal to the marker: a torn last line (no newline) is not there yet. */
	while (!marker && prev_line(map, &end, &line, &len)) {
		if (line[len - 1] != '\n' && line + len == map + size)
			continue;
		if (starts(line, len, "endpoint-add ") || starts(line, len, "endpoint-del ")) {
			near->journal++;
			if (!have_total && line_count(line, len, "# ", &last_total) < 0)
				return -EPROTO;
			have_total = true;
		} else if (starts(line, len, JOURNAL_MARKER) && line_count(line, len, JOURNAL_MARKER, &near->total) == 0) {
			marker = line;
		} else {
			return -EPROTO;
		}
	}
	if (!marker)
		return -EPROTO;
	if (have_total)
		near->total = last_total;
	/* The saved endpoints start after the state and tunnel lines. */
	for (first = map; first < marker; first += len) {
		len = line_len(first, marker);
		if (starts(first, len, "endpoint "))
			break;
	}
	for (size_t i = 0; i < n; i++) {
		if (has_addr(eps, i, &eps[i].addr))
			continue;
		ret = add_saved(policy, first, marker, &eps[i].addr);
		if (ret < 0)
			return ret;
	}
	for (line = marker + line_len(marker, map + size); line < map + size; line += len) {
		len = line_len(line, map + size);
		if (line[len - 1] != '\n')
			break;
		ret = replay(policy, eps, n, line, len);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int ks_state_load_near(struct ks_policy *policy, const struct ks_endpoint *eps, size_t n, struct ks_state_near *near,
		       char err[KS_ERR_LEN])
{
	char path[4096];
	struct stat st;
	void *map;
	int fd, ret = ks_rundir_path("policy", path, sizeof(path), err);

	memset(near, 0, sizeof(*near));
	if (ret < 0)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : ks_sys_error(err, "read", path, -errno);
	if (fstat(fd, &st) < 0) {
		ret = ks_sys_error(err, "read", path, -errno);
		goto cleanup;
	}
	ret = -EPROTO;
	if (!st.st_size)
		goto cleanup;
	/* Mapped, not read: only the pages of the binary search and of the journal are touched. */
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		ret = ks_sys_error(err, "read", path, -errno);
		goto cleanup;
	}
	ret = load_near(map, (size_t)st.st_size, policy, eps, n, near);
	if (ret == -ENOMEM)
		ks_sys_error(err, "read", path, ret);
	munmap(map, (size_t)st.st_size);
cleanup:
	close(fd);
	return ret;
}

/* Cuts a torn last line (an append that died half-way): ours would be glued to it. */
static int cut_torn_line(int fd, off_t *size)
{
	char tail[4096];
	size_t n = *size < (off_t)sizeof(tail) ? (size_t)*size : sizeof(tail);
	const char *nl;

	if (!n)
		return 0;
	if (pread(fd, tail, n, *size - (off_t)n) != (ssize_t)n)
		return -EIO;
	if (tail[n - 1] == '\n')
		return 0;
	nl = memrchr(tail, '\n', n);
	if (!nl)
		return -EPROTO;
	*size -= (off_t)(tail + n - nl - 1);
	return ftruncate(fd, *size) < 0 ? -errno : 0;
}

int ks_state_append(const struct ks_endpoint *eps, size_t n, bool add, size_t total, char err[KS_ERR_LEN])
{
	struct ks_buf text = KS_BUF_INIT;
	char path[4096], ep[KS_ENDPOINT_STRLEN];
	struct stat st;
	off_t size;
	int fd, ret = ks_rundir_path("policy", path, sizeof(path), err);

	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		ks_format_endpoint(&eps[i], ep);
		ks_buf_printf(&text, "endpoint-%s %s # %zu\n", add ? "add" : "del", ep,
			      add ? total - n + i + 1 : total + n - i - 1);
	}
	if (text.err) {
		ret = ks_sys_error(err, "write", path, text.err);
		goto out;
	}
	fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		ret = ks_sys_error(err, "write", path, -errno);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto fail;
	}
	size = st.st_size;
	ret = cut_torn_line(fd, &size);
	if (ret < 0)
		goto fail;
	/* One write: readers see all the lines or, with a torn one, the complete lines before it. */
	errno = 0;
	if (write(fd, text.data, text.len) != (ssize_t)text.len) {
		ret = errno ? -errno : -ENOSPC;
		/* Half a change would be replayed as a whole one: take it back (failing that, the next append cuts it). */
		if (ftruncate(fd, size) < 0)
			ret = -errno;
	}
fail:
	if (ret < 0)
		ks_sys_error(err, "append to", path, ret);
	close(fd);
out:
	ks_buf_free(&text);
	return ret;
}

