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

	return dir && *dir ? dir : "/run/killswitch";
}

int ks_check_environment(char err[KS_ERR_LEN])
{
	static const char *const dirs[] = { "KILLSWITCH_RUNDIR", "KILLSWITCH_CONFDIR" };
	char escaped[KS_ERR_LEN / 2];
	const char *table;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		const char *dir = getenv(dirs[i]);

		/* A relative directory would silently depend on the caller's cwd. */
		if (dir && *dir && (dir[0] != '/' || strlen(dir) > 1024)) {
			snprintf(err, KS_ERR_LEN, "%s must be an absolute path: '%s'", dirs[i],
				 ks_escape(dir, escaped, sizeof(escaped)));
			return -EINVAL;
		}
	}
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

/* Writes policy to DIR/policy through a temporary file and rename(); durable when asked. */
static int save_policy(const char *dir, const char *header, const struct ks_policy *policy, bool durable,
		       char err[KS_ERR_LEN])
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
	if (fwrite(text.data, 1, text.len, f) != text.len || fflush(f) || (durable && fsync(fileno(f)))) {
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

int ks_state_save(const struct ks_policy *policy, char err[KS_ERR_LEN])
{
	int ret = make_rundir(err);

	if (ret < 0)
		return ret;
	/* Not durable: /run does not outlive a reboot, and rename() alone keeps readers whole. */
	return save_policy(ks_rundir(), "# The policy killswitch last applied; read by 'killswitch status'.\n", policy,
			   false, err);
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
			   policy, true, err);
}

int ks_persist_load(struct ks_policy *policy, char err[KS_ERR_LEN])
{
	return load_policy(ks_confdir(), policy, err);
}

int ks_persist_clear(char err[KS_ERR_LEN])
{
	return clear_policy(ks_confdir(), err);
}

/* One short line in a file of the run dir (the routing record, the rule fingerprint). */
static int write_line(const char *name, const char *line, char err[KS_ERR_LEN])
{
	char path[4096];
	FILE *f;
	int ret = make_rundir(err);

	if (ret < 0)
		return ret;
	ret = path_of(name, path, sizeof(path), err);
	if (ret < 0)
		return ret;
	f = fopen(path, "we");
	if (!f)
		return sys_error(err, "write", path, -errno);
	fputs(line, f);
	if (fclose(f))
		return sys_error(err, "write", path, -errno);
	return 0;
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

int ks_fingerprint_save(uint64_t hash, unsigned rules, char err[KS_ERR_LEN])
{
	char line[64];

	snprintf(line, sizeof(line), "%016llx %u\n", (unsigned long long)hash, rules);
	return write_line("rules", line, err);
}

int ks_fingerprint_load(uint64_t *hash, unsigned *rules, char err[KS_ERR_LEN])
{
	unsigned long long h;
	char line[64];
	int ret = read_line("rules", line, sizeof(line), err);

	if (ret < 0)
		return ret;
	if (sscanf(line, "%llx %u", &h, rules) != 2)
		return sys_error(err, "read", "rules", -EBADMSG);
	*hash = h;
	return 0;
}
