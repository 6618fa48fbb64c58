/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_COMPILE_H
#define KILLSWITCH_COMPILE_H

#include "killswitch/buf.h"
#include "killswitch/policy.h"
#include "killswitch/schema.h"


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

/*
 * The guard: while `killswitch watch` runs, a second table, TABLE_guard,
 * created with nftables' "owner" flag by watch's netlink socket, so that no
 * other process can change or delete it and `nft flush ruleset` leaves it
 * alone; it goes when that socket closes (or, with persist, on Linux 6.9+
 * and an nftables that can say it, it stays, without an owner, until the
 * next watch adopts it). It holds the filter chains of the table with the
 * same verdicts, so a drop in either is final and while the table is gone
 * (another program flushed the ruleset) the guard refuses what it refused.
 * Marking and NAT stay in the table only.
 */
#define KS_GUARD_SUFFIX "_guard"
#define KS_GUARD_NAME_LEN 48
/* TABLE_guard; -EINVAL for a bad table name. */
int ks_guard_name(const char *table, char name[KS_GUARD_NAME_LEN]);
/* The guard's text for ks_compile_transaction()'s, appended to it: one transaction for both. */
int ks_compile_guard_transaction(const struct ks_policy *policy, const char *table, bool persist, struct ks_buf *out);
/*
 * An endpoint add|del as nftables text for table (or its guard): the
 * element changes of ks_nft_change_endpoints(), for the guard's owner.
 */
struct ks_endpoint_change;
int ks_compile_endpoint_change(const struct ks_endpoint_change *change, const char *table, bool guard,
			       struct ks_buf *out);
/*
 * bypass|allow-in add|del: whether the tables loaded from before and after
 * declare the same --bypass and --allow-in sets and rules (then only their
 * elements differ), and the element changes that turn the first's sets into
 * the second's, for table or its guard: deletes first, then adds, one
 * transaction. -EINVAL when the rules differ (apply the table again).
 */
bool ks_exceptions_same_rules(const struct ks_policy *before, const struct ks_policy *after);
int ks_compile_exceptions_change(const struct ks_policy *before, const struct ks_policy *after, const char *table,
				 bool guard, struct ks_buf *out);
/* Deletes the guard whether or not it exists: by its owner (with its flags), or one that has none. */
int ks_compile_guard_removal(const char *table, bool owner, bool persist, struct ks_buf *out);

#endif
