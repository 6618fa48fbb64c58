// SPDX-License-Identifier: GPL-2.0-or-later
/* disable: the host open again, now and at the next boot. */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "killswitch/cgroup.h"
#include "killswitch/netlink.h"
#include "killswitch/nft.h"
#include "killswitch/rundir.h"

/* Takes away the fwmark routing `routing add` installed, if it did. */
static void remove_routing(void)
{
	char err[KS_ERR_LEN] = "";
	const char *what = "";
	uint32_t fwmark, table;
	int ret = ks_routing_record_load(&fwmark, &table, err);

	if (ret == -ENOENT)
		return;
	if (ret == 0)
		ret = ks_rtnl_routing_del(fwmark, table, &what);
	if (ret == 0)
		ret = ks_routing_record_clear(err);
	if (ret < 0)
		cli_warn("cannot remove the routing rules of 'routing add' (%s): '%s'", what[0] ? what : err,
			 strerror(-ret));
}

/*
 * src_valid_mark back to what it was before enable, unless a VPN still
 * routes by fwmark (wg-quick's "not fwmark" rule): its replies need it, and
 * wg-quick sets it but never puts it back. The record stays for a later
 * disable.
 */
static void restore_src_valid_mark(void)
{
	bool in_use = false;

	if (ks_rtnl_fwmark_routing_in_use(&in_use) == 0 && in_use)
		return;
	cli_sysctl_restore(KS_SYSCTL_SRC_VALID_MARK);
}

/* The exclusion cgroup, if enable made it, unless programs are still in it. */
static void remove_exclusion_cgroup(void)
{
	char err[KS_ERR_LEN] = "";
	struct ks_split split = { 0 };
	int ret;

	if (!ks_cgroup_record_exists())
		return;
	ret = ks_cgroup_choose(&split, err);
	if (ret == 0)
		ret = ks_cgroup_remove(&split, err);
	if (ret == -EBUSY)
		cli_warn("programs are still in the exclusion cgroup; it stays: %s", err);
	else if (ret < 0 && ret != -EOPNOTSUPP)
		cli_warn("%s", err);
	if (ret != -EBUSY && ks_cgroup_record_clear(err) < 0)
		cli_warn("%s", err);
}

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
	ret = cli_begin(argv[0], &table, &lock);
	if (ret)
		goto cleanup;
	if (ks_nft_remove(table, &was_active, err) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	if (ks_state_clear(err) < 0 || ks_fingerprint_clear(err) < 0)
		cli_warn("%s", err);
	if (ks_persist_clear(err) < 0)
		cli_warn("%s", err);
	remove_routing();
	restore_src_valid_mark();
	remove_exclusion_cgroup();
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
