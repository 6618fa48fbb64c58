// SPDX-License-Identifier: GPL-2.0-or-later
/* The options parser: command lines, policy files, endpoints files, and the format round trip. */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/stat.h>

#include "unit.h"

static int parse(struct ks_policy *policy, struct ks_options *opts, int argc, char *const argv[], char *err)
{
	ks_policy_init(policy);
	err[0] = '\0';
	return ks_options_parse_args(policy, opts, argc, argv, err);
}

static void expect_tunnels(const struct ks_policy *policy, const char *const *names, size_t n)
{
	assert_int_equal(policy->n_tunnels, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(policy->tunnels[i].name, names[i]);
}

static void expect_endpoint(const struct ks_endpoint *ep, const char *text)
{
	char out[KS_ENDPOINT_STRLEN];

	ks_format_endpoint(ep, out);
	assert_string_equal(out, text);
}

static void expect_addr(const struct ks_addr *addr, const char *text)
{
	char out[KS_ADDR_STRLEN];

	ks_format_addr(addr, out);
	assert_string_equal(out, text);
}

static void expect_cidr(const struct ks_cidr *cidr, const char *text)
{
	char out[KS_CIDR_STRLEN];

	ks_format_cidr(cidr, out);
	assert_string_equal(out, text);
}

static void test_defaults(void **state)
{
	struct ks_policy policy;
	struct ks_options opts = { 0 };
	char err[KS_ERR_LEN];

	(void)state;
	assert_int_equal(parse(&policy, &opts, 0, NULL, err), 0);
	assert_int_equal(policy.state, KS_STATE_ENABLED);
	assert_int_equal(policy.ipv6, KS_IPV6_BLOCK);
	assert_false(policy.allow_lan);
	assert_false(policy.fwmark_none);
	assert_int_equal(policy.fwmark, 0xca6c);
	assert_int_equal(policy.n_tunnels + policy.n_endpoints + policy.n_resolvers + policy.n_lan +
				 policy.n_tunnel_addrs,
			 0);
	assert_false(opts.json);
	ks_policy_free(&policy);
}

static void test_value_forms(void **state)
{
	struct ks_policy a, b;
	char err[KS_ERR_LEN];

	(void)state;
	assert_int_equal(parse(&a, NULL,
			       ARGS("--tunnel", "wg0", "--endpoint", "198.51.100.10:51820", "--dns", "10.64.0.1",
				    "--lan", "192.168.77.0/24", "--fwmark", "0x1234", "--ipv6", "allow"),
			       err),
			 0);
	assert_int_equal(parse(&b, NULL,
			       ARGS("--tunnel=wg0", "--endpoint=198.51.100.10:51820", "--dns=10.64.0.1",
				    "--lan=192.168.77.0/24", "--fwmark=0x1234", "--ipv6=allow"),
			       err),
			 0);
	expect_tunnels(&a, (const char *[]){ "wg0" }, 1);
	assert_int_equal(a.n_endpoints, 1);
	expect_endpoint(&a.endpoints[0], "198.51.100.10:51820/udp");
	assert_int_equal(a.n_resolvers, 1);
	expect_addr(&a.resolvers[0], "10.64.0.1");
	assert_int_equal(a.n_lan, 1);
	expect_cidr(&a.lan[0], "192.168.77.0/24");
	assert_int_equal(a.fwmark, 0x1234);
	assert_int_equal(a.ipv6, KS_IPV6_ALLOW);

	assert_int_equal(b.n_tunnels, 1);
	assert_memory_equal(b.tunnels, a.tunnels, sizeof(*a.tunnels));
	assert_memory_equal(b.endpoints, a.endpoints, sizeof(*a.endpoints));
	assert_memory_equal(b.resolvers, a.resolvers, sizeof(*a.resolvers));
	assert_memory_equal(b.lan, a.lan, sizeof(*a.lan));
	assert_int_equal(b.fwmark, a.fwmark);
	assert_int_equal(b.ipv6, a.ipv6);
	ks_policy_free(&a);
	ks_policy_free(&b);
}

static void test_repeated_and_duplicates(void **state)
{
	struct ks_policy policy;
	char err[KS_ERR_LEN];

	(void)state;
	assert_int_equal(parse(&policy, NULL,
			       ARGS("--tunnel", "wg1", "--tunnel", "wg0", "--tunnel=wg1", "--endpoint",
				    "[2001:db8::1]:51820", "--endpoint", "198.51.100.10:51820/tcp", "--endpoint",
				    "198.51.100.10:51820", "--endpoint", "198.51.100.10:51820/udp", "--endpoint",
				    "[2001:0db8::0001]:51820/udp", "--dns", "fd00:64::1", "--dns", "10.64.0.1",
				    "--dns", "10.64.0.1", "--lan", "10.200.0.0/16", "--lan", "10.200.0.0/16", "--lan",
				    "10.0.0.0/8", "--allow-lan", "--allow-lan"),
			       err),
			 0);
	assert_int_equal(policy.n_tunnels, 3);
	assert_int_equal(policy.n_endpoints, 5);
	assert_int_equal(policy.n_resolvers, 3);
	assert_int_equal(policy.n_lan, 3);
	assert_true(policy.allow_lan);

	ks_policy_finalize(&policy);
	expect_tunnels(&policy, (const char *[]){ "wg0", "wg1" }, 2);
	assert_int_equal(policy.n_endpoints, 3);
	expect_endpoint(&policy.endpoints[0], "198.51.100.10:51820/udp");
	expect_endpoint(&policy.endpoints[1], "198.51.100.10:51820/tcp");
	expect_endpoint(&policy.endpoints[2], "[2001:db8::1]:51820/udp");
	assert_int_equal(policy.n_resolvers, 2);
	expect_addr(&policy.resolvers[0], "10.64.0.1");
	expect_addr(&policy.resolvers[1], "fd00:64::1");
	assert_int_equal(policy.n_lan, 2);
	expect_cidr(&policy.lan[0], "10.0.0.0/8");
	expect_cidr(&policy.lan[1], "10.200.0.0/16");

	/* Finalizing twice changes nothing; adding after finalize still works. */
	ks_policy_finalize(&policy);
	assert_int_equal(policy.n_tunnels, 2);
	for (int i = 0; i < 40; i++)
		assert_int_equal(ks_policy_add_tunnel(&policy, i % 2 ? "wg0" : "wg9"), 0);
	ks_policy_finalize(&policy);
	expect_tunnels(&policy, (const char *[]){ "wg0", "wg1", "wg9" }, 3);
	ks_policy_free(&policy);
}

static void test_fwmark(void **state)
{
	struct ks_policy policy;
	char err[KS_ERR_LEN];

	(void)state;
	assert_int_equal(parse(&policy, NULL, ARGS("--fwmark", "none"), err), 0);
	assert_true(policy.fwmark_none);
	assert_int_equal(policy.fwmark, 0);
	ks_policy_free(&policy);

	assert_int_equal(parse(&policy, NULL, ARGS("--fwmark=none", "--fwmark", "51820"), err), 0);
	assert_false(policy.fwmark_none);
	assert_int_equal(policy.fwmark, 0xca6c);
	ks_policy_free(&policy);

	assert_int_equal(parse(&policy, NULL, ARGS("--fwmark", "0xffffffff", "--fwmark", "none"), err), 0);
	assert_true(policy.fwmark_none);
	ks_policy_free(&policy);

	assert_int_equal(parse(&policy, NULL, ARGS("--fwmark", "4294967295"), err), 0);
	assert_int_equal(policy.fwmark, 0xffffffffu);
	ks_policy_free(&policy);

	expect_args_refused(NULL, ARGS("--fwmark", "0"), err);
	assert_quotes(err, "0");
	assert_non_null(strstr(err, "--fwmark none"));
}

static void test_ipv6(void **state)
{
	struct ks_policy policy;
	char err[KS_ERR_LEN];

	(void)state;
	assert_int_equal(parse(&policy, NULL, ARGS("--ipv6", "allow"), err), 0);
	assert_int_equal(policy.ipv6, KS_IPV6_ALLOW);
	ks_policy_free(&policy);
	assert_int_equal(parse(&policy, NULL, ARGS("--ipv6", "allow", "--ipv6=block"), err), 0);
	assert_int_equal(policy.ipv6, KS_IPV6_BLOCK);
	ks_policy_free(&policy);
}

static void test_json(void **state)
{
	struct ks_policy policy;
	struct ks_options opts = { 0 };
	char err[KS_ERR_LEN];

	(void)state;
	assert_int_equal(parse(&policy, &opts, ARGS("--tunnel", "wg0", "--json"), err), 0);
	assert_true(opts.json);
	ks_policy_free(&policy);

	expect_args_refused(NULL, ARGS("--tunnel", "wg0", "--json"), err);
	assert_string_equal(err, "unknown option: '--json'");
}

static void test_messages(void **state)
{
	static const struct refused_args cases[] = {
		{ { "--bogus" }, "unknown option: '--bogus'" },
		{ { "--state", "maybe" }, "invalid state (enabled or blocked): 'maybe'" },
		{ { "--tunnel" }, "option needs a value: '--tunnel'" },
		{ { "--allow-lan=1" }, "option takes no value: '--allow-lan=1'" },
		{ { "wg0" }, "unexpected argument: 'wg0'" },
		{ { "--tunnel", "wg'0" }, "invalid interface name (1-15 of A-Z a-z 0-9 _ . -): 'wg\\x270'" },
		{ { "--tunnel", "lo" }, "--tunnel names the VPN's interface, never loopback: 'lo'" },
	};

	(void)state;
	run_refused_args(cases, ARRAY_SIZE(cases), true, SAID_EXACTLY);
}

/* tunnel-addr is file-only; --state is taken and flagged, so enable and block can refuse it. */
static void test_state_is_flagged(void **state)
{
	struct ks_policy policy;
	struct ks_options opts = { 0 };
	char err[KS_ERR_LEN];

	(void)state;
	assert_int_equal(parse(&policy, &opts, ARGS("--tunnel-addr=10.66.1.2"), err), -EINVAL);
	assert_int_equal(policy.n_tunnel_addrs, 0);
	ks_policy_free(&policy);
	assert_false(opts.state_given);
	assert_int_equal(parse(&policy, &opts, ARGS("--state=blocked"), err), 0);
	assert_int_equal(policy.state, KS_STATE_BLOCKED);
	assert_true(opts.state_given);
	ks_policy_free(&policy);
}

/* A policy file of text, parsed into policy (initialised here); any error fails the test. */
static void parse_policy_text(const char *text, size_t len, struct ks_policy *policy)
{
	char path[64], err[KS_ERR_LEN] = "";

	write_temp(text, len, path);
	ks_policy_init(policy);
	if (ks_options_parse_file(policy, path, err))
		fail_msg("%s", err);
	unlink(path);
}

static void test_policy_file(void **state)
{
	static const char text[] = "# a policy, every line form\n"
				   "--tunnel wg0\n"
				   "\n"
				   "   \t  \n"
				   "tunnel = wg1\r\n"
				   "  endpoint 198.51.100.10:51820/tcp   # trailing comment\r\n"
				   "\tdns\t10.64.0.1\n"
				   "dns=fd00:64::1\n"
				   "allow-lan\n"
				   "--allow-lan =   \n"
				   "lan=192.168.77.0/24\n"
				   "fwmark 0x1234\n"
				   "ipv6 allow\n"
				   "state blocked\n"
				   "tunnel-addr 10.66.1.2\n"
				   "# the last line has no newline\n"
				   "tunnel-addr fd00:66::2";
	struct ks_policy policy;

	(void)state;
	parse_policy_text(text, sizeof(text) - 1, &policy);
	expect_tunnels(&policy, (const char *[]){ "wg0", "wg1" }, 2);
	assert_int_equal(policy.n_endpoints, 1);
	expect_endpoint(&policy.endpoints[0], "198.51.100.10:51820/tcp");
	assert_int_equal(policy.n_resolvers, 2);
	expect_addr(&policy.resolvers[0], "10.64.0.1");
	expect_addr(&policy.resolvers[1], "fd00:64::1");
	assert_true(policy.allow_lan);
	assert_int_equal(policy.n_lan, 1);
	expect_cidr(&policy.lan[0], "192.168.77.0/24");
	assert_int_equal(policy.fwmark, 0x1234);
	assert_int_equal(policy.ipv6, KS_IPV6_ALLOW);
	assert_int_equal(policy.state, KS_STATE_BLOCKED);
	assert_int_equal(policy.n_tunnel_addrs, 2);
	expect_addr(&policy.tunnel_addrs[0], "10.66.1.2");
	expect_addr(&policy.tunnel_addrs[1], "fd00:66::2");
	ks_policy_free(&policy);
}

/*
 * The state file's journal (endpoint add|del): endpoint-add appends, an
 * endpoint-del drops what the lines before it hold, a later add brings one
 * back, and a last line without its newline is still being written.
 */
static void test_policy_file_journal(void **state)
{
	static const char text[] = "tunnel wg0\n"
				   "endpoint 192.0.2.1:51820/udp\n"
				   "endpoint 192.0.2.2:51820/udp\n"
				   "endpoint 192.0.2.3:51820/udp\n"
				   "ipv6 block\n"
				   "# endpoints above: 3; endpoint add|del append their changes below\n"
				   "endpoint-add 192.0.2.4:51820/udp # 4\n"
				   "endpoint-del 192.0.2.1:51820/udp # 3\n"
				   "endpoint-del 192.0.2.4:51820/udp # 2\n"
				   "endpoint-add [2001:db8::2]:443/tcp # 3\n"
				   "endpoint-del 192.0.2.2:51820/udp # 2\n"
				   "endpoint-add 192.0.2.2:51820/udp # 3\n"
				   "endpoint-del 198.51.100.9:1/udp # 3\n"
				   "endpoint-del 192.0.2.3:5";
	static const struct file_error bad[] = {
		{ "endpoint-del 192.0.2.1\n", 1, "192.0.2.1" },
		{ "endpoint-add vpn.example.com:51820\n", 1, "vpn.example.com:51820" },
	};
	struct ks_policy policy;

	(void)state;
	parse_policy_text(text, sizeof(text) - 1, &policy);
	ks_policy_finalize(&policy);
	assert_int_equal(policy.n_endpoints, 3);
	expect_endpoint(&policy.endpoints[0], "192.0.2.2:51820/udp");
	expect_endpoint(&policy.endpoints[1], "192.0.2.3:51820/udp");
	expect_endpoint(&policy.endpoints[2], "[2001:db8::2]:443/tcp");
	ks_policy_free(&policy);
	run_file_errors(ks_options_parse_file, bad, ARRAY_SIZE(bad));
}

static void test_policy_file_errors(void **state)
{
	static const struct file_error bad[] = {
		{ "tunnel wg0\n# comment\n\ntunnel wg 0\n", 4, "wg 0" },
		{ "tunnel wg0\r\ndns 10.64.0.1\r\nendpoint vpn.example.com:51820\r\n", 3, "vpn.example.com:51820" },
		{ "json\n", 1, "json" },
		{ "--json\n", 1, "json" },
		{ "bogus value\n", 1, "bogus" },
		{ "tunnel\n", 1, "tunnel" },
		{ "tunnel = \n", 1, "tunnel =" },
		{ "allow-lan yes\n", 1, "allow-lan yes" },
		{ "endpoints-file /dev/null\n", 1, "/dev/null" },
		{ "fwmark 0\n", 1, "0" },
		{ "state connected\n", 1, "connected" },
		{ "tunnel-addr 0.0.0.0\n", 1, "0.0.0.0" },
		{ "tunnel-addr ff02::1\n", 1, "ff02::1" },
		{ "tunnel wg0 } ; flush ruleset\n", 1, "wg0 } ; flush ruleset" },
		{ "tunnel wg0\"; flush ruleset; \"\n", 1, "wg0\"; flush ruleset; \"" },
		{ "endpoint 1.2.3.4:80 } ; flush ruleset\n", 1, "1.2.3.4:80 } ; flush ruleset" },
		{ "dns 10.64.0.1 10.64.0.2\n", 1, "10.64.0.1 10.64.0.2" },
		{ "lan 10.0.0.1/8\n", 1, "10.0.0.1/8" },
		{ "ipv6 allow ; flush ruleset\n", 1, "allow ; flush ruleset" },
		{ "tunnel\x1b[2Jwg0\n", 1, "tunnel\x1b[2Jwg0" },
	};

	(void)state;
	run_file_errors(ks_options_parse_file, bad, ARRAY_SIZE(bad));
}

/*
 * Options that cannot go together are refused in a policy file as on the
 * command line (a hand-edited /etc/killswitch/policy): the compiler would
 * refuse them anyway, but only after restore had started.
 */
static void test_policy_file_combinations(void **state)
{
	static const struct {
		const char *text, *bad;
	} rows[] = {
		{ "tunnel wg0\nfwmark none\nbypass 198.51.100.16/28\n", "198.51.100.16/28" },
		{ "tunnel wg0\ngateway wg0\n", "wg0" },
		{ "tunnel wg0\ninclude-only\ngateway eth1\n", "eth1" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct ks_policy policy;
		char path[64], err[KS_ERR_LEN] = "";

		write_temp(rows[i].text, strlen(rows[i].text), path);
		ks_policy_init(&policy);
		assert_int_equal(ks_options_parse_file(&policy, path, err), -EINVAL);
		unlink(path);
		assert_true(!strncmp(err, path, strlen(path)));
		assert_quotes(err, rows[i].bad);
		ks_policy_free(&policy);
	}
}

static void test_file_nul_byte(void **state)
{
	static const char text[] = "tunnel wg0\ntunnel wg\0x\n";
	struct ks_policy policy;
	char path[64], err[KS_ERR_LEN] = "";

	(void)state;
	write_temp(text, sizeof(text) - 1, path);
	ks_policy_init(&policy);
	assert_int_equal(ks_options_parse_file(&policy, path, err), -EINVAL);
	unlink(path);
	/* Like every file error: "path:line: what: 'value'". */
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, ":2: "));
	assert_non_null(strstr(err, ": '\\x00'"));
	assert_one_line(err);
	ks_policy_free(&policy);
}

