// SPDX-License-Identifier: GPL-2.0-or-later
/* The strict parsers: every accepted form, the formatters, ks_escape, and a table of refusals. */
#include <arpa/inet.h>
#include <errno.h>

#include "unit.h"

static void expect_v4(const struct ks_addr *addr, const char *dotted)
{
	struct in_addr want;

	assert_int_equal(inet_pton(AF_INET, dotted, &want), 1);
	assert_int_equal(addr->family, AF_INET);
	assert_memory_equal(&addr->v4, &want, sizeof(want));
}

static void expect_v6(const struct ks_addr *addr, const char *text)
{
	struct in6_addr want;

	assert_int_equal(inet_pton(AF_INET6, text, &want), 1);
	assert_int_equal(addr->family, AF_INET6);
	assert_memory_equal(&addr->v6, &want, sizeof(want));
}

/*
 * One parser and its formatter, for the round-trip runner: the parsed
 * value's size and the formatter's buffer size, exactly, so that ASan sees
 * any write past either.
 */
struct value_type {
	const char *parser;
	size_t size, strlen;
	int (*parse)(const char *text, void *value);
	void (*format)(const void *value, char *out);
};

#define VALUE_TYPE(kind, type, len)                                                                        \
	static int parse_##kind(const char *text, void *value)                                             \
	{                                                                                                  \
		return ks_parse_##kind(text, value);                                                       \
	}                                                                                                  \
	static void format_##kind(const void *value, char *out)                                            \
	{                                                                                                  \
		ks_format_##kind(value, out);                                                              \
	}                                                                                                  \
	static const struct value_type kind##_type = { "ks_parse_" #kind, sizeof(type), len, parse_##kind, \
							format_##kind }

VALUE_TYPE(addr, struct ks_addr, KS_ADDR_STRLEN);
VALUE_TYPE(cidr, struct ks_cidr, KS_CIDR_STRLEN);
VALUE_TYPE(endpoint, struct ks_endpoint, KS_ENDPOINT_STRLEN);
VALUE_TYPE(bypass, struct ks_bypass, KS_BYPASS_STRLEN);
VALUE_TYPE(allow_in, struct ks_allow_in, KS_ALLOW_IN_STRLEN);

/* text parses into value, formats as canonical, and canonical parses back to the same bytes. */
static void expect_round_trip(const struct value_type *type, const char *text, const char *canonical, void *value)
{
	char *out = malloc(type->strlen);
	void *again = malloc(type->size);

	assert_non_null(out);
	assert_non_null(again);
	if (type->parse(text, value))
		fail_msg("%s refused '%s'", type->parser, text);
	type->format(value, out);
	assert_string_equal(out, canonical);
	assert_int_equal(type->parse(out, again), 0);
	assert_memory_equal(value, again, type->size);
	free(again);
	free(out);
}

/* Accepted addresses with their canonical text (ks_format_addr). */
static const struct {
	const char *text, *canonical;
	bool unicast;
} addrs[] = {
	{ "192.0.2.1", "192.0.2.1", true },
	{ "10.64.0.1", "10.64.0.1", true },
	{ "127.0.0.1", "127.0.0.1", true },
	{ "223.255.255.255", "223.255.255.255", true },
	{ "255.255.255.254", "255.255.255.254", true },
	{ "0.0.0.0", "0.0.0.0", false },
	{ "255.255.255.255", "255.255.255.255", false },
	{ "224.0.0.1", "224.0.0.1", false },
	{ "239.255.255.250", "239.255.255.250", false },
	{ "2001:db8::1", "2001:db8::1", true },
	{ "2001:DB8::1", "2001:db8::1", true },
	{ "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1", true },
	{ "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", true },
	{ "fe80::1", "fe80::1", true },
	{ "fd00:64::1", "fd00:64::1", true },
	{ "::1", "::1", true },
	{ "::", "::", false },
	{ "ff02::1", "ff02::1", false },
	{ "::ffff:192.0.2.1", "::ffff:192.0.2.1", false },
};

static void test_addr_accepted(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(addrs); i++) {
		struct ks_addr addr, again;

		expect_round_trip(&addr_type, addrs[i].text, addrs[i].canonical, &addr);
		if (strchr(addrs[i].text, ':'))
			expect_v6(&addr, addrs[i].text);
		else
			expect_v4(&addr, addrs[i].text);
		if (ks_parse_unicast_addr(addrs[i].text, &again) != (addrs[i].unicast ? 0 : -EINVAL))
			fail_msg("ks_parse_unicast_addr('%s') should %s it", addrs[i].text,
				 addrs[i].unicast ? "accept" : "refuse");
	}
}

