// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "killswitch/buf.h"
#include "killswitch/parse.h"
#include "killswitch/rundir.h"

const char *ks_rundir(void)
{
	const char *dir = getenv("KILLSWITCH_RUNDIR");

	return dir && dir[0] == '/' ? dir : "/run/killswitch";
}

int ks_table_name(const char **table, char err[KS_ERR_LEN])
{
	const char *name = getenv("KILLSWITCH_TABLE");
	struct ks_ifname check;
	char escaped[KS_ERR_LEN / 2];

	if (!name || !*name)
		name = KS_TABLE_NAME;
	if (ks_parse_ifname(name, &check) < 0) {
		snprintf(err, KS_ERR_LEN, "invalid KILLSWITCH_TABLE: '%s'", ks_escape(name, escaped, sizeof(escaped)));
		return -EINVAL;
	}
	*table = name;
	return 0;
}

/* "cannot VERB 'PATH': reason"; returns ret. */
static int sys_error(char err[KS_ERR_LEN], const char *verb, const char *path, int ret)
{
	char escaped[KS_ERR_LEN / 2];

	snprintf(err, KS_ERR_LEN, "cannot %s '%s': %s", verb, ks_escape(path, escaped, sizeof(escaped)),
		 strerror(-ret));
	return ret;
}

static int path_of(const char *file, char *out, size_t size, char err[KS_ERR_LEN])
{
	if ((size_t)snprintf(out, size, "%s/%s", ks_rundir(), file) >= size) {
		snprintf(err, KS_ERR_LEN, "KILLSWITCH_RUNDIR is too long");
		return -ENAMETOOLONG;
	}
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

int ks_state_save(const struct ks_policy *policy, char err[KS_ERR_LEN])
{
	struct ks_buf text = KS_BUF_INIT;
	char path[4096], tmp[4096 + 8];
	FILE *f = NULL;
	int ret, fd;

	ret = make_rundir(err);
	if (ret < 0)
		goto cleanup;
	ret = path_of("policy", path, sizeof(path), err);
	if (ret < 0)
		goto cleanup;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ks_buf_puts(&text, "# The policy killswitch last applied; read by 'killswitch status'.\n");
	ks_options_format(policy, &text);
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
	/* No fsync: /run does not outlive a reboot, and rename() alone keeps readers whole. */
	if (fwrite(text.data, 1, text.len, f) != text.len || fflush(f)) {
		ret = -errno ? -errno : -EIO;
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

int ks_state_load(struct ks_policy *policy, char err[KS_ERR_LEN])
{
	char path[4096];
	int ret;

	ret = path_of("policy", path, sizeof(path), err);
	if (ret < 0)
		return ret;
	if (access(path, F_OK) < 0)
		return -ENOENT;
	ret = ks_options_parse_file(policy, path, err);
	if (ret == 0)
		ks_policy_finalize(policy);
	return ret;
}

int ks_state_clear(char err[KS_ERR_LEN])
{
	char path[4096];
	int ret;

	ret = path_of("policy", path, sizeof(path), err);
	if (ret < 0)
		return ret;
	if (unlink(path) < 0 && errno != ENOENT) {
		return sys_error(err, "remove", path, -errno);
	}
	return 0;
}
