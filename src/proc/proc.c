// SPDX-License-Identifier: GPL-2.0-or-later
/* /proc: pure parsers of status and stat, and reads through a directory opened while the process is known alive. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "killswitch/proc.h"

/* "Uid:\t1000\t1000\t1000\t1000" */
static int parse_four(const char *status, const char *key, unsigned long out[4])
{
	size_t klen = strlen(key);

	for (const char *line = status; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *p;
		char *end;

		if (strncmp(line, key, klen))
			continue;
		p = line + klen;
		for (int i = 0; i < 4; i++) {
			if (*p != ' ' && *p != '\t')
				return -EINVAL;
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p < '0' || *p > '9')
				return -EINVAL;
			errno = 0;
			out[i] = strtoul(p, &end, 10);
			if (errno || out[i] > UINT32_MAX)
				return -EINVAL;
			p = end;
		}
		return *p == '\n' || *p == '\0' || *p == ' ' || *p == '\t' ? 0 : -EINVAL;
	}
	return -EINVAL;
}

int ks_proc_parse_ids(const char *status, struct ks_proc_ids *out)
{
	unsigned long uid[4], gid[4];

	if (!status || parse_four(status, "Uid:", uid) < 0 || parse_four(status, "Gid:", gid) < 0)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		out->uid[i] = (uid_t)uid[i];
		out->gid[i] = (gid_t)gid[i];
	}
	return 0;
}

int ks_proc_parse_stat(const char *stat, pid_t *ppid, uint64_t *starttime)
{
	/* comm is free text: the fields start after its last ')'. */
	const char *p = stat ? strrchr(stat, ')') : NULL;
	unsigned long long value;
	char *end;

	if (!p)
		return -EINVAL;
	p++;
	/* Fields 3 (state) to 22 (starttime). */
	for (int field = 3; field <= 22; field++) {
		if (*p != ' ')
			return -EINVAL;
		p++;
		if (field == 3) {
			if (!*p || *p == ' ')
				return -EINVAL;
			p++;
			continue;
		}
		if (*p == '-' && field != 4)
			p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		errno = 0;
		value = strtoull(p, &end, 10);
		if (errno)
			return -EINVAL;
		p = end;
		if (field == 4) {
			if (value > INT_MAX)
				return -EINVAL;
			*ppid = (pid_t)value;
		} else if (field == 22) {
			*starttime = value;
		}
	}
	return 0;
}

/* Reads the whole of fd into buf, NUL-terminated, and closes fd. */
static int read_fd(int fd, char *buf, size_t size)
{
	size_t len = 0;
	int ret;

	for (;;) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* A process that exited after the open: its files read as ESRCH. */
			ret = -errno;
			goto cleanup;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == size - 1) {
			ret = -EFBIG;
			goto cleanup;
		}
	}
	buf[len] = '\0';
	ret = 0;
cleanup:
	close(fd);
	return ret;
}

int ks_proc_read(pid_t pid, const char *file, char *buf, size_t size)
{
	char path[64];
	int fd;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	else
		snprintf(path, sizeof(path), "/proc/self/%s", file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	return read_fd(fd, buf, size);
}

int ks_proc_open(pid_t pid, int pidfd)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	/* Alive after the open: the directory is that process's, not a later one's with the same PID. */
	if (pidfd_send_signal(pidfd, 0, NULL, 0) < 0 && errno == ESRCH) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

int ks_proc_read_at(int procfd, const char *file, char *buf, size_t size)
{
	int fd = openat(procfd, file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	return read_fd(fd, buf, size);
}

int ks_proc_parse_tgid(const char *status, pid_t *tgid)
{
	for (const char *line = status; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		char value[16];
		size_t len;

		if (strncmp(line, "Tgid:\t", 6))
			continue;
		len = strcspn(line + 6, "\n");
		if (len == 0 || len >= sizeof(value))
			return -EINVAL;
		memcpy(value, line + 6, len);
		value[len] = '\0';
		return ks_parse_pid(value, tgid);
	}
	return -EINVAL;
}

int ks_parse_pid(const char *text, pid_t *out)
{
	unsigned long value;
	char *end;

	if (!text || *text < '1' || *text > '9' || strlen(text) > 10)
		return -EINVAL;
	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno || *end || value > INT_MAX)
		return -EINVAL;
	*out = (pid_t)value;
	return 0;
}
