// SPDX-License-Identifier: GPL-2.0-or-later
/* The policy files: the one last applied (run directory, read by status) and the persisted one (/etc, read at boot). */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "killswitch/buf.h"
#include "killswitch/env.h"
#include "killswitch/file.h"
#include "killswitch/journal.h"
#include "killswitch/options.h"
#include "killswitch/rundir.h"

/* Writes policy to DIR/policy through a temporary file and rename(); durable when asked. */
static int save_policy(const char *dir, const char *header, const struct ks_policy *policy, bool durable,
		       bool journal, char err[KS_ERR_LEN])
{
	struct ks_buf text = KS_BUF_INIT;
	char path[4096], tmp[4096 + 8];
	int ret;

	if ((size_t)snprintf(path, sizeof(path), "%s/policy", dir) >= sizeof(path))
		return ks_sys_error(err, "write", dir, -ENAMETOOLONG);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ks_buf_puts(&text, header);
	ks_options_format(policy, &text);
	if (journal)
		ks_journal_format_marker(&text, policy->n_endpoints);
	ret = text.err;
	if (ret == 0)
		ret = ks_file_replace(path, tmp, text.data, text.len, durable);
	if (ret < 0)
		ks_sys_error(err, "write", path, ret);
	ks_buf_free(&text);
	return ret;
}

int ks_state_save(const struct ks_policy *policy, char err[KS_ERR_LEN])
{
	int ret = ks_rundir_make(err);

	if (ret < 0)
		return ret;
	/* Not durable: /run does not outlive a reboot, and rename() alone keeps readers whole. */
	return save_policy(ks_env()->rundir, "# The policy killswitch last applied; read by 'killswitch status'.\n", policy,
			   false, true, err);
}

static int load_policy(const char *dir, struct ks_policy *policy, char err[KS_ERR_LEN])
{
	char path[4096];
	int ret;

	if ((size_t)snprintf(path, sizeof(path), "%s/policy", dir) >= sizeof(path))
		return ks_sys_error(err, "read", dir, -ENAMETOOLONG);
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
		return ks_sys_error(err, "remove", dir, -ENAMETOOLONG);
	if (unlink(path) < 0 && errno != ENOENT)
		return ks_sys_error(err, "remove", path, -errno);
	return 0;
}

int ks_state_load(struct ks_policy *policy, char err[KS_ERR_LEN])
{
	return load_policy(ks_env()->rundir, policy, err);
}

int ks_state_clear(char err[KS_ERR_LEN])
{
	return clear_policy(ks_env()->rundir, err);
}

int ks_persist_save(const struct ks_policy *policy, char err[KS_ERR_LEN])
{
	if (mkdir(ks_env()->confdir, 0755) < 0 && errno != EEXIST)
		return ks_sys_error(err, "create", ks_env()->confdir, -errno);
	return save_policy(ks_env()->confdir,
			   "# Stored by 'killswitch enable --persist'; killswitch.service applies it at boot.\n"
			   "# 'killswitch disable' removes it.\n",
			   policy, true, false, err);
}

int ks_persist_load(struct ks_policy *policy, char err[KS_ERR_LEN])
{
	return load_policy(ks_env()->confdir, policy, err);
}

int ks_persist_clear(char err[KS_ERR_LEN])
{
	return clear_policy(ks_env()->confdir, err);
}

