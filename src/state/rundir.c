// SPDX-License-Identifier: GPL-2.0-or-later
#define _GNU_SOURCE /* memrchr, memmem */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "killswitch/buf.h"
#include "killswitch/cgroup.h"
#include "killswitch/parse.h"
#include "killswitch/rundir.h"

const char *ks_rundir(void)
{
	const char *dir = getenv("KILLSWITCH_RUNDIR");

	return dir && *dir ? dir : "/run/killswitch";
}

int ks_check_environment(char err[KS_ERR_LEN])
{
	static const char *const dirs[] = { "KILLSWITCH_RUNDIR", "KILLSWITCH_CONFDIR" };
	char escaped[KS_ERR_LEN / 2];
	enum ks_split_mode want;
	const char *table, *group;
	bool off;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		const char *dir = getenv(dirs[i]);

		/* A relative directory would silently depend on the caller's cwd. */
		if (dir && *dir && (dir[0] != '/' || strlen(dir) > 1024)) {
			snprintf(err, KS_ERR_LEN, "%s must be an absolute path: '%s'", dirs[i],
				 ks_escape(dir, escaped, sizeof(escaped)));
			return -EINVAL;
		}
	}
	/* Checked here too, not only when split tunnelling is set up: a typo must not pass for a warning. */
	if (ks_cgroup_env(true, &want, &off, &group, err) < 0)
		return -EINVAL;
	return ks_table_name(&table, err);
}

int ks_table_name(const char **table, char err[KS_ERR_LEN])
{
	const char *name = getenv("KILLSWITCH_TABLE");
	char escaped[KS_ERR_LEN / 2];

	if (!name || !*name)
		name = KS_TABLE_NAME;
	if (ks_parse_table_name(name) < 0) {
		snprintf(err, KS_ERR_LEN, "invalid KILLSWITCH_TABLE (killswitch followed by letters, digits, _): '%s'",
			 ks_escape(name, escaped, sizeof(escaped)));
		return -EINVAL;
	}
	*table = name;
	return 0;
}

/* "cannot VERB (reason): 'PATH'"; returns ret. */
static int sys_error(char err[KS_ERR_LEN], const char *verb, const char *path, int ret)
{
	char escaped[KS_ERR_LEN / 2];

	snprintf(err, KS_ERR_LEN, "cannot %s (%s): '%s'", verb, strerror(-ret),
		 ks_escape(path, escaped, sizeof(escaped)));
	return ret;
}

static int path_of(const char *file, char *out, size_t size, char err[KS_ERR_LEN])
{
	if ((size_t)snprintf(out, size, "%s/%s", ks_rundir(), file) >= size)
		return sys_error(err, "use", ks_rundir(), -ENAMETOOLONG);
	return 0;
}

static int make_rundir(char err[KS_ERR_LEN])
{
	if (mkdir(ks_rundir(), 0700) < 0 && errno != EEXIST)
		return sys_error(err, "create", ks_rundir(), -errno);
	return 0;
}

int ks_lock(int *fd, char err[KS_ERR_LEN])
{
	char path[4096];
	int ret;

	*fd = -1;
	ret = make_rundir(err);
	if (ret < 0)
		return ret;
	ret = path_of("lock", path, sizeof(path), err);
	if (ret < 0)
		return ret;
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*fd < 0 || flock(*fd, LOCK_EX) < 0) {
		ret = sys_error(err, "lock", path, -errno);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return ret;
	}
	return 0;
}

void ks_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/*
 * The state file ends its policy with this line and the endpoint count;
 * endpoint add|del append their changes after it (ks_state_append), each
 * line with the count after it as a comment, and ks_state_load replays them.
 */
#define JOURNAL_MARKER "# endpoints above: "

/* Writes policy to DIR/policy through a temporary file and rename(); durable when asked. */
static int save_policy(const char *dir, const char *header, const struct ks_policy *policy, bool durable,
		       bool journal, char err[KS_ERR_LEN])
{
	struct ks_buf text = KS_BUF_INIT;
	char path[4096], tmp[4096 + 8];
	FILE *f = NULL;
	int ret, fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/policy", dir) >= sizeof(path))
		return sys_error(err, "write", dir, -ENAMETOOLONG);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ks_buf_puts(&text, header);
	ks_options_format(policy, &text);
	if (journal)
		ks_buf_printf(&text, JOURNAL_MARKER "%zu; endpoint add|del append their changes below\n",
			      policy->n_endpoints);
	ret = text.err;
	if (ret < 0)
		goto cleanup;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	errno = 0;
	if (fwrite(text.data, 1, text.len, f) != text.len || fflush(f) || (durable && fsync(fileno(f)))) {
		ret = errno ? -errno : -EIO;
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		ret = -errno;
		goto fail;
	}
	ret = 0;
	goto cleanup;
fail:
	sys_error(err, "write", path, ret);
	unlink(tmp);
cleanup:
	if (f)
		fclose(f);
	ks_buf_free(&text);
	return ret;
}

