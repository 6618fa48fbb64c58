// SPDX-License-Identifier: GPL-2.0-or-later
/* Protected prefixes from the tunnel's own description: allowed IPs, interface addresses. */
#include <errno.h>

#include "killswitch/protect.h"
#include "killswitch/sources.h"
#include "unit.h"

/* ks_protect_from_allowed_ips() of the given CIDRs, as one string "a b c" ("" for none). */
static void expect_protected(const char *const *ips, size_t n, const char *want)
{
	struct ks_cidr in[8], *out = NULL;
	char got[512] = "", text[KS_CIDR_STRLEN];
	size_t n_out = 0;

	assert_true(n <= ARRAY_SIZE(in));
	for (size_t i = 0; i < n; i++)
		assert_int_equal(ks_parse_cidr(ips[i], &in[i]), 0);
	assert_int_equal(ks_protect_from_allowed_ips(in, n, &out, &n_out), 0);
	for (size_t i = 0; i < n_out; i++) {
		ks_format_cidr(&out[i], text);
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "", text);
	}
	free(out);
	assert_string_equal(got, want);
}
#define PROTECTED(want, ...) \
	expect_protected((const char *const[]){ __VA_ARGS__ }, ARRAY_SIZE(((const char *const[]){ __VA_ARGS__ })), want)

static void test_allowed_ips(void **state)
{
	(void)state;
	/* A full tunnel protects nothing of itself, however it is written. */
	PROTECTED("", "0.0.0.0/0", "::/0");
	PROTECTED("", "0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1");
	PROTECTED("", "0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1");
	/* ... but a network listed inside it is the VPN's own. */
	PROTECTED("10.10.13.0/24 fd00:13::/64", "0.0.0.0/0", "10.10.13.0/24", "::/0", "fd00:13::/64");
	PROTECTED("10.10.13.0/24", "0.0.0.0/1", "128.0.0.0/1", "10.10.13.0/24");
	/* A split-include tunnel protects what it carries, once each. */
	PROTECTED("10.10.13.0/24 192.168.2.0/24", "10.10.13.0/24", "192.168.2.0/24", "10.10.13.0/24");
	/* Half the space is not all of it; a full IPv4 says nothing about IPv6. */
	PROTECTED("0.0.0.0/1", "0.0.0.0/1");
	PROTECTED("2000::/3", "0.0.0.0/0", "2000::/3");
	/* A gap anywhere (here 64.0.0.0/2) means not everything. */
	PROTECTED("0.0.0.0/2 128.0.0.0/1", "0.0.0.0/2", "128.0.0.0/1");
	PROTECTED("10.66.0.2/32", "10.66.0.2/32");
	PROTECTED("", "0.0.0.0/0");
}

static void from_address(const char *addr, unsigned prefix, int want_ret, const char *want)
{
	struct ks_addr a;
	struct ks_cidr c;
	char text[KS_CIDR_STRLEN];

	assert_int_equal(ks_parse_addr(addr, &a), 0);
	assert_int_equal(ks_protect_from_address(&a, prefix, &c), want_ret);
	if (want_ret)
		return;
	ks_format_cidr(&c, text);
	assert_string_equal(text, want);
}

static void test_address(void **state)
{
	(void)state;
	from_address("10.66.0.2", 24, 0, "10.66.0.0/24");
	from_address("10.66.1.130", 25, 0, "10.66.1.128/25");
	from_address("10.66.0.2", 31, 0, "10.66.0.2/31");
	from_address("fd00:66::2", 64, 0, "fd00:66::/64");
	from_address("fd00:66::ff:fa02", 117, 0, "fd00:66::ff:f800/117");
	/* The host's own address, and nothing at all, protect nothing. */
	from_address("10.66.0.2", 32, -EDOM, NULL);
	from_address("fd00:66::2", 128, -EDOM, NULL);
	from_address("10.66.0.2", 0, -EDOM, NULL);
	from_address("10.66.0.2", 33, -EDOM, NULL);
}

/* The UAPI reply carries each peer's allowed IPs; a bad one is refused, quoted. */
static void test_uapi_allowed_ips(void **state)
{
	struct ks_wg_device dev;
	char err[KS_ERR_LEN] = "", text[KS_CIDR_STRLEN];

	(void)state;
	assert_int_equal(ks_wg_uapi_parse("public_key=aa\nendpoint=192.0.2.1:51820\nallowed_ip=10.10.13.0/24\n"
					  "allowed_ip=fd00:13::/64\npublic_key=bb\nallowed_ip=192.168.2.0/24\nerrno=0\n\n",
					  &dev, err),
			 0);
	assert_int_equal(dev.n_allowed_ips, 3);
	ks_format_cidr(&dev.allowed_ips[1], text);
	assert_string_equal(text, "fd00:13::/64");
	ks_format_cidr(&dev.allowed_ips[2], text);
	assert_string_equal(text, "192.168.2.0/24");
	ks_wg_device_free(&dev);
	assert_int_equal(dev.n_allowed_ips, 0);

	assert_int_equal(ks_wg_uapi_parse("allowed_ip=10.10.13.1/24\nerrno=0\n\n", &dev, err), -EINVAL);
	assert_quotes(err, "10.10.13.1/24");
	ks_wg_device_free(&dev);
	assert_int_equal(ks_wg_uapi_parse("allowed_ip=10.0.0.0/8 }; flush ruleset\nerrno=0\n\n", &dev, err), -EINVAL);
	assert_quotes(err, "10.0.0.0/8 }; flush ruleset");
	ks_wg_device_free(&dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_ips),
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_uapi_allowed_ips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