static void test_file_missing(void **state)
{
	struct ks_policy policy;
	char err[KS_ERR_LEN] = "";
	const char *path = "/nonexistent/ks-unit/policy";

	(void)state;
	ks_policy_init(&policy);
	assert_int_equal(ks_options_parse_file(&policy, path, err), -ENOENT);
	assert_one_line(err);
	assert_non_null(strstr(err, "'/nonexistent/ks-unit/policy'"));
	err[0] = '\0';
	assert_int_equal(ks_options_parse_endpoints_file(&policy, path, err), -ENOENT);
	assert_non_null(strstr(err, "'/nonexistent/ks-unit/policy'"));
	err[0] = '\0';
	assert_int_equal(ks_options_parse_args(&policy, NULL, ARGS("--endpoints-file", (char *)path), err), -ENOENT);
	assert_non_null(strstr(err, "'/nonexistent/ks-unit/policy'"));
	ks_policy_free(&policy);
}

static void test_file_is_directory(void **state)
{
	struct ks_policy policy;
	char err[KS_ERR_LEN] = "";

	(void)state;
	ks_policy_init(&policy);
	assert_true(ks_options_parse_file(&policy, "/", err) < 0);
	assert_one_line(err);
	assert_non_null(strstr(err, "'/'"));
	ks_policy_free(&policy);
}

