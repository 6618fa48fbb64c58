// SPDX-License-Identifier: GPL-2.0-or-later
/* Who invoked us, and the one-way trip from root to that user. */
#define _GNU_SOURCE /* getresuid, getresgid */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "killswitch/parse.h"
#include "killswitch/privilege.h"

static int sys_setgroups(size_t size, const gid_t *list)
{
	return setgroups(size, list);
}

const struct ks_priv_ops ks_priv_sys = {
	.getuid = getuid,
	.geteuid = geteuid,
	.getgid = getgid,
	.getauxval = getauxval,
	.getenv = getenv,
	.getpwuid = getpwuid,
	.getgroups = getgroups,
	.setgroups = sys_setgroups,
	.initgroups = initgroups,
	.setgid = setgid,
	.setuid = setuid,
	.getresuid = getresuid,
	.getresgid = getresgid,
};

/* A uid or gid as sudo writes it: decimal, and never (uid_t)-1. */
static int parse_id(const char *text, unsigned *out)
{
	unsigned long value;
	char *end;

	if (!text || *text < '0' || *text > '9' || strlen(text) > 10)
		return -EINVAL;
	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno || *end || value >= UINT_MAX)
		return -EINVAL;
	*out = (unsigned)value;
	return 0;
}

static int bad_env(char err[KS_ERR_LEN], const char *name, const char *value)
{
	char escaped[KS_ERR_LEN / 2];

	snprintf(err, KS_ERR_LEN, "invalid %s (a numeric id): '%s'", name, ks_escape(value, escaped, sizeof(escaped)));
	return -EINVAL;
}

int ks_priv_invoker(const struct ks_priv_ops *ops, struct ks_invoker *who, char err[KS_ERR_LEN])
{
	uid_t ruid = ops->getuid(), euid = ops->geteuid();
	const char *sudo_uid, *sudo_gid;
	unsigned uid, gid;
	struct passwd *pw;

	who->secure = ops->getauxval(AT_SECURE) != 0;
	who->uid = ruid;
	who->gid = ops->getgid();
	if (ruid != 0) {
		who->mode = euid == 0 ? KS_PRIV_SETUID : KS_PRIV_USER;
		return 0;
	}
	who->mode = KS_PRIV_ROOT;
	/* Set-user-ID and run by root: whoever set SUDO_UID, it was not sudo for us. */
	if (who->secure)
		return 0;
	sudo_uid = ops->getenv("SUDO_UID");
	if (!sudo_uid)
		return 0;
	if (parse_id(sudo_uid, &uid) < 0)
		return bad_env(err, "SUDO_UID", sudo_uid);
	if (uid == 0)
		return 0;
	sudo_gid = ops->getenv("SUDO_GID");
	if (sudo_gid) {
		if (parse_id(sudo_gid, &gid) < 0)
			return bad_env(err, "SUDO_GID", sudo_gid);
	} else {
		pw = ops->getpwuid(uid);
		if (!pw)
			return bad_env(err, "SUDO_GID", "");
		gid = pw->pw_gid;
	}
	who->mode = KS_PRIV_SUDO;
	who->uid = uid;
	who->gid = gid;
	return 0;
}

static int fail(char err[KS_ERR_LEN], const char *step, int errnum)
{
	snprintf(err, KS_ERR_LEN, "cannot drop privileges (%s): '%s'", step, errnum ? strerror(errnum) : "check failed");
	return -EPERM;
}

/* The caller's own supplementary groups (setuid) or the user's from the user database (sudo). */
static int set_groups(const struct ks_priv_ops *ops, const struct ks_invoker *who, char err[KS_ERR_LEN])
{
	gid_t *list = NULL;
	struct passwd *pw;
	int n, ret;

	if (who->mode == KS_PRIV_SUDO) {
		errno = 0;
		pw = ops->getpwuid(who->uid);
		if (pw && pw->pw_name) {
			if (ops->initgroups(pw->pw_name, who->gid) < 0)
				return fail(err, "initgroups", errno);
			return 0;
		}
		if (ops->setgroups(1, &who->gid) < 0)
			return fail(err, "setgroups", errno);
		return 0;
	}
	n = ops->getgroups(0, NULL);
	if (n < 0)
		return fail(err, "getgroups", errno);
	list = calloc((size_t)n + 1, sizeof(*list));
	if (!list)
		return fail(err, "getgroups", ENOMEM);
	n = ops->getgroups(n, list);
	if (n < 0) {
		ret = fail(err, "getgroups", errno);
		goto cleanup;
	}
	if (ops->setgroups((size_t)n, list) < 0) {
		ret = fail(err, "setgroups", errno);
		goto cleanup;
	}
	ret = 0;
cleanup:
	free(list);
	return ret;
}

/* Real, effective and saved IDs are the user's, and root cannot be had back. */
static int verify(const struct ks_priv_ops *ops, const struct ks_invoker *who, char err[KS_ERR_LEN])
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (ops->getresuid(&r, &e, &s) < 0)
		return fail(err, "getresuid", errno);
	if (r != who->uid || e != who->uid || s != who->uid)
		return fail(err, "user IDs after setuid", 0);
	if (ops->getresgid(&rg, &eg, &sg) < 0)
		return fail(err, "getresgid", errno);
	if (rg != who->gid || eg != who->gid || sg != who->gid)
		return fail(err, "group IDs after setgid", 0);
	if (who->uid != 0 && ops->setuid(0) == 0)
		return fail(err, "setuid(0) still works", 0);
	if (who->gid != 0 && ops->setgid(0) == 0)
		return fail(err, "setgid(0) still works", 0);
	return 0;
}

int ks_priv_drop(const struct ks_priv_ops *ops, const struct ks_invoker *who, char err[KS_ERR_LEN])
{
	int ret;

	switch (who->mode) {
	case KS_PRIV_ROOT:
		return 0;
	case KS_PRIV_USER:
		return verify(ops, who, err);
	case KS_PRIV_SUDO:
	case KS_PRIV_SETUID:
		break;
	}
	if (who->uid == 0)
		return fail(err, "refusing to drop to uid 0", 0);
	/* Groups first and setuid last: each step needs the privilege the next one gives up. */
	ret = set_groups(ops, who, err);
	if (ret < 0)
		return ret;
	if (ops->setgid(who->gid) < 0)
		return fail(err, "setgid", errno);
	if (ops->setuid(who->uid) < 0)
		return fail(err, "setuid", errno);
	return verify(ops, who, err);
}

bool ks_priv_may_move(const struct ks_invoker *who, const struct ks_proc_ids *target)
{
	if (who->uid == 0)
		return true;
	for (int i = 0; i < 4; i++)
		if (target->uid[i] != who->uid)
			return false;
	return true;
}
