// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The endpoint journal's file: endpoint add|del append their changes to the
 * state file instead of rewriting it, and a load near a few endpoints maps
 * the file and reads only what it needs. The lines themselves are
 * src/policy/journal.c's; this file opens, maps and writes.
 */
#define _GNU_SOURCE /* memrchr */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "killswitch/buf.h"
#include "killswitch/file.h"
#include "killswitch/journal.h"
#include "killswitch/rundir.h"

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
	ret = ks_journal_load_near(map, (size_t)st.st_size, policy, eps, n, near);
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
	char path[4096];
	struct stat st;
	off_t size;
	int fd, ret = ks_rundir_path("policy", path, sizeof(path), err);

	if (ret < 0)
		return ret;
	ks_journal_format(&text, eps, n, add, total);
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
