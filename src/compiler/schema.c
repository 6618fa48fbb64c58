// SPDX-License-Identifier: GPL-2.0-or-later
/* The names of the table's parts that the compiler and the kernel code share. */
#include "killswitch/schema.h"

const char *const ks_counter_names[KS_COUNTER_MAX] = {
	[KS_COUNTER_OUT] = "blocked_out",
	[KS_COUNTER_DNS] = "blocked_dns",
	[KS_COUNTER_IN] = "blocked_in",
	[KS_COUNTER_FWD] = "blocked_fwd",
};

const struct ks_chain_spec ks_chain_specs[] = {
	{ "prerouting", "accept", false },  { "output", "drop", false },   { "input", "drop", false },
	{ "forward", "drop", false },	    { "mangle", "accept", true },  { "nat", "accept", true },
	{ KS_CHAIN_NAT_PREROUTING, "accept", true },
};
const unsigned ks_n_chain_specs = sizeof(ks_chain_specs) / sizeof(ks_chain_specs[0]);
