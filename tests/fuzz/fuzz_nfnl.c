// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nftables change notifications, as `killswitch watch` classifies them, and
 * the answers to the dumps status and apply read (rules, counters, table).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <string.h>

#include "killswitch/netlink.h"

#include "fuzz.h"

static void classify(const struct nlmsghdr *nlh, size_t len)
{
	struct ks_nft_event ev;
	int ret = ks_nfnl_classify(nlh, len, KS_TABLE_NAME, &ev);

	CHECK(ret == 0 || ret == -EINVAL);
	CHECK(memchr(ev.proc, '\0', sizeof(ev.proc)));
	if (ret < 0 || ev.kind == KS_NFT_EVENT_OTHER) {
		CHECK(ev.kind == KS_NFT_EVENT_OTHER);
		return;
	}
	CHECK(NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_NFTABLES);
	if (ev.kind == KS_NFT_EVENT_NEWGEN) {
		CHECK(NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWGEN);
		return;
	}
	CHECK(ev.kind == KS_NFT_EVENT_TABLE && !ev.pid && !ev.proc[0]);
	CHECK(((const struct nfgenmsg *)mnl_nlmsg_get_payload(nlh))->nfgen_family == NFPROTO_INET);
}

/* The reply parsers, message by message as ks_mnl_talk() hands them over. */
static void replies(const struct nlmsghdr *nlh, int left)
{
	static const uint16_t types[] = { NFT_MSG_GETRULE, NFT_MSG_GETOBJ, NFT_MSG_GETTABLE, NFT_MSG_GETCHAIN };
	struct ks_nfnl_reply out;
	unsigned messages = 0;

	memset(&out, 0, sizeof(out));
	for (; next_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		messages++;
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
			int ret = ks_nfnl_parse_reply(types[t], nlh, &out);

			CHECK(ret == MNL_CB_OK || ret == MNL_CB_ERROR);
		}
	}
	/* Each message is at most one rule, and at most one chain; a chain's policy is one of four words. */
	CHECK(out.rules <= messages);
	CHECK(out.chains <= messages);
	CHECK(!out.chains || !strcmp(out.chain.policy, "accept") || !strcmp(out.chain.policy, "drop") ||
	      !strcmp(out.chain.policy, "other") || !strcmp(out.chain.policy, "none"));
	CHECK(strlen(out.chain.name) < sizeof(out.chain.name));
	CHECK(ks_nfnl_parse_reply(NFT_MSG_NEWGEN, nlh, &out) == -EINVAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct nlmsghdr *nlh = fuzz_guarded(data, size);
	int left = (int)size;

	if (!nlh)
		return 0;
	classify(nlh, size);
	replies(nlh, left);
	/* As ks_nfnl_monitor_next() hands a datagram over: message by message. */
	for (; next_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
		classify(nlh, nlh->nlmsg_len);
	return 0;
}
