// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * watch: stay in the foreground, hold the guard, and put the table back
 * whenever a process other than killswitch removes or changes it (nft
 * flush ruleset, a firewalld reload, docker). The guard (see
 * ks_compile_guard_transaction) is a second table that only watch's
 * netlink socket may change, with the same verdicts: while the table is
 * gone, it refuses what the table refused, so nothing leaks before the
 * restore. Changes made by killswitch itself (enable, block, endpoint,
 * disable) are the user's: the commands send their nftables text here, to
 * change the table and the guard in one transaction (nft_remote.c).
 */
#define _GNU_SOURCE /* ppoll */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "killswitch/buf.h"
#include "killswitch/compile.h"
#include "killswitch/env.h"
#include "killswitch/netlink.h"
#include "killswitch/nft.h"
#include "killswitch/notify.h"
#include "killswitch/rundir.h"
#include "watch_units.h"

struct watch {
	const char *table;
	bool touched; /* our table changed since the last committed batch */
	bool broken;  /* the state file does not parse: everything is blocked, watch stops */
	unsigned restores;
	/* A restore waiting for the lock, which a command holds while it talks to us. */
	bool pending, pending_only_if_damaged;
	bool announced; /* "guarding ..." was said */
	char pending_why[64];
	double pending_since;
	int listen_fd; /* the commands' socket */
	int watch_lock; /* held for watch's life: one watch per run directory */
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

/*
 * Re-applies the last policy killswitch applied, unless the table is whole
 * (when only checking), with the lock held (by us, or by a command waiting
 * for us). 0 when restored, 1 when there was nothing to do, or -errno.
 */
static int restore_locked(struct watch *w, const char *why, bool only_if_damaged, double since, const char *then,
			  char err[KS_ERR_LEN])
{
	struct ks_nft_status st;
	struct ks_policy policy;
	int ret;

	ks_policy_init(&policy);
	ret = ks_state_load(&policy, err);
	if (ret == -ENOENT) {
		ret = 1; /* disabled: nothing to protect */
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
		ret = 1;
		goto cleanup;
	}
	if (only_if_damaged) {
		ret = ks_nft_status(w->table, &st, err);
		if (ret < 0)
			goto cleanup;
		ret = 1;
		if (st.active && st.complete && rules_as_applied(w->table))
			goto cleanup;
	}
	/* Addresses and the exclusion cgroup may have changed (or gone) since enable. */
	ret = cli_apply_locked_then(&policy, w->table, true, then, err);
	if (ret < 0)
		goto cleanup;
	w->restores++;
	fprintf(stderr, "%s: watch: table inet %s restored (%s) in %.1f ms\n", program_name, w->table, why,
		now_ms() - since);
cleanup:
	if (ret < 0)
		cli_warn("watch: cannot restore table inet %s (%s): %s", w->table, why, err[0] ? err : strerror(-ret));
	ks_policy_free(&policy);
	return ret;
}

/* Once the guard is in place (or there is no policy to guard), say so: scripts wait for this line. */
static void announce(struct watch *w)
{
	bool persist = false;

	if (w->announced || w->broken)
		return;
	w->announced = true;
	ks_nft_holding(&persist);
	fprintf(stderr, "%s: watch: guarding table inet %s with inet %s" KS_GUARD_SUFFIX " (%s)\n", program_name,
		w->table, w->table, persist ? "persistent" : "held while watch runs");
	/* Units ordered after watch (the firewall managers) start only now: their flush meets the guard. */
	if (ks_notify("READY=1") < 0)
		cli_warn("watch: cannot tell the service manager it is ready: '%s'", getenv("NOTIFY_SOCKET"));
}

/*
 * restore_locked() under the lock, taken without waiting: the command that
 * holds it may be waiting for us to run its text. The guard holds
 * meanwhile, and the main loop tries again.
 */
static int restore(struct watch *w, const char *why, bool only_if_damaged, double since)
{
	char err[KS_ERR_LEN] = "";
	int lock = -1, ret;

	ret = ks_lock_try(&lock, err);
	if (ret == -EWOULDBLOCK) {
		if (!w->pending) {
			w->pending = true;
			w->pending_only_if_damaged = only_if_damaged;
			w->pending_since = since;
			snprintf(w->pending_why, sizeof(w->pending_why), "%s", why);
		}
		w->pending_only_if_damaged &= only_if_damaged;
		return ret;
	}
	w->pending = false;
	if (ret < 0)
		cli_warn("watch: cannot restore table inet %s (%s): %s", w->table, why, err);
	else
		ret = restore_locked(w, why, only_if_damaged, since, NULL, err);
	ks_unlock(lock);
	/* Committed, and changed again at once by someone else: the events bring us back. */
	if (ret == -ENOTRECOVERABLE)
		ret = 0;
	if (ret >= 0)
		announce(w);
	return ret;
}

/*
 * A command's text found the table gone (flushed before we restored it).
 * The command holds the lock and waits for our answer, and writes the
 * state file only after it: restore from that file under its lock, with
 * the command's text in the same transaction.
 */
static int recover(void *data, const char *then, char err[KS_ERR_LEN])
{
	struct watch *w = data;
	int ret = restore_locked(w, "gone under a command", false, now_ms(), then, err);

	/* Committed, and gone again at once: the guard holds the change, and the next restore reads it. */
	if (ret == -ENOTRECOVERABLE)
		return 0;
	return ret == 1 ? -ENOENT : ret;
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
	/* Our own commits: the commands' changes, run in the context that holds the guard. */
	if (ev.pid == (uint32_t)getpid())
		return 0;
	snprintf(why, sizeof(why), "changed by %s, pid %u", ev.proc[0] ? ev.proc : "?", ev.pid);
	/*
	 * A name is no proof: any process may call itself killswitch. One that
	 * does (split-tunnel's unit ids, a command that found no watch) is
	 * checked rather than trusted: restored if it left the table damaged or
	 * its rules not the ones applied. Anyone else's change is undone.
	 */
	restore(w, why, !strcmp(ev.proc, "killswitch"), t);
	return 0;
}

/* One command's request: its nftables text, run in the context that owns the guard. */
static void serve(struct watch *w)
{
	char err[KS_ERR_LEN] = "";

	if (ks_nft_serve_one(w->listen_fd, recover, w, err) < 0)
		cli_warn("watch: %s", err);
}

/*
 * At start with the lock taken (a command is running, or one stuck in
 * libnftables' cache loop): the guard alone, from the stored policy, until
 * the restore that waits for the lock puts both in place. The state file is
 * replaced by rename and its journal appended line by line, so reading it
 * without the lock sees a whole policy; the command's own change, when it
 * comes through us, corrects the guard.
 */
static void guard_meanwhile(struct watch *w)
{
	struct ks_buf text = KS_BUF_INIT;
	struct ks_policy policy;
	char err[KS_ERR_LEN] = "";
	bool persist = false;
	int ret;

	ks_policy_init(&policy);
	ret = ks_state_load(&policy, err);
	if (ret == -ENOENT)
		goto cleanup; /* disabled: nothing to guard */
	if (ret == 0) {
		cli_policy_discover(&policy, false, true);
		ks_nft_holding(&persist);
		ret = ks_compile_guard_transaction(&policy, w->table, persist, &text);
		if (ret < 0)
			snprintf(err, KS_ERR_LEN, "cannot compile the guard: '%s'", strerror(-ret));
	}
	if (ret == 0)
		ret = ks_nft_run(text.data, "nftables refused the guard", err);
	if (ret == 0)
		fprintf(stderr, "%s: watch: guard inet %s" KS_GUARD_SUFFIX " in place from the stored policy; the table "
				"waits for the lock\n", program_name, w->table);
	else
		cli_warn("watch: no guard until the lock is free: %s", err);
cleanup:
	ks_buf_free(&text);
	ks_policy_free(&policy);
}

/* The guard's socket and the commands' socket, then the first restore: nothing slips between. */
static int start(struct watch *w, struct ks_nfnl_monitor **monitor)
{
	char err[KS_ERR_LEN] = "", path[4096];
	int ret;

	ret = ks_nfnl_monitor_open(monitor);
	if (ret < 0)
		return cli_error(KS_EXIT_SYSTEM, "cannot listen to nftables events: '%s'", strerror(-ret));
	ret = ks_nft_hold(w->table, err);
	if (ret == 0)
		ret = ks_rundir_make(err);
	/* Before the socket file is probed and replaced: no other watch can be between the two. */
	if (ret == 0) {
		ret = ks_lock_watch(&w->watch_lock, err);
		if (ret == -EWOULDBLOCK)
			return cli_error(KS_EXIT_SYSTEM, "another killswitch watch is running: '%s'", ks_env()->rundir);
	}
	if (ret == 0)
		ret = ks_rundir_path(KS_WATCH_SOCKET, path, sizeof(path), err);
	if (ret == 0)
		ret = ks_nft_serve_open(path, &w->listen_fd, err);
	if (ret < 0)
		return cli_error(KS_EXIT_SYSTEM, "%s", err);
	/*
	 * The table and the guard, whole: the guard is new, and the table may be
	 * stale or damaged. Failing that, end (the service manager restarts us)
	 * rather than run without the guard; a command holding the lock defers it.
	 */
	ret = restore(w, "and its guard, at start", false, now_ms());
	if (ret == -EWOULDBLOCK)
		guard_meanwhile(w);
	else if (ret < 0 && !w->broken)
		return cli_error(KS_EXIT_SYSTEM, "watch: cannot apply the table and its guard: '%s'", strerror(-ret));
	return 0;
}

int watch_main(int argc, char *argv[])
{
	struct ks_options opts = { 0 };
	struct ks_nfnl_monitor *monitor = NULL;
	struct watch w = { .listen_fd = -1, .watch_lock = -1 };
	struct watch_units units = { .fd = -1 };
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
	/* Before the first restore: a unit that starts meanwhile changes what watch_units_changed() sees. */
	ret = watch_units_open(&units);
	if (ret < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "cannot follow the excluded units' cgroups: '%s'", strerror(-ret));
		goto cleanup;
	}
	ret = start(&w, &monitor);
	if (ret)
		goto cleanup;
	while (!w.broken) {
		struct pollfd fds[3] = {
			{ .fd = ks_nfnl_monitor_fd(monitor), .events = POLLIN },
			{ .fd = w.listen_fd, .events = POLLIN },
			{ .fd = units.fd, .events = POLLIN },
		};

		/* A restore that waits for the lock is tried again every 20 ms. */
		ret = poll(fds, 3, w.pending ? 20 : -1);
		if (ret < 0 && errno != EINTR) {
			ret = cli_error(KS_EXIT_SYSTEM, "cannot wait for events: '%s'", strerror(errno));
			goto cleanup;
		}
		if (ret > 0 && fds[1].revents)
			serve(&w);
		/* An excluded unit (re)started, or the lists changed: the table gets the new ids. */
		if (ret > 0 && fds[2].revents && watch_units_changed(&units))
			restore(&w, "excluded units changed", false, now_ms());
		if (ret > 0 && fds[0].revents) {
			ret = ks_nfnl_monitor_next(monitor, on_message, &w);
			if (ret == -ENOBUFS) {
				/* Events were lost, and with them who made them: check the table itself. */
				w.touched = false;
				restore(&w, "events lost, table damaged", true, now_ms());
			} else if (ret < 0 && ret != -EINTR) {
				ret = cli_error(KS_EXIT_SYSTEM, "lost the nftables event socket: '%s'", strerror(-ret));
				goto cleanup;
			}
		}
		if (w.pending) {
			char why[sizeof(w.pending_why)];

			memcpy(why, w.pending_why, sizeof(why));
			restore(&w, why, w.pending_only_if_damaged, w.pending_since);
		}
	}
	ret = KS_EXIT_SYSTEM;
cleanup:
	if (w.listen_fd >= 0)
		close(w.listen_fd);
	ks_unlock(w.watch_lock);
	ks_nfnl_monitor_close(monitor);
	watch_units_close(&units);
	return ret;
}