/* A path with a newline in it is escaped in the message, which stays one line. */
static void test_file_error_path_escaped(void **state)
{
	char dir[64], path[128], err[KS_ERR_LEN] = "";
	struct ks_policy policy;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ks-unit-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bad\nname'", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("tunnel wg 0\n", f);
	fclose(f);
	ks_policy_init(&policy);
	assert_int_equal(ks_options_parse_file(&policy, path, err), -EINVAL);
	assert_quotes(err, "wg 0");
	assert_non_null(strstr(err, "bad\\x0aname\\x27:1: "));
	unlink(path);
	rmdir(dir);
	ks_policy_free(&policy);
}

static void test_endpoints_file(void **state)
{
	static const char text[] = "# endpoints of a provider\n"
				   "198.51.100.10:51820\r\n"
				   "\n"
				   "  [2001:db8::1]:51820   # v6\n"
				   "198.51.100.11:443/tcp\n"
				   "\t198.51.100.10:51820/udp\t\n"
				   "203.0.113.7:1194/udp";
	struct ks_policy policy;
	char path[64], arg[96], err[KS_ERR_LEN] = "";

	(void)state;
	write_temp(text, sizeof(text) - 1, path);
	ks_policy_init(&policy);
	if (ks_options_parse_endpoints_file(&policy, path, err))
		fail_msg("%s", err);
	assert_int_equal(policy.n_endpoints, 5);
	ks_policy_finalize(&policy);
	assert_int_equal(policy.n_endpoints, 4);
	expect_endpoint(&policy.endpoints[0], "198.51.100.10:51820/udp");
	expect_endpoint(&policy.endpoints[1], "198.51.100.11:443/tcp");
	expect_endpoint(&policy.endpoints[2], "203.0.113.7:1194/udp");
	expect_endpoint(&policy.endpoints[3], "[2001:db8::1]:51820/udp");
	ks_policy_free(&policy);

	/* Through the command line, mixed with --endpoint. */
	snprintf(arg, sizeof(arg), "--endpoints-file=%s", path);
	ks_policy_init(&policy);
	assert_int_equal(ks_options_parse_args(&policy, NULL, ARGS("--endpoint", "192.0.2.1:1", arg), err), 0);
	ks_policy_finalize(&policy);
	assert_int_equal(policy.n_endpoints, 5);
	expect_endpoint(&policy.endpoints[0], "192.0.2.1:1/udp");
	ks_policy_free(&policy);
	unlink(path);
}

