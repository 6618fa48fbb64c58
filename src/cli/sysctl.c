// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The one sysctl killswitch changes (net.ipv4.conf.all.src_valid_mark), set
 * by enable and put back by disable: the value it had is recorded in the
 * run directory the first time, so a later enable does not record its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "killswitch/rundir.h"

/* An open descriptor of /proc/sys/KEY, or a negative errno. */
static int sysctl_open(const char *key, int flags)
{
	char path[256];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "/proc/sys/%s", key) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int sysctl_write(const char *key, const char *value)
{
	size_t len = strlen(value);
	int fd = sysctl_open(key, O_WRONLY), ret = 0;

	if (fd < 0)
		return fd;
	errno = 0;
	if (write(fd, value, len) != (ssize_t)len)
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

static int sysctl_read(const char *key, char *value, size_t size)
{
	int fd = sysctl_open(key, O_RDONLY), ret = 0;
	ssize_t got;

	if (fd < 0)
		return fd;
	got = read(fd, value, size - 1);
	if (got < 0)
		ret = -errno;
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
	bool recorded_now = false;
	int ret = sysctl_read(key, old, sizeof(old));

	if (ret < 0)
		return ret;
	if (!strcmp(old, value))
		return 0;
	/* Recorded before the change, and only if no earlier enable did: that one has the original. */
	ret = ks_sysctl_record_load(name, recorded, sizeof(recorded), err);
	if (ret == -ENOENT) {
		ret = ks_sysctl_record_save(name, old, err);
		recorded_now = ret == 0;
	}
	if (ret < 0)
		cli_warn("%s (disable will leave %s at %s)", err, name, value);
	ret = sysctl_write(key, value);
	/* Not changed after all (a read-only /proc/sys in a container): nothing for disable to undo. */
	if (ret < 0 && recorded_now && ks_sysctl_record_clear(name, err) < 0)
		cli_warn("%s", err);
	return ret;
}

void cli_sysctl_restore(const char *key, const char *name)
{
	char old[32], now[32], err[KS_ERR_LEN] = "";
	int ret = ks_sysctl_record_load(name, old, sizeof(old), err);

	if (ret == -ENOENT)
		return;
	/* A number, as the kernel printed it: nothing else is written back to /proc/sys. */
	if (ret == 0 && (!old[0] || strlen(old) > 3 || old[strspn(old, "0123456789")])) {
		snprintf(err, sizeof(err), "the recorded value is not a number: '%.32s'", old);
		ret = -EINVAL;
	}
	/* Already back (someone else put it there): only the record goes. */
	if (ret == 0 && (sysctl_read(key, now, sizeof(now)) < 0 || strcmp(now, old)))
		ret = sysctl_write(key, old);
	if (ret == 0)
		ret = ks_sysctl_record_clear(name, err);
	if (ret < 0)
		cli_warn("cannot put %s back to what it was before enable: '%s'", name, err[0] ? err : strerror(-ret));
}
