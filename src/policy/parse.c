// SPDX-License-Identifier: GPL-2.0-or-later
/* The strict parsers: every value from the command line, a file or a VPN client becomes a typed value here, or is refused. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "killswitch/parse.h"

static bool is_digits(const char *s, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool is_hex_digits(const char *s, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/* Parses len bytes of digits in the given base; refuses values above max. */
static int parse_number(const char *s, size_t len, unsigned base, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned d = s[i] <= '9' ? (unsigned)(s[i] - '0') : (unsigned)((s[i] | 0x20) - 'a' + 10);

		v = v * base + d;
		if (v > max)
			return -EINVAL;
	}
	*out = v;
	return 0;
}

int ks_parse_addr(const char *text, struct ks_addr *out)
{
	struct ks_addr addr = { 0 };

	if (!text)
		return -EINVAL;
	if (inet_pton(AF_INET, text, &addr.v4) == 1)
		addr.family = AF_INET;
	else if (inet_pton(AF_INET6, text, &addr.v6) == 1)
		addr.family = AF_INET6;
	else
		return -EINVAL;
	*out = addr;
	return 0;
}

int ks_parse_unicast_addr(const char *text, struct ks_addr *out)
{
	struct ks_addr addr;
	int ret = ks_parse_addr(text, &addr);

	if (ret < 0)
		return ret;
	if (addr.family == AF_INET) {
		uint32_t a = ntohl(addr.v4.s_addr);

		if (a == 0 || a == 0xffffffffu || (a >> 28) == 0xe)
			return -EINVAL;
	} else {
		if (IN6_IS_ADDR_UNSPECIFIED(&addr.v6) || IN6_IS_ADDR_MULTICAST(&addr.v6) ||
		    IN6_IS_ADDR_V4MAPPED(&addr.v6))
			return -EINVAL;
	}
	*out = addr;
	return 0;
}

