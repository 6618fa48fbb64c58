// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Reads our table's chains, rules, counters and handle straight from
 * nfnetlink. To list a chain or a counter, libnftables fetches every set
 * element first (a quarter second at 10,000 endpoints, seconds at
 * 100,000); these dumps fetch only what they read.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <libmnl/libmnl.h>
/* glibc's before the kernel's: it tells linux/in.h which structs it already has. */
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "killswitch/mnl.h"
#include "killswitch/netlink.h"
#include "killswitch/schema.h"

struct fingerprint {
	uint64_t hash;
	unsigned rules;
};

static void fnv1a(uint64_t *hash, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		*hash ^= p[i];
		*hash *= 0x100000001b3ull;
	}
}

static int rule_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, NFTA_RULE_MAX) < 0)
		return MNL_CB_OK;
	if ((type == NFTA_RULE_CHAIN && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0) ||
	    (type == NFTA_RULE_HANDLE && mnl_attr_validate(attr, MNL_TYPE_U64) < 0))
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NFTA_RULE_MAX + 1] = { 0 };
	struct fingerprint *fp = data;
	const char *chain;
	uint64_t handle;

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), rule_attr_cb, tb) < 0)
		return MNL_CB_ERROR;
	if (!tb[NFTA_RULE_CHAIN] || !tb[NFTA_RULE_HANDLE])
		return MNL_CB_OK;
	chain = mnl_attr_get_str(tb[NFTA_RULE_CHAIN]);
	handle = mnl_attr_get_u64(tb[NFTA_RULE_HANDLE]);
	fnv1a(&fp->hash, chain, strlen(chain) + 1);
	fnv1a(&fp->hash, &handle, sizeof(handle));
	fp->rules++;
	return MNL_CB_OK;
}

static struct {
	bool on, detach, registered;
	struct mnl_socket *nl;
	unsigned seq;
} keep;

static void close_kept(void)
{
	if (!keep.nl)
		return;
	if (keep.detach)
		ks_mnl_close_detached(keep.nl);
	else
		mnl_socket_close(keep.nl);
	keep.nl = NULL;
}

/* Close-on-exec: split-tunnel execs its program, killswitch its hooks. */
static struct mnl_socket *kept_socket(void)
{
	struct mnl_socket *nl = keep.nl;

	if (nl)
		return nl;
	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int saved = errno;

		mnl_socket_close(nl);
		errno = saved;
		return NULL;
	}
	if (nl && !keep.registered)
		keep.registered = atexit(close_kept) == 0;
	keep.nl = nl;
	return nl;
}

void ks_nfnl_keep(bool detach)
{
	keep.on = true;
	keep.detach |= detach;
}

int ks_nfnl_kept_fd(void)
{
	struct mnl_socket *nl = keep.on ? kept_socket() : NULL;

	if (!keep.on)
		return -EINVAL;
	return nl ? mnl_socket_get_fd(nl) : -errno;
}

/* Asks (NFT_MSG_GET*, with flags) and runs cb over the answers; table inet TABLE when table_attr. */
static int request(uint16_t type, uint16_t flags, uint16_t table_attr, const char *table, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = keep.on ? kept_socket() : ks_mnl_open(NETLINK_NETFILTER);
	struct nlmsghdr *nlh;
	int ret;

	if (!nl)
		return -errno;
	nlh = ks_nfnl_msg(buf, 0, (NFNL_SUBSYS_NFTABLES << 8) | type, flags, NFPROTO_INET, 0,
			  (unsigned)time(NULL) + keep.seq++);
	if (table_attr)
		mnl_attr_put_strz(nlh, table_attr, table);
	ret = ks_mnl_talk(nl, nlh, cb, data);
	if (nl != keep.nl)
		mnl_socket_close(nl);
	else if (ret < 0 && ret != -ENOENT) {
		/*
		 * A dump cut short may still be running on it (the next would get
		 * EBUSY): a fresh socket next time. Closed here, waiting if it must:
		 * a child for it would be a zombie in watch, which does not exit.
		 */
		mnl_socket_close(nl);
		keep.nl = NULL;
	}
	return ret;
}

