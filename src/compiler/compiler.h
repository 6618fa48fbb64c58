/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The compiler's private interface: the state of one table's compilation,
 * and the functions each file of src/compiler/ gives the others. Only
 * compile.h is public.
 */
#ifndef KILLSWITCH_COMPILER_H
#define KILLSWITCH_COMPILER_H

#include <stdbool.h>
#include <stdint.h>

#include "killswitch/buf.h"
#include "killswitch/compile.h"
#include "killswitch/policy.h"
#include "killswitch/schema.h"

struct compiler {
	const struct ks_policy *p;
	struct ks_buf *out;
	bool enabled;
	bool lan4, lan6;	 /* the LAN sets hold something */
	bool vouched4, vouched6; /* the user gave --lan ranges of that family */
	char mark[32]; /* "meta mark 0x... " or "" with --fwmark none */
	/* Split tunnelling: the match for excluded sockets, "" when off or blocked. */
	char excluded[KS_CGROUP_PATH_MAX + 48];
	unsigned user_level; /* v2: the level of the groups in users' slices */
	uint32_t unit_levels; /* v2: the levels of excluded units' cgroups (bit N: level N) */
	bool guard;	     /* the guard table: the filter chains only (see ks_compile_guard) */
	bool partial;	     /* --partial: only the protected prefixes and the resolvers are locked */
	bool paired;	     /* two tunnels or more: each protected prefix only through its own */
	bool include_only;   /* --include-only: the rest as with --partial, the included locked to the tunnel */
	/* --include-only: the match for included sockets (every state), "" when there is no group. */
	char included[KS_CGROUP_PATH_MAX + 48];
};

static inline void chain_open(struct compiler *c, const char *name, const char *type_hook, const char *policy)
{
	ks_buf_printf(c->out, "\n\tchain %s {\n\t\ttype %s; policy %s;\n", name, type_hook, policy);
}

/*
 * A chain that may hold no rule (ks_chain_spec.may_idle): opened as
 * chain_open does, closed by chain_close_idle, which turns it into a
 * regular chain of the same name, hooked nowhere, when nothing was written
 * between the two. Empty, its hook would still cost every packet (a NAT
 * hook brings the NAT machinery along); the name stays for the contract,
 * `status` and `watch`. Whatever part of the compiler fills it, it is
 * hooked exactly when it has a rule.
 */
struct idle_chain {
	const char *name;
	size_t at, body; /* where its header starts, and its body */
};

static inline struct idle_chain chain_open_idle(struct compiler *c, const char *name, const char *type_hook,
						const char *policy)
{
	struct idle_chain chain = { .name = name, .at = c->out->len };

	chain_open(c, name, type_hook, policy);
	chain.body = c->out->len;
	return chain;
}

static inline void chain_close_idle(struct compiler *c, const struct idle_chain *chain)
{
	if (!c->out->err && c->out->len == chain->body) {
		c->out->len = chain->at;
		ks_buf_printf(c->out, "\n\tchain %s {\n", chain->name);
	}
	ks_buf_puts(c->out, "\t}\n");
}

static inline void rule(struct compiler *c, const char *text)
{
	ks_buf_printf(c->out, "\t\t%s\n", text);
}

/* sets.c: the named counters and every set. */
/*
 * The tunnels' names are pasted between quotes: checked by every entry
 * point, whoever filled the policy (-EINVAL for one that is not a valid
 * interface name).
 */
int tunnels_check(const struct ks_policy *p);
/* The tunnels set (ifname): the table's, and the portal table's NAT. */
void set_tunnels(struct compiler *c);
void declarations(struct compiler *c);

/* filter.c: the filter chains, in this order. */
void chain_prerouting(struct compiler *c);
void chain_output(struct compiler *c);
void chain_input(struct compiler *c);
void chain_forward(struct compiler *c);

/* protected.c: the VPN's own networks, refused off the tunnel (_out) and posers from off it (_in). */
void protected_out(struct compiler *c, const char *counter);
void protected_in(struct compiler *c, const char *counter);
/* ... and, with several tunnels, off their own tunnel. */
void protected_via_out(struct compiler *c, const char *counter);
void protected_via_in(struct compiler *c, const char *counter);

/* partial.c: the ends of the filter chains under --partial (each closes its chain). */
void partial_out_tail(struct compiler *c, const char *counter, bool forwarded);
void partial_in_tail(struct compiler *c);
void chain_forward_partial(struct compiler *c);

/* gateway.c: --gateway. */
int gateways_check(const struct ks_policy *p);
void gateway_dhcp_server(struct compiler *c, bool out);
void gateway_forward(struct compiler *c);
void gateway_masquerade(struct compiler *c);
void chain_nat_prerouting(struct compiler *c);

/* exceptions.c: --bypass and --allow-in (each emits nothing for a policy without them). */
void exceptions_sets(struct compiler *c);
void exceptions_prerouting(struct compiler *c);
void allow_in_out(struct compiler *c);
void bypass_out(struct compiler *c);
void exceptions_in(struct compiler *c);
void exceptions_mangle(struct compiler *c);
void exceptions_chains(struct compiler *c);
void exceptions_masquerade(struct compiler *c);

/* split.c: split tunnelling. excluded_match fills c->excluded; -EINVAL for a bad description. */
int excluded_match(struct compiler *c);
void excluded_accept(struct compiler *c);
void chain_split_tunnel(struct compiler *c);

/* include.c: --include-only. included_match fills c->included; -EINVAL for a bad description. */
int included_match(struct compiler *c);
void included_loopback(struct compiler *c);
void included_out(struct compiler *c, const char *counter);
void chain_included_post(struct compiler *c);
void included_in(struct compiler *c, const char *counter);
void included_prerouting(struct compiler *c);
void included_mangle(struct compiler *c);
void chain_included(struct compiler *c);
void included_masquerade(struct compiler *c);
/* portal.c: the captive portal group (killswitch portal), in every table and state. */
void portal_declarations(struct compiler *c);
void portal_prerouting(struct compiler *c);
void portal_out(struct compiler *c);
void portal_in(struct compiler *c);
void chain_portal(struct compiler *c);

#endif
