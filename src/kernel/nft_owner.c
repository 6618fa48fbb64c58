// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * watch's endpoint changes without libnftables' cache. A command linked to
 * watch sends its element change as text (ks_compile_endpoint_change), to
 * run through the context whose socket owns the guard; before "add
 * element", libnftables 1.0.6 fetches the host's tables, chains, sets and
 * every element of every interval set (the LAN ranges of both tables):
 * 3-4 times the rest of the command. When the text is exactly such a
 * change, its elements go as one nfnetlink batch over that same socket,
 * found among this process's descriptors by the guard's owner (the port ID
 * the kernel reports as NFTA_TABLE_OWNER). Any other text, and any failure
 * (a refused batch changed nothing), is left to libnftables.
 */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "killswitch/mnl.h"
#include "killswitch/netlink.h"
#include "killswitch/nft.h"
#include "killswitch/parse.h"
#include "killswitch/schema.h"
#include "nft_owner.h"

static const struct {
	const char *name;
	int family;
	bool endpoints; /* address . protocol . port, or the address alone */
} owner_sets[] = {
	{ KS_SET_ENDPOINTS4, AF_INET, true },
	{ KS_SET_ENDPOINTS6, AF_INET6, true },
	{ KS_SET_ENDPOINT_ADDRS4, AF_INET, false },
	{ KS_SET_ENDPOINT_ADDRS6, AF_INET6, false },
};

/* The word at *p up to (not including) stop, into out; advances *p past stop. */
static int take(const char **p, const char *stop, char *out, size_t size)
{
	const char *end = strstr(*p, stop);
	size_t len;

	if (!end)
		return -EINVAL;
	len = (size_t)(end - *p);
	if (!len || len >= size)
		return -EINVAL;
	memcpy(out, *p, len);
	out[len] = '\0';
	*p = end + strlen(stop);
	return 0;
}

/* One element, "ADDR . PROTO . PORT" or "ADDR", of set s; ends at ", " or " }\n" (*last). */
static int parse_elem(const char **p, unsigned s, struct ks_nft_elem *elem, bool *last)
{
	char word[KS_ADDR_STRLEN + 16], addr[KS_ADDR_STRLEN], proto[8];
	const char *next = strstr(*p, ", "), *close = strstr(*p, " }\n"), *w = word;
	struct ks_endpoint ep = { 0 };

	if (!close)
		return -EINVAL;
	*last = !next || next > close;
	if (take(p, *last ? " }\n" : ", ", word, sizeof(word)) < 0)
		return -EINVAL;
	if (!owner_sets[s].endpoints) {
		if (ks_parse_addr(word, &ep.addr) < 0 || ep.addr.family != owner_sets[s].family)
			return -EINVAL;
		ks_nft_endpoint_addr_elem(&ep.addr, elem);
		return 0;
	}
	if (take(&w, " . ", addr, sizeof(addr)) < 0 || take(&w, " . ", proto, sizeof(proto)) < 0 ||
	    ks_parse_addr(addr, &ep.addr) < 0 || ep.addr.family != owner_sets[s].family || ks_parse_port(w, &ep.port) < 0)
		return -EINVAL;
	if (!strcmp(proto, ks_proto_name(IPPROTO_UDP)))
		ep.proto = IPPROTO_UDP;
	else if (!strcmp(proto, ks_proto_name(IPPROTO_TCP)))
		ep.proto = IPPROTO_TCP;
	else
		return -EINVAL;
	ks_nft_endpoint_elem(&ep, elem);
	return 0;
}

