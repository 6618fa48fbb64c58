// SPDX-License-Identifier: GPL-2.0-or-later
/* Who invoked us, and the one-way trip from root to that user. */
#define _GNU_SOURCE /* getresuid, getresgid */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <unistd.h>

#include "killswitch/parse.h"
#include "killswitch/privilege.h"

static int sys_setgroups(size_t size, const gid_t *list)
{
	return setgroups(size, list);
}

static int sys_getrlimit(int resource, struct rlimit *limit)
{
	return getrlimit((__rlimit_resource_t)resource, limit);
}

static int sys_setrlimit(int resource, const struct rlimit *limit)
{
	return setrlimit((__rlimit_resource_t)resource, limit);
}

static int sys_sched_reset(struct ks_priv_sched *saved)
{
	struct sched_param normal = { 0 };
	cpu_set_t all;

	saved->policy = sched_getscheduler(0);
	if (saved->policy < 0 || sched_getparam(0, &saved->param) < 0)
		return -1;
	errno = 0;
	saved->nice = getpriority(PRIO_PROCESS, 0);
	if (errno)
		return -1;
	saved->cpus_len = sizeof(cpu_set_t) <= sizeof(saved->cpus) ? sizeof(cpu_set_t) : 0;
	if (saved->cpus_len && sched_getaffinity(0, sizeof(cpu_set_t), (cpu_set_t *)(void *)saved->cpus) < 0)
		saved->cpus_len = 0;
	CPU_ZERO(&all);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		CPU_SET(cpu, &all);
	if (sched_setscheduler(0, SCHED_OTHER, &normal) < 0 || setpriority(PRIO_PROCESS, 0, 0) < 0)
		return -1;
	/* Every CPU the kernel lets us have: a mask naming absent ones is cut to the present ones. */
	sched_setaffinity(0, sizeof(all), &all);
	return 0;
}

/* The user's own settings back; a real-time policy they had through a limit may come back, or stay off. */
static int sys_sched_restore(const struct ks_priv_sched *saved)
{
	if (saved->cpus_len)
		sched_setaffinity(0, saved->cpus_len, (const cpu_set_t *)(const void *)saved->cpus);
	setpriority(PRIO_PROCESS, 0, saved->nice);
	sched_setscheduler(0, saved->policy, &saved->param);
	return 0;
}

