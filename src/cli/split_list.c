// SPDX-License-Identifier: GPL-2.0-or-later
/* split-tunnel list: who is excluded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "killswitch/cgroup.h"
#include "killswitch/parse.h"
#include "killswitch/proc.h"
#include "split.h"

int split_list_main(int argc, char *argv[])
{
	struct ks_options opts = { 0 };
	struct split_ctx ctx;
	char err[KS_ERR_LEN] = "", comm[64], escaped[sizeof(comm) * 4], status[4096];
	struct ks_proc_ids ids;
	json_t *obj = NULL, *procs = NULL;
	pid_t *pids = NULL;
	size_t n = 0;
	int ret;

	ret = cli_parse_json_only(argc, argv, &opts);
	if (ret)
		goto cleanup;
	ret = split_setup(&ctx, KS_EXIT_SYSTEM, false);
	if (ret)
		goto cleanup;
	if (ks_cgroup_list(&ctx.split, &pids, &n, err) < 0) {
		ret = cli_error(KS_EXIT_SYSTEM, "%s", err);
		goto cleanup;
	}
	if (opts.json) {
		obj = json_object();
		procs = json_array();
		json_object_set_new(obj, "mechanism", json_string(ctx.split.mode == KS_SPLIT_V1 ? "v1" : "v2"));
		json_object_set_new(obj, "cgroup", json_string(ctx.split.path));
		if (ctx.split.mode == KS_SPLIT_V1)
			json_object_set_new(obj, "classid", json_sprintf("0x%x", ctx.split.classid));
		else
			json_object_set_new(obj, "level", json_integer(ctx.split.level));
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
		if (procs) {
			json_t *one = json_object();
			json_t *name = json_string(comm);

			/* comm is whatever bytes the program chose; JSON strings must be UTF-8. */
			if (!name) {
				for (char *c = comm; *c; c++)
					if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
						*c = '?';
				name = json_string(comm);
			}
			json_object_set_new(one, "pid", json_integer(pids[i]));
			json_object_set_new(one, "comm", name);
			json_array_append_new(procs, one);
		} else {
			printf("%d\t%s\n", (int)pids[i], ks_escape(comm, escaped, sizeof(escaped)));
		}
	}
	if (obj) {
		json_object_set_new(obj, "processes", procs);
		procs = NULL;
		ret = cli_print_json(obj);
		obj = NULL;
	} else {
		ret = fflush(stdout) == 0 ? KS_EXIT_OK : cli_error(KS_EXIT_SYSTEM, "cannot write: '%s'", strerror(errno));
	}
cleanup:
	json_decref(procs);
	json_decref(obj);
	free(pids);
	return ret;
}