static void test_addr_zero_padding(void **state)
{
	struct ks_addr addr;
	const uint8_t *bytes = (const uint8_t *)&addr;

	(void)state;
	/* Policies compare with memcmp: the bytes past an IPv4 address must be zero. */
	memset(&addr, 0xa5, sizeof(addr));
	assert_int_equal(ks_parse_addr("192.0.2.1", &addr), 0);
	for (size_t i = 1; i < sizeof(addr); i++)
		if (i < offsetof(struct ks_addr, v4) || i >= offsetof(struct ks_addr, v4) + sizeof(addr.v4))
			assert_int_equal(bytes[i], 0);
}

static const struct {
	const char *text, *canonical;
	int family;
	unsigned prefix;
} cidrs[] = {
	{ "10.0.0.0/8", "10.0.0.0/8", AF_INET, 8 },
	{ "192.168.77.0/24", "192.168.77.0/24", AF_INET, 24 },
	{ "0.0.0.0/0", "0.0.0.0/0", AF_INET, 0 },
	{ "192.0.2.1/32", "192.0.2.1/32", AF_INET, 32 },
	{ "192.0.2.1", "192.0.2.1/32", AF_INET, 32 },
	{ "100.64.0.0/10", "100.64.0.0/10", AF_INET, 10 },
	{ "255.255.255.255/32", "255.255.255.255/32", AF_INET, 32 },
	{ "::/0", "::/0", AF_INET6, 0 },
	{ "fe80::/10", "fe80::/10", AF_INET6, 10 },
	{ "fc00::/7", "fc00::/7", AF_INET6, 7 },
	{ "2001:db8::/32", "2001:db8::/32", AF_INET6, 32 },
	{ "2001:DB8:CAFE::/48", "2001:db8:cafe::/48", AF_INET6, 48 },
	{ "2001:db8::1/128", "2001:db8::1/128", AF_INET6, 128 },
	{ "2001:db8::1", "2001:db8::1/128", AF_INET6, 128 },
};

static void test_cidr_accepted(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cidrs); i++) {
		struct ks_cidr cidr;

		expect_round_trip(&cidr_type, cidrs[i].text, cidrs[i].canonical, &cidr);
		assert_int_equal(cidr.addr.family, cidrs[i].family);
		assert_int_equal(cidr.prefix, cidrs[i].prefix);
	}
}

static void test_port_accepted(void **state)
{
	static const struct {
		const char *text;
		uint16_t port;
	} ports[] = { { "1", 1 }, { "53", 53 }, { "443", 443 }, { "51820", 51820 }, { "65535", 65535 } };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ports); i++) {
		uint16_t port = 0;

		assert_int_equal(ks_parse_port(ports[i].text, &port), 0);
		assert_int_equal(port, ports[i].port);
	}
}

static void test_mark_accepted(void **state)
{
	static const struct {
		const char *text;
		uint32_t mark;
	} marks[] = {
		{ "0", 0 },
		{ "1", 1 },
		{ "51820", 0xca6c },
		{ "0xca6c", 0xca6c },
		{ "0XCA6C", 0xca6c },
		{ "0xCa6C", 0xca6c },
		{ "0x0", 0 },
		{ "0x1", 1 },
		{ "0x00000001", 1 },
		{ "4294967295", 0xffffffffu },
		{ "0xffffffff", 0xffffffffu },
		{ "0xFFFFFFFF", 0xffffffffu },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(marks); i++) {
		uint32_t mark = 0x5a5a5a5a;

		if (ks_parse_u32(marks[i].text, &mark))
			fail_msg("ks_parse_u32 refused '%s'", marks[i].text);
		assert_int_equal(mark, marks[i].mark);
	}
}

static void test_ifname_accepted(void **state)
{
	static const char *const names[] = {
		"wg0", "a", "tun_0", "wg-mullvad", "eth0.100", "...", "-wg", "A-Z_a-z.0-9", "abcdefghijklmno",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct ks_ifname name;

		memset(&name, 0xa5, sizeof(name));
		if (ks_parse_ifname(names[i], &name))
			fail_msg("ks_parse_ifname refused '%s'", names[i]);
		assert_string_equal(name.name, names[i]);
		/* The rest is zero, so names compare with memcmp too. */
		for (size_t j = strlen(names[i]); j < sizeof(name.name); j++)
			assert_int_equal(name.name[j], 0);
	}
}

