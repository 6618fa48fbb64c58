// SPDX-License-Identifier: GPL-2.0-or-later
/* killswitch: the table of subcommands, --help and --version, and the dispatch to each. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "killswitch/env.h"
#include "killswitch/parse.h"

const char *program_name = "killswitch";

#define POLICY_HELP                                                                                  \
	"POLICY:\n"                                                                                  \
	"  --tunnel IFACE            tunnel interface; traffic through it is allowed (repeatable)\n" \
	"  --endpoint ADDR:PORT[/udp|/tcp]\n"                                                        \
	"                            VPN server, IPv6 as [ADDR]:PORT, udp by default (repeatable)\n" \
	"  --endpoints-file FILE     one endpoint per line, '#' comments\n"                          \
	"  --fwmark MARK|none        mark of the VPN's own socket (default 0xca6c)\n"                \
	"  --dns ADDR                the only resolvers allowed, through the tunnel (repeatable)\n"  \
	"  --allow-lan               allow the fixed private, link-local and local multicast ranges\n" \
	"  --lan CIDR                an extra LAN range you vouch for (repeatable)\n"                \
	"  --ipv6 block|allow        IPv6 outside the tunnel (default block)\n"                      \
	"  --protect CIDR            only through the tunnel, whatever else is allowed (repeatable;\n" \
	"                            the tunnels' own networks and --from-wg's allowed IPs are added;\n" \
	"                            with two tunnels, each one's own prefixes only through it)\n"    \
	"  --partial                 partial tunnel (split-include): only the protected prefixes and\n" \
	"                            DNS to --dns are locked to the tunnel, the rest leaves as routed\n" \
	"  --include-only            only programs in the inclusion group (split-tunnel exec|add\n"  \
	"                            --include) use the tunnel, locked to it; the rest goes direct\n" \
	"  --gateway IFACE           route the clients on IFACE into the tunnel (VPN router): only\n" \
	"                            through it, masqueraded, DNS to the first --dns (repeatable)\n" \
	"  --bypass CIDR[:PORT[/tcp|/udp]]\n"                                                      \
	"                            a destination allowed off the tunnel when connected, IPv6 as\n" \
	"                            [CIDR]:PORT; never DNS, never a protected prefix (repeatable)\n" \
	"  --allow-in PORT[/tcp|/udp][@IFACE]\n"                                                    \
	"                            inbound connections accepted on non-tunnel interfaces, in\n"  \
	"                            every state (e.g. 22/tcp; tcp and udp without /proto)\n"      \
	"  --from-wg IFACE           tunnel, endpoints and fwmark from the WireGuard device\n"       \
	"  --from-openvpn-env        tunnel, server and DNS from OpenVPN's up/down environment\n"  \
	"  --persist                 also store the policy for the boot unit (enable, block)\n"    \
	"  --state enabled|blocked   which state to compile (compile only; default enabled)\n"     \
	"  --json                    machine-readable output\n"

static const struct {
	const char *name;
	int (*fn)(int argc, char *argv[]);
	const char *args;
	const char *description;
	bool policy;
} subcommands[] = {
	{ "enable", enable_main, "POLICY...", "apply the policy atomically (replaces any previous one)", true },
	{ "block", block_main, "[POLICY...]",
	  "blocked state: only loopback, DHCP/NDP, the LAN if allowed and --endpoint exemptions leave", true },
	{ "disable", disable_main, "[--json]", "remove everything killswitch installed; idempotent", false },
	{ "status", status_main, "[--json]", "active or not, state, the policy, drop counters", false },
	{ "compile", compile_main, "POLICY...", "print the ruleset enable would apply; no root, no kernel", true },
	{ "endpoint", endpoint_main, "add|del ADDR:PORT[/udp|/tcp]... [--json]",
	  "add or remove endpoints of the running table in one set transaction", false },
	{ "bypass", bypass_main, "add|del CIDR[:PORT[/tcp|/udp]]... [--json]",
	  "add or remove destinations allowed off the tunnel (the table applied again)", false },
	{ "allow-in", allow_in_main, "add|del PORT[/tcp|/udp][@IFACE]... [--json]",
	  "add or remove inbound ports accepted on non-tunnel interfaces (the table applied again)", false },
	{ "restore", restore_main, "[--json]", "apply the policy stored by enable --persist (the boot unit runs this)",
	  false },
	{ "watch", watch_main, "", "stay in the foreground; hold the guard table, restore the table when changed",
	  false },
	{ "portal", portal_main, "[--minutes N] -- CMD [ARG...]",
	  "run CMD (a browser) as you, able to reach the network's gateway and resolvers on 53, 80 and 443 for N "
	  "minutes (default 5, 1..60): a captive portal's login; all else stays blocked",
	  false },
	{ "routing", routing_main, "add|del [--tunnel IFACE] [--fwmark MARK] [--table T] [--include]",
	  "fwmark routing: wg-quick-style, or --include: the inclusion group's (--include-only)", false },
};
#define N_SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

static void show_usage(FILE *file)
{
	fprintf(file, "Usage: %s COMMAND [OPTIONS]\n\n", program_name);
	fprintf(file, "A kill switch for VPN clients: one atomic nftables table, inet killswitch,\n"
		      "that lets nothing leave outside the tunnel unless the policy says so.\n\n");
	fprintf(file, "Commands:\n");
	for (size_t i = 0; i < N_SUBCOMMANDS; i++) {
		if (strlen(subcommands[i].args) > 12)
			fprintf(file, "  %-8s %s\n  %-8s %-12s %s\n", subcommands[i].name, subcommands[i].args, "", "",
				subcommands[i].description);
		else
			fprintf(file, "  %-8s %-12s %s\n", subcommands[i].name, subcommands[i].args,
				subcommands[i].description);
	}
	fprintf(file, "\n" POLICY_HELP);
	fprintf(file, "\nExit status: 0 done, 1 the system refused (previous state intact),\n"
		      "2 bad usage or input (nothing changed). See killswitch(8).\n");
}

static void show_command_help(size_t i)
{
	printf("Usage: %s %s%s%s\n\n%s\n", program_name, subcommands[i].name, *subcommands[i].args ? " " : "",
	       subcommands[i].args, subcommands[i].description);
	if (subcommands[i].policy)
		printf("\n" POLICY_HELP);
}

int main(int argc, char *argv[])
{
	char err[KS_ERR_LEN] = "", escaped[KS_ERR_LEN / 2];

	if (argc < 2) {
		show_usage(stderr);
		return KS_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		show_usage(stdout);
		return KS_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("killswitch " KS_VERSION "\n");
		return KS_EXIT_OK;
	}
	for (size_t i = 0; i < N_SUBCOMMANDS; i++) {
		if (strcmp(argv[1], subcommands[i].name))
			continue;
		for (int a = 2; a < argc; a++) {
			/* What follows is a command's own (portal): its --help is not ours. */
			if (!strcmp(argv[a], "--") ||
			    (subcommands[i].fn == portal_main && argv[a][0] != '-' && strcmp(argv[a - 1], "--minutes")))
				break;
			if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
				show_command_help(i);
				return KS_EXIT_OK;
			}
		}
		if (ks_env_load(true, err) < 0)
			return cli_error(KS_EXIT_USAGE, "%s", err);
		return subcommands[i].fn(argc - 1, argv + 1);
	}
	return cli_error(KS_EXIT_USAGE, "unknown command (try --help): '%s'", ks_escape(argv[1], escaped, sizeof(escaped)));
}
