/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_PRIVILEGE_H
#define KILLSWITCH_PRIVILEGE_H

#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "killswitch/options.h"
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
};

/* The real system calls. */
extern const struct ks_priv_ops ks_priv_sys;

/*
 * Who invoked us. Set-user-ID root (real uid != 0, effective 0): the real
 * uid and gid. Real uid 0 and not AT_SECURE with SUDO_UID set: SUDO_UID and
 * SUDO_GID (SUDO_* are trusted only then; a bad value is -EINVAL: we do not
 * guess who to run as). Real uid 0 otherwise: root. Anything else: the user
 * as is. -EINVAL with err for bad SUDO_* values.
 */
int ks_priv_invoker(const struct ks_priv_ops *ops, struct ks_invoker *who, char err[KS_ERR_LEN]);

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