static const struct {
	const char *text, *canonical;
	int family;
	uint16_t port;
	uint8_t proto;
} endpoints[] = {
	{ "198.51.100.10:51820", "198.51.100.10:51820/udp", AF_INET, 51820, IPPROTO_UDP },
	{ "198.51.100.10:51820/udp", "198.51.100.10:51820/udp", AF_INET, 51820, IPPROTO_UDP },
	{ "198.51.100.10:443/tcp", "198.51.100.10:443/tcp", AF_INET, 443, IPPROTO_TCP },
	{ "192.0.2.1:1", "192.0.2.1:1/udp", AF_INET, 1, IPPROTO_UDP },
	{ "192.0.2.1:65535/tcp", "192.0.2.1:65535/tcp", AF_INET, 65535, IPPROTO_TCP },
	{ "127.0.0.1:53", "127.0.0.1:53/udp", AF_INET, 53, IPPROTO_UDP },
	{ "[2001:db8::1]:51820", "[2001:db8::1]:51820/udp", AF_INET6, 51820, IPPROTO_UDP },
	{ "[2001:db8::1]:51820/udp", "[2001:db8::1]:51820/udp", AF_INET6, 51820, IPPROTO_UDP },
	{ "[2001:DB8:0:0::1]:443/tcp", "[2001:db8::1]:443/tcp", AF_INET6, 443, IPPROTO_TCP },
	{ "[::1]:1", "[::1]:1/udp", AF_INET6, 1, IPPROTO_UDP },
	{ "[fe80::1]:65535", "[fe80::1]:65535/udp", AF_INET6, 65535, IPPROTO_UDP },
};

static void test_endpoint_accepted(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(endpoints); i++) {
		struct ks_endpoint ep;

		expect_round_trip(&endpoint_type, endpoints[i].text, endpoints[i].canonical, &ep);
		assert_int_equal(ep.addr.family, endpoints[i].family);
		assert_int_equal(ep.port, endpoints[i].port);
		assert_int_equal(ep.proto, endpoints[i].proto);
		assert_int_equal(ep.pad, 0);
	}
}

static void test_endpoint_longest(void **state)
{
	const char *text = "[2001:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535/tcp";
	char out[KS_ENDPOINT_STRLEN];
	struct ks_endpoint ep;

	(void)state;
	assert_int_equal(ks_parse_endpoint(text, &ep), 0);
	ks_format_endpoint(&ep, out);
	assert_string_equal(out, text);
}

/* --bypass: every accepted form, its canonical text, and what it stands for. */
static void test_bypass_accepted(void **state)
{
	static const struct {
		const char *text, *canonical;
		uint8_t prefix;
		uint16_t port;
		uint8_t proto;
	} cases[] = {
		{ "203.0.113.0/28", "203.0.113.0/28", 28, 0, 0 },
		{ "203.0.113.7", "203.0.113.7/32", 32, 0, 0 },
		{ "203.0.113.7/32", "203.0.113.7/32", 32, 0, 0 },
		{ "10.0.0.0/8", "10.0.0.0/8", 8, 0, 0 },
		{ "203.0.113.0/28:443", "203.0.113.0/28:443", 28, 443, 0 },
		{ "203.0.113.0/28:443/tcp", "203.0.113.0/28:443/tcp", 28, 443, IPPROTO_TCP },
		{ "203.0.113.9:53/udp", "203.0.113.9/32:53/udp", 32, 53, IPPROTO_UDP },
		{ "203.0.113.0/24:65535", "203.0.113.0/24:65535", 24, 65535, 0 },
		{ "2001:db8::/48", "2001:db8::/48", 48, 0, 0 },
		{ "2001:db8::1", "2001:db8::1/128", 128, 0, 0 },
		{ "[2001:db8::/48]", "2001:db8::/48", 48, 0, 0 },
		{ "[2001:db8::/48]:443/tcp", "[2001:db8::/48]:443/tcp", 48, 443, IPPROTO_TCP },
		{ "[2001:DB8::1]:1", "[2001:db8::1/128]:1", 128, 1, 0 },
		{ "::/16", "::/16", 16, 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ks_bypass b;

		expect_round_trip(&bypass_type, cases[i].text, cases[i].canonical, &b);
		assert_int_equal(b.cidr.prefix, cases[i].prefix);
		assert_int_equal(b.port, cases[i].port);
		assert_int_equal(b.proto, cases[i].proto);
		assert_int_equal(b.pad, 0);
	}
}

static void test_allow_in_accepted(void **state)
{
	static const struct {
		const char *text, *iface;
		uint16_t port;
		uint8_t proto;
	} cases[] = {
		{ "22/tcp", "", 22, IPPROTO_TCP },
		{ "22", "", 22, 0 },
		{ "5353/udp@eth1", "eth1", 5353, IPPROTO_UDP },
		{ "65535@br-lan.10", "br-lan.10", 65535, 0 },
		{ "1/tcp@abcdefghijklmno", "abcdefghijklmno", 1, IPPROTO_TCP },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ks_allow_in a;

		expect_round_trip(&allow_in_type, cases[i].text, cases[i].text, &a);
		assert_string_equal(a.iface, cases[i].iface);
		assert_int_equal(a.port, cases[i].port);
		assert_int_equal(a.proto, cases[i].proto);
	}
}

/* --bypass with --fwmark none, --allow-in on a tunnel: refused with the value quoted, exit 2 in the CLI. */
static void test_exceptions_combinations(void **state)
{
	static const struct {
		const char *argv[6];
		const char *bad;
	} cases[] = {
		{ { "--tunnel", "wg0", "--fwmark", "none", "--bypass", "203.0.113.0/28" }, "203.0.113.0/28" },
		{ { "--bypass", "203.0.113.0/28:443", "--fwmark", "none" }, "203.0.113.0/28:443" },
		{ { "--tunnel", "wg0", "--allow-in", "22/tcp@wg0" }, "22/tcp@wg0" },
	};
	struct ks_options opts = { 0 };
	struct ks_policy policy;
	char err[KS_ERR_LEN];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int argc = 0;

		while (argc < (int)ARRAY_SIZE(cases[i].argv) && cases[i].argv[argc])
			argc++;
		expect_args_refused(&opts, argc, (char *const *)cases[i].argv, err);
		assert_quotes(err, cases[i].bad);
	}
	/* The same lists with a fwmark and on another interface are fine. */
	ks_policy_init(&policy);
	assert_int_equal(ks_options_parse_args(&policy, NULL, 6,
					       (char *const[]){ "--tunnel", "wg0", "--bypass", "203.0.113.0/28",
								"--allow-in", "22/tcp@eth0" },
					       err),
			 0);
	assert_int_equal(policy.n_bypass, 1);
	assert_int_equal(policy.n_allow_in, 1);
	ks_policy_free(&policy);
}

