/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_CLI_UNITS_H
#define KILLSWITCH_CLI_UNITS_H

#include <stdint.h>

#include "killswitch/error.h"
#include "killswitch/unit.h"

/* The units excluded now: the run directory's file, then the config directory's (--persist), each path once. */
int cli_units_load_all(struct ks_units *units, char err[KS_ERR_LEN]);

/*
 * Puts the ids of the listed units' cgroups that exist (under hierarchy,
 * ks_unit_hierarchy) into table inet TABLE's excluded_units_lN, one
 * transaction per level. *missing (may be NULL) gets the mask of the
 * levels whose set the table lacks (it was applied before a unit of that
 * level was listed, or the kill switch is off). Returns the number of ids
 * added, or a negative errno with err.
 */
int cli_units_sync(const char *table, const char *hierarchy, const struct ks_units *units, uint32_t *missing,
		   char err[KS_ERR_LEN]);

#endif
