// SPDX-License-Identifier: GPL-2.0-or-later
/* The lock that serialises every command that changes the kernel, and the run directory it lives in. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "killswitch/env.h"
#include "killswitch/file.h"
#include "killswitch/rundir.h"

int ks_rundir_path(const char *file, char *out, size_t size, char err[KS_ERR_LEN])
{
	if ((size_t)snprintf(out, size, "%s/%s", ks_env()->rundir, file) >= size)
		return ks_sys_error(err, "use", ks_env()->rundir, -ENAMETOOLONG);
	return 0;
}

int ks_rundir_make(char err[KS_ERR_LEN])
{
	const char *dir = ks_env()->rundir;
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return ks_sys_error(err, "create", dir, -errno);
	/*
	 * One that was there already must be ours alone: another user who could
	 * write in it could put a listener at watch's socket path, or records
	 * of their choosing, before killswitch reads them.
	 */
	if (lstat(dir, &st) < 0)
		return ks_sys_error(err, "check", dir, -errno);
	if (!S_ISDIR(st.st_mode))
		return ks_sys_error(err, "use (not a directory)", dir, -ENOTDIR);
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return ks_sys_error(err, "use (owned by another user, or writable by others)", dir, -EPERM);
	return 0;
}

static int lock(const char *name, int *fd, int how, char err[KS_ERR_LEN])
{
	char path[4096];
	int ret;

	*fd = -1;
	ret = ks_rundir_make(err);
	if (ret < 0)
		return ret;
	ret = ks_rundir_path(name, path, sizeof(path), err);
	if (ret < 0)
		return ret;
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*fd < 0 || flock(*fd, how) < 0) {
		ret = errno == EWOULDBLOCK ? -EWOULDBLOCK : ks_sys_error(err, "lock", path, -errno);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return ret;
	}
	return 0;
}

int ks_lock(int *fd, char err[KS_ERR_LEN])
{
	return lock("lock", fd, LOCK_EX, err);
}

int ks_lock_try(int *fd, char err[KS_ERR_LEN])
{
	return lock("lock", fd, LOCK_EX | LOCK_NB, err);
}

int ks_lock_watch(int *fd, char err[KS_ERR_LEN])
{
	return lock("watch.lock", fd, LOCK_EX | LOCK_NB, err);
}

void ks_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

