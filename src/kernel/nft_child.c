// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libnftables in a child process. libnftables 1.0.6 does not return from
 * every failure: when an allocation fails it prints a line and calls
 * exit(), some failures end in an assertion (abort()), and a netlink
 * socket it cannot open ends the process too. In killswitch's own process
 * that would end the command with libnftables' words and exit code, the
 * state file unwritten, and nothing said about whether the kernel took the
 * change. So the command text runs in a child, which reports through
 * shared memory. When it ends without a report, the caller asks the kernel
 * what became of the change (nft.c: the table's handle, or its presence).
 *
 * Or in this process: watch holds one context for its life (ks_nft_hold),
 * whose netlink socket owns the guard table; or in watch's process, when
 * it runs (nft_remote.c), so that the owner's context changes the guard.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "killswitch/compile.h"
#include "killswitch/netlink.h"
#include "killswitch/nft.h"
#include "killswitch/parse.h"
#include "nft_child.h"

struct report {
	int done;
	int ret;
	char err[KS_ERR_LEN];
};

/*
 * libnftables hands its error buffer out once: a second call returns "".
 * So a failure reads it here, once, classifies it, and keeps the first
 * "Error: ..." line (the message may span several) in err.
 */
static int take_error(struct nft_ctx *nft, const char *what, char err[KS_ERR_LEN])
{
	const char *text = nft_ctx_get_error_buffer(nft);
	const char *line = text ? strstr(text, "Error: ") : NULL;
	char escaped[KS_ERR_LEN / 2], one[96];
	size_t len;
	int ret = -EIO;

	if (text && strstr(text, "No such file or directory"))
		ret = -ENOENT;
	else if (text && strstr(text, "Operation not permitted"))
		ret = -EPERM;
	if (!line)
		line = text && *text ? text : "unknown error";
	else
		line += strlen("Error: ");
	len = strcspn(line, "\n");
	if (len >= sizeof(one))
		len = sizeof(one) - 1;
	memcpy(one, line, len);
	one[len] = '\0';
	snprintf(err, KS_ERR_LEN, "%s: '%s'", what, ks_escape(one, escaped, sizeof(escaped)));
	return ret;
}

static struct nft_ctx *new_ctx(char err[KS_ERR_LEN])
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);

	if (nft && !nft_ctx_buffer_output(nft) && !nft_ctx_buffer_error(nft))
		return nft;
	if (nft)
		nft_ctx_free(nft);
	snprintf(err, KS_ERR_LEN, "cannot create an nftables context: '%s'", strerror(ENOMEM));
	return NULL;
}

/* The context held for the process's life (ks_nft_hold): its netlink socket owns the guard. */
static struct nft_ctx *held;
static bool held_persist;

/*
 * Runs cmd through the held context, or else a fresh one; 0 or a negative
 * errno with err. A fresh context is freed only when asked: a child leaves
 * at once, and freeing a large cache takes time.
 */
static int run_cmd(const char *cmd, const char *refused, bool free_ctx, char err[KS_ERR_LEN])
{
	struct nft_ctx *nft = held ? held : new_ctx(err);
	int ret = 0;

	if (!nft)
		return -ENOMEM;
	if (nft_run_cmd_from_buffer(nft, cmd))
		ret = take_error(nft, refused, err);
	if (nft == held) {
		/* Both buffers grow with every command until read: start the next one empty. */
		nft_ctx_get_output_buffer(nft);
		nft_ctx_get_error_buffer(nft);
	} else if (free_ctx) {
		nft_ctx_free(nft);
	}
	return ret;
}

