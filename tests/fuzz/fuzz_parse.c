// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The value parsers of src/policy/parse.c. The first byte picks the parser,
 * the rest is the text. Whatever a parser accepts must survive its own
 * formatter: format, parse again, and get the same value (and the same text).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "killswitch/parse.h"

#include "fuzz.h"

static bool same_addr(const struct ks_addr *a, const struct ks_addr *b)
{
	if (a->family != b->family)
		return false;
	return a->family == AF_INET ? !memcmp(&a->v4, &b->v4, sizeof(a->v4)) : !memcmp(&a->v6, &b->v6, sizeof(a->v6));
}

static void addr(const char *text, bool unicast)
{
	struct ks_addr a, b, plain;
	char out[KS_ADDR_STRLEN], again[KS_ADDR_STRLEN];

	if ((unicast ? ks_parse_unicast_addr(text, &a) : ks_parse_addr(text, &a)) < 0)
		return;
	CHECK(a.family == AF_INET || a.family == AF_INET6);
	if (unicast) {
		CHECK(ks_parse_addr(text, &plain) == 0 && same_addr(&a, &plain));
	}
	ks_format_addr(&a, out);
	CHECK(strspn(out, "0123456789abcdef:.") == strlen(out));
	CHECK((unicast ? ks_parse_unicast_addr(out, &b) : ks_parse_addr(out, &b)) == 0);
	CHECK(same_addr(&a, &b));
	ks_format_addr(&b, again);
	CHECK(!strcmp(out, again));
}

static void cidr(const char *text)
{
	struct ks_cidr a, b;
	struct ks_addr plain;
	char out[KS_CIDR_STRLEN];

	if (ks_parse_cidr(text, &a) < 0)
		return;
	CHECK(a.prefix <= (a.addr.family == AF_INET ? 32 : 128));
	if (!strchr(text, '/'))
		CHECK(ks_parse_addr(text, &plain) == 0 && same_addr(&a.addr, &plain) &&
		      a.prefix == (a.addr.family == AF_INET ? 32 : 128));
	ks_format_cidr(&a, out);
	CHECK(strspn(out, "0123456789abcdef:./") == strlen(out));
	CHECK(ks_parse_cidr(out, &b) == 0);
	CHECK(same_addr(&a.addr, &b.addr) && a.prefix == b.prefix);
}

static void port(const char *text)
{
	uint16_t a, b;
	char out[8];

	if (ks_parse_port(text, &a) < 0)
		return;
	CHECK(a != 0);
	/* Decimal without sign, space or leading zero: only the canonical text parses. */
	snprintf(out, sizeof(out), "%u", a);
	CHECK(!strcmp(out, text));
	CHECK(ks_parse_port(out, &b) == 0 && a == b);
}

static void mark(const char *text)
{
	uint32_t a, b;
	char out[16];

	if (ks_parse_u32(text, &a) < 0)
		return;
	CHECK(strspn(text, "0123456789abcdefABCDEFxX") == strlen(text));
	snprintf(out, sizeof(out), "0x%x", a);
	CHECK(ks_parse_u32(out, &b) == 0 && a == b);
	snprintf(out, sizeof(out), "%u", a);
	CHECK(ks_parse_u32(out, &b) == 0 && a == b);
}

static void ifname(const char *text)
{
	struct ks_ifname a, b;
	size_t len;

	if (ks_parse_ifname(text, &a) < 0)
		return;
	len = strlen(text);
	CHECK(len >= 1 && len < IFNAMSIZ && !strcmp(a.name, text));
	CHECK(strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == len);
	CHECK(strcmp(text, ".") && strcmp(text, ".."));
	CHECK(ks_parse_ifname(a.name, &b) == 0 && !memcmp(&a, &b, sizeof(a)));
}

