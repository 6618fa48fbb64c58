/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_POLICY_H
#define KILLSWITCH_POLICY_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KS_DEFAULT_FWMARK 0xca6cu /* 51820, as wg-quick sets it */
#define KS_TABLE_NAME "killswitch"
#define KS_DEFAULT_CT_MARK 0x4b53u	/* "KS": connections of excluded programs */
#define KS_REJECT_CT_MARK 0x4b52u	/* "KR": connections the forward chain refused */
#define KS_BYPASS_CT_MARK 0x4b42u	/* "KB": this host's connections to --bypass destinations */
#define KS_ALLOW_IN_CT_MARK 0x4b41u	/* "KA": inbound connections --allow-in accepted */
#define KS_DEFAULT_CLASSID 0x4b530001u /* net_cls classid of the exclusion cgroup */
#define KS_CGROUP_PATH_MAX 128
/* The exclusion cgroup's default name (KILLSWITCH_CGROUP_NAME). */
#define KS_CGROUP_NAME "killswitch-exclude"
/* --include-only: the inclusion group ("KI"): its ct mark and fwmark, classid, name (KILLSWITCH_INCLUDE_CGROUP_NAME). */
#define KS_INCLUDE_MARK 0x4b49u
#define KS_INCLUDE_CLASSID 0x4b490001u
#define KS_INCLUDE_CGROUP_NAME "killswitch-include"

/* Zero-initialise every instance: policies compare and sort with memcmp. */
struct ks_addr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t pad[3];
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
};

struct ks_cidr {
	struct ks_addr addr;
	uint8_t prefix;
	uint8_t pad[3];
};

struct ks_endpoint {
	struct ks_addr addr;
	uint16_t port;
	uint8_t proto; /* IPPROTO_UDP or IPPROTO_TCP */
	uint8_t pad;
};

struct ks_ifname {
	char name[IFNAMSIZ];
};

/* --bypass: a destination allowed off the tunnel (never DNS, never a protected prefix). */
struct ks_bypass {
	struct ks_cidr cidr;
	uint16_t port; /* 0: every port and protocol */
	uint8_t proto; /* with a port: IPPROTO_TCP, IPPROTO_UDP, or 0 for both */
	uint8_t pad;
};

/* --allow-in: inbound connections accepted on non-tunnel interfaces. */
struct ks_allow_in {
	char iface[IFNAMSIZ]; /* "" for every non-tunnel interface */
	uint16_t port;
	uint8_t proto; /* IPPROTO_TCP, IPPROTO_UDP, or 0 for both */
	uint8_t pad;
};

enum ks_state {
	KS_STATE_ENABLED, /* connected: the tunnel carries traffic */
	KS_STATE_BLOCKED, /* blocked, or "connecting" when endpoints are given */
};

enum ks_ipv6_mode {
	KS_IPV6_BLOCK,
	KS_IPV6_ALLOW,
};

enum ks_split_mode {
	KS_SPLIT_OFF,
	KS_SPLIT_V1, /* net_cls classid, matched with "meta cgroup" */
	KS_SPLIT_V2, /* matched with "socket cgroupv2 level N PATH" */
};

/* Where excluded programs live, as the compiler needs it. */
struct ks_split {
	enum ks_split_mode mode;
	uint32_t ct_mark;
	uint32_t classid;		      /* v1 */
	unsigned level;			      /* v2: depth of path in the v2 hierarchy */
	char path[KS_CGROUP_PATH_MAX];	      /* v2: relative to /sys/fs/cgroup; v1: to the net_cls root (not saved) */
};

/* Where a protected prefix came from: status says so, and re-reading the tunnel replaces its own. */
enum ks_protect_source {
	KS_PROTECT_GIVEN,	/* --protect */
	KS_PROTECT_TUNNEL,	/* the network of a tunnel interface's address, read at apply time */
	KS_PROTECT_ALLOWED_IPS, /* a WireGuard peer's allowed IPs (--from-wg) */
};

/* A destination that may leave only through the tunnel (the VPN's own networks). */
struct ks_protected {
	struct ks_cidr cidr;
	enum ks_protect_source source;
	char iface[IFNAMSIZ]; /* the tunnel it came from; "" for --protect */
};

/* A v2 cgroup path relative to /sys/fs/cgroup, as "socket cgroupv2" names it. */
struct ks_cgroup_path {
	char path[KS_CGROUP_PATH_MAX];
};