static void test_proto_name(void **state)
{
	(void)state;
	assert_string_equal(ks_proto_name(IPPROTO_UDP), "udp");
	assert_string_equal(ks_proto_name(IPPROTO_TCP), "tcp");
}

static void test_null_refused(void **state)
{
	struct ks_addr addr;
	struct ks_cidr cidr;
	struct ks_endpoint ep;
	struct ks_ifname name;
	uint16_t port;
	uint32_t mark;

	(void)state;
	assert_int_equal(ks_parse_addr(NULL, &addr), -EINVAL);
	assert_int_equal(ks_parse_unicast_addr(NULL, &addr), -EINVAL);
	assert_int_equal(ks_parse_cidr(NULL, &cidr), -EINVAL);
	assert_int_equal(ks_parse_port(NULL, &port), -EINVAL);
	assert_int_equal(ks_parse_u32(NULL, &mark), -EINVAL);
	assert_int_equal(ks_parse_ifname(NULL, &name), -EINVAL);
	assert_int_equal(ks_parse_endpoint(NULL, &ep), -EINVAL);
}

static void test_escape(void **state)
{
	static const struct {
		const char *text, *escaped;
	} cases[] = {
		{ "wg0", "wg0" },
		{ "", "" },
		{ "a b", "a b" },
		{ "a\nb", "a\\x0ab" },
		{ "\r\n", "\\x0d\\x0a" },
		{ "\t", "\\x09" },
		{ "\x1b[2J", "\\x1b[2J" },
		{ "\x7f", "\\x7f" },
		{ "'", "\\x27" },
		{ "it's", "it\\x27s" },
		{ "\\", "\\x5c" },
		{ "\\x0a", "\\x5cx0a" },
		{ "wg0\"; flush ruleset; \"", "wg0\\x22; flush ruleset; \\x22" },
		{ "caf\xc3\xa9", "caf\\xc3\\xa9" },
		{ "\xe2\x80\xae", "\\xe2\\x80\\xae" },
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_ptr_equal(ks_escape(cases[i].text, out, sizeof(out)), out);
		assert_string_equal(out, cases[i].escaped);
	}
	assert_string_equal(ks_escape(NULL, out, sizeof(out)), "");
}

static void test_escape_every_byte(void **state)
{
	char text[2] = { 0 }, out[16];

	(void)state;
	for (unsigned c = 1; c < 256; c++) {
		text[0] = (char)c;
		ks_escape(text, out, sizeof(out));
		if (c < 0x20 || c >= 0x7f || c == '\'' || c == '"' || c == '\\') {
			char want[8];

			snprintf(want, sizeof(want), "\\x%02x", c);
			assert_string_equal(out, want);
		} else {
			assert_string_equal(out, text);
		}
	}
}

/* Truncation stays inside size, ends with "...", and never cuts an escape in half. */
static void test_escape_truncates(void **state)
{
	char text[1001], out[80];

	(void)state;
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	for (size_t size = 1; size <= sizeof(out); size++) {
		memset(out, 'Z', sizeof(out));
		ks_escape(text, out, size);
		assert_true(strlen(out) < size);
		if (size > 3)
			assert_string_equal(out + strlen(out) - 3, "...");
		for (size_t i = size; i < sizeof(out); i++)
			assert_int_equal(out[i], 'Z');
	}

	memset(text, '\n', sizeof(text) - 1);
	for (size_t size = 4; size <= sizeof(out); size++) {
		size_t len;

		ks_escape(text, out, size);
		len = strlen(out);
		assert_true(len < size && len >= 3);
		assert_string_equal(out + len - 3, "...");
		assert_int_equal((len - 3) % 4, 0);
		for (size_t i = 0; i + 3 < len; i += 4)
			assert_memory_equal(out + i, "\\x0a", 4);
		assert_one_line(out);
	}

	memset(out, 'Z', sizeof(out));
	ks_escape("abc", out, 0);
	assert_int_equal(out[0], 'Z');
}

