// SPDX-License-Identifier: GPL-2.0-or-later
/* split-tunnel list: who is excluded (or, with --include, who is in the inclusion group). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "killswitch/cgroup.h"
#include "killswitch/env.h"
#include "killswitch/json.h"
#include "killswitch/parse.h"
#include "killswitch/proc.h"
#include "split.h"
#include "units.h"

/*
 * The excluded units after the processes: "unit<TAB>PATH<TAB>running|stopped[<TAB>persistent]",
 * or the JSON's "units" list. A user sees their own (in their user slice) only.
 */
static int list_units(const struct split_ctx *ctx, struct ks_json *json, bool as_json)
{
	struct ks_units run = { 0 }, conf = { 0 }, all = { 0 };
	char err[KS_ERR_LEN] = "", hierarchy[KS_UNIT_PATH_MAX], escaped[KS_UNIT_PATH_MAX * 4];
	int ret;

	ret = ks_units_load(ks_env()->rundir, &run, err);
	if (ret == 0)
		ret = ks_units_load(ks_env()->confdir, &conf, err);
	if (ret == 0)
		ret = cli_units_load_all(&all, err);
	if (ret == 0 && ks_unit_hierarchy(ctx->split.path, ctx->split.level, hierarchy, sizeof(hierarchy)) < 0)
		hierarchy[0] = '\0';
	if (ret < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	if (as_json) {
		ks_json_key(json, "units");
		ks_json_open(json, '[');
	}
	for (size_t i = 0; i < all.n; i++) {
		const char *path = all.paths[i];
		uint64_t id;
		bool running = hierarchy[0] && ks_unit_id(hierarchy, path, &id) == 0;
		bool persistent = ks_units_has(&conf, path);

		if (ctx->who.uid != 0 && !ks_unit_path_is_users(path, ctx->who.uid))
			continue;
		if (as_json) {
			ks_json_open(json, '{');
			ks_json_key(json, "cgroup");
			ks_json_string(json, path);
			ks_json_key(json, "running");
			ks_json_bool(json, running);
			ks_json_key(json, "persistent");
			ks_json_bool(json, persistent);
			ks_json_close(json, '}');
		} else {
			/* Held to systemd's alphabet when read; escaped all the same, as everything printed. */
			printf("unit\t%s\t%s%s\n", ks_escape(path, escaped, sizeof(escaped)), running ? "running" : "stopped",
			       persistent ? "\tpersistent" : "");
		}
	}
	if (as_json)
		ks_json_close(json, ']');
cleanup:
	ks_units_free(&run);
	ks_units_free(&conf);
	ks_units_free(&all);
	return ret;
}

int split_list_main(int argc, char *argv[])
{
	struct ks_options opts = { 0 };
	struct split_ctx ctx;
	char err[KS_ERR_LEN] = "", comm[64], escaped[sizeof(comm) * 4], status[4096], classid[16];
	struct ks_proc_ids ids;
	struct ks_json json = KS_JSON_INIT;
	char *text = NULL;
	pid_t *pids = NULL;
	size_t n = 0;
	bool include = argc > 1 && !strcmp(argv[1], "--include");
	int ret;

	/* list --include [--json]: the inclusion group's processes; units are excluded only. */
	if (include) {
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	ret = cli_parse_json_only(argc, argv, &opts);
	if (ret)
		goto cleanup;
	ret = include ? split_setup_include(&ctx, KS_EXIT_SYSTEM, false) : split_setup(&ctx, KS_EXIT_SYSTEM, false);
	if (ret)
		goto cleanup;
	if (ks_cgroup_list(&ctx.split, &pids, &n, err) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	if (opts.json) {
		ks_json_open(&json, '{');
		ks_json_key(&json, "group");
		ks_json_string(&json, include ? "include" : "exclude");
		ks_json_key(&json, "mechanism");
		ks_json_string(&json, ctx.split.mode == KS_SPLIT_V1 ? "v1" : "v2");
		ks_json_key(&json, "cgroup");
		ks_json_string(&json, ctx.split.path);
		if (ctx.split.mode == KS_SPLIT_V1) {
			snprintf(classid, sizeof(classid), "0x%x", ctx.split.classid);
			ks_json_key(&json, "classid");
			ks_json_string(&json, classid);
		} else {
			ks_json_key(&json, "level");
			ks_json_int(&json, ctx.split.level);
		}
		ks_json_key(&json, "processes");
		ks_json_open(&json, '[');
	}
	for (size_t i = 0; i < n; i++) {
		/* Gone since the listing: not excluded any more. */
		if (ks_proc_read(pids[i], "comm", comm, sizeof(comm)) < 0)
			continue;
		/* A user sees only their own: a setuid list must not show more than /proc with hidepid would. */
		if (ctx.who.uid != 0 && (ks_proc_read(pids[i], "status", status, sizeof(status)) < 0 ||
				     ks_proc_parse_ids(status, &ids) < 0 || !ks_priv_may_move(&ctx.who, &ids)))
			continue;
		comm[strcspn(comm, "\n")] = '\0';
		if (opts.json) {
			/* comm is whatever bytes the program chose: ks_json_quote makes them JSON. */
			ks_json_open(&json, '{');
			ks_json_key(&json, "pid");
			ks_json_int(&json, pids[i]);
			ks_json_key(&json, "comm");
			ks_json_string(&json, comm);
			ks_json_close(&json, '}');
		} else {
			printf("%d\t%s\n", (int)pids[i], ks_escape(comm, escaped, sizeof(escaped)));
		}
	}
	if (opts.json)
		ks_json_close(&json, ']');
	if (ctx.split.mode == KS_SPLIT_V2 && !include) {
		ret = list_units(&ctx, &json, opts.json);
		if (ret)
			goto cleanup;
	}
	if (opts.json) {
		ks_json_close(&json, '}');
		text = ks_buf_steal(&json.buf);
		if (!text) {
			ret = cli_error(KS_EXIT_SYSTEM, "cannot format JSON: '%s'", strerror(ENOMEM));
			goto cleanup;
		}
		puts(text);
	}
	ret = fflush(stdout) == 0 ? KS_EXIT_OK : cli_error(KS_EXIT_SYSTEM, "cannot write: '%s'", strerror(errno));
cleanup:
	ks_buf_free(&json.buf);
	free(text);
	free(pids);
	return ret;
}
