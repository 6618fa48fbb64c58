/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_OPTIONS_H
#define KILLSWITCH_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "killswitch/error.h"
#include "killswitch/policy.h"

/* Options that steer a command rather than describe the policy. */
struct ks_options {
	bool json;
	bool persist;	  /* --persist: also store the policy for the boot unit */
	bool state_given; /* --state (compile only) */
};


/*
 * Parses POLICY options (argv holds only options and their values) into
 * policy. On bad input returns -EINVAL with a one-line "<what>: '<value>'"
 * in err, and the policy is left half-filled: the caller discards it.
 * Other negative errnos are system errors (reading --endpoints-file).
 * opts may be NULL where no command option is allowed.
 */
int ks_options_parse_args(struct ks_policy *policy, struct ks_options *opts, int argc, char *const argv[],
			  char err[KS_ERR_LEN]);

/*
 * A policy file: one option per line as on the command line ("--tunnel wg0",
 * "tunnel wg0" or "tunnel = wg0"), '#' comments, blank lines ignored. The
 * same option handlers serve both, so a value is parsed in one place. The
 * state files killswitch writes also hold keys no command line takes
 * (tunnel-addr, split-*) and the endpoint journal (killswitch/journal.h).
 */
int ks_options_parse_file(struct ks_policy *policy, const char *path, char err[KS_ERR_LEN]);

/* An endpoints file: one ADDR:PORT[/proto] per line, '#' comments. */
int ks_options_parse_endpoints_file(struct ks_policy *policy, const char *path, char err[KS_ERR_LEN]);

/* Writes policy as a policy file that ks_options_parse_file() reads back to an equal policy. */
struct ks_buf;
void ks_options_format(const struct ks_policy *policy, struct ks_buf *out);

#endif
