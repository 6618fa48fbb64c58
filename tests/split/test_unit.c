// SPDX-License-Identifier: GPL-2.0-or-later
/* Split tunnelling by unit, the pure part: which names pass, where systemd puts their cgroups, the units file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "killswitch/unit.h"

static void test_names(void **state)
{
	static const char *const good_services[] = {
		"kse-test.service", "a.service", "getty@tty1.service", "systemd-fsck@dev-disk-by\\x2duuid-1234.service",
		"foo:bar_baz.service", "A9.service", "x@y@z.service",
	};
	static const char *const bad_services[] = {
		"", ".service", "getty@.service", "@tty1.service", "-x.service", "..service", "../x.service",
		"a/b.service", "a b.service", "a\nb.service", "a\"b.service", "a;b.service", "a\\x2.service",
		"a\\X2d.service", "a\\x2D.service", "a\\.service", "x.slice", "x.socket", "x.service\n", "x.service ",
		"a$(id).service", "a'b.service", "é.service",
	};
	static const char *const good_slices[] = { "a.slice", "a-b.slice", "app-foo\\x2dbar.slice", "system.slice" };
	static const char *const bad_slices[] = { "-.slice", "a-.slice", "a--b.slice", "-a.slice", ".slice", "a.service",
						  "a/b.slice", "a@b.slice" };
	char longest[KS_UNIT_NAME_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(good_services) / sizeof(*good_services); i++)
		assert_int_equal(ks_unit_check(good_services[i], KS_UNIT_SERVICE), 0);
	for (size_t i = 0; i < sizeof(bad_services) / sizeof(*bad_services); i++)
		assert_int_equal(ks_unit_check(bad_services[i], KS_UNIT_SERVICE), -EINVAL);
	for (size_t i = 0; i < sizeof(good_slices) / sizeof(*good_slices); i++)
		assert_int_equal(ks_unit_check(good_slices[i], KS_UNIT_SLICE), 0);
	for (size_t i = 0; i < sizeof(bad_slices) / sizeof(*bad_slices); i++)
		assert_int_equal(ks_unit_check(bad_slices[i], KS_UNIT_SLICE), -EINVAL);
	assert_int_equal(ks_unit_check(NULL, KS_UNIT_SERVICE), -EINVAL);
	/* 255 bytes pass, 256 do not. */
	memset(longest, 'a', sizeof(longest));
	strcpy(longest + KS_UNIT_NAME_MAX - strlen(".service"), ".service");
	assert_int_equal(ks_unit_check(longest, KS_UNIT_SERVICE), 0);
	memset(longest, 'a', sizeof(longest));
	strcpy(longest + KS_UNIT_NAME_MAX + 1 - strlen(".service"), ".service");
	assert_int_equal(ks_unit_check(longest, KS_UNIT_SERVICE), -EINVAL);
}

static void expect_path(const char *name, enum ks_unit_kind kind, bool user, uid_t uid, const char *path,
			unsigned level)
{
	char out[KS_UNIT_PATH_MAX];
	unsigned got = 0;

	assert_int_equal(ks_unit_cgroup(name, kind, user, uid, out, sizeof(out), &got), 0);
	assert_string_equal(out, path);
	assert_int_equal(got, level);
	assert_int_equal(ks_unit_check_path(out, &got), 0);
	assert_int_equal(got, level);
	assert_true(ks_unit_path_is_users(out, uid) == user);
}

static void test_cgroups(void **state)
{
	char out[16];
	unsigned level;

	(void)state;
	expect_path("kse-test.service", KS_UNIT_SERVICE, false, 0, "system.slice/kse-test.service", 2);
	expect_path("kse-test", KS_UNIT_SERVICE, false, 0, "system.slice/kse-test.service", 2);
	expect_path("getty@tty1.service", KS_UNIT_SERVICE, false, 0, "system.slice/system-getty.slice/getty@tty1.service",
		    3);
	expect_path("foo-bar@x.service", KS_UNIT_SERVICE, false, 0,
		    "system.slice/system-foo\\x2dbar.slice/foo-bar@x.service", 3);
	expect_path("machine.slice", KS_UNIT_SLICE, false, 0, "machine.slice", 1);
	expect_path("a-b-c.slice", KS_UNIT_SLICE, false, 0, "a.slice/a-b.slice/a-b-c.slice", 3);
	expect_path("game.service", KS_UNIT_SERVICE, true, 1000,
		    "user.slice/user-1000.slice/user@1000.service/app.slice/game.service", 5);
	expect_path("steam@main.service", KS_UNIT_SERVICE, true, 1000,
		    "user.slice/user-1000.slice/user@1000.service/app.slice/app-steam.slice/steam@main.service", 6);
	expect_path("app-games.slice", KS_UNIT_SLICE, true, 4242,
		    "user.slice/user-4242.slice/user@4242.service/app.slice/app-games.slice", 5);
	assert_int_equal(ks_unit_cgroup("../etc.service", KS_UNIT_SERVICE, false, 0, out, sizeof(out), &level), -EINVAL);
	assert_int_equal(ks_unit_cgroup("a.slice", KS_UNIT_SERVICE, false, 0, out, sizeof(out), &level), -EINVAL);
	assert_int_equal(ks_unit_cgroup("kse-test.service", KS_UNIT_SERVICE, false, 0, out, sizeof(out), &level),
			 -ENAMETOOLONG);
	assert_false(ks_unit_path_is_users("user.slice/user-10000.slice/x.service", 1000));
	assert_false(ks_unit_path_is_users("user.slice/user-1000.slice/", 1000));
	assert_false(ks_unit_path_is_users("system.slice/user.slice/user-1000.slice/x.service", 1000));
}

