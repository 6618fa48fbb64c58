/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_COMPILE_H
#define KILLSWITCH_COMPILE_H

#include "killswitch/buf.h"
#include "killswitch/policy.h"
#include "killswitch/schema.h"


/*
 * The compiler: a pure function of the policy (no I/O, no globals, no time),
 * so equal policies give byte-identical text. table must be a valid name
 * (ks_parse_ifname's alphabet). The policy should be finalized.
 * Returns 0 or -ENOMEM / -EINVAL.
 */
int ks_compile(const struct ks_policy *policy, const char *table, struct ks_buf *out);

/*
 * The text applied in one libnftables transaction: create the table (a no-op
 * if it exists), delete it, then create it whole, so the swap is atomic
 * whether or not an older table is there.
 */
int ks_compile_transaction(const struct ks_policy *policy, const char *table, struct ks_buf *out);

#endif
