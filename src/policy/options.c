// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The options: the command line, policy files and endpoints files read into
 * a policy through one table of handlers, and a policy written back as a
 * policy file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "killswitch/buf.h"
#include "killswitch/journal.h"
#include "killswitch/options.h"
#include "killswitch/parse.h"
#include "killswitch/protect.h"
#include "killswitch/sources.h"

extern char **environ;

struct ctx {
	struct ks_policy *policy;
	struct ks_options *opts;
	char *err;
	int depth; /* endpoints files are not allowed to nest */
	bool fwmark_given;     /* --fwmark was on the command line */
	bool from_wg;	       /* --from-wg: the device's fwmark applies */
	uint32_t wg_fwmark;
	bool from_openvpn;     /* --from-openvpn-env: OpenVPN sets no mark, so --fwmark is required */
	struct ks_journal_replay replay; /* the state file's endpoint-add|del lines */
};

/* Fills err with "<what>: '<value>'" and returns -EINVAL. */
static int bad(struct ctx *ctx, const char *what, const char *value)
{
	char escaped[KS_ERR_LEN / 2];

	snprintf(ctx->err, KS_ERR_LEN, "%s: '%s'", what, ks_escape(value, escaped, sizeof(escaped)));
	return -EINVAL;
}

static int opt_tunnel(struct ctx *ctx, const char *value)
{
	struct ks_ifname name;

	if (ks_parse_ifname(value, &name) < 0)
		return bad(ctx, "invalid interface name (1-15 of A-Z a-z 0-9 _ . -)", value);
	/* Its address would become a protected prefix (127.0.0.0/8) and its traffic "the tunnel's". */
	if (!strcmp(name.name, "lo"))
		return bad(ctx, "--tunnel names the VPN's interface, never loopback", value);
	return ks_policy_add_tunnel(ctx->policy, name.name);
}

/* A LAN interface whose clients this host routes into the tunnel (a VPN router). */
static int opt_gateway(struct ctx *ctx, const char *value)
{
	struct ks_ifname name;

	if (ks_parse_ifname(value, &name) < 0)
		return bad(ctx, "invalid interface name (1-15 of A-Z a-z 0-9 _ . -)", value);
	if (!strcmp(name.name, "lo"))
		return bad(ctx, "--gateway names a LAN interface, not loopback", value);
	return ks_policy_add_gateway(ctx->policy, name.name);
}

/* --bypass: a destination allowed off the tunnel (docs/bypass.md). */
static int opt_bypass(struct ctx *ctx, const char *value)
{
	struct ks_bypass b;

	if (ks_parse_bypass(value, &b) < 0)
		return bad(ctx, "invalid bypass (CIDR[:PORT[/tcp|/udp]], IPv6 as [CIDR]:PORT; at least /8 or /16)",
			   value);
	return ks_policy_add_bypass(ctx->policy, &b);
}

/* --allow-in: inbound connections accepted on non-tunnel interfaces. */
static int opt_allow_in(struct ctx *ctx, const char *value)
{
	struct ks_allow_in a;

	if (ks_parse_allow_in(value, &a) < 0)
		return bad(ctx, "invalid allow-in (PORT[/tcp|/udp][@IFACE])", value);
	return ks_policy_add_allow_in(ctx->policy, &a);
}

static int opt_endpoint(struct ctx *ctx, const char *value)
{
	struct ks_endpoint ep;

	if (ks_parse_endpoint(value, &ep) < 0)
		return bad(ctx, "invalid endpoint (numeric ADDR:PORT or [ADDR6]:PORT, then /udp or /tcp)", value);
	return ks_policy_add_endpoint(ctx->policy, &ep);
}

static int opt_endpoints_file(struct ctx *ctx, const char *value)
{
	if (ctx->depth > 0)
		return bad(ctx, "endpoints-file is not allowed inside a file", value);
	return ks_options_parse_endpoints_file(ctx->policy, value, ctx->err);
}