int ks_state_save(const struct ks_policy *policy, char err[KS_ERR_LEN])
{
	int ret = make_rundir(err);

	if (ret < 0)
		return ret;
	/* Not durable: /run does not outlive a reboot, and rename() alone keeps readers whole. */
	return save_policy(ks_rundir(), "# The policy killswitch last applied; read by 'killswitch status'.\n", policy,
			   false, true, err);
}

static int load_policy(const char *dir, struct ks_policy *policy, char err[KS_ERR_LEN])
{
	char path[4096];
	int ret;

	if ((size_t)snprintf(path, sizeof(path), "%s/policy", dir) >= sizeof(path))
		return sys_error(err, "read", dir, -ENAMETOOLONG);
	if (access(path, F_OK) < 0)
		return -ENOENT;
	ret = ks_options_parse_file(policy, path, err);
	if (ret == 0)
		ks_policy_finalize(policy);
	return ret;
}

static int clear_policy(const char *dir, char err[KS_ERR_LEN])
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/policy", dir) >= sizeof(path))
		return sys_error(err, "remove", dir, -ENAMETOOLONG);
	if (unlink(path) < 0 && errno != ENOENT)
		return sys_error(err, "remove", path, -errno);
	return 0;
}

int ks_state_load(struct ks_policy *policy, char err[KS_ERR_LEN])
{
	return load_policy(ks_rundir(), policy, err);
}

int ks_state_clear(char err[KS_ERR_LEN])
{
	return clear_policy(ks_rundir(), err);
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
	int fd, ret = path_of("policy", path, sizeof(path), err);

	memset(near, 0, sizeof(*near));
	if (ret < 0)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : sys_error(err, "read", path, -errno);
	if (fstat(fd, &st) < 0) {
		ret = sys_error(err, "read", path, -errno);
		goto cleanup;
	}
	ret = -EPROTO;
	if (!st.st_size)
		goto cleanup;
	/* Mapped, not read: only the pages of the binary search and of the journal are touched. */
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		ret = sys_error(err, "read", path, -errno);
		goto cleanup;
	}
	ret = load_near(map, (size_t)st.st_size, policy, eps, n, near);
	if (ret == -ENOMEM)
		sys_error(err, "read", path, ret);
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
	int fd, ret = path_of("policy", path, sizeof(path), err);

	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		ks_format_endpoint(&eps[i], ep);
		ks_buf_printf(&text, "endpoint-%s %s # %zu\n", add ? "add" : "del", ep,
			      add ? total - n + i + 1 : total + n - i - 1);
	}
	if (text.err) {
		ret = sys_error(err, "write", path, text.err);
		goto out;
	}
	fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		ret = sys_error(err, "write", path, -errno);
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
		sys_error(err, "append to", path, ret);
	close(fd);
out:
	ks_buf_free(&text);
	return ret;
}

const char *ks_confdir(void)
{
	const char *dir = getenv("KILLSWITCH_CONFDIR");

	return dir && *dir ? dir : KS_CONFDIR_DEFAULT;
}

int ks_persist_save(const struct ks_policy *policy, char err[KS_ERR_LEN])
{
	if (mkdir(ks_confdir(), 0755) < 0 && errno != EEXIST)
		return sys_error(err, "create", ks_confdir(), -errno);
	return save_policy(ks_confdir(),
			   "# Stored by 'killswitch enable --persist'; killswitch.service applies it at boot.\n"
			   "# 'killswitch disable' removes it.\n",
			   policy, true, false, err);
}

int ks_persist_load(struct ks_policy *policy, char err[KS_ERR_LEN])
{
	return load_policy(ks_confdir(), policy, err);
}

int ks_persist_clear(char err[KS_ERR_LEN])
{
	return clear_policy(ks_confdir(), err);
}

/* One short line in a file of the run dir (the routing record, the rule fingerprint, a sysctl's old value). */
static int write_line(const char *name, const char *line, char err[KS_ERR_LEN])
{
	char path[4096];
	size_t len = strlen(line);
	int fd, ret = make_rundir(err);

	if (ret < 0)
		return ret;
	ret = path_of(name, path, sizeof(path), err);
	if (ret < 0)
		return ret;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return sys_error(err, "write", path, -errno);
	errno = 0;
	if (write(fd, line, len) != (ssize_t)len)
		ret = sys_error(err, "write", path, errno ? -errno : -EIO);
	if (close(fd) < 0 && !ret)
		ret = sys_error(err, "write", path, -errno);
	return ret;
}

