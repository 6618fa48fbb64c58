// SPDX-License-Identifier: GPL-2.0-or-later
/* The pure cgroup code: mount tables of each layout in, plans and locations out. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "killswitch/cgroup.h"
#include "killswitch/compile.h"
#include "killswitch/policy.h"

/* Debian 12 with systemd's default: cgroup2 alone at /sys/fs/cgroup. */
static const char unified_mountinfo[] =
	"22 28 0:20 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
	"23 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw\n"
	"28 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro\n"
	"26 23 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
	"rw,nsdelegate,memory_recursiveprot\n";

/* What /proc/cgroups says when no v1 hierarchy is mounted. */
static const char cgroups_unmounted[] = "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
					"cpuset\t0\t95\t1\n"
					"cpu\t0\t95\t1\n"
					"net_cls\t0\t95\t1\n"
					"net_prio\t0\t95\t1\n"
					"pids\t0\t95\t1\n";

/* This lab host: v1 controllers, systemd's name=systemd, cgroup2 at unified/. */
static const char hybrid_mountinfo[] =
	"23 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw\n"
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static const char cgroups_hybrid[] = "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
				     "cpu\t1\t1\t1\n"
				     "memory\t4\t26\t1\n"
				     "net_cls\t0\t2\t1\n";

/* Legacy systemd: v1 only, net_cls co-mounted with net_prio, no cgroup2 at all. */
static const char legacy_mountinfo[] =
	"23 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
	"25 23 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
	"27 25 0:25 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup "
	"rw,xattr,name=systemd\n"
	"30 25 0:28 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup "
	"rw,net_cls,net_prio\n"
	"31 25 0:29 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,memory\n";

static const char cgroups_legacy[] = "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
				     "memory\t4\t60\t1\n"
				     "net_cls\t3\t1\t1\n"
				     "net_prio\t3\t1\t1\n";

/* `ip netns exec` remounts /sys: no cgroup file system left in sight. */
static const char none_mountinfo[] = "28 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
				     "22 28 0:20 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
				     "310 28 0:61 / /sys rw,relatime - sysfs ks-netns rw\n";

static struct ks_cgroup_mounts parsed(const char *mountinfo, const char *cgroups)
{
	struct ks_cgroup_mounts m;

	assert_int_equal(ks_cgroup_parse_mounts(mountinfo, cgroups, &m), 0);
	m.v2_socket_match = true;
	return m;
}

static struct ks_split fresh_split(void)
{
	struct ks_split s = { .ct_mark = KS_DEFAULT_CT_MARK };

	return s;
}

static void test_parse_unified(void **state)
{
	struct ks_cgroup_mounts m = parsed(unified_mountinfo, cgroups_unmounted);

	(void)state;
	assert_int_equal(m.layout, KS_CGROUP_LAYOUT_UNIFIED);
	assert_string_equal(m.v2_mount, "/sys/fs/cgroup");
	assert_string_equal(m.net_cls_mount, "");
	assert_true(m.net_cls_in_kernel);
	assert_string_equal(ks_cgroup_layout_name(m.layout), "unified");
}

static void test_parse_hybrid(void **state)
{
	struct ks_cgroup_mounts m = parsed(hybrid_mountinfo, cgroups_hybrid);

	(void)state;
	assert_int_equal(m.layout, KS_CGROUP_LAYOUT_HYBRID);
	assert_string_equal(m.v2_mount, "/sys/fs/cgroup/unified");
	assert_string_equal(m.net_cls_mount, "");
	assert_true(m.net_cls_in_kernel);
}

static void test_parse_hybrid_with_net_cls(void **state)
{
	static const char text[] = "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
				   "52 31 0:40 / /sys/fs/cgroup/net_cls rw,relatime - cgroup net_cls rw,net_cls\n";
	struct ks_cgroup_mounts m = parsed(text, NULL);

	(void)state;
	assert_int_equal(m.layout, KS_CGROUP_LAYOUT_HYBRID);
	assert_string_equal(m.net_cls_mount, "/sys/fs/cgroup/net_cls");
	/* Mounted means present, even without /proc/cgroups. */
	assert_true(m.net_cls_in_kernel);
}

