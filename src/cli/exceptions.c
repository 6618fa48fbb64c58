// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bypass add|del and allow-in add|del: change the running policy's --bypass
 * or --allow-in list. The stored policy is read, changed, and the whole table
 * (and the guard, while watch holds one) applied again in one transaction:
 * there is no instant without the table, and connections keep their ct marks.
 * Unlike endpoint add|del this costs a table, not a set-element change; the
 * lists are short (docs/bypass.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "killswitch/array.h"
#include "killswitch/env.h"
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

static int change_main(const struct list_kind *kind, int argc, char *argv[])
{
	char err[KS_ERR_LEN] = "", escaped[KS_ERR_LEN / 2];
	union {
		struct ks_bypass b;
		struct ks_allow_in a;
	} entry;
	struct ks_policy policy;
	const char *table;
	char *entries = NULL;
	size_t n = 0, before, changed = 0;
	bool add, json = false;
	int lock = -1, ret;

	ks_policy_init(&policy);
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
	ret = ks_state_load(&policy, err);
	if (ret < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s: '%s'", ret == -ENOENT ? "killswitch is not active" : err,
				ks_env()->rundir);
		goto cleanup;
	}
	before = kind->count(&policy);
	for (size_t i = 0; i < n; i++) {
		if (add && kind->add(&policy, entries + i * kind->size) < 0) {
			ret = cli_error(KS_EXIT_SYSTEM, "cannot allocate: '%s'", kind->name);
			goto cleanup;
		}
		if (!add)
			changed += kind->del(&policy, entries + i * kind->size);
	}
	ks_policy_finalize(&policy);
	if (add)
		changed = kind->count(&policy) - before;
	/* --bypass with the running policy's --fwmark none, allow-in on its tunnel: nothing changed. */
	if (ks_exceptions_check(&policy, err) < 0) {
		ret = cli_error(KS_EXIT_USAGE, "%s", err);
		goto cleanup;
	}
	if (changed && cli_apply_locked(&policy, table, false, err) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	ret = KS_EXIT_OK;
	if (json) {
		json_t *obj = json_object();

		json_object_set_new(obj, "changed", json_integer((json_int_t)changed));
		json_object_set_new(obj, kind == &bypass_kind ? "bypass" : "allow_in",
				    json_integer((json_int_t)kind->count(&policy)));
		ret = cli_print_json(obj);
	}
cleanup:
	ks_unlock(lock);
	ks_policy_free(&policy);
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
