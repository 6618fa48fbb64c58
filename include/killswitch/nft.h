/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_NFT_H
#define KILLSWITCH_NFT_H

#include <stdbool.h>
#include <stdint.h>

#include "killswitch/compile.h"
#include "killswitch/options.h"

/*
 * The kernel seam: everything that talks to nftables goes through
 * libnftables here. Each change is one nft_run_cmd_from_buffer() call, so
 * the kernel applies it whole or not at all. Functions return 0 or a
 * negative errno, with libnftables' message in err.
 */

struct ks_nft_status {
	bool active;   /* the table exists */
	bool complete; /* every chain is there with its hook policy */
	char problem[128];
	struct {
		bool present;
		uint64_t packets, bytes;
	} counters[KS_COUNTER_MAX];
};

/*
 * Runs transaction (from ks_compile_transaction()), then reads the table
 * back and checks it. -ENOTRECOVERABLE: the kernel committed it but the
 * table read back is not whole (someone changed it at once, or listing
 * failed); any other error: nothing changed.
 */
int ks_nft_apply(const char *transaction, const char *table, char err[KS_ERR_LEN]);
/* Runs one transaction of commands as it is (set-element changes); the kernel applies it whole or not at all. */
int ks_nft_run(const char *commands, char err[KS_ERR_LEN]);
/* Deletes the table atomically; *was_active says whether it was there. Idempotent. */
int ks_nft_remove(const char *table, bool *was_active, char err[KS_ERR_LEN]);
/* Reads presence, chain policies and the named counters. */
int ks_nft_status(const char *table, struct ks_nft_status *status, char err[KS_ERR_LEN]);

#endif
