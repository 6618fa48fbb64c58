// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The ruleset compiler's entry points: policy in, nft text out. A table
 * whole, as one transaction, or as the guard. The order of the rules and the
 * reason for each are in docs/ruleset.md; keep both in step.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "compiler.h"
#include "killswitch/parse.h"
#include "killswitch/portal.h"

static bool lan_has_family(const struct ks_policy *p, int family)
{
	for (size_t i = 0; i < p->n_lan; i++)
		if (p->lan[i].addr.family == family)
			return true;
	return false;
}

/* The table named table (checked by the caller), whole or as the guard (flags: its "flags" line, or NULL). */
static int compile_table(const struct ks_policy *policy, const char *table, const char *flags, struct ks_buf *out)
{
	struct compiler c = { .p = policy, .out = out, .guard = flags != NULL };
	size_t start = out->len;

	if (tunnels_check(policy) < 0 || gateways_check(policy) < 0)
		return -EINVAL;
	/* A gateway's clients would be "the rest", left off the tunnel: never what a VPN router means. */
	if (policy->include_only && policy->n_gateways)
		return -EINVAL;
	/* --bypass without a fwmark to route by, --allow-in on a tunnel: refused (src/policy/exceptions.c). */
	if (ks_exceptions_check(policy, NULL) < 0)
		return -EINVAL;
	c.enabled = policy->state == KS_STATE_ENABLED;
	/* Partial without a protected prefix would lock nothing: a kill switch that is not one. */
	if (policy->partial && !policy->n_protect)
		return -EINVAL;
	/* --include-only: whoever is not included is left alone, as with --partial. */
	c.partial = policy->partial || policy->include_only;
	c.paired = policy->n_tunnels > 1 && policy->n_protect;
	c.lan4 = policy->allow_lan || lan_has_family(policy, AF_INET);
	c.lan6 = policy->allow_lan || lan_has_family(policy, AF_INET6);
	c.vouched4 = lan_has_family(policy, AF_INET);
	c.vouched6 = lan_has_family(policy, AF_INET6);
	if (!policy->fwmark_none)
		snprintf(c.mark, sizeof(c.mark), "meta mark 0x%x ", policy->fwmark);
	if (excluded_match(&c) < 0 || included_match(&c) < 0)
		return -EINVAL;
	/* Everyone not included already goes around the tunnel: nothing to exclude. */
	if (c.include_only) {
		*c.excluded = '\0';
		c.user_level = 0;
		c.unit_levels = 0;
	}
	/*
	 * Blocked means blocked for excluded programs too, so no rule names them:
	 * marked with the VPN's fwmark they would pass the endpoint exemption,
	 * reaching the VPN server's address and port off the tunnel while every
	 * other program is refused. Unmarked, they meet the same rules as the rest.
	 */
	if (!c.enabled) {
		*c.excluded = '\0';
		c.user_level = 0;
	}

	ks_buf_printf(out, "table inet %s {\n", table);
	if (flags)
		ks_buf_printf(out, "\tflags %s\n", flags);
	ks_buf_printf(out, "\tcomment \"killswitch%s: %s\"\n", flags ? " guard" : "", ks_state_name(policy->state));
	declarations(&c);
	portal_declarations(&c);
	chain_prerouting(&c);
	chain_output(&c);
	chain_input(&c);
	chain_forward(&c);
	chain_included_post(&c);
	chain_portal(&c);
	/* The guard leaves marking and NAT to the table: it only refuses what the table refuses. */
	if (!flags) {
		chain_split_tunnel(&c);
		chain_nat_prerouting(&c);
	}
	ks_buf_puts(out, "}\n");
	if (out->err) {
		out->len = start;
		return out->err;
	}
	return 0;
}

int ks_compile(const struct ks_policy *policy, const char *table, struct ks_buf *out)
{
	if (ks_parse_table_name(table) < 0)
		return -EINVAL;
	return compile_table(policy, table, NULL, out);
}

int ks_compile_transaction(const struct ks_policy *policy, const char *table, struct ks_buf *out)
{
	if (ks_parse_table_name(table) < 0)
		return -EINVAL;
	ks_buf_printf(out, "table inet %s\ndelete table inet %s\n", table, table);
	/* A re-apply ends an open portal (its sets come back empty): its table goes with it. */
	if (ks_compile_portal_table_removal(table, out) < 0)
		return -EINVAL;
	return compile_table(policy, table, NULL, out);
}

int ks_guard_name(const char *table, char name[KS_GUARD_NAME_LEN])
{
	if (ks_parse_table_name(table) < 0)
		return -EINVAL;
	snprintf(name, KS_GUARD_NAME_LEN, "%s" KS_GUARD_SUFFIX, table);
	return 0;
}

int ks_compile_guard_transaction(const struct ks_policy *policy, const char *table, bool persist, struct ks_buf *out)
{
	const char *flags = persist ? "owner, persist" : "owner";
	char guard[KS_GUARD_NAME_LEN];

	if (ks_guard_name(table, guard) < 0)
		return -EINVAL;
	/* Created owned (or adopted, when a persistent one lost its owner), then replaced whole. */
	ks_buf_printf(out, "table inet %s { flags %s; }\ndelete table inet %s\n", guard, flags, guard);
	return compile_table(policy, guard, flags, out);
}

int ks_compile_guard_removal(const char *table, bool owner, bool persist, struct ks_buf *out)
{
	char guard[KS_GUARD_NAME_LEN];

	if (ks_guard_name(table, guard) < 0)
		return -EINVAL;
	/* Created if absent, so that the delete cannot fail; by its owner with its flags (nftables refuses to drop one). */
	if (owner)
		ks_buf_printf(out, "table inet %s { flags %s; }\n", guard, persist ? "owner, persist" : "owner");
	else
		ks_buf_printf(out, "table inet %s\n", guard);
	ks_buf_printf(out, "delete table inet %s\n", guard);
	return out->err;
}
