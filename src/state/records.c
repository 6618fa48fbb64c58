// SPDX-License-Identifier: GPL-2.0-or-later
/* The small records of the run directory: one short line per file (routing, fingerprint, sysctls, the cgroup). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "killswitch/file.h"
#include "killswitch/rundir.h"

/* One short line in a file of the run dir (the routing record, the rule fingerprint, a sysctl's old value). */
static int write_line(const char *name, const char *line, char err[KS_ERR_LEN])
{
	char path[4096];
	size_t len = strlen(line);
	int fd, ret = ks_rundir_make(err);

	if (ret < 0)
		return ret;
	ret = ks_rundir_path(name, path, sizeof(path), err);
	if (ret < 0)
		return ret;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return ks_sys_error(err, "write", path, -errno);
	errno = 0;
	if (write(fd, line, len) != (ssize_t)len)
		ret = ks_sys_error(err, "write", path, errno ? -errno : -EIO);
	if (close(fd) < 0 && !ret)
		ret = ks_sys_error(err, "write", path, -errno);
	return ret;
}

/* -ENOENT when the file is not there. */
static int read_line(const char *name, char *line, size_t size, char err[KS_ERR_LEN])
{
	char path[4096];
	FILE *f;
	int ret = ks_rundir_path(name, path, sizeof(path), err);

	if (ret < 0)
		return ret;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ENOENT : ks_sys_error(err, "read", path, -errno);
	ret = fgets(line, (int)size, f) ? 0 : ks_sys_error(err, "read", path, -EBADMSG);
	fclose(f);
	return ret;
}

static int remove_file(const char *name, char err[KS_ERR_LEN])
{
	char path[4096];
	int ret = ks_rundir_path(name, path, sizeof(path), err);

	if (ret < 0)
		return ret;
	if (unlink(path) < 0 && errno != ENOENT)
		return ks_sys_error(err, "remove", path, -errno);
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
		return ks_sys_error(err, "read", "routing", -EBADMSG);
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
		return ks_sys_error(err, "read", "rules", -EBADMSG);
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
		return ks_sys_error(err, "write", name, -ENAMETOOLONG);
	return write_line(file, line, err);
}

int ks_sysctl_record_load(const char *name, char *value, size_t size, char err[KS_ERR_LEN])
{
	char file[64];
	int ret;

	if (sysctl_record_name(name, file, sizeof(file)) < 0)
		return ks_sys_error(err, "read", name, -ENAMETOOLONG);
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
		return ks_sys_error(err, "remove", name, -ENAMETOOLONG);
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