static int opt_fwmark(struct ctx *ctx, const char *value)
{
	uint32_t mark;

	ctx->fwmark_given = true;
	if (value && !strcmp(value, "none")) {
		ctx->policy->fwmark_none = true;
		ctx->policy->fwmark = 0;
		return 0;
	}
	if (ks_parse_u32(value, &mark) < 0)
		return bad(ctx, "invalid fwmark (decimal, 0x-hex up to 0xffffffff, or none)", value);
	if (mark == 0)
		return bad(ctx, "fwmark 0 is carried by every unmarked packet; use --fwmark none", value);
	ctx->policy->fwmark_none = false;
	ctx->policy->fwmark = mark;
	return 0;
}

static int opt_dns(struct ctx *ctx, const char *value)
{
	struct ks_addr addr;

	if (ks_parse_unicast_addr(value, &addr) < 0)
		return bad(ctx, "invalid resolver (a numeric unicast address)", value);
	return ks_policy_add_resolver(ctx->policy, &addr);
}

static int opt_allow_lan(struct ctx *ctx, const char *value)
{
	(void)value;
	ctx->policy->allow_lan = true;
	return 0;
}

static int opt_lan(struct ctx *ctx, const char *value)
{
	struct ks_cidr cidr;

	if (ks_parse_cidr(value, &cidr) < 0)
		return bad(ctx, "invalid LAN range (ADDR/PREFIX with the host bits clear)", value);
	/* A "LAN" that big is most of the internet: that is turning the kill switch off. */
	if (cidr.prefix < (cidr.addr.family == AF_INET ? 8 : 16))
		return bad(ctx, "LAN range too broad (at least /8 for IPv4, /16 for IPv6)", value);
	return ks_policy_add_lan(ctx->policy, &cidr);
}

static int opt_partial(struct ctx *ctx, const char *value)
{
	(void)value;
	ctx->policy->partial = true;
	return 0;
}

/* Only the inclusion group's programs use the tunnel (docs/include-only.md). */
static int opt_include_only(struct ctx *ctx, const char *value)
{
	(void)value;
	ctx->policy->include_only = true;
	return 0;
}

static int opt_protect(struct ctx *ctx, const char *value)
{
	struct ks_cidr cidr;

	if (ks_parse_cidr(value, &cidr) < 0)
		return bad(ctx, "invalid protected prefix (ADDR/PREFIX with the host bits clear)", value);
	if (!cidr.prefix)
		return bad(ctx, "a protected prefix cannot be everything (/0): that is the kill switch itself", value);
	return ks_policy_add_protect(ctx->policy, &cidr, KS_PROTECT_GIVEN, NULL);
}

/* "CIDR IFACE": a prefix killswitch derived from a tunnel, in its state files. */
static int derived_protect(struct ctx *ctx, const char *value, enum ks_protect_source source)
{
	char cidr_text[KS_CIDR_STRLEN + 1];
	const char *space = value ? strchr(value, ' ') : NULL;
	struct ks_ifname name;
	struct ks_cidr cidr;
	size_t len = space ? (size_t)(space - value) : 0;

	if (!space || len >= sizeof(cidr_text))
		return bad(ctx, "invalid derived protected prefix (CIDR IFACE)", value);
	memcpy(cidr_text, value, len);
	cidr_text[len] = '\0';
	if (ks_parse_cidr(cidr_text, &cidr) < 0 || !cidr.prefix || ks_parse_ifname(space + 1, &name) < 0)
		return bad(ctx, "invalid derived protected prefix (CIDR IFACE)", value);
	return ks_policy_add_protect(ctx->policy, &cidr, source, name.name);
}

static int opt_protect_tunnel(struct ctx *ctx, const char *value)
{
	return derived_protect(ctx, value, KS_PROTECT_TUNNEL);
}

static int opt_protect_allowed_ips(struct ctx *ctx, const char *value)
{
	return derived_protect(ctx, value, KS_PROTECT_ALLOWED_IPS);
}

