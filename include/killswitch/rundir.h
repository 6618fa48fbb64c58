/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_RUNDIR_H
#define KILLSWITCH_RUNDIR_H

#include <stdint.h>

#include "killswitch/options.h"
#include "killswitch/policy.h"

/*
 * State kept between invocations under $KILLSWITCH_RUNDIR (default
 * /run/killswitch): the lock that serialises changes, and the policy last
 * applied (read by status). Functions return 0 or a negative errno with a
 * message in err.
 */

const char *ks_rundir(void);
/* Checks KILLSWITCH_RUNDIR, KILLSWITCH_CONFDIR (absolute) and KILLSWITCH_TABLE; -EINVAL with err. */
int ks_check_environment(char err[KS_ERR_LEN]);
/* The nftables table name: $KILLSWITCH_TABLE or "killswitch", validated. */
int ks_table_name(const char **table, char err[KS_ERR_LEN]);

/* Takes the exclusive lock (waits for other invocations); *fd is closed by ks_unlock(). */
int ks_lock(int *fd, char err[KS_ERR_LEN]);
void ks_unlock(int fd);

int ks_state_save(const struct ks_policy *policy, char err[KS_ERR_LEN]);
/* -ENOENT when no policy was saved. */
int ks_state_load(struct ks_policy *policy, char err[KS_ERR_LEN]);
int ks_state_clear(char err[KS_ERR_LEN]);

/*
 * The persisted policy under $KILLSWITCH_CONFDIR (default /etc/killswitch),
 * written durably by enable --persist and applied at boot by restore.
 */
const char *ks_confdir(void);
int ks_persist_save(const struct ks_policy *policy, char err[KS_ERR_LEN]);
int ks_persist_load(struct ks_policy *policy, char err[KS_ERR_LEN]);
int ks_persist_clear(char err[KS_ERR_LEN]);

/* What `routing add` installed, so that disable can take it away again. */
int ks_routing_record_save(uint32_t fwmark, uint32_t table, char err[KS_ERR_LEN]);
/* -ENOENT when routing add was not used. */
int ks_routing_record_load(uint32_t *fwmark, uint32_t *table, char err[KS_ERR_LEN]);
int ks_routing_record_clear(char err[KS_ERR_LEN]);

/* The rule fingerprint (ks_nfnl_rules_fingerprint) of the table as applied; -ENOENT if none. */
int ks_fingerprint_save(uint64_t hash, unsigned rules, char err[KS_ERR_LEN]);
int ks_fingerprint_load(uint64_t *hash, unsigned *rules, char err[KS_ERR_LEN]);

#endif
