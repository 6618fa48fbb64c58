// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Input shaping and invariant checks for the harnesses. The checks decide
 * validity on their own (inet_pton, explicit alphabets, bit tests) instead
 * of calling the parsers under test, so a parser that lets something
 * through cannot also vouch for it.
 */
#define _GNU_SOURCE /* memfd_create */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "killswitch/buf.h"
#include "killswitch/compile.h"
#include "killswitch/parse.h"

#include "fuzz.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void fuzz_fail(const char *file, int line, const char *what, const char *context)
{
	fprintf(stderr, "\n%s:%d: invariant violated: %s\n", file, line, what);
	if (context)
		fprintf(stderr, "  at: '%s'\n", context);
	abort();
}

char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	CHECK(s);
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

char **fuzz_split(const uint8_t *data, size_t size, int *n)
{
	size_t count = 1, k = 0, start = 0;
	char **list;

	for (size_t i = 0; i < size; i++)
		count += data[i] == '\0' || data[i] == '\n';
	list = calloc(count + 1, sizeof(*list));
	CHECK(list);
	for (size_t i = 0; i <= size; i++) {
		if (i < size && data[i] != '\0' && data[i] != '\n')
			continue;
		/* A file of one value per line ends with a newline, not with an empty value. */
		if (i == size && start == size)
			break;
		/* Each string in its own block: reading past its end is an ASan report, not the next string. */
		list[k++] = fuzz_string(data + start, i - start);
		start = i + 1;
	}
	*n = (int)k;
	return list;
}

void fuzz_free_split(char **list)
{
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
}

const char *fuzz_file(int slot, const void *data, size_t size)
{
	static int fds[2] = { -1, -1 };
	static char paths[2][32];
	const char *p = data;

	CHECK(slot == 0 || slot == 1);
	if (fds[slot] < 0) {
		fds[slot] = memfd_create("ks-fuzz", MFD_CLOEXEC);
		CHECK(fds[slot] >= 0);
		snprintf(paths[slot], sizeof(paths[slot]), "/proc/self/fd/%d", fds[slot]);
	}
	CHECK(ftruncate(fds[slot], 0) == 0);
	for (size_t off = 0; off < size;) {
		ssize_t n = pwrite(fds[slot], p + off, size - off, (off_t)off);

		CHECK(n > 0);
		off += (size_t)n;
	}
	return paths[slot];
}

#define GUARDED_MAX (1u << 20)