static int opt_ipv6(struct ctx *ctx, const char *value)
{
	if (value && !strcmp(value, "block"))
		ctx->policy->ipv6 = KS_IPV6_BLOCK;
	else if (value && !strcmp(value, "allow"))
		ctx->policy->ipv6 = KS_IPV6_ALLOW;
	else
		return bad(ctx, "invalid --ipv6 mode (block or allow)", value);
	return 0;
}

static int opt_from_wg(struct ctx *ctx, const char *value)
{
	struct ks_wg_device dev = { 0 };
	struct ks_cidr *protect = NULL;
	size_t n_protect = 0;
	struct ks_ifname name;
	int ret;

	if (ks_parse_ifname(value, &name) < 0)
		return bad(ctx, "invalid interface name (1-15 of A-Z a-z 0-9 _ . -)", value);
	ret = ks_wg_read(name.name, &dev, ctx->err);
	if (ret < 0)
		goto cleanup;
	if (ctx->from_wg && ctx->wg_fwmark != dev.fwmark) {
		ret = bad(ctx, "WireGuard devices with different fwmarks", value);
		goto cleanup;
	}
	ctx->from_wg = true;
	ctx->wg_fwmark = dev.fwmark;
	ret = ks_policy_add_tunnel(ctx->policy, name.name);
	for (size_t i = 0; ret == 0 && i < dev.n_endpoints; i++)
		ret = ks_policy_add_endpoint(ctx->policy, &dev.endpoints[i]);
	/* The peers' networks are the VPN's own, unless together they are everything (a full tunnel). */
	if (ret == 0)
		ret = ks_protect_from_allowed_ips(dev.allowed_ips, dev.n_allowed_ips, &protect, &n_protect);
	for (size_t i = 0; ret == 0 && i < n_protect; i++)
		ret = ks_policy_add_protect(ctx->policy, &protect[i], KS_PROTECT_ALLOWED_IPS, name.name);
cleanup:
	free(protect);
	ks_wg_device_free(&dev);
	return ret;
}

static int opt_from_openvpn_env(struct ctx *ctx, const char *value)
{
	(void)value;
	ctx->from_openvpn = true;
	return ks_openvpn_env_parse(ctx->policy, environ, ctx->err);
}

/*
 * Options that cannot go together, whatever gave them: the command line, or
 * a policy file (hand-edited under /etc/killswitch, or a state file).
 */
static int check_combinations(struct ctx *ctx)
{
	char mark[16];

	/* The clients of a gateway interface leave through the tunnel: it cannot be one. */
	for (size_t g = 0; g < ctx->policy->n_gateways; g++)
		for (size_t t = 0; t < ctx->policy->n_tunnels; t++)
			if (!strcmp(ctx->policy->gateways[g].name, ctx->policy->tunnels[t].name))
				return bad(ctx, "an interface cannot be both --tunnel and --gateway",
					   ctx->policy->gateways[g].name);
	if (ctx->policy->include_only && ctx->policy->n_gateways)
		return bad(ctx, "--include-only leaves everything but the included programs off the tunnel, a "
				"gateway's clients too; drop one of them",
			   ctx->policy->gateways[0].name);
	snprintf(mark, sizeof(mark), "0x%x", ctx->policy->fwmark);
	if (ctx->policy->include_only && !ctx->policy->fwmark_none && ctx->policy->fwmark == KS_INCLUDE_MARK)
		return bad(ctx, "--include-only marks included packets with this fwmark; give the VPN another", mark);
	if (ks_exceptions_check(ctx->policy, ctx->err) < 0)
		return -EINVAL;
	return 0;
}

