// SPDX-License-Identifier: GPL-2.0-or-later
/* status: the table, the policy killswitch applied, which protection is in force, the counters. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "killswitch/compile.h"
#include "killswitch/env.h"
#include "killswitch/netlink.h"
#include "killswitch/nft.h"
#include "killswitch/parse.h"
#include "killswitch/rundir.h"
#include "units.h"

static void print_addrs(const char *label, const struct ks_addr *addrs, size_t n)
{
	char text[KS_ADDR_STRLEN];

	printf("  %s:", label);
	if (!n)
		printf(" none");
	for (size_t i = 0; i < n; i++) {
		ks_format_addr(&addrs[i], text);
		printf(" %s", text);
	}
	putchar('\n');
}

/* --bypass and --allow-in, in the forms the options take. */
static void print_exceptions(const struct ks_policy *p)
{
	char text[KS_BYPASS_STRLEN];

	printf("  bypass (off the tunnel when connected; never DNS or a protected prefix):");
	if (!p->n_bypass)
		printf(" none");
	for (size_t i = 0; i < p->n_bypass; i++) {
		ks_format_bypass(&p->bypass[i], text);
		printf(" %s", text);
	}
	printf("\n  allow in (inbound on non-tunnel interfaces, every state):");
	if (!p->n_allow_in)
		printf(" none");
	for (size_t i = 0; i < p->n_allow_in; i++) {
		ks_format_allow_in(&p->allow_in[i], text);
		printf(" %s", text);
	}
	putchar('\n');
}

static void print_policy(const struct ks_policy *p)
{
	char text[KS_ENDPOINT_STRLEN];

	printf("  state: %s%s\n", ks_state_name(p->state),
	       p->state == KS_STATE_BLOCKED && p->n_endpoints ? " (connecting: endpoints exempt)" : "");
	printf("  tunnels:");
	if (!p->n_tunnels)
		printf(" none");
	for (size_t i = 0; i < p->n_tunnels; i++)
		printf(" %s", p->tunnels[i].name);
	printf("\n  endpoints:");
	if (!p->n_endpoints)
		printf(" none");
	for (size_t i = 0; i < p->n_endpoints && i < 8; i++) {
		ks_format_endpoint(&p->endpoints[i], text);
		printf(" %s", text);
	}
	if (p->n_endpoints > 8)
		printf(" ... (%zu in all)", p->n_endpoints);
	if (p->fwmark_none)
		printf("\n  fwmark: none (endpoints scoped by address, port and protocol only)\n");
	else
		printf("\n  fwmark: 0x%x (endpoints allowed only for packets carrying it)\n", p->fwmark);
	print_addrs("dns", p->resolvers, p->n_resolvers);
	printf("  lan: %s", p->allow_lan ? "allowed (fixed private, link-local and local multicast ranges)" : "blocked");
	for (size_t i = 0; i < p->n_lan; i++) {
		ks_format_cidr(&p->lan[i], text);
		printf("%s %s", i ? "" : "; extra:", text);
	}
	printf("\n  ipv6: %s\n", p->ipv6 == KS_IPV6_ALLOW ? "allowed outside the tunnel" : "blocked outside the tunnel");
	print_addrs("tunnel addresses", p->tunnel_addrs, p->n_tunnel_addrs);
	if (p->partial)
		printf("  tunnel: partial (only the protected prefixes and DNS to the dns resolvers are locked to it; "
		       "other traffic leaves as routed)\n");
	else
		printf("  tunnel: full (nothing leaves outside it but what is listed here)\n");
	printf("  protected (only through the tunnel):");
	if (!p->n_protect)
		printf(" none");
	for (size_t i = 0; i < p->n_protect; i++) {
		ks_format_cidr(&p->protect[i].cidr, text);
		printf("%s %s (%s%s%s)", i ? "," : "", text, cli_protect_source(&p->protect[i]),
		       p->protect[i].iface[0] ? " of " : "", p->protect[i].iface);
		/* With two tunnels, each derived prefix only through its own; --protect through any. */
		if (p->n_tunnels > 1)
			printf(" via %s", p->protect[i].iface[0] ? p->protect[i].iface : "any tunnel");
	}
	putchar('\n');
	printf("  gateway for:");
	if (!p->n_gateways)
		printf(" none");
	for (size_t i = 0; i < p->n_gateways; i++)
		printf(" %s", p->gateways[i].name);
	printf(p->n_gateways ? " (their clients only through the tunnel, masqueraded; DNS to the first --dns)\n" : "\n");
	print_exceptions(p);
	if (p->split.mode == KS_SPLIT_V2)
		printf("  split tunnel: cgroup v2 \"%s\" (level %u), ct mark 0x%x\n", p->split.path, p->split.level,
		       p->split.ct_mark);
	else if (p->split.mode == KS_SPLIT_V1)
		printf("  split tunnel: cgroup v1 net_cls classid 0x%x, ct mark 0x%x\n", p->split.classid,
		       p->split.ct_mark);
	else
		printf("  split tunnel: off\n");
}

