/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_CGROUP_H
#define KILLSWITCH_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "killswitch/error.h"
#include "killswitch/policy.h"

/*
 * The exclusion cgroup for split tunnelling (src/cgroup/). Programs in it
 * bypass the tunnel: the compiler matches their sockets with
 * "socket cgroupv2 level N PATH" (v2) or "meta cgroup CLASSID" (v1 net_cls).
 *
 * Layout detection is split into a pure part (parse mount tables; plan the
 * path and level; locate the group) that unit tests feed with sample tables
 * (src/cgroup/layout.c), and the I/O part that reads /proc and touches
 * /sys/fs/cgroup (src/cgroup/cgroup.c).
 *
 * What ks_cgroup_plan() puts in struct ks_split:
 *   v2: path relative to /sys/fs/cgroup, as nft resolves it when the rule is
 *       loaded ("unified/killswitch-exclude" on a hybrid host), and level, the
 *       depth of the group inside the v2 hierarchy (1 for a child of the root);
 *       the last `level` components of path are the group, the ones before
 *       them the v2 mount point below /sys/fs/cgroup.
 *   v1: classid, and path relative to the net_cls hierarchy's root (wherever
 *       it is mounted), level its depth. The compiler uses only the classid.
 *
 * The I/O functions return 0 or a negative errno with a one-line
 * "<what>: '<value>'" in err.
 */

#define KS_CGROUP_ROOT "/sys/fs/cgroup"
#define KS_CGROUP_MOUNT_MAX 256

enum ks_cgroup_layout {
	KS_CGROUP_LAYOUT_NONE,	  /* no cgroup file systems mounted (or hidden, as by `ip netns exec`) */
	KS_CGROUP_LAYOUT_V1,	  /* legacy: v1 controllers only */
	KS_CGROUP_LAYOUT_HYBRID,  /* v1 controllers and v2 (usually at /sys/fs/cgroup/unified) */
	KS_CGROUP_LAYOUT_UNIFIED, /* v2 only, usually at /sys/fs/cgroup */
};

struct ks_cgroup_mounts {
	enum ks_cgroup_layout layout;
	char v2_mount[KS_CGROUP_MOUNT_MAX];	 /* mount point of cgroup2, "" if none */
	char net_cls_mount[KS_CGROUP_MOUNT_MAX]; /* mount point of the v1 net_cls controller, "" if not mounted */
	bool net_cls_in_kernel;			 /* /proc/cgroups lists net_cls enabled (it can be mounted) */
	bool v2_socket_match;			 /* the kernel has "socket cgroupv2" (5.13+); not from the tables */
	bool net_cls_harmless;			 /* 5.15+: using net_cls leaves cgroup v2 socket matching alone */
};

const char *ks_cgroup_layout_name(enum ks_cgroup_layout layout);

/*
 * Pure: parses the text of /proc/self/mountinfo and of /proc/cgroups
 * (proc_cgroups may be NULL: net_cls then counts as absent). Leaves
 * v2_socket_match false. Returns 0 or -EINVAL for text that is not a mount
 * table.
 */
int ks_cgroup_parse_mounts(const char *mountinfo, const char *proc_cgroups, struct ks_cgroup_mounts *out);

/* Pure: whether a kernel release ("6.1.0-18-amd64") has the "socket cgroupv2" match (5.13+). */
bool ks_cgroup_kernel_has_socket_v2(const char *release);

/*
 * Pure: whether using net_cls leaves cgroup v2 socket matching working on
 * a kernel release (5.15+). Before, the first classid written switched
 * every socket's cgroup data to classid mode: cgroup-BPF (systemd's
 * IPAddressDeny=) and "socket cgroupv2" stopped matching system-wide.
 */
bool ks_cgroup_kernel_net_cls_harmless(const char *release);

