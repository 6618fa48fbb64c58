/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_ENV_H
#define KILLSWITCH_ENV_H

#include <stdbool.h>

#include "killswitch/error.h"
#include "killswitch/policy.h"

/*
 * Every KILLSWITCH_* variable, read and checked in one place
 * (src/policy/env.c) before a command does anything, so that a typo is an
 * error up front (exit 2), never a warning halfway. Tests running in
 * parallel and containers use them to keep apart.
 */
struct ks_env {
	const char *rundir;	 /* KILLSWITCH_RUNDIR, absolute; default /run/killswitch */
	const char *confdir;	 /* KILLSWITCH_CONFDIR, absolute; default the build's /etc/killswitch */
	const char *table;	 /* KILLSWITCH_TABLE; default "killswitch" */
	const char *split;	 /* KILLSWITCH_SPLIT_TUNNEL as given (auto, v1, v2, off), NULL when unset */
	enum ks_split_mode want; /* from split: KS_SPLIT_OFF for automatic */
	bool split_off;		 /* split is "off" */
	const char *cgroup_name; /* KILLSWITCH_CGROUP_NAME; default "killswitch-exclude" */
	const char *include_name; /* KILLSWITCH_INCLUDE_CGROUP_NAME; default "killswitch-include" */
	unsigned portal_seconds; /* KILLSWITCH_PORTAL_SECONDS (tests): portal's grant in seconds; 0 when unset */
};

/*
 * Reads the variables (trusted false, for a set-user-ID caller: none of
 * them, every default) and keeps them for ks_env(). A bad value is
 * -EINVAL with err naming the first one; the defaults stand for it.
 */
int ks_env_load(bool trusted, char err[KS_ERR_LEN]);

/* What ks_env_load() read; a program that never called it gets the environment read as trusted. */
const struct ks_env *ks_env(void);

#endif
