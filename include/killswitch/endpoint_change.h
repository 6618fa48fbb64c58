/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_ENDPOINT_CHANGE_H
#define KILLSWITCH_ENDPOINT_CHANGE_H

#include <stdbool.h>
#include <stddef.h>

#include "killswitch/policy.h"

/*
 * What `endpoint add|del` changes in the table's sets, as pure functions of
 * the policy (src/policy/endpoint_change.c): the endpoints that come or go
 * (endpoints4/6), and the addresses whose first endpoint comes or whose
 * last one goes (endpoint_addrs4/6, which other endpoints may still use).
 */
struct ks_endpoint_change {
	bool add;
	struct ks_endpoint *eps; /* absent ones for add, present ones for del, once each */
	size_t n;
	struct ks_addr *addrs;
	size_t n_addrs;
};

/*
 * Plans the change of asked[0..n) against policy, which must hold every
 * endpoint sharing an address with them (the whole policy, or the part of
 * the state file near them). 0 or -ENOMEM; free with ks_endpoint_change_free().
 */
int ks_endpoint_change_plan(const struct ks_policy *policy, const struct ks_endpoint *asked, size_t n, bool add,
			    struct ks_endpoint_change *change);
void ks_endpoint_change_free(struct ks_endpoint_change *change);
/* The policy after the change (for a state file written whole). 0 or -ENOMEM. */
int ks_endpoint_change_apply(struct ks_policy *policy, const struct ks_endpoint_change *change);

#endif
