// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * split-tunnel add|del --unit NAME | --slice NAME [--user] [--persist]:
 * a systemd unit's own cgroup excluded, matched by its id, no process moved.
 * The unit's path is listed (the run directory; with --persist the config
 * directory too, read again at boot); whoever applies the table puts the
 * current ids in (a restart makes a new cgroup: see killswitch watch).
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "killswitch/env.h"
#include "killswitch/file.h"
#include "killswitch/nft.h"
#include "killswitch/parse.h"
#include "killswitch/schema.h"
#include "split.h"
#include "units.h"

struct unit_args {
	const char *name;
	enum ks_unit_kind kind;
	bool user, persist;
};

static int parse_args(int argc, char *argv[], struct unit_args *a)
{
	char escaped[KS_ERR_LEN / 2];

	*a = (struct unit_args){ 0 };
	for (int i = 1; i < argc; i++) {
		bool unit = !strcmp(argv[i], "--unit"), slice = !strcmp(argv[i], "--slice");

		if (unit || slice) {
			if (a->name)
				return cli_error(KS_EXIT_USAGE, "one --unit or --slice at a time: '%s'",
						 ks_escape(argv[i], escaped, sizeof(escaped)));
			if (i + 1 >= argc)
				return cli_error(KS_EXIT_USAGE, "%s needs a unit name: '%s'", argv[i], "");
			a->kind = unit ? KS_UNIT_SERVICE : KS_UNIT_SLICE;
			a->name = argv[++i];
		} else if (!strcmp(argv[i], "--user")) {
			a->user = true;
		} else if (!strcmp(argv[i], "--persist")) {
			a->persist = true;
		} else {
			return cli_error(KS_EXIT_USAGE, "unknown option for %s: '%s'", argv[0],
					 ks_escape(argv[i], escaped, sizeof(escaped)));
		}
	}
	if (!a->name)
		return cli_error(KS_EXIT_USAGE, "%s needs a PID, --unit NAME or --slice NAME: '%s'", argv[0], "");
	return KS_EXIT_OK;
}

/* split-tunnel add|del of units, one at a time: a lock beside the list (killswitch's own lock is not ours to take). */
static int lock_lists(int *fd, char err[KS_ERR_LEN])
{
	char path[4096];

	if (mkdir(ks_env()->rundir, 0700) < 0 && errno != EEXIST)
		return ks_sys_error(err, "make the directory", ks_env()->rundir, -errno);
	if (snprintf(path, sizeof(path), "%s/%s.lock", ks_env()->rundir, KS_UNITS_FILE) >= (int)sizeof(path))
		return ks_sys_error(err, "lock", ks_env()->rundir, -ENAMETOOLONG);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*fd < 0)
		return ks_sys_error(err, "lock", path, -errno);
	if (flock(*fd, LOCK_EX) < 0)
		return ks_sys_error(err, "lock", path, -errno);
	return 0;
}

/*
 * A user's units, at most: each one listed costs every apply a stat, and
 * watch a directory to follow; a user must not make that unbounded.
 */
#define UNITS_PER_USER_MAX 32

static size_t users_units(const struct ks_units *units, uid_t uid)
{
	size_t n = 0;

	for (size_t i = 0; i < units->n; i++)
		n += ks_unit_path_is_users(units->paths[i], uid);
	return n;
}

/* Adds or removes path in dir's list; *changed says whether it was (not) there. */
static int edit_list(const struct split_ctx *ctx, const char *dir, const char *path, bool add, bool durable,
		     bool *changed, char err[KS_ERR_LEN])
{
	struct ks_units units = { 0 };
	int ret;

	*changed = false;
	ret = ks_units_load(dir, &units, err);
	if (ret == 0 && add && ctx->who.uid != 0 && !ks_units_has(&units, path) &&
	    users_units(&units, ctx->who.uid) >= UNITS_PER_USER_MAX) {
		snprintf(err, KS_ERR_LEN, "you have excluded as many units as a user may: '%d'", UNITS_PER_USER_MAX);
		ret = -EDQUOT;
	}
	if (ret == 0) {
		ret = add ? ks_units_add(&units, path) : ks_units_del(&units, path);
		if (ret < 0)
			ks_sys_error(err, "list the unit in", dir, ret);
	}
	if (ret > 0) {
		*changed = true;
		ret = ks_units_store(dir, &units, durable, err);
	}
	ks_units_free(&units);
	return ret;
}

