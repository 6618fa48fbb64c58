// SPDX-License-Identifier: GPL-2.0-or-later
/* The environment OpenVPN gives its --up and --down scripts. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "killswitch/parse.h"
#include "killswitch/sources.h"

static const char *env_get(char *const envp[], const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; envp && envp[i]; i++)
		if (!strncmp(envp[i], name, len) && envp[i][len] == '=')
			return envp[i] + len + 1;
	return NULL;
}

static int refuse(char err[KS_ERR_LEN], const char *what, const char *value)
{
	char escaped[KS_ERR_LEN / 2];

	snprintf(err, KS_ERR_LEN, "%s: '%s'", what, ks_escape(value ? value : "", escaped, sizeof(escaped)));
	return -EINVAL;
}

/* "dhcp-option DNS ADDR" / "dhcp-option DNS6 ADDR"; other foreign options are not ours. */
static int foreign_option(struct ks_policy *policy, const char *value, char err[KS_ERR_LEN])
{
	char kind[8], addr_text[KS_ADDR_STRLEN + 1], rest;
	struct ks_addr addr;

	if (strncmp(value, "dhcp-option DNS", strlen("dhcp-option DNS")))
		return 0;
	if (sscanf(value, "dhcp-option %7s %46s %c", kind, addr_text, &rest) != 2 ||
	    (strcmp(kind, "DNS") && strcmp(kind, "DNS6")) || ks_parse_unicast_addr(addr_text, &addr) < 0)
		return refuse(err, "invalid OpenVPN DNS option", value);
	return ks_policy_add_resolver(policy, &addr);
}

static int endpoint(struct ks_policy *policy, const char *ip, const char *port, const char *proto,
		    char err[KS_ERR_LEN])
{
	struct ks_endpoint ep;
	struct ks_addr addr;
	uint16_t p;

	if (ks_parse_unicast_addr(ip, &addr) < 0)
		return refuse(err, "invalid OpenVPN trusted_ip", ip);
	if (ks_parse_port(port, &p) < 0)
		return refuse(err, "invalid OpenVPN trusted_port", port);
	memset(&ep, 0, sizeof(ep));
	ep.addr = addr;
	ep.port = p;
	if (!strcmp(proto, "udp") || !strcmp(proto, "udp4") || !strcmp(proto, "udp6"))
		ep.proto = IPPROTO_UDP;
	else if (!strcmp(proto, "tcp-client") || !strcmp(proto, "tcp4-client") || !strcmp(proto, "tcp6-client") ||
		 !strcmp(proto, "tcp") || !strcmp(proto, "tcp4") || !strcmp(proto, "tcp6"))
		ep.proto = IPPROTO_TCP;
	else
		return refuse(err, "invalid OpenVPN proto_1", proto);
	return ks_policy_add_endpoint(policy, &ep);
}

int ks_openvpn_env_parse(struct ks_policy *policy, char *const envp[], char err[KS_ERR_LEN])
{
	const char *dev = env_get(envp, "dev"), *port = env_get(envp, "trusted_port");
	const char *ip4 = env_get(envp, "trusted_ip"), *ip6 = env_get(envp, "trusted_ip6");
	const char *proto = env_get(envp, "proto_1");
	const char *locals[] = { env_get(envp, "ifconfig_local"), env_get(envp, "ifconfig_ipv6_local") };
	struct ks_ifname name;
	int ret;

	if (!dev || ks_parse_ifname(dev, &name) < 0)
		return refuse(err, "invalid or missing OpenVPN dev", dev);
	/* As --tunnel: a loopback "tunnel" would make 127.0.0.0/8 the VPN's and its traffic the tunnel's. */
	if (!strcmp(name.name, "lo"))
		return refuse(err, "OpenVPN dev is loopback, never a tunnel", dev);
	ret = ks_policy_add_tunnel(policy, name.name);
	if (ret < 0)
		return ret;
	if (!ip4 && !ip6)
		return refuse(err, "OpenVPN environment has no trusted_ip or trusted_ip6", "");
	if (!port || !proto)
		return refuse(err, "OpenVPN environment lacks trusted_port or proto_1", port ? "proto_1" : "trusted_port");
	if (ip4 && (ret = endpoint(policy, ip4, port, proto, err)) < 0)
		return ret;
	if (ip6 && (ret = endpoint(policy, ip6, port, proto, err)) < 0)
		return ret;
	for (size_t i = 0; i < sizeof(locals) / sizeof(locals[0]); i++) {
		struct ks_addr addr;

		if (!locals[i])
			continue;
		if (ks_parse_unicast_addr(locals[i], &addr) < 0)
			return refuse(err, "invalid OpenVPN ifconfig address", locals[i]);
		ret = ks_policy_add_tunnel_addr(policy, &addr);
		if (ret < 0)
			return ret;
	}
	for (unsigned n = 1;; n++) {
		char var[32];
		const char *value;

		snprintf(var, sizeof(var), "foreign_option_%u", n);
		value = env_get(envp, var);
		if (!value)
			break;
		ret = foreign_option(policy, value, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}