/*
 * Pure: chooses the mechanism and fills split (mode, path, level, and
 * classid when it is 0; ct_mark is left alone). want is KS_SPLIT_OFF for
 * "automatic": v2 when cgroup2 is mounted at or below /sys/fs/cgroup and the
 * kernel matches it, else v1 net_cls when the kernel has it and some cgroup
 * file system is mounted at all, and using it cannot break cgroup v2 (no v2
 * mounted, or net_cls_harmless). v1 asked for by name is given regardless. name is the exclusion cgroup's path inside
 * the hierarchy (ks_parse_cgroup_path's alphabet). Returns 0, -EINVAL for a
 * bad name or a path too long, or -EOPNOTSUPP when the wanted (or any)
 * mechanism is not available.
 */
int ks_cgroup_plan(const struct ks_cgroup_mounts *mounts, enum ks_split_mode want, const char *name,
		   struct ks_split *split);

/*
 * Pure: the part of the cgroup tree a user's exclusion group lives in, so
 * that excluding a program never takes it out of the slice it runs in
 * (cgroup-BPF egress rules such as systemd's IPAddressDeny=, memory and
 * pids limits, kill-on-stop all hold for the slice's subtree). own is the
 * caller's v2 cgroup as /proc/self/cgroup shows it. Inside systemd's
 * "/user.slice/user-UID.slice" (uid's own): that slice; the root cgroup
 * (a host without systemd's user slices): "/". Anything else (a system
 * service, a container, another user's slice): -EPERM, nothing to offer.
 */
int ks_cgroup_user_domain(const char *own, uid_t uid, char *domain, size_t size);

/*
 * Pure: moves a v2 plan (from ks_cgroup_plan) into domain: "unified/NAME"
 * level 1 becomes "unified/user.slice/user-1000.slice/NAME" level 3. A v1
 * plan and the domain "/" are left alone: net_cls is a hierarchy of its
 * own, moving there leaves every other hierarchy as it was. -EINVAL when
 * the path would not fit.
 */
int ks_cgroup_plan_in(struct ks_split *split, const char *domain);

/* Where the exclusion cgroup of a planned split lives. */
struct ks_cgroup_where {
	char hierarchy[KS_CGROUP_MOUNT_MAX]; /* the hierarchy's mount point */
	char group[KS_CGROUP_PATH_MAX + 1];  /* the group inside it, from "/", as /proc/PID/cgroup shows it */
};

/*
 * Pure: the mount point and in-hierarchy path of split's group. -ENOENT when
 * the hierarchy is not mounted (v1: net_cls not mounted yet; v2: the
 * planned mount point is gone), -EINVAL for an inconsistent split.
 */
int ks_cgroup_locate(const struct ks_split *split, const struct ks_cgroup_mounts *mounts,
		     struct ks_cgroup_where *out);

/*
 * Pure: the cgroup of one hierarchy in the text of /proc/PID/cgroup: the
 * "0::" line for v2, the line whose controllers include net_cls for v1.
 * -ENOENT when there is none.
 */
int ks_cgroup_parse_proc(const char *text, enum ks_split_mode mode, char *out, size_t size);

/* Pure: whether group (from ks_cgroup_parse_proc) is the exclusion group where or below it. */
bool ks_cgroup_is_inside(const char *group, const struct ks_cgroup_where *where);

/* Pure: the same, from the plan alone (no mount table): split's group is the last level components of its path. */
bool ks_cgroup_split_holds(const struct ks_split *split, const char *group);

/* Reads /proc/self/mountinfo and /proc/cgroups, and the kernel release. */
int ks_cgroup_detect(struct ks_cgroup_mounts *out);

/*
 * Detect + plan with the environment's choices (ks_env(): the mechanism
 * of KILLSWITCH_SPLIT_TUNNEL and the group of KILLSWITCH_CGROUP_NAME; a
 * setuid caller loaded defaults only). Sets mode KS_SPLIT_OFF (and returns
 * 0) when "off" was asked for. Creates nothing: killswitch compile calls it
 * unprivileged.
 */
int ks_cgroup_choose(struct ks_split *split, char err[KS_ERR_LEN]);

