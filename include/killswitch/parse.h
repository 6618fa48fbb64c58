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

/* Text forms, for the compiler, status and policy files. */
#define KS_ADDR_STRLEN 46 /* INET6_ADDRSTRLEN */
#define KS_CIDR_STRLEN (KS_ADDR_STRLEN + 4)
#define KS_ENDPOINT_STRLEN (KS_ADDR_STRLEN + 12)
void ks_format_addr(const struct ks_addr *addr, char out[KS_ADDR_STRLEN]);
void ks_format_cidr(const struct ks_cidr *cidr, char out[KS_CIDR_STRLEN]);
void ks_format_endpoint(const struct ks_endpoint *endpoint, char out[KS_ENDPOINT_STRLEN]);
const char *ks_proto_name(uint8_t proto);

#endif
