/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_CLI_H
#define KILLSWITCH_CLI_H

#include <jansson.h>
#include <stdbool.h>

#include "killswitch/options.h"
#include "killswitch/policy.h"
#include "output.h"

/* Each subcommand: argv[0] is its own name. Returns the exit code. */
int enable_main(int argc, char *argv[]);
int block_main(int argc, char *argv[]);
int disable_main(int argc, char *argv[]);
int status_main(int argc, char *argv[]);
int compile_main(int argc, char *argv[]);
int routing_main(int argc, char *argv[]);
int watch_main(int argc, char *argv[]);
int endpoint_main(int argc, char *argv[]);
int restore_main(int argc, char *argv[]);
int bypass_main(int argc, char *argv[]);
int allow_in_main(int argc, char *argv[]);
/* portal.c: a browser in the portal group for a few minutes; portal_status.c: its time left, for status. */
int portal_main(int argc, char *argv[]);
struct cli_portal {
	bool known;   /* the sets could be read */
	size_t open;  /* the grant's destinations still open */
	uint64_t left_ms; /* the longest time one has left */
};
void cli_portal_read(const char *table, struct cli_portal *portal);
json_t *cli_portal_json(const struct cli_portal *portal);
void cli_portal_print(const struct cli_portal *portal);

/* Parses the POLICY options after argv[0] into a finalized policy in the given state. */
int cli_parse_policy(int argc, char *argv[], enum ks_state state, struct ks_policy *policy, struct ks_options *opts);

/*
 * What the policy learns from the running system: the tunnels' addresses
 * (rtnetlink; fresh_addrs drops stored ones first) and the split-tunnel
 * mechanism (create: make the exclusion cgroup; else only plan it).
 */
void cli_policy_discover(struct ks_policy *policy, bool create, bool fresh_addrs);
/*
 * Whether the policy is --partial without any protected prefix (the derived
 * ones known only once the tunnel's addresses are read): err (if not NULL)
 * then says so, on one line. Such a policy is refused, exit 2.
 */
bool cli_partial_unprotected(const struct ks_policy *policy, char err[KS_ERR_LEN]);
/* Discover, compile, apply, save the state; the caller holds the lock. 0 or -errno with err. */
int cli_apply_locked(struct ks_policy *policy, const char *table, bool fresh_addrs, char err[KS_ERR_LEN]);
/* The same, with then (nftables text) appended to the transaction. */
int cli_apply_locked_then(struct ks_policy *policy, const char *table, bool fresh_addrs, const char *then,
			  char err[KS_ERR_LEN]);
/*
 * For a stored policy in dir (its file "policy") that does not parse:
 * applies the blocked state with nothing else allowed (loopback, DHCP and
 * NDP; the LAN only if the file still says allow-lan). The caller holds the lock. 0 or -errno.
 */
int cli_block_everything(const char *dir, const char *table, char err[KS_ERR_LEN]);
/* enable/block after parsing: lock, apply, persist if asked, report. Returns the exit code. */
int cli_apply(struct ks_policy *policy, const struct ks_options *opts);

/*
 * The start of every command that changes the kernel: the table name (exit
 * 2 if bad), CAP_NET_ADMIN (exit 1 if missing), then the lock when lock is
 * not NULL (exit 1 if it cannot be taken). Returns the exit code, 0 to go on.
 */
int cli_begin(const char *command, const char **table, int *lock);
/*
 * When `killswitch watch` runs, the commands' nftables text runs in its
 * process, through the context that owns the guard table (see
 * ks_nft_link); cli_begin() does this once it holds the lock.
 */
void cli_link_watch(void);
#define KS_WATCH_SOCKET "watch.sock"

/* Exit 1 with a clear message unless the process holds CAP_NET_ADMIN. */
int cli_require_net_admin(const char *command);

/* Where a protected prefix came from, in words: "--protect", "tunnel address", "allowed IPs". */
const char *cli_protect_source(const struct ks_protected *p);
/* The policy as a JSON object (for status and compile --json). */
json_t *cli_policy_json(const struct ks_policy *policy);
/*
 * Sets /proc/sys/KEY ("net/ipv4/conf/all/src_valid_mark") to value, first
 * recording in the run directory, under name, the value it had (once);
 * 0 or -errno. cli_sysctl_restore() writes the recorded value back
 * (warning when it cannot) and forgets it.
 */
int cli_sysctl_set(const char *key, const char *name, const char *value);
void cli_sysctl_restore(const char *key, const char *name);
#define KS_SYSCTL_SRC_VALID_MARK "net/ipv4/conf/all/src_valid_mark", "src_valid_mark"

/* The table next to what killswitch recorded when it applied it (src/cli/applied.c). */
struct cli_applied {
	bool known;	     /* a record, and the table's rules could be read */
	bool same_rules;     /* the rules are the ones applied: none added, removed or replaced */
	bool recreated;	     /* another table than the recorded one: the recorded policy is not known to be its */
	unsigned rules_now, rules_then;
};
struct cli_applied cli_applied_compare(const char *table);
/* Records table as applied now (its rule fingerprint and handle), or forgets the record. 0 or -errno. */
int cli_applied_record(const char *table, char err[KS_ERR_LEN]);
int cli_applied_forget(char err[KS_ERR_LEN]);

/* Prints obj (and frees it) on stdout; returns an exit code. */
int cli_print_json(json_t *obj);

#endif
