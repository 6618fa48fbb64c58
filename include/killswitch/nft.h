/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_NFT_H
#define KILLSWITCH_NFT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "killswitch/compile.h"
#include "killswitch/error.h"

/*
 * The kernel seam, what the commands call: apply a policy's transaction,
 * verify the table (ks_nft_status), change the endpoints, remove it, and
 * the guard's holder and link. Transactions go through libnftables (in a
 * child, in process, or in watch: nft_child.c, nft_remote.c); set-element
 * changes without the guard are one nfnetlink batch (nft_elements.c), and
 * reads are nfnetlink dumps (src/netlink/nfnl_dump.c), which fetch only
 * what they read. Each change is one transaction, so the kernel applies it
 * whole or not at all. Functions return 0 or a negative errno, with the
 * message in err.
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

/*
 * The guard (ks_compile_guard_transaction) and who holds it.
 * ks_nft_hold(): watch keeps one libnftables context, in process, for its
 * life; its netlink socket owns the guard. It also learns whether the
 * guard can be made persistent here.
 * ks_nft_serve_open/one(): watch's Unix socket at path, over which other
 * killswitch commands (root only, checked per request) run their text in
 * that context; one request per connection.
 * ks_nft_link(): a command asks watch at path; from then on its text runs
 * in watch's process. -ENOTCONN: no watch answers there (run here).
 * ks_nft_guarded(): whether the text this process runs reaches the guard's
 * owner, so it must change the guard too; *persist: with that flag.
 */
struct ks_nft_watch {
	pid_t pid;
	bool persist;
};
int ks_nft_hold(const char *table, char err[KS_ERR_LEN]);
bool ks_nft_holding(bool *persist);
int ks_nft_serve_open(const char *path, int *fd, char err[KS_ERR_LEN]);
/*
 * recover: called when a command's text fails because something it names
 * is gone (-ENOENT: the table flushed meanwhile), to run the table's
 * restore and then the text in one transaction; its result is the answer.
 */
typedef int ks_nft_recover_fn(void *data, const char *then, char err[KS_ERR_LEN]);
int ks_nft_serve_one(int listen_fd, ks_nft_recover_fn *recover, void *data, char err[KS_ERR_LEN]);
int ks_nft_link(const char *path, struct ks_nft_watch *watch);
bool ks_nft_guarded(bool *persist);
/* Runs nftables text as one transaction (in a child, here, or in watch); 0 or -errno with err. */
int ks_nft_run(const char *text, const char *refused, char err[KS_ERR_LEN]);

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
/* The elements of one table, for a transaction that changes several. */
struct ks_nft_elem_group {
	const char *table;
	const struct ks_nft_elem *elems;
	size_t n;
};
/*
 * Adds (or deletes) every group's elements in one transaction over the
 * nfnetlink socket fd, and reads every answer the kernel queued for it;
 * 0 or a negative errno (nothing changed).
 */
int ks_nft_elements_send(int fd, const struct ks_nft_elem_group *groups, size_t n_groups, bool add);
/*
 * endpoint add|del: the change's elements in table inet TABLE, in one
 * transaction; with the guard (ks_nft_guarded) in its sets too, through
 * its owner. Deleting an absent element fails the whole change.
 */
struct ks_endpoint_change;
int ks_nft_change_endpoints(const char *table, const struct ks_endpoint_change *change, char err[KS_ERR_LEN]);
/*
 * Deletes the table, and the guard, atomically; *was_active says whether it was there.
 * Idempotent. -EUCLEAN: libnftables failed and the table cannot be read
 * back; any other error: the table is as it was.
 */
int ks_nft_remove(const char *table, bool *was_active, char err[KS_ERR_LEN]);
/* Reads presence, chain policies and the named counters. */
int ks_nft_status(const char *table, struct ks_nft_status *status, char err[KS_ERR_LEN]);

#endif
