// SPDX-License-Identifier: GPL-2.0-or-later
/* Split tunnelling by systemd unit, the pure part: names, their cgroups as systemd lays them out, the units file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "killswitch/unit.h"

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_plain(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' || c == '_' ||
	       c == '.' || c == '-';
}

/* [A-Za-z0-9:_.-] (and "@" when at) and "\xHH" only, len bytes, not empty. */
static bool chars_ok_at(const char *s, size_t len, bool at)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (is_plain(s[i]) || (at && s[i] == '@'))
			continue;
		if (s[i] != '\\' || i + 3 >= len || s[i + 1] != 'x' || !is_hex(s[i + 2]) || !is_hex(s[i + 3]))
			return false;
		i += 3;
	}
	return true;
}

static bool chars_ok(const char *s, size_t len)
{
	return chars_ok_at(s, len, false);
}

static bool ends_with(const char *s, size_t len, const char *suffix, size_t *prefix_len)
{
	size_t n = strlen(suffix);

	if (len <= n || memcmp(s + len - n, suffix, n))
		return false;
	*prefix_len = len - n;
	return true;
}

/* One name of len bytes (not NUL-terminated there): kind's suffix, a prefix systemd accepts. */
static int check_n(const char *name, size_t len, enum ks_unit_kind kind)
{
	const char *at;
	size_t prefix;

	if (len == 0 || len > KS_UNIT_NAME_MAX || memchr(name, '\0', len))
		return -EINVAL;
	/* Never ".", "..", a hidden-looking or option-looking name. */
	if (name[0] == '.' || name[0] == '-')
		return -EINVAL;
	if (kind == KS_UNIT_SLICE) {
		if (!ends_with(name, len, ".slice", &prefix) || !chars_ok(name, prefix))
			return -EINVAL;
		if (name[prefix - 1] == '-')
			return -EINVAL;
		for (size_t i = 0; i + 1 < prefix; i++)
			if (name[i] == '-' && name[i + 1] == '-')
				return -EINVAL;
		return 0;
	}
	if (!ends_with(name, len, ".service", &prefix))
		return -EINVAL;
	at = memchr(name, '@', prefix);
	if (!at)
		return chars_ok(name, prefix) ? 0 : -EINVAL;
	/* A template's instance: both parts non-empty; systemd lets the instance hold "@" too. */
	if (at == name || (size_t)(at - name) + 1 >= prefix || !chars_ok(name, (size_t)(at - name)) ||
	    !chars_ok_at(at + 1, prefix - (size_t)(at - name) - 1, true))
		return -EINVAL;
	return 0;
}

int ks_unit_check(const char *name, enum ks_unit_kind kind)
{
	if (!name)
		return -EINVAL;
	return check_n(name, strlen(name), kind);
}

struct path_buf {
	char *out;
	size_t size, len;
	unsigned level;
	bool overflow;
};

static void put(struct path_buf *p, const char *s, size_t n)
{
	if (p->overflow || p->len + n + 2 > p->size) {
		p->overflow = true;
		return;
	}
	if (p->len)
		p->out[p->len++] = '/';
	memcpy(p->out + p->len, s, n);
	p->len += n;
	p->out[p->len] = '\0';
	p->level++;
}

/* "user-UID.slice" or "user@UID.service". */
static void put_uid(struct path_buf *p, const char *head, unsigned long uid, const char *tail)
{
	char part[64];
	int n = snprintf(part, sizeof(part), "%s%lu%s", head, uid, tail);

	put(p, part, (size_t)n);
}

/* "A-B-C.slice": A.slice, A-B.slice, A-B-C.slice ("\x2d" is no separator). */
static void put_slice(struct path_buf *p, const char *name)
{
	size_t prefix = strlen(name) - strlen(".slice");
	char part[KS_UNIT_NAME_MAX + 1];

	for (size_t i = 0; i <= prefix; i++) {
		if (i < prefix && name[i] != '-')
			continue;
		memcpy(part, name, i);
		memcpy(part + i, ".slice", sizeof(".slice"));
		put(p, part, strlen(part));
	}
}

