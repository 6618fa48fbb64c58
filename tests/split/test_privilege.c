// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The privilege drop against a fake kernel: every call is logged in order,
 * any one can be made to fail, and the fake enforces the kernel's rules for
 * set*id so a wrong order fails here as it would for real.
 */
#include <errno.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "killswitch/privilege.h"
#include "killswitch/proc.h"

static struct fake {
	uid_t r, e, s;
	gid_t rg, eg, sg;
	gid_t groups[8];
	int n_groups;
	unsigned long secure;
	const char *sudo_uid, *sudo_gid, *pkexec_uid;
	bool has_passwd;
	const char *fail;  /* the call that fails with EPERM */
	bool sticky_saved; /* a broken setuid() that leaves the saved uid alone */
	bool keeps_cap;	   /* CAP_SETUID/CAP_SETGID survived: set*id(0) always works */
	struct rlimit limits[RLIMIT_NLIMITS];
	bool blocked; /* every signal blocked */
	bool has_group; /* the group "killswitch" exists, gid 990 */
	bool no_sys_resource; /* a container without CAP_SYS_RESOURCE: no hard limit goes up */
	int nice;	      /* the caller's niceness (SCHED_IDLE, affinity: the same path) */
	long cpu_used;	      /* CPU seconds used before the exec */
	char log[1024];
} k;

static struct passwd alice = { .pw_name = (char *)"alice", .pw_uid = 1000, .pw_gid = 1000 };

static bool call(const char *name)
{
	if (k.log[0])
		strncat(k.log, ",", sizeof(k.log) - strlen(k.log) - 1);
	strncat(k.log, name, sizeof(k.log) - strlen(k.log) - 1);
	if (k.fail && !strcmp(k.fail, name)) {
		errno = EPERM;
		return false;
	}
	return true;
}

static uid_t f_getuid(void)
{
	return k.r;
}

static uid_t f_geteuid(void)
{
	return k.e;
}

static gid_t f_getgid(void)
{
	return k.rg;
}

static unsigned long f_getauxval(unsigned long type)
{
	return type == AT_SECURE ? k.secure : 0;
}

static char *f_getenv(const char *name)
{
	if (!strcmp(name, "SUDO_UID"))
		return (char *)k.sudo_uid;
	if (!strcmp(name, "SUDO_GID"))
		return (char *)k.sudo_gid;
	if (!strcmp(name, "PKEXEC_UID"))
		return (char *)k.pkexec_uid;
	return NULL;
}

static struct passwd *f_getpwuid(uid_t uid)
{
	call("getpwuid");
	return k.has_passwd && uid == alice.pw_uid ? &alice : NULL;
}

static int f_getgroups(int size, gid_t list[])
{
	if (!call("getgroups"))
		return -1;
	if (size == 0)
		return k.n_groups;
	if (size < k.n_groups) {
		errno = EINVAL;
		return -1;
	}
	memcpy(list, k.groups, sizeof(gid_t) * (size_t)k.n_groups);
	return k.n_groups;
}

static int f_setgroups(size_t size, const gid_t *list)
{
	if (!call("setgroups"))
		return -1;
	if (k.e != 0 || size > 8) {
		errno = EPERM;
		return -1;
	}
	memcpy(k.groups, list, sizeof(gid_t) * size);
	k.n_groups = (int)size;
	return 0;
}

static int f_initgroups(const char *user, gid_t group)
{
	if (!call("initgroups"))
		return -1;
	if (k.e != 0 || strcmp(user, "alice")) {
		errno = EPERM;
		return -1;
	}
	k.groups[0] = group;
	k.groups[1] = 27; /* sudo */
	k.groups[2] = 100;
	k.n_groups = 3;
	return 0;
}

/* setgid(2): root sets all three; others only to the real or saved gid. */
static int f_setgid(gid_t g)
{
	if (!call("setgid"))
		return -1;
	if (k.keeps_cap && g == 0)
		return 0;
	if (k.e == 0) {
		k.rg = k.eg = k.sg = g;
		return 0;
	}
	if (g == k.rg || g == k.sg) {
		k.eg = g;
		return 0;
	}
	errno = EPERM;
	return -1;
}

