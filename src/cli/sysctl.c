// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The one sysctl killswitch changes (net.ipv4.conf.all.src_valid_mark), set
 * by enable and put back by disable: the value it had is recorded in the
 * run directory the first time, so a later enable does not record its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "killswitch/rundir.h"

static int sysctl_path(const char *key, char *path, size_t size)
{
	return (size_t)snprintf(path, size, "/proc/sys/%s", key) < size ? 0 : -ENAMETOOLONG;
}

static int sysctl_write(const char *key, const char *value)
{
	char path[256];
	size_t len = strlen(value);
	int fd, ret = sysctl_path(key, path, sizeof(path));

	if (ret < 0)
		return ret;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, value, len) != (ssize_t)len)
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

static int sysctl_read(const char *key, char *value, size_t size)
{
	char path[256];
	ssize_t got;
	int fd, ret = sysctl_path(key, path, sizeof(path));

	if (ret < 0)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	got = read(fd, value, size - 1);
	ret = got < 0 ? -errno : 0;
	close(fd);
	if (ret < 0)
		return ret;
	value[got] = '\0';
	value[strcspn(value, "\n")] = '\0';
	return 0;
}

int cli_sysctl_set(const char *key, const char *name, const char *value)
{
	char old[32], recorded[32], err[KS_ERR_LEN] = "";
	int ret = sysctl_read(key, old, sizeof(old));

	if (ret < 0)
		return ret;
	if (!strcmp(old, value))
		return 0;
	/* Recorded before the change, and only if no earlier enable did: that one has the original. */
	if (ks_sysctl_record_load(name, recorded, sizeof(recorded), err) == -ENOENT &&
	    ks_sysctl_record_save(name, old, err) < 0)
		cli_warn("%s (disable will leave %s at %s)", err, name, value);
	return sysctl_write(key, value);
}

void cli_sysctl_restore(const char *key, const char *name)
{
	char old[32], err[KS_ERR_LEN] = "";
	int ret = ks_sysctl_record_load(name, old, sizeof(old), err);

	if (ret == -ENOENT)
		return;
	/* A number, as the kernel printed it: nothing else is written back to /proc/sys. */
	if (ret == 0 && (!old[0] || strlen(old) > 3 || old[strspn(old, "0123456789")])) {
		snprintf(err, sizeof(err), "the recorded value is not a number: '%.32s'", old);
		ret = -EINVAL;
	}
	if (ret == 0)
		ret = sysctl_write(key, old);
	if (ret == 0)
		ret = ks_sysctl_record_clear(name, err);
	if (ret < 0)
		cli_warn("cannot put %s back to what it was before enable: '%s'", name, err[0] ? err : strerror(-ret));
}
