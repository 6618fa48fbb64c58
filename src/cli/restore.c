// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * restore: apply the policy `enable --persist` stored, as killswitch.service
 * does at boot before any interface is up. Tunnel addresses and the
 * split-tunnel mechanism are learned afresh: the stored ones may be stale.
 */
#include <errno.h>

#include "cli.h"
#include "killswitch/env.h"
#include "killswitch/rundir.h"

int restore_main(int argc, char *argv[])
{
	struct ks_options opts = { 0 };
	struct ks_policy policy;
	char err[KS_ERR_LEN] = "", err2[KS_ERR_LEN] = "";
	const char *table;
	int lock = -1, ret;

	ks_policy_init(&policy);
	ret = cli_parse_json_only(argc, argv, &opts);
	if (ret)
		goto cleanup;
	ret = cli_begin(argv[0], &table, NULL);
	if (ret)
		goto cleanup;
	ret = ks_persist_load(&policy, err);
	if (ret == -ENOENT) {
		ret = cli_error(KS_EXIT_SYSTEM, "no persisted policy (enable --persist stores one): '%s/policy'",
				ks_env()->confdir);
		goto cleanup;
	}
	if (ks_lock(&lock, err2) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err2);
		goto cleanup;
	}
	/*
	 * Under the lock, as cli_begin() does: with watch running, its guard must
	 * take the restored policy too. Unlinked, the table alone changed, and
	 * watch, seeing killswitch's name on the commit, left the guard on the
	 * old policy (a new endpoint's handshake dropped, or an old, looser one
	 * in force while the table is flushed).
	 */
	cli_link_watch();
	/* Fail closed: a policy that does not parse leaves the host blocked, never open. */
	if (ret < 0) {
		if (cli_block_everything(ks_env()->confdir, table, err2) < 0)
			ret = cli_error(KS_EXIT_SYSTEM, "the persisted policy cannot be read or does not parse (%s), and blocking failed: %s",
					err, err2);
		else
			ret = cli_error(KS_EXIT_SYSTEM, "the persisted policy cannot be read or does not parse; everything is blocked: %s", err);
		goto cleanup;
	}
	ret = cli_apply_locked(&policy, table, true, err);
	if (ret < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	ret = KS_EXIT_OK;
	if (opts.json) {
		json_t *obj = json_object();

		json_object_set_new(obj, "applied", json_true());
		json_object_set_new(obj, "policy", cli_policy_json(&policy));
		ret = cli_print_json(obj);
	}
cleanup:
	ks_unlock(lock);
	ks_policy_free(&policy);
	return ret;
}