/* After all options: the fwmark the sources imply, and the one they cannot. */
static int check_sources(struct ctx *ctx)
{
	char mark[16];

	if (ctx->from_wg && !ctx->wg_fwmark && !ctx->policy->fwmark_none)
		return bad(ctx, "the WireGuard device sets no fwmark; give it one (wg set IFACE fwmark 51820) "
				"or pass --fwmark none",
			   ctx->policy->tunnels[0].name);
	if (ctx->from_wg && ctx->wg_fwmark) {
		snprintf(mark, sizeof(mark), "0x%x", ctx->wg_fwmark);
		if (ctx->fwmark_given && !ctx->policy->fwmark_none && ctx->policy->fwmark != ctx->wg_fwmark)
			return bad(ctx, "--fwmark differs from the WireGuard device's fwmark", mark);
		if (!ctx->fwmark_given)
			ctx->policy->fwmark = ctx->wg_fwmark;
	}
	if (check_combinations(ctx) < 0)
		return -EINVAL;
	if (ctx->from_openvpn && !ctx->fwmark_given)
		return bad(ctx, "OpenVPN marks nothing by default: run it with --mark MARK and pass --fwmark MARK "
				"(or --fwmark none)",
			   "--from-openvpn-env");
	return 0;
}

static int opt_json(struct ctx *ctx, const char *value)
{
	(void)value;
	ctx->opts->json = true;
	return 0;
}

static int opt_persist(struct ctx *ctx, const char *value)
{
	(void)value;
	ctx->opts->persist = true;
	return 0;
}

static int opt_state(struct ctx *ctx, const char *value)
{
	if (ctx->opts)
		ctx->opts->state_given = true;
	if (value && !strcmp(value, "enabled"))
		ctx->policy->state = KS_STATE_ENABLED;
	else if (value && !strcmp(value, "blocked"))
		ctx->policy->state = KS_STATE_BLOCKED;
	else
		return bad(ctx, "invalid state (enabled or blocked)", value);
	return 0;
}

static int opt_tunnel_addr(struct ctx *ctx, const char *value)
{
	struct ks_addr addr;

	if (ks_parse_unicast_addr(value, &addr) < 0)
		return bad(ctx, "invalid tunnel address", value);
	return ks_policy_add_tunnel_addr(ctx->policy, &addr);
}

