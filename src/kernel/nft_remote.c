// SPDX-License-Identifier: GPL-2.0-or-later
#define _GNU_SOURCE /* struct ucred, accept4 */
/*
 * The link between killswitch commands and watch: a Unix socket in the run
 * directory over which a command has its nftables text run in watch's
 * process, through the context whose netlink socket owns the guard (only
 * that socket may change it), so that one transaction changes the table
 * and the guard together. Root only: the run directory is 0700, the socket
 * 0600, and watch checks each peer's credentials (SO_PEERCRED).
 *
 * One request per connection: watch serves it and goes back to the
 * nftables events, so a command that keeps its connection open cannot hold
 * watch away from a flush it must repair.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "killswitch/nft.h"
#include "nft_child.h"
#include "nft_owner.h"

#define LINK_MAGIC 0x4b535732u /* "KSW2" */
#define LINK_CMD_MAX (512u << 20)
#define LINK_REFUSED_MAX 256u
/* A whole table of 100,000 endpoints takes seconds; a watch that does not answer in this is stuck. */
#define LINK_ANSWER_SECONDS 120

enum link_kind {
	LINK_PING = 1, /* who are you, and can your guard outlive you */
	LINK_RUN = 2,  /* run this text in the guard owner's context */
};

struct link_request {
	uint32_t magic;
	uint32_t kind;
	uint32_t cmd_len;
	uint32_t refused_len;
};

struct link_reply {
	uint32_t magic;
	int32_t ret;
	uint32_t pid;
	uint32_t persist;
	uint64_t netns; /* watch's network namespace (its inode): it changes that one's tables */
	char err[KS_ERR_LEN];
};

static struct {
	bool linked;
	struct sockaddr_un addr;
	struct ks_nft_watch watch;
} link_to;

/*
 * The network namespace of pid (0: this process), as its nsfs inode; 0 when
 * it cannot be told. The run directory is often shared between namespaces
 * (ip netns exec keeps /run): a command in another one must not have its
 * text run in watch's, which would change watch's tables and leave its own
 * namespace without any.
 */
static uint64_t netns_of(pid_t pid)
{
	char path[64];
	struct stat st;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/net");
	return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static int make_addr(const char *path, struct sockaddr_un *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr->sun_path))
		return -ENAMETOOLONG;
	strcpy(addr->sun_path, path);
	return 0;
}