struct ks_policy {
	enum ks_state state;
	enum ks_ipv6_mode ipv6;
	bool allow_lan;
	bool fwmark_none; /* endpoints scoped by address, protocol and port only */
	/*
	 * A partial tunnel (split-include VPN, site-to-site): only the protected
	 * prefixes and DNS to the resolvers are locked to the tunnel; the rest
	 * leaves as routed. Needs at least one protected prefix.
	 */
	bool partial;
	uint32_t fwmark;

	struct ks_ifname *tunnels;
	size_t n_tunnels;
	struct ks_endpoint *endpoints;
	size_t n_endpoints;
	struct ks_addr *resolvers;
	size_t n_resolvers;
	struct ks_cidr *lan;
	size_t n_lan;
	struct ks_split split;
	/*
	 * v2: the exclusion groups inside users' slices that exist now
	 * ("unified/user.slice/user-1000.slice/killswitch-exclude"), at level
	 * split.level + 2; split-tunnel adds the ones it creates later.
	 */
	struct ks_cgroup_path *user_groups;
	size_t n_user_groups;
	/*
	 * v2: the levels of the units excluded by split-tunnel add --unit|--slice
	 * (bit N for level N, 1..31): one set excluded_units_lN and one rule per
	 * level, the sets filled by cgroup id after the table is loaded.
	 */
	uint32_t unit_levels;

	/* Addresses of the tunnel interfaces (CVE-2019-14899 anti-spoof rule). */
	struct ks_addr *tunnel_addrs;
	size_t n_tunnel_addrs;

	/* Protected prefixes, each once (the first source kept): rejected off the tunnel before any accept. */
	struct ks_protected *protect;
	size_t n_protect;

	/*
	 * --gateway: interfaces whose clients this host routes into the tunnel
	 * (a VPN router). Forwarded from them only through the tunnel, masqueraded;
	 * their DNS redirected to the first --dns resolver of its family.
	 */
	struct ks_ifname *gateways;
	size_t n_gateways;

	/*
	 * --include-only: only programs in the inclusion group (split-tunnel
	 * --include) use the tunnel, and are locked to it in every state; the
	 * rest leaves as routed, as with --partial. include is that group, as
	 * split is the exclusion group (ct_mark: also the fwmark its packets
	 * carry, which "killswitch routing add --include" routes into the tunnel).
	 */
	bool include_only;
	struct ks_split include;
	/* --bypass and --allow-in (docs/bypass.md). */
	struct ks_bypass *bypass;
	size_t n_bypass;
	struct ks_allow_in *allow_in;
	size_t n_allow_in;
};

void ks_policy_init(struct ks_policy *policy);
void ks_policy_free(struct ks_policy *policy);

/* Each returns 0 or -ENOMEM. Duplicates are removed by ks_policy_finalize(). */
int ks_policy_add_tunnel(struct ks_policy *policy, const char *name);
int ks_policy_add_gateway(struct ks_policy *policy, const char *name);
int ks_policy_add_endpoint(struct ks_policy *policy, const struct ks_endpoint *endpoint);
int ks_policy_add_resolver(struct ks_policy *policy, const struct ks_addr *addr);
int ks_policy_add_lan(struct ks_policy *policy, const struct ks_cidr *cidr);
int ks_policy_add_tunnel_addr(struct ks_policy *policy, const struct ks_addr *addr);
int ks_policy_add_bypass(struct ks_policy *policy, const struct ks_bypass *bypass);
int ks_policy_add_allow_in(struct ks_policy *policy, const struct ks_allow_in *allow_in);
/* Removes every entry equal to the given one; returns how many went. */
size_t ks_policy_del_bypass(struct ks_policy *policy, const struct ks_bypass *bypass);
size_t ks_policy_del_allow_in(struct ks_policy *policy, const struct ks_allow_in *allow_in);
int ks_policy_add_user_group(struct ks_policy *policy, const char *path);
/* iface: the tunnel a derived prefix came from (NULL or "" for --protect). */
int ks_policy_add_protect(struct ks_policy *policy, const struct ks_cidr *cidr, enum ks_protect_source source,
			  const char *iface);
/* Drops the prefixes of one source (re-read from the system). */
void ks_policy_drop_protect(struct ks_policy *policy, enum ks_protect_source source);

/* Sorts every list and collapses duplicates, so equal policies compile to equal text. */
void ks_policy_finalize(struct ks_policy *policy);

const char *ks_state_name(enum ks_state state);

#endif
