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

/*
 * One message of a seed. The kinds, and what each uses:
 *	WG_DEVICE	a WG_CMD_GET_DEVICE reply: the device, fwmark when not 0, peers
 *	WG_MORE_PEERS	a later message of the same dump: only the device's name, and peers
 *	WG_SHORT_FWMARK	a reply with a u16 where the u32 fwmark belongs
 *	NL_DONE		the end of a multipart dump
 *	NFT_TABLE, NFT_CHAIN, NFT_RULE, NFT_SETELEM, NFT_NEWGEN: an nftables notification of the
 *			netlink type, about name (table; chain, rule's chain or set in table, with the
 *			hook for a chain; the process for NEWGEN), as the kernel sends them
 */
enum kind {
	END,
	WG_DEVICE,
	WG_MORE_PEERS,
	WG_SHORT_FWMARK,
	NL_DONE,
	NFT_TABLE,
	NFT_CHAIN,
	NFT_RULE,
	NFT_SETELEM,
	NFT_NEWGEN,
};

/* A peer's endpoint; family 0: a peer without one. */
struct peer {
	int family;
	const char *addr;
	uint16_t port;
};

struct msg {
	enum kind kind;
	uint32_t fwmark;
	const struct peer *peers[3]; /* up to the first NULL, in a WGDEVICE_A_PEERS nest if any */
	uint16_t type;
	uint8_t family;
	const char *table, *name;
	uint32_t hook;
};

/* A seed: its directory under the corpus, its name, its messages one after the other (one datagram). */
struct seed {
	const char *dir, *name;
	struct msg msgs[6];
};

/* ---- kernel WireGuard ---- */

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
	if (p->family == AF_INET) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(p->port) };

		inet_pton(AF_INET, p->addr, &sin.sin_addr);
		mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin), &sin);
	} else if (p->family == AF_INET6) {
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

static void wg_msg(const struct msg *m)
{
	struct nlmsghdr *nlh = wg_start(NLM_F_MULTI);

	if (m->kind == WG_DEVICE)
		wg_device(nlh, m->fwmark);
	else if (m->kind == WG_MORE_PEERS)
		mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wg0");
	else
		mnl_attr_put_u16(nlh, WGDEVICE_A_FWMARK, 1);
	if (m->peers[0]) {
		struct nlattr *peers = nest(nlh, WGDEVICE_A_PEERS);

		for (uint16_t i = 0; i < sizeof(m->peers) / sizeof(m->peers[0]) && m->peers[i]; i++)
			wg_peer(nlh, i, m->peers[i]);
		mnl_attr_nest_end(nlh, peers);
	}
	msg_end(nlh);
}

/* ---- nftables notifications ---- */

static void nft_msg(const struct msg *m)
{
	struct nlmsghdr *nlh = msg_start((uint16_t)(NFNL_SUBSYS_NFTABLES << 8 | m->type), 0, 0);
	struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	struct nlattr *list, *elem, *inner;

	nfg->nfgen_family = m->family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(42);
	switch (m->kind) {
	case NFT_TABLE:
		mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, m->name);
		mnl_attr_put_u32(nlh, NFTA_TABLE_FLAGS, 0);
		mnl_attr_put_u32(nlh, NFTA_TABLE_USE, htonl(6));
		mnl_attr_put_u64(nlh, NFTA_TABLE_HANDLE, htobe64(3));
		break;
	case NFT_CHAIN:
		mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, m->table);
		mnl_attr_put_u64(nlh, NFTA_CHAIN_HANDLE, htobe64(5));
		mnl_attr_put_strz(nlh, NFTA_CHAIN_NAME, m->name);
		inner = nest(nlh, NFTA_CHAIN_HOOK);
		mnl_attr_put_u32(nlh, NFTA_HOOK_HOOKNUM, htonl(m->hook));
		mnl_attr_put_u32(nlh, NFTA_HOOK_PRIORITY, htonl(0));
		mnl_attr_nest_end(nlh, inner);
		mnl_attr_put_u32(nlh, NFTA_CHAIN_POLICY, htonl(NF_DROP));
		mnl_attr_put_strz(nlh, NFTA_CHAIN_TYPE, "filter");
		break;
	case NFT_RULE:
		mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, m->table);
		mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, m->name);
		mnl_attr_put_u64(nlh, NFTA_RULE_HANDLE, htobe64(9));
		list = nest(nlh, NFTA_RULE_EXPRESSIONS);
		elem = nest(nlh, NFTA_LIST_ELEM);
		mnl_attr_put_strz(nlh, NFTA_EXPR_NAME, "immediate");
		inner = nest(nlh, NFTA_EXPR_DATA);
		mnl_attr_put_u32(nlh, NFTA_IMMEDIATE_DREG, htonl(NFT_REG_VERDICT));
		mnl_attr_nest_end(nlh, inner);
		mnl_attr_nest_end(nlh, elem);
		mnl_attr_nest_end(nlh, list);
		break;
	case NFT_SETELEM:
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, m->table);
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, m->name);
		list = nest(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
		elem = nest(nlh, NFTA_LIST_ELEM);
		inner = nest(nlh, NFTA_SET_ELEM_KEY);
		mnl_attr_put(nlh, NFTA_DATA_VALUE, 16, "wg0\0\0\0\0\0\0\0\0\0\0\0\0\0");
		mnl_attr_nest_end(nlh, inner);
		mnl_attr_nest_end(nlh, elem);
		mnl_attr_nest_end(nlh, list);
		break;
	default: /* NFT_NEWGEN */
		mnl_attr_put_u32(nlh, NFTA_GEN_ID, htonl(1234));
		mnl_attr_put_u32(nlh, NFTA_GEN_PROC_PID, htonl(31337));
		mnl_attr_put_strz(nlh, NFTA_GEN_PROC_NAME, m->name);
		break;
	}
	msg_end(nlh);
}

