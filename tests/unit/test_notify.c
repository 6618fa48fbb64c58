// SPDX-License-Identifier: GPL-2.0-or-later
/* ks_notify(): the datagram a service manager reads, on a path and on an abstract socket. */
#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "killswitch/notify.h"
#include "unit.h"

/* A datagram socket bound at name ("/path" or "@abstract"); its address in NOTIFY_SOCKET. */
static int listener(const char *name)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memcpy(addr.sun_path, name, n);
	if (name[0] == '@')
		addr.sun_path[0] = '\0';
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)), 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", name, 1), 0);
	return fd;
}

static void expect_message(int fd, const char *want)
{
	char got[64] = "";
	ssize_t n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);

	assert_int_equal(n, (ssize_t)strlen(want));
	assert_string_equal(got, want);
}

static void test_path(void **state)
{
	char path[64];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/ks-unit-notify-%d", (int)getpid());
	unlink(path);
	fd = listener(path);
	assert_int_equal(ks_notify("READY=1"), 0);
	expect_message(fd, "READY=1");
	close(fd);
	unlink(path);
}

static void test_abstract(void **state)
{
	char name[64];
	int fd;

	(void)state;
	snprintf(name, sizeof(name), "@ks-unit-notify-%d", (int)getpid());
	fd = listener(name);
	assert_int_equal(ks_notify("READY=1"), 0);
	expect_message(fd, "READY=1");
	close(fd);
}

/* Not under a service manager, or a value that is no socket address: nothing, and no error. */
static void test_absent(void **state)
{
	(void)state;
	assert_int_equal(unsetenv("NOTIFY_SOCKET"), 0);
	assert_int_equal(ks_notify("READY=1"), 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", "relative/path", 1), 0);
	assert_int_equal(ks_notify("READY=1"), 0);
	/* Gone: the caller learns it (watch warns), and goes on. */
	assert_int_equal(setenv("NOTIFY_SOCKET", "/nonexistent/ks-notify", 1), 0);
	assert_int_equal(ks_notify("READY=1"), -ENOENT);
	unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_abstract),
		cmocka_unit_test(test_absent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
