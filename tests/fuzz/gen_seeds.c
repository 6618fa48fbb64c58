// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Writes the binary seeds: WG_CMD_GET_DEVICE replies as kernel WireGuard
 * builds them (corpus/wg_genl/) and nftables notifications as the kernel
 * sends them to `killswitch watch` (corpus/nfnl/), built with libmnl.
 *
 *	gen_seeds CORPUS_DIR
 *	gen_seeds --capture DIR COUNT	(the next COUNT nftables notifications of this netns)
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/wireguard.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "killswitch/netlink.h"

#define WG_FAMILY_ID 0x1c /* dynamic; any value past the fixed families */

static char buf[16384];
static size_t used;

static void save(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* libmnl leaves attribute padding as it finds it: start from zeros, as the kernel does. */
static void reset(void)
{
	memset(buf, 0, sizeof(buf));
	used = 0;
}

/* Messages go one after the other into buf, as in one datagram. */
static struct nlmsghdr *msg_start(uint16_t type, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + used);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = 4242;
	return nlh;
}

static void msg_end(struct nlmsghdr *nlh)
{
	used += MNL_ALIGN(nlh->nlmsg_len);
}

/* The kernel marks nests with NLA_F_NESTED; libmnl does not. */
static struct nlattr *nest(struct nlmsghdr *nlh, uint16_t type)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, type);

	n->nla_type |= NLA_F_NESTED;
	return n;
}

/* ---- kernel WireGuard ---- */

struct peer {
	int family;
	const char *addr;
	uint16_t port;
};

static struct nlmsghdr *wg_start(uint16_t flags)
{
	struct nlmsghdr *nlh = msg_start(WG_FAMILY_ID, flags, 1700000001);
	struct genlmsghdr *genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));

	genl->cmd = WG_CMD_GET_DEVICE;
	genl->version = WG_GENL_VERSION;
	return nlh;
}

static void wg_peer(struct nlmsghdr *nlh, uint16_t index, const struct peer *p)
{
	uint8_t key[WG_KEY_LEN];
	struct nlattr *peer, *ips, *ip;
	struct timespec64_like {
		int64_t sec, nsec;
	} ts = { 0, 0 };

	memset(key, 0x40 + index, sizeof(key));
	peer = nest(nlh, index);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, sizeof(key), key);
	memset(key, 0, sizeof(key));
	mnl_attr_put(nlh, WGPEER_A_PRESHARED_KEY, sizeof(key), key);
	mnl_attr_put(nlh, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(ts), &ts);
	mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 25);
	mnl_attr_put_u64(nlh, WGPEER_A_TX_BYTES, 0);
	mnl_attr_put_u64(nlh, WGPEER_A_RX_BYTES, 0);
	mnl_attr_put_u32(nlh, WGPEER_A_PROTOCOL_VERSION, 1);
	if (p && p->family == AF_INET) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(p->port) };

		inet_pton(AF_INET, p->addr, &sin.sin_addr);
		mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin), &sin);
	} else if (p) {
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(p->port) };

		inet_pton(AF_INET6, p->addr, &sin6.sin6_addr);
		mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin6), &sin6);
	}
	ips = nest(nlh, WGPEER_A_ALLOWEDIPS);
	ip = nest(nlh, 0);
	mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET);
	mnl_attr_put_u32(nlh, WGALLOWEDIP_A_IPADDR, 0);
	mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, 0);
	mnl_attr_nest_end(nlh, ip);
	mnl_attr_nest_end(nlh, ips);
	mnl_attr_nest_end(nlh, peer);
}

static void wg_device(struct nlmsghdr *nlh, uint32_t fwmark)
{
	uint8_t key[WG_KEY_LEN];

	mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, 7);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wg0");
	memset(key, 0x11, sizeof(key));
	mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, sizeof(key), key);
	memset(key, 0x22, sizeof(key));
	mnl_attr_put(nlh, WGDEVICE_A_PUBLIC_KEY, sizeof(key), key);
	mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, 51821);
	if (fwmark)
		mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, fwmark);
}