/* The unit's current cgroup id in or out of the table's set for its level, when both exist. */
static void tell_table(const struct split_ctx *ctx, const char *path, unsigned level, bool add)
{
	char err[KS_ERR_LEN] = "", hierarchy[KS_UNIT_PATH_MAX];
	struct ks_units one = { 0 };
	uint32_t missing = 0;
	uint64_t id;
	int ret;

	if (ks_unit_hierarchy(ctx->split.path, ctx->split.level, hierarchy, sizeof(hierarchy)) < 0 ||
	    ks_unit_id(hierarchy, path, &id) < 0) {
		if (add)
			fprintf(stderr, "%s: the unit is not running: excluded from its next start on\n", program_name);
		return;
	}
	if (!add) {
		struct ks_nft_elem elem = { .len = sizeof(id) };
		char set[sizeof(KS_SET_EXCLUDED_UNITS_PREFIX) + 4];

		snprintf(set, sizeof(set), "%s%u", KS_SET_EXCLUDED_UNITS_PREFIX, level);
		elem.set = set;
		memcpy(elem.key, &id, sizeof(id));
		/* Not there (the kill switch is off, or never had it): nothing to take out. */
		ks_nft_set_elements(ks_env()->table, &elem, 1, false, err);
		return;
	}
	ret = ks_units_add(&one, path);
	if (ret >= 0)
		ret = cli_units_sync(ks_env()->table, hierarchy, &one, &missing, err);
	ks_units_free(&one);
	if (ret < 0)
		cli_warn("listed, but not yet in the table (%s)", err);
	else if (missing)
		fprintf(stderr, "%s: listed; the kill switch's table has no rule for this unit's level yet: it applies at "
				"the next killswitch enable, at once with killswitch watch running\n",
			program_name);
}

/*
 * Where systemd runs (/run/systemd/system, as sd_booted() checks), what it
 * says of the unit: `systemctl show -p ControlGroup --value NAME`, run with
 * a fixed path and environment. For root alone (never set-user-ID, never
 * for a user's --user unit: their manager is not ours to ask). The answer
 * in out; -ENOENT where systemd does not run, -EIO when systemctl failed.
 */
