// SPDX-License-Identifier: GPL-2.0-or-later
/* libmnl plumbing every netlink user shares: open a socket, build a request, send it and read the answers. */
#define _GNU_SOURCE /* close_range */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter/nfnetlink.h>
#include <unistd.h>

#include "killswitch/mnl.h"

struct mnl_socket *ks_mnl_open(int bus)
{
	struct mnl_socket *nl = mnl_socket_open(bus);

	if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int saved = errno;

		mnl_socket_close(nl);
		errno = saved;
		return NULL;
	}
	return nl;
}

void ks_mnl_close_detached(struct mnl_socket *nl)
{
	int fd = mnl_socket_get_fd(nl), go[2];
	pid_t pid;

	if (pipe2(go, O_CLOEXEC) < 0) {
		mnl_socket_close(nl);
		return;
	}
	pid = fork();
	if (pid == 0) {
		int keep[2] = { go[0] < fd ? go[0] : fd, go[0] < fd ? fd : go[0] };
		unsigned from = 0;
		char byte;

		/* Nothing else: not the caller's lock, nor a pipe someone reads to its end. */
		for (unsigned k = 0; k < 2; k++) {
			if ((unsigned)keep[k] > from)
				close_range(from, (unsigned)keep[k] - 1, 0);
			from = (unsigned)keep[k] + 1;
		}
		close_range(from, ~0u, 0);
		/* The caller's close first (the pipe's end says it is done): this one is the last, and waits. */
		while (read(go[0], &byte, 1) < 0 && errno == EINTR)
			;
		close(fd);
		_exit(0);
	}
	close(go[0]);
	mnl_socket_close(nl);
	close(go[1]);
}

int ks_mnl_talk(struct mnl_socket *nl, const struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned portid = mnl_socket_get_portid(nl);
	int ret;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0)
			return -errno;
		errno = 0;
		ret = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, cb, data);
	} while (ret > MNL_CB_STOP);
	if (ret < 0)
		return errno ? -errno : -EINVAL;
	return 0;
}

/* An nfnetlink message at buf + len; the caller adds its attributes (and its length to len). */
struct nlmsghdr *ks_nl_msg(char *buf, uint16_t type, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	return nlh;
}

struct nlmsghdr *ks_nfnl_msg(char *buf, size_t len, uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id,
			     uint32_t seq)
{
	struct nlmsghdr *nlh = ks_nl_msg(buf + len, type, flags, seq);
	struct nfgenmsg *nfg;

	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(res_id);
	return nlh;
}
