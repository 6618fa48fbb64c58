// SPDX-License-Identifier: GPL-2.0-or-later
/* compile: the text enable would apply; no privileges, no kernel. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "killswitch/cgroup.h"
#include "killswitch/compile.h"
#include "killswitch/rundir.h"

int compile_main(int argc, char *argv[])
{
	struct ks_policy policy;
	struct ks_options opts = { 0 };
	struct ks_buf text = KS_BUF_INIT;
	char err[KS_ERR_LEN] = "";
	const char *table;
	int ret;

	ret = cli_parse_policy(argc, argv, KS_STATE_ENABLED, &policy, &opts);
	if (ret)
		goto cleanup;
	if (ks_table_name(&table, err) < 0) {
		ret = cli_error(KS_EXIT_USAGE, "%s", err);
		goto cleanup;
	}
	/*
	 * The split-tunnel rules enable would add, planned but not created:
	 * compile stays unprivileged and free of side effects. Where there is
	 * nothing to plan with there is nothing to say; a bad override is worth
	 * a warning, as in enable.
	 */
	if (!policy.fwmark_none && ks_cgroup_choose(true, &policy.split, err) == -EINVAL)
		cli_warn("split tunnelling is off: %s", err);
	if (ks_compile(&policy, table, &text) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "cannot compile the ruleset: '%s'", strerror(ENOMEM));
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
