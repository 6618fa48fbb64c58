// SPDX-License-Identifier: GPL-2.0-or-later
/* The captive portal's grant in status: how many destinations are open and for how long (the kernel's timeouts). */
#include <stdio.h>

#include "cli.h"
#include "killswitch/netlink.h"
#include "killswitch/portal.h"

void cli_portal_read(const char *table, struct cli_portal *portal)
{
	static const char *const sets[] = { KS_SET_PORTAL4, KS_SET_PORTAL6 };

	*portal = (struct cli_portal){ .known = true };
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		uint64_t ms;
		size_t n;

		if (ks_nfnl_set_expiry(table, sets[i], &n, &ms) < 0) {
			portal->known = false;
			return;
		}
		portal->open += n;
		if (ms > portal->left_ms)
			portal->left_ms = ms;
	}
}

json_t *cli_portal_json(const struct cli_portal *portal)
{
	json_t *obj;

	if (!portal->known)
		return json_null();
	obj = json_object();
	json_object_set_new(obj, "open", json_boolean(portal->open > 0));
	json_object_set_new(obj, "destinations", json_integer((json_int_t)portal->open));
	/* Whole seconds, rounded up: 0 only when closed. */
	json_object_set_new(obj, "seconds_left", json_integer((json_int_t)((portal->left_ms + 999) / 1000)));
	return obj;
}

void cli_portal_print(const struct cli_portal *portal)
{
	unsigned long long s = (portal->left_ms + 999) / 1000;

	if (!portal->known)
		printf("  portal: unknown (the portal sets cannot be read)\n");
	else if (!portal->open)
		printf("  portal: closed\n");
	else
		printf("  portal: open for the portal group, %llum %02llus left (%zu destinations: killswitch portal)\n",
		       s / 60, s % 60, portal->open);
}