static void test_endpoints_file_errors(void **state)
{
	static const struct file_error bad[] = {
		{ "198.51.100.10:51820\n\n# x\nvpn.example.com:51820\n", 4, "vpn.example.com:51820" },
		{ "endpoint 198.51.100.10:51820\n", 1, "endpoint 198.51.100.10:51820" },
		{ "198.51.100.10:51820 198.51.100.11:51820\n", 1, "198.51.100.10:51820 198.51.100.11:51820" },
		{ "2001:db8::1:51820\r\n", 1, "2001:db8::1:51820" },
		{ "1.2.3.4:80 } ; flush ruleset\n", 1, "1.2.3.4:80 } ; flush ruleset" },
	};

	(void)state;
	run_file_errors(ks_options_parse_endpoints_file, bad, ARRAY_SIZE(bad));
}

/* Through --endpoints-file, a bad line keeps its "path:line:" and -EINVAL. */
static void test_endpoints_file_error_through_args(void **state)
{
	static const char text[] = "198.51.100.10:51820\n198.51.100.10:0\n";
	struct ks_policy policy;
	char path[64], prefix[96], err[KS_ERR_LEN] = "";

	(void)state;
	write_temp(text, sizeof(text) - 1, path);
	ks_policy_init(&policy);
	assert_int_equal(ks_options_parse_args(&policy, NULL, ARGS("--endpoints-file", path), err), -EINVAL);
	snprintf(prefix, sizeof(prefix), "%s:2: ", path);
	assert_int_equal(strncmp(err, prefix, strlen(prefix)), 0);
	assert_quotes(err, "198.51.100.10:0");
	unlink(path);
	ks_policy_free(&policy);
}

