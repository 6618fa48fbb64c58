/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_RUNDIR_H
#define KILLSWITCH_RUNDIR_H

#include "killswitch/options.h"
#include "killswitch/policy.h"

/*
 * State kept between invocations under $KILLSWITCH_RUNDIR (default
 * /run/killswitch): the lock that serialises changes, and the policy last
 * applied (read by status). Functions return 0 or a negative errno with a
 * message in err.
 */

const char *ks_rundir(void);
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

#endif