static int opt_split_tunnel(struct ctx *ctx, const char *value)
{
	static const char *const modes[] = { [KS_SPLIT_OFF] = "off", [KS_SPLIT_V1] = "v1", [KS_SPLIT_V2] = "v2" };

	for (unsigned m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
		if (value && !strcmp(value, modes[m])) {
			ctx->policy->split.mode = (enum ks_split_mode)m;
			return 0;
		}
	return bad(ctx, "invalid split-tunnel mode (off, v1 or v2)", value);
}

static int opt_split_ctmark(struct ctx *ctx, const char *value)
{
	if (ks_parse_u32(value, &ctx->policy->split.ct_mark) < 0 || !ctx->policy->split.ct_mark)
		return bad(ctx, "invalid split-tunnel ct mark (nonzero)", value);
	return 0;
}

static int opt_split_classid(struct ctx *ctx, const char *value)
{
	if (ks_parse_u32(value, &ctx->policy->split.classid) < 0 || !ctx->policy->split.classid)
		return bad(ctx, "invalid net_cls classid (nonzero)", value);
	return 0;
}

static int opt_split_cgroup(struct ctx *ctx, const char *value)
{
	unsigned depth;

	if (ks_parse_cgroup_path(value, ctx->policy->split.path, &depth) < 0)
		return bad(ctx, "invalid cgroup path (relative to /sys/fs/cgroup)", value);
	return 0;
}

static int opt_split_level(struct ctx *ctx, const char *value)
{
	uint32_t level;

	if (ks_parse_u32(value, &level) < 0 || level < 1 || level > 64)
		return bad(ctx, "invalid cgroup level (1-64)", value);
	ctx->policy->split.level = level;
	return 0;
}

/* The inclusion group, as the state file records it: the same keys as split-*, for include. */
static int opt_include_group(struct ctx *ctx, const char *value)
{
	static const char *const modes[] = { [KS_SPLIT_OFF] = "off", [KS_SPLIT_V1] = "v1", [KS_SPLIT_V2] = "v2" };

	for (unsigned m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
		if (value && !strcmp(value, modes[m])) {
			ctx->policy->include.mode = (enum ks_split_mode)m;
			return 0;
		}
	return bad(ctx, "invalid include-group mode (off, v1 or v2)", value);
}

static int opt_include_classid(struct ctx *ctx, const char *value)
{
	if (ks_parse_u32(value, &ctx->policy->include.classid) < 0 || !ctx->policy->include.classid)
		return bad(ctx, "invalid net_cls classid (nonzero)", value);
	return 0;
}

static int opt_include_cgroup(struct ctx *ctx, const char *value)
{
	unsigned depth;

	if (ks_parse_cgroup_path(value, ctx->policy->include.path, &depth) < 0)
		return bad(ctx, "invalid cgroup path (relative to /sys/fs/cgroup)", value);
	return 0;
}

static int opt_include_level(struct ctx *ctx, const char *value)
{
	uint32_t level;

	if (ks_parse_u32(value, &level) < 0 || level < 1 || level > 64)
		return bad(ctx, "invalid cgroup level (1-64)", value);
	ctx->policy->include.level = level;
	return 0;
}

enum where { CLI_AND_FILE, CLI_ONLY };

struct option_spec {
	const char *name;
	bool has_value;
	enum where where;
	int (*handle)(struct ctx *ctx, const char *value);
};

/* The options a user gives: on the command line and, but the CLI-only ones, in policy files. */
static const struct option_spec options[] = {
	{ "tunnel", true, CLI_AND_FILE, opt_tunnel },
	{ "endpoint", true, CLI_AND_FILE, opt_endpoint },
	{ "endpoints-file", true, CLI_AND_FILE, opt_endpoints_file },
	{ "fwmark", true, CLI_AND_FILE, opt_fwmark },
	{ "dns", true, CLI_AND_FILE, opt_dns },
	{ "allow-lan", false, CLI_AND_FILE, opt_allow_lan },
	{ "lan", true, CLI_AND_FILE, opt_lan },
	{ "ipv6", true, CLI_AND_FILE, opt_ipv6 },
	{ "protect", true, CLI_AND_FILE, opt_protect },
	{ "partial", false, CLI_AND_FILE, opt_partial },
	{ "include-only", false, CLI_AND_FILE, opt_include_only },
	{ "gateway", true, CLI_AND_FILE, opt_gateway },
	{ "bypass", true, CLI_AND_FILE, opt_bypass },
	{ "allow-in", true, CLI_AND_FILE, opt_allow_in },
	{ "from-wg", true, CLI_ONLY, opt_from_wg },
	{ "from-openvpn-env", false, CLI_ONLY, opt_from_openvpn_env },
	{ "json", false, CLI_ONLY, opt_json },
	{ "persist", false, CLI_ONLY, opt_persist },
	/* Written by killswitch itself into its state files too. */
	/* On the command line only compile takes it; enable and block refuse it. */
	{ "state", true, CLI_AND_FILE, opt_state },
};

/*
 * Written by killswitch itself into its state files, never typed by a user:
 * only the policy file loader knows them. The journal's endpoint-add|del
 * lines are src/policy/journal.c's.
 */
static const struct option_spec state_keys[] = {
	{ .name = "tunnel-addr", .has_value = true, .handle = opt_tunnel_addr },
	{ .name = "protect-tunnel", .has_value = true, .handle = opt_protect_tunnel },
	{ .name = "protect-allowed-ips", .has_value = true, .handle = opt_protect_allowed_ips },
	{ .name = "split-tunnel", .has_value = true, .handle = opt_split_tunnel },
	{ .name = "split-ctmark", .has_value = true, .handle = opt_split_ctmark },
	{ .name = "split-classid", .has_value = true, .handle = opt_split_classid },
	{ .name = "split-cgroup", .has_value = true, .handle = opt_split_cgroup },
	{ .name = "split-level", .has_value = true, .handle = opt_split_level },
	{ .name = "include-group", .has_value = true, .handle = opt_include_group },
	{ .name = "include-classid", .has_value = true, .handle = opt_include_classid },
	{ .name = "include-cgroup", .has_value = true, .handle = opt_include_cgroup },
	{ .name = "include-level", .has_value = true, .handle = opt_include_level },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct option_spec *find_option(const struct option_spec *table, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(table[i].name) == len && !strncmp(table[i].name, name, len))
			return &table[i];
	return NULL;
}

int ks_options_parse_args(struct ks_policy *policy, struct ks_options *opts, int argc, char *const argv[],
			  char err[KS_ERR_LEN])
{
	struct ctx ctx = { .policy = policy, .opts = opts, .err = err };
	int ret = 0;

	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *eq, *value = NULL;
		const struct option_spec *opt;
		size_t len;

		if (strncmp(arg, "--", 2) || !arg[2]) {
			ret = bad(&ctx, "unexpected argument", arg);
			goto cleanup;
		}
		eq = strchr(arg + 2, '=');
		len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
		opt = find_option(options, ARRAY_SIZE(options), arg + 2, len);
		if (!opt || ((opt->handle == opt_json || opt->handle == opt_persist) && !opts)) {
			ret = bad(&ctx, "unknown option", arg);
			goto cleanup;
		}
		if (opt->has_value) {
			if (eq)
				value = eq + 1;
			else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2))
				value = argv[++i];
			else {
				ret = bad(&ctx, "option needs a value", arg);
				goto cleanup;
			}
		} else if (eq) {
			ret = bad(&ctx, "option takes no value", arg);
			goto cleanup;
		}
		ret = opt->handle(&ctx, value);
		if (ret < 0)
			goto cleanup;
	}
	ret = check_sources(&ctx);