static void expect_equal_policies(const struct ks_policy *a, const struct ks_policy *b)
{
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->ipv6, b->ipv6);
	assert_int_equal(a->allow_lan, b->allow_lan);
	assert_int_equal(a->fwmark_none, b->fwmark_none);
	assert_int_equal(a->fwmark, b->fwmark);
	assert_int_equal(a->n_tunnels, b->n_tunnels);
	assert_int_equal(a->n_endpoints, b->n_endpoints);
	assert_int_equal(a->n_resolvers, b->n_resolvers);
	assert_int_equal(a->n_lan, b->n_lan);
	assert_int_equal(a->n_tunnel_addrs, b->n_tunnel_addrs);
	if (a->n_tunnels)
		assert_memory_equal(a->tunnels, b->tunnels, a->n_tunnels * sizeof(*a->tunnels));
	if (a->n_endpoints)
		assert_memory_equal(a->endpoints, b->endpoints, a->n_endpoints * sizeof(*a->endpoints));
	if (a->n_resolvers)
		assert_memory_equal(a->resolvers, b->resolvers, a->n_resolvers * sizeof(*a->resolvers));
	if (a->n_lan)
		assert_memory_equal(a->lan, b->lan, a->n_lan * sizeof(*a->lan));
	if (a->n_tunnel_addrs)
		assert_memory_equal(a->tunnel_addrs, b->tunnel_addrs, a->n_tunnel_addrs * sizeof(*a->tunnel_addrs));
	assert_int_equal(a->split.mode, b->split.mode);
	if (a->split.mode != KS_SPLIT_OFF)
		assert_int_equal(a->split.ct_mark, b->split.ct_mark);
	if (a->split.mode == KS_SPLIT_V1)
		assert_int_equal(a->split.classid, b->split.classid);
	if (a->split.mode == KS_SPLIT_V2) {
		assert_string_equal(a->split.path, b->split.path);
		assert_int_equal(a->split.level, b->split.level);
	}
}

