// SPDX-License-Identifier: GPL-2.0-or-later
/* Which prefixes to protect from what the tunnel says about itself: a pure function of addresses. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "killswitch/protect.h"

typedef unsigned __int128 u128;

static unsigned bits_of(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* The first address of the prefix, as a number in its family's space. */
static u128 start_of(const struct ks_cidr *c)
{
	const uint8_t *b = c->addr.family == AF_INET ? (const uint8_t *)&c->addr.v4 : c->addr.v6.s6_addr;
	u128 v = 0;

	for (unsigned i = 0; i < bits_of(c->addr.family) / 8; i++)
		v = (v << 8) | b[i];
	return v;
}

/* The last address of the prefix. */
static u128 end_of(const struct ks_cidr *c)
{
	unsigned host = bits_of(c->addr.family) - c->prefix;

	return start_of(c) | (host >= 128 ? ~(u128)0 : (((u128)1 << host) - 1));
}

static bool contains(const struct ks_cidr *outer, const struct ks_cidr *inner)
{
	return outer->addr.family == inner->addr.family && outer->prefix <= inner->prefix &&
	       start_of(outer) <= start_of(inner) && end_of(inner) <= end_of(outer);
}

bool ks_cidr_contains(const struct ks_cidr *outer, const struct ks_cidr *inner)
{
	return contains(outer, inner);
}

static int by_start(const void *a, const void *b)
{
	u128 x = start_of(a), y = start_of(b);

	return x < y ? -1 : x > y;
}

/* Whether the family's prefixes among ips[0..n) together cover its whole address space. */
static int covers_all(const struct ks_cidr *ips, size_t n, int family, bool *all)
{
	struct ks_cidr *fam = calloc(n ? n : 1, sizeof(*fam));
	u128 top = family == AF_INET ? (u128)0xffffffffu : ~(u128)0, next = 0;
	size_t m = 0;

	if (!fam)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (ips[i].addr.family == family)
			fam[m++] = ips[i];
	qsort(fam, m, sizeof(*fam), by_start);
	*all = false;
	/* Sorted by start: a gap before a prefix, or none reaching the top, means not everything. */
	for (size_t i = 0; i < m && !*all; i++) {
		if (start_of(&fam[i]) > next)
			break;
		if (end_of(&fam[i]) == top)
			*all = true;
		else if (end_of(&fam[i]) + 1 > next)
			next = end_of(&fam[i]) + 1;
	}
	free(fam);
	return 0;
}

/* Whether another entry of ips strictly contains ips[i]. */
static bool nested(const struct ks_cidr *ips, size_t n, size_t i)
{
	for (size_t j = 0; j < n; j++)
		if (j != i && ips[j].prefix < ips[i].prefix && contains(&ips[j], &ips[i]))
			return true;
	return false;
}

int ks_protect_from_allowed_ips(const struct ks_cidr *ips, size_t n, struct ks_cidr **out, size_t *n_out)
{
	bool full4 = false, full6 = false;
	int ret;

	*out = NULL;
	*n_out = 0;
	ret = covers_all(ips, n, AF_INET, &full4);
	if (ret == 0)
		ret = covers_all(ips, n, AF_INET6, &full6);
	if (ret < 0)
		return ret;
	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		bool full = ips[i].addr.family == AF_INET ? full4 : full6;
		bool seen = false;

		if (ips[i].prefix == 0 || (full && !nested(ips, n, i)))
			continue;
		for (size_t k = 0; k < *n_out && !seen; k++)
			seen = !memcmp(&(*out)[k], &ips[i], sizeof(ips[i]));
		if (!seen)
			(*out)[(*n_out)++] = ips[i];
	}
	return 0;
}

int ks_protect_from_address(const struct ks_addr *addr, unsigned prefix, struct ks_cidr *out)
{
	unsigned bits = bits_of(addr->family);
	uint8_t *b;

	/* A /0 would be the whole internet: an address on a tunnel does not say that. */
	if (prefix == 0 || prefix >= bits)
		return -EDOM;
	memset(out, 0, sizeof(*out));
	out->addr = *addr;
	out->prefix = (uint8_t)prefix;
	b = addr->family == AF_INET ? (uint8_t *)&out->addr.v4 : out->addr.v6.s6_addr;
	/* Clear the host bits, byte by byte. */
	for (unsigned i = 0; i < bits / 8; i++) {
		unsigned keep = prefix > i * 8 ? prefix - i * 8 : 0;

		if (keep < 8)
			b[i] &= (uint8_t)(0xff00u >> keep);
	}
	return 0;
}
