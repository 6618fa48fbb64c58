// SPDX-License-Identifier: GPL-2.0-or-later
/* enable and block: compile the policy and swap it in atomically. */
#include "cli.h"

static int apply_main(int argc, char *argv[], enum ks_state state)
{
	struct ks_options opts = { 0 };
	struct ks_policy policy;
	int ret;

	ret = cli_parse_policy(argc, argv, state, &policy, &opts);
	if (ret)
		goto cleanup;
	if (opts.state_given) {
		ret = cli_error(KS_EXIT_USAGE, "--state is for compile; use enable or block: '%s'", argv[0]);
		goto cleanup;
	}
	if (state == KS_STATE_ENABLED && !policy.n_tunnels) {
		ret = cli_error(KS_EXIT_USAGE, "enable needs a tunnel (--tunnel, --from-wg or --from-openvpn-env): '%s'",
				argv[0]);
		goto cleanup;
	}
	if (state == KS_STATE_ENABLED && !policy.n_resolvers)
		cli_warn("no --dns given: all DNS is blocked");
	ret = cli_apply(&policy, &opts);
cleanup:
	ks_policy_free(&policy);
	return ret;
}

int enable_main(int argc, char *argv[])
{
	return apply_main(argc, argv, KS_STATE_ENABLED);
}

int block_main(int argc, char *argv[])
{
	return apply_main(argc, argv, KS_STATE_BLOCKED);
}