static bool host_bits_clear(const struct ks_addr *addr, unsigned prefix)
{
	const uint8_t *bytes = addr->family == AF_INET ? (const uint8_t *)&addr->v4 : addr->v6.s6_addr;
	unsigned total = addr->family == AF_INET ? 32 : 128;

	for (unsigned bit = prefix; bit < total; bit++)
		if (bytes[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

int ks_parse_cidr(const char *text, struct ks_cidr *out)
{
	struct ks_cidr cidr = { 0 };
	char addr[KS_ADDR_STRLEN];
	const char *slash;
	uint64_t prefix;
	size_t len;

	if (!text)
		return -EINVAL;
	slash = strchr(text, '/');
	len = slash ? (size_t)(slash - text) : strlen(text);
	if (len >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, text, len);
	addr[len] = '\0';
	if (ks_parse_addr(addr, &cidr.addr) < 0)
		return -EINVAL;
	prefix = cidr.addr.family == AF_INET ? 32 : 128;
	if (slash) {
		const char *p = slash + 1;
		size_t plen = strlen(p);

		if (!is_digits(p, plen) || plen > 3 || (plen > 1 && p[0] == '0'))
			return -EINVAL;
		if (parse_number(p, plen, 10, prefix, &prefix) < 0)
			return -EINVAL;
	}
	if (cidr.addr.family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&cidr.addr.v6))
		return -EINVAL;
	if (!host_bits_clear(&cidr.addr, (unsigned)prefix))
		return -EINVAL;
	cidr.prefix = (uint8_t)prefix;
	*out = cidr;
	return 0;
}

static int parse_port_n(const char *text, size_t len, uint16_t *out)
{
	uint64_t v;

	if (!is_digits(text, len) || len > 5 || (len > 1 && text[0] == '0'))
		return -EINVAL;
	if (parse_number(text, len, 10, 65535, &v) < 0 || v == 0)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

int ks_parse_port(const char *text, uint16_t *out)
{
	if (!text)
		return -EINVAL;
	return parse_port_n(text, strlen(text), out);
}

int ks_parse_u32(const char *text, uint32_t *out)
{
	uint64_t v;
	size_t len;

	if (!text)
		return -EINVAL;
	len = strlen(text);
	if (len > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
		if (!is_hex_digits(text + 2, len - 2) || len - 2 > 8)
			return -EINVAL;
		if (parse_number(text + 2, len - 2, 16, 0xffffffffu, &v) < 0)
			return -EINVAL;
	} else {
		if (!is_digits(text, len) || len > 10)
			return -EINVAL;
		if (parse_number(text, len, 10, 0xffffffffu, &v) < 0)
			return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

/* A name of len bytes of the safe alphabet that is not "." or "..". */
static bool is_safe_name(const char *s, size_t len)
{
	if (len == 0 || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

int ks_parse_ifname(const char *text, struct ks_ifname *out)
{
	struct ks_ifname name = { 0 };
	size_t len;

	if (!text)
		return -EINVAL;
	len = strlen(text);
	if (len >= IFNAMSIZ || !is_safe_name(text, len))
		return -EINVAL;
	memcpy(name.name, text, len);
	*out = name;
	return 0;
}

int ks_parse_cgroup_path(const char *text, char out[KS_CGROUP_PATH_MAX], unsigned *depth)
{
	unsigned n = 0;
	size_t len;

	if (!text)
		return -EINVAL;
	len = strlen(text);
	if (len >= KS_CGROUP_PATH_MAX)
		return -EINVAL;
	for (const char *p = text;; n++) {
		size_t part = strcspn(p, "/");

		if (!is_safe_name(p, part))
			return -EINVAL;
		if (!p[part])
			break;
		p += part + 1;
	}
	memcpy(out, text, len + 1);
	*depth = n + 1;
	return 0;
}

int ks_parse_endpoint(const char *text, struct ks_endpoint *out)
{
	struct ks_endpoint ep = { 0 };
	char addr[KS_ADDR_STRLEN];
	const char *host, *port, *proto;
	size_t host_len, port_len;

	if (!text)
		return -EINVAL;
	proto = strchr(text, '/');
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		host = text + 1;
		host_len = (size_t)(close - host);
		port = close + 2;
	} else {
		const char *colon = strchr(text, ':');

		/* A bare IPv6 address has several colons: it needs brackets. */
		if (!colon || strchr(colon + 1, ':'))
			return -EINVAL;
		host = text;
		host_len = (size_t)(colon - text);
		port = colon + 1;
	}
	if (proto && proto < port)
		return -EINVAL;
	port_len = proto ? (size_t)(proto - port) : strlen(port);
	if (host_len == 0 || host_len >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, host, host_len);
	addr[host_len] = '\0';
	if (ks_parse_unicast_addr(addr, &ep.addr) < 0)
		return -EINVAL;
	if (text[0] == '[' && ep.addr.family != AF_INET6)
		return -EINVAL;
	if (parse_port_n(port, port_len, &ep.port) < 0)
		return -EINVAL;
	if (!proto || !strcmp(proto, "/udp"))
		ep.proto = IPPROTO_UDP;
	else if (!strcmp(proto, "/tcp"))
		ep.proto = IPPROTO_TCP;
	else
		return -EINVAL;
	*out = ep;
	return 0;
}

/* "PORT", "PORT/tcp" or "PORT/udp" of len bytes; proto 0 (both) without one. */
static int parse_port_proto(const char *text, size_t len, uint16_t *port, uint8_t *proto)
{
	const char *slash = memchr(text, '/', len);
	size_t port_len = slash ? (size_t)(slash - text) : len;

	if (parse_port_n(text, port_len, port) < 0)
		return -EINVAL;
	if (!slash)
		*proto = 0;
	else if (len - port_len == 4 && !memcmp(slash, "/tcp", 4))
		*proto = IPPROTO_TCP;
	else if (len - port_len == 4 && !memcmp(slash, "/udp", 4))
		*proto = IPPROTO_UDP;
	else
		return -EINVAL;
	return 0;
}

int ks_parse_bypass(const char *text, struct ks_bypass *out)
{
	struct ks_bypass b = { 0 };
	char cidr[KS_CIDR_STRLEN];
	const char *port = NULL;
	bool brackets;
	size_t len;

	if (!text)
		return -EINVAL;
	brackets = text[0] == '[';
	if (brackets) {
		const char *close = strchr(text, ']');

		if (!close || (close[1] && close[1] != ':'))
			return -EINVAL;
		len = (size_t)(close - text - 1);
		if (close[1])
			port = close + 2;
		text++;
	} else {
		const char *colon = strchr(text, ':');

		/* One colon: IPv4 and a port. More: a bare IPv6 range (a port needs brackets), checked below. */
		if (colon && !strchr(colon + 1, ':')) {
			len = (size_t)(colon - text);
			port = colon + 1;
		} else {
			len = strlen(text);
		}
	}
	if (len == 0 || len >= sizeof(cidr))
		return -EINVAL;
	memcpy(cidr, text, len);
	cidr[len] = '\0';
	if (ks_parse_cidr(cidr, &b.cidr) < 0)
		return -EINVAL;
	/* Brackets hold IPv6 only (IPv4 with one colon never reaches here as IPv6). */
	if (brackets && b.cidr.addr.family != AF_INET6)
		return -EINVAL;
	/* A range that broad is most of the internet: that is turning the kill switch off. */
	if (b.cidr.prefix < (b.cidr.addr.family == AF_INET ? 8 : 16))
		return -EINVAL;
	if (port && parse_port_proto(port, strlen(port), &b.port, &b.proto) < 0)
		return -EINVAL;
	*out = b;
	return 0;
}

int ks_parse_allow_in(const char *text, struct ks_allow_in *out)
{
	struct ks_allow_in a = { 0 };
	const char *at;
	size_t len;

	if (!text)
		return -EINVAL;
	at = strchr(text, '@');
	len = at ? (size_t)(at - text) : strlen(text);
	if (parse_port_proto(text, len, &a.port, &a.proto) < 0)
		return -EINVAL;
	if (at) {
		struct ks_ifname name;

		if (ks_parse_ifname(at + 1, &name) < 0)
			return -EINVAL;
		memcpy(a.iface, name.name, sizeof(a.iface));
	}
	*out = a;
	return 0;
}

/* Dotted quad by hand: inet_ntop formats it with sprintf, and the compiler formats every endpoint twice. */
static void format_v4(const struct in_addr *in, char *out)
{
	const uint8_t *b = (const uint8_t *)&in->s_addr;

	for (int i = 0; i < 4; i++) {
		if (b[i] >= 100)
			*out++ = (char)('0' + b[i] / 100);
		if (b[i] >= 10)
			*out++ = (char)('0' + b[i] / 10 % 10);
		*out++ = (char)('0' + b[i] % 10);
		*out++ = i < 3 ? '.' : '\0';
	}
}

void ks_format_addr(const struct ks_addr *addr, char out[KS_ADDR_STRLEN])
{
	if (addr->family == AF_INET) {
		format_v4(&addr->v4, out);
		return;
	}
	if (!inet_ntop(addr->family, addr->family == AF_INET ? (const void *)&addr->v4 : (const void *)&addr->v6,
		       out, KS_ADDR_STRLEN))
		snprintf(out, KS_ADDR_STRLEN, "?");
}

void ks_format_cidr(const struct ks_cidr *cidr, char out[KS_CIDR_STRLEN])
{
	char addr[KS_ADDR_STRLEN];

	ks_format_addr(&cidr->addr, addr);
	snprintf(out, KS_CIDR_STRLEN, "%s/%u", addr, cidr->prefix);
}

const char *ks_proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "tcp" : "udp";
}

/* "ADDR:PORT/proto", "[ADDR6]:PORT/proto"; by hand, as the state file holds one per endpoint. */
void ks_format_endpoint(const struct ks_endpoint *ep, char out[KS_ENDPOINT_STRLEN])
{
	char port[8], *p = port + sizeof(port);
	unsigned v = ep->port;
	size_t n;

	*--p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (ep->addr.family == AF_INET6)
		*out++ = '[';
	ks_format_addr(&ep->addr, out);
	n = strlen(out);
	if (ep->addr.family == AF_INET6)
		out[n++] = ']';
	out[n++] = ':';
	/* At most 1 + 45 + 2 + 5 + 4 + 1 bytes: KS_ENDPOINT_STRLEN. */
	memcpy(out + n, p, (size_t)(port + sizeof(port) - p) - 1);
	n += (size_t)(port + sizeof(port) - p) - 1;
	out[n++] = '/';
	strcpy(out + n, ks_proto_name(ep->proto));
}

/* ":PORT" and "/proto" when there is a port (nothing for proto 0: both). */
static void format_port_proto(char *out, size_t size, uint16_t port, uint8_t proto)
{
	if (!port)
		*out = '\0';
	else if (!proto)
		snprintf(out, size, ":%u", port);
	else
		snprintf(out, size, ":%u/%s", port, ks_proto_name(proto));
}

void ks_format_bypass(const struct ks_bypass *b, char out[KS_BYPASS_STRLEN])
{
	char cidr[KS_CIDR_STRLEN], port[16];
	bool brackets = b->cidr.addr.family == AF_INET6 && b->port;

	ks_format_cidr(&b->cidr, cidr);
	format_port_proto(port, sizeof(port), b->port, b->proto);
	snprintf(out, KS_BYPASS_STRLEN, "%s%s%s%s", brackets ? "[" : "", cidr, brackets ? "]" : "", port);
}

void ks_format_allow_in(const struct ks_allow_in *a, char out[KS_ALLOW_IN_STRLEN])
{
	char port[16];

	format_port_proto(port, sizeof(port), a->port, a->proto);
	snprintf(out, KS_ALLOW_IN_STRLEN, "%s%s%s", port + 1, a->iface[0] ? "@" : "", a->iface);
}

int ks_parse_table_name(const char *text)
{
	size_t len;

	/* nft refuses quoted table names and keywords ("counter", "inet") as bare ones. */
	if (!text || strncmp(text, KS_TABLE_NAME, strlen(KS_TABLE_NAME)))
		return -EINVAL;
	len = strlen(text);
	if (len > 32)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= 'A' && text[i] <= 'Z') ||
		      (text[i] >= '0' && text[i] <= '9') || text[i] == '_'))
			return -EINVAL;
	return 0;
}
