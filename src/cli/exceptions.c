// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bypass add|del and allow-in add|del: change the running policy's --bypass
 * or --allow-in list. The stored policy is read and changed; the table's
 * sets (and the guard's, through watch while it holds one) change their
 * elements in one transaction, as endpoint add|del does: no table replaced,
 * the rules and their counters untouched. Only when the change adds or
 * removes the sets themselves (the first bypass or allow-in, the last one)
 * is the whole table applied again, in one transaction too. Then the state
 * file (and with --persist the stored policy) is written; when it cannot
 * be, the change is undone. docs/bypass.md says why not always the sets.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "killswitch/array.h"
#include "killswitch/compile.h"
#include "killswitch/env.h"
#include "killswitch/nft.h"
#include "killswitch/parse.h"
#include "killswitch/rundir.h"

/* One list's parser, its message and its policy functions. */
struct list_kind {
	const char *name;
	const char *usage;
	size_t size;
	int (*parse)(const char *text, void *out);
	int (*add)(struct ks_policy *policy, const void *entry);
	size_t (*del)(struct ks_policy *policy, const void *entry);
	size_t (*count)(const struct ks_policy *policy);
};

static int parse_bypass(const char *text, void *out) { return ks_parse_bypass(text, out); }
static int add_bypass(struct ks_policy *p, const void *e) { return ks_policy_add_bypass(p, e); }
static size_t del_bypass(struct ks_policy *p, const void *e) { return ks_policy_del_bypass(p, e); }
static size_t count_bypass(const struct ks_policy *p) { return p->n_bypass; }
static int parse_allow_in(const char *text, void *out) { return ks_parse_allow_in(text, out); }
static int add_allow_in(struct ks_policy *p, const void *e) { return ks_policy_add_allow_in(p, e); }
static size_t del_allow_in(struct ks_policy *p, const void *e) { return ks_policy_del_allow_in(p, e); }
static size_t count_allow_in(const struct ks_policy *p) { return p->n_allow_in; }

static const struct list_kind bypass_kind = {
	"bypass", "invalid bypass (CIDR[:PORT[/tcp|/udp]], IPv6 as [CIDR]:PORT; at least /8 or /16)",
	sizeof(struct ks_bypass), parse_bypass, add_bypass, del_bypass, count_bypass,
};
static const struct list_kind allow_in_kind = {
	"allow-in", "invalid allow-in (PORT[/tcp|/udp][@IFACE])",
	sizeof(struct ks_allow_in), parse_allow_in, add_allow_in, del_allow_in, count_allow_in,
};

/* The entries (n of kind) added to, or deleted from, policy; the count of those that changed it. */
static int change_policy(const struct list_kind *kind, struct ks_policy *policy, const char *entries, size_t n,
			 bool add, size_t *changed)
{
	size_t before = kind->count(policy);

	*changed = 0;
	for (size_t i = 0; i < n; i++) {
		if (add && kind->add(policy, entries + i * kind->size) < 0)
			return -ENOMEM;
		if (!add)
			*changed += kind->del(policy, entries + i * kind->size);
	}
	ks_policy_finalize(policy);
	if (add)
		*changed = kind->count(policy) - before;
	return 0;
}

/*
 * The table's sets turned from those of from into those of to, in one
 * transaction with the guard's while watch holds one. *reapplied: the
 * rules differ (or the table is not there), and the table was applied
 * again whole; it then records the state itself.
 */
static int change_table(const struct ks_policy *from, struct ks_policy *to, const char *table, bool *reapplied,
			char err[KS_ERR_LEN])
{
	struct ks_buf text = KS_BUF_INIT;
	int ret = -ENOENT;

	*reapplied = false;
	if (ks_exceptions_same_rules(from, to)) {
		ret = ks_compile_exceptions_change(from, to, table, false, &text);
		if (ret == 0 && ks_nft_guarded(NULL))
			ret = ks_compile_exceptions_change(from, to, table, true, &text);
		if (ret < 0) {
			snprintf(err, KS_ERR_LEN, "cannot compile the change: '%s'", strerror(-ret));
			goto cleanup;
		}
		/* Blocked, a bypass: the table has no bypass sets, only the state changes. */
		if (!text.len)
			goto cleanup;
		ret = ks_nft_run(text.data, "nftables refused the change; nothing changed", err);
	}
	/* No sets to change (or the table, or a guard gone with its watch, meanwhile): the table whole. */
	if (ret == -ENOENT) {
		err[0] = '\0';
		*reapplied = true;
		ret = cli_apply_locked(to, table, false, err);
	}
cleanup:
	ks_buf_free(&text);
	return ret;
}

/* The table and the state file back as they were after a later step failed; says so when it cannot. */
static void undo(const struct ks_policy *changed, struct ks_policy *old, const char *table, bool state_written)
{
	char err[KS_ERR_LEN] = "";
	bool reapplied;

	if (change_table(changed, old, table, &reapplied, err) < 0)
		cli_warn("the change cannot be undone, the table holds the new list: %s", err);
	else if (state_written && !reapplied && ks_state_save(old, err) < 0)
		cli_warn("the table is back as it was, but the state file names the new list: %s", err);
}

static int change_main(const struct list_kind *kind, int argc, char *argv[])
{
	char err[KS_ERR_LEN] = "", escaped[KS_ERR_LEN / 2];
	union {
		struct ks_bypass b;
		struct ks_allow_in a;
	} entry;
	struct ks_policy old, policy, stored;
	const char *table;
	char *entries = NULL;
	size_t n = 0, changed = 0, stored_changed = 0;
	bool add, json = false, persist = false, reapplied = false;
	int lock = -1, ret;

	ks_policy_init(&old);
	ks_policy_init(&policy);
	ks_policy_init(&stored);
	if (argc < 2 || (strcmp(argv[1], "add") && strcmp(argv[1], "del"))) {
		ret = cli_error(KS_EXIT_USAGE, "%s needs add or del: '%s'", kind->name,
				ks_escape(argc < 2 ? "" : argv[1], escaped, sizeof(escaped)));
		goto cleanup;
	}
	add = !strcmp(argv[1], "add");
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
			continue;
		}
		if (!strcmp(argv[i], "--persist")) {
			persist = true;
			continue;
		}
		memset(&entry, 0, sizeof(entry));
		if (kind->parse(argv[i], &entry) < 0) {
			ret = cli_error(KS_EXIT_USAGE, "%s: '%s'", kind->usage, ks_escape(argv[i], escaped, sizeof(escaped)));
			goto cleanup;
		}
		if (ks_array_append((void **)&entries, &n, kind->size, &entry) < 0) {
			ret = cli_error(KS_EXIT_SYSTEM, "cannot allocate: '%s'", argv[i]);
			goto cleanup;
		}
	}
	if (!n) {
		ret = cli_error(KS_EXIT_USAGE, "%s %s needs at least one entry: '%s'", kind->name, argv[1], "");
		goto cleanup;
	}
	ret = cli_begin(argv[0], &table, &lock);
	if (ret)
		goto cleanup;
	/* Read twice: the sets' change is the difference between the two. */
	ret = ks_state_load(&old, err);
	if (ret == 0)
		ret = ks_state_load(&policy, err);
	if (ret < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s: '%s'", ret == -ENOENT ? "killswitch is not active" : err,
				ks_env()->rundir);
		goto cleanup;
	}
	if (change_policy(kind, &policy, entries, n, add, &changed) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "cannot allocate: '%s'", kind->name);
		goto cleanup;
	}
	/* --bypass with the running policy's --fwmark none, allow-in on its tunnel: nothing changed. */
	if (ks_exceptions_check(&policy, err) < 0) {
		ret = cli_error(KS_EXIT_USAGE, "%s", err);
		goto cleanup;
	}
	/* The stored policy changes the same way; checked before anything changes. */
	if (persist) {
		ret = ks_persist_load(&stored, err);
		if (ret == -ENOENT) {
			ret = cli_error(KS_EXIT_USAGE, "no stored policy to change (enable --persist stores one): '%s'",
					"--persist");
			goto cleanup;
		}
		if (ret < 0) {
			ret = cli_error(KS_EXIT_SYSTEM, "the stored policy cannot be read: %s", err);
			goto cleanup;
		}
		if (change_policy(kind, &stored, entries, n, add, &stored_changed) < 0) {
			ret = cli_error(KS_EXIT_SYSTEM, "cannot allocate: '%s'", kind->name);
			goto cleanup;
		}
		if (ks_exceptions_check(&stored, err) < 0) {
			ret = cli_error(KS_EXIT_USAGE, "%s (the stored policy)", err);
			goto cleanup;
		}
	}
	if (changed && change_table(&old, &policy, table, &reapplied, err) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	/* A re-apply wrote the state itself. */
	if (changed && !reapplied && ks_state_save(&policy, err) < 0) {
		undo(&policy, &old, table, false);
		ret = cli_error(KS_EXIT_SYSTEM, "%s; the change was undone", err);
		goto cleanup;
	}
	if (stored_changed && ks_persist_save(&stored, err) < 0) {
		if (changed)
			undo(&policy, &old, table, true);
		ret = cli_error(KS_EXIT_SYSTEM, "not stored for the next boot (%s); the change was undone", err);
		goto cleanup;
	}
	ret = KS_EXIT_OK;
	if (json) {
		json_t *obj = json_object();

		json_object_set_new(obj, "changed", json_integer((json_int_t)changed));
		json_object_set_new(obj, kind == &bypass_kind ? "bypass" : "allow_in",
				    json_integer((json_int_t)kind->count(&policy)));
		json_object_set_new(obj, "table_applied", json_boolean(reapplied));
		json_object_set_new(obj, "persisted", json_boolean(persist));
		ret = cli_print_json(obj);
	}
cleanup:
	ks_unlock(lock);
	ks_policy_free(&old);
	ks_policy_free(&policy);
	ks_policy_free(&stored);
	free(entries);
	return ret;
}

int bypass_main(int argc, char *argv[])
{
	return change_main(&bypass_kind, argc, argv);
}

int allow_in_main(int argc, char *argv[])
{
	return change_main(&allow_in_kind, argc, argv);
}
