/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_PRIVILEGE_H
#define KILLSWITCH_PRIVILEGE_H

#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "killswitch/error.h"
#include "killswitch/proc.h"

/*
 * Who runs split-tunnel, and the one-way trip from root to that user
 * (src/privilege/). Every system call goes through struct ks_priv_ops so a
 * unit test can record the order and make any call fail; programs pass
 * &ks_priv_sys. Functions return 0 or a negative errno with a one-line
 * "<what>: '<value>'" in err.
 */

enum ks_priv_mode {
	KS_PRIV_ROOT,	/* real uid 0, not through sudo: the command runs as root */
	KS_PRIV_SUDO,	/* root through sudo: the command runs as SUDO_UID/SUDO_GID */
	KS_PRIV_SETUID, /* a setuid-root install: the command runs as the real uid/gid */
	KS_PRIV_USER,	/* no privileges to give up: the command runs as we are */
};

struct ks_invoker {
	enum ks_priv_mode mode;
	uid_t uid; /* the user the command runs as */
	gid_t gid;
	bool secure; /* AT_SECURE: set-user-ID or the like; the environment is the caller's, not trusted */
};

/* How the caller had us scheduled: policy, priority, nice, CPUs (so they cannot starve us on one busy CPU). */
struct ks_priv_sched {
	int policy;
	struct sched_param param;
	int nice;
	unsigned char cpus[128]; /* a cpu_set_t's bytes: sched.h hides the type without _GNU_SOURCE */
	size_t cpus_len;
};

struct ks_priv_ops {
	uid_t (*getuid)(void);
	uid_t (*geteuid)(void);
	gid_t (*getgid)(void);
	unsigned long (*getauxval)(unsigned long type);
	char *(*getenv)(const char *name);
	struct passwd *(*getpwuid)(uid_t uid);
	int (*getgroups)(int size, gid_t list[]);
	int (*setgroups)(size_t size, const gid_t *list);
	int (*initgroups)(const char *user, gid_t group);
	int (*setgid)(gid_t gid);
	int (*setuid)(uid_t uid);
	int (*getresuid)(uid_t *ruid, uid_t *euid, uid_t *suid);
	int (*getresgid)(gid_t *rgid, gid_t *egid, gid_t *sgid);
	int (*setresuid)(uid_t ruid, uid_t euid, uid_t suid);
	int (*setresgid)(gid_t rgid, gid_t egid, gid_t sgid);
	int (*getrlimit)(int resource, struct rlimit *limit);
	int (*setrlimit)(int resource, const struct rlimit *limit);
	int (*sigprocmask)(int how, const sigset_t *set, sigset_t *old);
	struct group *(*getgrnam)(const char *name);
	/* Saves the scheduling into *saved and resets it: SCHED_OTHER, nice 0, every CPU. */
	int (*sched_reset)(struct ks_priv_sched *saved);
	/* Puts saved back, as far as the user it runs as may. */
	int (*sched_restore)(const struct ks_priv_sched *saved);
	/* CPU time the process has used, in seconds (rounded up). */
	long (*cpu_seconds)(void);
};

/* The real system calls. */
extern const struct ks_priv_ops ks_priv_sys;

/*
 * Who invoked us. Set-user-ID root (real uid != 0, effective 0): the real
 * uid and gid. Real uid 0 and not AT_SECURE with SUDO_UID set: SUDO_UID and
 * SUDO_GID (SUDO_* are trusted only then; a bad value is -EINVAL: we do not
 * guess who to run as); without SUDO_UID, PKEXEC_UID likewise (pkexec), with
 * that user's primary group, as KS_PRIV_SUDO. Real uid 0 otherwise: root. Anything else: the user
 * as is. -EINVAL with err for bad SUDO_* values.
 */
int ks_priv_invoker(const struct ks_priv_ops *ops, struct ks_invoker *who, char err[KS_ERR_LEN]);

/* The resource limits ks_priv_hold raises: each can kill or starve us halfway (SIGXFSZ, SIGXCPU, SIGSEGV, ENOMEM, EMFILE). */
#define KS_PRIV_N_LIMITS 6

/* What ks_priv_hold changed, for ks_priv_drop to give back before the command runs. */
struct ks_priv_held {
	bool held;
	sigset_t mask;
	struct rlimit limits[KS_PRIV_N_LIMITS];
	struct ks_priv_sched sched;
};

/*
 * Before acting as root for a user (sudo, setuid): real, effective and
 * saved uid and gid all become 0, so the user can no longer signal, stop or
 * ptrace us (kill(2) checks the real and saved uid), and files and
 * directories we create are root's, not the user's group's; every signal
 * is blocked (a terminal's ^C and ^Z need no permission); the resource
 * limits a caller can lower to kill us at a chosen moment (file size, CPU,
 * stack, memory, descriptors) are raised (hard limits only with
 * CAP_SYS_RESOURCE; without it, a limit left too low is -EPERM; so are
 * fewer than a few free descriptors, and a CPU limit the time already used
 * nearly reaches); scheduling is reset (SCHED_OTHER, nice 0, every CPU), so
 * the caller cannot starve us to widen a race. Root and user modes change
 * nothing. -EPERM with err when any step fails: the
 * caller must stop before acting.
 */
int ks_priv_hold(const struct ks_priv_ops *ops, const struct ks_invoker *who, struct ks_priv_held *held,
		 char err[KS_ERR_LEN]);

/*
 * Whether who may use a set-user-ID install: only members of group (its
 * primary or a supplementary group). Other modes: always. -EPERM with err
 * when not, or when the group does not exist.
 */
int ks_priv_check_group(const struct ks_priv_ops *ops, const struct ks_invoker *who, const char *group,
			char err[KS_ERR_LEN]);

/*
 * Drops to who for good: supplementary groups (setuid: the caller's own
 * list, kept; sudo: initgroups() from the user database, or just the gid
 * when the user has no entry), then setgid, then setuid. Then checks that
 * real, effective and saved IDs are the user's and that setuid(0) (and
 * setgid(0), unless 0 is the user's gid) fail. Any failure returns -EPERM:
 * the caller must not run the command (fail closed). Root and user modes
 * change nothing (a user mode process is checked to hold no other IDs).
 */
int ks_priv_drop(const struct ks_priv_ops *ops, const struct ks_invoker *who, char err[KS_ERR_LEN]);

/*
 * After ks_priv_drop, before exec: the caller's resource limits and signal
 * mask come back (lowering a limit needs no privilege), so the command runs
 * as the user started it. Nothing to do unless held->held.
 */
int ks_priv_release(const struct ks_priv_ops *ops, const struct ks_priv_held *held, char err[KS_ERR_LEN]);

/*
 * For a set-user-ID process: removes every KILLSWITCH_* variable (no
 * overrides from the caller), the variables glibc ignores in secure mode
 * (LD_PRELOAD, GCONV_PATH, ...) and libcgroup's CGROUP_LOGLEVEL; reopens
 * stdin, stdout and stderr on /dev/null if they are closed, so nothing we
 * open as root lands on them.
 */
void ks_priv_sanitize(void);

/*
 * Whether who may move the process with those IDs in or out of the
 * exclusion cgroup: root may move any; a user only processes whose real,
 * effective, saved and file-system uids are all the user's (stricter than
 * kill(2): a set-user-ID program the user started is not theirs to move).
 */
bool ks_priv_may_move(const struct ks_invoker *who, const struct ks_proc_ids *target);

#endif
