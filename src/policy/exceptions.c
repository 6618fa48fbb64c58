// SPDX-License-Identifier: GPL-2.0-or-later
/* --bypass and --allow-in checked against the rest of the policy: the combinations refused. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "killswitch/parse.h"

static int refuse(char *err, const char *what, const char *value)
{
	char escaped[KS_ERR_LEN / 2];

	if (err)
		snprintf(err, KS_ERR_LEN, "%s: '%s'", what, ks_escape(value, escaped, sizeof(escaped)));
	return -EINVAL;
}

int ks_exceptions_check(const struct ks_policy *policy, char err[KS_ERR_LEN])
{
	char text[KS_BYPASS_STRLEN];

	/*
	 * Under a full tunnel a bypassed destination is routed into the tunnel
	 * like any other; only the VPN's fwmark (the routing rule's "not fwmark")
	 * sends it to the main table. Without one, --bypass would accept what
	 * never leaves off the tunnel, or whatever a route sends off it.
	 */
	if (policy->fwmark_none && policy->n_bypass) {
		ks_format_bypass(&policy->bypass[0], text);
		return refuse(err, "--bypass needs the VPN's fwmark to route around the tunnel, not --fwmark none", text);
	}
	/* What arrives through the tunnel is the tunnel's business: input already accepts it when connected. */
	for (size_t i = 0; i < policy->n_allow_in; i++)
		for (size_t t = 0; t < policy->n_tunnels; t++)
			if (!strcmp(policy->allow_in[i].iface, policy->tunnels[t].name)) {
				ks_format_allow_in(&policy->allow_in[i], text);
				return refuse(err, "--allow-in is for non-tunnel interfaces", text);
			}
	return 0;
}
