// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Element changes for a loaded table (endpoint add|del): the sets
 * changed in place, without replacing the table.
 */
#include <errno.h>
#include <stdio.h>

#include "compiler.h"
#include "killswitch/endpoint_change.h"
#include "killswitch/parse.h"

/* "add element inet T SET { ... }" for the members of one family; nothing when there are none. */
static void change_line(struct ks_buf *out, const char *verb, const char *table, const char *set, int family,
			const struct ks_endpoint_change *change, bool endpoints)
{
	char text[KS_ADDR_STRLEN];
	size_t n = endpoints ? change->n : change->n_addrs;
	bool first = true;

	for (size_t i = 0; i < n; i++) {
		const struct ks_addr *addr = endpoints ? &change->eps[i].addr : &change->addrs[i];

		if (addr->family != family)
			continue;
		ks_buf_printf(out, first ? "%s element inet %s %s { " : ", ", verb, table, set);
		first = false;
		ks_format_addr(addr, text);
		if (endpoints)
			ks_buf_printf(out, "%s . %s . %u", text, ks_proto_name(change->eps[i].proto), change->eps[i].port);
		else
			ks_buf_puts(out, text);
	}
	if (!first)
		ks_buf_puts(out, " }\n");
}

int ks_compile_endpoint_change(const struct ks_endpoint_change *change, const char *table, bool guard,
			       struct ks_buf *out)
{
	const char *verb = change->add ? "add" : "delete";
	char name[KS_GUARD_NAME_LEN];

	if (ks_parse_table_name(table) < 0)
		return -EINVAL;
	if (guard)
		ks_guard_name(table, name);
	else
		snprintf(name, sizeof(name), "%s", table);
	change_line(out, verb, name, KS_SET_ENDPOINTS4, AF_INET, change, true);
	change_line(out, verb, name, KS_SET_ENDPOINTS6, AF_INET6, change, true);
	change_line(out, verb, name, KS_SET_ENDPOINT_ADDRS4, AF_INET, change, false);
	change_line(out, verb, name, KS_SET_ENDPOINT_ADDRS6, AF_INET6, change, false);
	return out->err;
}