cleanup:
	return ret;
}

/* Calls line(ctx, text, len) for each line, its newline included (the last one may have none). */
static int for_each_line(struct ctx *ctx, const char *path, int (*line)(struct ctx *, char *, size_t))
{
	char escaped[KS_ERR_LEN / 2], *text = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	FILE *f;
	int ret = 0;

	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(ctx->err, KS_ERR_LEN, "cannot open (%s): '%s'", strerror(-ret),
			 ks_escape(path, escaped, sizeof(escaped)));
		return ret;
	}
	for (;;) {
		ssize_t n;

		errno = 0;
		n = getline(&text, &cap, f);
		/* -1 is the end only with EOF: getline also returns it when memory runs out (no ferror then). */
		if (n < 0 && !feof(f)) {
			ret = errno ? -errno : -EIO;
			snprintf(ctx->err, KS_ERR_LEN, "cannot read (%s): '%s'", strerror(-ret),
				 ks_escape(path, escaped, sizeof(escaped)));
			goto cleanup;
		}
		if (n < 0)
			break;
		lineno++;
		if (memchr(text, '\0', (size_t)n)) {
			snprintf(ctx->err, KS_ERR_LEN, "%s:%u: NUL byte in line: '%s'", ks_escape(path, escaped, 128),
				 lineno, "\\x00");
			ret = -EINVAL;
			goto cleanup;
		}
		ret = line(ctx, text, (size_t)n);
		if (ret < 0) {
			if (ret == -EINVAL) {
				char inner[KS_ERR_LEN];

				memcpy(inner, ctx->err, sizeof(inner));
				/* Long messages lose their tail: they stay one line either way. */
				if (snprintf(ctx->err, KS_ERR_LEN, "%s:%u: %s", ks_escape(path, escaped, 128),
					     lineno, inner) >= KS_ERR_LEN)
					ctx->err[KS_ERR_LEN - 1] = '\0';
			}
			goto cleanup;
		}
	}
cleanup:
	free(text);
	fclose(f);
	return ret;
}

