// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The command line: the input is argv, one argument per line (or per NUL).
 * Whatever ks_options_parse_args() accepts must compile to a ruleset that
 * passes the invariants, and survive the state file round trip.
 */
#include <string.h>

#include "fuzz.h"

/* These read files, sockets or the process environment: other harnesses cover their parsers. */
static bool does_io(char *const argv[], int argc)
{
	for (int i = 0; i < argc; i++)
		if (strstr(argv[i], "--from-") || strstr(argv[i], "--endpoints-file"))
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_policy policy;
	struct ks_options opts = { 0 };
	char err[KS_ERR_LEN] = "";
	char **argv;
	int argc, ret;

	argv = fuzz_split(data, size, &argc);
	if (does_io(argv, argc)) {
		fuzz_free_split(argv);
		return 0;
	}
	ks_policy_init(&policy);
	ret = ks_options_parse_args(&policy, &opts, argc, argv, err);
	fuzz_check_err(ret, err);
	if (ret == 0) {
		fuzz_check_compile(&policy);
		fuzz_check_roundtrip(&policy);
	}
	ks_policy_free(&policy);
	fuzz_free_split(argv);
	return 0;
}