/*
 * The same for the inclusion group of --include-only: KILLSWITCH_INCLUDE_CGROUP_NAME
 * (default killswitch-include) and split's own classid (KS_INCLUDE_CLASSID
 * from ks_policy_init). Prepare, attach, detach and list take it as they
 * take the exclusion group.
 */
int ks_cgroup_choose_include(struct ks_split *split, char err[KS_ERR_LEN]);

/*
 * Creates the exclusion cgroup if needed (mounting net_cls first for v1 when
 * it is not mounted: at /sys/fs/cgroup/net_cls, or under the run directory
 * on a v2-only host, and writing net_cls.classid through libcgroup).
 * Idempotent. Must run before a ruleset naming the v2 path is loaded: nft
 * resolves the path at load time. *created (may be NULL) says whether this
 * call made the group itself.
 */
int ks_cgroup_prepare(const struct ks_split *split, bool *created, char err[KS_ERR_LEN]);

/*
 * Removes the exclusion cgroup (the group itself, not the directories
 * above it nor a net_cls mount). 0 when it is gone or was never made;
 * -EBUSY while processes are in it (or in a group below it).
 */
int ks_cgroup_remove(const struct ks_split *split, char err[KS_ERR_LEN]);

/*
 * Moves pid (all its threads) into the exclusion cgroup, then records
 * under $KILLSWITCH_RUNDIR/split-v1|v2/ the cgroup it came from. procfd is
 * pid's /proc directory (ks_proc_open), or -1 to read /proc/PID by number
 * (the caller itself).
 */
int ks_cgroup_attach(const struct ks_split *split, pid_t pid, int procfd, char err[KS_ERR_LEN]);

/*
 * Moves pid back out: to the cgroup recorded when it (or the nearest
 * excluded ancestor) was attached. Never anywhere else: without a record,
 * or when the recorded cgroup refuses it, -ENOENT and the process stays
 * where it is (the hierarchy's root would take it out of its slice).
 * -ENOENT when pid is not in the exclusion cgroup, -ESRCH when there is no
 * such process.
 */
int ks_cgroup_detach(const struct ks_split *split, pid_t pid, int procfd, char err[KS_ERR_LEN]);

/*
 * Moves the calling process itself into the exclusion cgroup, without a
 * record, and checks that it is there: a root-owned cgroup whose
 * cgroup.freeze and cgroup.kill the user cannot write, as they can in a
 * cgroup delegated to them (systemd's user@UID.service), to stop or kill
 * us between a check and the move it allows.
 */
int ks_cgroup_enter(const struct ks_split *split, char err[KS_ERR_LEN]);

/*
 * After an attach whose target exited meanwhile: if pid now names a
 * process in the exclusion cgroup, it may be one that got the PID after
 * the target and was moved in its place. It goes to its parent's cgroup,
 * where it was born, unless the parent is excluded too. Best effort.
 */
void ks_cgroup_undo(const struct ks_split *split, pid_t pid);

/* The v2 cgroup of the process whose /proc directory is procfd (-1: our own), as /proc/PID/cgroup gives it. */
int ks_cgroup_of(int procfd, char *out, size_t size);

/* The cgroup id of split's v2 group (its inode number), what "socket cgroupv2" compares. */
int ks_cgroup_id(const struct ks_split *split, uint64_t *id, char err[KS_ERR_LEN]);

/*
 * v2: adds to policy->user_groups, sorted, every exclusion group that
 * exists inside a user's slice ("user.slice/user-UID.slice/NAME" for
 * split's NAME). Nothing for v1. 0 or -ENOMEM.
 */
int ks_cgroup_find_user_groups(const struct ks_split *split, struct ks_policy *policy);

/* The PIDs in the exclusion cgroup (and its children), sorted; *pids is malloc'ed. */
int ks_cgroup_list(const struct ks_split *split, pid_t **pids, size_t *n, char err[KS_ERR_LEN]);

#endif