static void test_parse_legacy(void **state)
{
	struct ks_cgroup_mounts m = parsed(legacy_mountinfo, cgroups_legacy);

	(void)state;
	assert_int_equal(m.layout, KS_CGROUP_LAYOUT_V1);
	assert_string_equal(m.v2_mount, "");
	assert_string_equal(m.net_cls_mount, "/sys/fs/cgroup/net_cls,net_prio");
	assert_true(m.net_cls_in_kernel);
}

static void test_parse_none(void **state)
{
	struct ks_cgroup_mounts m = parsed(none_mountinfo, cgroups_unmounted);

	(void)state;
	assert_int_equal(m.layout, KS_CGROUP_LAYOUT_NONE);
	assert_string_equal(m.v2_mount, "");
	assert_string_equal(m.net_cls_mount, "");
	assert_string_equal(ks_cgroup_layout_name(m.layout), "none");
}

static void test_parse_escaped_and_preferred(void **state)
{
	/* A bind mount of a sub-cgroup first, then the real root: the root wins. Spaces come as \040. */
	static const char text[] =
		"50 1 0:38 /sub /mnt/sub rw - cgroup2 cgroup2 rw\n"
		"51 1 0:38 / /mnt/my\\040cgroups rw shared:3 master:1 - cgroup2 cgroup2 rw\n"
		"52 1 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
	struct ks_cgroup_mounts m = parsed(text, NULL);

	(void)state;
	assert_string_equal(m.v2_mount, "/sys/fs/cgroup");
	assert_int_equal(ks_cgroup_parse_mounts("51 1 0:38 / /mnt/my\\040cgroups rw - cgroup2 cgroup2 rw\n", NULL, &m),
			 0);
	assert_string_equal(m.v2_mount, "/mnt/my cgroups");
	assert_false(m.net_cls_in_kernel);
}

static void test_parse_refuses_garbage(void **state)
{
	struct ks_cgroup_mounts m;

	(void)state;
	assert_int_equal(ks_cgroup_parse_mounts(NULL, NULL, &m), -EINVAL);
	assert_int_equal(ks_cgroup_parse_mounts("", NULL, &m), -EINVAL);
	assert_int_equal(ks_cgroup_parse_mounts("\n\n", NULL, &m), -EINVAL);
	assert_int_equal(ks_cgroup_parse_mounts("hello world\n", NULL, &m), -EINVAL);
	/* /proc/mounts is not mountinfo. */
	assert_int_equal(ks_cgroup_parse_mounts("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n", NULL, &m), -EINVAL);
	assert_int_equal(ks_cgroup_parse_mounts(unified_mountinfo, "net_cls 0 1 1\n", &m), -EINVAL);
	assert_int_equal(ks_cgroup_parse_mounts(unified_mountinfo, "#subsys_name\nnet_cls zero\n", &m), -EINVAL);
}

static void test_kernel_release(void **state)
{
	(void)state;
	assert_false(ks_cgroup_kernel_has_socket_v2("4.19.0-25-amd64"));
	assert_false(ks_cgroup_kernel_has_socket_v2("5.12.19"));
	assert_true(ks_cgroup_kernel_has_socket_v2("5.13.0"));
	assert_true(ks_cgroup_kernel_has_socket_v2("6.1.0-18-amd64"));
	assert_true(ks_cgroup_kernel_has_socket_v2("6.18.44-fc-v595"));
	assert_true(ks_cgroup_kernel_has_socket_v2("10.0"));
	assert_false(ks_cgroup_kernel_has_socket_v2(""));
	assert_false(ks_cgroup_kernel_has_socket_v2(NULL));
}

static void test_plan_v2_unified(void **state)
{
	struct ks_cgroup_mounts m = parsed(unified_mountinfo, cgroups_unmounted);
	struct ks_split s = fresh_split();

	(void)state;
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_OFF, KS_CGROUP_NAME, &s), 0);
	assert_int_equal(s.mode, KS_SPLIT_V2);
	assert_string_equal(s.path, "killswitch-exclude");
	assert_int_equal(s.level, 1);
	assert_int_equal(s.ct_mark, KS_DEFAULT_CT_MARK);
}