/*
 * Refused input. Each row goes to its parser and, through the option that
 * uses that parser, to ks_options_parse_args: -EINVAL and a one-line
 * "<what>: '<value>'" message.
 */
enum kind { ADDR, UNICAST, CIDR, PORT, MARK, IFNAME, ENDPOINT, BYPASS, ALLOW_IN };

static const struct {
	enum kind kind;
	const char *text;
} refused[] = {
	/* addresses: hostnames, malformed, zones, brackets, prefixes, spaces */
	{ ADDR, "" },
	{ ADDR, "localhost" },
	{ ADDR, "vpn.example.com" },
	{ ADDR, "192.0.2" },
	{ ADDR, "192.0.2.1.5" },
	{ ADDR, "256.0.0.1" },
	{ ADDR, "01.2.3.4" },
	{ ADDR, "192.0.2.01" },
	{ ADDR, "0x7f.0.0.1" },
	{ ADDR, "3232235777" },
	{ ADDR, " 192.0.2.1" },
	{ ADDR, "192.0.2.1 " },
	{ ADDR, "192.0.2.1\n" },
	{ ADDR, "+192.0.2.1" },
	{ ADDR, "-192.0.2.1" },
	{ ADDR, "192.0.2.1/32" },
	{ ADDR, "fe80::1%eth0" },
	{ ADDR, "[2001:db8::1]" },
	{ ADDR, "2001:db8::g" },
	{ ADDR, "2001:db8:::1" },
	{ ADDR, "1:2:3:4:5:6:7:8:9" },
	{ ADDR, "1::2::3" },
	{ ADDR, "1.1.1.1 } ; flush ruleset" },
	/* unicast: unspecified, multicast, broadcast, v4-mapped */
	{ UNICAST, "0.0.0.0" },
	{ UNICAST, "255.255.255.255" },
	{ UNICAST, "224.0.0.1" },
	{ UNICAST, "239.255.255.250" },
	{ UNICAST, "::" },
	{ UNICAST, "ff02::1" },
	{ UNICAST, "ff05::1:3" },
	{ UNICAST, "::ffff:192.0.2.1" },
	{ UNICAST, "::ffff:10.64.0.1" },
	/* CIDRs: prefixes out of range or badly written, host bits, v4-mapped */
	{ CIDR, "10.0.0.1/8" },
	{ CIDR, "192.168.1.1/24" },
	{ CIDR, "fe80::1/10" },
	{ CIDR, "10.0.0.0/33" },
	{ CIDR, "::/129" },
	{ CIDR, "10.0.0.0/1000" },
	{ CIDR, "10.0.0.0/" },
	{ CIDR, "/8" },
	{ CIDR, "10.0.0.0/08" },
	{ CIDR, "10.0.0.0/+8" },
	{ CIDR, "10.0.0.0/-8" },
	{ CIDR, "10.0.0.0/ 8" },
	{ CIDR, "10.0.0.0 /8" },
	{ CIDR, "10.0.0.0/8 " },
	{ CIDR, "10.0.0.0/8/8" },
	{ CIDR, "10.0.0.0/0x8" },
	{ CIDR, "::ffff:0.0.0.0/96" },
	{ CIDR, "::ffff:192.0.2.0/120" },
	{ CIDR, "lan.example.com/24" },
	{ CIDR, "10.0.0.0/8 } ; flush ruleset" },
	/* ports: 0, overflow, leading zeros, signs, spaces, other bases */
	{ PORT, "" },
	{ PORT, "0" },
	{ PORT, "00" },
	{ PORT, "65536" },
	{ PORT, "99999" },
	{ PORT, "100000" },
	{ PORT, "4294967297" },
	{ PORT, "080" },
	{ PORT, "051820" },
	{ PORT, "+80" },
	{ PORT, "-80" },
	{ PORT, " 80" },
	{ PORT, "80 " },
	{ PORT, "80a" },
	{ PORT, "0x50" },
	{ PORT, "8e1" },
	{ PORT, "https" },
	/* marks: overflow, empty hex, signs, spaces, garbage */
	{ MARK, "" },
	{ MARK, "0x" },
	{ MARK, "0X" },
	{ MARK, "0x100000000" },
	{ MARK, "0xfffffffff" },
	{ MARK, "4294967296" },
	{ MARK, "99999999999" },
	{ MARK, "-1" },
	{ MARK, "+1" },
	{ MARK, " 1" },
	{ MARK, "1 " },
	{ MARK, "0xg" },
	{ MARK, "0x 1" },
	{ MARK, "x1" },
	{ MARK, "1e3" },
	{ MARK, "0b101" },
	{ MARK, "0xca6c ; flush ruleset" },
	/* interface names: length, separators, quotes, nft syntax, "." and ".." */
	{ IFNAME, "" },
	{ IFNAME, "abcdefghijklmnop" },
	{ IFNAME, "." },
	{ IFNAME, ".." },
	{ IFNAME, "wg/0" },
	{ IFNAME, "wg 0" },
	{ IFNAME, "wg\t0" },
	{ IFNAME, "wg0\n" },
	{ IFNAME, "wg\"0" },
	{ IFNAME, "wg'0" },
	{ IFNAME, "wg;0" },
	{ IFNAME, "wg{0" },
	{ IFNAME, "wg}0" },
	{ IFNAME, "wg*" },
	{ IFNAME, "wg:0" },
	{ IFNAME, "wg@0" },
	{ IFNAME, "wg0,eth0" },
	{ IFNAME, "wg\\0" },
	{ IFNAME, "w\xc3\xa9" },
	{ IFNAME, "wg0\"; flush ruleset; \"" },
	{ IFNAME, "wg0 } ; flush ruleset" },
	/* endpoints: hostnames, missing parts, bare IPv6, [v4], protocols, bad targets, injection */
	{ ENDPOINT, "" },
	{ ENDPOINT, "vpn.example.com:51820" },
	{ ENDPOINT, "localhost:51820" },
	{ ENDPOINT, "198.51.100.10" },
	{ ENDPOINT, "198.51.100.10:" },
	{ ENDPOINT, ":51820" },
	{ ENDPOINT, "198.51.100.10:0" },
	{ ENDPOINT, "198.51.100.10:65536" },
	{ ENDPOINT, "198.51.100.10:051820" },
	{ ENDPOINT, "198.51.100.10:+51820" },
	{ ENDPOINT, "198.51.100.10:-1" },
	{ ENDPOINT, "198.51.100.10: 51820" },
	{ ENDPOINT, "198.51.100.10:51820 " },
	{ ENDPOINT, " 198.51.100.10:51820" },
	{ ENDPOINT, "198.51.100.10:51820x" },
	{ ENDPOINT, "198.51.100.10:51820:1" },
	{ ENDPOINT, "2001:db8::1:51820" },
	{ ENDPOINT, "::1:53" },
	{ ENDPOINT, "[2001:db8::1]" },
	{ ENDPOINT, "[2001:db8::1]51820" },
	{ ENDPOINT, "[2001:db8::1]:" },
	{ ENDPOINT, "[2001:db8::1:51820" },
	{ ENDPOINT, "[[2001:db8::1]]:51820" },
	{ ENDPOINT, "[2001:db8::1]]:51820" },
	{ ENDPOINT, "[]:51820" },
	{ ENDPOINT, "[198.51.100.10]:51820" },
	{ ENDPOINT, "[fe80::1%eth0]:51820" },
	{ ENDPOINT, "198.51.100.10:51820/sctp" },
	{ ENDPOINT, "198.51.100.10:51820/UDP" },
	{ ENDPOINT, "198.51.100.10:51820/Tcp" },
	{ ENDPOINT, "198.51.100.10:51820/udp?" },
	{ ENDPOINT, "198.51.100.10:51820/" },
	{ ENDPOINT, "198.51.100.10:51820/udp/tcp" },
	{ ENDPOINT, "198.51.100.10:51820/tcp " },
	{ ENDPOINT, "198.51.100.10/32:51820" },
	{ ENDPOINT, "0.0.0.0:51820" },
	{ ENDPOINT, "255.255.255.255:51820" },
	{ ENDPOINT, "224.0.0.1:51820" },
	{ ENDPOINT, "[::]:51820" },
	{ ENDPOINT, "[ff02::1]:51820" },
	{ ENDPOINT, "[::ffff:198.51.100.10]:51820" },
	{ ENDPOINT, "01.2.3.4:51820" },
	{ ENDPOINT, "1.2.3.4:80 } ; flush ruleset" },
	{ ENDPOINT, "1.2.3.4:80/udp } ; flush ruleset" },
	{ ENDPOINT, "1.2.3.4:80\n" },
	/* --bypass: too broad, host bits, brackets, ports and protocols, injection. */
	{ BYPASS, "" },
	{ BYPASS, "0.0.0.0/0" },
	{ BYPASS, "10.0.0.0/7" },
	{ BYPASS, "::/0" },
	{ BYPASS, "2001:db8::/15" },
	{ BYPASS, "203.0.113.1/28" },
	{ BYPASS, "203.0.113.0/33" },
	{ BYPASS, "203.0.113.0/28:" },
	{ BYPASS, "203.0.113.0/28:0" },
	{ BYPASS, "203.0.113.0/28:65536" },
	{ BYPASS, "203.0.113.0/28:443/sctp" },
	{ BYPASS, "203.0.113.0/28:443/TCP" },
	{ BYPASS, "203.0.113.0/28:443/" },
	{ BYPASS, "203.0.113.0/28:443-445" },
	{ BYPASS, "203.0.113.0/28/443" },
	{ BYPASS, "2001:db8::/48:443" },
	{ BYPASS, "2001:db8::/48:443/tcp" },
	{ BYPASS, "[2001:db8::/48]443" },
	{ BYPASS, "[2001:db8::/48" },
	{ BYPASS, "[203.0.113.0/28]:443" },
	{ BYPASS, "[]:443" },
	{ BYPASS, "example.com" },
	{ BYPASS, "example.com:443" },
	{ BYPASS, "::ffff:203.0.113.0/120" },
	{ BYPASS, "203.0.113.0/28 , 0.0.0.0/0" },
	{ BYPASS, "203.0.113.0/28:443 } ; flush ruleset" },
	{ BYPASS, "203.0.113.0/28\n" },
	/* --allow-in. */
	{ ALLOW_IN, "" },
	{ ALLOW_IN, "0" },
	{ ALLOW_IN, "65536" },
	{ ALLOW_IN, "022" },
	{ ALLOW_IN, "ssh" },
	{ ALLOW_IN, "22/sctp" },
	{ ALLOW_IN, "22/" },
	{ ALLOW_IN, "22/tcp/udp" },
	{ ALLOW_IN, "22@" },
	{ ALLOW_IN, "22/tcp@" },
	{ ALLOW_IN, "22@eth0@eth1" },
	{ ALLOW_IN, "22@abcdefghijklmnop" },
	{ ALLOW_IN, "22@eth0\"; flush ruleset; \"" },
	{ ALLOW_IN, "@eth0" },
	{ ALLOW_IN, "1.2.3.4:22" },
	{ ALLOW_IN, "22-23/tcp" },
};

