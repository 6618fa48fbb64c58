/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_CLI_WATCH_UNITS_H
#define KILLSWITCH_CLI_WATCH_UNITS_H

#include <stdbool.h>

#include "killswitch/unit.h"

/* watch following the excluded units' cgroups (watch_units.c). */
struct watch_units {
	int fd; /* inotify, or -1 when split tunnelling is not v2 here */
	char hierarchy[256];
	char *print; /* the lists and the ids of the units' cgroups, as last seen */
};

/* 0 (fd -1 when there is nothing to follow) or a negative errno. */
int watch_units_open(struct watch_units *wu);
/* After fd was readable: whether the lists or a unit's cgroup changed since the last call; re-armed. */
bool watch_units_changed(struct watch_units *wu);
void watch_units_close(struct watch_units *wu);

#endif