static int f_setuid(uid_t u)
{
	if (!call("setuid"))
		return -1;
	if (k.keeps_cap && u == 0)
		return 0;
	if (k.e == 0) {
		k.r = k.e = u;
		if (!k.sticky_saved)
			k.s = u;
		return 0;
	}
	if (u == k.r || u == k.s) {
		k.e = u;
		return 0;
	}
	errno = EPERM;
	return -1;
}

static int f_getresuid(uid_t *r, uid_t *e, uid_t *s)
{
	if (!call("getresuid"))
		return -1;
	*r = k.r, *e = k.e, *s = k.s;
	return 0;
}

static int f_getresgid(gid_t *r, gid_t *e, gid_t *s)
{
	if (!call("getresgid"))
		return -1;
	*r = k.rg, *e = k.eg, *s = k.sg;
	return 0;
}

/* setresuid(2): root (effective 0) may set anything; others only to their own real, effective or saved. */
static bool may_set(uid_t want, uid_t r, uid_t e, uid_t s)
{
	return want == (uid_t)-1 || e == 0 || want == r || want == e || want == s;
}

static int f_setresuid(uid_t r, uid_t e, uid_t s)
{
	if (!call("setresuid"))
		return -1;
	if (!may_set(r, k.r, k.e, k.s) || !may_set(e, k.r, k.e, k.s) || !may_set(s, k.r, k.e, k.s)) {
		errno = EPERM;
		return -1;
	}
	k.r = r, k.e = e, k.s = s;
	return 0;
}

static int f_setresgid(gid_t r, gid_t e, gid_t s)
{
	if (!call("setresgid"))
		return -1;
	if (k.e != 0) {
		errno = EPERM;
		return -1;
	}
	k.rg = r, k.eg = e, k.sg = s;
	return 0;
}

static int f_getrlimit(int resource, struct rlimit *limit)
{
	if (!call("getrlimit"))
		return -1;
	*limit = k.limits[resource];
	return 0;
}

/* setrlimit(2): raising a hard limit needs CAP_SYS_RESOURCE (root here). */
static int f_setrlimit(int resource, const struct rlimit *limit)
{
	if (!call("setrlimit"))
		return -1;
	if (limit->rlim_cur > limit->rlim_max ||
	    (limit->rlim_max > k.limits[resource].rlim_max && (k.e != 0 || k.no_sys_resource))) {
		errno = EPERM;
		return -1;
	}
	k.limits[resource] = *limit;
	return 0;
}

static int f_sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	if (!call("sigprocmask"))
		return -1;
	if (old)
		sigemptyset(old);
	k.blocked = how == SIG_BLOCK && sigismember(set, SIGINT) && sigismember(set, SIGTSTP);
	return 0;
}

static struct group *f_getgrnam(const char *name)
{
	static struct group killswitch = { .gr_name = (char *)"killswitch", .gr_gid = 990 };

	call("getgrnam");
	return k.has_group && !strcmp(name, "killswitch") ? &killswitch : NULL;
}

static int f_sched_reset(struct ks_priv_sched *saved)
{
	if (!call("sched_reset"))
		return -1;
	saved->nice = k.nice;
	k.nice = 0;
	return 0;
}

static int f_sched_restore(const struct ks_priv_sched *saved)
{
	call("sched_restore");
	k.nice = saved->nice;
	return 0;
}

static long f_cpu_seconds(void)
{
	return k.cpu_used;
}

static const struct ks_priv_ops fake_ops = {
	.getuid = f_getuid,
	.geteuid = f_geteuid,
	.getgid = f_getgid,
	.getauxval = f_getauxval,
	.getenv = f_getenv,
	.getpwuid = f_getpwuid,
	.getgroups = f_getgroups,
	.setgroups = f_setgroups,
	.initgroups = f_initgroups,
	.setgid = f_setgid,
	.setuid = f_setuid,
	.getresuid = f_getresuid,
	.getresgid = f_getresgid,
	.setresuid = f_setresuid,
	.setresgid = f_setresgid,
	.getrlimit = f_getrlimit,
	.setrlimit = f_setrlimit,
	.sigprocmask = f_sigprocmask,
	.getgrnam = f_getgrnam,
	.sched_reset = f_sched_reset,
	.sched_restore = f_sched_restore,
	.cpu_seconds = f_cpu_seconds,
};

