// SPDX-License-Identifier: GPL-2.0-or-later
/* The environment and file descriptors a set-user-ID caller hands us. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "killswitch/privilege.h"

/* glibc's UNSECURE_ENVVARS (2.36), plus prefixes: it drops these itself, we do not rely on it. */
static const char *const unsafe[] = {
	"GCONV_PATH",	  "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH",
	"NIS_PATH",	  "NLSPATH",	 "RESOLV_HOST_CONF", "RES_OPTIONS", "TMPDIR",	   "TZDIR",
	"CGROUP_LOGLEVEL",
};
static const char *const unsafe_prefixes[] = { "KILLSWITCH_", "LD_", "MALLOC_" };

static bool is_unsafe(const char *entry)
{
	size_t len = strcspn(entry, "=");

	for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++)
		if (strlen(unsafe[i]) == len && !strncmp(entry, unsafe[i], len))
			return true;
	for (size_t i = 0; i < sizeof(unsafe_prefixes) / sizeof(unsafe_prefixes[0]); i++)
		if (!strncmp(entry, unsafe_prefixes[i], strlen(unsafe_prefixes[i])))
			return true;
	return false;
}

void ks_priv_sanitize(void)
{
	extern char **environ;

	/* Closed standard descriptors would be reused by files we open as root, and get our messages. */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			_exit(126);
	/* In place, as unsetenv() does it; also entries without '=' that unsetenv() cannot name. */
	for (size_t i = 0; environ && environ[i];) {
		if (!is_unsafe(environ[i])) {
			i++;
			continue;
		}
		for (size_t j = i; environ[j]; j++)
			environ[j] = environ[j + 1];
	}
}
