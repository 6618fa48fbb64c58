// SPDX-License-Identifier: GPL-2.0-or-later
/* compile: the text enable would apply; no privileges, no kernel. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "killswitch/compile.h"
#include "killswitch/env.h"
#include "killswitch/rundir.h"

int compile_main(int argc, char *argv[])
{
	struct ks_policy policy;
	struct ks_options opts = { 0 };
	struct ks_buf text = KS_BUF_INIT;
	char err[KS_ERR_LEN];
	const char *table;
	int ret;

	ret = cli_parse_policy(argc, argv, KS_STATE_ENABLED, &policy, &opts);
	if (ret)
		goto cleanup;
	if (opts.persist) {
		ret = cli_error(KS_EXIT_USAGE, "compile changes nothing, there is nothing to persist: '%s'", "--persist");
		goto cleanup;
	}
	table = ks_env()->table;
	/* What enable would learn too: tunnel addresses, and the split-tunnel plan (nothing created). */
	cli_policy_discover(&policy, false, false);
	if (cli_partial_unprotected(&policy, err)) {
		ret = cli_error(KS_EXIT_USAGE, "%s", err);
		goto cleanup;
	}
	ret = ks_compile(&policy, table, &text);
	if (ret < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "cannot compile the ruleset: '%s'",
				ret == -ENOMEM ? strerror(ENOMEM) : "inconsistent policy");
		goto cleanup;
	}
	if (opts.json) {
		json_t *obj = json_object();

		json_object_set_new(obj, "table", json_sprintf("inet %s", table));
		json_object_set_new(obj, "policy", cli_policy_json(&policy));
		json_object_set_new(obj, "ruleset", json_stringn(text.data, text.len));
		ret = cli_print_json(obj);
	} else {
		ret = fwrite(text.data, 1, text.len, stdout) == text.len && fflush(stdout) == 0
			      ? KS_EXIT_OK
			      : cli_error(KS_EXIT_SYSTEM, "cannot write the ruleset: '%s'", strerror(errno));
	}
cleanup:
	ks_buf_free(&text);
	ks_policy_free(&policy);
	return ret;
}