/* alice (1000:1000, also in group 20) runs a setuid-root split-tunnel. */
static void setuid_alice(void)
{
	memset(&k, 0, sizeof(k));
	k.r = 1000, k.e = 0, k.s = 0;
	k.rg = k.eg = k.sg = 1000;
	k.groups[0] = 1000, k.groups[1] = 20;
	k.n_groups = 2;
	k.secure = 1;
	k.has_passwd = true;
}

/* root through `sudo` by alice: sudo gave us root's groups. */
static void sudo_alice(void)
{
	memset(&k, 0, sizeof(k));
	k.groups[0] = 0;
	k.n_groups = 1;
	k.sudo_uid = "1000";
	k.sudo_gid = "1000";
	k.has_passwd = true;
}

static int setup(void **state)
{
	(void)state;
	memset(&k, 0, sizeof(k));
	return 0;
}

static struct ks_invoker invoker_ok(void)
{
	struct ks_invoker who;
	char err[KS_ERR_LEN] = "";

	assert_int_equal(ks_priv_invoker(&fake_ops, &who, err), 0);
	k.log[0] = '\0';
	return who;
}

static void test_invoker_modes(void **state)
{
	struct ks_invoker who;

	(void)state;
	setuid_alice();
	who = invoker_ok();
	assert_int_equal(who.mode, KS_PRIV_SETUID);
	assert_int_equal(who.uid, 1000);
	assert_int_equal(who.gid, 1000);
	assert_true(who.secure);

	sudo_alice();
	who = invoker_ok();
	assert_int_equal(who.mode, KS_PRIV_SUDO);
	assert_int_equal(who.uid, 1000);
	assert_int_equal(who.gid, 1000);
	assert_false(who.secure);

	/* Plain root, and root through sudo by root. */
	memset(&k, 0, sizeof(k));
	who = invoker_ok();
	assert_int_equal(who.mode, KS_PRIV_ROOT);
	assert_int_equal(who.uid, 0);
	k.sudo_uid = "0";
	k.sudo_gid = "0";
	who = invoker_ok();
	assert_int_equal(who.mode, KS_PRIV_ROOT);

	/* An unprivileged user without setuid: nothing to drop. */
	memset(&k, 0, sizeof(k));
	k.r = k.e = k.s = 1000;
	k.rg = k.eg = k.sg = 1000;
	who = invoker_ok();
	assert_int_equal(who.mode, KS_PRIV_USER);
	assert_int_equal(who.uid, 1000);
}

static void test_invoker_distrusts_sudo_env_when_setuid(void **state)
{
	struct ks_invoker who;

	(void)state;
	/* Root runs the setuid binary, with SUDO_* from wherever: stays root, env ignored. */
	sudo_alice();
	k.secure = 1;
	k.sudo_uid = "1000";
	who = invoker_ok();
	assert_int_equal(who.mode, KS_PRIV_ROOT);
	/* A user running it setuid cannot choose who to become by setting SUDO_UID. */
	setuid_alice();
	k.sudo_uid = "0";
	k.sudo_gid = "0";
	who = invoker_ok();
	assert_int_equal(who.mode, KS_PRIV_SETUID);
	assert_int_equal(who.uid, 1000);
}

