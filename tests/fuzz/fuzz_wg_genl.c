// SPDX-License-Identifier: GPL-2.0-or-later
/* Kernel WireGuard's WG_CMD_GET_DEVICE replies over generic netlink. */
#include <libmnl/libmnl.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_wg_device dev = { 0 };
	char err[KS_ERR_LEN] = "";
	const struct nlmsghdr *nlh = fuzz_guarded(data, size);
	int left = (int)size, ret;

	if (!nlh)
		return 0;
	ret = ks_wg_genl_parse(nlh, size, &dev, err);
	fuzz_check_err(ret, err);
	if (ret == 0)
		fuzz_compile_wg_device(&dev);
	ks_wg_device_free(&dev);
	if (size < sizeof(*nlh) || MNL_ALIGN(nlh->nlmsg_len) >= size)
		return 0;

	/* As a dump arrives: every message of the datagram, endpoints accumulating. */
	for (; next_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		err[0] = '\0';
		ret = ks_wg_genl_parse(nlh, nlh->nlmsg_len, &dev, err);
		fuzz_check_err(ret, err);
		if (ret < 0)
			break;
	}
	if (ret == 0)
		fuzz_compile_wg_device(&dev);
	ks_wg_device_free(&dev);
	return 0;
}
