// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Set-element changes of our table, one nfnetlink batch each: endpoint
 * add|del, and split-tunnel's per-user exclusion groups. Apart from
 * nft.c so that split-tunnel, which may run setuid root, links no
 * libnftables.
 */
#include <arpa/inet.h>
#include <errno.h>
/* glibc's before the kernel's: it tells linux/in.h which structs it already has. */
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "killswitch/mnl.h"
#include "killswitch/nft.h"
#include "killswitch/schema.h"

/*
 * Set elements go straight over nfnetlink. Before "add element" or "delete
 * element", libnftables 1.0.6 fetches its cache: the tables, chains, sets
 * and objects of the host, and every element of every interval set (the
 * LAN ranges): a millisecond, and a few more per thousand ranges, to change
 * one element. The batch below is what it sends after that.
 */

/* Each field of a concatenation fills whole 32-bit registers, zero-padded: the key the kernel stores. */
static void put_field(struct ks_nft_elem *elem, const void *data, size_t len)
{
	memcpy(elem->key + elem->len, data, len);
	elem->len += (uint8_t)((len + 3) & ~3u);
}

static void put_addr(struct ks_nft_elem *elem, const struct ks_addr *addr)
{
	if (addr->family == AF_INET)
		put_field(elem, &addr->v4, sizeof(addr->v4));
	else
		put_field(elem, &addr->v6, sizeof(addr->v6));
}

void ks_nft_endpoint_elem(const struct ks_endpoint *ep, struct ks_nft_elem *elem)
{
	uint16_t port = htons(ep->port);

	memset(elem, 0, sizeof(*elem));
	elem->set = ep->addr.family == AF_INET ? KS_SET_ENDPOINTS4 : KS_SET_ENDPOINTS6;
	put_addr(elem, &ep->addr);
	put_field(elem, &ep->proto, sizeof(ep->proto));
	put_field(elem, &port, sizeof(port));
}

void ks_nft_endpoint_addr_elem(const struct ks_addr *addr, struct ks_nft_elem *elem)
{
	memset(elem, 0, sizeof(*elem));
	elem->set = addr->family == AF_INET ? KS_SET_ENDPOINT_ADDRS4 : KS_SET_ENDPOINT_ADDRS6;
	put_addr(elem, addr);
}

#define ELEMS_PER_MSG 256 /* the elements nest's length must fit its 16 bits */

/* One NEWSETELEM or DELSETELEM per run of elements of the same set; returns the messages written. */
static unsigned put_elements(char *buf, size_t *len, const char *table, const struct ks_nft_elem *elems, size_t n,
			     bool add, uint32_t *seq)
{
	unsigned msgs = 0;

	for (size_t i = 0; i < n;) {
		struct nlmsghdr *nlh = ks_nfnl_msg(buf, *len, (NFNL_SUBSYS_NFTABLES << 8) |
						 (add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM),
					       (add ? NLM_F_CREATE : 0) | NLM_F_ACK, NFPROTO_INET, 0, (*seq)++);
		struct nlattr *list;
		size_t in_msg = 0;

		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, elems[i].set);
		list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
		for (const char *set = elems[i].set; i < n && elems[i].set == set && in_msg < ELEMS_PER_MSG; i++, in_msg++) {
			struct nlattr *elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
			struct nlattr *key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);

			mnl_attr_put(nlh, NFTA_DATA_VALUE, elems[i].len, elems[i].key);
			mnl_attr_nest_end(nlh, key);
			mnl_attr_nest_end(nlh, elem);
		}
		mnl_attr_nest_end(nlh, list);
		*len += NLMSG_ALIGN(nlh->nlmsg_len);
		msgs++;
	}
	return msgs;
}

/*
 * nfnetlink runs a batch inside sendmsg(): every answer is queued when it
 * returns, so nothing here waits. Each message asked for an ack; a failed
 * batch answers with the error first. Every answer is read, whatever it
 * says: the socket may be another user's (watch's libnftables context),
 * whose next request must not find ours.
 */
static int read_acks(int fd, unsigned expected)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned acks = 0;
	int ret = 0;

	for (;;) {
		ssize_t got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		int len = (int)got;

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			if (errno != EAGAIN && !ret)
				ret = -errno;
			break;
		}
		for (const struct nlmsghdr *nlh = (const void *)buf; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
				ret = ret ? ret : -EBADMSG;
				continue;
			}
			if (e->error && !ret)
				ret = e->error;
			acks += !e->error;
		}
	}
	return ret ? ret : acks < expected ? -EIO : 0;
}

int ks_nft_elements_send(int fd, const struct ks_nft_elem_group *groups, size_t n_groups, bool add)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct nlmsghdr *nlh;
	size_t len = 0, size = 512;
	uint32_t seq = 1;
	unsigned msgs = 0;
	char *buf;
	ssize_t sent;
	int ret;

	for (size_t g = 0; g < n_groups; g++)
		size += 256 + groups[g].n * 128;
	buf = calloc(1, size);
	if (!buf)
		return -ENOMEM;
	/* One transaction: the kernel applies every element or none. */
	nlh = ks_nfnl_msg(buf, len, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, seq++);
	len += NLMSG_ALIGN(nlh->nlmsg_len);
	for (size_t g = 0; g < n_groups; g++)
		msgs += put_elements(buf, &len, groups[g].table, groups[g].elems, groups[g].n, add, &seq);
	nlh = ks_nfnl_msg(buf, len, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, seq++);
	len += NLMSG_ALIGN(nlh->nlmsg_len);
	do
		sent = sendto(fd, buf, len, 0, (const struct sockaddr *)&kernel, sizeof(kernel));
	while (sent < 0 && errno == EINTR);
	ret = sent < 0 ? -errno : read_acks(fd, msgs);
	free(buf);
	return ret;
}

int ks_nft_set_elements(const char *table, const struct ks_nft_elem *elems, size_t n, bool add, char err[KS_ERR_LEN])
{
	const struct ks_nft_elem_group group = { .table = table, .elems = elems, .n = n };
	struct mnl_socket *nl = NULL;
	int ret;

	if (!n)
		return 0;
	nl = ks_mnl_open(NETLINK_NETFILTER);
	ret = nl ? ks_nft_elements_send(mnl_socket_get_fd(nl), &group, 1, add) : -errno;
	if (ret < 0)
		snprintf(err, KS_ERR_LEN, "nftables refused the change; nothing changed: '%s'", strerror(-ret));
	/* After a removal, the close would wait for the kernel to free the removed elements. */
	if (nl && !add && ret == 0)
		ks_mnl_close_detached(nl);
	else if (nl)
		mnl_socket_close(nl);
	return ret;
}
