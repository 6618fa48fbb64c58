// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The pure parts of killswitch portal: --minutes, the seconds override,
 * the addresses a grant takes, and the resolvers of a resolv.conf or a
 * systemd-networkd lease.
 */
#include <errno.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <string.h>

#include "killswitch/parse.h"
#include "killswitch/portal.h"

/* 1..max, decimal digits only, no sign, no leading zero. */
static int parse_small(const char *text, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t len = text ? strlen(text) : 0;

	if (!len || len > 4 || text[0] == '0')
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(text[i] - '0');
	}
	if (v < 1 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int ks_portal_parse_minutes(const char *text, unsigned *minutes)
{
	return parse_small(text, KS_PORTAL_MINUTES_MAX, minutes);
}

int ks_portal_parse_seconds(const char *text, unsigned *seconds)
{
	return parse_small(text, KS_PORTAL_SECONDS_MAX, seconds);
}

static bool usable(const struct ks_addr *addr)
{
	if (addr->family == AF_INET) {
		uint32_t a = ntohl(addr->v4.s_addr);

		/* Loopback (a local stub resolver forwards from outside the group), this network, multicast and up. */
		return (a >> 24) != 127 && (a >> 24) != 0 && (a >> 28) < 14;
	}
	if (addr->family != AF_INET6)
		return false;
	/* Link-local needs a zone the sets cannot hold; IPv4-mapped would bypass the IPv4 set. */
	return !IN6_IS_ADDR_LOOPBACK(&addr->v6) && !IN6_IS_ADDR_UNSPECIFIED(&addr->v6) &&
	       !IN6_IS_ADDR_MULTICAST(&addr->v6) && !IN6_IS_ADDR_LINKLOCAL(&addr->v6) &&
	       !IN6_IS_ADDR_V4MAPPED(&addr->v6);
}

int ks_portal_grant_add(struct ks_portal_grant *grant, const struct ks_addr *addr)
{
	if (!usable(addr))
		return -EINVAL;
	for (size_t i = 0; i < grant->n_addrs; i++)
		if (!memcmp(&grant->addrs[i], addr, sizeof(*addr)))
			return 0;
	if (grant->n_addrs >= KS_PORTAL_MAX_ADDRS)
		return -ENOSPC;
	grant->addrs[grant->n_addrs++] = *addr;
	return 0;
}

int ks_portal_parse_resolv(const char *text, struct ks_portal_grant *grant)
{
	size_t before = grant->n_addrs;

	while (text && *text) {
		const char *end = strchr(text, '\n');
		size_t len = end ? (size_t)(end - text) : strlen(text);
		char line[256], *p, *q;
		struct ks_addr addr;

		if (len < sizeof(line)) {
			memcpy(line, text, len);
			line[len] = '\0';
			p = line + strspn(line, " \t");
			if (!strncmp(p, "nameserver", 10) && (p[10] == ' ' || p[10] == '\t')) {
				p += 10 + strspn(p + 10, " \t");
				q = p + strcspn(p, " \t\r#;");
				*q = '\0';
				/* Numeric only (ks_parse_addr): a zone ("fe80::1%eth0") or a name does not parse. */
				if (ks_parse_addr(p, &addr) == 0)
					ks_portal_grant_add(grant, &addr);
			}
		}
		text = end ? end + 1 : NULL;
	}
	return (int)(grant->n_addrs - before);
}

int ks_portal_parse_lease(const char *text, struct ks_portal_grant *grant)
{
	size_t before = grant->n_addrs;

	while (text && *text) {
		const char *end = strchr(text, '\n');
		size_t len = end ? (size_t)(end - text) : strlen(text);

		/* "DNS=192.168.1.1 2001:db8::1": each word, as a nameserver line would give it. */
		if (len > 4 && len < 512 && !strncmp(text, "DNS=", 4)) {
			char line[512], *word, *save = NULL;

			memcpy(line, text + 4, len - 4);
			line[len - 4] = '\0';
			for (word = strtok_r(line, " \t", &save); word; word = strtok_r(NULL, " \t", &save)) {
				struct ks_addr addr;

				if (ks_parse_addr(word, &addr) == 0)
					ks_portal_grant_add(grant, &addr);
			}
		}
		text = end ? end + 1 : NULL;
	}
	return (int)(grant->n_addrs - before);
}

int ks_portal_parse_args(int argc, char *const argv[], struct ks_portal_args *out, char err[KS_ERR_LEN])
{
	char escaped[KS_ERR_LEN / 2];
	int i = 1;

	out->minutes = KS_PORTAL_MINUTES_DEFAULT;
	out->command = 0;
	for (; i < argc; i++) {
		const char *value = NULL;

		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (!strcmp(argv[i], "--minutes")) {
			if (i + 1 >= argc) {
				snprintf(err, KS_ERR_LEN, "--minutes needs a number of minutes (1..%u): '%s'",
					 KS_PORTAL_MINUTES_MAX, "");
				return -EINVAL;
			}
			value = argv[++i];
		} else if (!strncmp(argv[i], "--minutes=", 10)) {
			value = argv[i] + 10;
		} else if (argv[i][0] == '-') {
			snprintf(err, KS_ERR_LEN, "unknown option (put -- before a command starting with '-'): '%s'",
				 ks_escape(argv[i], escaped, sizeof(escaped)));
			return -EINVAL;
		} else {
			break;
		}
		if (ks_portal_parse_minutes(value, &out->minutes) < 0) {
			snprintf(err, KS_ERR_LEN, "invalid --minutes (a whole number, 1..%u): '%s'", KS_PORTAL_MINUTES_MAX,
				 ks_escape(value, escaped, sizeof(escaped)));
			return -EINVAL;
		}
	}
	if (i >= argc) {
		snprintf(err, KS_ERR_LEN, "portal needs a command to run (a browser): '%s'", "");
		return -EINVAL;
	}
	out->command = i;
	return 0;
}