static const char *const kind_names[] = {
	[ADDR] = "addr", [UNICAST] = "unicast", [CIDR] = "cidr", [PORT] = "port",
	[MARK] = "mark", [IFNAME] = "ifname", [ENDPOINT] = "endpoint",
	[BYPASS] = "bypass", [ALLOW_IN] = "allow-in",
};

static int parse_kind(enum kind kind, const char *text)
{
	struct ks_addr addr;
	struct ks_cidr cidr;
	struct ks_endpoint ep;
	struct ks_ifname name;
	struct ks_bypass bypass;
	struct ks_allow_in allow_in;
	uint16_t port;
	uint32_t mark;

	switch (kind) {
	case ADDR:
		/* What ks_parse_addr refuses, the unicast parser refuses too. */
		if (ks_parse_unicast_addr(text, &addr) != -EINVAL)
			return 0;
		return ks_parse_addr(text, &addr);
	case UNICAST:
		return ks_parse_unicast_addr(text, &addr);
	case CIDR:
		return ks_parse_cidr(text, &cidr);
	case PORT:
		return ks_parse_port(text, &port);
	case MARK:
		return ks_parse_u32(text, &mark);
	case IFNAME:
		return ks_parse_ifname(text, &name);
	case ENDPOINT:
		return ks_parse_endpoint(text, &ep);
	case BYPASS:
		return ks_parse_bypass(text, &bypass);
	case ALLOW_IN:
		return ks_parse_allow_in(text, &allow_in);
	}
	return 0;
}

