// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Policy files: the state and persisted policies killswitch reads back
 * (ks_options_parse_file), and the same option handlers as the command line.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_policy policy;
	char err[KS_ERR_LEN] = "";
	int ret;

	ks_policy_init(&policy);
	ret = ks_options_parse_file(&policy, fuzz_file(0, data, size), err);
	fuzz_check_err(ret, err);
	if (ret == 0) {
		fuzz_check_compile(&policy);
		fuzz_check_roundtrip(&policy);
	}
	ks_policy_free(&policy);
	return 0;
}
