// SPDX-License-Identifier: GPL-2.0-or-later
/* "READY=1" to the service manager: one datagram to $NOTIFY_SOCKET (a path, or @ for the abstract namespace). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "killswitch/notify.h"

int ks_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	socklen_t len;
	size_t n;
	int fd, ret = 0;

	if (!path || (path[0] != '/' && path[0] != '@'))
		return 0;
	n = strlen(path);
	if (n >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, path, n);
	if (path[0] == '@')
		addr.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *)&addr, len) < 0)
		ret = -errno;
	close(fd);
	return ret;
}
