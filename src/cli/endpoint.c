// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * endpoint add|del: change the endpoint sets of the running table in one
 * set-element transaction. No table rebuild, so the cost does not depend
 * on the number of endpoints, and there is no instant without the table.
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
#include "killswitch/env.h"
#include "killswitch/nft.h"
#include "killswitch/parse.h"
#include "killswitch/rundir.h"

/* The policy after the change, for a state file written whole. */
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

/* Keeps in eps the endpoints the change concerns: absent ones for add, present ones for del, once each. */
static size_t changed_endpoints(const struct ks_policy *policy, struct ks_endpoint *eps, size_t n, bool add)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		bool seen = false, present = false;

		for (size_t j = 0; j < out; j++)
			seen |= !memcmp(&eps[j], &eps[i], sizeof(eps[i]));
		for (size_t j = 0; j < policy->n_endpoints; j++)
			present |= !memcmp(&policy->endpoints[j], &eps[i], sizeof(eps[i]));
		if (!seen && present != add)
			eps[out++] = eps[i];
	}
	return out;
}

/*
 * The elements the change adds or deletes, eps holding the changed
 * endpoints: theirs in endpoints4/6, and their addresses in
 * endpoint_addrs4/6 for the first endpoint of an address (add) or the last
 * one (del). policy holds every endpoint sharing an address with them.
 */
static int change_elements(const struct ks_policy *policy, const struct ks_endpoint *eps, size_t n, bool add,
			   struct ks_nft_elem **elems, size_t *count)
{
	for (size_t i = 0; i < n; i++) {
		struct ks_nft_elem elem;
		bool in_use = false, done = false;

		ks_nft_endpoint_elem(&eps[i], &elem);
		if (ks_array_append((void **)elems, count, sizeof(elem), &elem) < 0)
			return -ENOMEM;
		for (size_t j = 0; j < i; j++)
			done |= !memcmp(&eps[j].addr, &eps[i].addr, sizeof(eps[i].addr));
		/* Used before an add, or still used after a del (by an endpoint not in the change). */
		for (size_t j = 0; !done && !in_use && j < policy->n_endpoints; j++) {
			const struct ks_endpoint *other = &policy->endpoints[j];
			bool leaving = false;

			for (size_t k = 0; !add && k < n; k++)
				leaving |= !memcmp(other, &eps[k], sizeof(*other));
			in_use = !memcmp(&other->addr, &eps[i].addr, sizeof(other->addr)) && !leaving;
		}
		if (done || in_use)
			continue;
		ks_nft_endpoint_addr_elem(&eps[i].addr, &elem);
		if (ks_array_append((void **)elems, count, sizeof(elem), &elem) < 0)
			return -ENOMEM;
	}
	return 0;
}

/*
 * Records the changed endpoints eps in the state file: appended to it, or,
 * when the state was read whole (an older format) or holds
 * KS_STATE_JOURNAL_MAX changes, written whole (O(endpoints) once in that
 * many changes). *total: the endpoints after the change.
 */
static int record(struct ks_policy *policy, bool whole, const struct ks_state_near *near, const struct ks_endpoint *eps,
		  size_t n, bool add, size_t *total, char err[KS_ERR_LEN])
{
	int ret;

	if (whole) {
		ret = update_policy(policy, eps, n, add);
		*total = policy->n_endpoints;
		return ret < 0 ? ret : ks_state_save(policy, err);
	}
	*total = add ? near->total + n : near->total - n;
	ret = ks_state_append(eps, n, add, *total, err);
	if (ret < 0 || near->journal + n <= KS_STATE_JOURNAL_MAX)
		return ret;
	ks_policy_free(policy);
	ret = ks_state_load(policy, err);
	return ret < 0 ? ret : ks_state_save(policy, err);
}

int endpoint_main(int argc, char *argv[])
{
	struct ks_endpoint *eps = NULL;
	struct ks_nft_elem *elems = NULL;
	struct ks_policy policy;
	struct ks_state_near near;
	char err[KS_ERR_LEN] = "", escaped[KS_ERR_LEN / 2];
	const char *table;
	size_t n = 0, changes, n_elems = 0, total;
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
	changes = changed_endpoints(&policy, eps, n, add);
	if (change_elements(&policy, eps, changes, add, &elems, &n_elems) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "cannot compile the change: '%s'", strerror(ENOMEM));
		goto cleanup;
	}
	if (ks_nft_set_elements(table, elems, n_elems, add, err) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	if (changes && record(&policy, whole, &near, eps, changes, add, &total, err) < 0)
		cli_warn("the sets changed but the state file did not: %s", err);
	ret = KS_EXIT_OK;
	if (json) {
		json_t *obj = json_object();

		json_object_set_new(obj, "changed", json_integer((json_int_t)changes));
		json_object_set_new(obj, "endpoints", json_integer((json_int_t)total));
		ret = cli_print_json(obj);
	}
cleanup:
	ks_unlock(lock);
	ks_policy_free(&policy);
	free(elems);
	free(eps);
	return ret;
}
