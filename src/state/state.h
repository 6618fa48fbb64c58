/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_STATE_INTERNAL_H
#define KILLSWITCH_STATE_INTERNAL_H

#include <stddef.h>

#include "killswitch/error.h"

/* What the files of src/state/ share: the run directory and the state file's journal marker. */

/*
 * The state file ends its policy with this line and the endpoint count;
 * endpoint add|del append their changes after it (ks_state_append), each
 * line with the count after it as a comment, and ks_state_load replays them.
 */
#define JOURNAL_MARKER "# endpoints above: "

#endif