static void test_plan_v2_hybrid(void **state)
{
	struct ks_cgroup_mounts m = parsed(hybrid_mountinfo, cgroups_hybrid);
	struct ks_split s = fresh_split();

	(void)state;
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_OFF, KS_CGROUP_NAME, &s), 0);
	assert_int_equal(s.mode, KS_SPLIT_V2);
	/* nft resolves the path under /sys/fs/cgroup; the level counts inside the v2 hierarchy. */
	assert_string_equal(s.path, "unified/killswitch-exclude");
	assert_int_equal(s.level, 1);

	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_V2, "vpn/excluded", &s), 0);
	assert_string_equal(s.path, "unified/vpn/excluded");
	assert_int_equal(s.level, 2);
}

static void test_plan_v1_asked_on_hybrid(void **state)
{
	struct ks_cgroup_mounts m = parsed(hybrid_mountinfo, cgroups_hybrid);
	struct ks_split s = fresh_split();

	(void)state;
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_V1, "ks-test", &s), 0);
	assert_int_equal(s.mode, KS_SPLIT_V1);
	assert_int_equal(s.classid, KS_DEFAULT_CLASSID);
	assert_string_equal(s.path, "ks-test");
	assert_int_equal(s.level, 1);
	/* A classid already chosen stays. */
	s.classid = 0x10001;
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_V1, "ks-test", &s), 0);
	assert_int_equal(s.classid, 0x10001);
}

static void test_plan_falls_back_to_v1(void **state)
{
	struct ks_cgroup_mounts m = parsed(legacy_mountinfo, cgroups_legacy);
	struct ks_split s = fresh_split();

	(void)state;
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_OFF, KS_CGROUP_NAME, &s), 0);
	assert_int_equal(s.mode, KS_SPLIT_V1);
	assert_int_equal(s.classid, KS_DEFAULT_CLASSID);
	assert_string_equal(s.path, KS_CGROUP_NAME);

	/*
	 * A kernel without "socket cgroupv2" (before 5.13) on a hybrid host:
	 * net_cls would switch off cgroup v2 socket matching (systemd's
	 * IPAddressDeny=) for every socket, so not unless asked by name.
	 */
	m = parsed(hybrid_mountinfo, cgroups_hybrid);
	m.v2_socket_match = false;
	s = fresh_split();
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_OFF, KS_CGROUP_NAME, &s), -EOPNOTSUPP);
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_V1, KS_CGROUP_NAME, &s), 0);
	assert_int_equal(s.mode, KS_SPLIT_V1);

	/* cgroup2 outside /sys/fs/cgroup: nft cannot name it; on 5.15+ net_cls harms nothing. */
	assert_int_equal(ks_cgroup_parse_mounts("9 1 0:38 / /run/cg2 rw - cgroup2 cgroup2 rw\n", cgroups_unmounted, &m), 0);
	m.v2_socket_match = true;
	m.net_cls_harmless = true;
	s = fresh_split();
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_OFF, KS_CGROUP_NAME, &s), 0);
	assert_int_equal(s.mode, KS_SPLIT_V1);
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_V2, KS_CGROUP_NAME, &s), -EOPNOTSUPP);
}

static void test_net_cls_harmless_from(void **state)
{
	(void)state;
	assert_false(ks_cgroup_kernel_net_cls_harmless("5.14.21-150400.24.100-default"));
	assert_false(ks_cgroup_kernel_net_cls_harmless("5.10.0-28-amd64"));
	assert_false(ks_cgroup_kernel_net_cls_harmless("4.19.0"));
	assert_true(ks_cgroup_kernel_net_cls_harmless("5.15.0-91-generic"));
	assert_true(ks_cgroup_kernel_net_cls_harmless("6.1.0-18-amd64"));
	assert_false(ks_cgroup_kernel_net_cls_harmless("garbage"));
	assert_false(ks_cgroup_kernel_net_cls_harmless(NULL));
}

