// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * watch: stay in the foreground and put the table back whenever a process
 * other than killswitch removes or changes it (nft flush ruleset, a
 * firewalld reload, docker). Changes made by killswitch itself (enable,
 * block, disable) are the user's: watch follows them through the state
 * file instead of reverting them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "killswitch/compile.h"
#include "killswitch/env.h"
#include "killswitch/netlink.h"
#include "killswitch/nft.h"
#include "killswitch/rundir.h"

struct watch {
	const char *table;
	bool touched; /* our table changed since the last committed batch */
	bool broken;  /* the state file does not parse: everything is blocked, watch stops */
	unsigned restores;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Whether the rules are the ones killswitch applied (the fingerprint status compares too). */
static bool rules_as_applied(const char *table)
{
	struct cli_applied a = cli_applied_compare(table);

	/* Nothing to compare with: the chain check stands. */
	return !a.known || a.same_rules;
}

/* Re-applies the last policy killswitch applied, unless the table is whole (when only checking). */
static int restore(struct watch *w, const char *why, bool only_if_damaged, double since)
{
	struct ks_nft_status st;
	struct ks_policy policy;
	char err[KS_ERR_LEN] = "";
	int lock = -1, ret;

	ks_policy_init(&policy);
	ret = ks_lock(&lock, err);
	if (ret < 0)
		goto cleanup;
	ret = ks_state_load(&policy, err);
	if (ret == -ENOENT) {
		ret = 0; /* disabled: nothing to protect */
		goto cleanup;
	}
	/* Fail closed: a state file that does not parse leaves the host blocked, and watch says so and ends. */
	if (ret < 0) {
		char block_err[KS_ERR_LEN] = "";

		w->broken = true;
		if (cli_block_everything(ks_env()->rundir, w->table, block_err) < 0)
			cli_error(KS_EXIT_SYSTEM, "watch: the state file cannot be read or does not parse (%s), and "
						  "blocking failed: %s", err, block_err);
		else
			cli_error(KS_EXIT_SYSTEM, "watch: the state file cannot be read or does not parse; everything is "
						  "blocked: %s", err);
		ret = 0;
		goto cleanup;
	}
	if (only_if_damaged) {
		ret = ks_nft_status(w->table, &st, err);
		if (ret < 0 || (st.active && st.complete && rules_as_applied(w->table)))
			goto cleanup;
	}
	/* Addresses and the exclusion cgroup may have changed (or gone) since enable. */
	ret = cli_apply_locked(&policy, w->table, true, err);
	if (ret < 0)
		goto cleanup;
	w->restores++;
	fprintf(stderr, "%s: watch: table inet %s restored (%s) in %.1f ms\n", program_name, w->table, why,
		now_ms() - since);
cleanup:
	if (ret < 0)
		cli_warn("watch: cannot restore table inet %s (%s): %s", w->table, why, err[0] ? err : strerror(-ret));
	ks_unlock(lock);
	ks_policy_free(&policy);
	return ret;
}

static int on_message(const void *msg, size_t len, void *data)
{
	struct watch *w = data;
	struct ks_nft_event ev;
	char why[64];
	double t = now_ms();

	if (ks_nfnl_classify(msg, len, w->table, &ev) < 0)
		return 0;
	if (ev.kind == KS_NFT_EVENT_TABLE)
		w->touched = true;
	if (ev.kind != KS_NFT_EVENT_NEWGEN || !w->touched)
		return 0;
	w->touched = false;
	if (!strcmp(ev.proc, "killswitch"))
		return 0;
	snprintf(why, sizeof(why), "changed by %s, pid %u", ev.proc[0] ? ev.proc : "?", ev.pid);
	restore(w, why, false, t);
	return 0;
}

int watch_main(int argc, char *argv[])
{
	struct ks_options opts = { 0 };
	struct ks_nfnl_monitor *monitor = NULL;
	struct watch w = { 0 };
	int ret;

	ret = cli_parse_json_only(argc, argv, &opts);
	if (ret)
		goto cleanup;
	if (opts.json) {
		ret = cli_error(KS_EXIT_USAGE, "watch has no JSON output: '%s'", "--json");
		goto cleanup;
	}
	/* The lock is taken per restore, not held. */
	ret = cli_begin(argv[0], &w.table, NULL);
	if (ret)
		goto cleanup;
	/* Restores race the clock: no fork per restore (see ks_nft_in_process). */
	ks_nft_in_process(true);
	ret = ks_nfnl_monitor_open(&monitor);
	if (ret < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "cannot listen to nftables events: '%s'", strerror(-ret));
		goto cleanup;
	}
	/* Subscribed first, then checked: nothing can slip between the two. */
	restore(&w, "missing or incomplete at start", true, now_ms());
	if (!w.broken)
		fprintf(stderr, "%s: watch: guarding table inet %s\n", program_name, w.table);
	while (!w.broken) {
		ret = ks_nfnl_monitor_next(monitor, on_message, &w);
		if (ret == -ENOBUFS) {
			/* Events were lost, and with them who made them: check the table itself. */
			w.touched = false;
			restore(&w, "events lost, table damaged", true, now_ms());
			continue;
		}
		if (ret < 0 && ret != -EINTR) {
			ret = cli_error(KS_EXIT_SYSTEM, "lost the nftables event socket: '%s'", strerror(-ret));
			goto cleanup;
		}
	}
	ret = KS_EXIT_SYSTEM;
cleanup:
	ks_nfnl_monitor_close(monitor);
	return ret;
}