/* Dumps messages of type (NFT_MSG_GET*) for table inet TABLE through cb. */
static int dump(uint16_t type, uint16_t table_attr, const char *table, mnl_cb_t cb, void *data)
{
	return request(type, NLM_F_DUMP, table_attr, table, cb, data);
}

static int table_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, NFTA_TABLE_MAX) < 0)
		return MNL_CB_OK;
	if (mnl_attr_get_type(attr) == NFTA_TABLE_HANDLE && mnl_attr_validate(attr, MNL_TYPE_U64) < 0)
		return MNL_CB_ERROR;
	if (mnl_attr_get_type(attr) == NFTA_TABLE_OWNER && mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return MNL_CB_ERROR;
	tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

/* What one NFT_MSG_GETTABLE tells of a table: 0 where the kernel said nothing. */
struct table_info {
	uint64_t handle;
	uint32_t owner;
};

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NFTA_TABLE_MAX + 1] = { 0 };
	struct table_info *info = data;

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), table_attr_cb, tb) < 0)
		return MNL_CB_ERROR;
	if (tb[NFTA_TABLE_HANDLE])
		info->handle = be64toh(mnl_attr_get_u64(tb[NFTA_TABLE_HANDLE]));
	if (tb[NFTA_TABLE_OWNER])
		info->owner = ntohl(mnl_attr_get_u32(tb[NFTA_TABLE_OWNER]));
	return MNL_CB_OK;
}

static int read_table(const char *table, struct table_info *info)
{
	*info = (struct table_info){ 0 };
	return request(NFT_MSG_GETTABLE, NLM_F_ACK, NFTA_TABLE_NAME, table, table_cb, info);
}

int ks_nfnl_table_handle(const char *table, uint64_t *handle)
{
	struct table_info info;
	int ret = read_table(table, &info);

	if (ret < 0)
		return ret;
	if (!info.handle)
		return -EBADMSG;
	*handle = info.handle;
	return 0;
}

int ks_nfnl_table_owner(const char *table, uint32_t *portid)
{
	struct table_info info;
	int ret = read_table(table, &info);

	*portid = 0;
	if (ret < 0)
		return ret;
	if (!info.owner)
		return -ENOENT;
	*portid = info.owner;
	return 0;
}

int ks_nfnl_rules_fingerprint(const char *table, uint64_t *hash, unsigned *rules)
{
	struct fingerprint fp = { .hash = 0xcbf29ce484222325ull };
	int ret = dump(NFT_MSG_GETRULE, NFTA_RULE_TABLE, table, rule_cb, &fp);

	if (ret < 0)
		return ret;
	*hash = fp.hash;
	*rules = fp.rules;
	return 0;
}

struct chains {
	const char *table;
	struct ks_nfnl_chain *out;
	size_t max, n;
};

static int chain_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, NFTA_CHAIN_MAX) < 0)
		return MNL_CB_OK;
	if (((type == NFTA_CHAIN_TABLE || type == NFTA_CHAIN_NAME) && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0) ||
	    (type == NFTA_CHAIN_POLICY && mnl_attr_validate(attr, MNL_TYPE_U32) < 0))
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

static const char *policy_name(const struct nlattr *policy)
{
	if (!policy)
		return "none"; /* not a base chain */
	switch (ntohl(mnl_attr_get_u32(policy))) {
	case NF_ACCEPT:
		return "accept";
	case NF_DROP:
		return "drop";
	default:
		return "other";
	}
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NFTA_CHAIN_MAX + 1] = { 0 };
	struct chains *c = data;
	struct ks_nfnl_chain *one;

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), chain_attr_cb, tb) < 0)
		return MNL_CB_ERROR;
	if (!tb[NFTA_CHAIN_TABLE] || !tb[NFTA_CHAIN_NAME] || strcmp(mnl_attr_get_str(tb[NFTA_CHAIN_TABLE]), c->table))
		return MNL_CB_OK;
	/* Counted past max too: a table with more chains than ours has is one we did not make. */
	if (c->n++ >= c->max)
		return MNL_CB_OK;
	one = &c->out[c->n - 1];
	snprintf(one->name, sizeof(one->name), "%s", mnl_attr_get_str(tb[NFTA_CHAIN_NAME]));
	snprintf(one->policy, sizeof(one->policy), "%s", policy_name(tb[NFTA_CHAIN_POLICY]));
	return MNL_CB_OK;
}