/* pkexec says only PKEXEC_UID: that user, with the primary group of the user database; SUDO_UID first. */
static void test_invoker_pkexec(void **state)
{
	static const char *const bad[] = { "", "abc", "1000x", "-1", "4294967295" };
	struct ks_invoker who;
	char err[KS_ERR_LEN];

	(void)state;
	sudo_alice();
	k.sudo_uid = k.sudo_gid = NULL;
	k.pkexec_uid = "1000";
	who = invoker_ok();
	assert_int_equal(who.mode, KS_PRIV_SUDO);
	assert_int_equal(who.uid, 1000);
	assert_int_equal(who.gid, 1000);
	/* pkexec by root: stays root. */
	k.pkexec_uid = "0";
	who = invoker_ok();
	assert_int_equal(who.mode, KS_PRIV_ROOT);
	/* Set-user-ID: whoever set PKEXEC_UID, it was not pkexec for us. */
	k.pkexec_uid = "1000";
	k.secure = 1;
	who = invoker_ok();
	assert_int_equal(who.mode, KS_PRIV_ROOT);
	k.secure = 0;
	/* No entry for the user: refused rather than guessed. */
	k.has_passwd = false;
	assert_int_equal(ks_priv_invoker(&fake_ops, &who, err), -EINVAL);
	assert_non_null(strstr(err, "PKEXEC_UID"));
	k.has_passwd = true;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		k.pkexec_uid = bad[i];
		err[0] = '\0';
		assert_int_equal(ks_priv_invoker(&fake_ops, &who, err), -EINVAL);
		assert_non_null(strstr(err, "PKEXEC_UID"));
	}
	/* Both: sudo's word. */
	sudo_alice();
	k.pkexec_uid = "2000";
	who = invoker_ok();
	assert_int_equal(who.uid, 1000);
}

static void test_invoker_bad_sudo_values(void **state)
{
	static const char *const bad[] = { "", "abc", "1000x", "-1", " 1000", "4294967295", "99999999999" };
	struct ks_invoker who;
	char err[KS_ERR_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sudo_alice();
		k.sudo_uid = bad[i];
		err[0] = '\0';
		assert_int_equal(ks_priv_invoker(&fake_ops, &who, err), -EINVAL);
		assert_non_null(strstr(err, "SUDO_UID"));
		sudo_alice();
		k.sudo_gid = bad[i];
		assert_int_equal(ks_priv_invoker(&fake_ops, &who, err), -EINVAL);
		assert_non_null(strstr(err, "SUDO_GID"));
	}
	/* No SUDO_GID: the user's primary group; no such user either: refuse rather than guess. */
	sudo_alice();
	k.sudo_gid = NULL;
	who = invoker_ok();
	assert_int_equal(who.gid, 1000);
	k.has_passwd = false;
	assert_int_equal(ks_priv_invoker(&fake_ops, &who, err), -EINVAL);
}

static void test_drop_order_setuid(void **state)
{
	struct ks_invoker who;
	char err[KS_ERR_LEN] = "";

	(void)state;
	setuid_alice();
	who = invoker_ok();
	assert_int_equal(ks_priv_drop(&fake_ops, &who, err), 0);
	/* Groups (the caller's own), setgid, setuid; then the checks, where setuid(0) and setgid(0) must fail. */
	assert_string_equal(k.log, "getgroups,getgroups,setgroups,setgid,setuid,getresuid,getresgid,setuid,setgid");
	assert_int_equal(k.r, 1000);
	assert_int_equal(k.e, 1000);
	assert_int_equal(k.s, 1000);
	assert_int_equal(k.eg, 1000);
	assert_int_equal(k.n_groups, 2);
	assert_int_equal(k.groups[1], 20);
}

static void test_drop_order_sudo(void **state)
{
	struct ks_invoker who;
	char err[KS_ERR_LEN] = "";

	(void)state;
	sudo_alice();
	who = invoker_ok();
	assert_int_equal(ks_priv_drop(&fake_ops, &who, err), 0);
	assert_string_equal(k.log, "getpwuid,initgroups,setgid,setuid,getresuid,getresgid,setuid,setgid");
	/* root's group 0 is gone, the user's groups are in. */
	assert_int_equal(k.n_groups, 3);
	assert_int_equal(k.groups[0], 1000);
	assert_int_equal(k.r, 1000);
	assert_int_equal(k.sg, 1000);

	/* A user sudo knows but the user database does not: the primary group alone. */
	sudo_alice();
	k.has_passwd = false;
	who.mode = KS_PRIV_SUDO, who.uid = 1000, who.gid = 1000;
	assert_int_equal(ks_priv_drop(&fake_ops, &who, err), 0);
	assert_string_equal(k.log, "getpwuid,setgroups,setgid,setuid,getresuid,getresgid,setuid,setgid");
	assert_int_equal(k.n_groups, 1);
	assert_int_equal(k.groups[0], 1000);
}