/* The option that feeds text to that parser; value receives what it is given. */
static const char *option_of(enum kind kind, const char *text, char *value, size_t size)
{
	snprintf(value, size, "%s", text);
	switch (kind) {
	case ADDR:
	case UNICAST:
		return "--dns";
	case CIDR:
		return "--lan";
	case PORT:
		snprintf(value, size, "192.0.2.1:%s", text);
		return "--endpoint";
	case MARK:
		return "--fwmark";
	case IFNAME:
		return "--tunnel";
	case ENDPOINT:
		return "--endpoint";
	case BYPASS:
		return "--bypass";
	case ALLOW_IN:
		return "--allow-in";
	}
	return NULL;
}

static void expect_option_refused(int argc, char *const argv[], const char *bad)
{
	struct ks_options opts = { 0 };
	char err[KS_ERR_LEN];

	expect_args_refused(&opts, argc, argv, err);
	assert_quotes(err, bad);
}

static void test_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		char value[128], joined[160];
		char escaped[256];
		const char *opt;
		int ret = parse_kind(refused[i].kind, refused[i].text);

		if (ret != -EINVAL)
			fail_msg("%s parser: '%s' gave %d, not -EINVAL", kind_names[refused[i].kind],
				 ks_escape(refused[i].text, escaped, sizeof(escaped)), ret);
		opt = option_of(refused[i].kind, refused[i].text, value, sizeof(value));
		expect_option_refused(2, (char *const[]){ (char *)opt, value }, value);
		snprintf(joined, sizeof(joined), "%s=%s", opt, value);
		expect_option_refused(1, (char *const[]){ joined }, value);
	}
	print_message("%zu refused inputs, each also through --option VALUE and --option=VALUE\n",
		      ARRAY_SIZE(refused));
}

