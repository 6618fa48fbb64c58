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

static int move_main(int argc, char *argv[], bool add)
{
	struct ks_invoker who;
	struct ks_split split;
	struct ks_proc_ids ids;
	char err[KS_ERR_LEN] = "", escaped[KS_ERR_LEN / 2], status[4096];
	pid_t pid;
	int pidfd = -1, ret;

	if (argc != 2 || ks_parse_pid(argv[1], &pid) < 0) {
		ret = cli_error(KS_EXIT_USAGE, "%s needs one PID: '%s'", argv[0],
				argc > 1 ? ks_escape(argv[1], escaped, sizeof(escaped)) : "");
		goto cleanup;
	}
	ret = split_setup(&who, &split, KS_EXIT_SYSTEM, false);
	if (ret)
		goto cleanup;
	/*
	 * The pidfd pins the process: if it is still alive after the move, the
	 * PID we checked and moved was this process all along, not a reuse.
	 */
	pidfd = (int)pidfd_open(pid, 0);
	if (pidfd < 0 || ks_proc_read(pid, "status", status, sizeof(status)) < 0 ||
	    ks_proc_parse_ids(status, &ids) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "no such process: '%d'", (int)pid);
		goto cleanup;
	}
	if (!ks_priv_may_move(&who, &ids)) {
		ret = cli_error(KS_EXIT_SYSTEM, "not your process (%s): '%d'", strerror(EPERM), (int)pid);
		goto cleanup;
	}
	if (add) {
		ret = who.mode == KS_PRIV_USER ? 0 : ks_cgroup_prepare(&split, NULL, err);
		if (ret == 0)
			ret = ks_cgroup_attach(&split, pid, err);
	} else {
		ret = ks_cgroup_detach(&split, pid, err);
	}
	if (ret < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	if (pidfd_send_signal(pidfd, 0, NULL, 0) < 0 && errno == ESRCH) {
		/* Gone during the move: its PID may name someone else's process by now, which must not stay excluded. */
		if (add)
			ks_cgroup_detach(&split, pid, err);
		ret = cli_error(KS_EXIT_SYSTEM, "the process exited while it was being moved: '%d'", (int)pid);
		goto cleanup;
	}
	ret = KS_EXIT_OK;
cleanup:
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
