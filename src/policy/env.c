// SPDX-License-Identifier: GPL-2.0-or-later
/* Every KILLSWITCH_* variable, read and checked once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "killswitch/env.h"
#include "killswitch/parse.h"
#include "killswitch/portal.h"

static struct ks_env env;
static bool loaded;

/* A variable that is set and not empty, or NULL. */
static const char *get(bool trusted, const char *name)
{
	const char *value = trusted ? getenv(name) : NULL;

	return value && *value ? value : NULL;
}

static int bad(char err[KS_ERR_LEN], const char *what, const char *value)
{
	char escaped[KS_ERR_LEN / 2];

	snprintf(err, KS_ERR_LEN, "%s: '%s'", what, ks_escape(value, escaped, sizeof(escaped)));
	return -EINVAL;
}

/* A relative directory would silently depend on the caller's working directory. */
static int directory(bool trusted, const char *name, const char *fallback, const char **out, char err[KS_ERR_LEN])
{
	const char *dir = get(trusted, name);
	char what[64];

	*out = fallback;
	if (!dir)
		return 0;
	if (dir[0] != '/' || strlen(dir) > 1024) {
		snprintf(what, sizeof(what), "%s must be an absolute path", name);
		return bad(err, what, dir);
	}
	*out = dir;
	return 0;
}

static int split_mode(bool trusted, char err[KS_ERR_LEN])
{
	const char *mode = get(trusted, "KILLSWITCH_SPLIT_TUNNEL");
	char path[KS_CGROUP_PATH_MAX];
	const char *group = get(trusted, "KILLSWITCH_CGROUP_NAME");
	unsigned depth;

	/* Unset and empty alike; compile shows split-tunnel rules only when it is set. */
	env.split = trusted ? getenv("KILLSWITCH_SPLIT_TUNNEL") : NULL;
	if (mode && !strcmp(mode, "v1"))
		env.want = KS_SPLIT_V1;
	else if (mode && !strcmp(mode, "v2"))
		env.want = KS_SPLIT_V2;
	else if (mode && !strcmp(mode, "off"))
		env.split_off = true;
	else if (mode && strcmp(mode, "auto"))
		return bad(err, "invalid KILLSWITCH_SPLIT_TUNNEL (auto, v1, v2 or off)", mode);
	if (group && ks_parse_cgroup_path(group, path, &depth) < 0)
		return bad(err, "invalid KILLSWITCH_CGROUP_NAME (components of A-Z a-z 0-9 _ . -)", group);
	env.cgroup_name = group ? group : KS_CGROUP_NAME;
	return 0;
}

/* The inclusion group's name (--include-only): never the exclusion group's. */
static int include_name(bool trusted, char err[KS_ERR_LEN])
{
	const char *group = get(trusted, "KILLSWITCH_INCLUDE_CGROUP_NAME");
	char path[KS_CGROUP_PATH_MAX];
	unsigned depth;

	if (group && ks_parse_cgroup_path(group, path, &depth) < 0)
		return bad(err, "invalid KILLSWITCH_INCLUDE_CGROUP_NAME (components of A-Z a-z 0-9 _ . -)", group);
	env.include_name = group ? group : KS_INCLUDE_CGROUP_NAME;
	if (!strcmp(env.include_name, env.cgroup_name))
		return bad(err, "KILLSWITCH_INCLUDE_CGROUP_NAME names the exclusion group", env.include_name);
	return 0;
}

/* A test's short portal: replaces --minutes (docs/portal.md). */
static int portal_seconds(bool trusted, char err[KS_ERR_LEN])
{
	const char *seconds = get(trusted, "KILLSWITCH_PORTAL_SECONDS");

	if (seconds && ks_portal_parse_seconds(seconds, &env.portal_seconds) < 0)
		return bad(err, "invalid KILLSWITCH_PORTAL_SECONDS (1..3600)", seconds);
	return 0;
}

int ks_env_load(bool trusted, char err[KS_ERR_LEN])
{
	const char *table = get(trusted, "KILLSWITCH_TABLE");
	int ret;

	env = (struct ks_env){ .rundir = "/run/killswitch", .confdir = KS_CONFDIR_DEFAULT, .table = KS_TABLE_NAME,
			       .cgroup_name = KS_CGROUP_NAME, .include_name = KS_INCLUDE_CGROUP_NAME };
	loaded = true;
	ret = directory(trusted, "KILLSWITCH_RUNDIR", env.rundir, &env.rundir, err);
	if (ret == 0)
		ret = directory(trusted, "KILLSWITCH_CONFDIR", env.confdir, &env.confdir, err);
	if (ret == 0)
		ret = split_mode(trusted, err);
	if (ret == 0)
		ret = include_name(trusted, err);
	if (ret == 0 && table && ks_parse_table_name(table) < 0)
		ret = bad(err, "invalid KILLSWITCH_TABLE (killswitch followed by letters, digits, _)", table);
	else if (ret == 0 && table)
		env.table = table;
	if (ret == 0)
		ret = portal_seconds(trusted, err);
	return ret;
}

const struct ks_env *ks_env(void)
{
	char err[KS_ERR_LEN];

	if (!loaded)
		ks_env_load(true, err);
	return &env;
}
