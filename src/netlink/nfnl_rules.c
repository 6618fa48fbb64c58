// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A fingerprint of the rules in our table, read straight from nfnetlink:
 * the chain and handle of every rule in order. Any rule added, removed or
 * replaced changes it. libnftables would fetch every set element to list
 * a chain (a quarter second at 10,000 endpoints); this dump costs none.
 */
#include <errno.h>
#include <libmnl/libmnl.h>
/* glibc's before the kernel's: it tells linux/in.h which structs it already has. */
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <string.h>
#include <time.h>

#include "killswitch/netlink.h"

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

int ks_nfnl_rules_fingerprint(const char *table, uint64_t *hash, unsigned *rules)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct fingerprint fp = { .hash = 0xcbf29ce484222325ull };
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	unsigned portid, seq = (unsigned)time(NULL);
	int ret;

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto cleanup;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = NFPROTO_INET;
	nfg->version = NFNETLINK_V0;
	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, table);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto cleanup;
	}
	do {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0) {
			ret = -errno;
			goto cleanup;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, rule_cb, &fp);
	} while (ret > MNL_CB_STOP);
	if (ret < 0) {
		ret = -errno;
		goto cleanup;
	}
	*hash = fp.hash;
	*rules = fp.rules;
	ret = 0;
cleanup:
	mnl_socket_close(nl);
	return ret;
}