/* A user's programs are excluded inside their own slice, or at the root where nothing else is; never elsewhere. */
static void test_user_domain(void **state)
{
	char d[64];

	(void)state;
	assert_int_equal(ks_cgroup_user_domain("/user.slice/user-1000.slice/session-2.scope", 1000, d, sizeof(d)), 0);
	assert_string_equal(d, "/user.slice/user-1000.slice");
	assert_int_equal(ks_cgroup_user_domain("/user.slice/user-1000.slice/user@1000.service/app.slice/a.scope", 1000,
					       d, sizeof(d)), 0);
	assert_string_equal(d, "/user.slice/user-1000.slice");
	assert_int_equal(ks_cgroup_user_domain("/user.slice/user-1000.slice", 1000, d, sizeof(d)), 0);
	assert_int_equal(ks_cgroup_user_domain("/", 1000, d, sizeof(d)), 0);
	assert_string_equal(d, "/");
	/* A system service run as the user (User=), someone else's slice, a look-alike, a container. */
	assert_int_equal(ks_cgroup_user_domain("/system.slice/backup.service", 1000, d, sizeof(d)), -EPERM);
	assert_int_equal(ks_cgroup_user_domain("/user.slice/user-1001.slice/session-3.scope", 1000, d, sizeof(d)), -EPERM);
	assert_int_equal(ks_cgroup_user_domain("/user.slice/user-10000.slice/session-3.scope", 1000, d, sizeof(d)),
			 -EPERM);
	assert_int_equal(ks_cgroup_user_domain("/lxc.payload.c1/user.slice/user-1000.slice", 1000, d, sizeof(d)),
			 -EPERM);
	assert_int_equal(ks_cgroup_user_domain("/user.slice", 1000, d, sizeof(d)), -EPERM);
}

static void test_plan_in_domain(void **state)
{
	struct ks_split s = { .mode = KS_SPLIT_V2, .level = 1 };

	(void)state;
	strcpy(s.path, "unified/killswitch-exclude");
	assert_int_equal(ks_cgroup_plan_in(&s, "/"), 0);
	assert_string_equal(s.path, "unified/killswitch-exclude");
	assert_int_equal(s.level, 1);
	assert_int_equal(ks_cgroup_plan_in(&s, "/user.slice/user-1000.slice"), 0);
	assert_string_equal(s.path, "unified/user.slice/user-1000.slice/killswitch-exclude");
	assert_int_equal(s.level, 3);

	/* v2-only host, a two-component group name. */
	s = (struct ks_split){ .mode = KS_SPLIT_V2, .level = 2 };
	strcpy(s.path, "ks/exclude");
	assert_int_equal(ks_cgroup_plan_in(&s, "/user.slice/user-7.slice"), 0);
	assert_string_equal(s.path, "user.slice/user-7.slice/ks/exclude");
	assert_int_equal(s.level, 4);

	/* net_cls is a hierarchy of its own: v1 stays where it is. */
	s = (struct ks_split){ .mode = KS_SPLIT_V1, .level = 1 };
	strcpy(s.path, "killswitch-exclude");
	assert_int_equal(ks_cgroup_plan_in(&s, "/user.slice/user-7.slice"), 0);
	assert_string_equal(s.path, "killswitch-exclude");

	/* Which cgroups are the group or below it, from the plan alone. */
	s = (struct ks_split){ .mode = KS_SPLIT_V2, .level = 1 };
	strcpy(s.path, "unified/killswitch-exclude");
	assert_true(ks_cgroup_split_holds(&s, "/killswitch-exclude"));
	assert_true(ks_cgroup_split_holds(&s, "/killswitch-exclude/sub"));
	assert_false(ks_cgroup_split_holds(&s, "/killswitch-excluded"));
	assert_false(ks_cgroup_split_holds(&s, "/unified/killswitch-exclude"));
	assert_false(ks_cgroup_split_holds(&s, "/"));
	assert_int_equal(ks_cgroup_plan_in(&s, "/user.slice/user-7.slice"), 0);
	assert_true(ks_cgroup_split_holds(&s, "/user.slice/user-7.slice/killswitch-exclude"));
	assert_false(ks_cgroup_split_holds(&s, "/user.slice/user-7.slice"));

	/* Too long for the ruleset, or not a domain. */
	s = (struct ks_split){ .mode = KS_SPLIT_V2, .level = 1 };
	memset(s.path, 'a', KS_CGROUP_PATH_MAX - 2);
	s.path[KS_CGROUP_PATH_MAX - 2] = '\0';
	assert_int_equal(ks_cgroup_plan_in(&s, "/user.slice/user-7.slice"), -EINVAL);
	strcpy(s.path, "unified/x");
	assert_int_equal(ks_cgroup_plan_in(&s, "user.slice/../x"), -EINVAL);
}

