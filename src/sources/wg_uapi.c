// SPDX-License-Identifier: GPL-2.0-or-later
/* WireGuard's cross-platform userspace API: "get=1" on /var/run/wireguard/IFACE.sock. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "killswitch/array.h"
#include "killswitch/buf.h"
#include "killswitch/parse.h"
#include "killswitch/sources.h"

#define UAPI_DIR "/var/run/wireguard"
#define UAPI_REPLY_MAX (16u << 20) /* a device with 100,000 peers answers in about 20 MB... */

static int refuse(char err[KS_ERR_LEN], const char *what, const char *value, size_t len)
{
	char one[128], escaped[KS_ERR_LEN / 2];

	if (len >= sizeof(one))
		len = sizeof(one) - 1;
	memcpy(one, value, len);
	one[len] = '\0';
	snprintf(err, KS_ERR_LEN, "%s: '%s'", what, ks_escape(one, escaped, sizeof(escaped)));
	return -EINVAL;
}

int ks_wg_uapi_parse(const char *reply, struct ks_wg_device *dev, char err[KS_ERR_LEN])
{
	const char *line = reply;
	bool saw_errno = false;

	memset(dev, 0, sizeof(*dev));
	while (*line && *line != '\n') {
		const char *end = strchr(line, '\n'), *eq;
		char value[96];
		size_t len, klen;
		int ret;

		if (!end)
			return refuse(err, "WireGuard UAPI reply ends mid-line", line, strlen(line));
		len = (size_t)(end - line);
		eq = memchr(line, '=', len);
		if (!eq)
			return refuse(err, "WireGuard UAPI line without '='", line, len);
		klen = (size_t)(eq - line);
		if (len - klen - 1 >= sizeof(value))
			value[0] = '\0'; /* keys we read have short values; long ones are keys we skip */
		else {
			memcpy(value, eq + 1, len - klen - 1);
			value[len - klen - 1] = '\0';
		}
		if (klen == 6 && !memcmp(line, "fwmark", 6)) {
			if (ks_parse_u32(value, &dev->fwmark) < 0)
				return refuse(err, "WireGuard device reports an invalid fwmark", eq + 1, len - klen - 1);
		} else if (klen == 8 && !memcmp(line, "endpoint", 8)) {
			struct ks_endpoint ep;

			/* The device speaks UDP; a scoped (link-local) endpoint is not a VPN server. */
			if (ks_parse_endpoint(value, &ep) < 0 || ep.proto != IPPROTO_UDP)
				return refuse(err, "WireGuard device reports an endpoint killswitch cannot use", eq + 1,
					      len - klen - 1);
			ret = ks_array_append((void **)&dev->endpoints, &dev->n_endpoints, sizeof(ep), &ep);
			if (ret < 0)
				return ret;
		} else if (klen == 10 && !memcmp(line, "allowed_ip", 10)) {
			struct ks_cidr cidr;

			if (ks_parse_cidr(value, &cidr) < 0)
				return refuse(err, "WireGuard device reports an allowed IP killswitch cannot use", eq + 1,
					      len - klen - 1);
			ret = ks_array_append((void **)&dev->allowed_ips, &dev->n_allowed_ips, sizeof(cidr), &cidr);
			if (ret < 0)
				return ret;
		} else if (klen == 5 && !memcmp(line, "errno", 5)) {
			saw_errno = true;
			if (strcmp(value, "0"))
				return refuse(err, "WireGuard device answered with an error", value, strlen(value));
		}
		line = end + 1;
	}
	if (!saw_errno)
		return refuse(err, "WireGuard UAPI reply has no errno line", "", 0);
	return 0;
}

static int read_reply(int fd, struct ks_buf *reply)
{
	char chunk[65536];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk) - 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		chunk[n] = '\0';
		if (memchr(chunk, '\0', (size_t)n))
			return -EBADMSG;
		ks_buf_puts(reply, chunk);
		if (reply->err)
			return reply->err;
		if (reply->len > UAPI_REPLY_MAX)
			return -EMSGSIZE;
		/* The reply ends with an empty line. */
		if (reply->len >= 2 && !strcmp(reply->data + reply->len - 2, "\n\n"))
			break;
	}
	return 0;
}

int ks_wg_uapi_read(const char *ifname, struct ks_wg_device *dev, char err[KS_ERR_LEN])
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval timeout = { .tv_sec = 5 };
	struct ks_buf reply = KS_BUF_INIT;
	struct ks_ifname name;
	int fd = -1, ret;

	if (ks_parse_ifname(ifname, &name) < 0)
		return refuse(err, "invalid interface name", ifname, strlen(ifname));
	snprintf(addr.sun_path, sizeof(addr.sun_path), UAPI_DIR "/%s.sock", name.name);
	if (access(addr.sun_path, F_OK) < 0)
		return -ENOENT;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0 ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || write(fd, "get=1\n\n", 7) != 7) {
		ret = -errno;
		snprintf(err, KS_ERR_LEN, "cannot ask the WireGuard device (%s): '%s'", strerror(-ret), addr.sun_path);
		goto cleanup;
	}
	ret = read_reply(fd, &reply);
	if (ret < 0) {
		snprintf(err, KS_ERR_LEN, "cannot read the WireGuard device's answer (%s): '%s'", strerror(-ret),
			 addr.sun_path);
		goto cleanup;
	}
	ret = ks_wg_uapi_parse(reply.data ? reply.data : "", dev, err);
cleanup:
	if (fd >= 0)
		close(fd);
	ks_buf_free(&reply);
	return ret;
}
