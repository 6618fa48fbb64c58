/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_RUNDIR_H
#define KILLSWITCH_RUNDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "killswitch/error.h"
#include "killswitch/journal.h"
#include "killswitch/policy.h"

/*
 * State kept between invocations under $KILLSWITCH_RUNDIR (default
 * /run/killswitch): the lock that serialises changes, and the policy last
 * applied (read by status). Functions return 0 or a negative errno with a
 * message in err.
 */

/* Makes the run directory (mode 0700) if it is not there. */
int ks_rundir_make(char err[KS_ERR_LEN]);
/* RUNDIR/FILE in out (watch's socket, for one); -ENAMETOOLONG with err. */
int ks_rundir_path(const char *file, char *out, size_t size, char err[KS_ERR_LEN]);

/* Takes the exclusive lock (waits for other invocations); *fd is closed by ks_unlock(). */
int ks_lock(int *fd, char err[KS_ERR_LEN]);
/* The same without waiting: -EWOULDBLOCK (err untouched) while another process holds it. */
int ks_lock_try(int *fd, char err[KS_ERR_LEN]);
/*
 * The lock one `killswitch watch` holds for its life, without waiting:
 * -EWOULDBLOCK while another watch holds it. Only its holder may replace
 * the socket file (ks_nft_serve_open): two watches started at once could
 * otherwise each take the other's socket path, one of them left owning the
 * guard where no command can reach it.
 */
int ks_lock_watch(int *fd, char err[KS_ERR_LEN]);
void ks_unlock(int fd);

int ks_state_save(const struct ks_policy *policy, char err[KS_ERR_LEN]);
/* -ENOENT when no policy was saved. */
int ks_state_load(struct ks_policy *policy, char err[KS_ERR_LEN]);
int ks_state_clear(char err[KS_ERR_LEN]);

/*
 * endpoint add|del leave the saved policy as it is and append their changes
 * to it, in the journal lines of killswitch/journal.h. ks_state_load()
 * replays them; the next ks_state_save() folds them in.
 */
#define KS_STATE_JOURNAL_MAX 1024 /* endpoint add|del folds the changes in past this many */

/*
 * Adds to policy the saved endpoints that share an address with one of
 * eps[0..n), changes replayed (ks_journal_load_near over the mapped file).
 * -ENOENT without a saved policy; -EPROTO for a state without the journal
 * marker (from an older version): load it whole then.
 */
int ks_state_load_near(struct ks_policy *policy, const struct ks_endpoint *eps, size_t n, struct ks_state_near *near,
		       char err[KS_ERR_LEN]);
/* Appends the changes eps[0..n) in one write; total: the endpoints after them. Under the lock. */
int ks_state_append(const struct ks_endpoint *eps, size_t n, bool add, size_t total, char err[KS_ERR_LEN]);

/*
 * The persisted policy under $KILLSWITCH_CONFDIR (default /etc/killswitch),
 * written durably by enable --persist and applied at boot by restore.
 */
int ks_persist_save(const struct ks_policy *policy, char err[KS_ERR_LEN]);
int ks_persist_load(struct ks_policy *policy, char err[KS_ERR_LEN]);
int ks_persist_clear(char err[KS_ERR_LEN]);

/* What `routing add` installed, so that disable can take it away again. */
int ks_routing_record_save(uint32_t fwmark, uint32_t table, char err[KS_ERR_LEN]);
/* -ENOENT when routing add was not used. */
int ks_routing_record_load(uint32_t *fwmark, uint32_t *table, char err[KS_ERR_LEN]);
int ks_routing_record_clear(char err[KS_ERR_LEN]);

/* That enable made the exclusion cgroup, so that disable removes it (and only then). */
int ks_cgroup_record_save(char err[KS_ERR_LEN]);
bool ks_cgroup_record_exists(void);
int ks_cgroup_record_clear(char err[KS_ERR_LEN]);

/*
 * The value a sysctl (name: "src_valid_mark") had before enable changed it,
 * so that disable can put it back. Load: -ENOENT when enable did not change it.
 */
int ks_sysctl_record_save(const char *name, const char *value, char err[KS_ERR_LEN]);
int ks_sysctl_record_load(const char *name, char *value, size_t size, char err[KS_ERR_LEN]);
int ks_sysctl_record_clear(const char *name, char err[KS_ERR_LEN]);

/*
 * The rule fingerprint (ks_nfnl_rules_fingerprint) of the table as applied,
 * and the table's handle (ks_nfnl_table_handle): a table with another handle
 * was created after the state was recorded (a killswitch interrupted between
 * its commit and its state file, or another tool). -ENOENT if none; handle
 * 0 when not recorded.
 */
int ks_fingerprint_save(uint64_t hash, unsigned rules, uint64_t table_handle, char err[KS_ERR_LEN]);
int ks_fingerprint_load(uint64_t *hash, unsigned *rules, uint64_t *table_handle, char err[KS_ERR_LEN]);
int ks_fingerprint_clear(char err[KS_ERR_LEN]);

#endif
