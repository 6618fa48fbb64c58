// SPDX-License-Identifier: GPL-2.0-or-later
/* The policy model: its lists, and the order that makes equal policies compile to equal text. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "killswitch/array.h"
#include "killswitch/policy.h"

void ks_policy_init(struct ks_policy *policy)
{
	memset(policy, 0, sizeof(*policy));
	policy->state = KS_STATE_ENABLED;
	policy->ipv6 = KS_IPV6_BLOCK;
	policy->fwmark = KS_DEFAULT_FWMARK;
	policy->split.ct_mark = KS_DEFAULT_CT_MARK;
	policy->split.classid = KS_DEFAULT_CLASSID;
	policy->include.ct_mark = KS_INCLUDE_MARK;
	policy->include.classid = KS_INCLUDE_CLASSID;
}

void ks_policy_free(struct ks_policy *policy)
{
	free(policy->tunnels);
	free(policy->endpoints);
	free(policy->resolvers);
	free(policy->lan);
	free(policy->tunnel_addrs);
	free(policy->user_groups);
	free(policy->protect);
	free(policy->gateways);
	free(policy->bypass);
	free(policy->allow_in);
	ks_policy_init(policy);
}

int ks_policy_add_tunnel(struct ks_policy *policy, const char *name)
{
	struct ks_ifname ifname = { 0 };

	strncpy(ifname.name, name, sizeof(ifname.name) - 1);
	return ks_array_append((void **)&policy->tunnels, &policy->n_tunnels, sizeof(ifname), &ifname);
}

int ks_policy_add_gateway(struct ks_policy *policy, const char *name)
{
	struct ks_ifname ifname = { 0 };

	strncpy(ifname.name, name, sizeof(ifname.name) - 1);
	return ks_array_append((void **)&policy->gateways, &policy->n_gateways, sizeof(ifname), &ifname);
}

int ks_policy_add_endpoint(struct ks_policy *policy, const struct ks_endpoint *endpoint)
{
	return ks_array_append((void **)&policy->endpoints, &policy->n_endpoints, sizeof(*endpoint), endpoint);
}

int ks_policy_add_resolver(struct ks_policy *policy, const struct ks_addr *addr)
{
	return ks_array_append((void **)&policy->resolvers, &policy->n_resolvers, sizeof(*addr), addr);
}

int ks_policy_add_lan(struct ks_policy *policy, const struct ks_cidr *cidr)
{
	return ks_array_append((void **)&policy->lan, &policy->n_lan, sizeof(*cidr), cidr);
}

int ks_policy_add_tunnel_addr(struct ks_policy *policy, const struct ks_addr *addr)
{
	return ks_array_append((void **)&policy->tunnel_addrs, &policy->n_tunnel_addrs, sizeof(*addr), addr);
}

int ks_policy_add_bypass(struct ks_policy *policy, const struct ks_bypass *bypass)
{
	return ks_array_append((void **)&policy->bypass, &policy->n_bypass, sizeof(*bypass), bypass);
}

int ks_policy_add_allow_in(struct ks_policy *policy, const struct ks_allow_in *allow_in)
{
	return ks_array_append((void **)&policy->allow_in, &policy->n_allow_in, sizeof(*allow_in), allow_in);
}

/* Drops the elements of size bytes equal to one (all zero-initialised: memcmp compares them). */
static size_t del_equal(void *array, size_t *count, size_t size, const void *one)
{
	char *base = array;
	size_t kept = 0, n = *count;

	for (size_t i = 0; i < n; i++) {
		if (!memcmp(base + i * size, one, size))
			continue;
		if (kept != i)
			memcpy(base + kept * size, base + i * size, size);
		kept++;
	}
	*count = kept;
	return n - kept;
}

size_t ks_policy_del_bypass(struct ks_policy *policy, const struct ks_bypass *bypass)
{
	return del_equal(policy->bypass, &policy->n_bypass, sizeof(*bypass), bypass);
}

size_t ks_policy_del_allow_in(struct ks_policy *policy, const struct ks_allow_in *allow_in)
{
	return del_equal(policy->allow_in, &policy->n_allow_in, sizeof(*allow_in), allow_in);
}

int ks_policy_add_user_group(struct ks_policy *policy, const char *path)
{
	struct ks_cgroup_path group = { 0 };

	if (strlen(path) >= sizeof(group.path))
		return -ENAMETOOLONG;
	strcpy(group.path, path);
	return ks_array_append((void **)&policy->user_groups, &policy->n_user_groups, sizeof(group), &group);
}

int ks_policy_add_protect(struct ks_policy *policy, const struct ks_cidr *cidr, enum ks_protect_source source,
			  const char *iface)
{
	struct ks_protected p = { .cidr = *cidr, .source = source };

	if (iface && strlen(iface) >= sizeof(p.iface))
		return -ENAMETOOLONG;
	if (iface)
		strcpy(p.iface, iface);
	return ks_array_append((void **)&policy->protect, &policy->n_protect, sizeof(p), &p);
}