/* --include-only: who uses the tunnel. */
static void print_include(const struct ks_policy *p)
{
	if (!p->include_only)
		return;
	printf("  include-only: only the inclusion group uses the tunnel (locked to it; DNS only to the dns "
	       "resolvers); everything else leaves as routed\n");
	if (p->include.mode == KS_SPLIT_V2)
		printf("  inclusion group: cgroup v2 \"%s\" (level %u), mark 0x%x\n", p->include.path, p->include.level,
		       p->include.ct_mark);
	else if (p->include.mode == KS_SPLIT_V1)
		printf("  inclusion group: cgroup v1 net_cls classid 0x%x, mark 0x%x\n", p->include.classid,
		       p->include.ct_mark);
	else
		printf("  inclusion group: none (no cgroup mechanism: no program can use the tunnel)\n");
}

/*
 * The units excluded by split-tunnel add --unit (the run and config
 * directories' lists), each with whether its cgroup exists now and whether
 * it comes back at boot. "" hierarchy: not a v2 split, none is running.
 */
struct unit_row {
	const char *path;
	bool running, persistent;
};

static int for_each_unit(const struct ks_policy *p, void (*fn)(const struct unit_row *row, void *data), void *data)
{
	struct ks_units all = { 0 }, conf = { 0 };
	char err[KS_ERR_LEN] = "", hierarchy[KS_UNIT_PATH_MAX] = "";
	int ret = cli_units_load_all(&all, err);

	if (ret == 0)
		ret = ks_units_load(ks_env()->confdir, &conf, err);
	if (ret < 0) {
		cli_warn("%s", err);
		goto cleanup;
	}
	if (p->split.mode != KS_SPLIT_V2 ||
	    ks_unit_hierarchy(p->split.path, p->split.level, hierarchy, sizeof(hierarchy)) < 0)
		hierarchy[0] = '\0';
	for (size_t i = 0; i < all.n; i++) {
		struct unit_row row = { .path = all.paths[i], .persistent = ks_units_has(&conf, all.paths[i]) };
		uint64_t id;

		row.running = hierarchy[0] && ks_unit_id(hierarchy, row.path, &id) == 0;
		fn(&row, data);
	}
cleanup:
	ks_units_free(&all);
	ks_units_free(&conf);
	return ret;
}

static void print_unit(const struct unit_row *row, void *data)
{
	char escaped[KS_UNIT_PATH_MAX * 4];

	(*(unsigned *)data)++;
	printf(" %s (%s%s)", ks_escape(row->path, escaped, sizeof(escaped)), row->running ? "running" : "stopped",
	       row->persistent ? ", persistent" : "");
}

static void print_units(const struct ks_policy *p)
{
	unsigned n = 0;

	printf("  excluded units:");
	for_each_unit(p, print_unit, &n);
	printf(n ? "\n" : " none\n");
}

