// SPDX-License-Identifier: GPL-2.0-or-later
/* The pure half of the cgroup code: mount tables in, a plan out. No I/O. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "killswitch/cgroup.h"
#include "killswitch/parse.h"

const char *ks_cgroup_layout_name(enum ks_cgroup_layout layout)
{
	switch (layout) {
	case KS_CGROUP_LAYOUT_V1:
		return "v1";
	case KS_CGROUP_LAYOUT_HYBRID:
		return "hybrid";
	case KS_CGROUP_LAYOUT_UNIFIED:
		return "unified";
	case KS_CGROUP_LAYOUT_NONE:
		break;
	}
	return "none";
}

/* Copies one space-separated field of mountinfo, undoing its octal escapes (\040 for a space). */
static int unescape(const char *field, size_t len, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = field[i];

		if (c == '\\' && i + 3 < len && field[i + 1] >= '0' && field[i + 1] <= '3' &&
		    field[i + 2] >= '0' && field[i + 2] <= '7' && field[i + 3] >= '0' && field[i + 3] <= '7') {
			c = (char)((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= size)
			return -ENAMETOOLONG;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

static bool has_token(const char *list, size_t len, const char *token)
{
	size_t tlen = strlen(token);

	for (size_t i = 0; i < len;) {
		size_t part = 0;

		while (i + part < len && list[i + part] != ',')
			part++;
		if (part == tlen && !strncmp(list + i, token, tlen))
			return true;
		i += part + 1;
	}
	return false;
}

static bool under_root(const char *mount)
{
	size_t n = strlen(KS_CGROUP_ROOT);

	return !strncmp(mount, KS_CGROUP_ROOT, n) && (mount[n] == '\0' || mount[n] == '/');
}

/* Root, mount point, fstype and super options of one mountinfo line. */
struct fields {
	const char *at[4];
	size_t len[4];
};

/* "36 25 0:31 / /sys/fs/cgroup/net_cls rw,nosuid shared:16 - cgroup cgroup rw,net_cls" */
static int parse_line(const char *line, size_t len, struct fields *f)
{
	const char *p = line, *end = line + len;
	unsigned n = 0;
	bool dash = false;
	unsigned after = 0;

	while (p < end) {
		const char *start;
		size_t flen;

		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		start = p;
		while (p < end && *p != ' ')
			p++;
		flen = (size_t)(p - start);
		if (!dash) {
			if (n == 3 || n == 4) {
				f->at[n - 3] = start;
				f->len[n - 3] = flen;
			}
			if (n >= 6 && flen == 1 && *start == '-')
				dash = true;
			n++;
			continue;
		}
		/* After the separator: fstype, source, super options. */
		if (after == 0 || after == 2) {
			f->at[after == 0 ? 2 : 3] = start;
			f->len[after == 0 ? 2 : 3] = flen;
		}
		after++;
	}
	return dash && after >= 3 ? 0 : -EINVAL;
}

static bool field_is(const struct fields *f, unsigned i, const char *text)
{
	return f->len[i] == strlen(text) && !strncmp(f->at[i], text, f->len[i]);
}

/* A better mount of the same kind: the hierarchy's root, and under /sys/fs/cgroup. */
static bool better(const char *have, bool have_root, const char *cand, bool cand_root)
{
	if (!*have)
		return true;
	if (cand_root != have_root)
		return cand_root;
	return under_root(cand) && !under_root(have);
}

static int parse_cgroups(const char *text, bool *net_cls)
{
	const char *line = text;
	bool header = false;

	*net_cls = false;
	while (*line) {
		size_t len = strcspn(line, "\n");
		char name[32];
		unsigned hier, num, enabled;

		if (!header) {
			if (strncmp(line, "#subsys_name", 12))
				return -EINVAL;
			header = true;
		} else if (len) {
			char copy[128];

			if (len >= sizeof(copy))
				return -EINVAL;
			memcpy(copy, line, len);
			copy[len] = '\0';
			if (sscanf(copy, "%31s %u %u %u", name, &hier, &num, &enabled) != 4)
				return -EINVAL;
			if (!strcmp(name, "net_cls") && enabled == 1)
				*net_cls = true;
		}
		line += len;
		if (*line)
			line++;
	}
	return header ? 0 : -EINVAL;
}

int ks_cgroup_parse_mounts(const char *mountinfo, const char *proc_cgroups, struct ks_cgroup_mounts *out)
{
	struct ks_cgroup_mounts m = { 0 };
	bool v1 = false, v2_root = false, cls_root = false, lines = false;
	const char *line = mountinfo;
	int ret;

	if (!mountinfo)
		return -EINVAL;
	while (*line) {
		size_t len = strcspn(line, "\n");
		struct fields f = { 0 };
		char mount[KS_CGROUP_MOUNT_MAX];
		bool root;

		if (len) {
			lines = true;
			ret = parse_line(line, len, &f);
			if (ret < 0)
				return ret;
			root = field_is(&f, 0, "/");
			if (field_is(&f, 2, "cgroup2")) {
				if (unescape(f.at[1], f.len[1], mount, sizeof(mount)) == 0 &&
				    better(m.v2_mount, v2_root, mount, root)) {
					memcpy(m.v2_mount, mount, sizeof(mount));
					v2_root = root;
				}
			} else if (field_is(&f, 2, "cgroup")) {
				v1 = true;
				if (has_token(f.at[3], f.len[3], "net_cls") &&
				    unescape(f.at[1], f.len[1], mount, sizeof(mount)) == 0 &&
				    better(m.net_cls_mount, cls_root, mount, root)) {
					memcpy(m.net_cls_mount, mount, sizeof(mount));
					cls_root = root;
				}
			}
		}
		line += len;
		if (*line)
			line++;
	}
	if (!lines)
		return -EINVAL;
	if (proc_cgroups) {
		ret = parse_cgroups(proc_cgroups, &m.net_cls_in_kernel);
		if (ret < 0)
			return ret;
	}
	if (*m.net_cls_mount)
		m.net_cls_in_kernel = true;
	if (v1 && *m.v2_mount)
		m.layout = KS_CGROUP_LAYOUT_HYBRID;
	else if (*m.v2_mount)
		m.layout = KS_CGROUP_LAYOUT_UNIFIED;
	else if (v1)
		m.layout = KS_CGROUP_LAYOUT_V1;
	else
		m.layout = KS_CGROUP_LAYOUT_NONE;
	*out = m;
	return 0;
}

/* Whether release is major.minor or later. */
static bool kernel_at_least(const char *release, unsigned long want_major, unsigned long want_minor)
{
	char *end;
	unsigned long major, minor = 0;

	if (!release)
		return false;
	major = strtoul(release, &end, 10);
	if (end == release)
		return false;
	if (*end == '.')
		minor = strtoul(end + 1, NULL, 10);
	return major > want_major || (major == want_major && minor >= want_minor);
}

bool ks_cgroup_kernel_has_socket_v2(const char *release)
{
	return kernel_at_least(release, 5, 13);
}

bool ks_cgroup_kernel_net_cls_harmless(const char *release)
{
	return kernel_at_least(release, 5, 15);
}

/* The v2 mount point relative to /sys/fs/cgroup ("" for /sys/fs/cgroup itself), or NULL. */
static const char *v2_relative(const struct ks_cgroup_mounts *mounts)
{
	const char *rel;

	if (!*mounts->v2_mount || !under_root(mounts->v2_mount))
		return NULL;
	rel = mounts->v2_mount + strlen(KS_CGROUP_ROOT);
	return *rel == '/' ? rel + 1 : rel;
}

int ks_cgroup_plan(const struct ks_cgroup_mounts *mounts, enum ks_split_mode want, const char *name,
		   struct ks_split *split)
{
	char group[KS_CGROUP_PATH_MAX], path[KS_CGROUP_PATH_MAX * 2], check[KS_CGROUP_PATH_MAX];
	const char *rel = v2_relative(mounts);
	unsigned depth, total;
	bool v2 = rel && mounts->v2_socket_match;
	/* Without any cgroup mount we are in a mount namespace that hides them: mounting there helps nobody. */
	bool v1 = mounts->net_cls_in_kernel && mounts->layout != KS_CGROUP_LAYOUT_NONE;
	bool v1_auto = v1 && (mounts->net_cls_harmless || !*mounts->v2_mount);

	if (ks_parse_cgroup_path(name, group, &depth) < 0)
		return -EINVAL;
	if (want == KS_SPLIT_OFF)
		want = v2 ? KS_SPLIT_V2 : v1_auto ? KS_SPLIT_V1 : KS_SPLIT_OFF;
	if (want == KS_SPLIT_OFF || (want == KS_SPLIT_V2 && !v2) || (want == KS_SPLIT_V1 && !v1))
		return -EOPNOTSUPP;
	if (want == KS_SPLIT_V2) {
		snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "", group);
		if (ks_parse_cgroup_path(path, check, &total) < 0)
			return -EINVAL;
		memcpy(split->path, check, sizeof(check));
	} else {
		memcpy(split->path, group, sizeof(group));
		if (!split->classid)
			split->classid = KS_DEFAULT_CLASSID;
	}
	split->mode = want;
	split->level = depth;
	return 0;
}

/*
 * split's path checked into path, and where in it the group's own
 * components start (v2: after the mount point below /sys/fs/cgroup; v1:
 * the whole path). NULL for an inconsistent split.
 */
static const char *group_part(const struct ks_split *split, char path[KS_CGROUP_PATH_MAX])
{
	unsigned depth;
	const char *group = path;

	if (split->mode == KS_SPLIT_OFF || ks_parse_cgroup_path(split->path, path, &depth) < 0 || split->level < 1 ||
	    split->level > depth)
		return NULL;
	/* The first depth - level components are the mount point below /sys/fs/cgroup. */
	for (unsigned skip = split->mode == KS_SPLIT_V2 ? depth - split->level : 0; skip; skip--)
		group = strchr(group, '/') + 1;
	return group;
}

bool ks_cgroup_split_holds(const struct ks_split *split, const char *group)
{
	struct ks_cgroup_where w;
	char path[KS_CGROUP_PATH_MAX];
	const char *own = group_part(split, path);

	if (!own)
		return false;
	snprintf(w.group, sizeof(w.group), "/%s", own);
	return ks_cgroup_is_inside(group, &w);
}

int ks_cgroup_locate(const struct ks_split *split, const struct ks_cgroup_mounts *mounts,
		     struct ks_cgroup_where *out)
{
	struct ks_cgroup_where w = { 0 };
	char path[KS_CGROUP_PATH_MAX];
	const char *group = group_part(split, path);

	if (!group)
		return -EINVAL;
	if (split->mode == KS_SPLIT_V2) {
		snprintf(w.hierarchy, sizeof(w.hierarchy), "%s%s%.*s", KS_CGROUP_ROOT, group == path ? "" : "/",
			 group == path ? 0 : (int)(group - path - 1), path);
		if (strcmp(w.hierarchy, mounts->v2_mount))
			return -ENOENT;
	} else {
		if (!*mounts->net_cls_mount)
			return -ENOENT;
		memcpy(w.hierarchy, mounts->net_cls_mount, sizeof(w.hierarchy));
	}
	snprintf(w.group, sizeof(w.group), "/%s", group);
	*out = w;
	return 0;
}

int ks_cgroup_parse_proc(const char *text, enum ks_split_mode mode, char *out, size_t size)
{
	const char *line = text;

	while (line && *line) {
		size_t len = strcspn(line, "\n");
		const char *c1 = memchr(line, ':', len), *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;

		if (c2) {
			bool match;

			if (mode == KS_SPLIT_V2)
				match = c1 - line == 1 && line[0] == '0' && c2 == c1 + 1;
			else
				match = has_token(c1 + 1, (size_t)(c2 - c1 - 1), "net_cls");
			if (match) {
				size_t plen = len - (size_t)(c2 + 1 - line);

				if (plen + 1 > size || plen == 0 || c2[1] != '/')
					return -EINVAL;
				memcpy(out, c2 + 1, plen);
				out[plen] = '\0';
				return 0;
			}
		}
		line += len;
		if (*line)
			line++;
	}
	return -ENOENT;
}

bool ks_cgroup_is_inside(const char *group, const struct ks_cgroup_where *where)
{
	size_t n = strlen(where->group);

	return !strncmp(group, where->group, n) && (group[n] == '\0' || group[n] == '/');
}

int ks_cgroup_user_domain(const char *own, uid_t uid, char *domain, size_t size)
{
	char slice[64];
	size_t n;

	if (!strcmp(own, "/")) {
		n = (size_t)snprintf(domain, size, "/");
		return n < size ? 0 : -ENAMETOOLONG;
	}
	n = (size_t)snprintf(slice, sizeof(slice), "/user.slice/user-%u.slice", (unsigned)uid);
	if (strncmp(own, slice, n) || (own[n] != '\0' && own[n] != '/'))
		return -EPERM;
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(domain, slice, n + 1);
	return 0;
}

int ks_cgroup_plan_in(struct ks_split *split, const char *domain)
{
	char path[KS_CGROUP_PATH_MAX], joined[KS_CGROUP_PATH_MAX * 2], check[KS_CGROUP_PATH_MAX];
	const char *name = path;
	unsigned depth, domain_depth = 0, total;

	if (split->mode != KS_SPLIT_V2 || !strcmp(domain, "/"))
		return 0;
	if (domain[0] != '/' || ks_parse_cgroup_path(domain + 1, check, &domain_depth) < 0 ||
	    ks_parse_cgroup_path(split->path, path, &depth) < 0 || split->level < 1 || split->level > depth)
		return -EINVAL;
	/* The first depth - level components are the mount point below /sys/fs/cgroup, the rest the group. */
	for (unsigned skip = depth - split->level; skip; skip--)
		name = strchr(name, '/') + 1;
	snprintf(joined, sizeof(joined), "%.*s%s/%s", (int)(name - path), path, domain + 1, name);
	if (ks_parse_cgroup_path(joined, check, &total) < 0)
		return -EINVAL;
	memcpy(split->path, check, sizeof(check));
	split->level += domain_depth;
	return 0;
}
