/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_SOURCES_H
#define KILLSWITCH_SOURCES_H

#include <stddef.h>
#include <stdint.h>

#include "killswitch/error.h"
#include "killswitch/policy.h"

/*
 * Policies read from the VPN client itself (src/sources/). Each parser is
 * pure (text or bytes in, values out) so unit tests feed it recorded
 * transcripts; the *_read functions do the I/O. All return 0, -EINVAL with
 * a one-line message in err for input they refuse, or another negative
 * errno for system errors.
 */

/* What a WireGuard device tells about itself. */
struct ks_wg_device {
	uint32_t fwmark; /* 0: none set */
	struct ks_endpoint *endpoints;
	size_t n_endpoints;
	struct ks_cidr *allowed_ips; /* every peer's, in the device's order */
	size_t n_allowed_ips;
};

void ks_wg_device_free(struct ks_wg_device *dev);

/* The reply to "get=1" on the UAPI socket of userspace implementations (wireguard-go, boringtun). */
int ks_wg_uapi_parse(const char *reply, struct ks_wg_device *dev, char err[KS_ERR_LEN]);
/* Asks /var/run/wireguard/IFACE.sock; -ENOENT when there is no socket. */
int ks_wg_uapi_read(const char *ifname, struct ks_wg_device *dev, char err[KS_ERR_LEN]);

/* One WG_CMD_GET_DEVICE reply message of kernel WireGuard (generic netlink). */
int ks_wg_genl_parse(const void *msg, size_t len, struct ks_wg_device *dev, char err[KS_ERR_LEN]);
/* Dumps the device over generic netlink; -ENOENT when the kernel has no WireGuard. */
int ks_wg_genl_read(const char *ifname, struct ks_wg_device *dev, char err[KS_ERR_LEN]);

/* The UAPI socket if there is one, else generic netlink. */
int ks_wg_read(const char *ifname, struct ks_wg_device *dev, char err[KS_ERR_LEN]);

/*
 * OpenVPN's --up/--down environment: dev, trusted_ip/trusted_ip6,
 * trusted_port, proto_1, ifconfig_local/ifconfig_ipv6_local and
 * "dhcp-option DNS|DNS6 ADDR" in foreign_option_N. envp is NULL-terminated.
 */
int ks_openvpn_env_parse(struct ks_policy *policy, char *const envp[], char err[KS_ERR_LEN]);

#endif