/* format -> file -> parse gives an equal policy, and formatting that gives the same text. */
static void round_trip(struct ks_policy *policy)
{
	struct ks_buf first = KS_BUF_INIT, second = KS_BUF_INIT;
	struct ks_policy back;
	char path[64], err[KS_ERR_LEN] = "";

	ks_policy_finalize(policy);
	ks_options_format(policy, &first);
	assert_int_equal(first.err, 0);
	write_temp(first.data, first.len, path);
	ks_policy_init(&back);
	if (ks_options_parse_file(&back, path, err))
		fail_msg("%s\n%s", err, first.data);
	unlink(path);
	ks_policy_finalize(&back);
	expect_equal_policies(policy, &back);
	ks_options_format(&back, &second);
	assert_string_equal(first.data, second.data);
	ks_buf_free(&first);
	ks_buf_free(&second);
	ks_policy_free(&back);
}

static void test_round_trip(void **state)
{
	struct ks_policy policy;
	struct ks_addr addr;
	char err[KS_ERR_LEN];

	(void)state;
	ks_policy_init(&policy);
	round_trip(&policy);
	ks_policy_free(&policy);

	assert_int_equal(parse(&policy, NULL,
			       ARGS("--tunnel", "wg1", "--tunnel", "...", "--tunnel", "abcdefghijklmno", "--endpoint",
				    "198.51.100.10:51820", "--endpoint", "[2001:db8::1]:443/tcp", "--endpoint",
				    "203.0.113.7:65535/tcp", "--dns", "10.64.0.1", "--dns", "2001:db8:53::53",
				    "--allow-lan", "--lan", "100.64.0.0/10", "--lan", "fd00::/16", "--lan", "100.0.0.0/8",
				    "--fwmark", "0xffffffff", "--ipv6", "allow"),
			       err),
			 0);
	policy.state = KS_STATE_BLOCKED;
	assert_int_equal(ks_parse_unicast_addr("10.66.1.2", &addr), 0);
	assert_int_equal(ks_policy_add_tunnel_addr(&policy, &addr), 0);
	assert_int_equal(ks_parse_unicast_addr("fd00:66::2", &addr), 0);
	assert_int_equal(ks_policy_add_tunnel_addr(&policy, &addr), 0);
	round_trip(&policy);
	ks_policy_free(&policy);

	assert_int_equal(parse(&policy, NULL, ARGS("--fwmark", "none", "--endpoint", "[::1]:1"), err), 0);
	round_trip(&policy);
	ks_policy_free(&policy);

	assert_int_equal(parse(&policy, NULL, ARGS("--fwmark", "1"), err), 0);
	round_trip(&policy);
	ks_policy_free(&policy);

	assert_int_equal(parse(&policy, NULL, ARGS("--tunnel", "wg0"), err), 0);
	policy.split.mode = KS_SPLIT_V1;
	policy.split.ct_mark = 0xffffffff;
	policy.split.classid = 0x10001;
	round_trip(&policy);
	ks_policy_free(&policy);

	assert_int_equal(parse(&policy, NULL, ARGS("--tunnel", "wg0"), err), 0);
	policy.split.mode = KS_SPLIT_V2;
	strcpy(policy.split.path, "unified/killswitch.slice/excluded");
	policy.split.level = 3;
	round_trip(&policy);
	ks_policy_free(&policy);
}