void ks_policy_drop_protect(struct ks_policy *policy, enum ks_protect_source source)
{
	size_t kept = 0;

	for (size_t i = 0; i < policy->n_protect; i++)
		if (policy->protect[i].source != source)
			policy->protect[kept++] = policy->protect[i];
	policy->n_protect = kept;
}

static int cmp_ifname(const void *a, const void *b)
{
	return strcmp(((const struct ks_ifname *)a)->name, ((const struct ks_ifname *)b)->name);
}

/* Family first, then address bytes in network order: the numeric order. */
static int cmp_addr(const struct ks_addr *a, const struct ks_addr *b)
{
	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	if (a->family == AF_INET)
		return memcmp(&a->v4, &b->v4, sizeof(a->v4));
	return memcmp(&a->v6, &b->v6, sizeof(a->v6));
}

static int cmp_addr_v(const void *a, const void *b)
{
	return cmp_addr(a, b);
}

static int cmp_cidr(const void *va, const void *vb)
{
	const struct ks_cidr *a = va, *b = vb;
	int r = cmp_addr(&a->addr, &b->addr);

	return r ? r : (int)a->prefix - (int)b->prefix;
}

static int cmp_endpoint(const void *va, const void *vb)
{
	const struct ks_endpoint *a = va, *b = vb;
	int r = cmp_addr(&a->addr, &b->addr);

	if (r)
		return r;
	if (a->proto != b->proto)
		return a->proto == IPPROTO_UDP ? -1 : 1;
	return (int)a->port - (int)b->port;
}

/* By destination, then port, then protocol (both, tcp, udp). */
static int cmp_bypass(const void *va, const void *vb)
{
	const struct ks_bypass *a = va, *b = vb;
	int r = cmp_cidr(&a->cidr, &b->cidr);

	if (r)
		return r;
	if (a->port != b->port)
		return (int)a->port - (int)b->port;
	return (int)a->proto - (int)b->proto;
}

/* Every interface first, then by interface, port, protocol. */
static int cmp_allow_in(const void *va, const void *vb)
{
	const struct ks_allow_in *a = va, *b = vb;
	int r = strcmp(a->iface, b->iface);

	if (r)
		return r;
	if (a->port != b->port)
		return (int)a->port - (int)b->port;
	return (int)a->proto - (int)b->proto;
}

/* By prefix, then source (--protect first), then tunnel. */
static int cmp_protected(const void *va, const void *vb)
{
	const struct ks_protected *a = va, *b = vb;
	int r = cmp_cidr(&a->cidr, &b->cidr);

	if (r)
		return r;
	if (a->source != b->source)
		return (int)a->source - (int)b->source;
	return strcmp(a->iface, b->iface);
}

/* Sorted, then each prefix once: the first of its sources stays. */
static void sort_protected(struct ks_policy *policy)
{
	size_t out = 0;

	if (policy->n_protect < 2)
		return;
	qsort(policy->protect, policy->n_protect, sizeof(*policy->protect), cmp_protected);
	for (size_t i = 1; i < policy->n_protect; i++) {
		if (cmp_cidr(&policy->protect[out].cidr, &policy->protect[i].cidr) == 0)
			continue;
		policy->protect[++out] = policy->protect[i];
	}
	policy->n_protect = out + 1;
}

static void sort_unique(void *array, size_t *count, size_t size, int (*cmp)(const void *, const void *))
{
	char *base = array;
	size_t out = 0;

	if (*count < 2)
		return;
	qsort(base, *count, size, cmp);
	for (size_t i = 1; i < *count; i++) {
		if (cmp(base + out * size, base + i * size) == 0)
			continue;
		out++;
		if (out != i)
			memcpy(base + out * size, base + i * size, size);
	}
	*count = out + 1;
}

void ks_policy_finalize(struct ks_policy *policy)
{
	sort_unique(policy->tunnels, &policy->n_tunnels, sizeof(*policy->tunnels), cmp_ifname);
	sort_unique(policy->endpoints, &policy->n_endpoints, sizeof(*policy->endpoints), cmp_endpoint);
	sort_unique(policy->resolvers, &policy->n_resolvers, sizeof(*policy->resolvers), cmp_addr_v);
	sort_unique(policy->lan, &policy->n_lan, sizeof(*policy->lan), cmp_cidr);
	sort_unique(policy->tunnel_addrs, &policy->n_tunnel_addrs, sizeof(*policy->tunnel_addrs), cmp_addr_v);
	sort_protected(policy);
	sort_unique(policy->gateways, &policy->n_gateways, sizeof(*policy->gateways), cmp_ifname);
	sort_unique(policy->bypass, &policy->n_bypass, sizeof(*policy->bypass), cmp_bypass);
	sort_unique(policy->allow_in, &policy->n_allow_in, sizeof(*policy->allow_in), cmp_allow_in);
}

const char *ks_state_name(enum ks_state state)
{
	return state == KS_STATE_BLOCKED ? "blocked" : "enabled";
}
