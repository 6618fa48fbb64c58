// SPDX-License-Identifier: GPL-2.0-or-later
/* OpenVPN's --up/--down environment: the input is envp, one NAME=VALUE per line (or per NUL). */

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_policy policy;
	char err[KS_ERR_LEN] = "";
	char **envp;
	int n, ret;

	envp = fuzz_split(data, size, &n);
	ks_policy_init(&policy);
	ret = ks_openvpn_env_parse(&policy, envp, err);
	fuzz_check_err(ret, err);
	/* As with --from-openvpn-env --fwmark: OpenVPN itself names no mark. */
	if (ret == 0) {
		fuzz_check_compile(&policy);
		fuzz_check_roundtrip(&policy);
	}
	ks_policy_free(&policy);
	fuzz_free_split(envp);
	return 0;
}