/* ---- the seeds ---- */

static const struct peer v4 = { AF_INET, "192.0.2.1", 51820 }, v6 = { AF_INET6, "2001:db8::1", 51820 },
			 mapped = { AF_INET6, "::ffff:192.0.2.1", 51820 }, zero_port = { AF_INET, "192.0.2.2", 0 },
			 no_endpoint = { 0, NULL, 0 };

#define DEVICE(mark, ...) { .kind = WG_DEVICE, .fwmark = (mark), .peers = { __VA_ARGS__ } }
#define MORE_PEERS(...) { .kind = WG_MORE_PEERS, .peers = { __VA_ARGS__ } }
#define TABLE(t, f, n) { .kind = NFT_TABLE, .type = (t), .family = (f), .name = (n) }
#define CHAIN(t, tbl, n, h) \
	{ .kind = NFT_CHAIN, .type = (t), .family = NFPROTO_INET, .table = (tbl), .name = (n), .hook = (h) }
#define RULE(t, tbl, n) { .kind = NFT_RULE, .type = (t), .family = NFPROTO_INET, .table = (tbl), .name = (n) }
#define SETELEM(t, tbl, n) { .kind = NFT_SETELEM, .type = (t), .family = NFPROTO_INET, .table = (tbl), .name = (n) }
#define NEWGEN(proc) { .kind = NFT_NEWGEN, .type = NFT_MSG_NEWGEN, .family = AF_UNSPEC, .name = (proc) }

static const struct seed seeds[] = {
	{ "wg_genl", "two-peers.bin", { DEVICE(51820, &v4, &v6, &no_endpoint) } },
	{ "wg_genl", "no-fwmark-no-peers.bin", { DEVICE(0, NULL) } },
	/* A device with many peers comes in several messages: the later ones hold only the name and peers. */
	{ "wg_genl", "multipart-dump.bin", { DEVICE(0xca6c, &v4), MORE_PEERS(&v6), { .kind = NL_DONE } } },
	{ "wg_genl", "mapped-endpoint.bin", { DEVICE(51820, &mapped) } },
	{ "wg_genl", "zero-port.bin", { DEVICE(51820, &zero_port) } },
	/* A u16 where the u32 fwmark belongs. */
	{ "wg_genl", "short-fwmark.bin", { { .kind = WG_SHORT_FWMARK } } },

	{ "nfnl", "newtable.bin", { TABLE(NFT_MSG_NEWTABLE, NFPROTO_INET, "killswitch") } },
	{ "nfnl", "deltable-newgen.bin", { TABLE(NFT_MSG_DELTABLE, NFPROTO_INET, "killswitch"), NEWGEN("nft") } },
	{ "nfnl", "newtable-ip-family.bin", { TABLE(NFT_MSG_NEWTABLE, NFPROTO_IPV4, "killswitch") } },
	{ "nfnl", "newrule-other-table.bin", { RULE(NFT_MSG_NEWRULE, "filter", "output") } },
	{ "nfnl", "delrule-newgen.bin", { RULE(NFT_MSG_DELRULE, "killswitch", "output"), NEWGEN("iptables-nft") } },
	{ "nfnl", "delsetelem.bin", { SETELEM(NFT_MSG_DELSETELEM, "killswitch", "tunnels") } },
	{ "nfnl", "newgen.bin", { NEWGEN("killswitch") } },
	/* A whole transaction in one datagram, as a ruleset load arrives. */
	{ "nfnl",
	  "transaction.bin",
	  { TABLE(NFT_MSG_NEWTABLE, NFPROTO_INET, "killswitch"),
	    CHAIN(NFT_MSG_NEWCHAIN, "killswitch", "output", NF_INET_LOCAL_OUT),
	    RULE(NFT_MSG_NEWRULE, "killswitch", "output"), SETELEM(NFT_MSG_NEWSETELEM, "killswitch", "tunnels"),
	    CHAIN(NFT_MSG_DELCHAIN, "killswitch", "forward", NF_INET_FORWARD), NEWGEN("nft") } },
};

static void put_msg(const struct msg *m)
{
	if (m->kind == NL_DONE) {
		struct nlmsghdr *nlh = msg_start(NLMSG_DONE, NLM_F_MULTI, 1700000001);

		mnl_nlmsg_put_extra_header(nlh, sizeof(int));
		msg_end(nlh);
	} else if (m->kind < NL_DONE) {
		wg_msg(m);
	} else {
		nft_msg(m);
	}
}

/* Every seed, each from a zeroed buffer, to CORPUS/DIR/NAME. */
static void write_seeds(const char *corpus)
{
	for (const struct seed *seed = seeds; seed < seeds + sizeof(seeds) / sizeof(seeds[0]); seed++) {
		const size_t max = sizeof(seed->msgs) / sizeof(seed->msgs[0]);
		char dir[4096];

		reset();
		for (size_t i = 0; i < max && seed->msgs[i].kind != END; i++)
			put_msg(&seed->msgs[i]);
		snprintf(dir, sizeof(dir), "%s/%s", corpus, seed->dir);
		save(dir, seed->name, buf, used);
	}
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
	if (argc == 4 && !strcmp(argv[1], "--capture"))
		return capture(argv[2], (unsigned)atoi(argv[3]));
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR | --capture DIR COUNT\n", argv[0]);
		return 1;
	}
	write_seeds(argv[1]);
	return 0;
}
