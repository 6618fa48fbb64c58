// SPDX-License-Identifier: GPL-2.0-or-later
/* The KILLSWITCH_* variables: read once, each bad value refused with its name, none trusted from a setuid caller. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "killswitch/env.h"

static const char *const names[] = { "KILLSWITCH_RUNDIR", "KILLSWITCH_CONFDIR", "KILLSWITCH_TABLE",
				     "KILLSWITCH_SPLIT_TUNNEL", "KILLSWITCH_CGROUP_NAME",
				     "KILLSWITCH_INCLUDE_CGROUP_NAME", "KILLSWITCH_PORTAL_SECONDS" };

static int clean(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unsetenv(names[i]);
	return 0;
}

static void test_defaults(void **state)
{
	char err[KS_ERR_LEN] = "";

	(void)state;
	assert_int_equal(ks_env_load(true, err), 0);
	assert_string_equal(ks_env()->rundir, "/run/killswitch");
	assert_string_equal(ks_env()->table, "killswitch");
	assert_string_equal(ks_env()->cgroup_name, KS_CGROUP_NAME);
	assert_string_equal(ks_env()->include_name, KS_INCLUDE_CGROUP_NAME);
	assert_null(ks_env()->split);
	assert_int_equal(ks_env()->want, KS_SPLIT_OFF);
	assert_false(ks_env()->split_off);
	assert_int_equal(ks_env()->portal_seconds, 0);
}

static void test_values(void **state)
{
	char err[KS_ERR_LEN] = "";

	(void)state;
	setenv("KILLSWITCH_RUNDIR", "/tmp/ks-run", 1);
	setenv("KILLSWITCH_CONFDIR", "/tmp/ks-conf", 1);
	setenv("KILLSWITCH_TABLE", "killswitch_t1", 1);
	setenv("KILLSWITCH_SPLIT_TUNNEL", "v1", 1);
	setenv("KILLSWITCH_CGROUP_NAME", "ks/t1", 1);
	setenv("KILLSWITCH_PORTAL_SECONDS", "12", 1);
	assert_int_equal(ks_env_load(true, err), 0);
	assert_int_equal(ks_env()->portal_seconds, 12);
	assert_string_equal(ks_env()->rundir, "/tmp/ks-run");
	assert_string_equal(ks_env()->confdir, "/tmp/ks-conf");
	assert_string_equal(ks_env()->table, "killswitch_t1");
	assert_int_equal(ks_env()->want, KS_SPLIT_V1);
	assert_string_equal(ks_env()->cgroup_name, "ks/t1");
	setenv("KILLSWITCH_SPLIT_TUNNEL", "off", 1);
	assert_int_equal(ks_env_load(true, err), 0);
	assert_true(ks_env()->split_off);

	/* A set-user-ID caller's environment is not ours to follow. */
	assert_int_equal(ks_env_load(false, err), 0);
	assert_string_equal(ks_env()->rundir, "/run/killswitch");
	assert_string_equal(ks_env()->table, "killswitch");
	assert_null(ks_env()->split);
	assert_false(ks_env()->split_off);
	assert_string_equal(ks_env()->cgroup_name, KS_CGROUP_NAME);
}

static void test_bad_values(void **state)
{
	static const struct {
		const char *name, *value, *message;
	} bad[] = {
		{ "KILLSWITCH_RUNDIR", "run/ks", "KILLSWITCH_RUNDIR must be an absolute path: 'run/ks'" },
		{ "KILLSWITCH_CONFDIR", "etc", "KILLSWITCH_CONFDIR must be an absolute path: 'etc'" },
		{ "KILLSWITCH_TABLE", "filter", "invalid KILLSWITCH_TABLE (killswitch followed by letters, digits, _): 'filter'" },
		{ "KILLSWITCH_TABLE", "killswitch\"; flush ruleset", "invalid KILLSWITCH_TABLE" },
		{ "KILLSWITCH_SPLIT_TUNNEL", "v3", "invalid KILLSWITCH_SPLIT_TUNNEL (auto, v1, v2 or off): 'v3'" },
		{ "KILLSWITCH_CGROUP_NAME", "../escape", "invalid KILLSWITCH_CGROUP_NAME" },
		{ "KILLSWITCH_CGROUP_NAME", "a\nb", "'a\\x0ab'" },
		{ "KILLSWITCH_PORTAL_SECONDS", "0", "invalid KILLSWITCH_PORTAL_SECONDS (1..3600): '0'" },
		{ "KILLSWITCH_PORTAL_SECONDS", "3601", "invalid KILLSWITCH_PORTAL_SECONDS (1..3600): '3601'" },
		{ "KILLSWITCH_PORTAL_SECONDS", "5m", "'5m'" },
	};
	char err[KS_ERR_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clean(NULL);
		setenv(bad[i].name, bad[i].value, 1);
		err[0] = '\0';
		assert_int_equal(ks_env_load(true, err), -EINVAL);
		if (!strstr(err, bad[i].message))
			fail_msg("%s=%s: said \"%s\"", bad[i].name, bad[i].value, err);
		/* Never trusted from a setuid caller, so never refused either. */
		assert_int_equal(ks_env_load(false, err), 0);
	}
}

/* The inclusion group's name: checked like the exclusion group's, and never the same group. */
static void test_include_name(void **state)
{
	char err[KS_ERR_LEN] = "";

	(void)state;
	setenv("KILLSWITCH_INCLUDE_CGROUP_NAME", "ks/inc1", 1);
	assert_int_equal(ks_env_load(true, err), 0);
	assert_string_equal(ks_env()->include_name, "ks/inc1");
	setenv("KILLSWITCH_INCLUDE_CGROUP_NAME", "../x", 1);
	assert_int_equal(ks_env_load(true, err), -EINVAL);
	assert_non_null(strstr(err, "'../x'"));
	setenv("KILLSWITCH_INCLUDE_CGROUP_NAME", KS_CGROUP_NAME, 1);
	assert_int_equal(ks_env_load(true, err), -EINVAL);
	assert_non_null(strstr(err, "'" KS_CGROUP_NAME "'"));
	/* Not followed for a set-user-ID caller. */
	setenv("KILLSWITCH_INCLUDE_CGROUP_NAME", "ks/inc1", 1);
	assert_int_equal(ks_env_load(false, err), 0);
	assert_string_equal(ks_env()->include_name, KS_INCLUDE_CGROUP_NAME);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, clean),
		cmocka_unit_test_setup(test_values, clean),
		cmocka_unit_test_setup(test_bad_values, clean),
		cmocka_unit_test_setup(test_include_name, clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