/* A template instance's default slice: "system-P.slice" or "app-P.slice", P with its "-" escaped. */
static void put_instance_slice(struct path_buf *p, const char *base, const char *name)
{
	char part[2 * KS_UNIT_PATH_MAX];
	size_t n = strlen(base);
	const char *at = strchr(name, '@');

	memcpy(part, base, n);
	part[n++] = '-';
	for (const char *c = name; c < at; c++) {
		if (*c == '-') {
			memcpy(part + n, "\\x2d", 4);
			n += 4;
		} else {
			part[n++] = *c;
		}
	}
	memcpy(part + n, ".slice", sizeof(".slice"));
	n += strlen(".slice");
	if (n > KS_UNIT_NAME_MAX) {
		p->overflow = true;
		return;
	}
	put(p, part, n);
}

int ks_unit_cgroup(const char *name, enum ks_unit_kind kind, bool user, uid_t uid, char *out, size_t size,
		   unsigned *level)
{
	char full[KS_UNIT_NAME_MAX + 1];
	struct path_buf p = { .out = out, .size = size };

	if (!name || !out || !size)
		return -EINVAL;
	/* "NAME" means "NAME.service", as for systemctl. */
	if (kind == KS_UNIT_SERVICE && !strchr(name, '.') && strlen(name) + strlen(".service") <= KS_UNIT_NAME_MAX) {
		snprintf(full, sizeof(full), "%s.service", name);
		name = full;
	}
	if (ks_unit_check(name, kind) < 0)
		return -EINVAL;
	out[0] = '\0';
	if (user) {
		put(&p, "user.slice", strlen("user.slice"));
		put_uid(&p, "user-", (unsigned long)uid, ".slice");
		put_uid(&p, "user@", (unsigned long)uid, ".service");
	}
	if (kind == KS_UNIT_SLICE) {
		put_slice(&p, name);
	} else {
		const char *base = user ? "app" : "system";

		put(&p, user ? "app.slice" : "system.slice", strlen(user ? "app.slice" : "system.slice"));
		if (strchr(name, '@'))
			put_instance_slice(&p, base, name);
		put(&p, name, strlen(name));
	}
	if (p.overflow || p.level > KS_UNIT_LEVEL_MAX) {
		out[0] = '\0';
		return -ENAMETOOLONG;
	}
	*level = p.level;
	return 0;
}

int ks_unit_check_path(const char *path, unsigned *level)
{
	unsigned n = 0;

	if (!path || !path[0] || strlen(path) >= KS_UNIT_PATH_MAX)
		return -EINVAL;
	for (const char *c = path;; n++) {
		size_t len = strcspn(c, "/");

		if (check_n(c, len, KS_UNIT_SLICE) < 0 && check_n(c, len, KS_UNIT_SERVICE) < 0)
			return -EINVAL;
		if (!c[len])
			break;
		c += len + 1;
	}
	if (n + 1 > KS_UNIT_LEVEL_MAX)
		return -EINVAL;
	*level = n + 1;
	return 0;
}

