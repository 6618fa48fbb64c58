/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_NETLINK_H
#define KILLSWITCH_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "killswitch/policy.h"

/*
 * rtnetlink (libmnl): adds the addresses configured on the policy's tunnel
 * interfaces to policy->tunnel_addrs, for the CVE-2019-14899 rule, and
 * their networks (shorter than /32, /128) to the protected prefixes. A
 * tunnel that does not exist yet contributes nothing. Link-local addresses
 * are skipped (they are scoped to their link). Returns 0 or a negative errno.
 */
int ks_rtnl_tunnel_addrs(struct ks_policy *policy);

/*
 * wg-quick-style policy routing, for VPN clients that do not set it up,
 * in IPv4 and IPv6 (rtnetlink, libmnl):
 *   ip rule add not fwmark FWMARK table TABLE
 *   ip rule add table main suppress_prefixlength 0
 *   ip route add default dev TUNNEL table TABLE
 * Packets without the mark (everything but the VPN's own socket and
 * excluded programs) take the tunnel; the main table still serves its
 * more specific routes. Idempotent: what already exists is kept.
 * Returns 0 or a negative errno; *what names the step that failed.
 */
int ks_rtnl_routing_add(const char *tunnel, uint32_t fwmark, uint32_t table, const char **what);
/* Removes the two rules and the default routes of TABLE, both families; idempotent. */
int ks_rtnl_routing_del(uint32_t fwmark, uint32_t table, const char **what);
/*
 * --include-only (killswitch routing add --include), IPv4 and IPv6:
 *   ip route add default dev TUNNEL table TABLE
 *   ip rule add fwmark MARK table TABLE
 * Only packets the ruleset marked as the inclusion group's take the tunnel;
 * the main table (not the tunnel) serves everything else. Idempotent.
 */
int ks_rtnl_include_routing_add(const char *tunnel, uint32_t mark, uint32_t table, const char **what);
/* Removes that rule and the default routes of TABLE, both families; idempotent. */
int ks_rtnl_include_routing_del(uint32_t mark, uint32_t table, const char **what);
/* Whether any "not fwmark" rule is there (a VPN routing by fwmark, as wg-quick does), IPv4 or IPv6. */
int ks_rtnl_fwmark_routing_in_use(bool *in_use);

/*
 * The gateways of the default routes (any table, both families) whose
 * interface is not one of skip (the tunnels), each once, at most max:
 * where a captive portal is (killswitch portal). Returns 0 or a negative
 * errno; *n says how many.
 */
struct ks_gateway {
	struct ks_addr addr;
	unsigned ifindex;
	struct ks_ifname iface;
};
int ks_rtnl_default_gateways(const struct ks_ifname *skip, size_t n_skip, struct ks_gateway *out, size_t max,
			     size_t *n);

/*
 * The elements of set in table inet TABLE that have a timeout: how many,
 * and the longest time one has left, in milliseconds. -ENOENT when there
 * is no such table or set.
 */
int ks_nfnl_set_expiry(const char *table, const char *set, size_t *n, uint64_t *max_ms);

/*
 * nfnetlink (libmnl): nftables change notifications, for `watch`. Every
 * change batch ends with a NEWGEN message naming the process that made it.
 */
enum ks_nft_event_kind {
	KS_NFT_EVENT_OTHER,   /* about another table, or nothing we track */
	KS_NFT_EVENT_TABLE,   /* adds, changes or removes something in our table */
	KS_NFT_EVENT_NEWGEN,  /* a batch was committed; proc and pid say by whom */
};

struct ks_nft_event {
	enum ks_nft_event_kind kind;
	uint32_t pid;
	char proc[16];
};

/* Pure: classifies one nfnetlink message for table inet TABLE. -EINVAL if malformed. */
int ks_nfnl_classify(const void *msg, size_t len, const char *table, struct ks_nft_event *event);

/*
 * The dumps below (chains, rules, counters, handle) over one socket kept
 * for the process's life, from the next dump on, instead of a socket each.
 * After a transaction that removed anything (a table replaced, elements
 * deleted), the last close of a process's nfnetlink socket waits until
 * the kernel has freed the removed objects, an RCU grace period (5-30 ms
 * here); a close per dump would pay it on the first dump after it. With
 * detach, the socket is closed at exit by a process no one waits for
 * (ks_mnl_close_detached): for when this process, or watch for it,
 * committed a removal and no child of ours holds the socket.
 */
void ks_nfnl_keep(bool detach);
/* The kept socket's descriptor, opened now if it is not yet (before a fork), or -errno. */
int ks_nfnl_kept_fd(void);

/*
 * A hash of (chain, handle) of every rule of table inet TABLE in order, and
 * their number, from an NFT_MSG_GETRULE dump. Equal before and after means
 * no rule was added, removed or replaced in between.
 */
int ks_nfnl_rules_fingerprint(const char *table, uint64_t *hash, unsigned *rules);

/*
 * The handle of table inet TABLE: the kernel numbers tables as it creates
 * them, so every apply (which re-creates the table) gets a new one. -ENOENT
 * when there is no such table.
 */
int ks_nfnl_table_handle(const char *table, uint64_t *handle);
/*
 * The port ID of the netlink socket that owns table inet TABLE (its "owner"
 * flag: watch's guard). -ENOENT when there is no such table or it has no owner.
 */
int ks_nfnl_table_owner(const char *table, uint32_t *portid);

struct ks_nfnl_counter {
	bool present;
	uint64_t packets, bytes;
};

/* A chain of the table and its policy: "accept", "drop", "other", or "none" (not a base chain). */
struct ks_nfnl_chain {
	char name[32];
	char policy[8];
};
/* The chains of table inet TABLE, out[0..max); *n of them (none: no such table, or an empty one). */
int ks_nfnl_chains(const char *table, struct ks_nfnl_chain *out, size_t max, size_t *n);

/* The named counters names[0..n) of table inet TABLE, fetched without the set elements. */
int ks_nfnl_counters(const char *table, const char *const *names, size_t n, struct ks_nfnl_counter *out);

/*
 * Pure, for the fuzzer: runs the parser of the answers to an NFT_MSG_GET*
 * request (GETRULE, GETOBJ, GETTABLE, GETCHAIN) over one message, whose
 * nlmsg_len the caller checked against its buffer. Returns the parser's
 * MNL_CB_* value, or -EINVAL for another type.
 */
struct ks_nfnl_reply {
	unsigned rules, chains;
	uint64_t table_handle;
	struct ks_nfnl_counter counters[2];
	struct ks_nfnl_chain chain;
};
int ks_nfnl_parse_reply(uint16_t type, const void *msg, struct ks_nfnl_reply *out);

struct ks_nfnl_monitor;
/* Subscribes to NFNLGRP_NFTABLES with a large receive buffer. */
int ks_nfnl_monitor_open(struct ks_nfnl_monitor **monitor);
/*
 * Waits for the next datagram and calls cb for each message in it. Returns
 * 0, or -ENOBUFS when notifications were lost (the caller must re-check
 * everything), or another negative errno.
 */
int ks_nfnl_monitor_next(struct ks_nfnl_monitor *monitor,
			 int (*cb)(const void *msg, size_t len, void *data), void *data);
/* Its socket, for poll(): readable when ks_nfnl_monitor_next() would not wait. */
int ks_nfnl_monitor_fd(const struct ks_nfnl_monitor *monitor);
void ks_nfnl_monitor_close(struct ks_nfnl_monitor *monitor);

#endif