/* Each call of the drop fails in turn: the drop fails, and nothing after the failure happens. */
static void test_drop_fails_closed(void **state)
{
	static const struct {
		const char *fail, *log;
		bool sudo;
	} cases[] = {
		{ "getgroups", "getgroups", false },
		{ "setgroups", "getgroups,getgroups,setgroups", false },
		{ "setgid", "getgroups,getgroups,setgroups,setgid", false },
		{ "setuid", "getgroups,getgroups,setgroups,setgid,setuid", false },
		{ "getresuid", "getgroups,getgroups,setgroups,setgid,setuid,getresuid", false },
		{ "getresgid", "getgroups,getgroups,setgroups,setgid,setuid,getresuid,getresgid", false },
		{ "initgroups", "getpwuid,initgroups", true },
		{ "setgid", "getpwuid,initgroups,setgid", true },
		{ "setuid", "getpwuid,initgroups,setgid,setuid", true },
	};
	struct ks_invoker who;
	char err[KS_ERR_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].sudo)
			sudo_alice();
		else
			setuid_alice();
		who = invoker_ok();
		k.fail = cases[i].fail;
		err[0] = '\0';
		assert_int_equal(ks_priv_drop(&fake_ops, &who, err), -EPERM);
		assert_string_equal(k.log, cases[i].log);
		assert_non_null(strstr(err, "cannot drop privileges"));
		assert_non_null(strstr(err, cases[i].fail));
	}
}

static void test_drop_detects_regainable_root(void **state)
{
	struct ks_invoker who;
	char err[KS_ERR_LEN] = "";

	(void)state;
	/* setuid() "worked" but left the saved uid 0: root could come back. */
	setuid_alice();
	who = invoker_ok();
	k.sticky_saved = true;
	assert_int_equal(ks_priv_drop(&fake_ops, &who, err), -EPERM);
	assert_string_equal(k.log, "getgroups,getgroups,setgroups,setgid,setuid,getresuid");

	/* IDs all the user's, yet setuid(0) goes through (a capability left behind). */
	setuid_alice();
	who = invoker_ok();
	k.keeps_cap = true;
	assert_int_equal(ks_priv_drop(&fake_ops, &who, err), -EPERM);
	assert_string_equal(k.log, "getgroups,getgroups,setgroups,setgid,setuid,getresuid,getresgid,setuid");
	assert_non_null(strstr(err, "setuid(0)"));
}

static void test_drop_root_and_refusals(void **state)
{
	struct ks_invoker who = { .mode = KS_PRIV_ROOT, .uid = 0, .gid = 0 };
	char err[KS_ERR_LEN] = "";

	(void)state;
	/* Root stays root, and no call is made. */
	assert_int_equal(ks_priv_drop(&fake_ops, &who, err), 0);
	assert_string_equal(k.log, "");
	/* Never "drop" to uid 0 through the user paths. */
	who.mode = KS_PRIV_SETUID;
	assert_int_equal(ks_priv_drop(&fake_ops, &who, err), -EPERM);
	assert_string_equal(k.log, "");
}

/* The permission check of add and del. */
static void test_may_move(void **state)
{
	struct ks_invoker root = { .mode = KS_PRIV_ROOT }, alice_su = { .mode = KS_PRIV_SETUID, .uid = 1000, .gid = 1000 },
			  alice_sudo = { .mode = KS_PRIV_SUDO, .uid = 1000, .gid = 1000 };
	struct ks_proc_ids own = { { 1000, 1000, 1000, 1000 }, { 1000, 1000, 1000, 1000 } };
	struct ks_proc_ids bobs = { { 1001, 1001, 1001, 1001 }, { 1001, 1001, 1001, 1001 } };
	struct ks_proc_ids setuid_prog = { { 1000, 0, 0, 0 }, { 1000, 1000, 1000, 1000 } };
	struct ks_proc_ids dropped_daemon = { { 0, 1000, 1000, 1000 }, { 0, 0, 0, 0 } };
	struct ks_proc_ids init = { { 0, 0, 0, 0 }, { 0, 0, 0, 0 } };

	(void)state;
	assert_true(ks_priv_may_move(&root, &own));
	assert_true(ks_priv_may_move(&root, &init));
	assert_true(ks_priv_may_move(&alice_su, &own));
	assert_true(ks_priv_may_move(&alice_sudo, &own));
	assert_false(ks_priv_may_move(&alice_su, &bobs));
	assert_false(ks_priv_may_move(&alice_sudo, &bobs));
	assert_false(ks_priv_may_move(&alice_su, &setuid_prog));
	assert_false(ks_priv_may_move(&alice_su, &dropped_daemon));
	assert_false(ks_priv_may_move(&alice_su, &init));
}

