/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_PORTAL_H
#define KILLSWITCH_PORTAL_H

#include <stddef.h>

#include "killswitch/buf.h"
#include "killswitch/compile.h"
#include "killswitch/error.h"
#include "killswitch/policy.h"

/*
 * killswitch portal (docs/portal.md): a browser in the portal group may
 * reach the DHCP-provided gateway and resolvers on a few ports, for a few
 * minutes, while everything else stays blocked. The table always holds the
 * portal's sets, empty, and its rules; `killswitch portal` adds elements
 * with a kernel timeout. Names and marks here do not collide with the
 * exclusion group's (policy.h).
 */
#define KS_PORTAL_CT_MARK 0x4b50u	   /* "KP": connections the portal group opened to the portal */
#define KS_PORTAL_CLASSID 0x4b500001u	   /* net_cls classid of the portal group (v1) */
#define KS_PORTAL_CGROUP_NAME "killswitch-portal" /* a child of the hierarchy's root: level 1 in v2 */
#define KS_PORTAL_CGROUP_LEVEL 1u
#define KS_SET_PORTAL4 "portal4"	     /* ipv4_addr . inet_proto . inet_service, flags timeout */
#define KS_SET_PORTAL6 "portal6"	     /* ipv6_addr . inet_proto . inet_service, flags timeout */
#define KS_SET_PORTAL_GROUPS "portal_groups" /* cgroupsv2: the portal group, by path when it is added */
#define KS_CHAIN_PORTAL "portal"	     /* the portal group's output: the grant or reject */
#define KS_CHAIN_PORTAL_ROUTE "portal_route" /* TABLE_portal: the grant's packets routed off the tunnel */
/* TABLE_portal: the grant's route marking and NAT, only while a portal was opened since the last apply. */
#define KS_PORTAL_TABLE_SUFFIX "_portal"

#define KS_PORTAL_MINUTES_DEFAULT 5u
#define KS_PORTAL_MINUTES_MAX 60u
#define KS_PORTAL_SECONDS_MAX 3600u
#define KS_PORTAL_MAX_ADDRS 8

/* What one `killswitch portal` grants: these addresses on 53 (udp, tcp), 80 (tcp), 443 (tcp, udp). */
struct ks_portal_grant {
	struct ks_addr addrs[KS_PORTAL_MAX_ADDRS]; /* the gateways and resolvers, each once */
	size_t n_addrs;
	unsigned seconds; /* 1..KS_PORTAL_SECONDS_MAX */
	/* v2: the group's path relative to /sys/fs/cgroup ("unified/killswitch-portal"); "" for v1 only. */
	char v2_path[KS_CGROUP_PATH_MAX];
};

/*
 * Adds addr to the grant (0, also when it is there already); -EINVAL for an
 * address a grant never takes (loopback, unspecified, multicast, IPv6
 * link-local or IPv4-mapped), -ENOSPC when the grant is full.
 */
int ks_portal_grant_add(struct ks_portal_grant *grant, const struct ks_addr *addr);

/* Which table a grant's elements go to: the table, its guard, or the portal's own table. */
enum ks_portal_where {
	KS_PORTAL_IN_TABLE,
	KS_PORTAL_IN_GUARD,
	KS_PORTAL_IN_OWN_TABLE,
};

/*
 * The grant as nftables text for table, its guard or TABLE_portal: the
 * portal sets flushed, then every address . protocol . port added with the
 * timeout, and the v2 group added to portal_groups; one transaction.
 * -EINVAL for a bad table name, path, duration or an empty grant.
 */
int ks_compile_portal_grant(const struct ks_portal_grant *grant, const char *table, enum ks_portal_where where,
			    struct ks_buf *out);

/* TABLE_portal's name (KS_GUARD_NAME_LEN fits it); -EINVAL for a bad table name. */
int ks_portal_table_name(const char *table, char name[KS_GUARD_NAME_LEN]);

/*
 * TABLE_portal, replaced whole (created empty, then its text): the portal
 * sets again, a route chain that marks the grant's packets with the
 * policy's fwmark (ct mark KS_PORTAL_CT_MARK) and a NAT chain that
 * masquerades them off the tunnels. -EINVAL for a bad table or tunnel name.
 */
int ks_compile_portal_table(const struct ks_policy *policy, const char *table, struct ks_buf *out);
/* TABLE_portal's removal, create-then-delete (whether or not it exists), for the apply and disable transactions. */
int ks_compile_portal_table_removal(const char *table, struct ks_buf *out);

/* Parses --minutes: 1..KS_PORTAL_MINUTES_MAX, decimal digits only; -EINVAL otherwise. */
int ks_portal_parse_minutes(const char *text, unsigned *minutes);

/*
 * The command line of `killswitch portal [--minutes N] [--] CMD [ARG...]`
 * (argv[0] is "portal"): minutes (default 5) and the index of CMD in argv.
 * -EINVAL with a one-line message quoting the bad value.
 */
struct ks_portal_args {
	unsigned minutes;
	int command;
};
int ks_portal_parse_args(int argc, char *const argv[], struct ks_portal_args *out, char err[KS_ERR_LEN]);

/* Parses KILLSWITCH_PORTAL_SECONDS (tests): 1..KS_PORTAL_SECONDS_MAX; -EINVAL otherwise. */
int ks_portal_parse_seconds(const char *text, unsigned *seconds);

/*
 * Adds the numeric "nameserver" addresses of a resolv.conf text to the
 * grant (loopback stubs, link-local and the like skipped: see
 * ks_portal_grant_add). Returns how many new addresses it added.
 */
int ks_portal_parse_resolv(const char *text, struct ks_portal_grant *grant);
/* The same for a systemd-networkd lease (/run/systemd/netif/leases/IFINDEX): its "DNS=" lines. */
int ks_portal_parse_lease(const char *text, struct ks_portal_grant *grant);

#endif