int ks_unit_parse_control_group(const char *text, const char *name, enum ks_unit_kind kind, char *out, size_t size,
				unsigned *level)
{
	char full[KS_UNIT_NAME_MAX + 1], path[KS_UNIT_PATH_MAX];
	size_t len, name_len;

	if (!text || !name)
		return -EINVAL;
	len = strcspn(text, "\n");
	/* One line at most, nothing after it. */
	if (text[len] && text[len + 1])
		return -EINVAL;
	if (len == 0)
		return -ENOENT;
	if (text[0] != '/' || len - 1 >= sizeof(path))
		return -EINVAL;
	memcpy(path, text + 1, len - 1);
	path[len - 1] = '\0';
	if (kind == KS_UNIT_SERVICE && !strchr(name, '.') && strlen(name) + strlen(".service") <= KS_UNIT_NAME_MAX) {
		snprintf(full, sizeof(full), "%s.service", name);
		name = full;
	}
	if (ks_unit_check(name, kind) < 0 || ks_unit_check_path(path, level) < 0)
		return -EINVAL;
	/* The unit's own cgroup: its last component is the unit. */
	name_len = strlen(name);
	len = strlen(path);
	if (len < name_len || strcmp(path + len - name_len, name) || (len > name_len && path[len - name_len - 1] != '/'))
		return -EINVAL;
	if (snprintf(out, size, "%s", path) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

bool ks_unit_path_is_users(const char *path, uid_t uid)
{
	char prefix[64];
	int n = snprintf(prefix, sizeof(prefix), "user.slice/user-%lu.slice/", (unsigned long)uid);

	return path && !strncmp(path, prefix, (size_t)n) && path[n];
}

bool ks_units_has(const struct ks_units *units, const char *path)
{
	for (size_t i = 0; i < units->n; i++)
		if (!strcmp(units->paths[i], path))
			return true;
	return false;
}

int ks_units_add(struct ks_units *units, const char *path)
{
	char(*grown)[KS_UNIT_PATH_MAX];

	if (ks_units_has(units, path))
		return 0;
	if (strlen(path) >= KS_UNIT_PATH_MAX)
		return -EINVAL;
	grown = realloc(units->paths, (units->n + 1) * sizeof(*units->paths));
	if (!grown)
		return -ENOMEM;
	units->paths = grown;
	snprintf(units->paths[units->n++], KS_UNIT_PATH_MAX, "%s", path);
	return 1;
}

int ks_units_del(struct ks_units *units, const char *path)
{
	for (size_t i = 0; i < units->n; i++) {
		if (strcmp(units->paths[i], path))
			continue;
		memmove(units->paths + i, units->paths + i + 1, (units->n - i - 1) * sizeof(*units->paths));
		units->n--;
		return 1;
	}
	return 0;
}

int ks_units_parse(const char *text, struct ks_units *units, unsigned *bad_line)
{
	char line[KS_UNIT_PATH_MAX];
	unsigned no = 0, level;

	*bad_line = 0;
	for (const char *c = text; c && *c;) {
		size_t len = strcspn(c, "\n");
		int ret;

		no++;
		if (len && c[0] != '#') {
			if (len >= sizeof(line)) {
				*bad_line = no;
				return -EINVAL;
			}
			memcpy(line, c, len);
			line[len] = '\0';
			if (ks_unit_check_path(line, &level) < 0) {
				*bad_line = no;
				return -EINVAL;
			}
			ret = ks_units_add(units, line);
			if (ret < 0)
				return ret;
		}
		c += len;
		if (*c)
			c++;
	}
	return 0;
}

uint32_t ks_units_levels(const struct ks_units *units)
{
	uint32_t mask = 0;
	unsigned level;

	for (size_t i = 0; i < units->n; i++)
		if (ks_unit_check_path(units->paths[i], &level) == 0)
			mask |= UINT32_C(1) << level;
	return mask;
}

int ks_units_format(const struct ks_units *units, char **out)
{
	static const char head[] = "# split-tunnel add --unit|--slice: excluded units' cgroups (v2), one a line\n";
	size_t size = sizeof(head), len;

	for (size_t i = 0; i < units->n; i++)
		size += strlen(units->paths[i]) + 1;
	*out = malloc(size);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, head, sizeof(head));
	len = sizeof(head) - 1;
	for (size_t i = 0; i < units->n; i++)
		len += (size_t)sprintf(*out + len, "%s\n", units->paths[i]);
	return 0;
}

void ks_units_free(struct ks_units *units)
{
	free(units->paths);
	units->paths = NULL;
	units->n = 0;
}

int ks_unit_hierarchy(const char *split_path, unsigned split_level, char *out, size_t size)
{
	char path[KS_UNIT_PATH_MAX];
	size_t len;

	if (!split_path || snprintf(path, sizeof(path), "%s", split_path) >= (int)sizeof(path) || split_level < 1)
		return -EINVAL;
	for (unsigned i = 0; i < split_level; i++) {
		char *slash = strrchr(path, '/');

		if (slash)
			*slash = '\0';
		else if (i + 1 == split_level)
			path[0] = '\0';
		else
			return -EINVAL;
	}
	len = strlen(path);
	if (snprintf(out, size, "/sys/fs/cgroup%s%s", len ? "/" : "", path) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}
