/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_SCHEMA_H
#define KILLSWITCH_SCHEMA_H

#include <stdbool.h>

/*
 * The names of the table's parts that code outside the compiler touches:
 * the sets whose elements change without a new table (endpoint add|del,
 * split-tunnel), the named counters status reads, the chains every table
 * holds with their policies (src/compiler/schema.c). The compiler and the
 * kernel code both take them from here.
 */

#define KS_SET_ENDPOINTS4 "endpoints4"		 /* ipv4_addr . inet_proto . inet_service */
#define KS_SET_ENDPOINTS6 "endpoints6"		 /* ipv6_addr . inet_proto . inet_service */
#define KS_SET_ENDPOINT_ADDRS4 "endpoint_addrs4" /* ipv4_addr */
#define KS_SET_ENDPOINT_ADDRS6 "endpoint_addrs6" /* ipv6_addr */
#define KS_SET_EXCLUDED_USERS "excluded_users"	 /* cgroupsv2: the exclusion groups in users' slices, by id */
/* cgroupsv2: the cgroups of excluded systemd units at level N, by id: "excluded_units_l" N (killswitch/unit.h). */
#define KS_SET_EXCLUDED_UNITS_PREFIX "excluded_units_l"
#define KS_SET_PROTECTED4 "protected4"		 /* ipv4_addr, interval: only through the tunnel */
#define KS_SET_PROTECTED6 "protected6"		 /* ipv6_addr, interval */
/* With two tunnels or more: which tunnel each protected prefix may use (ifname . ipv4_addr, interval). */
#define KS_SET_PROTECTED_VIA4 "protected_via4"
#define KS_SET_PROTECTED_VIA6 "protected_via6" /* ifname . ipv6_addr, interval */
#define KS_SET_GATEWAYS "gateways"		 /* ifname: --gateway, the LAN interfaces routed into the tunnel */
/* --bypass: destinations allowed off the tunnel (docs/bypass.md). */
#define KS_SET_BYPASS4 "bypass4"	     /* ipv4_addr, interval */
#define KS_SET_BYPASS6 "bypass6"	     /* ipv6_addr, interval */
#define KS_SET_BYPASS_PORTS4 "bypass_ports4" /* ipv4_addr . inet_proto . inet_service, interval */
#define KS_SET_BYPASS_PORTS6 "bypass_ports6" /* ipv6_addr . inet_proto . inet_service, interval */
/* --allow-in: inbound ports accepted on every non-tunnel interface, or on one. */
#define KS_SET_ALLOW_IN "allow_in"	     /* inet_proto . inet_service */
#define KS_SET_ALLOW_IN_IF "allow_in_if"     /* ifname . inet_proto . inet_service */
/* The nat chain on prerouting: the gateway's clients' DNS redirected (empty without --gateway). */
#define KS_CHAIN_NAT_PREROUTING "nat_prerouting"
/* --include-only: postrouting, the inclusion group only out by a tunnel (split-tunnel --include looks for it). */
#define KS_CHAIN_INCLUDED_POST "included_post"

/* Names of the named counters, in status order. */
enum ks_counter {
	KS_COUNTER_OUT,
	KS_COUNTER_DNS,
	KS_COUNTER_IN,
	KS_COUNTER_FWD,
	KS_COUNTER_MAX,
};
extern const char *const ks_counter_names[KS_COUNTER_MAX];

/*
 * The chains every compiled table holds, with the policy each must have.
 * An idle one (split tunnelling's and --gateway's, when they would hold no
 * rule) is then a regular chain hooked nowhere, without a policy: an empty
 * base chain still costs every packet its hook (issue 15).
 */
struct ks_chain_spec {
	const char *name;
	const char *policy;
	bool may_idle;
};
extern const struct ks_chain_spec ks_chain_specs[];
extern const unsigned ks_n_chain_specs;

#endif