/* Split tunnelling: file-only keys, written by killswitch itself. */
static void test_split_keys(void **state)
{
	static const char v1[] = "split-tunnel v1\n";
	static const char v2[] = "split-tunnel v2\nsplit-ctmark 0x10\nsplit-cgroup unified/ks.slice/excl\n"
				 "split-level 2\nsplit-classid 65537\n";
	static const struct refused_args file_only[] = {
		{ { "--split-tunnel=v1" }, "--split-tunnel=v1" }, { { "--split-ctmark=1" }, "--split-ctmark=1" },
		{ { "--split-classid=1" }, "--split-classid=1" }, { { "--split-cgroup=ks" }, "--split-cgroup=ks" },
		{ { "--split-level=1" }, "--split-level=1" },
	};
	struct ks_policy policy;

	(void)state;
	parse_policy_text(v1, sizeof(v1) - 1, &policy);
	assert_int_equal(policy.split.mode, KS_SPLIT_V1);
	assert_int_equal(policy.split.ct_mark, KS_DEFAULT_CT_MARK);
	assert_int_equal(policy.split.classid, KS_DEFAULT_CLASSID);
	ks_policy_free(&policy);

	parse_policy_text(v2, sizeof(v2) - 1, &policy);
	assert_int_equal(policy.split.mode, KS_SPLIT_V2);
	assert_int_equal(policy.split.ct_mark, 0x10);
	assert_int_equal(policy.split.classid, 65537);
	assert_string_equal(policy.split.path, "unified/ks.slice/excl");
	assert_int_equal(policy.split.level, 2);
	ks_policy_free(&policy);

	run_refused_args(file_only, ARRAY_SIZE(file_only), false, SAID_VALUE);
}