/* alice lowered her limits before running setuid split-tunnel, to kill it halfway (ulimit -f 0, -t 1, -s 16). */
static void low_limits(void)
{
	for (int r = 0; r < RLIMIT_NLIMITS; r++)
		k.limits[r] = (struct rlimit){ RLIM_INFINITY, RLIM_INFINITY };
	k.limits[RLIMIT_FSIZE] = (struct rlimit){ 0, 0 };
	k.limits[RLIMIT_CPU] = (struct rlimit){ 1, 1 };
	k.limits[RLIMIT_STACK] = (struct rlimit){ 16384, 16384 };
}

/*
 * Finding 1 of the security review: before any check, the user can no
 * longer signal us (all IDs root: kill(2) compares the real and saved uid),
 * a terminal's ^C/^Z is blocked, and no limit can end us halfway.
 */
static void test_hold_setuid(void **state)
{
	struct ks_priv_held held;
	struct ks_invoker who;
	char err[KS_ERR_LEN] = "";

	(void)state;
	setuid_alice();
	low_limits();
	who = invoker_ok();
	k.nice = 19;
	assert_int_equal(ks_priv_hold(&fake_ops, &who, &held, err), 0);
	assert_true(held.held);
	assert_true(k.blocked);
	assert_int_equal(k.nice, 0); /* nor can the caller starve us */
	assert_int_equal(k.r, 0);
	assert_int_equal(k.s, 0);
	assert_int_equal(k.rg, 0);
	assert_int_equal(k.eg, 0); /* files and directories we create are root's group's */
	assert_true(k.limits[RLIMIT_FSIZE].rlim_cur == RLIM_INFINITY);
	assert_true(k.limits[RLIMIT_CPU].rlim_cur == RLIM_INFINITY);
	assert_true(k.limits[RLIMIT_STACK].rlim_cur >= 8 << 20);
	assert_non_null(strstr(k.log, "sigprocmask,setresgid,setresuid,getrlimit,setrlimit"));

	/* Then down to alice for good, and her limits and mask back for the command. */
	k.log[0] = '\0';
	assert_int_equal(ks_priv_drop(&fake_ops, &who, err), 0);
	assert_int_equal(k.r, 1000);
	assert_int_equal(k.s, 1000);
	assert_int_equal(k.sg, 1000);
	assert_int_equal(ks_priv_release(&fake_ops, &held, err), 0);
	assert_true(k.limits[RLIMIT_FSIZE].rlim_cur == 0);
	assert_true(k.limits[RLIMIT_CPU].rlim_max == 1);
	assert_true(k.limits[RLIMIT_STACK].rlim_cur == 16384);
	assert_false(k.blocked);
	assert_int_equal(k.nice, 19);
}

static void test_hold_fails_closed(void **state)
{
	static const char *const steps[] = { "sigprocmask", "setresgid", "setresuid", "getrlimit", "setrlimit",
					     "sched_reset" };
	struct ks_priv_held held;
	struct ks_invoker who;
	char err[KS_ERR_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		setuid_alice();
		low_limits();
		who = invoker_ok();
		k.fail = steps[i];
		err[0] = '\0';
		assert_int_equal(ks_priv_hold(&fake_ops, &who, &held, err), -EPERM);
		assert_non_null(strstr(err, steps[i]));
	}
	/* Root and the plain user: nothing to hold, no call made. */
	memset(&k, 0, sizeof(k));
	who = invoker_ok();
	assert_int_equal(who.mode, KS_PRIV_ROOT);
	assert_int_equal(ks_priv_hold(&fake_ops, &who, &held, err), 0);
	assert_false(held.held);
	assert_string_equal(k.log, "");
	assert_int_equal(ks_priv_release(&fake_ops, &held, err), 0);
	assert_string_equal(k.log, "");
}

