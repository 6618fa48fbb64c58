/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_UNIT_H
#define KILLSWITCH_UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "killswitch/error.h"

/*
 * Split tunnelling by systemd unit (split-tunnel add --unit|--slice): the
 * unit's own v2 cgroup is excluded, matched by its cgroup id, so no process
 * is ever moved. A unit's cgroup gets a new id each time it is made again
 * (a restart): what is stored is the unit's path in the v2 hierarchy, one a
 * line, in $KILLSWITCH_RUNDIR/split-units and, with --persist, in
 * $KILLSWITCH_CONFDIR/split-units; whoever applies the table (enable,
 * restore, watch when a listed cgroup appears) puts the ids of the ones that
 * exist into the per-level sets excluded_units_lN (schema.h).
 *
 * Nothing here is ever pasted into nft text: the sets are filled by id over
 * nfnetlink. The names are still held to systemd's own alphabet, so that a
 * path is a path: no "/", no "..", no newline, no byte outside
 * [A-Za-z0-9:_.@\-] but "\xHH" (systemd's escape, "\x2d" for a "-" that is
 * not a slice separator).
 *
 * Pure functions: unit tests feed them names (tests/split/test_unit.c).
 */

#define KS_UNIT_NAME_MAX 255 /* systemd's UNIT_NAME_MAX less its NUL */
#define KS_UNIT_PATH_MAX 1024
#define KS_UNIT_LEVEL_MAX 31 /* levels kept in a uint32_t mask, bit N for level N */
#define KS_UNITS_FILE "split-units"

enum ks_unit_kind {
	KS_UNIT_SERVICE, /* NAME.service (or NAME, completed) */
	KS_UNIT_SLICE,	 /* NAME.slice */
};

/*
 * Whether name is a unit name of that kind that systemd would accept and
 * that we resolve: NAME.service, "PREFIX@INSTANCE.service" (not a bare
 * template), "A-B.slice" (not "-.slice", no leading, trailing or double
 * "-"). 0 or -EINVAL.
 */
int ks_unit_check(const char *name, enum ks_unit_kind kind);

/*
 * The cgroup of a unit, as systemd lays them out, relative to the v2
 * hierarchy's root (no leading "/"), and its level (number of components):
 *   system: NAME.service        -> system.slice/NAME.service               (2)
 *           P@I.service         -> system.slice/system-P.slice/P@I.service (3)
 *           A-B.slice           -> A.slice/A-B.slice                       (2)
 *   user (uid's manager, user@UID.service in user.slice/user-UID.slice):
 *           NAME.service        -> user.slice/user-UID.slice/user@UID.service/app.slice/NAME.service (5)
 *           P@I.service         -> .../app.slice/app-P.slice/P@I.service   (6)
 *           A-B.slice           -> .../user@UID.service/A.slice/A-B.slice  (5)
 * name without ".service" is completed for KS_UNIT_SERVICE. -EINVAL for a
 * bad name, -ENAMETOOLONG when the path does not fit size or is deeper
 * than KS_UNIT_LEVEL_MAX.
 */
int ks_unit_cgroup(const char *name, enum ks_unit_kind kind, bool user, uid_t uid, char *out, size_t size,
		   unsigned *level);

/*
 * Whether path (as ks_unit_cgroup writes it, or read back from a units
 * file) is one: components each a valid unit name (.slice or .service),
 * depth at most KS_UNIT_LEVEL_MAX. Sets *level. 0 or -EINVAL.
 */
int ks_unit_check_path(const char *path, unsigned *level);

/*
 * What `systemctl show -p ControlGroup --value NAME` printed, where systemd
 * runs: "/system.slice/NAME.service\n" for a running unit, "" for one that
 * is not. Its cgroup, without the leading "/", in out, when it is a unit
 * path (ks_unit_check_path) ending in name itself (completed as for
 * ks_unit_cgroup). -ENOENT for an empty answer (not running: use the
 * layout), -EINVAL for anything else.
 */
int ks_unit_parse_control_group(const char *text, const char *name, enum ks_unit_kind kind, char *out, size_t size,
				unsigned *level);

/* Whether path is inside uid's own user slice (user.slice/user-UID.slice/...): theirs to exclude. */
bool ks_unit_path_is_users(const char *path, uid_t uid);

/* The paths of a units file, in file order, each once. */
struct ks_units {
	char (*paths)[KS_UNIT_PATH_MAX];
	size_t n;
};

/*
 * Appends the paths of text (one a line; "#" comments and empty lines
 * skipped) to units, each once. -EINVAL for a line that is no unit path
 * (*bad_line says which, 1-based), -ENOMEM.
 */
int ks_units_parse(const char *text, struct ks_units *units, unsigned *bad_line);
/* Adds path unless present: 1 added, 0 present, -ENOMEM. */
int ks_units_add(struct ks_units *units, const char *path);
/* Removes path: 1 removed, 0 absent. */
int ks_units_del(struct ks_units *units, const char *path);
bool ks_units_has(const struct ks_units *units, const char *path);
/* The mask of the levels in use: bit N for level N. */
uint32_t ks_units_levels(const struct ks_units *units);
/* The file's text in *out (malloc'ed): a comment line, then one path a line. */
int ks_units_format(const struct ks_units *units, char **out);
void ks_units_free(struct ks_units *units);

/*
 * I/O (src/cgroup/units.c). The units file of dir (the run or the config
 * directory): a missing one is empty. 0 or a negative errno with err.
 */
int ks_units_load(const char *dir, struct ks_units *units, char err[KS_ERR_LEN]);
/* Replaces the units file of dir (made 0755 if missing); no paths left: the file is removed. */
int ks_units_store(const char *dir, const struct ks_units *units, bool durable, char err[KS_ERR_LEN]);

/*
 * The v2 hierarchy's mount point (from split's plan: its path less its
 * last level components), as a directory under /sys/fs/cgroup, for
 * prefixing unit paths: "/sys/fs/cgroup/unified" or "/sys/fs/cgroup".
 */
int ks_unit_hierarchy(const char *split_path, unsigned split_level, char *out, size_t size);

/* The id ("socket cgroupv2" compares it) of the unit's cgroup under hierarchy; -ENOENT when it does not exist. */
int ks_unit_id(const char *hierarchy, const char *path, uint64_t *id);

#endif
