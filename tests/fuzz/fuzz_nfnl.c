// SPDX-License-Identifier: GPL-2.0-or-later
/* nftables change notifications, as `killswitch watch` classifies them. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct nlmsghdr *nlh = fuzz_guarded(data, size);
	int left = (int)size;

	if (!nlh)
		return 0;
	classify(nlh, size);
	/* As ks_nfnl_monitor_next() hands a datagram over: message by message. */
	for (; next_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
		classify(nlh, nlh->nlmsg_len);
	return 0;
}
