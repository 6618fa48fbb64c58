// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Excluded units (split-tunnel add --unit), shared by killswitch (every
 * apply, watch) and split-tunnel (add): the lists, and their cgroups' ids
 * into the table's sets. The ids change when a unit restarts; the paths
 * do not, so whoever applies puts the current ones in.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "killswitch/env.h"
#include "killswitch/nft.h"
#include "killswitch/schema.h"
#include "units.h"

int cli_units_load_all(struct ks_units *units, char err[KS_ERR_LEN])
{
	int ret = ks_units_load(ks_env()->rundir, units, err);

	if (ret == 0)
		ret = ks_units_load(ks_env()->confdir, units, err);
	return ret;
}

/* n elements of one level's set: -ENOENT is a set the table lacks. */
static int flush(const char *table, const struct ks_nft_elem *elems, size_t n, unsigned level, uint32_t *missing,
		 char err[KS_ERR_LEN])
{
	int ret;

	if (!n)
		return 0;
	ret = ks_nft_set_elements(table, elems, n, true, err);
	if (ret == -ENOENT) {
		*missing |= UINT32_C(1) << level;
		err[0] = '\0';
		return 0;
	}
	return ret < 0 ? ret : (int)n;
}

int cli_units_sync(const char *table, const char *hierarchy, const struct ks_units *units, uint32_t *missing,
		   char err[KS_ERR_LEN])
{
	uint32_t levels = ks_units_levels(units), lacking = 0;
	int added = 0, ret;

	for (unsigned level = 1; level <= KS_UNIT_LEVEL_MAX; level++) {
		struct ks_nft_elem elems[64];
		char set[sizeof(KS_SET_EXCLUDED_UNITS_PREFIX) + 4];
		size_t n = 0;

		if (!(levels & (UINT32_C(1) << level)))
			continue;
		snprintf(set, sizeof(set), "%s%u", KS_SET_EXCLUDED_UNITS_PREFIX, level);
		for (size_t i = 0; i < units->n; i++) {
			unsigned at;
			uint64_t id;

			/* A unit not running now has no cgroup: its id comes when it starts. */
			if (ks_unit_check_path(units->paths[i], &at) < 0 || at != level ||
			    ks_unit_id(hierarchy, units->paths[i], &id) < 0)
				continue;
			elems[n] = (struct ks_nft_elem){ .set = set, .len = sizeof(id) };
			memcpy(elems[n].key, &id, sizeof(id));
			if (++n < sizeof(elems) / sizeof(*elems))
				continue;
			ret = flush(table, elems, n, level, &lacking, err);
			if (ret < 0)
				return ret;
			added += ret;
			n = 0;
		}
		ret = flush(table, elems, n, level, &lacking, err);
		if (ret < 0)
			return ret;
		added += ret;
	}
	if (missing)
		*missing = lacking;
	return added;
}