int ks_nft_hold(const char *table, char err[KS_ERR_LEN])
{
	char guard[64], probe[128];

	if (held)
		return 0;
	held = new_ctx(err);
	if (!held)
		return -ENOMEM;
	/* Whether this nftables and this kernel can keep the guard past its owner (Linux 6.9+, nftables 1.1+). */
	snprintf(guard, sizeof(guard), "%s" KS_GUARD_SUFFIX, table);
	snprintf(probe, sizeof(probe), "add table inet %s { flags owner, persist; }\n", guard);
	nft_ctx_set_dry_run(held, true);
	held_persist = !nft_run_cmd_from_buffer(held, probe);
	nft_ctx_set_dry_run(held, false);
	nft_ctx_get_output_buffer(held);
	nft_ctx_get_error_buffer(held);
	return 0;
}

bool ks_nft_holding(bool *persist)
{
	if (persist)
		*persist = held_persist;
	return held != NULL;
}

/*
 * The child: runs cmd, fills report, and leaves with _exit() (no atexit
 * handlers, no stdio flush of the parent's buffers). Whatever libnftables
 * prints goes to errfd, which the parent reads if the child dies.
 */
static void __attribute__((noreturn)) child(const char *cmd, const char *refused, struct report *report, int errfd,
					   int donefd, int keepfd)
{
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int keep[2] = { donefd < keepfd ? donefd : keepfd, donefd < keepfd ? keepfd : donefd };
	unsigned from = STDERR_FILENO + 1;

	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
	}
	dup2(errfd, STDERR_FILENO);
	/*
	 * The parent goes on before this process has ended (below), so it holds
	 * nothing of the caller's: not the lock, nor a pipe someone reads to
	 * its end. It keeps the parent's dump socket (ks_nfnl_kept_fd), so that
	 * the parent's close of it is never the last.
	 */
	for (unsigned k = 0; k < 2; k++) {
		if (keep[k] < (int)from)
			continue;
		if ((unsigned)keep[k] > from)
			close_range(from, (unsigned)keep[k] - 1, 0);
		from = (unsigned)keep[k] + 1;
	}
	close_range(from, ~0u, 0);
	report->ret = run_cmd(cmd, refused, false, report->err);
	__atomic_store_n(&report->done, 1, __ATOMIC_RELEASE);
	/*
	 * Reported: the parent goes on now. Leaving takes as long again as an
	 * RCU grace period when the transaction removed anything (a table
	 * replaced): the last close of libnftables' socket waits until the
	 * kernel has freed it. Committed is committed before that.
	 */
	if (write(donefd, "", 1) < 0)
		_exit(0);
	_exit(0);
}

