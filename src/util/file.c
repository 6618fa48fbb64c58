// SPDX-License-Identifier: GPL-2.0-or-later
/* File helpers every layer shares: one error line, whole reads, atomic replacement. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "killswitch/file.h"

int ks_sys_error(char err[KS_ERR_LEN], const char *verb, const char *path, int ret)
{
	char escaped[KS_ERR_LEN / 2];

	snprintf(err, KS_ERR_LEN, "cannot %s (%s): '%s'", verb, strerror(-ret), ks_escape(path, escaped, sizeof(escaped)));
	return ret;
}

int ks_file_read_all(const char *path, char **out)
{
	char *buf = NULL, *grown;
	size_t len = 0, cap = 0;
	int fd, ret;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 16384;
			grown = realloc(buf, cap);
			if (!grown) {
				ret = -ENOMEM;
				goto cleanup;
			}
			buf = grown;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto cleanup;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	buf = NULL;
	ret = 0;
cleanup:
	free(buf);
	close(fd);
	return ret;
}

/* The directory holding path, synced: the rename that replaced path is then on disk too. */
static int sync_dir(const char *path)
{
	char copy[PATH_MAX];
	int fd, ret = 0;

	if ((size_t)snprintf(copy, sizeof(copy), "%s", path) >= sizeof(copy))
		return -ENAMETOOLONG;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int ks_file_replace(const char *path, const char *tmp, const void *data, size_t len, bool durable)
{
	const char *p = data;
	int fd, ret;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (durable && fsync(fd) < 0) {
		ret = -errno;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		ret = -errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		ret = -errno;
		goto fail;
	}
	return durable ? sync_dir(path) : 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return ret;
}