/* Without CAP_SYS_RESOURCE, every limit high but CPU time: limit seconds, used already before the exec. */
static int hold_with_cpu(rlim_t limit, long used, char err[KS_ERR_LEN])
{
	struct ks_priv_held held;
	struct ks_invoker who;

	setuid_alice();
	low_limits();
	k.no_sys_resource = true;
	k.limits[RLIMIT_FSIZE] = (struct rlimit){ RLIM_INFINITY, RLIM_INFINITY };
	k.limits[RLIMIT_STACK] = (struct rlimit){ RLIM_INFINITY, RLIM_INFINITY };
	k.limits[RLIMIT_CPU] = (struct rlimit){ limit, limit };
	k.cpu_used = used;
	who = invoker_ok();
	return ks_priv_hold(&fake_ops, &who, &held, err);
}

/* Without CAP_SYS_RESOURCE: soft limits go up to the hard ones; a hard limit too low is refused before acting. */
static void test_hold_without_sys_resource(void **state)
{
	struct ks_priv_held held;
	struct ks_invoker who;
	char err[KS_ERR_LEN] = "";

	(void)state;
	setuid_alice();
	low_limits();
	k.no_sys_resource = true;
	k.limits[RLIMIT_FSIZE] = (struct rlimit){ 0, RLIM_INFINITY }; /* ulimit -S -f 0 */
	k.limits[RLIMIT_CPU] = (struct rlimit){ 1, 100 };
	k.limits[RLIMIT_STACK] = (struct rlimit){ 16384, RLIM_INFINITY };
	who = invoker_ok();
	assert_int_equal(ks_priv_hold(&fake_ops, &who, &held, err), 0);
	assert_true(k.limits[RLIMIT_FSIZE].rlim_cur == RLIM_INFINITY);
	assert_true(k.limits[RLIMIT_CPU].rlim_cur == 100);
	assert_true(k.limits[RLIMIT_STACK].rlim_cur == 8 << 20);

	setuid_alice();
	low_limits();
	k.no_sys_resource = true; /* ulimit -f 0: soft and hard */
	who = invoker_ok();
	assert_int_equal(ks_priv_hold(&fake_ops, &who, &held, err), -EPERM);
	assert_non_null(strstr(err, "'RLIMIT_FSIZE'"));

	/* CPU time burnt before the exec counts against the limit (ulimit -t 10 after 9.9 s). */
	assert_int_equal(hold_with_cpu(10, 10, err), -EPERM);
	assert_non_null(strstr(err, "'RLIMIT_CPU'"));
	assert_int_equal(hold_with_cpu(100, 1, err), 0);
}

/* Only members of the group may use a set-user-ID install; sudo and root are the admin's own choice. */
static void test_group_check(void **state)
{
	struct ks_invoker who;
	char err[KS_ERR_LEN] = "";

	(void)state;
	setuid_alice();
	who = invoker_ok();
	assert_int_equal(ks_priv_check_group(&fake_ops, &who, "killswitch", err), -EPERM);
	assert_non_null(strstr(err, "'killswitch'"));
	k.has_group = true;
	assert_int_equal(ks_priv_check_group(&fake_ops, &who, "killswitch", err), -EPERM);
	k.groups[k.n_groups++] = 990;
	assert_int_equal(ks_priv_check_group(&fake_ops, &who, "killswitch", err), 0);
	k.n_groups--;
	who.gid = 990;
	assert_int_equal(ks_priv_check_group(&fake_ops, &who, "killswitch", err), 0);
	sudo_alice();
	who = invoker_ok();
	assert_int_equal(ks_priv_check_group(&fake_ops, &who, "killswitch", err), 0);
}

