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
};

static inline void chain_open(struct compiler *c, const char *name, const char *type_hook, const char *policy)
{
	ks_buf_printf(c->out, "\n\tchain %s {\n\t\ttype %s; policy %s;\n", name, type_hook, policy);
}

/*
 * chain_open for a chain that may hold no rule (ks_chain_spec.may_idle):
 * unless hooked, the same name as a regular chain hooked nowhere. Empty,
 * its hook would still cost every packet (a NAT hook brings the NAT
 * machinery along); the name stays for the contract, `status` and `watch`.
 */
static inline void chain_open_idle(struct compiler *c, const char *name, bool hooked, const char *type_hook,
				   const char *policy)
{
	if (hooked)
		chain_open(c, name, type_hook, policy);
	else
		ks_buf_printf(c->out, "\n\tchain %s {\n", name);
}

static inline void rule(struct compiler *c, const char *text)
{
	ks_buf_printf(c->out, "\t\t%s\n", text);
}

/* sets.c: the named counters and every set. */
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

/* split.c: split tunnelling. excluded_match fills c->excluded; -EINVAL for a bad description. */
int excluded_match(struct compiler *c);
void excluded_accept(struct compiler *c);
void chain_split_tunnel(struct compiler *c);

#endif
