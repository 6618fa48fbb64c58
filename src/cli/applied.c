// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Is the table still the one killswitch applied? The rule fingerprint and
 * the table's handle, recorded after every apply and compared by status
 * and watch.
 */
#include "cli.h"
#include "killswitch/netlink.h"
#include "killswitch/rundir.h"

int cli_applied_record(const char *table, char err[KS_ERR_LEN])
{
	uint64_t hash, handle;
	unsigned rules;
	int ret;

	ret = ks_nfnl_rules_fingerprint(table, &hash, &rules);
	if (ret == 0)
		ret = ks_nfnl_table_handle(table, &handle);
	if (ret == 0)
		ret = ks_fingerprint_save(hash, rules, handle, err);
	return ret;
}

int cli_applied_forget(char err[KS_ERR_LEN])
{
	return ks_fingerprint_clear(err);
}

struct cli_applied cli_applied_compare(const char *table)
{
	struct cli_applied a = { 0 };
	char err[KS_ERR_LEN];
	uint64_t hash, now_hash, handle, now_handle;

	if (ks_fingerprint_load(&hash, &a.rules_then, &handle, err) < 0 ||
	    ks_nfnl_rules_fingerprint(table, &now_hash, &a.rules_now) < 0)
		return a;
	a.known = true;
	a.same_rules = hash == now_hash && a.rules_then == a.rules_now;
	/* Recorded before handles were: a table is only known to be another one when both are there. */
	a.recreated = handle && ks_nfnl_table_handle(table, &now_handle) == 0 && handle != now_handle;
	return a;
}
