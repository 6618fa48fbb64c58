/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_CLI_OUTPUT_H
#define KILLSWITCH_CLI_OUTPUT_H

#include "killswitch/options.h"

/*
 * What both programs print (src/cli/output.c). split-tunnel, which may run
 * setuid root, includes this rather than cli.h: killswitch's commands
 * print their JSON through jansson, which split-tunnel does not link.
 */

/* The exit codes every caller relies on (killswitch(8), EXIT STATUS). */
enum {
	KS_EXIT_OK = 0,
	KS_EXIT_SYSTEM = 1, /* the system refused; the previous state is intact */
	KS_EXIT_USAGE = 2,  /* bad usage or input; nothing was changed */
};

extern const char *program_name;

/* "killswitch: <msg>" on stderr; returns code. */
int cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* For commands whose only option is --json. */
int cli_parse_json_only(int argc, char *argv[], struct ks_options *opts);

#endif