static void test_split_errors(void **state)
{
	static const struct file_error bad[] = {
		{ "split-tunnel v3\n", 1, "v3" },
		{ "split-tunnel V1\n", 1, "V1" },
		{ "split-ctmark 0\n", 1, "0" },
		{ "split-ctmark 0x100000000\n", 1, "0x100000000" },
		{ "split-classid 0\n", 1, "0" },
		{ "split-level 0\n", 1, "0" },
		{ "split-level 65\n", 1, "65" },
		{ "split-level -1\n", 1, "-1" },
		{ "split-cgroup /sys/fs/cgroup/ks\n", 1, "/sys/fs/cgroup/ks" },
		{ "split-cgroup ../ks\n", 1, "../ks" },
		{ "split-cgroup unified/../ks\n", 1, "unified/../ks" },
		{ "split-cgroup unified/./ks\n", 1, "unified/./ks" },
		{ "split-cgroup unified//ks\n", 1, "unified//ks" },
		{ "split-cgroup unified/ks/\n", 1, "unified/ks/" },
		{ "split-cgroup ks\"; flush ruleset; \"\n", 1, "ks\"; flush ruleset; \"" },
		{ "split-cgroup ks slice\n", 1, "ks slice" },
		{ "split-cgroup aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		  1,
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
	};

	(void)state;
	run_file_errors(ks_options_parse_file, bad, ARRAY_SIZE(bad));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_value_forms),
		cmocka_unit_test(test_repeated_and_duplicates),
		cmocka_unit_test(test_fwmark),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_state_is_flagged),
		cmocka_unit_test(test_policy_file),
		cmocka_unit_test(test_policy_file_errors),
		cmocka_unit_test(test_policy_file_journal),
		cmocka_unit_test(test_policy_file_combinations),
		cmocka_unit_test(test_file_nul_byte),
		cmocka_unit_test(test_file_missing),
		cmocka_unit_test(test_file_is_directory),
		cmocka_unit_test(test_file_error_path_escaped),
		cmocka_unit_test(test_endpoints_file),
		cmocka_unit_test(test_endpoints_file_errors),
		cmocka_unit_test(test_endpoints_file_error_through_args),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_split_keys),
		cmocka_unit_test(test_split_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
