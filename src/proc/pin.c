// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Holding a PID still while it is checked and moved: a process we trace
 * stays a zombie, its PID taken, until we let it go, so the number we
 * write to cgroup.procs cannot name another process by then.
 */
#include <errno.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "killswitch/proc.h"

int ks_proc_pin(pid_t pid)
{
	/* SEIZE, not ATTACH: the process is not stopped, nothing it does changes. */
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0)
		return errno == ESRCH ? -ESRCH : -EBUSY;
	return 0;
}

void ks_proc_unpin(pid_t pid)
{
	int status;

	/*
	 * Stopped for a signal meanwhile (a traced process stops at each one):
	 * detached with that signal, so it is delivered as if we had never
	 * been there; stopped by our interrupt: detached with none. Gone: it
	 * goes back to its parent as it is.
	 */
	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0)
		return;
	while (waitpid(pid, &status, __WALL) == pid) {
		int sig = 0;

		if (!WIFSTOPPED(status))
			return;
		if (status >> 16 == PTRACE_EVENT_STOP) {
			/* A group-stop (SIGSTOP, SIGTSTP...) stays one. */
			sig = WSTOPSIG(status) == SIGTRAP ? 0 : WSTOPSIG(status);
		} else if (status >> 8 == WSTOPSIG(status)) {
			sig = WSTOPSIG(status);
		}
		if (ptrace(PTRACE_DETACH, pid, 0, sig) == 0 || errno != ESRCH)
			return;
	}
}
