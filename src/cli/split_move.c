// SPDX-License-Identifier: GPL-2.0-or-later
/* split-tunnel add and del: move a running process in or out of the exclusion (or --include: inclusion) cgroup. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "killswitch/cgroup.h"
#include "killswitch/parse.h"
#include "killswitch/proc.h"
#include "split.h"

/* Every thread's IDs: credentials are per thread, and a process is not the user's while one thread is root's. */
static bool all_threads_movable(const struct split_ctx *ctx, int procfd)
{
	char status[4096];
	struct ks_proc_ids ids;
	struct dirent *e;
	bool ok = true;
	DIR *d;
	int fd = openat(procfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return false;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	while (ok && (e = readdir(d))) {
		char path[64];
		pid_t tid;

		if (ks_parse_pid(e->d_name, &tid) < 0)
			continue;
		snprintf(path, sizeof(path), "task/%d/status", (int)tid);
		switch (ks_proc_read_at(procfd, path, status, sizeof(status))) {
		case 0:
			ok = ks_proc_parse_ids(status, &ids) == 0 && ks_priv_may_move(&ctx->who, &ids);
			break;
		case -ESRCH: /* a thread gone meanwhile holds no credentials any more */
			break;
		default:
			ok = false;
		}
	}
	closedir(d);
	return ok;
}

/*
 * Whether the caller may move the process behind procfd: a process, not a
 * thread of one; its IDs (a user only their own, every thread of it,
 * ks_priv_may_move); for a user, its cgroup inside the caller's slice.
 * Read through procfd, so it is about that very process.
 */
static int may_move(const struct split_ctx *ctx, pid_t pid, int procfd)
{
	char status[4096], group[PATH_MAX], escaped[KS_ERR_LEN / 2];
	struct ks_proc_ids ids;
	size_t n = strlen(ctx->domain);
	pid_t tgid;

	if (ks_proc_read_at(procfd, "status", status, sizeof(status)) < 0 || ks_proc_parse_ids(status, &ids) < 0 ||
	    ks_proc_parse_tgid(status, &tgid) < 0)
		return cli_error(KS_EXIT_SYSTEM, "no such process: '%d'", (int)pid);
	/* cgroup.procs moves a thread's whole process: the number must be the process's own. */
	if (tgid != pid)
		return cli_error(KS_EXIT_SYSTEM, "a thread, not a process (its process is %d): '%d'", (int)tgid, (int)pid);
	if (!ks_priv_may_move(&ctx->who, &ids) || (ctx->who.uid != 0 && !all_threads_movable(ctx, procfd)))
		return cli_error(KS_EXIT_SYSTEM, "not your process (%s): '%d'", strerror(EPERM), (int)pid);
	if (!n)
		return KS_EXIT_OK;
	if (ks_cgroup_of(procfd, group, sizeof(group)) < 0)
		return cli_error(KS_EXIT_SYSTEM, "cannot read the process's cgroup: '%d'", (int)pid);
	/* In the root domain, any cgroup below the root is some confinement: only the root itself, or our group. */
	if (!strcmp(ctx->domain, "/") ? strcmp(group, "/") && !ks_cgroup_split_holds(&ctx->split, group)
				      : strncmp(group, ctx->domain, n) || (group[n] != '\0' && group[n] != '/'))
		return cli_error(KS_EXIT_SYSTEM, "the process is not in your own slice (%s): '%s'", ctx->domain,
				 ks_escape(group, escaped, sizeof(escaped)));
	return KS_EXIT_OK;
}

static bool alive(int pidfd)
{
	return !(pidfd_send_signal(pidfd, 0, NULL, 0) < 0 && errno == ESRCH);
}

/*
 * For a user (sudo, setuid): the process pinned (its PID cannot be reused
 * until we are done), and ourselves moved where the user cannot freeze or
 * kill us (a cgroup delegated to them would let them, uids regardless).
 * Root moves what it likes, traced or not.
 */
static int take_hold(const struct split_ctx *ctx, pid_t pid, bool *pinned)
{
	char err[KS_ERR_LEN] = "";
	int ret;

	*pinned = false;
	if (ctx->who.mode != KS_PRIV_SETUID && ctx->who.mode != KS_PRIV_SUDO)
		return KS_EXIT_OK;
	if (ctx->split.mode == KS_SPLIT_V2 && ks_cgroup_enter(&ctx->split, err) < 0)
		return cli_error(KS_EXIT_SYSTEM, "%s", err);
	ret = ks_proc_pin(pid);
	if (ret == -ESRCH)
		return cli_error(KS_EXIT_SYSTEM, "no such process: '%d'", (int)pid);
	if (ret < 0)
		return cli_error(KS_EXIT_SYSTEM, "cannot hold the process still while it moves (is it traced?): '%d'",
				 (int)pid);
	*pinned = true;
	return KS_EXIT_OK;
}

static int move_main(int argc, char *argv[], bool add, bool include)
{
	struct split_ctx ctx;
	char err[KS_ERR_LEN] = "", escaped[KS_ERR_LEN / 2];
	bool pinned = false;
	pid_t pid;
	int pidfd = -1, procfd = -1, ret;

	if (argc != 2 || ks_parse_pid(argv[1], &pid) < 0) {
		ret = cli_error(KS_EXIT_USAGE, "%s needs one PID: '%s'", argv[0],
				argc > 1 ? ks_escape(argv[1], escaped, sizeof(escaped)) : "");
		goto cleanup;
	}
	ret = include ? split_setup_include(&ctx, KS_EXIT_SYSTEM, false) : split_setup(&ctx, KS_EXIT_SYSTEM, false);
	if (ret)
		goto cleanup;
	ret = add ? split_prepare(&ctx, err) : 0;
	if (ret < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	/*
	 * The pidfd names the process, the pin keeps its PID from being reused,
	 * procfd is its /proc directory: every check reads that very process,
	 * and the number written to cgroup.procs is still its.
	 */
	pidfd = (int)pidfd_open(pid, 0);
	if (pidfd < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "no such process: '%d'", (int)pid);
		goto cleanup;
	}
	ret = take_hold(&ctx, pid, &pinned);
	if (ret)
		goto cleanup;
	procfd = ks_proc_open(pid, pidfd);
	if (procfd < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "no such process: '%d'", (int)pid);
		goto cleanup;
	}
	/* Pinned first, so this check is about the process the move names, right before the move. */
	ret = may_move(&ctx, pid, procfd);
	if (ret)
		goto cleanup;
	ret = alive(pidfd) ? 0 : -ESRCH;
	if (ret == 0)
		ret = add ? ks_cgroup_attach(&ctx.split, pid, procfd, err) : ks_cgroup_detach(&ctx.split, pid, procfd, err);
	if (ret == -ESRCH) {
		ret = cli_error(KS_EXIT_SYSTEM, "no such process: '%d'", (int)pid);
		goto cleanup;
	}
	if (ret < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	if (!alive(pidfd) && !pinned) {
		/* Unpinned (root): its PID may name someone else's process by now, which goes back where it was born. */
		if (add)
			ks_cgroup_undo(&ctx.split, pid);
		ret = cli_error(KS_EXIT_SYSTEM, "the process exited while it was being moved: '%d'", (int)pid);
		goto cleanup;
	}
	/* And after: a set-user-ID exec between the check and the move is moved back. */
	if (add && may_move(&ctx, pid, procfd)) {
		ks_cgroup_detach(&ctx.split, pid, procfd, err);
		ret = KS_EXIT_SYSTEM;
		goto cleanup;
	}
	ret = KS_EXIT_OK;
cleanup:
	if (pinned)
		ks_proc_unpin(pid);
	if (procfd >= 0)
		close(procfd);
	if (pidfd >= 0)
		close(pidfd);
	return ret;
}

/* "--unit", "--slice", "--user", "--persist": a unit's cgroup, not a process. */
static bool names_unit(int argc, char *argv[])
{
	return argc > 1 && !strncmp(argv[1], "--", 2);
}

/* add|del --include PID: the inclusion group's process; a unit is not for it (yet). */
static int include_main(int argc, char *argv[], bool add)
{
	char escaped[KS_ERR_LEN / 2];

	argv[1] = argv[0];
	if (names_unit(argc - 1, argv + 1))
		return cli_error(KS_EXIT_USAGE, "--include takes a PID; units are excluded only: '%s'",
				 ks_escape(argv[2], escaped, sizeof(escaped)));
	return move_main(argc - 1, argv + 1, add, true);
}

static bool names_include(int argc, char *argv[])
{
	return argc > 1 && !strcmp(argv[1], "--include");
}

int split_add_main(int argc, char *argv[])
{
	if (names_include(argc, argv))
		return include_main(argc, argv, true);
	return names_unit(argc, argv) ? split_unit_main(argc, argv, true) : move_main(argc, argv, true, false);
}

int split_del_main(int argc, char *argv[])
{
	if (names_include(argc, argv))
		return include_main(argc, argv, false);
	return names_unit(argc, argv) ? split_unit_main(argc, argv, false) : move_main(argc, argv, false, false);
}
