// SPDX-License-Identifier: GPL-2.0-or-later
/* What an endpoint add|del changes in the endpoint sets: a pure function of the policy. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "killswitch/array.h"
#include "killswitch/endpoint_change.h"

static bool same_endpoint(const struct ks_endpoint *a, const struct ks_endpoint *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static bool listed(const struct ks_endpoint *ep, const struct ks_endpoint *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (same_endpoint(ep, &list[i]))
			return true;
	return false;
}

/* Whether an endpoint of the policy not in the change uses addr (before an add, or still after a del). */
static bool addr_in_use(const struct ks_policy *policy, const struct ks_endpoint_change *change,
			const struct ks_addr *addr)
{
	for (size_t j = 0; j < policy->n_endpoints; j++) {
		const struct ks_endpoint *other = &policy->endpoints[j];

		if (!memcmp(&other->addr, addr, sizeof(*addr)) && (change->add || !listed(other, change->eps, change->n)))
			return true;
	}
	return false;
}

int ks_endpoint_change_plan(const struct ks_policy *policy, const struct ks_endpoint *asked, size_t n, bool add,
			    struct ks_endpoint_change *change)
{
	memset(change, 0, sizeof(*change));
	change->add = add;
	for (size_t i = 0; i < n; i++) {
		bool present = listed(&asked[i], policy->endpoints, policy->n_endpoints);

		if (present == add || listed(&asked[i], change->eps, change->n))
			continue;
		if (ks_array_append((void **)&change->eps, &change->n, sizeof(asked[i]), &asked[i]) < 0)
			goto nomem;
	}
	for (size_t i = 0; i < change->n; i++) {
		const struct ks_addr *addr = &change->eps[i].addr;
		bool done = false;

		for (size_t k = 0; k < change->n_addrs && !done; k++)
			done = !memcmp(&change->addrs[k], addr, sizeof(*addr));
		if (done || addr_in_use(policy, change, addr))
			continue;
		if (ks_array_append((void **)&change->addrs, &change->n_addrs, sizeof(*addr), addr) < 0)
			goto nomem;
	}
	return 0;
nomem:
	ks_endpoint_change_free(change);
	return -ENOMEM;
}

void ks_endpoint_change_free(struct ks_endpoint_change *change)
{
	free(change->eps);
	free(change->addrs);
	change->eps = NULL;
	change->addrs = NULL;
	change->n = change->n_addrs = 0;
}

int ks_endpoint_change_apply(struct ks_policy *policy, const struct ks_endpoint_change *change)
{
	size_t kept = 0;

	if (change->add) {
		for (size_t i = 0; i < change->n; i++) {
			int ret = ks_policy_add_endpoint(policy, &change->eps[i]);

			if (ret < 0)
				return ret;
		}
		ks_policy_finalize(policy);
		return 0;
	}
	for (size_t i = 0; i < policy->n_endpoints; i++)
		if (!listed(&policy->endpoints[i], change->eps, change->n))
			policy->endpoints[kept++] = policy->endpoints[i];
	policy->n_endpoints = kept;
	return 0;
}
