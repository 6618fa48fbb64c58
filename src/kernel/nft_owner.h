/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_NFT_OWNER_H
#define KILLSWITCH_NFT_OWNER_H

#include <stdbool.h>
#include <stddef.h>

#include "killswitch/compile.h"
#include "killswitch/nft.h"

/* watch's endpoint changes over the guard owner's socket (nft_owner.c). */

/* An endpoint change as ks_compile_endpoint_change writes it: a line per table and set. */
#define KS_NFT_PARSED_LINES_MAX 8
struct ks_nft_parsed_line {
	char table[KS_GUARD_NAME_LEN];
	size_t first, n; /* its elements in elems */
};
struct ks_nft_parsed_change {
	bool add;
	struct ks_nft_elem *elems;
	size_t n;
	struct ks_nft_parsed_line lines[KS_NFT_PARSED_LINES_MAX];
	size_t n_lines;
};
/*
 * Reads text that must be exactly lines of "add|delete element inet TABLE
 * SET { E, ... }" for our endpoint sets, one verb throughout; -EINVAL for
 * anything else (out is then empty), -ENOMEM. Free with ks_nft_parsed_change_free().
 */
int ks_nft_parse_element_change(const char *text, struct ks_nft_parsed_change *out);
void ks_nft_parsed_change_free(struct ks_nft_parsed_change *change);

/*
 * Runs text, when it is such a change that names the guard, as one
 * nfnetlink batch over the guard owner's socket in this process: 0, the
 * kernel's negative errno (nothing changed), or -EOPNOTSUPP when it is not
 * such a change or there is no such socket here (libnftables then runs it).
 */
int ks_nft_owner_change(const char *text);

#endif