static int ask_systemd(const char *name, char *out, size_t size)
{
	static const char *const exes[] = { "/usr/bin/systemctl", "/bin/systemctl" };
	char *argv[] = { "systemctl", "show", "-p", "ControlGroup", "--value", "--", (char *)name, NULL };
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", NULL };
	const char *exe = NULL;
	struct stat st;
	size_t len = 0;
	int fds[2], status = 0;
	pid_t pid;

	if (stat("/run/systemd/system", &st) < 0 || !S_ISDIR(st.st_mode))
		return -ENOENT;
	for (size_t i = 0; i < sizeof(exes) / sizeof(*exes) && !exe; i++)
		if (access(exes[i], X_OK) == 0)
			exe = exes[i];
	if (!exe || pipe2(fds, O_CLOEXEC) < 0)
		return -ENOENT;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null < 0 || dup2(null, 0) < 0 || dup2(fds[1], 1) < 0 || dup2(null, 2) < 0)
			_exit(127);
		execve(exe, argv, envp);
		_exit(127);
	}
	close(fds[1]);
	while (len + 1 < size) {
		ssize_t n = read(fds[0], out + len, size - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 && len + 1 < size ? 0 : -EIO;
}

/* del of a unit whose path is not the layout's (systemd placed it): the listed one that ends in its name. */
static void find_listed(const struct split_ctx *ctx, bool user, const char *name, enum ks_unit_kind kind, char *path,
			size_t size)
{
	struct ks_units units = { 0 };
	char err[KS_ERR_LEN] = "", full[KS_UNIT_NAME_MAX + 2];

	if (kind == KS_UNIT_SERVICE && !strchr(name, '.'))
		snprintf(full, sizeof(full), "/%s.service", name);
	else
		snprintf(full, sizeof(full), "/%s", name);
	if (cli_units_load_all(&units, err) == 0)
		for (size_t i = 0; i < units.n; i++) {
			size_t len = strlen(units.paths[i]), n = strlen(full);

			if (len > n && !strcmp(units.paths[i] + len - n, full) &&
			    (user ? ks_unit_path_is_users(units.paths[i], ctx->who.uid) : ctx->who.uid == 0)) {
				snprintf(path, size, "%s", units.paths[i]);
				break;
			}
		}
	ks_units_free(&units);
}

/* del: the layout's path when it is listed, else a listed path of the same unit. */
static void find_listed_if_absent(const struct split_ctx *ctx, const struct unit_args *a, char *path, size_t size,
				  unsigned *level)
{
	struct ks_units units = { 0 };
	char err[KS_ERR_LEN] = "";
	bool listed = cli_units_load_all(&units, err) == 0 && ks_units_has(&units, path);

	ks_units_free(&units);
	if (!listed)
		find_listed(ctx, a->user, a->name, a->kind, path, size);
	ks_unit_check_path(path, level);
}

int split_unit_main(int argc, char *argv[], bool add)
{
	struct unit_args a;
	struct split_ctx ctx;
	char err[KS_ERR_LEN] = "", escaped[KS_ERR_LEN / 2], path[KS_UNIT_PATH_MAX];
	bool in_run = false, in_conf = false;
	unsigned level;
	int lock = -1, ret;

	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret;
	/* The name first, before anything is held or looked at: systemd's alphabet or nothing. */
	if (ks_unit_cgroup(a.name, a.kind, a.user, 0, path, sizeof(path), &level) < 0)
		return cli_error(KS_EXIT_USAGE, "not a %s name systemd would accept: '%s'",
				 a.kind == KS_UNIT_SLICE ? "slice" : "service",
				 ks_escape(a.name, escaped, sizeof(escaped)));
	ret = split_setup(&ctx, KS_EXIT_SYSTEM, false);
	if (ret)
		return ret;
	/* A system unit's exclusion changes routing for everyone's use of it: root's call alone. */
	if (!a.user && ctx.who.uid != 0)
		return cli_error(KS_EXIT_SYSTEM, "excluding a system %s needs root (your own user units: --user): '%s'",
				 a.kind == KS_UNIT_SLICE ? "slice" : "unit", ks_escape(a.name, escaped, sizeof(escaped)));
	if (ctx.split.mode != KS_SPLIT_V2)
		return cli_error(KS_EXIT_SYSTEM, "units are matched by their cgroup v2 path, and split tunnelling here "
						 "uses: '%s'", "v1");
	ret = ks_unit_cgroup(a.name, a.kind, a.user, ctx.who.uid, path, sizeof(path), &level);
	/* By construction; checked again, this is the line between one user's units and another's. */
	if (ret < 0 || (a.user && !ks_unit_path_is_users(path, ctx.who.uid)))
		return cli_error(KS_EXIT_SYSTEM, "not your own user unit: '%s'", ks_escape(a.name, escaped, sizeof(escaped)));
	/* Where systemd runs, a running unit is where it says (a Slice= of its own), not where the layout would put it. */
	if (!a.user && ctx.who.mode == KS_PRIV_ROOT) {
		char answer[KS_UNIT_PATH_MAX + 2];

		if (ask_systemd(a.name, answer, sizeof(answer)) == 0) {
			ret = ks_unit_parse_control_group(answer, a.name, a.kind, path, sizeof(path), &level);
			if (ret < 0 && ret != -ENOENT)
				return cli_error(KS_EXIT_SYSTEM, "systemd names a cgroup that is not the unit's own: '%s'",
						 ks_escape(answer, escaped, sizeof(escaped)));
			if (ret == -ENOENT)
				ks_unit_cgroup(a.name, a.kind, false, 0, path, sizeof(path), &level);
		}
	}
	ret = lock_lists(&lock, err);
	if (ret == 0 && !add)
		find_listed_if_absent(&ctx, &a, path, sizeof(path), &level);
	if (ret == 0)
		ret = edit_list(&ctx, ks_env()->rundir, path, add, false, &in_run, err);
	/* del takes it off both lists: not excluded now, nor after the next boot. */
	if (ret == 0 && (a.persist || !add))
		ret = edit_list(&ctx, ks_env()->confdir, path, add, true, &in_conf, err);
	if (ret < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	if (!add && !in_run && !in_conf) {
		ret = cli_error(KS_EXIT_SYSTEM, "not excluded: '%s'", ks_escape(a.name, escaped, sizeof(escaped)));
		goto cleanup;
	}
	tell_table(&ctx, path, level, add);
	ret = KS_EXIT_OK;
cleanup:
	if (lock >= 0)
		close(lock);
	return ret;
}
