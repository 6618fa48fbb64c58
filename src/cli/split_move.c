// SPDX-License-Identifier: GPL-2.0-or-later
/* split-tunnel add and del: move a running process in or out of the exclusion cgroup. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "killswitch/cgroup.h"
#include "killswitch/parse.h"
#include "killswitch/proc.h"
#include "split.h"

/* Whether group (as /proc/PID/cgroup gives it) is split's v2 group or below: its last level components. */
static bool in_exclusion(const struct ks_split *split, const char *group)
{
	const char *own = split->path + strlen(split->path);
	size_t n;

	for (unsigned i = 0; i < split->level && own > split->path; i++)
		for (own--; own > split->path && own[-1] != '/'; own--)
			;
	n = strlen(own);
	return group[0] == '/' && !strncmp(group + 1, own, n) && (group[1 + n] == '\0' || group[1 + n] == '/');
}

/*
 * Whether the caller may move the process behind procfd: its IDs (a user
 * only their own, ks_priv_may_move) and, for a user, its cgroup inside the
 * caller's slice. Read through procfd, so it is about that very process.
 */
static int may_move(const struct split_ctx *ctx, pid_t pid, int procfd)
{
	char status[4096], group[KS_CGROUP_PATH_MAX * 4], escaped[KS_ERR_LEN / 2];
	struct ks_proc_ids ids;
	size_t n = strlen(ctx->domain);

	if (ks_proc_read_at(procfd, "status", status, sizeof(status)) < 0 || ks_proc_parse_ids(status, &ids) < 0)
		return cli_error(KS_EXIT_SYSTEM, "no such process: '%d'", (int)pid);
	if (!ks_priv_may_move(&ctx->who, &ids))
		return cli_error(KS_EXIT_SYSTEM, "not your process (%s): '%d'", strerror(EPERM), (int)pid);
	if (!n)
		return KS_EXIT_OK;
	if (ks_cgroup_of(procfd, group, sizeof(group)) < 0)
		return cli_error(KS_EXIT_SYSTEM, "no such process: '%d'", (int)pid);
	/* In the root domain, any cgroup below the root is some confinement: only the root itself, or our group. */
	if (!strcmp(ctx->domain, "/") ? strcmp(group, "/") && !in_exclusion(&ctx->split, group)
				      : strncmp(group, ctx->domain, n) || (group[n] != '\0' && group[n] != '/'))
		return cli_error(KS_EXIT_SYSTEM, "the process is not in your own slice (%s): '%s'", ctx->domain,
				 ks_escape(group, escaped, sizeof(escaped)));
	return KS_EXIT_OK;
}

static bool alive(int pidfd)
{
	return !(pidfd_send_signal(pidfd, 0, NULL, 0) < 0 && errno == ESRCH);
}

static int move_main(int argc, char *argv[], bool add)
{
	struct split_ctx ctx;
	char err[KS_ERR_LEN] = "", escaped[KS_ERR_LEN / 2];
	pid_t pid;
	int pidfd = -1, procfd = -1, ret;

	if (argc != 2 || ks_parse_pid(argv[1], &pid) < 0) {
		ret = cli_error(KS_EXIT_USAGE, "%s needs one PID: '%s'", argv[0],
				argc > 1 ? ks_escape(argv[1], escaped, sizeof(escaped)) : "");
		goto cleanup;
	}
	ret = split_setup(&ctx, KS_EXIT_SYSTEM, false);
	if (ret)
		goto cleanup;
	/*
	 * The pidfd pins the process, procfd its /proc directory: every check
	 * reads that process, and if it is still alive after the move, the PID
	 * we moved was this process all along, not a reuse.
	 */
	pidfd = (int)pidfd_open(pid, 0);
	procfd = pidfd < 0 ? -ESRCH : ks_proc_open(pid, pidfd);
	if (procfd < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "no such process: '%d'", (int)pid);
		goto cleanup;
	}
	ret = may_move(&ctx, pid, procfd);
	if (ret)
		goto cleanup;
	ret = add ? split_prepare(&ctx, err) : 0;
	if (ret == 0 && !alive(pidfd))
		ret = -ESRCH;
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
	if (!alive(pidfd)) {
		/* Its PID may name someone else's process by now: that one goes back to where it was born. */
		if (add)
			ks_cgroup_undo(&ctx.split, pid);
		ret = cli_error(KS_EXIT_SYSTEM, "the process exited while it was being moved: '%d'", (int)pid);
		goto cleanup;
	}
	/* Checked again after: it may have become someone else's (a set-user-ID exec) meanwhile. */
	if (add && may_move(&ctx, pid, procfd)) {
		ks_cgroup_detach(&ctx.split, pid, procfd, err);
		ret = KS_EXIT_SYSTEM;
		goto cleanup;
	}
	ret = KS_EXIT_OK;
cleanup:
	if (procfd >= 0)
		close(procfd);
	if (pidfd >= 0)
		close(pidfd);
	return ret;
}

int split_add_main(int argc, char *argv[])
{
	return move_main(argc, argv, true);
}

int split_del_main(int argc, char *argv[])
{
	return move_main(argc, argv, false);
}
