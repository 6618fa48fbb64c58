// SPDX-License-Identifier: GPL-2.0-or-later
/* The reply of a userspace WireGuard (wireguard-go, boringtun) to "get=1". */
#include <stdlib.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_wg_device dev;
	char err[KS_ERR_LEN] = "";
	char *reply = fuzz_string(data, size);
	int ret;

	ret = ks_wg_uapi_parse(reply, &dev, err);
	fuzz_check_err(ret, err);
	if (ret == 0)
		fuzz_compile_wg_device(&dev);
	ks_wg_device_free(&dev);
	free(reply);
	return 0;
}
