// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * split-tunnel exec: join the exclusion cgroup (or with --include the
 * inclusion group) as root, become the user for good, exec.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "killswitch/cgroup.h"
#include "killswitch/parse.h"
#include "split.h"

int split_exec_main(int argc, char *argv[])
{
	struct split_ctx ctx;
	char err[KS_ERR_LEN] = "", escaped[KS_ERR_LEN / 2];
	int first = 1, ret;
	bool include = false;

	if (first < argc && !strcmp(argv[first], "--include")) {
		include = true;
		first++;
	}
	if (first < argc && !strcmp(argv[first], "--"))
		first++;
	else if (first < argc && argv[first][0] == '-')
		return cli_error(KS_EXIT_USAGE, "unknown option (put -- before a command starting with '-'): '%s'",
				 ks_escape(argv[first], escaped, sizeof(escaped)));
	if (first >= argc)
		return cli_error(KS_EXIT_USAGE, "exec needs a command: '%s'", "");

	ret = include ? split_setup_include(&ctx, KS_EXIT_CANNOT_RUN, true) : split_setup(&ctx, KS_EXIT_CANNOT_RUN, true);
	if (ret)
		return ret;
	/* Without privileges only a group someone delegated to us can work: create nothing. */
	ret = split_prepare(&ctx, err);
	if (ret == 0)
		ret = ks_cgroup_attach(&ctx.split, getpid(), -1, err);
	if (ret < 0 && ctx.who.mode == KS_PRIV_USER && (ret == -EACCES || ret == -EPERM))
		return cli_error(KS_EXIT_CANNOT_RUN, "joining the %s cgroup needs root (sudo, or a setuid-root "
						     "install): '%s'", include ? "inclusion" : "exclusion", strerror(-ret));
	if (ret < 0)
		return cli_error(KS_EXIT_CANNOT_RUN, "%s", err);
	/* Fail closed: never run the command with privileges it was not meant to have. */
	if (ks_priv_drop(&ks_priv_sys, &ctx.who, err) < 0 || ks_priv_release(&ks_priv_sys, &ctx.held, err) < 0)
		return cli_error(KS_EXIT_CANNOT_RUN, "%s", err);
	execvp(argv[first], argv + first);
	ret = errno;
	return cli_error(ret == ENOENT ? KS_EXIT_NOT_FOUND : KS_EXIT_CANNOT_RUN, "cannot run the command (%s): '%s'",
			 strerror(ret), ks_escape(argv[first], escaped, sizeof(escaped)));
}
