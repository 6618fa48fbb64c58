// SPDX-License-Identifier: GPL-2.0-or-later
/* split-tunnel: run programs outside the tunnel, or move running ones in and out. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

#include "killswitch/parse.h"
#include "split.h"

const char *program_name = "split-tunnel";

static const struct {
	const char *name;
	int (*fn)(int argc, char *argv[]);
	const char *args;
	const char *description;
} subcommands[] = {
	{ "exec", split_exec_main, "[--] CMD [ARG...]", "run CMD (and all its children) outside the tunnel" },
	{ "add", split_add_main, "PID", "move a running process into the exclusion group" },
	{ "del", split_del_main, "PID", "move it back (its new connections use the tunnel again)" },
	{ "add", split_add_main, "--unit|--slice NAME [--user] [--persist]",
	  "exclude a systemd unit by its cgroup, at each start (root; --user: yours)" },
	{ "del", split_del_main, "--unit|--slice NAME [--user]", "put the unit back in the tunnel, now and at boot" },
	{ "list", split_list_main, "[--json]", "excluded PIDs with their command names, and the excluded units" },
	{ "exec", split_exec_main, "--include [--] CMD [ARG...]",
	  "run CMD in the inclusion group: only through the tunnel (--include-only)" },
	{ "add", split_add_main, "--include PID", "move a running process into the inclusion group" },
	{ "del", split_del_main, "--include PID", "move it back out (its new connections go direct again)" },
	{ "list", split_list_main, "--include [--json]", "the inclusion group's PIDs" },
};
#define N_SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

static void show_usage(FILE *file)
{
	fprintf(file, "Usage: %s COMMAND [ARGS]\n\n", program_name);
	fprintf(file, "Split tunnelling for killswitch: programs in the exclusion cgroup reach the\n"
		      "network directly, outside the VPN tunnel; everything else stays in it. Under\n"
		      "killswitch --include-only the reverse: only the inclusion group (--include) uses\n"
		      "the tunnel, and is locked to it.\n\n");
	fprintf(file, "Commands:\n");
	for (size_t i = 0; i < N_SUBCOMMANDS; i++)
		/* A long form on a line of its own, its description below it. */
		if (strlen(subcommands[i].args) > 18)
			fprintf(file, "  %-5s %s\n  %-24s %s\n", subcommands[i].name, subcommands[i].args, "",
				subcommands[i].description);
		else
			fprintf(file, "  %-5s %-18s %s\n", subcommands[i].name, subcommands[i].args,
				subcommands[i].description);
	fprintf(file, "\nExit status: 0 done, 1 the system refused, 2 bad usage; exec: the command's\n"
		      "own status, 126 when it cannot be run, 127 when it is not found. See split-tunnel(1).\n");
}

static bool is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

int main(int argc, char *argv[])
{
	char escaped[KS_ERR_LEN / 2];

	/* Before anything reads the environment: it is the caller's, and we may be root for them. */
	if (getauxval(AT_SECURE))
		ks_priv_sanitize();
	if (argc < 2) {
		show_usage(stderr);
		return KS_EXIT_USAGE;
	}
	if (is_help(argv[1]) || !strcmp(argv[1], "help")) {
		show_usage(stdout);
		return KS_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("split-tunnel " KS_VERSION "\n");
		return KS_EXIT_OK;
	}
	for (size_t i = 0; i < N_SUBCOMMANDS; i++) {
		if (strcmp(argv[1], subcommands[i].name))
			continue;
		/* For exec only right after it: later ones belong to the command. */
		for (int a = 2; a < argc && (a == 2 || i != 0); a++)
			if (is_help(argv[a])) {
				/* Every form of the command (add PID, add --unit ...). */
				for (size_t j = i; j < N_SUBCOMMANDS; j++)
					if (!strcmp(argv[1], subcommands[j].name))
						printf("Usage: %s %s %s\n  %s\n", program_name, subcommands[j].name,
						       subcommands[j].args, subcommands[j].description);
				return KS_EXIT_OK;
			}
		return subcommands[i].fn(argc - 1, argv + 1);
	}
	return cli_error(KS_EXIT_USAGE, "unknown command (try --help): '%s'", ks_escape(argv[1], escaped, sizeof(escaped)));
}