static long sys_cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return -1;
	return (long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + 1;
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
	.setresuid = setresuid,
	.setresgid = setresgid,
	.getrlimit = sys_getrlimit,
	.setrlimit = sys_setrlimit,
	.sigprocmask = sigprocmask,
	.getgrnam = getgrnam,
	.sched_reset = sys_sched_reset,
	.sched_restore = sys_sched_restore,
	.cpu_seconds = sys_cpu_seconds,
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

/* Real uid 0 through pkexec: PKEXEC_UID, and that user's primary group. */
static int pkexec_invoker(const struct ks_priv_ops *ops, struct ks_invoker *who, char err[KS_ERR_LEN])
{
	const char *pkexec_uid = ops->getenv("PKEXEC_UID");
	struct passwd *pw;
	unsigned uid;

	if (!pkexec_uid)
		return 0;
	if (parse_id(pkexec_uid, &uid) < 0)
		return bad_env(err, "PKEXEC_UID", pkexec_uid);
	if (uid == 0)
		return 0;
	pw = ops->getpwuid(uid);
	if (!pw)
		return bad_env(err, "PKEXEC_UID (a user with an entry)", pkexec_uid);
	who->mode = KS_PRIV_SUDO;
	who->uid = uid;
	who->gid = pw->pw_gid;
	return 0;
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
	/* pkexec says only who (PKEXEC_UID): the group comes from the user database, as for sudo without SUDO_GID. */
	if (!sudo_uid)
		return pkexec_invoker(ops, who, err);
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

/* The caller's supplementary groups, malloc'ed in *list; their number, or -1 with errno. */
static int caller_groups(const struct ks_priv_ops *ops, gid_t **list)
{
	int n = ops->getgroups(0, NULL);

	*list = NULL;
	if (n < 0)
		return -1;
	*list = calloc((size_t)n + 1, sizeof(**list));
	if (!*list) {
		errno = ENOMEM;
		return -1;
	}
	return ops->getgroups(n, *list);
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
	n = caller_groups(ops, &list);
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

/*
 * Each raised to at_least while we act: RLIM_INFINITY where any limit
 * could end us halfway. Raising a hard limit needs CAP_SYS_RESOURCE, which
 * some containers drop: then the soft limit goes up to the hard one, and
 * below need we refuse before acting rather than be ended halfway.
 */
static const struct {
	int resource;
	const char *name;
	rlim_t at_least, need;
} held_limits[KS_PRIV_N_LIMITS] = {
	{ RLIMIT_FSIZE, "RLIMIT_FSIZE", RLIM_INFINITY, 1 << 20 }, /* SIGXFSZ in the middle of a record write */
	{ RLIMIT_CPU, "RLIMIT_CPU", RLIM_INFINITY, 10 },	  /* SIGXCPU, then SIGKILL */
	{ RLIMIT_STACK, "RLIMIT_STACK", 8 << 20, 1 << 20 },	  /* SIGSEGV on the next stack page */
	{ RLIMIT_AS, "RLIMIT_AS", RLIM_INFINITY, 64 << 20 },	  /* malloc failing between two steps */
	{ RLIMIT_DATA, "RLIMIT_DATA", RLIM_INFINITY, 64 << 20 },
	{ RLIMIT_NOFILE, "RLIMIT_NOFILE", 1024, 32 },		  /* open failing between two steps */
};

static rlim_t at_least(rlim_t value, rlim_t floor)
{
	return value != RLIM_INFINITY && value < floor ? floor : value;
}

static int hold_fail(char err[KS_ERR_LEN], const char *step, int errnum)
{
	snprintf(err, KS_ERR_LEN, "cannot take over from the caller (%s): '%s'", step, strerror(errnum));
	return -EPERM;
}

/* Raises one limit as far as we may; -EPERM when it stays below what we need. */
static int raise_limit(const struct ks_priv_ops *ops, unsigned i, struct rlimit *saved, char err[KS_ERR_LEN])
{
	struct rlimit raised;
	rlim_t need = held_limits[i].need;
	long used;

	if (ops->getrlimit(held_limits[i].resource, saved) < 0)
		return hold_fail(err, "getrlimit", errno);
	raised.rlim_max = at_least(saved->rlim_max, held_limits[i].at_least);
	raised.rlim_cur = at_least(saved->rlim_cur, held_limits[i].at_least);
	if (ops->setrlimit(held_limits[i].resource, &raised) == 0)
		return 0;
	if (errno != EPERM)
		return hold_fail(err, "setrlimit", errno);
	raised.rlim_max = saved->rlim_max;
	if (raised.rlim_max != RLIM_INFINITY && raised.rlim_cur > raised.rlim_max)
		raised.rlim_cur = raised.rlim_max;
	if (ops->setrlimit(held_limits[i].resource, &raised) < 0)
		return hold_fail(err, "setrlimit", errno);
	/* CPU time counts from the start of the process, before the exec that made it us. */
	if (held_limits[i].resource == RLIMIT_CPU) {
		used = ops->cpu_seconds();
		need += used > 0 ? (rlim_t)used : 0;
	}
	if (raised.rlim_cur != RLIM_INFINITY && raised.rlim_cur < need) {
		snprintf(err, KS_ERR_LEN, "a resource limit is too low to work safely, and cannot be raised here: '%s'",
			 held_limits[i].name);
		return -EPERM;
	}
	return 0;
}

/* A limit high enough says nothing of the descriptors the caller left open: a few must be free. */
static int free_descriptors(char err[KS_ERR_LEN])
{
	int fds[16], n = 0, ret = 0;

	fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	n = fds[0] >= 0;
	while (n && n < 16 && (fds[n] = fcntl(fds[0], F_DUPFD_CLOEXEC, 3)) >= 0)
		n++;
	if (n < 16) {
		snprintf(err, KS_ERR_LEN, "too few free file descriptors to work safely: '%d'", n);
		ret = -EPERM;
	}
	while (n--)
		close(fds[n]);
	return ret;
}

int ks_priv_hold(const struct ks_priv_ops *ops, const struct ks_invoker *who, struct ks_priv_held *held,
		 char err[KS_ERR_LEN])
{
	sigset_t all;
	int ret;

	held->held = false;
	if (who->mode != KS_PRIV_SETUID && who->mode != KS_PRIV_SUDO)
		return 0;
	sigfillset(&all);
	if (ops->sigprocmask(SIG_BLOCK, &all, &held->mask) < 0)
		return hold_fail(err, "sigprocmask", errno);
	held->held = true;
	/* Groups first: setresgid needs the effective uid 0 that setresuid keeps. */
	if (ops->setresgid(0, 0, 0) < 0)
		return hold_fail(err, "setresgid", errno);
	if (ops->setresuid(0, 0, 0) < 0)
		return hold_fail(err, "setresuid", errno);
	for (unsigned i = 0; i < KS_PRIV_N_LIMITS; i++) {
		ret = raise_limit(ops, i, &held->limits[i], err);
		if (ret < 0)
			return ret;
	}
	if (ops->sched_reset(&held->sched) < 0)
		return hold_fail(err, "sched_reset", errno);
	return free_descriptors(err);
}

int ks_priv_release(const struct ks_priv_ops *ops, const struct ks_priv_held *held, char err[KS_ERR_LEN])
{
	if (!held->held)
		return 0;
	ops->sched_restore(&held->sched);
	for (unsigned i = 0; i < KS_PRIV_N_LIMITS; i++)
		if (ops->setrlimit(held_limits[i].resource, &held->limits[i]) < 0)
			return fail(err, "setrlimit", errno);
	if (ops->sigprocmask(SIG_SETMASK, &held->mask, NULL) < 0)
		return fail(err, "sigprocmask", errno);
	return 0;
}

int ks_priv_check_group(const struct ks_priv_ops *ops, const struct ks_invoker *who, const char *group,
			char err[KS_ERR_LEN])
{
	gid_t *list = NULL;
	struct group *gr;
	int n, ret = -EPERM;

	if (who->mode != KS_PRIV_SETUID)
		return 0;
	gr = ops->getgrnam(group);
	if (!gr) {
		snprintf(err, KS_ERR_LEN, "the set-user-ID split-tunnel is for a group that does not exist: '%s'", group);
		return -EPERM;
	}
	if (who->gid == gr->gr_gid)
		return 0;
	n = caller_groups(ops, &list);
	for (int i = 0; i < n; i++)
		if (list[i] == gr->gr_gid)
			ret = 0;
	if (ret < 0)
		snprintf(err, KS_ERR_LEN, "the set-user-ID split-tunnel is only for members of the group: '%s'", group);
	free(list);
	return ret;
}