static void cgroup_path(const char *text)
{
	char out[KS_CGROUP_PATH_MAX];
	unsigned depth, slashes = 0;

	if (ks_parse_cgroup_path(text, out, &depth) < 0)
		return;
	CHECK(!strcmp(out, text) && strlen(text) < KS_CGROUP_PATH_MAX);
	CHECK(strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/") == strlen(text));
	for (const char *p = text; *p; p++)
		slashes += *p == '/';
	CHECK(depth == slashes + 1);
	CHECK(text[0] != '/' && text[strlen(text) - 1] != '/' && !strstr(text, "//"));
	CHECK(!strstr(text, "/../") && !strstr(text, "/./") && strncmp(text, "../", 3) && strncmp(text, "./", 2));
}

static void endpoint(const char *text)
{
	struct ks_endpoint a, b;
	struct ks_addr plain;
	char out[KS_ENDPOINT_STRLEN], again[KS_ENDPOINT_STRLEN];

	if (ks_parse_endpoint(text, &a) < 0)
		return;
	CHECK(a.port != 0 && (a.proto == IPPROTO_UDP || a.proto == IPPROTO_TCP));
	ks_format_addr(&a.addr, out);
	CHECK(ks_parse_unicast_addr(out, &plain) == 0 && same_addr(&a.addr, &plain));
	ks_format_endpoint(&a, out);
	CHECK(ks_parse_endpoint(out, &b) == 0);
	CHECK(same_addr(&a.addr, &b.addr) && a.port == b.port && a.proto == b.proto);
	ks_format_endpoint(&b, again);
	CHECK(!strcmp(out, again));
}

static int hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Printable ASCII but quotes and backslashes, \xNN for the rest, and "..." when cut: decodes back to the text or a prefix of it. */
static void escape(const char *text, size_t size)
{
	char *out = malloc(size ? size : 1), *decoded;
	size_t len, n = 0;
	bool cut;

	CHECK(out);
	CHECK(ks_escape(text, out, size) == out);
	if (!size) {
		free(out);
		return;
	}
	len = strlen(out);
	CHECK(len < size);
	decoded = malloc(len + 1);
	CHECK(decoded);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];

		CHECK(c >= 0x20 && c < 0x7f && c != '\'' && c != '"');
		if (c == '\\') {
			CHECK(i + 3 < len && out[i + 1] == 'x' && hex(out[i + 2]) >= 0 && hex(out[i + 3]) >= 0);
			decoded[n++] = (char)(hex(out[i + 2]) << 4 | hex(out[i + 3]));
			i += 3;
		} else {
			decoded[n++] = (char)c;
		}
	}
	decoded[n] = '\0';
	if (!strcmp(decoded, text)) {
		free(decoded);
		free(out);
		return;
	}
	/* Too small for "..." as well: whatever fits, silently cut. */
	cut = n >= 3 && !strcmp(decoded + n - 3, "...");
	if (cut)
		CHECK(n - 3 < strlen(text) && !strncmp(decoded, text, n - 3));
	else
		CHECK(size <= 3 && n < strlen(text) && !strncmp(decoded, text, n));
	free(decoded);
	free(out);
}

static void table(const char *text)
{
	struct ks_policy policy;
	size_t len;

	if (ks_parse_table_name(text) < 0)
		return;
	len = strlen(text);
	CHECK(len <= 32 && !strncmp(text, KS_TABLE_NAME, strlen(KS_TABLE_NAME)));
	CHECK(strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == len);
	ks_policy_init(&policy);
	fuzz_check_compile_table(&policy, text);
	ks_policy_free(&policy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1)
		return 0;
	text = fuzz_string(data + 1, size - 1);
	switch (data[0] % 11) {
	case 0: addr(text, false); break;
	case 1: addr(text, true); break;
	case 2: cidr(text); break;
	case 3: port(text); break;
	case 4: mark(text); break;
	case 5: ifname(text); break;
	case 6: cgroup_path(text); break;
	case 7: endpoint(text); break;
	case 8: escape(text, data[0] / 11); break;
	case 9: escape(text, KS_ERR_LEN / 2); break;
	case 10: table(text); break;
	}
	free(text);
	return 0;
}
