/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_COMPILE_H
#define KILLSWITCH_COMPILE_H

#include "killswitch/buf.h"
#include "killswitch/policy.h"

/* Names of the named counters, in status order. */
enum ks_counter {
	KS_COUNTER_OUT,
	KS_COUNTER_DNS,
	KS_COUNTER_IN,
	KS_COUNTER_FWD,
	KS_COUNTER_MAX,
};
extern const char *const ks_counter_names[KS_COUNTER_MAX];

/* The set of exclusion groups inside users' slices, by cgroup id (split-tunnel adds to it). */
#define KS_SET_EXCLUDED_USERS "excluded_users"

/* The chains every compiled table holds, with the policy each must have. */
struct ks_chain_spec {
	const char *name;
	const char *policy;
};
extern const struct ks_chain_spec ks_chain_specs[];
extern const unsigned ks_n_chain_specs;

/*
 * The compiler: a pure function of the policy (no I/O, no globals, no time),
 * so equal policies give byte-identical text. table must be a valid name
 * (ks_parse_ifname's alphabet). The policy should be finalized.
 * Returns 0 or -ENOMEM / -EINVAL.
 */
int ks_compile(const struct ks_policy *policy, const char *table, struct ks_buf *out);

/*
 * The text applied in one libnftables transaction: create the table (a no-op
 * if it exists), delete it, then create it whole, so the swap is atomic
 * whether or not an older table is there.
 */
int ks_compile_transaction(const struct ks_policy *policy, const char *table, struct ks_buf *out);

#endif
