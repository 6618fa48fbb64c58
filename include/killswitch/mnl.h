/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_MNL_H
#define KILLSWITCH_MNL_H

#include <libmnl/libmnl.h>
#include <stdint.h>

/* The request-reply plumbing every netlink user here shares (libmnl). */

/* A socket of bus (NETLINK_ROUTE, NETLINK_GENERIC, ...) bound to an automatic port; NULL with errno. */
struct mnl_socket *ks_mnl_open(int bus);

/*
 * Closes nl without waiting for the kernel. The last close of an nfnetlink
 * socket waits (NETLINK_URELEASE) until nf_tables has freed what any
 * transaction removed, which takes an RCU grace period: 5-30 ms on a
 * loaded machine, 10 times the rest of an endpoint del. Committed is
 * committed before that; only the freeing is left. So the socket's last
 * close is left to a child that holds nothing else, after the caller's
 * own. For a caller about to exit: the child is not waited for (init
 * reaps it after the caller). A plain close when it cannot fork.
 */
void ks_mnl_close_detached(struct mnl_socket *nl);

/*
 * Sends nlh and runs cb (may be NULL for a plain ack) over every reply
 * until the kernel is done: the end of a dump, or the ack. Returns 0, or
 * a negative errno (-EINVAL when cb failed without setting errno).
 */
int ks_mnl_talk(struct mnl_socket *nl, const struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

/* A request's header at buf: type, NLM_F_REQUEST | flags, seq. The one builder every family's requests start from. */
struct nlmsghdr *ks_nl_msg(char *buf, uint16_t type, uint16_t flags, uint32_t seq);

/* An nfnetlink message header at buf + len; the caller adds its attributes (and its length to len). */
struct nlmsghdr *ks_nfnl_msg(char *buf, size_t len, uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id,
			     uint32_t seq);

#endif