int ks_nft_parse_element_change(const char *text, struct ks_nft_parsed_change *out)
{
	const char *p = text;
	size_t cap = 0;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	while (*p && ret == 0) {
		struct ks_nft_parsed_line *line;
		char verb[8], set[32];
		unsigned s;
		bool add, last = false;

		if (out->n_lines == KS_NFT_PARSED_LINES_MAX) {
			ret = -EINVAL;
			break;
		}
		line = &out->lines[out->n_lines];
		if (take(&p, " element inet ", verb, sizeof(verb)) < 0 || (strcmp(verb, "add") && strcmp(verb, "delete")) ||
		    take(&p, " ", line->table, sizeof(line->table)) < 0 || ks_parse_table_name(line->table) < 0 ||
		    take(&p, " { ", set, sizeof(set)) < 0) {
			ret = -EINVAL;
			break;
		}
		add = !strcmp(verb, "add");
		if (out->n_lines && add != out->add) {
			ret = -EINVAL;
			break;
		}
		out->add = add;
		for (s = 0; s < sizeof(owner_sets) / sizeof(owner_sets[0]) && strcmp(set, owner_sets[s].name); s++)
			;
		if (s == sizeof(owner_sets) / sizeof(owner_sets[0])) {
			ret = -EINVAL;
			break;
		}
		line->first = out->n;
		while (!last && ret == 0) {
			if (out->n == cap) {
				struct ks_nft_elem *grown = reallocarray(out->elems, cap ? cap * 2 : 16, sizeof(*grown));

				if (!grown) {
					ret = -ENOMEM;
					break;
				}
				out->elems = grown;
				cap = cap ? cap * 2 : 16;
			}
			ret = parse_elem(&p, s, &out->elems[out->n], &last);
			if (ret == 0)
				out->n++;
		}
		line->n = out->n - line->first;
		out->n_lines++;
	}
	if (ret == 0 && !out->n_lines)
		ret = -EINVAL;
	if (ret < 0)
		ks_nft_parsed_change_free(out);
	return ret;
}

void ks_nft_parsed_change_free(struct ks_nft_parsed_change *change)
{
	free(change->elems);
	memset(change, 0, sizeof(*change));
}

/* This process's nfnetlink socket bound to portid; -ENOENT when there is none. */
static int socket_of(uint32_t portid)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *d;
	int found = -ENOENT;

	if (!dir)
		return -errno;
	while (found < 0 && (d = readdir(dir))) {
		struct sockaddr_nl addr;
		socklen_t len = sizeof(addr);
		int fd = atoi(d->d_name), domain = 0, proto = 0;
		socklen_t ilen = sizeof(int);

		if (d->d_name[0] < '0' || d->d_name[0] > '9' || fd == dirfd(dir))
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &ilen) < 0 || domain != AF_NETLINK)
			continue;
		ilen = sizeof(int);
		if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &ilen) < 0 || proto != NETLINK_NETFILTER)
			continue;
		if (getsockname(fd, (struct sockaddr *)&addr, &len) == 0 && addr.nl_family == AF_NETLINK &&
		    addr.nl_pid == portid)
			found = fd;
	}
	closedir(dir);
	return found;
}

int ks_nft_owner_change(const char *text)
{
	struct ks_nft_parsed_change change;
	struct ks_nft_elem_group groups[KS_NFT_PARSED_LINES_MAX];
	uint32_t portid = 0;
	int ret, fd;

	ret = ks_nft_parse_element_change(text, &change);
	if (ret < 0)
		return -EOPNOTSUPP;
	/* The guard's owner: the one socket that may change it, and that may change the table too. */
	ret = -EOPNOTSUPP;
	for (size_t i = 0; i < change.n_lines && !portid; i++) {
		size_t len = strlen(change.lines[i].table), suffix = strlen(KS_GUARD_SUFFIX);

		if (len > suffix && !strcmp(change.lines[i].table + len - suffix, KS_GUARD_SUFFIX) &&
		    ks_nfnl_table_owner(change.lines[i].table, &portid) < 0)
			goto cleanup;
	}
	fd = portid ? socket_of(portid) : -ENOENT;
	if (fd < 0)
		goto cleanup;
	for (size_t i = 0; i < change.n_lines; i++)
		groups[i] = (struct ks_nft_elem_group){ .table = change.lines[i].table,
							.elems = change.elems + change.lines[i].first,
							.n = change.lines[i].n };
	ret = ks_nft_elements_send(fd, groups, change.n_lines, change.add);
cleanup:
	ks_nft_parsed_change_free(&change);
	return ret;
}