/* How the child ended, and the first line it printed: "exit status 3: '...: Memory allocation failure'". */
static void describe_end(int status, int errfd, char *out, size_t size)
{
	char text[160] = "", escaped[256];
	ssize_t got = pread(errfd, text, sizeof(text) - 1, 0);
	const char *line = text;
	int n;

	if (got > 0)
		text[got] = '\0';
	while (*line == '\n')
		line++;
	text[line - text + strcspn(line, "\n")] = '\0';
	if (WIFSIGNALED(status))
		n = snprintf(out, size, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else if (WIFEXITED(status) && WEXITSTATUS(status))
		n = snprintf(out, size, "exit status %d", WEXITSTATUS(status));
	else
		n = snprintf(out, size, "ended without a report");
	if (*line && n > 0 && (size_t)n < size)
		snprintf(out + n, size - (size_t)n, ": '%s'", ks_escape(line, escaped, sizeof(escaped)));
}

static bool in_process;
static pid_t lingering;

void ks_nft_in_process(bool yes)
{
	in_process = yes;
}

bool ks_nft_child_used(void)
{
	/* Linked to watch, the text runs in another process, which may die as a child would. */
	if (held)
		return false;
	return ks_nft_guarded(NULL) || !in_process;
}

int ks_nft_run(const char *text, const char *refused, char err[KS_ERR_LEN])
{
	return ks_nft_run_isolated(text, refused, err);
}

int ks_nft_run_here(const char *cmd, const char *refused, char err[KS_ERR_LEN])
{
	return run_cmd(cmd, refused, true, err);
}

int ks_nft_run_isolated(const char *cmd, const char *refused, char err[KS_ERR_LEN])
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, saved;
	struct report *report = MAP_FAILED;
	bool restore_sigchld = false;
	int errfd = -1, status = 0, ret, done[2] = { -1, -1 }, keepfd;
	ssize_t got;
	char byte;
	pid_t pid;

	/* The one left running after its report last time, reaped if it has ended. */
	if (lingering > 0 && waitpid(lingering, &status, WNOHANG) != 0)
		lingering = 0;
	/* watch runs it, when it runs: in the context that owns the guard. */
	ret = ks_nft_remote_run(cmd, refused, err);
	if (ret != -ENOTCONN || in_process || held) {
		/*
		 * No child of ours holds the dump socket: closed at exit by a
		 * process no one waits for (the kernel may be freeing what this
		 * text removed).
		 */
		ks_nfnl_keep(true);
		return ret != -ENOTCONN ? ret : run_cmd(cmd, refused, true, err);
	}
	ks_nfnl_keep(false);
	/*
	 * Opened now, for the child to hold. Without it nothing starts: the
	 * question after a child that died (did it commit?) is asked over it.
	 */
	keepfd = ks_nfnl_kept_fd();
	if (keepfd < 0) {
		ret = keepfd;
		snprintf(err, KS_ERR_LEN, "cannot run libnftables; nothing changed: '%s'", strerror(-ret));
		goto cleanup;
	}

	report = mmap(NULL, sizeof(*report), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	errfd = memfd_create("killswitch-nft-stderr", MFD_CLOEXEC);
	if (report == MAP_FAILED || errfd < 0 || pipe2(done, O_CLOEXEC) < 0) {
		ret = -errno;
		snprintf(err, KS_ERR_LEN, "cannot run libnftables; nothing changed: '%s'", strerror(-ret));
		goto cleanup;
	}
	/*
	 * A caller that ignores SIGCHLD (a daemon exec'ing its helper: the
	 * disposition survives exec) would have the child reaped for us, and
	 * waitpid() fail with ECHILD. The default disposition for the wait.
	 */
	sigaction(SIGCHLD, &dfl, &saved);
	restore_sigchld = true;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		snprintf(err, KS_ERR_LEN, "cannot run libnftables; nothing changed: '%s'", strerror(-ret));
		goto cleanup;
	}
	if (pid == 0)
		child(cmd, refused, report, errfd, done[1], keepfd);
	close(done[1]);
	done[1] = -1;
	/* A byte once the report is written; the end of the pipe when the child ended without one. */
	do
		got = read(done[0], &byte, 1);
	while (got < 0 && errno == EINTR);
	if (got == 1 && __atomic_load_n(&report->done, __ATOMIC_ACQUIRE)) {
		ret = report->ret;
		if (ret < 0)
			memcpy(err, report->err, KS_ERR_LEN);
		/* Not waited for: it is still leaving (see child()); reaped next time, or by init after us. */
		lingering = pid;
		goto cleanup;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			/* Cannot happen with SIGCHLD at its default; the caller asks the kernel what became of it. */
			snprintf(err, KS_ERR_LEN, "cannot wait for libnftables: '%s'", strerror(errno));
			ret = -ECHILD;
			goto cleanup;
		}
	}
	/* A report is the answer, however the child ended after writing it. */
	if (__atomic_load_n(&report->done, __ATOMIC_ACQUIRE)) {
		ret = report->ret;
		if (ret < 0)
			memcpy(err, report->err, KS_ERR_LEN);
		goto cleanup;
	}
	describe_end(status, errfd, err, KS_ERR_LEN);
	ret = -ECHILD;
cleanup:
	if (restore_sigchld)
		sigaction(SIGCHLD, &saved, NULL);
	for (int i = 0; i < 2; i++)
		if (done[i] >= 0)
			close(done[i]);
	if (errfd >= 0)
		close(errfd);
	if (report != MAP_FAILED)
		munmap(report, sizeof(*report));
	return ret;
}
