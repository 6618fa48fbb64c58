/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_NFT_H
#define KILLSWITCH_NFT_H

#include <stdbool.h>
#include <stdint.h>

#include "killswitch/compile.h"
#include "killswitch/error.h"

/*
 * The kernel seam: everything that talks to nftables goes through
 * libnftables here, set-element changes excepted (one nfnetlink batch).
 * Each change is one transaction, so the kernel applies it whole or not at
 * all. Functions return 0 or a negative errno, with the message in err.
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
 * Runs transaction (from ks_compile_transaction()) through libnftables in
 * a child process, then reads the table back and checks it.
 * -ENOTRECOVERABLE: the kernel committed it, but then libnftables failed
 * or the table read back is not whole (someone changed it at once, or
 * listing failed); -EUCLEAN: libnftables failed and whether the kernel
 * committed it cannot be told (the table is the old or the new one, each
 * whole); any other error: nothing changed. err always says which.
 */
int ks_nft_apply(const char *transaction, const char *table, char err[KS_ERR_LEN]);

/*
 * libnftables runs in a child process by default, so that its exit() or
 * abort() on failure cannot end the caller without its message. A daemon
 * that restores the table against the clock (watch) runs it in process
 * instead: a fork under load delays the restore by a scheduling slice or
 * more, while a libnftables exit() only ends the daemon, which its service
 * manager restarts (the table is the old or the new one, whole, either way).
 */
void ks_nft_in_process(bool yes);

/* One element of a set of our table: the set, and the key as the kernel stores it. */
struct ks_nft_elem {
	const char *set;
	uint8_t key[40];
	uint8_t len;
};
/* ep's element of endpoints4/6 (address . protocol . port), and its address's of endpoint_addrs4/6. */
void ks_nft_endpoint_elem(const struct ks_endpoint *ep, struct ks_nft_elem *elem);
void ks_nft_endpoint_addr_elem(const struct ks_addr *addr, struct ks_nft_elem *elem);
/*
 * Adds (or deletes) the elements of table inet TABLE in one transaction,
 * over nfnetlink rather than libnftables (whose cache would fetch every
 * interval set first). Deleting an absent element fails the whole change.
 */
int ks_nft_set_elements(const char *table, const struct ks_nft_elem *elems, size_t n, bool add, char err[KS_ERR_LEN]);
/*
 * Deletes the table atomically; *was_active says whether it was there.
 * Idempotent. -EUCLEAN: libnftables failed and the table cannot be read
 * back; any other error: the table is as it was.
 */
int ks_nft_remove(const char *table, bool *was_active, char err[KS_ERR_LEN]);
/* Reads presence, chain policies and the named counters. */
int ks_nft_status(const char *table, struct ks_nft_status *status, char err[KS_ERR_LEN]);

#endif