static void test_paths(void **state)
{
	unsigned level;

	(void)state;
	assert_int_equal(ks_unit_check_path("/system.slice/x.service", &level), -EINVAL);
	assert_int_equal(ks_unit_check_path("system.slice/../x.service", &level), -EINVAL);
	assert_int_equal(ks_unit_check_path("system.slice//x.service", &level), -EINVAL);
	assert_int_equal(ks_unit_check_path("system.slice/x.service/", &level), -EINVAL);
	assert_int_equal(ks_unit_check_path("system.slice/x", &level), -EINVAL);
	assert_int_equal(ks_unit_check_path("", &level), -EINVAL);
	assert_int_equal(ks_unit_check_path("system.slice/x.service", &level), 0);
	assert_int_equal(level, 2);
}

static void test_units_file(void **state)
{
	struct ks_units units = { 0 };
	unsigned bad;
	char *text = NULL;

	(void)state;
	assert_int_equal(ks_units_parse("# comment\n\nsystem.slice/a.service\nsystem.slice/a.service\n"
					"user.slice/user-1000.slice/user@1000.service/app.slice/b.service",
					&units, &bad),
			 0);
	assert_int_equal(units.n, 2);
	assert_int_equal(ks_units_levels(&units), (1u << 2) | (1u << 5));
	assert_int_equal(ks_units_add(&units, "machine.slice"), 1);
	assert_int_equal(ks_units_add(&units, "machine.slice"), 0);
	assert_int_equal(ks_units_del(&units, "system.slice/a.service"), 1);
	assert_int_equal(ks_units_del(&units, "system.slice/a.service"), 0);
	assert_int_equal(ks_units_format(&units, &text), 0);
	assert_non_null(strstr(text, "\nuser.slice/user-1000.slice/user@1000.service/app.slice/b.service\nmachine.slice\n"));
	ks_units_free(&units);
	assert_int_equal(ks_units_parse(text, &units, &bad), 0);
	assert_int_equal(units.n, 2);
	free(text);
	ks_units_free(&units);
	assert_int_equal(ks_units_parse("system.slice/a.service\nsystem.slice/../../etc\n", &units, &bad), -EINVAL);
	assert_int_equal(bad, 2);
	ks_units_free(&units);
}

/* What systemctl show -p ControlGroup --value says, where systemd runs. */
static void test_control_group(void **state)
{
	char out[KS_UNIT_PATH_MAX];
	unsigned level = 0;

	(void)state;
	assert_int_equal(ks_unit_parse_control_group("/system.slice/backup.service\n", "backup.service", KS_UNIT_SERVICE,
						     out, sizeof(out), &level),
			 0);
	assert_string_equal(out, "system.slice/backup.service");
	assert_int_equal(level, 2);
	/* Slice= elsewhere: systemd knows better than the layout. */
	assert_int_equal(ks_unit_parse_control_group("/machine.slice/games.slice/steam.service", "steam", KS_UNIT_SERVICE, out,
						     sizeof(out), &level),
			 0);
	assert_string_equal(out, "machine.slice/games.slice/steam.service");
	assert_int_equal(level, 3);
	assert_int_equal(ks_unit_parse_control_group("\n", "backup.service", KS_UNIT_SERVICE, out, sizeof(out), &level),
			 -ENOENT);
	assert_int_equal(ks_unit_parse_control_group("", "backup.service", KS_UNIT_SERVICE, out, sizeof(out), &level), -ENOENT);
	/* Not the unit's own cgroup, not a path, more than one line, not a unit path at all. */
	assert_int_equal(ks_unit_parse_control_group("/system.slice/other.service\n", "backup.service", KS_UNIT_SERVICE, out,
						     sizeof(out), &level),
			 -EINVAL);
	assert_int_equal(ks_unit_parse_control_group("/system.slice/xbackup.service\n", "backup.service", KS_UNIT_SERVICE,
						     out, sizeof(out), &level),
			 -EINVAL);
	assert_int_equal(ks_unit_parse_control_group("system.slice/backup.service\n", "backup.service", KS_UNIT_SERVICE, out,
						     sizeof(out), &level),
			 -EINVAL);
	assert_int_equal(ks_unit_parse_control_group("/system.slice/backup.service\n/x\n", "backup.service",
						     KS_UNIT_SERVICE, out, sizeof(out), &level),
			 -EINVAL);
	assert_int_equal(ks_unit_parse_control_group("/../backup.service\n", "backup.service", KS_UNIT_SERVICE, out,
						     sizeof(out), &level),
			 -EINVAL);
	assert_int_equal(ks_unit_parse_control_group("/\n", "backup.service", KS_UNIT_SERVICE, out, sizeof(out), &level),
			 -EINVAL);
}

static void test_hierarchy(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(ks_unit_hierarchy("unified/killswitch-exclude", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/unified");
	assert_int_equal(ks_unit_hierarchy("killswitch-exclude", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup");
	assert_int_equal(ks_unit_hierarchy("unified/a/b", 2, out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/unified");
	assert_int_equal(ks_unit_hierarchy("a", 2, out, sizeof(out)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),	   cmocka_unit_test(test_cgroups),  cmocka_unit_test(test_paths),
		cmocka_unit_test(test_units_file), cmocka_unit_test(test_hierarchy), cmocka_unit_test(test_control_group),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