static void test_plan_not_supported(void **state)
{
	struct ks_cgroup_mounts m = parsed(legacy_mountinfo, cgroups_legacy);
	struct ks_split s = fresh_split();

	(void)state;
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_V2, KS_CGROUP_NAME, &s), -EOPNOTSUPP);
	assert_int_equal(s.mode, KS_SPLIT_OFF);

	m = parsed(none_mountinfo, cgroups_unmounted);
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_OFF, KS_CGROUP_NAME, &s), -EOPNOTSUPP);
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_V1, KS_CGROUP_NAME, &s), -EOPNOTSUPP);

	/* v2 only and a kernel without net_cls. */
	m = parsed(unified_mountinfo, "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t0\t1\t1\n");
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_V1, KS_CGROUP_NAME, &s), -EOPNOTSUPP);
	m.v2_socket_match = false;
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_OFF, KS_CGROUP_NAME, &s), -EOPNOTSUPP);
	assert_int_equal(s.mode, KS_SPLIT_OFF);
}

static void test_plan_bad_names(void **state)
{
	struct ks_cgroup_mounts m = parsed(hybrid_mountinfo, cgroups_hybrid);
	struct ks_split s = fresh_split();
	char longname[KS_CGROUP_PATH_MAX];

	(void)state;
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_OFF, "../escape", &s), -EINVAL);
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_OFF, "/abs", &s), -EINVAL);
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_OFF, "a\"b", &s), -EINVAL);
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_OFF, "", &s), -EINVAL);
	/* Fits alone, not with "unified/" in front. */
	memset(longname, 'x', sizeof(longname) - 4);
	longname[sizeof(longname) - 4] = '\0';
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_V2, longname, &s), -EINVAL);
	assert_int_equal(s.mode, KS_SPLIT_OFF);
}

static void test_locate(void **state)
{
	struct ks_cgroup_mounts m = parsed(hybrid_mountinfo, cgroups_hybrid);
	struct ks_split s = fresh_split();
	struct ks_cgroup_where w;

	(void)state;
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_V2, "vpn/excluded", &s), 0);
	assert_int_equal(ks_cgroup_locate(&s, &m, &w), 0);
	assert_string_equal(w.hierarchy, "/sys/fs/cgroup/unified");
	assert_string_equal(w.group, "/vpn/excluded");

	m = parsed(unified_mountinfo, cgroups_unmounted);
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_V2, KS_CGROUP_NAME, &s), 0);
	assert_int_equal(ks_cgroup_locate(&s, &m, &w), 0);
	assert_string_equal(w.hierarchy, "/sys/fs/cgroup");
	assert_string_equal(w.group, "/killswitch-exclude");

	/* Planned on one layout, located on another: the v2 mount moved. */
	m = parsed(hybrid_mountinfo, cgroups_hybrid);
	assert_int_equal(ks_cgroup_locate(&s, &m, &w), -ENOENT);

	/* v1: wherever net_cls is mounted; not mounted yet is -ENOENT. */
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_V1, KS_CGROUP_NAME, &s), 0);
	assert_int_equal(ks_cgroup_locate(&s, &m, &w), -ENOENT);
	m = parsed(legacy_mountinfo, cgroups_legacy);
	assert_int_equal(ks_cgroup_locate(&s, &m, &w), 0);
	assert_string_equal(w.hierarchy, "/sys/fs/cgroup/net_cls,net_prio");
	assert_string_equal(w.group, "/killswitch-exclude");

	s.mode = KS_SPLIT_OFF;
	assert_int_equal(ks_cgroup_locate(&s, &m, &w), -EINVAL);
	s.mode = KS_SPLIT_V2;
	s.level = 3;
	assert_int_equal(ks_cgroup_locate(&s, &m, &w), -EINVAL);
}

