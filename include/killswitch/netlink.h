/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_NETLINK_H
#define KILLSWITCH_NETLINK_H

#include "killswitch/policy.h"

/*
 * rtnetlink (libmnl): adds the addresses configured on the policy's tunnel
 * interfaces to policy->tunnel_addrs, for the CVE-2019-14899 rule. A tunnel
 * that does not exist yet contributes nothing. Link-local addresses are
 * skipped (they are scoped to their link). Returns 0 or a negative errno.
 */
int ks_rtnl_tunnel_addrs(struct ks_policy *policy);

#endif
