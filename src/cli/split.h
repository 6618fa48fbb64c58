/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_CLI_SPLIT_H
#define KILLSWITCH_CLI_SPLIT_H

#include "cli.h"
#include "killswitch/policy.h"
#include "killswitch/privilege.h"

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

/*
 * Who runs us and which exclusion cgroup to use (the environment's
 * overrides only when it is trusted). Returns an exit code: fail_code for a
 * system error, KS_EXIT_USAGE for bad SUDO_* or KILLSWITCH_* values (fail_code
 * too for exec, whose 2 would look like the command's own status).
 */
int split_setup(struct ks_invoker *who, struct ks_split *split, int fail_code, bool usage_is_fail);

#endif