static void wg_seeds(const char *dir)
{
	static const struct peer v4 = { AF_INET, "192.0.2.1", 51820 }, v6 = { AF_INET6, "2001:db8::1", 51820 },
				 mapped = { AF_INET6, "::ffff:192.0.2.1", 51820 },
				 zero_port = { AF_INET, "192.0.2.2", 0 };
	struct nlmsghdr *nlh;
	struct nlattr *peers;

	reset();
	nlh = wg_start(NLM_F_MULTI);
	wg_device(nlh, 51820);
	peers = nest(nlh, WGDEVICE_A_PEERS);
	wg_peer(nlh, 0, &v4);
	wg_peer(nlh, 1, &v6);
	wg_peer(nlh, 2, NULL);
	mnl_attr_nest_end(nlh, peers);
	msg_end(nlh);
	save(dir, "two-peers.bin", buf, used);

	reset();
	nlh = wg_start(NLM_F_MULTI);
	wg_device(nlh, 0);
	msg_end(nlh);
	save(dir, "no-fwmark-no-peers.bin", buf, used);

	/* A device with many peers comes in several messages: the later ones hold only the name and peers. */
	reset();
	nlh = wg_start(NLM_F_MULTI);
	wg_device(nlh, 0xca6c);
	peers = nest(nlh, WGDEVICE_A_PEERS);
	wg_peer(nlh, 0, &v4);
	mnl_attr_nest_end(nlh, peers);
	msg_end(nlh);
	nlh = wg_start(NLM_F_MULTI);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wg0");
	peers = nest(nlh, WGDEVICE_A_PEERS);
	wg_peer(nlh, 0, &v6);
	mnl_attr_nest_end(nlh, peers);
	msg_end(nlh);
	nlh = msg_start(NLMSG_DONE, NLM_F_MULTI, 1700000001);
	mnl_nlmsg_put_extra_header(nlh, sizeof(int));
	msg_end(nlh);
	save(dir, "multipart-dump.bin", buf, used);

	reset();
	nlh = wg_start(NLM_F_MULTI);
	wg_device(nlh, 51820);
	peers = nest(nlh, WGDEVICE_A_PEERS);
	wg_peer(nlh, 0, &mapped);
	mnl_attr_nest_end(nlh, peers);
	msg_end(nlh);
	save(dir, "mapped-endpoint.bin", buf, used);

	reset();
	nlh = wg_start(NLM_F_MULTI);
	wg_device(nlh, 51820);
	peers = nest(nlh, WGDEVICE_A_PEERS);
	wg_peer(nlh, 0, &zero_port);
	mnl_attr_nest_end(nlh, peers);
	msg_end(nlh);
	save(dir, "zero-port.bin", buf, used);

	/* A u16 where the u32 fwmark belongs. */
	reset();
	nlh = wg_start(NLM_F_MULTI);
	mnl_attr_put_u16(nlh, WGDEVICE_A_FWMARK, 1);
	msg_end(nlh);
	save(dir, "short-fwmark.bin", buf, used);
}

/* ---- nftables notifications ---- */

static struct nlmsghdr *nft_start(uint16_t type, uint8_t family, uint16_t flags)
{
	struct nlmsghdr *nlh = msg_start((uint16_t)(NFNL_SUBSYS_NFTABLES << 8 | type), flags, 0);
	struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));

	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(42);
	return nlh;
}

static void nft_table(uint16_t type, uint8_t family, const char *name)
{
	struct nlmsghdr *nlh = nft_start(type, family, 0);

	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, name);
	mnl_attr_put_u32(nlh, NFTA_TABLE_FLAGS, 0);
	mnl_attr_put_u32(nlh, NFTA_TABLE_USE, htonl(6));
	mnl_attr_put_u64(nlh, NFTA_TABLE_HANDLE, htobe64(3));
	msg_end(nlh);
}

static void nft_chain(uint16_t type, const char *table, const char *name, uint32_t hook)
{
	struct nlmsghdr *nlh = nft_start(type, NFPROTO_INET, 0);
	struct nlattr *h;

	mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, table);
	mnl_attr_put_u64(nlh, NFTA_CHAIN_HANDLE, htobe64(5));
	mnl_attr_put_strz(nlh, NFTA_CHAIN_NAME, name);
	h = nest(nlh, NFTA_CHAIN_HOOK);
	mnl_attr_put_u32(nlh, NFTA_HOOK_HOOKNUM, htonl(hook));
	mnl_attr_put_u32(nlh, NFTA_HOOK_PRIORITY, htonl(0));
	mnl_attr_nest_end(nlh, h);
	mnl_attr_put_u32(nlh, NFTA_CHAIN_POLICY, htonl(NF_DROP));
	mnl_attr_put_strz(nlh, NFTA_CHAIN_TYPE, "filter");
	msg_end(nlh);
}

static void nft_rule(uint16_t type, const char *table, const char *chain)
{
	struct nlmsghdr *nlh = nft_start(type, NFPROTO_INET, 0);
	struct nlattr *list, *elem, *data;

	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, chain);
	mnl_attr_put_u64(nlh, NFTA_RULE_HANDLE, htobe64(9));
	list = nest(nlh, NFTA_RULE_EXPRESSIONS);
	elem = nest(nlh, NFTA_LIST_ELEM);
	mnl_attr_put_strz(nlh, NFTA_EXPR_NAME, "immediate");
	data = nest(nlh, NFTA_EXPR_DATA);
	mnl_attr_put_u32(nlh, NFTA_IMMEDIATE_DREG, htonl(NFT_REG_VERDICT));
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, elem);
	mnl_attr_nest_end(nlh, list);
	msg_end(nlh);
}

