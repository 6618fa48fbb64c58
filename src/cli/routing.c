// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * routing add|del: wg-quick-style fwmark routing for clients that do not set
 * it up; with --include, the routing of --include-only (the inclusion
 * group's mark into the tunnel's table, nothing else).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "killswitch/netlink.h"
#include "killswitch/parse.h"
#include "killswitch/rundir.h"

struct routing_args {
	bool add;
	const char *tunnel;
	uint32_t fwmark;
	uint32_t table; /* 0: the fwmark's value, as wg-quick does */
	bool include;	/* --include: "fwmark KS_INCLUDE_MARK table TABLE" */
	bool fwmark_given;
};

static int parse(int argc, char *argv[], struct routing_args *args)
{
	char escaped[KS_ERR_LEN / 2];
	struct ks_ifname name;

	if (argc < 2 || (strcmp(argv[1], "add") && strcmp(argv[1], "del")))
		return cli_error(KS_EXIT_USAGE, "routing needs add or del: '%s'",
				 ks_escape(argc < 2 ? "" : argv[1], escaped, sizeof(escaped)));
	args->add = !strcmp(argv[1], "add");
	/* Options come in pairs: --name VALUE; --include alone. */
	for (int i = 2; i < argc; i += 2) {
		const char *opt = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(opt, "--include")) {
			args->include = true;
			i--;
		} else if (!strcmp(opt, "--tunnel") && args->add) {
			if (ks_parse_ifname(value, &name) < 0)
				return cli_error(KS_EXIT_USAGE, "invalid interface name: '%s'",
						 ks_escape(value, escaped, sizeof(escaped)));
			args->tunnel = value;
		} else if (!strcmp(opt, "--fwmark")) {
			if (ks_parse_u32(value, &args->fwmark) < 0 || !args->fwmark)
				return cli_error(KS_EXIT_USAGE, "invalid fwmark (nonzero): '%s'",
						 ks_escape(value, escaped, sizeof(escaped)));
			args->fwmark_given = true;
		} else if (!strcmp(opt, "--table")) {
			/* 253-255 are default, main and local: never ours to fill or empty. */
			if (ks_parse_u32(value, &args->table) < 0 || !args->table ||
			    (args->table >= 253 && args->table <= 255))
				return cli_error(KS_EXIT_USAGE, "invalid routing table (1-4294967295, not 253-255): '%s'",
						 ks_escape(value, escaped, sizeof(escaped)));
		} else {
			return cli_error(KS_EXIT_USAGE, "unknown option: '%s'", ks_escape(opt, escaped, sizeof(escaped)));
		}
	}
	if (args->add && !args->tunnel)
		return cli_error(KS_EXIT_USAGE, "routing add needs --tunnel: '%s'", "");
	/* The inclusion group's mark is the ruleset's; the table defaults to wg-quick's (51820). */
	if (args->include && args->fwmark_given)
		return cli_error(KS_EXIT_USAGE, "--include routes the inclusion group's own mark (0x%x), not: '0x%x'",
				 KS_INCLUDE_MARK, args->fwmark);
	if (!args->table)
		args->table = args->fwmark;
	if (args->table >= 253 && args->table <= 255)
		return cli_error(KS_EXIT_USAGE, "the fwmark names a reserved table, give --table: '0x%x'", args->fwmark);
	return KS_EXIT_OK;
}

/*
 * Whether the policy killswitch applied is --partial. Its routing is the VPN
 * client's: routes for the protected prefixes into the tunnel, the rest by
 * the main table. wg-quick-style fwmark routing is a full tunnel's.
 */
static bool applied_partial(bool *include_only)
{
	char err[KS_ERR_LEN] = "";
	struct ks_policy policy;
	bool partial;

	ks_policy_init(&policy);
	partial = ks_state_load(&policy, err) == 0 && policy.partial;
	*include_only = policy.include_only;
	ks_policy_free(&policy);
	return partial;
}

/* routing add|del --include: the inclusion group's mark into the tunnel's table (docs/include-only.md). */
static int include_routing(const struct routing_args *args, const char *verb)
{
	const char *what = "";
	int ret = args->add ? ks_rtnl_include_routing_add(args->tunnel, KS_INCLUDE_MARK, args->table, &what)
			    : ks_rtnl_include_routing_del(KS_INCLUDE_MARK, args->table, &what);

	if (ret < 0)
		return cli_error(KS_EXIT_SYSTEM, "routing %s --include failed at the %s (%s): '%s'", verb, what,
				 strerror(-ret), args->add ? args->tunnel : "del");
	/* Replies to included connections pass rp_filter through the tunnel's table (the prerouting mark). */
	if (args->add && cli_sysctl_set(KS_SYSCTL_SRC_VALID_MARK, "1") < 0)
		cli_warn("cannot set net.ipv4.conf.all.src_valid_mark=1");
	return KS_EXIT_OK;
}

int routing_main(int argc, char *argv[])
{
	struct routing_args args = { .fwmark = KS_DEFAULT_FWMARK };
	char err[KS_ERR_LEN] = "";
	const char *what = "";
	bool partial, include_only;
	int ret;

	ret = parse(argc, argv, &args);
	if (ret)
		return ret;
	ret = cli_require_net_admin(argv[0]);
	if (ret)
		return ret;
	partial = applied_partial(&include_only);
	if (args.add && include_only && !args.include)
		return cli_error(KS_EXIT_USAGE,
				 "the kill switch's policy is --include-only: full-tunnel routing would send every "
				 "program into the tunnel; use routing add --include: '%s'",
				 args.tunnel);
	if (args.include)
		return include_routing(&args, argv[1]);
	if (args.add && partial)
		return cli_error(KS_EXIT_USAGE,
				 "the kill switch's policy is --partial: a split-include VPN routes only its own networks "
				 "(its client sets those routes); full-tunnel routing would send everything into it: '%s'",
				 args.tunnel);
	ret = args.add ? ks_rtnl_routing_add(args.tunnel, args.fwmark, args.table, &what)
		       : ks_rtnl_routing_del(args.fwmark, args.table, &what);
	if (ret < 0)
		return cli_error(KS_EXIT_SYSTEM, "routing %s failed at the %s (%s): '%s'", argv[1], what,
				 strerror(-ret), args.add ? args.tunnel : "del");
	if (args.add) {
		/* Replies to marked packets must pass rp_filter through the table their mark selects. */
		if (cli_sysctl_set(KS_SYSCTL_SRC_VALID_MARK, "1") < 0)
			cli_warn("cannot set net.ipv4.conf.all.src_valid_mark=1");
		ret = ks_routing_record_save(args.fwmark, args.table, err);
	} else {
		uint32_t fwmark, table;

		/* Forget what routing add installed only if that is what was just removed. */
		ret = ks_routing_record_load(&fwmark, &table, err);
		if (ret == 0 && fwmark == args.fwmark && table == args.table)
			ret = ks_routing_record_clear(err);
		else if (ret == -ENOENT || ret == 0)
			ret = 0;
	}
	if (ret < 0)
		cli_warn("%s", err);
	return KS_EXIT_OK;
}