/* The text of a line without its comment and the blanks around it, cut in place; "" for none. */
static char *strip(char *line)
{
	char *start, *end, *hash = strchr(line, '#');

	if (hash)
		*hash = '\0';
	for (start = line; *start == ' ' || *start == '\t'; start++)
		;
	end = start + strlen(start);
	while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	return start;
}

static int endpoint_line(struct ctx *ctx, char *line, size_t len)
{
	char *text = strip(line);

	(void)len;
	return *text ? opt_endpoint(ctx, text) : 0;
}

int ks_options_parse_endpoints_file(struct ks_policy *policy, const char *path, char err[KS_ERR_LEN])
{
	struct ctx ctx = { .policy = policy, .err = err, .depth = 1 };

	return for_each_line(&ctx, path, endpoint_line);
}

static int policy_line(struct ctx *ctx, char *line, size_t line_len)
{
	struct ks_journal_change change;
	const struct option_spec *opt;
	char *text, *name, *value;
	size_t len;
	int ret = ks_journal_parse_line(line, line_len, &change, ctx->err);

	/* The state file's journal (endpoint add|del), replayed as it is read. */
	if (ret != 0)
		return ret < 0 ? ret : ks_journal_replay(&ctx->replay, ctx->policy, &change);
	text = name = strip(line);
	if (!*text)
		return 0;
	if (!strncmp(name, "--", 2))
		name += 2;
	len = strcspn(name, " \t=");
	value = name + len;
	value += strspn(value, " \t");
	if (*value == '=')
		value += 1 + strspn(value + 1, " \t");
	opt = find_option(options, ARRAY_SIZE(options), name, len);
	if (opt && opt->where == CLI_ONLY)
		opt = NULL;
	if (!opt)
		opt = find_option(state_keys, ARRAY_SIZE(state_keys), name, len);
	if (!opt) {
		name[len] = '\0';
		return bad(ctx, "unknown option", name);
	}
	if (opt->has_value != (*value != '\0'))
		return bad(ctx, opt->has_value ? "option needs a value" : "option takes no value", text);
	return opt->handle(ctx, opt->has_value ? value : NULL);
}

int ks_options_parse_file(struct ks_policy *policy, const char *path, char err[KS_ERR_LEN])
{
	struct ctx ctx = { .policy = policy, .err = err, .depth = 1 };
	char escaped[KS_ERR_LEN / 2];
	int ret = for_each_line(&ctx, path, policy_line);

	if (ret == 0)
		ks_journal_replay_end(&ctx.replay, policy);
	else
		ks_journal_replay_free(&ctx.replay);
	/* A v2 exclusion group is a path and a level: half of one cannot be compiled or written back. */
	if (ret == 0 && policy->split.mode == KS_SPLIT_V2 && (!policy->split.path[0] || !policy->split.level)) {
		snprintf(err, KS_ERR_LEN, "%s: split-tunnel v2 needs split-cgroup and split-level: '%s'",
			 ks_escape(path, escaped, 128), "split-tunnel v2");
		ret = -EINVAL;
	}
	if (ret == 0 && policy->include.mode == KS_SPLIT_V2 && (!policy->include.path[0] || !policy->include.level)) {
		snprintf(err, KS_ERR_LEN, "%s: include-group v2 needs include-cgroup and include-level: '%s'",
			 ks_escape(path, escaped, 128), "include-group v2");
		ret = -EINVAL;
	}
	/* Options that cannot go together: the file names the problem, no line does. */
	if (ret == 0 && check_combinations(&ctx) < 0) {
		char what[KS_ERR_LEN / 2];

		snprintf(what, sizeof(what), "%s", err);
		snprintf(err, KS_ERR_LEN, "%.*s: %s", 128, ks_escape(path, escaped, 128), what);
		ret = -EINVAL;
	}
	return ret;
}

