// SPDX-License-Identifier: GPL-2.0-or-later
/* What killswitch's commands share: the policy from the command line, the start of a change, JSON output. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "killswitch/env.h"
#include "killswitch/nft.h"
#include "killswitch/parse.h"
#include "killswitch/rundir.h"

int cli_parse_policy(int argc, char *argv[], enum ks_state state, struct ks_policy *policy, struct ks_options *opts)
{
	char err[KS_ERR_LEN] = "";
	int ret;

	ks_policy_init(policy);
	policy->state = state;
	ret = ks_options_parse_args(policy, opts, argc - 1, argv + 1, err);
	/* Refused input, or a file or device that is not there: usage. Anything else: the system. */
	if (ret < 0 && !err[0])
		snprintf(err, sizeof(err), "cannot take in the policy: '%s'", strerror(-ret));
	if (ret == -EINVAL || ret == -ENOENT || ret == -ENODEV)
		return cli_error(KS_EXIT_USAGE, "%s", err);
	if (ret < 0)
		return cli_error(KS_EXIT_SYSTEM, "%s", err);
	ks_policy_finalize(policy);
	return KS_EXIT_OK;
}

/* CapEff from /proc: no libcap needed for one bit. */
static bool has_net_admin(void)
{
	unsigned long long caps = 0;
	char line[256];
	bool found = false;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return true; /* cannot tell: let the kernel decide */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1) {
			found = true;
			break;
		}
	fclose(f);
	return !found || (caps & (1ULL << 12 /* CAP_NET_ADMIN */));
}

int cli_begin(const char *command, const char **table, int *lock)
{
	char err[KS_ERR_LEN] = "";
	int ret;

	*table = ks_env()->table;
	ret = cli_require_net_admin(command);
	if (ret || !lock)
		return ret;
	if (ks_lock(lock, err) < 0)
		return cli_error(KS_EXIT_SYSTEM, "%s", err);
	cli_link_watch();
	return KS_EXIT_OK;
}

void cli_link_watch(void)
{
	char err[KS_ERR_LEN] = "", path[4096];
	int ret;

	/* Under the lock: watch restores only with the lock, so it answers rather than races. */
	if (ks_rundir_path(KS_WATCH_SOCKET, path, sizeof(path), err) < 0)
		return;
	ret = ks_nft_link(path, NULL);
	if (ret < 0 && ret != -ENOTCONN)
		cli_warn("cannot reach killswitch watch, so its guard table stays as it was: '%s'", strerror(-ret));
}

int cli_require_net_admin(const char *command)
{
	if (has_net_admin())
		return KS_EXIT_OK;
	return cli_error(KS_EXIT_SYSTEM, "%s needs root or CAP_NET_ADMIN: '%s'", command, "permission denied");
}

static json_t *addr_array(const struct ks_addr *addrs, size_t n)
{
	json_t *arr = json_array();
	char text[KS_ADDR_STRLEN];

	for (size_t i = 0; i < n; i++) {
		ks_format_addr(&addrs[i], text);
		json_array_append_new(arr, json_string(text));
	}
	return arr;
}

const char *cli_protect_source(const struct ks_protected *p)
{
	switch (p->source) {
	case KS_PROTECT_TUNNEL:
		return "tunnel address";
	case KS_PROTECT_ALLOWED_IPS:
		return "allowed IPs";
	default:
		return "--protect";
	}
}

/* Each protected prefix with where it came from: {"prefix": ..., "source": ..., "tunnel": ...}. */
static json_t *protected_array(const struct ks_policy *p)
{
	json_t *arr = json_array();
	char text[KS_CIDR_STRLEN];

	for (size_t i = 0; i < p->n_protect; i++) {
		json_t *one = json_object();

		ks_format_cidr(&p->protect[i].cidr, text);
		json_object_set_new(one, "prefix", json_string(text));
		json_object_set_new(one, "source", json_string(cli_protect_source(&p->protect[i])));
		if (p->protect[i].iface[0])
			json_object_set_new(one, "tunnel", json_string(p->protect[i].iface));
		json_array_append_new(arr, one);
	}
	return arr;
}

