/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_PARSE_H
#define KILLSWITCH_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "killswitch/error.h" /* ks_escape, for the values the parsers refuse */
#include "killswitch/policy.h"

/*
 * Strict parsers shared by the command line and the policy files. Each
 * returns 0, or -EINVAL for input it refuses, and never prints. Nothing they
 * accept can carry nft syntax: every value is re-printed from its binary
 * form (addresses, numbers) or restricted to a safe alphabet (names).
 */

/* A numeric IPv4 or IPv6 address (inet_pton); hostnames are refused. */
int ks_parse_addr(const char *text, struct ks_addr *out);
/* An address usable as a unicast destination: not unspecified, multicast,
 * broadcast or IPv4-mapped. */
int ks_parse_unicast_addr(const char *text, struct ks_addr *out);
/* ADDR or ADDR/PREFIX with all host bits clear. */
int ks_parse_cidr(const char *text, struct ks_cidr *out);
/* 1..65535, decimal. */
int ks_parse_port(const char *text, uint16_t *out);
/* A 32-bit number, 0..0xffffffff, decimal or 0x-hex: marks, classids, routing tables, cgroup levels. */
int ks_parse_u32(const char *text, uint32_t *out);
/* 1..15 characters of [A-Za-z0-9_.-], not "." or "..". */
int ks_parse_ifname(const char *text, struct ks_ifname *out);
/*
 * A cgroup path relative to /sys/fs/cgroup: '/'-separated components of
 * [A-Za-z0-9_.-], none empty, "." or "..", shorter than KS_CGROUP_PATH_MAX.
 * *depth is the number of components.
 */
int ks_parse_cgroup_path(const char *text, char out[KS_CGROUP_PATH_MAX], unsigned *depth);
/*
 * A table name: "killswitch" followed by up to 22 of [A-Za-z0-9_]. nft
 * takes no quoted table names, and the prefix keeps keywords out.
 */
int ks_parse_table_name(const char *text);
/* ADDR:PORT[/udp|/tcp], [ADDR6]:PORT[/udp|/tcp]; udp by default. */
int ks_parse_endpoint(const char *text, struct ks_endpoint *out);
/*
 * --bypass: CIDR, CIDR:PORT[/tcp|/udp], [CIDR6]:PORT[/tcp|/udp], [CIDR6];
 * a bare address is a /32 (/128). Without a protocol a port means tcp and
 * udp. Refuses ranges broader than /8 (IPv4) or /16 (IPv6), and IPv6 with
 * a port but no brackets.
 */
int ks_parse_bypass(const char *text, struct ks_bypass *out);
/* --allow-in: PORT[/tcp|/udp][@IFACE]; tcp and udp without a protocol. */
int ks_parse_allow_in(const char *text, struct ks_allow_in *out);
/*
 * --bypass and --allow-in against the rest of the policy: a bypass needs the
 * VPN's fwmark (--fwmark none has no routing rule to steer by), and allow-in
 * names no tunnel. 0, or -EINVAL with a one-line message in err (if not NULL).
 */
int ks_exceptions_check(const struct ks_policy *policy, char err[KS_ERR_LEN]);

/* Text forms, for the compiler, status and policy files. */
#define KS_ADDR_STRLEN 46 /* INET6_ADDRSTRLEN */
#define KS_CIDR_STRLEN (KS_ADDR_STRLEN + 4)
#define KS_ENDPOINT_STRLEN (KS_ADDR_STRLEN + 12)
#define KS_BYPASS_STRLEN (KS_CIDR_STRLEN + 20)
#define KS_ALLOW_IN_STRLEN (IFNAMSIZ + 20)
void ks_format_addr(const struct ks_addr *addr, char out[KS_ADDR_STRLEN]);
void ks_format_cidr(const struct ks_cidr *cidr, char out[KS_CIDR_STRLEN]);
void ks_format_endpoint(const struct ks_endpoint *endpoint, char out[KS_ENDPOINT_STRLEN]);
/* The forms the parsers read back: "203.0.113.0/28:443/tcp", "[2001:db8::/48]:53", "22/tcp@eth0". */
void ks_format_bypass(const struct ks_bypass *bypass, char out[KS_BYPASS_STRLEN]);
void ks_format_allow_in(const struct ks_allow_in *allow_in, char out[KS_ALLOW_IN_STRLEN]);
const char *ks_proto_name(uint8_t proto);

#endif
