// SPDX-License-Identifier: GPL-2.0-or-later
/* A WireGuard device, whichever way it answers: the UAPI socket, else generic netlink. */
#include <errno.h>
#include <stdlib.h>

#include "killswitch/sources.h"

void ks_wg_device_free(struct ks_wg_device *dev)
{
	free(dev->endpoints);
	free(dev->allowed_ips);
	dev->endpoints = NULL;
	dev->n_endpoints = 0;
	dev->allowed_ips = NULL;
	dev->n_allowed_ips = 0;
	dev->fwmark = 0;
}

int ks_wg_read(const char *ifname, struct ks_wg_device *dev, char err[KS_ERR_LEN])
{
	int ret = ks_wg_uapi_read(ifname, dev, err);

	if (ret != -ENOENT)
		return ret;
	return ks_wg_genl_read(ifname, dev, err);
}