static json_t *split_json(const struct ks_split *split)
{
	json_t *obj = json_object();

	if (split->mode == KS_SPLIT_OFF) {
		json_object_set_new(obj, "mechanism", json_string("off"));
		return obj;
	}
	json_object_set_new(obj, "mechanism", json_string(split->mode == KS_SPLIT_V1 ? "v1" : "v2"));
	json_object_set_new(obj, "ct_mark", json_sprintf("0x%x", split->ct_mark));
	if (split->mode == KS_SPLIT_V1) {
		json_object_set_new(obj, "classid", json_sprintf("0x%x", split->classid));
	} else {
		json_object_set_new(obj, "cgroup", json_string(split->path));
		json_object_set_new(obj, "level", json_integer(split->level));
	}
	return obj;
}

/* --bypass and --allow-in as the strings the options take ("203.0.113.0/28:443/tcp", "22/tcp@eth0"). */
static void exceptions_json(json_t *obj, const struct ks_policy *p)
{
	json_t *bypass = json_array(), *allow_in = json_array();
	char text[KS_BYPASS_STRLEN];

	for (size_t i = 0; i < p->n_bypass; i++) {
		ks_format_bypass(&p->bypass[i], text);
		json_array_append_new(bypass, json_string(text));
	}
	for (size_t i = 0; i < p->n_allow_in; i++) {
		ks_format_allow_in(&p->allow_in[i], text);
		json_array_append_new(allow_in, json_string(text));
	}
	json_object_set_new(obj, "bypass", bypass);
	json_object_set_new(obj, "allow_in", allow_in);
}

json_t *cli_policy_json(const struct ks_policy *p)
{
	json_t *obj = json_object(), *tunnels = json_array(), *eps = json_array(), *lan = json_array();
	json_t *gateways = json_array();
	char text[KS_ENDPOINT_STRLEN];

	for (size_t i = 0; i < p->n_gateways; i++)
		json_array_append_new(gateways, json_string(p->gateways[i].name));
	for (size_t i = 0; i < p->n_tunnels; i++)
		json_array_append_new(tunnels, json_string(p->tunnels[i].name));
	for (size_t i = 0; i < p->n_endpoints; i++) {
		ks_format_endpoint(&p->endpoints[i], text);
		json_array_append_new(eps, json_string(text));
	}
	for (size_t i = 0; i < p->n_lan; i++) {
		ks_format_cidr(&p->lan[i], text);
		json_array_append_new(lan, json_string(text));
	}
	json_object_set_new(obj, "state", json_string(ks_state_name(p->state)));
	json_object_set_new(obj, "tunnels", tunnels);
	json_object_set_new(obj, "endpoints", eps);
	if (p->fwmark_none) {
		json_object_set_new(obj, "fwmark", json_null());
	} else {
		snprintf(text, sizeof(text), "0x%x", p->fwmark);
		json_object_set_new(obj, "fwmark", json_string(text));
	}
	json_object_set_new(obj, "endpoints_scoped_to_fwmark", json_boolean(!p->fwmark_none));
	json_object_set_new(obj, "dns", addr_array(p->resolvers, p->n_resolvers));
	json_object_set_new(obj, "allow_lan", json_boolean(p->allow_lan));
	json_object_set_new(obj, "lan", lan);
	json_object_set_new(obj, "ipv6", json_string(p->ipv6 == KS_IPV6_ALLOW ? "allow" : "block"));
	json_object_set_new(obj, "tunnel_addrs", addr_array(p->tunnel_addrs, p->n_tunnel_addrs));
	json_object_set_new(obj, "protected", protected_array(p));
	json_object_set_new(obj, "partial", json_boolean(p->partial));
	json_object_set_new(obj, "split_tunnel", split_json(&p->split));
	json_object_set_new(obj, "gateways", gateways);
	/* --include-only: only the inclusion group uses the tunnel (docs/include-only.md). */
	json_object_set_new(obj, "include_only", json_boolean(p->include_only));
	if (p->include_only)
		json_object_set_new(obj, "include_group", split_json(&p->include));
	exceptions_json(obj, p);
	return obj;
}

int cli_print_json(json_t *obj)
{
	char *text = obj ? json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

	json_decref(obj);
	if (!text)
		return cli_error(KS_EXIT_SYSTEM, "cannot format JSON: '%s'", strerror(ENOMEM));
	puts(text);
	free(text);
	return KS_EXIT_OK;
}
