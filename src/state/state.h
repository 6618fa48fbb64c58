/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_STATE_INTERNAL_H
#define KILLSWITCH_STATE_INTERNAL_H

#include <stddef.h>

#include "killswitch/error.h"

/* What the files of src/state/ share: the run directory. */

#endif