int ks_nfnl_chains(const char *table, struct ks_nfnl_chain *out, size_t max, size_t *n)
{
	struct chains c = { .table = table, .out = out, .max = max };
	/* Chain dumps take no table filter: every inet chain comes, ours are picked out. */
	int ret = dump(NFT_MSG_GETCHAIN, 0, table, chain_cb, &c);

	*n = c.n < max ? c.n : max;
	return ret;
}

struct counters {
	const char *const *names;
	size_t n;
	struct ks_nfnl_counter *out;
};

static int obj_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, NFTA_OBJ_MAX) < 0)
		return MNL_CB_OK;
	if ((type == NFTA_OBJ_NAME && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0) ||
	    (type == NFTA_OBJ_TYPE && mnl_attr_validate(attr, MNL_TYPE_U32) < 0) ||
	    (type == NFTA_OBJ_DATA && mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0))
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

static int counter_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, NFTA_COUNTER_MAX) < 0)
		return MNL_CB_OK;
	if ((type == NFTA_COUNTER_BYTES || type == NFTA_COUNTER_PACKETS) && mnl_attr_validate(attr, MNL_TYPE_U64) < 0)
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

static int obj_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NFTA_OBJ_MAX + 1] = { 0 }, *ctb[NFTA_COUNTER_MAX + 1] = { 0 };
	struct counters *c = data;
	const char *name;

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), obj_attr_cb, tb) < 0)
		return MNL_CB_ERROR;
	if (!tb[NFTA_OBJ_NAME] || !tb[NFTA_OBJ_TYPE] || !tb[NFTA_OBJ_DATA] ||
	    ntohl(mnl_attr_get_u32(tb[NFTA_OBJ_TYPE])) != NFT_OBJECT_COUNTER)
		return MNL_CB_OK;
	if (mnl_attr_parse_nested(tb[NFTA_OBJ_DATA], counter_attr_cb, ctb) < 0)
		return MNL_CB_ERROR;
	name = mnl_attr_get_str(tb[NFTA_OBJ_NAME]);
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(name, c->names[i]))
			continue;
		c->out[i].present = true;
		if (ctb[NFTA_COUNTER_PACKETS])
			c->out[i].packets = be64toh(mnl_attr_get_u64(ctb[NFTA_COUNTER_PACKETS]));
		if (ctb[NFTA_COUNTER_BYTES])
			c->out[i].bytes = be64toh(mnl_attr_get_u64(ctb[NFTA_COUNTER_BYTES]));
	}
	return MNL_CB_OK;
}

int ks_nfnl_counters(const char *table, const char *const *names, size_t n, struct ks_nfnl_counter *out)
{
	struct counters c = { .names = names, .n = n, .out = out };

	memset(out, 0, n * sizeof(*out));
	return dump(NFT_MSG_GETOBJ, NFTA_OBJ_TABLE, table, obj_cb, &c);
}

int ks_nfnl_parse_reply(uint16_t type, const void *msg, struct ks_nfnl_reply *out)
{
	const char *const ours[2] = { ks_counter_names[KS_COUNTER_OUT], ks_counter_names[KS_COUNTER_IN] };
	struct fingerprint fp = { .hash = 0xcbf29ce484222325ull };
	struct counters c = { .names = ours, .n = 2, .out = out->counters };
	const struct nlmsghdr *nlh = msg;
	int ret;

	switch (type) {
	case NFT_MSG_GETRULE:
		ret = rule_cb(nlh, &fp);
		out->rules += fp.rules;
		break;
	case NFT_MSG_GETOBJ:
		ret = obj_cb(nlh, &c);
		break;
	case NFT_MSG_GETTABLE:
		ret = table_cb(nlh, &out->table_handle);
		break;
	case NFT_MSG_GETCHAIN: {
		struct chains ch = { .table = KS_TABLE_NAME, .out = &out->chain, .max = 1 };

		ret = chain_cb(nlh, &ch);
		out->chains += (unsigned)ch.n;
		break;
	}
	default:
		return -EINVAL;
	}
	return ret;
}