static void set_timeout(int fd, int seconds)
{
	struct timeval tv = { .tv_sec = seconds };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Sends or receives len bytes. With a deadline (CLOCK_MONOTONIC seconds;
 * 0: none, the socket's own timeouts apply) the whole transfer must end by
 * then: SO_RCVTIMEO bounds one recv() only, and a client that sends a byte
 * now and then would hold watch away from the nftables events for as long
 * as it liked.
 */
static int full_io(int fd, void *buf, size_t len, bool out, double deadline)
{
	char *p = buf;

	while (len) {
		ssize_t n;

		if (deadline > 0) {
			double left = deadline - now_s();
			struct timeval tv;

			if (left <= 0)
				return -ETIMEDOUT;
			tv.tv_sec = (time_t)left;
			tv.tv_usec = (suseconds_t)((left - (double)tv.tv_sec) * 1e6) + 1;
			setsockopt(fd, SOL_SOCKET, out ? SO_SNDTIMEO : SO_RCVTIMEO, &tv, sizeof(tv));
		}
		n = out ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Connected to watch, or -ENOTCONN when nothing listens there. */
static int dial(const struct sockaddr_un *addr, int *fd)
{
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return -errno;
	if (connect(*fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0) {
		struct ucred cred;
		socklen_t len = sizeof(cred);

		/*
		 * Only watch, root, answers there: a listener of another user (a run
		 * directory it could write to, KILLSWITCH_RUNDIR) would be told our
		 * changes and say they were made.
		 */
		if (getsockopt(*fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0) {
			close(*fd);
			*fd = -1;
			return -EPERM;
		}
		set_timeout(*fd, LINK_ANSWER_SECONDS);
		return 0;
	}
	close(*fd);
	*fd = -1;
	return errno == ENOENT || errno == ECONNREFUSED ? -ENOTCONN : -errno;
}

/* One request, one reply; -ECHILD when watch ended (or stalled) before answering. */
static int ask(int fd, enum link_kind kind, const char *cmd, const char *refused, struct link_reply *reply)
{
	struct link_request req = { .magic = LINK_MAGIC, .kind = kind };
	int ret;

	req.cmd_len = cmd ? (uint32_t)strlen(cmd) : 0;
	req.refused_len = refused ? (uint32_t)strlen(refused) : 0;
	if (req.cmd_len > LINK_CMD_MAX || req.refused_len > LINK_REFUSED_MAX)
		return -E2BIG;
	ret = full_io(fd, &req, sizeof(req), true, 0);
	if (!ret && req.cmd_len)
		ret = full_io(fd, (void *)cmd, req.cmd_len, true, 0);
	if (!ret && req.refused_len)
		ret = full_io(fd, (void *)refused, req.refused_len, true, 0);
	if (!ret)
		ret = full_io(fd, reply, sizeof(*reply), false, 0);
	if (ret < 0)
		return -ECHILD;
	if (reply->magic != LINK_MAGIC)
		return -EPROTO;
	reply->err[KS_ERR_LEN - 1] = '\0';
	return 0;
}

int ks_nft_link(const char *path, struct ks_nft_watch *watch)
{
	struct link_reply reply;
	int fd = -1, ret;

	ret = make_addr(path, &link_to.addr);
	if (ret < 0)
		return ret;
	ret = dial(&link_to.addr, &fd);
	if (ret < 0)
		return ret;
	ret = ask(fd, LINK_PING, NULL, NULL, &reply);
	close(fd);
	if (ret < 0)
		return ret == -ECHILD ? -ENOTCONN : ret;
	/* A watch of another network namespace: not ours, as if none ran. */
	if (reply.netns != netns_of(0))
		return -ENOTCONN;
	link_to.linked = true;
	link_to.watch.pid = (pid_t)reply.pid;
	link_to.watch.persist = reply.persist;
	if (watch)
		*watch = link_to.watch;
	return 0;
}

bool ks_nft_guarded(bool *persist)
{
	if (ks_nft_holding(persist))
		return true;
	if (persist)
		*persist = link_to.watch.persist;
	return link_to.linked;
}

int ks_nft_remote_run(const char *cmd, const char *refused, char err[KS_ERR_LEN])
{
	struct link_reply reply;
	int fd = -1, ret;

	if (!link_to.linked)
		return -ENOTCONN;
	ret = dial(&link_to.addr, &fd);
	if (ret == -ENOTCONN) {
		/* watch went, and its guard with it (or it stays, unowned): the text runs here. */
		link_to.linked = false;
		return ret;
	}
	if (ret < 0) {
		snprintf(err, KS_ERR_LEN, "%s: cannot reach killswitch watch: '%s'", refused, strerror(-ret));
		return ret;
	}
	ret = ask(fd, LINK_RUN, cmd, refused, &reply);
	close(fd);
	if (ret == -ECHILD) {
		snprintf(err, KS_ERR_LEN, "killswitch watch (pid %d) ended or stalled before answering",
			 (int)link_to.watch.pid);
		return ret;
	}
	if (ret < 0) {
		snprintf(err, KS_ERR_LEN, "%s: killswitch watch: '%s'", refused, strerror(-ret));
		return ret;
	}
	if (reply.ret < 0)
		memcpy(err, reply.err, KS_ERR_LEN);
	return reply.ret;
}

int ks_nft_serve_open(const char *path, int *fd, char err[KS_ERR_LEN])
{
	struct sockaddr_un addr;
	mode_t mask;
	int probe = -1, ret;

	*fd = -1;
	ret = make_addr(path, &addr);
	if (ret < 0)
		goto fail;
	/* Another watch answering there holds the guard already. */
	ret = dial(&addr, &probe);
	if (ret == 0) {
		close(probe);
		snprintf(err, KS_ERR_LEN, "another killswitch watch is running: '%s'", path);
		return -EADDRINUSE;
	}
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0) {
		ret = -errno;
		goto fail;
	}
	/* A socket left by a watch that died; bound with mode 0600 (connecting needs write permission). */
	if (unlink(path) < 0 && errno != ENOENT) {
		ret = -errno;
		goto fail;
	}
	mask = umask(0177);
	ret = bind(*fd, (const struct sockaddr *)&addr, sizeof(addr)) < 0 ? -errno : 0;
	umask(mask);
	if (ret == 0 && listen(*fd, 16) < 0)
		ret = -errno;
	if (ret == 0)
		return 0;
fail:
	snprintf(err, KS_ERR_LEN, "cannot listen for killswitch commands (%s): '%s'", strerror(-ret), path);
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	return ret;
}

int ks_nft_serve_one(int listen_fd, ks_nft_recover_fn *recover, void *data, char err[KS_ERR_LEN])
{
	struct link_reply reply = { .magic = LINK_MAGIC, .pid = (uint32_t)getpid(), .netns = netns_of(0) };
	struct link_request req;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char *cmd = NULL, refused[LINK_REFUSED_MAX + 1] = "";
	bool persist = false;
	double deadline;
	int fd, ret;

	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, KS_ERR_LEN, "cannot accept a command: '%s'", strerror(-ret));
		return ret;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0) {
		ret = -EPERM;
		snprintf(err, KS_ERR_LEN, "refused a request from a process that is not root: 'uid %u'",
			 len == sizeof(cred) ? cred.uid : (unsigned)-1);
		goto cleanup;
	}
	/*
	 * A stalled root client costs watch this much, once: 5 s for the whole
	 * request, and a second more per 16 MiB of text (a command writes it
	 * all at once; 100,000 endpoints are about 10 MiB).
	 */
	set_timeout(fd, 5);
	deadline = now_s() + 5;
	ret = full_io(fd, &req, sizeof(req), false, deadline);
	if (ret == 0 && (req.magic != LINK_MAGIC || req.cmd_len > LINK_CMD_MAX || req.refused_len > LINK_REFUSED_MAX ||
			 (req.kind != LINK_PING && req.kind != LINK_RUN)))
		ret = -EPROTO;
	if (ret == 0) {
		deadline += (double)(req.cmd_len >> 24);
		cmd = malloc((size_t)req.cmd_len + 1);
		ret = cmd ? full_io(fd, cmd, req.cmd_len, false, deadline) : -ENOMEM;
	}
	if (ret == 0)
		ret = full_io(fd, refused, req.refused_len, false, deadline);
	if (ret < 0) {
		snprintf(err, KS_ERR_LEN, "a request from pid %d did not arrive whole: '%s'", (int)cred.pid,
			 strerror(-ret));
		goto cleanup;
	}
	cmd[req.cmd_len] = '\0';
	refused[req.refused_len] = '\0';
	ks_nft_holding(&persist);
	reply.persist = persist;
	if (req.kind == LINK_RUN && cred.pid > 0 && netns_of(cred.pid) != reply.netns) {
		reply.ret = -EXDEV;
		snprintf(reply.err, KS_ERR_LEN, "%s: killswitch watch (pid %d) runs in another network namespace", refused,
			 (int)reply.pid);
	} else if (req.kind == LINK_RUN) {
		/* An endpoint change straight over the owner's socket, without libnftables' cache; else libnftables. */
		reply.ret = ks_nft_owner_change(cmd);
		if (reply.ret < 0)
			reply.ret = ks_nft_run_here(cmd, refused, reply.err);
	}
	/* The table went (a flush) before the command's change reached it: put it back and the change in, at once. */
	if (req.kind == LINK_RUN && reply.ret == -ENOENT && recover)
		reply.ret = recover(data, cmd, reply.err);
	ret = full_io(fd, &reply, sizeof(reply), true, 0);
	if (ret < 0)
		snprintf(err, KS_ERR_LEN, "cannot answer pid %d: '%s'", (int)cred.pid, strerror(-ret));
cleanup:
	free(cmd);
	close(fd);
	return ret;
}