static void nft_setelem(uint16_t type, const char *table, const char *set)
{
	struct nlmsghdr *nlh = nft_start(type, NFPROTO_INET, 0);
	struct nlattr *list, *elem, *key;

	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	list = nest(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	elem = nest(nlh, NFTA_LIST_ELEM);
	key = nest(nlh, NFTA_SET_ELEM_KEY);
	mnl_attr_put(nlh, NFTA_DATA_VALUE, 16, "wg0\0\0\0\0\0\0\0\0\0\0\0\0\0");
	mnl_attr_nest_end(nlh, key);
	mnl_attr_nest_end(nlh, elem);
	mnl_attr_nest_end(nlh, list);
	msg_end(nlh);
}

static void nft_newgen(const char *proc)
{
	struct nlmsghdr *nlh = nft_start(NFT_MSG_NEWGEN, AF_UNSPEC, 0);

	mnl_attr_put_u32(nlh, NFTA_GEN_ID, htonl(1234));
	mnl_attr_put_u32(nlh, NFTA_GEN_PROC_PID, htonl(31337));
	mnl_attr_put_strz(nlh, NFTA_GEN_PROC_NAME, proc);
	msg_end(nlh);
}

static void nfnl_seeds(const char *dir)
{
	reset();
	nft_table(NFT_MSG_NEWTABLE, NFPROTO_INET, "killswitch");
	save(dir, "newtable.bin", buf, used);

	reset();
	nft_table(NFT_MSG_DELTABLE, NFPROTO_INET, "killswitch");
	nft_newgen("nft");
	save(dir, "deltable-newgen.bin", buf, used);

	reset();
	nft_table(NFT_MSG_NEWTABLE, NFPROTO_IPV4, "killswitch");
	save(dir, "newtable-ip-family.bin", buf, used);

	reset();
	nft_rule(NFT_MSG_NEWRULE, "filter", "output");
	save(dir, "newrule-other-table.bin", buf, used);

	reset();
	nft_rule(NFT_MSG_DELRULE, "killswitch", "output");
	nft_newgen("iptables-nft");
	save(dir, "delrule-newgen.bin", buf, used);

	reset();
	nft_setelem(NFT_MSG_DELSETELEM, "killswitch", "tunnels");
	save(dir, "delsetelem.bin", buf, used);

	reset();
	nft_newgen("killswitch");
	save(dir, "newgen.bin", buf, used);

	/* A whole transaction in one datagram, as a ruleset load arrives. */
	reset();
	nft_table(NFT_MSG_NEWTABLE, NFPROTO_INET, "killswitch");
	nft_chain(NFT_MSG_NEWCHAIN, "killswitch", "output", NF_INET_LOCAL_OUT);
	nft_rule(NFT_MSG_NEWRULE, "killswitch", "output");
	nft_setelem(NFT_MSG_NEWSETELEM, "killswitch", "tunnels");
	nft_chain(NFT_MSG_DELCHAIN, "killswitch", "forward", NF_INET_FORWARD);
	nft_newgen("nft");
	save(dir, "transaction.bin", buf, used);
}

/* ---- captured from the running kernel ---- */

struct capture {
	const char *dir;
	unsigned n, max;
};

static int capture_cb(const void *msg, size_t len, void *data)
{
	struct capture *c = data;
	char name[64];

	snprintf(name, sizeof(name), "captured-%02u.bin", c->n);
	save(c->dir, name, msg, len);
	return ++c->n < c->max ? 0 : -ECANCELED;
}

static int capture(const char *dir, unsigned max)
{
	struct ks_nfnl_monitor *m;
	struct capture c = { .dir = dir, .max = max };
	int ret = ks_nfnl_monitor_open(&m);

	if (ret < 0) {
		fprintf(stderr, "nfnetlink: %s\n", strerror(-ret));
		return 1;
	}
	/* Tell whoever waits on stdout that the subscription is in place. */
	printf("ready\n");
	fflush(stdout);
	while ((ret = ks_nfnl_monitor_next(m, capture_cb, &c)) == 0)
		;
	ks_nfnl_monitor_close(m);
	return ret == -ECANCELED ? 0 : 1;
}

int main(int argc, char *argv[])
{
	char dir[4096];

	if (argc == 4 && !strcmp(argv[1], "--capture"))
		return capture(argv[2], (unsigned)atoi(argv[3]));
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR | --capture DIR COUNT\n", argv[0]);
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/wg_genl", argv[1]);
	wg_seeds(dir);
	snprintf(dir, sizeof(dir), "%s/nfnl", argv[1]);
	nfnl_seeds(dir);
	return 0;
}
