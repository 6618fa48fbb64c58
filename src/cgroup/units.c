// SPDX-License-Identifier: GPL-2.0-or-later
/* Split tunnelling by systemd unit, the I/O part: the units files, a unit's cgroup id. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "killswitch/file.h"
#include "killswitch/unit.h"

static int file_path(const char *dir, char *out, size_t size, const char *suffix, char err[KS_ERR_LEN])
{
	if (!dir || snprintf(out, size, "%s/%s%s", dir, KS_UNITS_FILE, suffix) >= (int)size)
		return ks_sys_error(err, "name the units file in", dir ? dir : "", -ENAMETOOLONG);
	return 0;
}

int ks_units_load(const char *dir, struct ks_units *units, char err[KS_ERR_LEN])
{
	char path[4096];
	char *text = NULL;
	unsigned bad = 0;
	int ret;

	ret = file_path(dir, path, sizeof(path), "", err);
	if (ret < 0)
		return ret;
	ret = ks_file_read_all(path, &text);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return ks_sys_error(err, "read", path, ret);
	ret = ks_units_parse(text, units, &bad);
	free(text);
	if (ret == -EINVAL)
		snprintf(err, KS_ERR_LEN, "not a unit's cgroup on line %u of: '%.400s'", bad, path);
	else if (ret < 0)
		ks_sys_error(err, "read", path, ret);
	return ret;
}

int ks_units_store(const char *dir, const struct ks_units *units, bool durable, char err[KS_ERR_LEN])
{
	char path[4096], tmp[4096];
	char *text = NULL;
	int ret;

	ret = file_path(dir, path, sizeof(path), "", err);
	if (ret == 0)
		ret = file_path(dir, tmp, sizeof(tmp), ".tmp", err);
	if (ret < 0)
		return ret;
	if (!units->n) {
		if (unlink(path) < 0 && errno != ENOENT)
			return ks_sys_error(err, "remove", path, -errno);
		return 0;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return ks_sys_error(err, "make the directory", dir, -errno);
	ret = ks_units_format(units, &text);
	if (ret == 0)
		ret = ks_file_replace(path, tmp, text, strlen(text), durable);
	free(text);
	if (ret < 0)
		return ks_sys_error(err, "write", path, ret);
	/* Readable by all, as /proc/PID/cgroup is: split-tunnel list reads it for users. */
	if (chmod(path, 0644) < 0)
		return ks_sys_error(err, "make readable", path, -errno);
	return 0;
}

int ks_unit_id(const char *hierarchy, const char *path, uint64_t *id)
{
	char dir[KS_UNIT_PATH_MAX + 256];
	struct stat st;

	if (snprintf(dir, sizeof(dir), "%s/%s", hierarchy, path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	if (stat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOENT;
	*id = (uint64_t)st.st_ino;
	return 0;
}
