// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A stored policy that does not parse (power loss, an upgrade that changed
 * the format) must never leave the host open: restore and watch apply a
 * block-everything table instead and say so.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "killswitch/rundir.h"

/*
 * Whether the broken file still says allow-lan on a line of its own: the
 * LAN stays reachable only if the user asked for it, and a file that does
 * not parse is read no further than that.
 */
static bool says_allow_lan(const char *path)
{
	char line[256];
	bool found = false;
	FILE *f = fopen(path, "re");

	while (f && !found && fgets(line, sizeof(line), f)) {
		const char *p = line + strspn(line, " \t");

		if (!strncmp(p, "--", 2))
			p += 2;
		found = !strncmp(p, "allow-lan", 9) && strspn(p + 9, " \t\r\n") == strlen(p + 9);
	}
	if (f)
		fclose(f);
	return found;
}

int cli_block_everything(const char *dir, const char *table, char err[KS_ERR_LEN])
{
	struct ks_policy policy;
	char path[4096 + 8];
	int ret;

	snprintf(path, sizeof(path), "%s/policy", dir);
	ks_policy_init(&policy);
	policy.state = KS_STATE_BLOCKED;
	policy.allow_lan = says_allow_lan(path);
	ks_policy_finalize(&policy);
	ret = cli_apply_locked(&policy, table, true, err);
	ks_policy_free(&policy);
	return ret;
}
