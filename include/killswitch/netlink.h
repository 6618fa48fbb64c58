/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_NETLINK_H
#define KILLSWITCH_NETLINK_H

#include <stdint.h>

#include "killswitch/policy.h"

/*
 * rtnetlink (libmnl): adds the addresses configured on the policy's tunnel
 * interfaces to policy->tunnel_addrs, for the CVE-2019-14899 rule. A tunnel
 * that does not exist yet contributes nothing. Link-local addresses are
 * skipped (they are scoped to their link). Returns 0 or a negative errno.
 */
int ks_rtnl_tunnel_addrs(struct ks_policy *policy);

/*
 * wg-quick-style policy routing, for VPN clients that do not set it up,
 * in IPv4 and IPv6 (rtnetlink, libmnl):
 *   ip rule add not fwmark FWMARK table TABLE
 *   ip rule add table main suppress_prefixlength 0
 *   ip route add default dev TUNNEL table TABLE
 * Packets without the mark (everything but the VPN's own socket and
 * excluded programs) take the tunnel; the main table still serves its
 * more specific routes. Idempotent: what already exists is kept.
 * Returns 0 or a negative errno; *what names the step that failed.
 */
int ks_rtnl_routing_add(const char *tunnel, uint32_t fwmark, uint32_t table, const char **what);
/* Removes the two rules and the default routes of TABLE, both families; idempotent. */
int ks_rtnl_routing_del(uint32_t fwmark, uint32_t table, const char **what);

#endif