const void *fuzz_guarded(const uint8_t *data, size_t size)
{
	static uint8_t *area;
	long page = sysconf(_SC_PAGESIZE);
	size_t aligned = (size + 3) & ~(size_t)3;
	uint8_t *dst;

	if (size > GUARDED_MAX)
		return NULL;
	if (!area) {
		area = mmap(NULL, GUARDED_MAX + (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(area != MAP_FAILED);
		CHECK(mprotect(area + GUARDED_MAX, (size_t)page, PROT_NONE) == 0);
	}
	dst = area + GUARDED_MAX - aligned;
	memcpy(dst, data, size);
	memset(dst + size, 0, aligned - size);
	return dst;
}

void fuzz_check_err(int ret, const char *err)
{
	const unsigned char *p = (const unsigned char *)err;

	if (ret == 0)
		return;
	CHECK(ret == -EINVAL || ret == -ENOMEM);
	CHECK(memchr(err, '\0', KS_ERR_LEN));
	if (ret == -EINVAL)
		CHECK(err[0]);
	for (; *p; p++)
		CHECK_LINE(*p >= 0x20 && *p < 0x7f, err);
}

/* ---- values, checked independently of src/policy/parse.c ---- */

static bool all_of(const char *s, size_t len, const char *alphabet)
{
	for (size_t i = 0; i < len; i++)
		if (!s[i] || !strchr(alphabet, s[i]))
			return false;
	return true;
}

static bool safe_name(const char *s, size_t len)
{
	if (len == 0 || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!s[i] || !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", s[i]))
			return false;
	return true;
}

static bool safe_ifname(const char *s)
{
	size_t len = strnlen(s, IFNAMSIZ);

	return len < IFNAMSIZ && safe_name(s, len);
}

/* nft takes table names bare: a fixed prefix keeps keywords out, an alphabet keeps syntax out. */
static bool safe_table(const char *s)
{
	size_t len = strnlen(s, 64);

	return len <= 32 && !strncmp(s, "killswitch", 10) &&
	       all_of(s, len, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
}

static bool safe_cgroup_path(const char *s, unsigned *depth)
{
	size_t len = strnlen(s, KS_CGROUP_PATH_MAX);

	*depth = 0;
	if (len >= KS_CGROUP_PATH_MAX)
		return false;
	for (const char *p = s;;) {
		const char *slash = strchr(p, '/');
		size_t part = slash ? (size_t)(slash - p) : strlen(p);

		if (!safe_name(p, part))
			return false;
		++*depth;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

static bool is_unicast(const struct ks_addr *a)
{
	if (a->family == AF_INET) {
		const uint8_t *b = (const uint8_t *)&a->v4;
		uint32_t v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];

		return v != 0 && v != 0xffffffffu && (b[0] & 0xf0) != 0xe0;
	}
	if (a->family == AF_INET6) {
		static const uint8_t zero[16], mapped[12] = { [10] = 0xff, [11] = 0xff };
		const uint8_t *b = a->v6.s6_addr;

		return memcmp(b, zero, 16) && b[0] != 0xff && memcmp(b, mapped, 12);
	}
	return false;
}

static bool bits_clear_from(const uint8_t *bytes, unsigned total, unsigned prefix)
{
	for (unsigned bit = prefix; bit < total; bit++)
		if (bytes[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

static bool valid_cidr(const struct ks_cidr *c)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (c->addr.family == AF_INET)
		return c->prefix <= 32 && bits_clear_from((const uint8_t *)&c->addr.v4, 32, c->prefix);
	if (c->addr.family == AF_INET6)
		return c->prefix <= 128 && bits_clear_from(c->addr.v6.s6_addr, 128, c->prefix) &&
		       memcmp(c->addr.v6.s6_addr, mapped, 12);
	return false;
}

static bool valid_endpoint(const struct ks_endpoint *ep)
{
	return is_unicast(&ep->addr) && ep->port != 0 && (ep->proto == IPPROTO_UDP || ep->proto == IPPROTO_TCP);
}

void fuzz_check_wg_device(const struct ks_wg_device *dev)
{
	CHECK(dev->n_endpoints == 0 || dev->endpoints);
	for (size_t i = 0; i < dev->n_endpoints; i++) {
		CHECK(valid_endpoint(&dev->endpoints[i]));
		CHECK(dev->endpoints[i].proto == IPPROTO_UDP);
	}
}

void fuzz_check_policy(const struct ks_policy *p)
{
	unsigned depth;

	CHECK(p->state == KS_STATE_ENABLED || p->state == KS_STATE_BLOCKED);
	CHECK(p->ipv6 == KS_IPV6_BLOCK || p->ipv6 == KS_IPV6_ALLOW);
	CHECK(p->fwmark_none ? p->fwmark == 0 : p->fwmark != 0);
	for (size_t i = 0; i < p->n_tunnels; i++)
		CHECK_LINE(safe_ifname(p->tunnels[i].name), p->tunnels[i].name);
	for (size_t i = 0; i < p->n_endpoints; i++)
		CHECK(valid_endpoint(&p->endpoints[i]));
	for (size_t i = 0; i < p->n_resolvers; i++)
		CHECK(is_unicast(&p->resolvers[i]));
	/* A LAN range broader than that is most of the internet: no kill switch left. */
	for (size_t i = 0; i < p->n_lan; i++)
		CHECK(valid_cidr(&p->lan[i]) && p->lan[i].prefix >= (p->lan[i].addr.family == AF_INET ? 8 : 16));
	for (size_t i = 0; i < p->n_tunnel_addrs; i++)
		CHECK(is_unicast(&p->tunnel_addrs[i]));
	CHECK(p->split.mode == KS_SPLIT_OFF || p->split.mode == KS_SPLIT_V1 || p->split.mode == KS_SPLIT_V2);
	CHECK(p->split.ct_mark != 0 && p->split.classid != 0 && p->split.level <= 64);
	CHECK(memchr(p->split.path, '\0', sizeof(p->split.path)));
	if (p->split.path[0])
		CHECK_LINE(safe_cgroup_path(p->split.path, &depth), p->split.path);
}

/* ---- the compiled text ---- */

enum kind {
	K_IFNAME, K_ADDR4, K_ADDR6, K_EP4, K_EP6, K_RANGE4, K_RANGE6, K_CGROUP, K_VIA4, K_VIA6,
	/* --bypass (ranges; range . proto . port) and --allow-in (proto . port; ifname . proto . port). */
	K_BRANGE4, K_BRANGE6, K_BPORT4, K_BPORT6, K_AIN, K_AINIF,
	/* The captive portal's grant (timeout sets, always empty in the compiled text) and groups. */
	K_PORTAL4, K_PORTAL6, K_PGROUPS,
};

static const struct set_spec {
	const char *name;
	enum kind kind;
	bool fixed; /* holds built-in ranges as well when the LAN is allowed */
} set_specs[] = {
	{ "tunnels", K_IFNAME, false },	 { "tunnel_addrs4", K_ADDR4, false }, { "tunnel_addrs6", K_ADDR6, false },
	{ "endpoints4", K_EP4, false },	 { "endpoints6", K_EP6, false },      { "endpoint_addrs4", K_ADDR4, false },
	{ "endpoint_addrs6", K_ADDR6, false }, { "resolvers4", K_ADDR4, false }, { "resolvers6", K_ADDR6, false },
	{ "lan4", K_RANGE4, true },	 { "lan6", K_RANGE6, true },	      { "lan_vouched4", K_RANGE4, false },
	{ "lan_vouched6", K_RANGE6, false }, { "lan_mcast4", K_RANGE4, true }, { "lan_mcast6", K_RANGE6, true },
	{ "protected4", K_RANGE4, false }, { "protected6", K_RANGE6, false },
	/* Only with two tunnels or more and a protected prefix (paired): tunnel . prefix. */
	{ "protected_via4", K_VIA4, false }, { "protected_via6", K_VIA6, false },
	{ "gateways", K_IFNAME, false },
	/* Last, and only with v2 split tunnelling in the enabled state (split_rules): the users' groups. */
	{ "excluded_users", K_CGROUP, false },
	/* After them: --bypass while connected, --allow-in in every state (src/compiler/exceptions.c). */
	{ "bypass4", K_BRANGE4, false }, { "bypass6", K_BRANGE6, false },
	{ "bypass_ports4", K_BPORT4, false }, { "bypass_ports6", K_BPORT6, false },
	{ "allow_in", K_AIN, false }, { "allow_in_if", K_AINIF, false },
	/* Last, in every table and state (src/compiler/portal.c): filled by `killswitch portal` only. */
	{ "portal4", K_PORTAL4, false }, { "portal6", K_PORTAL6, false }, { "portal_groups", K_PGROUPS, false },
};

static const char *const set_types[] = {
	[K_IFNAME] = "ifname",
	[K_ADDR4] = "ipv4_addr",
	[K_ADDR6] = "ipv6_addr",
	[K_EP4] = "ipv4_addr . inet_proto . inet_service",
	[K_EP6] = "ipv6_addr . inet_proto . inet_service",
	[K_RANGE4] = "ipv4_addr",
	[K_RANGE6] = "ipv6_addr",
	[K_CGROUP] = "cgroupsv2",
	[K_VIA4] = "ifname . ipv4_addr",
	[K_VIA6] = "ifname . ipv6_addr",
	[K_BRANGE4] = "ipv4_addr",
	[K_BRANGE6] = "ipv6_addr",
	[K_BPORT4] = "ipv4_addr . inet_proto . inet_service",
	[K_BPORT6] = "ipv6_addr . inet_proto . inet_service",
	[K_AIN] = "inet_proto . inet_service",
	[K_AINIF] = "ifname . inet_proto . inet_service",
	[K_PORTAL4] = "ipv4_addr . inet_proto . inet_service",
	[K_PORTAL6] = "ipv6_addr . inet_proto . inet_service",
	[K_PGROUPS] = "cgroupsv2",
};

/* Whether the compiler writes the bypass sets, chain and rules: a list, the connected state. */
static bool bypass_rules(const struct ks_policy *p)
{
	return p->n_bypass && p->state == KS_STATE_ENABLED;
}

/* Whether the compiler writes the inclusion group's chains and rules: --include-only with a mechanism. */
static bool included(const struct ks_policy *p)
{
	return p->include_only && p->include.mode != KS_SPLIT_OFF;
}

/* Which sets this policy declares (kinds that exist only with some policies). */
static bool declares(const struct ks_policy *p, enum kind kind);

/* The hooks that must drop whatever no rule accepted: the kill switch itself. */
static const char *const drop_hooks[] = { "output", "input", "forward" };

struct text {
	char *copy;
	char **lines;
	size_t n, i;
	const struct ks_policy *p;
};

static const char *next_line(struct text *t)
{
	CHECK(t->i < t->n);
	return t->lines[t->i++];
}

static void expect_line(struct text *t, const char *want)
{
	const char *line = next_line(t);

	CHECK_LINE(!strcmp(line, want), line);
}

/* Decimal without leading zeros, min..max. */
static bool number(const char *s, size_t len, unsigned long min, unsigned long max)
{
	unsigned long v = 0;

	if (!len || len > 10 || !all_of(s, len, "0123456789") || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	return v >= min && v <= max;
}

static bool good_addr(const char *s, size_t len, int family)
{
	char tmp[64];
	uint8_t bin[16];

	if (len == 0 || len >= sizeof(tmp))
		return false;
	if (!all_of(s, len, family == AF_INET ? "0123456789." : "0123456789abcdef:."))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(family, tmp, bin) == 1;
}

static bool good_range(const char *s, size_t len, int family)
{
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	unsigned total = family == AF_INET ? 32 : 128;
	char tmp[64];
	uint8_t bin[16];
	unsigned prefix = total;

	if (!good_addr(s, alen, family))
		return false;
	if (slash) {
		if (!number(slash + 1, len - alen - 1, 0, total))
			return false;
		prefix = (unsigned)strtoul(slash + 1, NULL, 10);
	}
	memcpy(tmp, s, alen);
	tmp[alen] = '\0';
	inet_pton(family, tmp, bin);
	return bits_clear_from(bin, total, prefix);
}

/* "tcp . PORT" or "udp . PORT". */
static bool good_proto_port(const char *s, size_t len)
{
	return len > 6 && (!strncmp(s, "tcp . ", 6) || !strncmp(s, "udp . ", 6)) && number(s + 6, len - 6, 1, 65535);
}

static bool good_element(const char *s, size_t len, enum kind kind)
{
	const char *dot1, *dot2;

	switch (kind) {
	case K_PORTAL4:
	case K_PORTAL6:
	case K_PGROUPS:
		return false; /* compiled empty: the grant is added to the loaded table */
	case K_BRANGE4:
	case K_BRANGE6:
		return good_range(s, len, kind == K_BRANGE4 ? AF_INET : AF_INET6);
	case K_AIN:
		return good_proto_port(s, len);
	case K_AINIF:
	case K_BPORT4:
	case K_BPORT6:
		dot1 = strstr(s, " . ");
		if (!dot1 || (size_t)(dot1 - s) + 3 >= len || !good_proto_port(dot1 + 3, len - (size_t)(dot1 + 3 - s)))
			return false;
		if (kind == K_AINIF)
			return good_element(s, (size_t)(dot1 - s), K_IFNAME);
		return good_range(s, (size_t)(dot1 - s), kind == K_BPORT4 ? AF_INET : AF_INET6);
	case K_IFNAME:
		return len >= 3 && s[0] == '"' && s[len - 1] == '"' && len - 2 < IFNAMSIZ && safe_name(s + 1, len - 2);
	case K_ADDR4:
	case K_ADDR6:
		return good_addr(s, len, kind == K_ADDR4 ? AF_INET : AF_INET6);
	case K_RANGE4:
	case K_RANGE6:
		return good_range(s, len, kind == K_RANGE4 ? AF_INET : AF_INET6);
	case K_CGROUP: {
		char path[KS_CGROUP_PATH_MAX];
		unsigned depth;

		if (len < 3 || s[0] != '"' || s[len - 1] != '"' || len - 2 >= sizeof(path))
			return false;
		memcpy(path, s + 1, len - 2);
		path[len - 2] = '\0';
		return safe_cgroup_path(path, &depth);
	}
	case K_VIA4:
	case K_VIA6:
		dot1 = strstr(s, " . ");
		return dot1 && (size_t)(dot1 - s) + 3 < len && good_element(s, (size_t)(dot1 - s), K_IFNAME) &&
		       good_range(dot1 + 3, len - (size_t)(dot1 + 3 - s), kind == K_VIA4 ? AF_INET : AF_INET6);
	case K_EP4:
	case K_EP6:
		dot1 = strstr(s, " . ");
		dot2 = dot1 ? strstr(dot1 + 3, " . ") : NULL;
		if (!dot2 || (size_t)(dot2 - s) + 3 > len || strstr(dot2 + 3, " . "))
			return false;
		return good_addr(s, (size_t)(dot1 - s), kind == K_EP4 ? AF_INET : AF_INET6) &&
		       (size_t)(dot2 - dot1) == 6 && (!strncmp(dot1 + 3, "udp", 3) || !strncmp(dot1 + 3, "tcp", 3)) &&
		       number(dot2 + 3, len - (size_t)(dot2 + 3 - s), 1, 65535);
	}
	return false;
}

static void add_expected(char ***list, size_t *n, const char *line)
{
	*list = realloc(*list, (*n + 1) * sizeof(**list));
	CHECK(*list);
	(*list)[*n] = strdup(line);
	CHECK((*list)[*n]);
	++*n;
}

static bool same_addr(const struct ks_addr *a, const struct ks_addr *b)
{
	if (a->family != b->family)
		return false;
	return a->family == AF_INET ? !memcmp(&a->v4, &b->v4, 4) : !memcmp(&a->v6, &b->v6, 16);
}

static void addr_text(const struct ks_addr *a, char out[INET6_ADDRSTRLEN])
{
	CHECK(inet_ntop(a->family, a->family == AF_INET ? (const void *)&a->v4 : (const void *)&a->v6, out,
			INET6_ADDRSTRLEN));
}

/* The elements the policy puts in set i, in the policy's (sorted) order, as element lines. */
static char **expected_elements(const struct ks_policy *p, size_t set, size_t *n)
{
	const char *name = set_specs[set].name;
	int family = name[strlen(name) - 1] == '6' ? AF_INET6 : AF_INET;
	char **list = NULL, addr[INET6_ADDRSTRLEN], line[128];

	*n = 0;
	if (!strcmp(name, "tunnels")) {
		for (size_t i = 0; i < p->n_tunnels; i++) {
			snprintf(line, sizeof(line), "\t\t\t\"%s\",", p->tunnels[i].name);
			add_expected(&list, n, line);
		}
	} else if (!strcmp(name, "gateways")) {
		for (size_t i = 0; i < p->n_gateways; i++) {
			snprintf(line, sizeof(line), "\t\t\t\"%s\",", p->gateways[i].name);
			add_expected(&list, n, line);
		}
	} else if (!strncmp(name, "tunnel_addrs", 12) || !strncmp(name, "resolvers", 9)) {
		const struct ks_addr *a = name[0] == 't' ? p->tunnel_addrs : p->resolvers;
		size_t count = name[0] == 't' ? p->n_tunnel_addrs : p->n_resolvers;

		for (size_t i = 0; i < count; i++) {
			if (a[i].family != family)
				continue;
			addr_text(&a[i], addr);
			snprintf(line, sizeof(line), "\t\t\t%s,", addr);
			add_expected(&list, n, line);
		}
	} else if (!strncmp(name, "endpoint_addrs", 14)) {
		/* Each address once, however many ports and protocols it serves. */
		const struct ks_addr *last = NULL;

		for (size_t i = 0; i < p->n_endpoints; i++) {
			const struct ks_addr *a = &p->endpoints[i].addr;

			if (a->family != family || (last && same_addr(last, a)))
				continue;
			last = a;
			addr_text(a, addr);
			snprintf(line, sizeof(line), "\t\t\t%s,", addr);
			add_expected(&list, n, line);
		}
	} else if (!strncmp(name, "endpoints", 9)) {
		for (size_t i = 0; i < p->n_endpoints; i++) {
			if (p->endpoints[i].addr.family != family)
				continue;
			addr_text(&p->endpoints[i].addr, addr);
			snprintf(line, sizeof(line), "\t\t\t%s . %s . %u,", addr,
				 p->endpoints[i].proto == IPPROTO_TCP ? "tcp" : "udp", p->endpoints[i].port);
			add_expected(&list, n, line);
		}
	} else if (!strcmp(name, "excluded_users")) {
		for (size_t i = 0; i < p->n_user_groups; i++) {
			snprintf(line, sizeof(line), "\t\t\t\"%s\",", p->user_groups[i].path);
			add_expected(&list, n, line);
		}
	} else if (!strncmp(name, "protected", 9)) {
		for (size_t i = 0; i < p->n_protect; i++) {
			if (p->protect[i].cidr.addr.family != family)
				continue;
			addr_text(&p->protect[i].cidr.addr, addr);
			snprintf(line, sizeof(line), "\t\t\t%s/%u,", addr, p->protect[i].cidr.prefix);
			add_expected(&list, n, line);
		}
	} else if (!strncmp(name, "lan", 3) && strncmp(name, "lan_mcast", 9)) {
		for (size_t i = 0; i < p->n_lan; i++) {
			if (p->lan[i].addr.family != family)
				continue;
			addr_text(&p->lan[i].addr, addr);
			snprintf(line, sizeof(line), "\t\t\t%s/%u,", addr, p->lan[i].prefix);
			add_expected(&list, n, line);
		}
	}
	return list;
}

static void check_set(struct text *t, size_t set)
{
	const struct set_spec *spec = &set_specs[set];
	char want[128], **expected;
	size_t n_expected, first, n_elems = 0;

	expect_line(t, "");
	snprintf(want, sizeof(want), "\tset %s {", spec->name);
	expect_line(t, want);
	snprintf(want, sizeof(want), "\t\ttype %s", set_types[spec->kind]);
	expect_line(t, want);
	/* The portal's sets: the grant's timeouts; no element before `killswitch portal` adds one. */
	if (spec->kind >= K_PORTAL4) {
		if (spec->kind != K_PGROUPS)
			expect_line(t, "\t\tflags timeout");
		expect_line(t, "\t}");
		return;
	}
	if (spec->kind == K_RANGE4 || spec->kind == K_RANGE6 || spec->kind == K_BRANGE4 || spec->kind == K_BRANGE6)
		expect_line(t, "\t\tflags interval");
	/* Not the bypass sets: bypass del deletes one entry, never a range merged with its neighbour. */
	if (spec->kind == K_RANGE4 || spec->kind == K_RANGE6)
		expect_line(t, "\t\tauto-merge");
	/*
	 * The pairs, and the bypass and allow-in sets (tcp and udp per entry,
	 * inner ranges folded): each element well formed, checked alone.
	 */
	if (spec->kind == K_VIA4 || spec->kind == K_VIA6 || spec->kind >= K_BRANGE4) {
		if (spec->kind == K_VIA4 || spec->kind == K_VIA6 || spec->kind == K_BPORT4 || spec->kind == K_BPORT6)
			expect_line(t, "\t\tflags interval");
		if (t->i < t->n && !strcmp(t->lines[t->i], "\t\telements = {")) {
			const char *line;

			t->i++;
			while (strcmp((line = next_line(t)), "\t\t}")) {
				size_t len = strlen(line);

				CHECK_LINE(len > 4 && !strncmp(line, "\t\t\t", 3) && line[len - 1] == ',', line);
				CHECK_LINE(good_element(line + 3, len - 4, spec->kind), line);
			}
		}
		expect_line(t, "\t}");
		return;
	}
	expected = expected_elements(t->p, set, &n_expected);
	first = t->i;
	if (t->i < t->n && !strcmp(t->lines[t->i], "\t\telements = {")) {
		t->i++;
		first = t->i;
		for (const char *line; strcmp((line = next_line(t)), "\t\t}"); n_elems++) {
			size_t len = strlen(line);

			CHECK_LINE(len > 4 && !strncmp(line, "\t\t\t", 3) && line[len - 1] == ',', line);
			CHECK_LINE(good_element(line + 3, len - 4, spec->kind), line);
		}
		CHECK(n_elems > 0);
	}
	/* The user's values come last and exactly as the policy holds them; anything before them is built in. */
	CHECK_LINE(n_elems >= n_expected, spec->name);
	CHECK_LINE(n_elems == n_expected || (spec->fixed && t->p->allow_lan), spec->name);
	for (size_t i = 0; i < n_expected; i++) {
		const char *line = t->lines[first + n_elems - n_expected + i];

		CHECK_LINE(!strcmp(line, expected[i]), line);
		free(expected[i]);
	}
	free(expected);
	expect_line(t, "\t}");
}

static bool is_set_name(const char *s, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(set_specs); i++)
		if (strlen(set_specs[i].name) == len && !strncmp(set_specs[i].name, s, len))
			return true;
	return false;
}

static bool is_counter_name(const char *s, size_t len)
{
	for (unsigned i = 0; i < KS_COUNTER_MAX; i++)
		if (strlen(ks_counter_names[i]) == len && !strncmp(ks_counter_names[i], s, len))
			return true;
	return false;
}

/* One rule: fixed words, numbers, set references and the few quoted strings the compiler may write. */
static void check_rule(struct text *t, const char *line)
{
	const char *r = line + 2, *last, *p;
	unsigned depth, words;
	bool open = false;
	size_t len = strlen(r);

	CHECK_LINE(len > 0 && r[0] >= 'a' && r[0] <= 'z' && r[len - 1] != ' ' && !strstr(r, "  "), line);
	/* A match, then what to do: never a bare verdict that would take every packet. */
	for (p = r, words = 1; *p; p++)
		words += *p == ' ';
	/* --partial and --include-only alone end output, input and forward in a bare accept: the rest leaves as routed. */
	CHECK_LINE(words >= 3 || ((t->p->partial || t->p->include_only) && !strcmp(r, "accept")), line);
	for (p = r; *p; p++) {
		if (*p == '"') {
			const char *close = strchr(p + 1, '"');
			size_t qlen;

			CHECK_LINE(close, line);
			qlen = (size_t)(close - p - 1);
			/*
			 * A single tunnel's name, compared in the fast lane and in the accepts of what it
			 * delivers: validated, as the policy holds it.
			 */
			if (t->p->n_tunnels == 1 && qlen == strlen(t->p->tunnels[0].name) &&
			    !strncmp(p + 1, t->p->tunnels[0].name, qlen) &&
			    ((p == r + strlen("oifname ") && !strncmp(r, "oifname ", 8) &&
			      !strcmp(close, "\" th dport != 53 th dport != 853 accept")) ||
			     (p == r + strlen("iifname ") && !strncmp(r, "iifname ", 8) && !strcmp(close, "\" accept")))) {
				struct ks_ifname check;

				CHECK_LINE(ks_parse_ifname(t->p->tunnels[0].name, &check) == 0, line);
			} else if (!(qlen == 2 && !strncmp(p + 1, "lo", 2))) {
				/* Only the v2 exclusion or inclusion cgroup, validated, as the policy holds it. */
				CHECK_LINE((t->p->split.mode == KS_SPLIT_V2 && qlen == strlen(t->p->split.path) &&
					    !strncmp(p + 1, t->p->split.path, qlen) &&
					    safe_cgroup_path(t->p->split.path, &depth)) ||
						   (included(t->p) && t->p->include.mode == KS_SPLIT_V2 &&
						    qlen == strlen(t->p->include.path) &&
						    !strncmp(p + 1, t->p->include.path, qlen) &&
						    safe_cgroup_path(t->p->include.path, &depth)),
					   line);
			}
			p = close;
			continue;
		}
		CHECK_LINE(strchr("abcdefghijklmnopqrstuvwxyz0123456789 @._,:/{}!=&-", *p), line);
		if (*p == '{') {
			CHECK_LINE(!open && p > r && p[-1] == ' ' && p[1] == ' ', line);
			open = true;
		} else if (*p == '}') {
			CHECK_LINE(open && p[-1] == ' ', line);
			open = false;
		} else if (*p == '@') {
			size_t n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz0123456789_");

			CHECK_LINE(is_set_name(p + 1, n), line);
		}
	}
	CHECK_LINE(!open, line);
	for (p = strstr(r, "counter name "); p; p = strstr(p + 1, "counter name ")) {
		size_t n = strspn(p + 13, "abcdefghijklmnopqrstuvwxyz_");

		CHECK_LINE(is_counter_name(p + 13, n), line);
	}
	last = strrchr(r, ' ');
	last = last ? last + 1 : r;
	if (!strcmp(last, "accept") || !strcmp(last, "drop") || !strcmp(last, "reject") || !strcmp(last, "return") ||
	    !strcmp(last, "masquerade"))
		return;
	/* --gateway: MSS clamping, and the DNS redirect to a resolver's address. */
	if (!strcmp(last, "mtu") && strstr(r, " tcp option maxseg size set rt mtu"))
		return;
	if ((last - r >= 12 && !strncmp(last - 12, " dnat ip to ", 12)) ||
	    (last - r >= 13 && !strncmp(last - 13, " dnat ip6 to ", 13)))
		return;
	/*
	 * The jumps: from mangle to the chain of excluded packets, to the bypass
	 * and inclusion chains; from output to the portal's (its routing is in
	 * a table of its own).
	 */
	if ((!strcmp(last, "excluded") || (!strcmp(last, "bypass") && bypass_rules(t->p)) ||
	     (!strcmp(last, "included") && included(t->p)) || !strcmp(last, "portal")) &&
	    last - r >= 6 && !strncmp(last - 6, " goto ", 6))
		return;
	if (strstr(r, " reject with ") && (!strcmp(last, "reset") || !strcmp(last, "admin-prohibited")))
		return;
	/* Otherwise a mark statement: "... set 0xHEX". */
	CHECK_LINE(last - r >= 5 && !strncmp(last - 5, " set ", 5) && !strncmp(last, "0x", 2) && last[2] &&
			   all_of(last + 2, strlen(last + 2), "0123456789abcdef"),
		   line);
}

static void check_chain(struct text *t, unsigned index, bool drops[ARRAY_SIZE(drop_hooks)])
{
	const struct ks_chain_spec *spec = &ks_chain_specs[index];
	char want[128];
	const char *line, *type, *semi;
	unsigned rules = 0;

	expect_line(t, "");
	snprintf(want, sizeof(want), "\tchain %s {", spec->name);
	expect_line(t, want);
	line = next_line(t);
	/* Idle: hooked nowhere and empty, only for the chains that may be (split tunnelling's, the gateway's). */
	if (!strcmp(line, "\t}")) {
		CHECK_LINE(spec->may_idle, line);
		return;
	}
	CHECK_LINE(!strncmp(line, "\t\ttype ", 7), line);
	type = line + 7;
	semi = strchr(type, ';');
	CHECK_LINE(semi && all_of(type, (size_t)(semi - type), "abcdefghijklmnopqrstuvwxyz0123456789 -"), line);
	snprintf(want, sizeof(want), "; policy %s;", spec->policy);
	CHECK_LINE(!strcmp(semi, want), line);
	/* The chains `status` verifies by name must drop on the hooks of the same name... */
	for (size_t h = 0; h < ARRAY_SIZE(drop_hooks); h++)
		if (!strcmp(spec->name, drop_hooks[h]))
			CHECK_LINE(!strcmp(spec->policy, "drop"), line);
	/* ...and any chain on a filter hook of those drops, whatever it is called. */
	if (!strncmp(type, "filter hook ", 12)) {
		for (size_t h = 0; h < ARRAY_SIZE(drop_hooks); h++) {
			size_t n = strlen(drop_hooks[h]);

			if (strncmp(type + 12, drop_hooks[h], n) || type[12 + n] != ' ')
				continue;
			CHECK_LINE(!strcmp(semi, "; policy drop;"), line);
			drops[h] = true;
		}
	}
	while (strcmp((line = next_line(t)), "\t}")) {
		CHECK_LINE(!strncmp(line, "\t\t", 2), line);
		check_rule(t, line);
		CHECK(++rules < 64);
	}
}

/* Whether the compiler names excluded programs: a mechanism, the VPN's fwmark to route them by, the enabled state. */
static bool split_rules(const struct ks_policy *p)
{
	return p->split.mode != KS_SPLIT_OFF && !p->fwmark_none && p->state == KS_STATE_ENABLED;
}

static bool declares(const struct ks_policy *p, enum kind kind)
{
	switch (kind) {
	case K_CGROUP:
		return split_rules(p) && p->split.mode == KS_SPLIT_V2;
	case K_VIA4:
	case K_VIA6:
		return p->n_tunnels > 1 && p->n_protect;
	case K_BRANGE4:
	case K_BRANGE6:
	case K_BPORT4:
	case K_BPORT6:
		return bypass_rules(p);
	case K_AIN:
	case K_AINIF:
		return p->n_allow_in;
	default:
		return true;
	}
}

/* A regular chain, no hook: where mangle sends excluded packets, or bypassed ones. */
static void check_jump_chain(struct text *t, const char *name)
{
	char want[64];
	const char *line;
	unsigned rules = 0;

	expect_line(t, "");
	snprintf(want, sizeof(want), "\tchain %s {", name);
	expect_line(t, want);
	while (strcmp((line = next_line(t)), "\t}")) {
		CHECK_LINE(!strncmp(line, "\t\t", 2), line);
		check_rule(t, line);
		CHECK(++rules < 16);
	}
	CHECK(rules > 0);
}

/*
 * --include-only's postrouting chain: it only accepts and drops (reject is
 * not allowed there), policy accept, and ends in the drop of the group's
 * packets that leave by no tunnel.
 */
static void check_included_post(struct text *t)
{
	const char *line, *last = NULL;

	expect_line(t, "");
	expect_line(t, "\tchain included_post {");
	expect_line(t, "\t\ttype filter hook postrouting priority 0; policy accept;");
	while (strcmp((line = next_line(t)), "\t}")) {
		CHECK_LINE(!strncmp(line, "\t\t", 2), line);
		check_rule(t, line);
		CHECK_LINE(!strstr(line, "reject"), line);
		last = line;
	}
	CHECK(last && strlen(last) > 5 && !strcmp(last + strlen(last) - 5, " drop"));
}

static void check_ruleset(const char *text, size_t len, const struct ks_policy *p, const char *table)
{
	struct text t = { .p = p };
	bool drops[ARRAY_SIZE(drop_hooks)] = { false };
	size_t open = 0, close = 0, chains = 0;
	char want[128];

	CHECK(text && strlen(text) == len && len > 0 && text[len - 1] == '\n');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		CHECK((c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t');
		t.n += c == '\n';
		open += c == '{';
		close += c == '}';
		/* Tabs indent, nothing else. */
		if (c == '\t')
			CHECK(i == 0 || text[i - 1] == '\n' || text[i - 1] == '\t');
	}
	for (const char *c = strstr(text, "\n\tchain "); c; c = strstr(c + 1, "\n\tchain "))
		chains++;
	CHECK(open == close);
	/* The contract's chains, the portal's, and those of the features the policy turns on. */
	CHECK(chains == ks_n_chain_specs + 1 + (split_rules(p) && !included(p)) + bypass_rules(p) + 2 * included(p));
	t.copy = strdup(text);
	t.lines = malloc(t.n * sizeof(*t.lines));
	CHECK(t.copy && t.lines);
	for (size_t i = 0, k = 0; i < len; i++)
		if (i == 0 || t.copy[i - 1] == '\0') {
			char *nl = strchr(t.copy + i, '\n');

			t.lines[k++] = t.copy + i;
			*nl = '\0';
			i = (size_t)(nl - t.copy);
		}

	CHECK_LINE(safe_table(table), table);
	snprintf(want, sizeof(want), "table inet %s {", table);
	expect_line(&t, want);
	snprintf(want, sizeof(want), "\tcomment \"killswitch: %s\"", p->state == KS_STATE_BLOCKED ? "blocked" : "enabled");
	expect_line(&t, want);
	for (unsigned i = 0; i < KS_COUNTER_MAX; i++) {
		snprintf(want, sizeof(want), "\tcounter %s {", ks_counter_names[i]);
		expect_line(&t, want);
		expect_line(&t, "\t}");
	}
	for (size_t i = 0; i < ARRAY_SIZE(set_specs); i++)
		if (declares(p, set_specs[i].kind))
			check_set(&t, i);
	for (unsigned i = 0; i < ks_n_chain_specs; i++) {
		const char *name = ks_chain_specs[i].name;

		check_chain(&t, i, drops);
		/* After forward: the inclusion group's postrouting lock, then where output sends the portal group. */
		if (!strcmp(name, "forward") && included(p))
			check_included_post(&t);
		if (!strcmp(name, "forward"))
			check_jump_chain(&t, "portal");
		/* Regular chains, no hook: where mangle sends included, excluded and bypassed packets. */
		if (!strcmp(name, "mangle") && included(p))
			check_jump_chain(&t, "included");
		if (!strcmp(name, "mangle") && split_rules(p) && !included(p))
			check_jump_chain(&t, "excluded");
		if (!strcmp(name, "mangle") && bypass_rules(p))
			check_jump_chain(&t, "bypass");
	}
	for (size_t h = 0; h < ARRAY_SIZE(drop_hooks); h++)
		CHECK_LINE(drops[h], drop_hooks[h]);
	expect_line(&t, "}");
	CHECK(t.i == t.n);
	free(t.lines);
	free(t.copy);
}

static bool split_incomplete(const struct ks_policy *p)
{
	unsigned depth;

	return p->split.mode == KS_SPLIT_V2 && !p->fwmark_none &&
	       (!safe_cgroup_path(p->split.path, &depth) || p->split.level < 1 || p->split.level > depth);
}

void fuzz_check_compile_table(struct ks_policy *p, const char *table)
{
	struct ks_buf a = KS_BUF_INIT, b = KS_BUF_INIT, tx = KS_BUF_INIT;
	char prefix[256];
	size_t plen;
	int ret;

	ks_policy_finalize(p);
	fuzz_check_policy(p);
	for (size_t i = 1; i < p->n_tunnels; i++)
		CHECK(strcmp(p->tunnels[i - 1].name, p->tunnels[i].name) < 0);

	ret = ks_compile(p, table, &a);
	if (ret == -EINVAL) {
		/* The refusals: a v2 split tunnel whose cgroup path or level does not hold together, a partial one that protects nothing. */
		CHECK(split_incomplete(p) || (p->partial && !p->n_protect));
		CHECK(a.len == 0);
		ks_buf_free(&a);
		return;
	}
	CHECK(ret == 0);
	check_ruleset(a.data, a.len, p, table);

	CHECK(ks_compile(p, table, &b) == 0);
	CHECK(b.len == a.len && !memcmp(a.data, b.data, a.len));

	/* The table and the portal's own (a re-apply ends a portal) removed, then the table whole. */
	plen = (size_t)snprintf(prefix, sizeof(prefix),
				"table inet %s\ndelete table inet %s\ntable inet %s_portal\ndelete table inet %s_portal\n",
				table, table, table, table);
	CHECK(ks_compile_transaction(p, table, &tx) == 0);
	CHECK(tx.len == plen + a.len && !memcmp(tx.data, prefix, plen) && !memcmp(tx.data + plen, a.data, a.len));

	ks_buf_free(&a);
	ks_buf_free(&b);
	ks_buf_free(&tx);
}

void fuzz_check_compile(struct ks_policy *p)
{
	fuzz_check_compile_table(p, KS_TABLE_NAME);
}

void fuzz_check_roundtrip(const struct ks_policy *p)
{
	struct ks_buf text = KS_BUF_INIT, again = KS_BUF_INIT, a = KS_BUF_INIT, b = KS_BUF_INIT;
	struct ks_policy q;
	char err[KS_ERR_LEN] = "";
	int ret;

	/* The policy-file reader refuses a v2 split tunnel without its cgroup or level: none gets here. */
	CHECK(!(p->split.mode == KS_SPLIT_V2 && (!p->split.path[0] || !p->split.level)));
	ks_options_format(p, &text);
	CHECK(!text.err && text.data);
	ks_policy_init(&q);
	ret = ks_options_parse_file(&q, fuzz_file(1, text.data, text.len), err);
	CHECK_LINE(ret == 0, err);
	ks_policy_finalize(&q);
	ks_options_format(&q, &again);
	CHECK(!again.err && again.len == text.len && !memcmp(again.data, text.data, text.len));
	ret = ks_compile(p, KS_TABLE_NAME, &a);
	CHECK(ks_compile(&q, KS_TABLE_NAME, &b) == ret);
	CHECK(a.len == b.len && (!a.len || !memcmp(a.data, b.data, a.len)));
	ks_policy_free(&q);
	ks_buf_free(&text);
	ks_buf_free(&again);
	ks_buf_free(&a);
	ks_buf_free(&b);
}

void fuzz_compile_wg_device(const struct ks_wg_device *dev)
{
	struct ks_policy p;

	fuzz_check_wg_device(dev);
	ks_policy_init(&p);
	CHECK(ks_policy_add_tunnel(&p, "wg0") == 0);
	for (size_t i = 0; i < dev->n_endpoints; i++)
		CHECK(ks_policy_add_endpoint(&p, &dev->endpoints[i]) == 0);
	p.fwmark = dev->fwmark;
	p.fwmark_none = !dev->fwmark;
	fuzz_check_compile(&p);
	fuzz_check_roundtrip(&p);
	ks_policy_free(&p);
}