static void unit_json(const struct unit_row *row, void *data)
{
	json_t *one = json_object();

	json_object_set_new(one, "cgroup", json_string(row->path));
	json_object_set_new(one, "running", json_boolean(row->running));
	json_object_set_new(one, "persistent", json_boolean(row->persistent));
	json_array_append_new(data, one);
}

static json_t *units_json(const struct ks_policy *p)
{
	json_t *arr = json_array();

	for_each_unit(p, unit_json, arr);
	return arr;
}

/*
 * Chains and policies are whole; were rules added, removed or replaced since
 * killswitch applied them, or is the table another one than the state file's
 * (re-created since: then the recorded policy is not known to be its)?
 */
static void check_rules(const char *table, struct ks_nft_status *st, bool *policy_stale)
{
	struct cli_applied a = cli_applied_compare(table);

	*policy_stale = a.recreated;
	if (!a.known || a.recreated || a.same_rules)
		return;
	st->complete = false;
	snprintf(st->problem, sizeof(st->problem), "rules changed since killswitch applied them (%u rules, were %u)",
		 a.rules_now, a.rules_then);
}

/* What status found, for the two printers. */
struct report {
	const char *table;
	struct ks_nft_status st;
	struct ks_policy policy;
	bool have_policy; /* the state file names the table's policy */
	bool stale;	  /* the table was re-created after the state file was written */
	/* Which protection is in force: the table alone, or with the guard watch holds. */
	bool watch, guard;
	struct ks_nft_watch watcher;
	struct cli_portal portal; /* killswitch portal's grant, while the table is there */
};

/* Whether watch answers on its socket, and whether the guard table is there. */
static void read_protection(struct report *r)
{
	char err[KS_ERR_LEN], path[4096], guard[KS_GUARD_NAME_LEN];
	uint64_t handle;

	r->watch = ks_rundir_path(KS_WATCH_SOCKET, path, sizeof(path), err) == 0 && ks_nft_link(path, &r->watcher) == 0;
	r->guard = ks_guard_name(r->table, guard) == 0 && ks_nfnl_table_handle(guard, &handle) == 0;
}

static json_t *protection_json(const struct report *r)
{
	json_t *obj = json_object();

	json_object_set_new(obj, "watch", json_boolean(r->watch));
	if (r->watch)
		json_object_set_new(obj, "watch_pid", json_integer(r->watcher.pid));
	json_object_set_new(obj, "guard", json_boolean(r->guard));
	if (r->guard)
		json_object_set_new(obj, "guard_table", json_sprintf("inet %s" KS_GUARD_SUFFIX, r->table));
	json_object_set_new(obj, "guard_persistent", json_boolean(r->guard && r->watch && r->watcher.persist));
	return obj;
}

static void print_protection(const struct report *r)
{
	if (r->guard && r->watch)
		printf("  protection: table and guard inet %s" KS_GUARD_SUFFIX " (watch, pid %d%s): a flush or another "
		       "firewall's reload opens nothing\n",
		       r->table, (int)r->watcher.pid, r->watcher.persist ? "; the guard outlives it" : "");
	else if (r->guard)
		printf("  protection: table and guard inet %s" KS_GUARD_SUFFIX " (no watch: the guard has no owner "
		       "until watch starts)\n", r->table);
	else if (r->watch)
		printf("  protection: table only, watch (pid %d) restores it\n", (int)r->watcher.pid);
	else
		printf("  protection: table only (watch is not running: a flush of the ruleset would open the host "
		       "until the table is applied again)\n");
}

