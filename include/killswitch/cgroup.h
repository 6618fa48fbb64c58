/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_CGROUP_H
#define KILLSWITCH_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "killswitch/policy.h"

/*
 * The exclusion cgroup for split tunnelling (src/cgroup/). Programs in it
 * bypass the tunnel: the compiler matches their sockets with
 * "socket cgroupv2 level N PATH" (v2) or "meta cgroup CLASSID" (v1 net_cls).
 *
 * Layout detection is split into a pure part (parse mount tables; plan the
 * path and level) that unit tests feed with sample tables, and the I/O part
 * that reads /proc and touches /sys/fs/cgroup.
 */

#define KS_CGROUP_ROOT "/sys/fs/cgroup"
#define KS_CGROUP_NAME "killswitch-exclude"

enum ks_cgroup_layout {
	KS_CGROUP_LAYOUT_NONE,	  /* no cgroup file systems mounted */
	KS_CGROUP_LAYOUT_V1,	  /* legacy: v1 controllers only */
	KS_CGROUP_LAYOUT_HYBRID,  /* v1 controllers and v2 (usually at /sys/fs/cgroup/unified) */
	KS_CGROUP_LAYOUT_UNIFIED, /* v2 only, at /sys/fs/cgroup */
};

struct ks_cgroup_mounts {
	enum ks_cgroup_layout layout;
	char v2_mount[256];	 /* mount point of cgroup2, "" if none */
	char net_cls_mount[256]; /* mount point of the v1 net_cls controller, "" if not mounted */
	bool net_cls_in_kernel;	 /* /proc/cgroups lists net_cls (it can be mounted) */
};

/*
 * Pure: parses the text of /proc/self/mountinfo and of /proc/cgroups.
 * Returns 0 or -EINVAL for text that is not a mount table.
 */
int ks_cgroup_parse_mounts(const char *mountinfo, const char *proc_cgroups, struct ks_cgroup_mounts *out);

/*
 * Pure: chooses the mechanism and fills split (mode, path relative to
 * /sys/fs/cgroup and level for v2, classid for v1). want is KS_SPLIT_OFF
 * for "automatic": v2 when cgroup2 is mounted at or below /sys/fs/cgroup,
 * else v1 net_cls when the kernel has it. name is the exclusion cgroup's
 * directory name. Returns 0, or -EOPNOTSUPP when the wanted (or any)
 * mechanism is not available.
 */
int ks_cgroup_plan(const struct ks_cgroup_mounts *mounts, enum ks_split_mode want, const char *name,
		   struct ks_split *split);

/* Reads /proc/self/mountinfo and /proc/cgroups. */
int ks_cgroup_detect(struct ks_cgroup_mounts *out);

/*
 * Detect + plan with the environment's overrides: KILLSWITCH_SPLIT_TUNNEL
 * (auto|v1|v2|off) and KILLSWITCH_CGROUP_NAME. A setuid caller passes
 * trust_env = false and gets the defaults. Sets mode KS_SPLIT_OFF (and
 * returns 0) when "off" was asked for.
 */
int ks_cgroup_choose(bool trust_env, struct ks_split *split);

/*
 * Creates the exclusion cgroup if needed (mounting net_cls at
 * /sys/fs/cgroup/net_cls first for v1 when it is not mounted, and writing
 * net_cls.classid). Idempotent. Must run before a ruleset naming the v2
 * path is loaded: nft resolves the path at load time.
 */
int ks_cgroup_prepare(const struct ks_split *split);

/* Moves pid (all its threads) into the exclusion cgroup. */
int ks_cgroup_attach(const struct ks_split *split, pid_t pid);
/* Moves pid back out: to the cgroup recorded when it was attached, else the hierarchy's root. */
int ks_cgroup_detach(const struct ks_split *split, pid_t pid);
/* The PIDs in the exclusion cgroup (and its children); *pids is malloc'ed. */
int ks_cgroup_list(const struct ks_split *split, pid_t **pids, size_t *n);

#endif
