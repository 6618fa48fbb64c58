// SPDX-License-Identifier: GPL-2.0-or-later
/* Endpoints files (--endpoints-file): one ADDR:PORT[/proto] per line, '#' comments. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_policy policy;
	char err[KS_ERR_LEN] = "";
	int ret;

	ks_policy_init(&policy);
	ret = ks_options_parse_endpoints_file(&policy, fuzz_file(0, data, size), err);
	fuzz_check_err(ret, err);
	if (ret == 0) {
		/* Endpoints are all such a file can hold. */
		CHECK(!policy.n_tunnels && !policy.n_resolvers && !policy.n_lan && !policy.n_tunnel_addrs);
		CHECK(ks_policy_add_tunnel(&policy, "wg0") == 0);
		fuzz_check_compile(&policy);
		fuzz_check_roundtrip(&policy);
	}
	ks_policy_free(&policy);
	return 0;
}
