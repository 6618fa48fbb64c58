// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * watch, for excluded units (split-tunnel add --unit): a unit's cgroup is
 * made again, with a new id, each time the unit starts, and the table's
 * set holds the old one. inotify on the cgroup directories above each
 * listed unit (and on the lists themselves) tells watch when to apply the
 * table again, which puts the current ids in (cli_apply_locked). Between
 * the cgroup's creation and that, the unit's packets go through the tunnel:
 * measured in tests/split/units.sh, milliseconds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cli.h"
#include "killswitch/buf.h"
#include "killswitch/cgroup.h"
#include "killswitch/env.h"
#include "killswitch/file.h"
#include "units.h"
#include "watch_units.h"

#define DIR_EVENTS (IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_ONLYDIR)

/* What the table's unit sets depend on: both lists, and the id of each listed unit's cgroup (0: none). */
static char *fingerprint(const struct watch_units *wu, const struct ks_units *units)
{
	struct ks_buf buf = KS_BUF_INIT;
	const char *dirs[] = { ks_env()->rundir, ks_env()->confdir };

	for (size_t i = 0; i < 2; i++) {
		char path[4096], *text = NULL;

		snprintf(path, sizeof(path), "%s/%s", dirs[i], KS_UNITS_FILE);
		if (ks_file_read_all(path, &text) == 0)
			ks_buf_puts(&buf, text);
		free(text);
		ks_buf_puts(&buf, "\n--\n");
	}
	for (size_t i = 0; i < units->n; i++) {
		uint64_t id = 0;

		if (ks_unit_id(wu->hierarchy, units->paths[i], &id) < 0)
			id = 0;
		ks_buf_printf(&buf, "%llu\n", (unsigned long long)id);
	}
	if (buf.err) {
		ks_buf_free(&buf);
		return NULL;
	}
	return ks_buf_steal(&buf);
}

/* The lists' directories, and every existing directory from the hierarchy down to each unit's parent. */
static void arm(struct watch_units *wu, const struct ks_units *units)
{
	inotify_add_watch(wu->fd, ks_env()->rundir, DIR_EVENTS);
	inotify_add_watch(wu->fd, ks_env()->confdir, DIR_EVENTS);
	for (size_t i = 0; i < units->n; i++) {
		char dir[sizeof(wu->hierarchy) + KS_UNIT_PATH_MAX + 1];
		size_t len = (size_t)snprintf(dir, sizeof(dir), "%s/", wu->hierarchy);

		inotify_add_watch(wu->fd, wu->hierarchy, DIR_EVENTS);
		for (const char *c = units->paths[i]; (c = strchr(c, '/')); c++) {
			size_t n = (size_t)(c - units->paths[i]);

			memcpy(dir + len, units->paths[i], n);
			dir[len + n] = '\0';
			if (inotify_add_watch(wu->fd, dir, DIR_EVENTS) < 0)
				break;
		}
	}
}

/* A fresh inotify instance, armed, then the fingerprint: what changed while arming is in it. */
static int rearm(struct watch_units *wu, char **print)
{
	struct ks_units units = { 0 };
	char err[KS_ERR_LEN] = "";

	if (wu->fd >= 0)
		close(wu->fd);
	wu->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (wu->fd < 0)
		return -errno;
	/* A list that does not parse: apply says so; watch follows the directories still. */
	cli_units_load_all(&units, err);
	arm(wu, &units);
	*print = fingerprint(wu, &units);
	ks_units_free(&units);
	return *print ? 0 : -ENOMEM;
}

int watch_units_open(struct watch_units *wu)
{
	struct ks_split split = { .ct_mark = KS_DEFAULT_CT_MARK, .classid = KS_DEFAULT_CLASSID };
	char err[KS_ERR_LEN] = "";

	*wu = (struct watch_units){ .fd = -1 };
	/* No v2 split tunnelling here: nothing to follow (enable warns about it already). */
	if (ks_cgroup_choose(&split, err) < 0 || split.mode != KS_SPLIT_V2 ||
	    ks_unit_hierarchy(split.path, split.level, wu->hierarchy, sizeof(wu->hierarchy)) < 0)
		return 0;
	return rearm(wu, &wu->print);
}

bool watch_units_changed(struct watch_units *wu)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	char *print = NULL;
	bool changed;

	/* Drained, and re-armed whole: a directory may have appeared (a user's slice at login) or gone. */
	while (read(wu->fd, buf, sizeof(buf)) > 0)
		;
	if (rearm(wu, &print) < 0) {
		free(print);
		return true;
	}
	changed = !wu->print || strcmp(print, wu->print);
	free(wu->print);
	wu->print = print;
	return changed;
}

void watch_units_close(struct watch_units *wu)
{
	if (wu->fd >= 0)
		close(wu->fd);
	free(wu->print);
	*wu = (struct watch_units){ .fd = -1 };
}
