// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * endpoint add|del: change the endpoint sets of the running table in one
 * set-element transaction. No table rebuild, so the cost does not depend
 * on the number of endpoints, and there is no instant without the table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "killswitch/array.h"
#include "killswitch/compile.h"
#include "killswitch/nft.h"
#include "killswitch/parse.h"
#include "killswitch/rundir.h"

/* The policy after the change, for the state file. */
static int update_policy(struct ks_policy *policy, const struct ks_endpoint *eps, size_t n, bool add)
{
	size_t kept = 0;

	if (add) {
		for (size_t i = 0; i < n; i++) {
			int ret = ks_policy_add_endpoint(policy, &eps[i]);

			if (ret < 0)
				return ret;
		}
		ks_policy_finalize(policy);
		return 0;
	}
	for (size_t i = 0; i < policy->n_endpoints; i++) {
		bool leaving = false;

		for (size_t j = 0; j < n; j++)
			leaving |= !memcmp(&policy->endpoints[i], &eps[j], sizeof(eps[j]));
		if (!leaving)
			policy->endpoints[kept++] = policy->endpoints[i];
	}
	policy->n_endpoints = kept;
	return 0;
}

int endpoint_main(int argc, char *argv[])
{
	struct ks_endpoint *eps = NULL;
	struct ks_buf text = KS_BUF_INIT;
	struct ks_policy policy;
	char err[KS_ERR_LEN] = "", escaped[KS_ERR_LEN / 2];
	const char *table;
	size_t n = 0, changes = 0;
	bool add, json = false;
	int lock = -1, ret;

	ks_policy_init(&policy);
	if (argc < 2 || (strcmp(argv[1], "add") && strcmp(argv[1], "del"))) {
		ret = cli_error(KS_EXIT_USAGE, "endpoint needs add or del: '%s'",
				ks_escape(argc < 2 ? "" : argv[1], escaped, sizeof(escaped)));
		goto cleanup;
	}
	add = !strcmp(argv[1], "add");
	for (int i = 2; i < argc; i++) {
		struct ks_endpoint ep;

		if (!strcmp(argv[i], "--json")) {
			json = true;
			continue;
		}
		if (ks_parse_endpoint(argv[i], &ep) < 0) {
			ret = cli_error(KS_EXIT_USAGE,
					"invalid endpoint (numeric ADDR:PORT or [ADDR6]:PORT, then /udp or /tcp): '%s'",
					ks_escape(argv[i], escaped, sizeof(escaped)));
			goto cleanup;
		}
		if (ks_array_append((void **)&eps, &n, sizeof(ep), &ep) < 0) {
			ret = cli_error(KS_EXIT_SYSTEM, "cannot allocate: '%s'", argv[i]);
			goto cleanup;
		}
	}
	if (!n) {
		ret = cli_error(KS_EXIT_USAGE, "endpoint %s needs at least one ADDR:PORT: '%s'", argv[1], "");
		goto cleanup;
	}
	if (ks_table_name(&table, err) < 0) {
		ret = cli_error(KS_EXIT_USAGE, "%s", err);
		goto cleanup;
	}
	ret = cli_require_net_admin(argv[0]);
	if (ret)
		goto cleanup;
	if (ks_lock(&lock, err) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	ret = ks_state_load(&policy, err);
	if (ret < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s: '%s'", ret == -ENOENT ? "killswitch is not active" : err,
				ks_rundir());
		goto cleanup;
	}
	if (ks_compile_endpoint_change(&policy, table, eps, n, add, &text, &changes) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "cannot compile the change: '%s'", strerror(ENOMEM));
		goto cleanup;
	}
	if (changes && ks_nft_run(text.data, err) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	if (changes && (update_policy(&policy, eps, n, add) < 0 || ks_state_save(&policy, err) < 0))
		cli_warn("the sets changed but the state file did not: %s", err);
	ret = KS_EXIT_OK;
	if (json) {
		json_t *obj = json_object();

		json_object_set_new(obj, "changed", json_integer((json_int_t)changes));
		json_object_set_new(obj, "endpoints", json_integer((json_int_t)policy.n_endpoints));
		ret = cli_print_json(obj);
	}
cleanup:
	ks_unlock(lock);
	ks_buf_free(&text);
	ks_policy_free(&policy);
	free(eps);
	return ret;
}