static void test_proc_parsers(void **state)
{
	static const char status[] = "Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nPid:\t4242\n"
				     "PPid:\t1\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\nFDSize:\t64\n";
	static const char stat[] = "4242 (a) b (c) S 4100 4242 4100 34816 4242 4194304 100 0 0 0 1 0 0 0 20 0 1 0 "
				   "123456789 8192 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
	struct ks_proc_ids ids;
	uint64_t start = 0;
	pid_t ppid = 0, pid;

	(void)state;
	assert_int_equal(ks_proc_parse_ids(status, &ids), 0);
	assert_int_equal(ids.uid[0], 1000);
	assert_int_equal(ids.uid[1], 0);
	assert_int_equal(ids.gid[3], 1000);
	assert_int_equal(ks_proc_parse_ids("Name:\tx\nUid:\t1000\t1000\n", &ids), -EINVAL);
	assert_int_equal(ks_proc_parse_ids("Uid:\t1\t2\t3\t4\n", &ids), -EINVAL);
	assert_int_equal(ks_proc_parse_ids("Uid:\t1\t2\t3\tx\nGid:\t1\t2\t3\t4\n", &ids), -EINVAL);

	/* comm "a) b (c" holds the separators. */
	assert_int_equal(ks_proc_parse_stat(stat, &ppid, &start), 0);
	assert_int_equal(ppid, 4100);
	assert_int_equal(start, 123456789);
	assert_int_equal(ks_proc_parse_stat("4242 (sleep) S 1 2 3\n", &ppid, &start), -EINVAL);
	assert_int_equal(ks_proc_parse_stat("no parenthesis", &ppid, &start), -EINVAL);

	assert_int_equal(ks_parse_pid("4242", &pid), 0);
	assert_int_equal(pid, 4242);
	assert_int_equal(ks_parse_pid("2147483647", &pid), 0);
	assert_int_equal(ks_parse_pid("2147483648", &pid), -EINVAL);
	assert_int_equal(ks_parse_pid("0", &pid), -EINVAL);
	assert_int_equal(ks_parse_pid("-1", &pid), -EINVAL);
	assert_int_equal(ks_parse_pid("12a", &pid), -EINVAL);
	assert_int_equal(ks_parse_pid(" 12", &pid), -EINVAL);
	assert_int_equal(ks_parse_pid("", &pid), -EINVAL);
	assert_int_equal(ks_parse_pid("012", &pid), -EINVAL);
}

static void test_sanitize(void **state)
{
	(void)state;
	setenv("KILLSWITCH_RUNDIR", "/tmp/evil", 1);
	setenv("KILLSWITCH_SPLIT_TUNNEL", "off", 1);
	setenv("LD_PRELOAD", "/tmp/evil.so", 1);
	setenv("GCONV_PATH", "/tmp", 1);
	setenv("MALLOC_CHECK_", "3", 1);
	setenv("CGROUP_LOGLEVEL", "DEBUG", 1);
	setenv("KS_TEST_KEEP", "yes", 1);
	ks_priv_sanitize();
	assert_null(getenv("KILLSWITCH_RUNDIR"));
	assert_null(getenv("KILLSWITCH_SPLIT_TUNNEL"));
	assert_null(getenv("LD_PRELOAD"));
	assert_null(getenv("GCONV_PATH"));
	assert_null(getenv("MALLOC_CHECK_"));
	assert_null(getenv("CGROUP_LOGLEVEL"));
	assert_string_equal(getenv("KS_TEST_KEEP"), "yes");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_invoker_modes, setup),
		cmocka_unit_test_setup(test_invoker_distrusts_sudo_env_when_setuid, setup),
		cmocka_unit_test_setup(test_invoker_pkexec, setup),
		cmocka_unit_test_setup(test_invoker_bad_sudo_values, setup),
		cmocka_unit_test_setup(test_drop_order_setuid, setup),
		cmocka_unit_test_setup(test_drop_order_sudo, setup),
		cmocka_unit_test_setup(test_drop_fails_closed, setup),
		cmocka_unit_test_setup(test_drop_detects_regainable_root, setup),
		cmocka_unit_test_setup(test_drop_root_and_refusals, setup),
		cmocka_unit_test_setup(test_may_move, setup),
		cmocka_unit_test_setup(test_hold_setuid, setup),
		cmocka_unit_test_setup(test_hold_fails_closed, setup),
		cmocka_unit_test_setup(test_hold_without_sys_resource, setup),
		cmocka_unit_test_setup(test_group_check, setup),
		cmocka_unit_test_setup(test_proc_parsers, setup),
		cmocka_unit_test_setup(test_sanitize, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
