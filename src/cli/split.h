/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_CLI_SPLIT_H
#define KILLSWITCH_CLI_SPLIT_H

#include "killswitch/policy.h"
#include "killswitch/privilege.h"
#include "output.h"

/* split-tunnel exec: the command's own status, or as env(1) when it cannot run. */
enum {
	KS_EXIT_CANNOT_RUN = 126,
	KS_EXIT_NOT_FOUND = 127,
};

/* The subcommands of split-tunnel; argv[0] is the subcommand's name. */
int split_exec_main(int argc, char *argv[]);
int split_add_main(int argc, char *argv[]);
int split_del_main(int argc, char *argv[]);
int split_list_main(int argc, char *argv[]);
/* add|del --unit NAME | --slice NAME [--user] [--persist] (split_unit.c); argv[0] is "add" or "del". */
int split_unit_main(int argc, char *argv[], bool add);

/* The group whose members may use a set-user-ID install (docs/split-tunnel.1). */
#ifndef KS_SPLIT_TUNNEL_GROUP
#define KS_SPLIT_TUNNEL_GROUP "killswitch"
#endif

/* Who runs us, what we hold for them, and where their programs may be excluded. */
struct split_ctx {
	struct ks_invoker who;
	struct ks_priv_held held;
	struct ks_split split;
	/*
	 * The part of the v2 tree this caller's targets must be in, and their
	 * exclusion group inside it (ks_cgroup_user_domain): "/" or
	 * "/user.slice/user-UID.slice". "" for root, or where no v2 hierarchy
	 * is mounted (v1 moves leave every other hierarchy alone).
	 */
	char domain[KS_CGROUP_PATH_MAX];
	bool include; /* split holds the inclusion group (split_setup_include) */
};

/*
 * Who runs us; for a user (sudo, setuid): all IDs to root, signals blocked
 * and limits raised (ks_priv_hold), membership of KS_SPLIT_TUNNEL_GROUP
 * checked (setuid); which exclusion cgroup to use (the environment's
 * overrides only when it is trusted), inside the caller's own slice.
 * Returns an exit code: fail_code for a system error or a refusal,
 * KS_EXIT_USAGE for bad SUDO_* or KILLSWITCH_* values (fail_code too for
 * exec, whose 2 would look like the command's own status).
 */
int split_setup(struct split_ctx *ctx, int fail_code, bool usage_is_fail);

/*
 * split_setup, then the inclusion group (--include-only) in place of the
 * exclusion group. Only where the group is the one the ruleset names: as
 * root, or for a user whose programs run in the root cgroup; inside a
 * user's slice (which would need a group of its own there) it refuses.
 */
int split_setup_include(struct split_ctx *ctx, int fail_code, bool usage_is_fail);

/*
 * Creates the exclusion group if the caller may (not in user mode), and
 * for a group inside a user's slice adds its id to the ruleset's set of
 * them (the ruleset cannot name a group that did not exist when it was
 * loaded). 0 or a negative errno with err.
 */
int split_prepare(const struct split_ctx *ctx, char err[KS_ERR_LEN]);

#endif
