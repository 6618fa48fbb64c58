/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_PROTECT_H
#define KILLSWITCH_PROTECT_H

#include <stdbool.h>
#include <stddef.h>

#include "killswitch/policy.h"

/*
 * Protected prefixes: destinations that may leave only through the tunnel
 * (the VPN's own networks). Pure functions (src/policy/protect.c).
 */

/*
 * Which of a WireGuard device's allowed IPs to protect: every one, except
 * those that stand for "everything". In a family whose allowed IPs together
 * cover the whole address space (0.0.0.0/0, or the common 0.0.0.0/1 +
 * 128.0.0.0/1), the tunnel is a full tunnel for that family: the outermost
 * prefixes of that cover are left out (protecting them would take the LAN
 * away from --allow-lan), and only the prefixes nested inside another one
 * (10.10.13.0/24 next to 0.0.0.0/0: the VPN's own network) are kept.
 * *out is malloc'ed (free it). 0 or -ENOMEM.
 */
int ks_protect_from_allowed_ips(const struct ks_cidr *ips, size_t n, struct ks_cidr **out, size_t *n_out);

/*
 * The network of a tunnel interface's address (10.66.0.2/24 -> 10.66.0.0/24)
 * in *out; -EDOM when there is none to protect (a /32 or /128: the address
 * is the host's own; a /0, which would be everything) or the prefix is out
 * of range.
 */
int ks_protect_from_address(const struct ks_addr *addr, unsigned prefix, struct ks_cidr *out);

/* Whether outer covers inner (same family, inner's addresses all inside outer). */
bool ks_cidr_contains(const struct ks_cidr *outer, const struct ks_cidr *inner);

#endif