static int print_json(const struct report *r)
{
	json_t *obj = json_object(), *counters = json_object();

	json_object_set_new(obj, "active", json_boolean(r->st.active));
	json_object_set_new(obj, "table", json_sprintf("inet %s", r->table));
	if (r->st.active) {
		json_object_set_new(obj, "complete", json_boolean(r->st.complete));
		if (!r->st.complete)
			json_object_set_new(obj, "problem", json_string(r->st.problem));
	}
	json_object_set_new(obj, "state",
			    r->have_policy ? json_string(ks_state_name(r->policy.state))
					   : json_string(r->st.active ? "unknown" : "disabled"));
	json_object_set_new(obj, "policy", r->have_policy ? cli_policy_json(&r->policy) : json_null());
	/* Why an active table's policy is null: no state file, or one older than the table. */
	if (r->st.active && !r->have_policy)
		json_object_set_new(obj, "policy_unknown", json_string(r->stale ? "table re-created" : "no state"));
	for (unsigned c = 0; c < KS_COUNTER_MAX; c++) {
		json_t *one;

		if (!r->st.counters[c].present)
			continue;
		one = json_object();
		json_object_set_new(one, "packets", json_integer((json_int_t)r->st.counters[c].packets));
		json_object_set_new(one, "bytes", json_integer((json_int_t)r->st.counters[c].bytes));
		json_object_set_new(counters, ks_counter_names[c], one);
	}
	json_object_set_new(obj, "counters", counters);
	json_object_set_new(obj, "protection", protection_json(r));
	/* Listed whether or not the table is up: they are excluded again when it is. */
	json_object_set_new(obj, "excluded_units", units_json(&r->policy));
	if (r->st.active)
		json_object_set_new(obj, "portal", cli_portal_json(&r->portal));
	return cli_print_json(obj);
}

static int print_text(const struct report *r)
{
	if (!r->st.active) {
		printf("killswitch: inactive (no table inet %s)\n", r->table);
		return KS_EXIT_OK;
	}
	printf("killswitch: active, table inet %s %s\n", r->table, r->st.complete ? "complete" : "DAMAGED");
	if (!r->st.complete)
		printf("  problem: %s\n", r->st.problem);
	if (r->have_policy) {
		print_policy(&r->policy);
		print_include(&r->policy);
		print_units(&r->policy);
	} else if (r->stale)
		printf("  policy: unknown (the table was re-created after killswitch recorded its policy: "
		       "a killswitch interrupted, or another tool)\n");
	else
		printf("  policy: unknown (no state in %s)\n", ks_env()->rundir);
	print_protection(r);
	cli_portal_print(&r->portal);
	printf("  blocked:");
	for (unsigned c = 0; c < KS_COUNTER_MAX; c++)
		if (r->st.counters[c].present)
			printf(" %s %llu packets%s", ks_counter_names[c] + strlen("blocked_"),
			       (unsigned long long)r->st.counters[c].packets, c + 1 < KS_COUNTER_MAX ? "," : "");
	putchar('\n');
	return KS_EXIT_OK;
}

int status_main(int argc, char *argv[])
{
	struct ks_options opts = { 0 };
	struct report r = { 0 };
	char err[KS_ERR_LEN] = "";
	int ret;

	ks_policy_init(&r.policy);
	ret = cli_parse_json_only(argc, argv, &opts);
	if (ret)
		goto cleanup;
	/* status reads: no lock */
	ret = cli_begin(argv[0], &r.table, NULL);
	if (ret)
		goto cleanup;
	if (ks_nft_status(r.table, &r.st, err) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	if (r.st.active) {
		int loaded = ks_state_load(&r.policy, err);

		r.have_policy = loaded == 0;
		if (loaded < 0 && loaded != -ENOENT)
			cli_warn("%s", err);
	}
	read_protection(&r);
	if (r.st.active)
		cli_portal_read(r.table, &r.portal);
	if (r.st.active && r.st.complete)
		check_rules(r.table, &r.st, &r.stale);
	if (r.stale && r.have_policy) {
		ks_policy_free(&r.policy);
		ks_policy_init(&r.policy);
		r.have_policy = false;
	}
	ret = opts.json ? print_json(&r) : print_text(&r);
cleanup:
	ks_policy_free(&r.policy);
	return ret;
}
