// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>

#include "killswitch/cgroup.h"
#include "split.h"

int split_setup(struct ks_invoker *who, struct ks_split *split, int fail_code, bool usage_is_fail)
{
	char err[KS_ERR_LEN] = "";
	int usage = usage_is_fail ? fail_code : KS_EXIT_USAGE;
	int ret;

	*split = (struct ks_split){ .ct_mark = KS_DEFAULT_CT_MARK, .classid = KS_DEFAULT_CLASSID };
	if (ks_priv_invoker(&ks_priv_sys, who, err) < 0)
		return cli_error(usage, "%s", err);
	ret = ks_cgroup_choose(!who->secure, split, err);
	if (ret < 0)
		return cli_error(ret == -EINVAL ? usage : fail_code, "%s", err);
	if (split->mode == KS_SPLIT_OFF)
		return cli_error(fail_code, "split tunnelling is turned off: '%s'", "KILLSWITCH_SPLIT_TUNNEL=off");
	return KS_EXIT_OK;
}