/* Refusals only the options parser makes: values of other options, option syntax, injection. */
static const struct refused_args refused_args[] = {
	{ { "--fwmark", "0" }, "0" },
	{ { "--fwmark=0x0" }, "0x0" },
	{ { "--fwmark", "0x00000000" }, "0x00000000" },
	{ { "--fwmark", "None" }, "None" },
	{ { "--fwmark", "off" }, "off" },
	{ { "--ipv6", "ALLOW" }, "ALLOW" },
	{ { "--ipv6", "" }, "" },
	{ { "--ipv6", "deny" }, "deny" },
	{ { "--ipv6=allow ; flush ruleset" }, "allow ; flush ruleset" },
	{ { "--dns=" }, "" },
	{ { "--tunnel=" }, "" },
	{ { "--tunnel==wg0" }, "=wg0" },
	{ { "--json=1" }, "--json=1" },
	{ { "--allow-lan=yes" }, "--allow-lan=yes" },
	{ { "--allow-lan=" }, "--allow-lan=" },
	{ { "--state", "paused" }, "paused" },
	{ { "--tunnel-addr", "10.66.1.2" }, "--tunnel-addr" },
	{ { "--bogus" }, "--bogus" },
	{ { "--TUNNEL", "wg0" }, "--TUNNEL" },
	{ { "--endpoint-file", "x" }, "--endpoint-file" },
	{ { "--tunnel" }, "--tunnel" },
	{ { "--ipv6" }, "--ipv6" },
	{ { "--tunnel", "wg0", "--dns" }, "--dns" },
	{ { "--dns", "10.64.0.1", "stray" }, "stray" },
	{ { "wg0" }, "wg0" },
	{ { "--" }, "--" },
	{ { "-t", "wg0" }, "-t" },
	{ { "" }, "" },
	{ { "--tunnel", "wg0\nflush ruleset" }, "wg0\nflush ruleset" },
	{ { "--tunnel", "'wg0'" }, "'wg0'" },
	{ { "--endpoint", "[::1]:80\x1b[2J" }, "[::1]:80\x1b[2J" },
	{ { "--tunnel=wg0 } ; flush ruleset" }, "wg0 } ; flush ruleset" },
	{ { "--dns", "1.1.1.1; flush ruleset" }, "1.1.1.1; flush ruleset" },
	{ { "--lan", "0.0.0.0/0 , 1.2.3.4" }, "0.0.0.0/0 , 1.2.3.4" },
	{ { "--endpoint", "1.2.3.4:80\"; flush ruleset; \"" }, "1.2.3.4:80\"; flush ruleset; \"" },
};

static void test_refused_args(void **state)
{
	char err[KS_ERR_LEN];

	(void)state;
	run_refused_args(refused_args, ARRAY_SIZE(refused_args), true, SAID_VALUE);
	/* No command options where opts is NULL. */
	expect_args_refused(NULL, ARGS("--json"), err);
	assert_quotes(err, "--json");
	print_message("%zu refused command lines\n", ARRAY_SIZE(refused_args) + 1);
}

/* A long bad value is cut, but the message stays one line and in its buffer. */
static void test_refused_long_value(void **state)
{
	char value[2000], err[KS_ERR_LEN + 16];
	struct ks_policy policy;

	(void)state;
	for (size_t i = 0; i < sizeof(value) - 1; i++)
		value[i] = "a\n'"[i % 3];
	value[sizeof(value) - 1] = '\0';
	memset(err, 'Z', sizeof(err));
	ks_policy_init(&policy);
	assert_int_equal(ks_options_parse_args(&policy, NULL, 2, (char *const[]){ "--tunnel", value }, err),
			 -EINVAL);
	assert_true(strlen(err) < KS_ERR_LEN);
	for (size_t i = KS_ERR_LEN; i < sizeof(err); i++)
		assert_int_equal(err[i], 'Z');
	assert_one_line(err);
	assert_string_equal(err + strlen(err) - 4, "...'");
	ks_policy_free(&policy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_accepted),
		cmocka_unit_test(test_addr_zero_padding),
		cmocka_unit_test(test_cidr_accepted),
		cmocka_unit_test(test_port_accepted),
		cmocka_unit_test(test_mark_accepted),
		cmocka_unit_test(test_ifname_accepted),
		cmocka_unit_test(test_endpoint_accepted),
		cmocka_unit_test(test_endpoint_longest),
		cmocka_unit_test(test_bypass_accepted),
		cmocka_unit_test(test_allow_in_accepted),
		cmocka_unit_test(test_exceptions_combinations),
		cmocka_unit_test(test_proto_name),
		cmocka_unit_test(test_null_refused),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_every_byte),
		cmocka_unit_test(test_escape_truncates),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_refused_args),
		cmocka_unit_test(test_refused_long_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
