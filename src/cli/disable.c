// SPDX-License-Identifier: GPL-2.0-or-later
#include "cli.h"
#include "killswitch/nft.h"
#include "killswitch/rundir.h"

int disable_main(int argc, char *argv[])
{
	struct ks_options opts = { 0 };
	char err[KS_ERR_LEN] = "";
	const char *table;
	bool was_active = false;
	int lock = -1, ret;

	ret = cli_parse_json_only(argc, argv, &opts);
	if (ret)
		goto cleanup;
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
	if (ks_nft_remove(table, &was_active, err) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	if (ks_state_clear(err) < 0)
		cli_warn("%s", err);
	ret = KS_EXIT_OK;
	if (opts.json) {
		json_t *obj = json_object();

		json_object_set_new(obj, "removed", json_boolean(was_active));
		ret = cli_print_json(obj);
	}
cleanup:
	ks_unlock(lock);
	return ret;
}
