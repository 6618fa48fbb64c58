// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * endpoint add|del: change the endpoint sets of the running table (and
 * of the guard, while watch holds one) in one set-element transaction. No
 * table rebuild, so the cost does not depend on the number of endpoints,
 * and there is no instant without the table.
 * Nor is the state file read or written whole: only the saved endpoints
 * that share an address with the ones asked for are read (the address set
 * follows them), and the change is appended to the file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "killswitch/array.h"
#include "killswitch/endpoint_change.h"
#include "killswitch/env.h"
#include "killswitch/nft.h"
#include "killswitch/parse.h"
#include "killswitch/rundir.h"

/*
 * Records the changed endpoints eps in the state file: appended to it, or,
 * when the state was read whole (an older format) or holds
 * KS_STATE_JOURNAL_MAX changes, written whole (O(endpoints) once in that
 * many changes). *total: the endpoints after the change.
 */
static int record(struct ks_policy *policy, bool whole, const struct ks_state_near *near,
		  const struct ks_endpoint_change *change, size_t *total, char err[KS_ERR_LEN])
{
	size_t n = change->n;
	int ret;

	if (whole) {
		ret = ks_endpoint_change_apply(policy, change);
		*total = policy->n_endpoints;
		return ret < 0 ? ret : ks_state_save(policy, err);
	}
	*total = change->add ? near->total + n : near->total - n;
	ret = ks_state_append(change->eps, n, change->add, *total, err);
	if (ret < 0 || near->journal + n <= KS_STATE_JOURNAL_MAX)
		return ret;
	ks_policy_free(policy);
	ret = ks_state_load(policy, err);
	return ret < 0 ? ret : ks_state_save(policy, err);
}

int endpoint_main(int argc, char *argv[])
{
	struct ks_endpoint_change change = { 0 };
	struct ks_endpoint *eps = NULL;
	struct ks_policy policy;
	struct ks_state_near near;
	char err[KS_ERR_LEN] = "", escaped[KS_ERR_LEN / 2];
	const char *table;
	size_t n = 0, total;
	bool add, json = false, whole;
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
	ret = cli_begin(argv[0], &table, &lock);
	if (ret)
		goto cleanup;
	ret = ks_state_load_near(&policy, eps, n, &near, err);
	/* A state file from an older version: read it whole, and write it whole in the new form. */
	whole = ret == -EPROTO;
	if (whole)
		ret = ks_state_load(&policy, err);
	total = whole ? policy.n_endpoints : near.total;
	if (ret < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s: '%s'", ret == -ENOENT ? "killswitch is not active" : err,
				ks_env()->rundir);
		goto cleanup;
	}
	if (ks_endpoint_change_plan(&policy, eps, n, add, &change) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "cannot compile the change: '%s'", strerror(ENOMEM));
		goto cleanup;
	}
	if (ks_nft_change_endpoints(table, &change, err) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	if (change.n && record(&policy, whole, &near, &change, &total, err) < 0)
		cli_warn("the sets changed but the state file did not: %s", err);
	ret = KS_EXIT_OK;
	if (json) {
		json_t *obj = json_object();

		json_object_set_new(obj, "changed", json_integer((json_int_t)change.n));
		json_object_set_new(obj, "endpoints", json_integer((json_int_t)total));
		ret = cli_print_json(obj);
	}
cleanup:
	ks_unlock(lock);
	ks_policy_free(&policy);
	ks_endpoint_change_free(&change);
	free(eps);
	return ret;
}