/* The inclusion group of an --include-only policy, as the state file keeps it. */
static void format_include(const struct ks_policy *policy, struct ks_buf *out)
{
	if (!policy->include_only)
		return;
	ks_buf_puts(out, "include-only\n");
	if (policy->include.mode == KS_SPLIT_V1)
		ks_buf_printf(out, "include-group v1\ninclude-classid 0x%x\n", policy->include.classid);
	else if (policy->include.mode == KS_SPLIT_V2)
		ks_buf_printf(out, "include-group v2\ninclude-cgroup %s\ninclude-level %u\n", policy->include.path,
			      policy->include.level);
}

void ks_options_format(const struct ks_policy *policy, struct ks_buf *out)
{
	char text[KS_BYPASS_STRLEN];

	ks_buf_printf(out, "state %s\n", ks_state_name(policy->state));
	for (size_t i = 0; i < policy->n_tunnels; i++)
		ks_buf_printf(out, "tunnel %s\n", policy->tunnels[i].name);
	for (size_t i = 0; i < policy->n_endpoints; i++) {
		ks_format_endpoint(&policy->endpoints[i], text);
		ks_buf_printf(out, "endpoint %s\n", text);
	}
	if (policy->fwmark_none)
		ks_buf_puts(out, "fwmark none\n");
	else
		ks_buf_printf(out, "fwmark 0x%x\n", policy->fwmark);
	for (size_t i = 0; i < policy->n_resolvers; i++) {
		ks_format_addr(&policy->resolvers[i], text);
		ks_buf_printf(out, "dns %s\n", text);
	}
	if (policy->allow_lan)
		ks_buf_puts(out, "allow-lan\n");
	for (size_t i = 0; i < policy->n_lan; i++) {
		ks_format_cidr(&policy->lan[i], text);
		ks_buf_printf(out, "lan %s\n", text);
	}
	ks_buf_printf(out, "ipv6 %s\n", policy->ipv6 == KS_IPV6_ALLOW ? "allow" : "block");
	if (policy->partial)
		ks_buf_puts(out, "partial\n");
	for (size_t i = 0; i < policy->n_tunnel_addrs; i++) {
		ks_format_addr(&policy->tunnel_addrs[i], text);
		ks_buf_printf(out, "tunnel-addr %s\n", text);
	}
	for (size_t i = 0; i < policy->n_protect; i++) {
		static const char *const keys[] = { [KS_PROTECT_GIVEN] = "protect",
						     [KS_PROTECT_TUNNEL] = "protect-tunnel",
						     [KS_PROTECT_ALLOWED_IPS] = "protect-allowed-ips" };
		const struct ks_protected *p = &policy->protect[i];

		ks_format_cidr(&p->cidr, text);
		ks_buf_printf(out, "%s %s%s%s\n", keys[p->source], text, p->iface[0] ? " " : "", p->iface);
	}
	for (size_t i = 0; i < policy->n_gateways; i++)
		ks_buf_printf(out, "gateway %s\n", policy->gateways[i].name);
	format_include(policy, out);
	for (size_t i = 0; i < policy->n_bypass; i++) {
		ks_format_bypass(&policy->bypass[i], text);
		ks_buf_printf(out, "bypass %s\n", text);
	}
	for (size_t i = 0; i < policy->n_allow_in; i++) {
		ks_format_allow_in(&policy->allow_in[i], text);
		ks_buf_printf(out, "allow-in %s\n", text);
	}
	if (policy->split.mode == KS_SPLIT_OFF)
		return;
	ks_buf_printf(out, "split-tunnel %s\nsplit-ctmark 0x%x\n", policy->split.mode == KS_SPLIT_V1 ? "v1" : "v2",
		      policy->split.ct_mark);
	if (policy->split.mode == KS_SPLIT_V1)
		ks_buf_printf(out, "split-classid 0x%x\n", policy->split.classid);
	else
		ks_buf_printf(out, "split-cgroup %s\nsplit-level %u\n", policy->split.path, policy->split.level);
}