static void test_proc_cgroup(void **state)
{
	static const char hybrid[] = "10:net_cls:/ks-test\n"
				     "9:name=systemd:/\n"
				     "4:memory:/process_api/d6e6\n"
				     "0::/user.slice/user-1000.slice/session-2.scope\n";
	static const char legacy[] = "3:net_cls,net_prio:/\n1:name=systemd:/user.slice\n";
	char out[128];
	struct ks_cgroup_where w = { .hierarchy = "/sys/fs/cgroup/unified", .group = "/killswitch-exclude" };

	(void)state;
	assert_int_equal(ks_cgroup_parse_proc(hybrid, KS_SPLIT_V2, out, sizeof(out)), 0);
	assert_string_equal(out, "/user.slice/user-1000.slice/session-2.scope");
	assert_int_equal(ks_cgroup_parse_proc(hybrid, KS_SPLIT_V1, out, sizeof(out)), 0);
	assert_string_equal(out, "/ks-test");
	assert_int_equal(ks_cgroup_parse_proc(legacy, KS_SPLIT_V1, out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(ks_cgroup_parse_proc(legacy, KS_SPLIT_V2, out, sizeof(out)), -ENOENT);
	assert_int_equal(ks_cgroup_parse_proc(hybrid, KS_SPLIT_V2, out, 8), -EINVAL);

	assert_true(ks_cgroup_is_inside("/killswitch-exclude", &w));
	assert_true(ks_cgroup_is_inside("/killswitch-exclude/child", &w));
	assert_false(ks_cgroup_is_inside("/killswitch-excluded", &w));
	assert_false(ks_cgroup_is_inside("/", &w));
}

/* The plan is what the compiler pastes into the rules. */
static void test_plan_compiles(void **state)
{
	struct ks_cgroup_mounts m = parsed(hybrid_mountinfo, cgroups_hybrid);
	struct ks_policy p;
	struct ks_buf out = KS_BUF_INIT;

	(void)state;
	ks_policy_init(&p);
	assert_int_equal(ks_policy_add_tunnel(&p, "wg0"), 0);
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_OFF, KS_CGROUP_NAME, &p.split), 0);
	assert_int_equal(ks_compile(&p, "killswitch", &out), 0);
	assert_non_null(strstr(out.data, "socket cgroupv2 level 1 \"unified/killswitch-exclude\" goto excluded"));
	ks_buf_free(&out);

	/* A user's group inside their slice: two levels deeper, in the set. */
	assert_int_equal(ks_cgroup_plan_in(&p.split, "/user.slice/user-1000.slice"), 0);
	assert_int_equal(ks_policy_add_user_group(&p, p.split.path), 0);
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_OFF, KS_CGROUP_NAME, &p.split), 0);
	assert_int_equal(ks_compile(&p, "killswitch", &out), 0);
	assert_non_null(strstr(out.data, "\"unified/user.slice/user-1000.slice/killswitch-exclude\","));
	assert_non_null(strstr(out.data, "socket cgroupv2 level 3 @excluded_users goto excluded"));
	ks_buf_free(&out);
	p.n_user_groups = 0;

	m = parsed(legacy_mountinfo, cgroups_legacy);
	assert_int_equal(ks_cgroup_plan(&m, KS_SPLIT_OFF, KS_CGROUP_NAME, &p.split), 0);
	assert_int_equal(ks_compile(&p, "killswitch", &out), 0);
	assert_non_null(strstr(out.data, "meta cgroup 0x4b530001 goto excluded"));
	assert_non_null(strstr(out.data, "ct mark set 0x4b53 meta mark set 0xca6c"));
	ks_buf_free(&out);
	ks_policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_unified),
		cmocka_unit_test(test_parse_hybrid),
		cmocka_unit_test(test_parse_hybrid_with_net_cls),
		cmocka_unit_test(test_parse_legacy),
		cmocka_unit_test(test_parse_none),
		cmocka_unit_test(test_parse_escaped_and_preferred),
		cmocka_unit_test(test_parse_refuses_garbage),
		cmocka_unit_test(test_kernel_release),
		cmocka_unit_test(test_plan_v2_unified),
		cmocka_unit_test(test_plan_v2_hybrid),
		cmocka_unit_test(test_plan_v1_asked_on_hybrid),
		cmocka_unit_test(test_plan_falls_back_to_v1),
		cmocka_unit_test(test_plan_not_supported),
		cmocka_unit_test(test_net_cls_harmless_from),
		cmocka_unit_test(test_user_domain),
		cmocka_unit_test(test_plan_in_domain),
		cmocka_unit_test(test_plan_bad_names),
		cmocka_unit_test(test_locate),
		cmocka_unit_test(test_proc_cgroup),
		cmocka_unit_test(test_plan_compiles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