/* -ENOENT when the file is not there. */
static int read_line(const char *name, char *line, size_t size, char err[KS_ERR_LEN])
{
	char path[4096];
	FILE *f;
	int ret = path_of(name, path, sizeof(path), err);

	if (ret < 0)
		return ret;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ENOENT : sys_error(err, "read", path, -errno);
	ret = fgets(line, (int)size, f) ? 0 : sys_error(err, "read", path, -EBADMSG);
	fclose(f);
	return ret;
}

static int remove_file(const char *name, char err[KS_ERR_LEN])
{
	char path[4096];
	int ret = path_of(name, path, sizeof(path), err);

	if (ret < 0)
		return ret;
	if (unlink(path) < 0 && errno != ENOENT)
		return sys_error(err, "remove", path, -errno);
	return 0;
}

int ks_routing_record_save(uint32_t fwmark, uint32_t table, char err[KS_ERR_LEN])
{
	char line[64];

	snprintf(line, sizeof(line), "0x%x %u\n", fwmark, table);
	return write_line("routing", line, err);
}

int ks_routing_record_load(uint32_t *fwmark, uint32_t *table, char err[KS_ERR_LEN])
{
	char line[64];
	int ret = read_line("routing", line, sizeof(line), err);

	if (ret < 0)
		return ret;
	if (sscanf(line, "%x %u", fwmark, table) != 2)
		return sys_error(err, "read", "routing", -EBADMSG);
	return 0;
}

int ks_routing_record_clear(char err[KS_ERR_LEN])
{
	return remove_file("routing", err);
}

int ks_fingerprint_save(uint64_t hash, unsigned rules, uint64_t table_handle, char err[KS_ERR_LEN])
{
	char line[96];

	snprintf(line, sizeof(line), "%016llx %u %llu\n", (unsigned long long)hash, rules,
		 (unsigned long long)table_handle);
	return write_line("rules", line, err);
}

int ks_fingerprint_clear(char err[KS_ERR_LEN])
{
	return remove_file("rules", err);
}

int ks_fingerprint_load(uint64_t *hash, unsigned *rules, uint64_t *table_handle, char err[KS_ERR_LEN])
{
	unsigned long long h, t = 0;
	char line[96];
	int ret = read_line("rules", line, sizeof(line), err);

	if (ret < 0)
		return ret;
	/* A file from before the table handle was recorded has two fields: handle 0, unknown. */
	if (sscanf(line, "%llx %u %llu", &h, rules, &t) < 2)
		return sys_error(err, "read", "rules", -EBADMSG);
	*hash = h;
	*table_handle = t;
	return 0;
}

/* "sysctl-src_valid_mark": the value before enable set it. */
static int sysctl_record_name(const char *name, char *out, size_t size)
{
	return (size_t)snprintf(out, size, "sysctl-%s", name) < size ? 0 : -ENAMETOOLONG;
}

int ks_sysctl_record_save(const char *name, const char *value, char err[KS_ERR_LEN])
{
	char file[64], line[64];

	if (sysctl_record_name(name, file, sizeof(file)) < 0 || (size_t)snprintf(line, sizeof(line), "%s\n", value) >= sizeof(line))
		return sys_error(err, "write", name, -ENAMETOOLONG);
	return write_line(file, line, err);
}

int ks_sysctl_record_load(const char *name, char *value, size_t size, char err[KS_ERR_LEN])
{
	char file[64];
	int ret;

	if (sysctl_record_name(name, file, sizeof(file)) < 0)
		return sys_error(err, "read", name, -ENAMETOOLONG);
	ret = read_line(file, value, size, err);
	if (ret < 0)
		return ret;
	value[strcspn(value, "\n")] = '\0';
	return 0;
}

int ks_sysctl_record_clear(const char *name, char err[KS_ERR_LEN])
{
	char file[64];

	if (sysctl_record_name(name, file, sizeof(file)) < 0)
		return sys_error(err, "remove", name, -ENAMETOOLONG);
	return remove_file(file, err);
}

int ks_cgroup_record_save(char err[KS_ERR_LEN])
{
	return write_line("cgroup-created", "1\n", err);
}

bool ks_cgroup_record_exists(void)
{
	char line[8], err[KS_ERR_LEN];

	return read_line("cgroup-created", line, sizeof(line), err) == 0;
}

int ks_cgroup_record_clear(char err[KS_ERR_LEN])
{
	return remove_file("cgroup-created", err);
}
