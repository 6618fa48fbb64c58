// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Drives the libnftables seam with a transaction the kernel refuses half-way
 * (a set overflowing its size is only caught by the kernel, after the delete
 * of the old table was already in the batch). Exits 0 when ks_nft_apply()
 * fails as it must; the caller checks that the ruleset is byte-identical.
 */
#include <stdio.h>
#include <string.h>

#include "killswitch/compile.h"
#include "killswitch/nft.h"
#include "killswitch/options.h"

int main(void)
{
	char *args[] = { "--tunnel", "wgfault", "--endpoint", "192.0.2.99:51820" };
	char err[KS_ERR_LEN] = "";
	struct ks_buf text = KS_BUF_INIT;
	struct ks_policy policy;
	int ret = 1;

	ks_policy_init(&policy);
	if (ks_options_parse_args(&policy, NULL, 4, args, err) < 0 ||
	    ks_compile_transaction(&policy, "killswitch", &text) < 0) {
		fprintf(stderr, "apply_fault: cannot build the transaction: %s\n", err);
		goto cleanup;
	}
	ks_buf_puts(&text, "add set inet killswitch overflow { type ipv4_addr; size 1; "
			   "elements = { 198.51.100.1, 198.51.100.2 }; }\n");
	if (ks_nft_apply(text.data, "killswitch", err) == 0) {
		fprintf(stderr, "apply_fault: the kernel accepted an overflowing set\n");
		goto cleanup;
	}
	if (!strstr(err, "previous one is unchanged")) {
		fprintf(stderr, "apply_fault: unexpected error text: %s\n", err);
		goto cleanup;
	}
	printf("apply_fault: refused as expected: %s\n", err);
	ret = 0;
cleanup:
	ks_buf_free(&text);
	ks_policy_free(&policy);
	return ret;
}
