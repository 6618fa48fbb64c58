// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The I/O half of the cgroup code: reads /proc, creates the exclusion
 * cgroup (libcgroup for v1 net_cls, plain directories for v2) and moves
 * processes in and out through cgroup.procs, which moves every thread
 * (libcgroup's cgroup_attach_task_pid() writes "tasks": one thread only).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libcgroup.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "killswitch/cgroup.h"
#include "killswitch/env.h"
#include "killswitch/file.h"
#include "killswitch/parse.h"
#include "killswitch/proc.h"

#define PROC_CGROUP_MAX 16384

static int write_pid(const char *path, pid_t pid)
{
	char text[24];
	int fd, len, ret = 0;

	len = snprintf(text, sizeof(text), "%d\n", (int)pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, (size_t)len) != len)
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

int ks_cgroup_detect(struct ks_cgroup_mounts *out)
{
	char *mountinfo = NULL, *cgroups = NULL;
	struct utsname uts;
	int ret;

	ret = ks_file_read_all("/proc/self/mountinfo", &mountinfo);
	if (ret < 0)
		goto cleanup;
	/* Missing on kernels without v1 support: net_cls then counts as absent. */
	if (ks_file_read_all("/proc/cgroups", &cgroups) < 0)
		cgroups = NULL;
	ret = ks_cgroup_parse_mounts(mountinfo, cgroups, out);
	if (ret < 0)
		goto cleanup;
	out->v2_socket_match = uname(&uts) == 0 && ks_cgroup_kernel_has_socket_v2(uts.release);
	out->net_cls_harmless = out->v2_socket_match && ks_cgroup_kernel_net_cls_harmless(uts.release);
cleanup:
	free(mountinfo);
	free(cgroups);
	return ret;
}

/* choose, prepare and attach each need the layout: read it once per process, again after a mount. */
static struct ks_cgroup_mounts cached_mounts;
static bool have_cached_mounts;

static int detect(struct ks_cgroup_mounts *m, char err[KS_ERR_LEN])
{
	int ret = 0;

	if (!have_cached_mounts)
		ret = ks_cgroup_detect(&cached_mounts);
	if (ret < 0) {
		snprintf(err, KS_ERR_LEN, "cannot read the mount table (%s): '%s'", strerror(-ret), "/proc/self/mountinfo");
		return ret;
	}
	have_cached_mounts = true;
	*m = cached_mounts;
	return 0;
}

/*
 * The group named name (from the environment variable var) planned on this
 * host's mounts. Off when split tunnelling is; errors from reading the mounts
 * and a bad name are worded here, and *unusable is set when neither
 * mechanism fits, for the caller to say why.
 */
static int choose_group(const char *name, const char *var, struct ks_split *split, struct ks_cgroup_mounts *m,
			bool *unusable, char err[KS_ERR_LEN])
{
	char escaped[KS_ERR_LEN / 2];
	int ret;

	*unusable = false;
	split->mode = KS_SPLIT_OFF;
	if (ks_env()->split_off)
		return 0;
	ret = detect(m, err);
	if (ret < 0)
		return ret;
	ret = ks_cgroup_plan(m, ks_env()->want, name, split);
	if (ret == -EINVAL)
		snprintf(err, KS_ERR_LEN, "invalid %s (components of A-Z a-z 0-9 _ . -): '%s'", var,
			 ks_escape(name, escaped, sizeof(escaped)));
	*unusable = ret < 0 && ret != -EINVAL;
	if (ret < 0)
		split->mode = KS_SPLIT_OFF;
	return ret;
}

int ks_cgroup_choose(struct ks_split *split, char err[KS_ERR_LEN])
{
	enum ks_split_mode want = ks_env()->want;
	struct ks_cgroup_mounts m;
	char escaped[KS_ERR_LEN / 2];
	bool unusable;
	int ret = choose_group(ks_env()->cgroup_name, "KILLSWITCH_CGROUP_NAME", split, &m, &unusable, err);

	if (unusable && want == KS_SPLIT_V2)
		snprintf(err, KS_ERR_LEN, "no cgroup v2 nftables can match (mounted under %s, kernel 5.13+): '%s'",
			 KS_CGROUP_ROOT, *m.v2_mount ? ks_escape(m.v2_mount, escaped, sizeof(escaped)) : "none");
	else if (unusable && want == KS_SPLIT_V1)
		snprintf(err, KS_ERR_LEN, "no net_cls cgroup controller usable here (cgroup layout): '%s'",
			 ks_cgroup_layout_name(m.layout));
	else if (unusable)
		snprintf(err, KS_ERR_LEN, "neither cgroup v2 nor net_cls is usable here (cgroup layout): '%s'",
			 ks_cgroup_layout_name(m.layout));
	return ret;
}

/* The inclusion group (--include-only): planned as the exclusion group, under its own name and classid. */
int ks_cgroup_choose_include(struct ks_split *split, char err[KS_ERR_LEN])
{
	struct ks_cgroup_mounts m;
	bool unusable;
	int ret = choose_group(ks_env()->include_name, "KILLSWITCH_INCLUDE_CGROUP_NAME", split, &m, &unusable, err);

	if (unusable)
		snprintf(err, KS_ERR_LEN, "no cgroup mechanism for the inclusion group here (cgroup layout): '%s'",
			 ks_cgroup_layout_name(m.layout));
	return ret;
}

static int mount_net_cls(const struct ks_cgroup_mounts *m, char err[KS_ERR_LEN])
{
	char dir[KS_CGROUP_MOUNT_MAX];
	const unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;

	/* On a v2-only host /sys/fs/cgroup is cgroup2 itself: a directory made there would be a v2 cgroup. */
	if (!strcmp(m->v2_mount, KS_CGROUP_ROOT)) {
		if (mkdir(ks_env()->rundir, 0700) < 0 && errno != EEXIST)
			return ks_sys_error(err, "create the run directory", ks_env()->rundir, -errno);
		if ((size_t)snprintf(dir, sizeof(dir), "%s/net_cls", ks_env()->rundir) >= sizeof(dir))
			return ks_sys_error(err, "mount net_cls", ks_env()->rundir, -ENAMETOOLONG);
	} else {
		snprintf(dir, sizeof(dir), "%s/net_cls", KS_CGROUP_ROOT);
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return ks_sys_error(err, "create the net_cls mount point", dir, -errno);
	/* A hierarchy that also holds net_prio (as systemd mounted it) can only be mounted whole. */
	have_cached_mounts = false;
	if (mount("net_cls", dir, "cgroup", flags, "net_cls") < 0 &&
	    (errno != EBUSY || mount("net_cls", dir, "cgroup", flags, "net_cls,net_prio") < 0))
		return ks_sys_error(err, "mount the net_cls controller", dir, -errno);
	return 0;
}

/* Makes each directory of group ("/a/b") below hierarchy. */
/* Makes the group and the directories above it; *created when the group itself is new. */
static int make_group(const struct ks_cgroup_where *w, bool *created, char err[KS_ERR_LEN])
{
	char path[KS_CGROUP_MOUNT_MAX + KS_CGROUP_PATH_MAX + 2];
	size_t len = (size_t)snprintf(path, sizeof(path), "%s", w->hierarchy);

	for (const char *p = w->group; *p;) {
		size_t part = 1 + strcspn(p + 1, "/");

		memcpy(path + len, p, part);
		len += part;
		path[len] = '\0';
		p += part;
		if (mkdir(path, 0755) < 0) {
			if (errno != EEXIST)
				return ks_sys_error(err, "create the exclusion cgroup", path, -errno);
		} else if (!*p) {
			*created = true;
		}
	}
	return 0;
}

static int v1_create(const struct ks_split *split, const struct ks_cgroup_where *w, char err[KS_ERR_LEN])
{
	struct cgroup *cg = NULL;
	struct cgroup_controller *ctl;
	char path[KS_CGROUP_MOUNT_MAX + KS_CGROUP_PATH_MAX + 32], *text = NULL, *mount = NULL;
	int r, ret;

	/* libcgroup creates the group where it sees net_cls; we read the classid back from where we do. */
	r = cgroup_init();
	if (r == 0)
		r = cgroup_get_subsys_mount_point("net_cls", &mount);
	if (r) {
		ret = -ENOENT;
		snprintf(err, KS_ERR_LEN, "libcgroup does not find net_cls mounted (%s): '%s'", cgroup_strerror(r),
			 w->hierarchy);
		goto cleanup;
	}
	cg = cgroup_new_cgroup(split->path);
	ctl = cg ? cgroup_add_controller(cg, "net_cls") : NULL;
	if (!ctl || cgroup_add_value_uint64(ctl, "net_cls.classid", split->classid)) {
		ret = ks_sys_error(err, "describe the net_cls cgroup", split->path, -ENOMEM);
		goto cleanup;
	}
	/* ignore_ownership: else libcgroup gives the group to getuid(), the user of a setuid caller. */
	r = cgroup_create_cgroup(cg, 1);
	if (r) {
		ret = -EIO;
		snprintf(err, KS_ERR_LEN, "libcgroup cannot create the net_cls cgroup (%s): '%s'", cgroup_strerror(r),
			 split->path);
		goto cleanup;
	}
	snprintf(path, sizeof(path), "%s%s/net_cls.classid", w->hierarchy, w->group);
	ret = ks_file_read_all(path, &text);
	if (ret < 0) {
		ks_sys_error(err, "read the classid", path, ret);
		goto cleanup;
	}
	if (strtoull(text, NULL, 10) != split->classid) {
		ret = ks_sys_error(err, "set the classid", path, -EIO);
		goto cleanup;
	}
	ret = 0;
cleanup:
	free(mount);
	free(text);
	cgroup_free(&cg);
	return ret;
}

/* The group exists with our classid: nothing for libcgroup to do (it costs a millisecond per exec). */
static bool v1_ready(const struct ks_split *split, const struct ks_cgroup_where *w)
{
	char path[KS_CGROUP_MOUNT_MAX + KS_CGROUP_PATH_MAX + 32], *text = NULL;
	bool ready;

	snprintf(path, sizeof(path), "%s%s/net_cls.classid", w->hierarchy, w->group);
	ready = ks_file_read_all(path, &text) == 0 && strtoull(text, NULL, 10) == split->classid;
	free(text);
	return ready;
}

/* Detects the layout and locates split's group; err says why not. */
static int where_is(const struct ks_split *split, struct ks_cgroup_mounts *m, struct ks_cgroup_where *w,
		    char err[KS_ERR_LEN])
{
	int ret;

	if (split->mode == KS_SPLIT_OFF) {
		snprintf(err, KS_ERR_LEN, "split tunnelling is off: '%s'", "KILLSWITCH_SPLIT_TUNNEL=off");
		return -EOPNOTSUPP;
	}
	ret = detect(m, err);
	if (ret < 0)
		return ret;
	ret = ks_cgroup_locate(split, m, w);
	if (ret == -ENOENT)
		snprintf(err, KS_ERR_LEN, "the %s hierarchy of the exclusion cgroup is not mounted: '%s'",
			 split->mode == KS_SPLIT_V1 ? "net_cls" : "cgroup2", split->path);
	else if (ret < 0)
		snprintf(err, KS_ERR_LEN, "invalid exclusion cgroup: '%s'", split->path);
	return ret;
}

int ks_cgroup_prepare(const struct ks_split *split, bool *created, char err[KS_ERR_LEN])
{
	bool made = false;
	struct ks_cgroup_mounts m;
	struct ks_cgroup_where w;
	struct statfs fs;
	char dir[sizeof(w.hierarchy) + sizeof(w.group)];
	int ret;

	if (split->mode == KS_SPLIT_OFF)
		return 0;
	ret = detect(&m, err);
	if (ret < 0)
		return ret;
	if (split->mode == KS_SPLIT_V1 && !*m.net_cls_mount) {
		ret = mount_net_cls(&m, err);
		if (ret < 0)
			return ret;
	}
	ret = where_is(split, &m, &w, err);
	if (ret < 0)
		return ret;
	if (split->mode == KS_SPLIT_V1) {
		if (v1_ready(split, &w))
			return 0;
		ret = v1_create(split, &w, err);
		if (ret == 0 && created)
			*created = true;
		return ret;
	}
	ret = make_group(&w, &made, err);
	if (created)
		*created = made;
	if (ret < 0)
		return ret;
	snprintf(dir, sizeof(dir), "%s%s", w.hierarchy, w.group);
	if (statfs(dir, &fs) < 0)
		return ks_sys_error(err, "check the exclusion cgroup", dir, -errno);
	if (fs.f_type != CGROUP2_SUPER_MAGIC)
		return ks_sys_error(err, "use the exclusion cgroup (not cgroup2)", dir, -ENOTDIR);
	return 0;
}

int ks_cgroup_remove(const struct ks_split *split, char err[KS_ERR_LEN])
{
	struct ks_cgroup_mounts m;
	struct ks_cgroup_where w;
	char dir[sizeof(w.hierarchy) + sizeof(w.group)];
	int ret;

	if (split->mode == KS_SPLIT_OFF)
		return 0;
	ret = where_is(split, &m, &w, err);
	if (ret == -ENOENT)
		return 0; /* its hierarchy is not mounted: no group either */
	if (ret < 0)
		return ret;
	snprintf(dir, sizeof(dir), "%s%s", w.hierarchy, w.group);
	if (rmdir(dir) < 0 && errno != ENOENT)
		return ks_sys_error(err, "remove the exclusion cgroup", dir, -errno);
	return 0;
}

/* ---- where processes came from: $KILLSWITCH_RUNDIR/split-v1|v2/PID = "STARTTIME /origin" ---- */

static int records_dir(enum ks_split_mode mode, char *out, size_t size)
{
	if ((size_t)snprintf(out, size, "%s/split-%s", ks_env()->rundir, mode == KS_SPLIT_V1 ? "v1" : "v2") >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* FILE of pid: through its /proc directory when procfd >= 0 (pinned), else by number. */
static int proc_read(pid_t pid, int procfd, const char *file, char *buf, size_t size)
{
	return procfd >= 0 ? ks_proc_read_at(procfd, file, buf, size) : ks_proc_read(pid, file, buf, size);
}

static int proc_starttime(pid_t pid, int procfd, pid_t *ppid, uint64_t *start)
{
	char stat[2048];
	int ret = proc_read(pid, procfd, "stat", stat, sizeof(stat));

	return ret < 0 ? ret : ks_proc_parse_stat(stat, ppid, start);
}

static int proc_group(pid_t pid, int procfd, enum ks_split_mode mode, char *out, size_t size)
{
	char *text = malloc(PROC_CGROUP_MAX);
	int ret;

	if (!text)
		return -ENOMEM;
	ret = proc_read(pid, procfd, "cgroup", text, PROC_CGROUP_MAX);
	if (ret == 0)
		ret = ks_cgroup_parse_proc(text, mode, out, size);
	free(text);
	return ret;
}

int ks_cgroup_of(int procfd, char *out, size_t size)
{
	return proc_group(0, procfd, KS_SPLIT_V2, out, size);
}

int ks_cgroup_id(const struct ks_split *split, uint64_t *id, char err[KS_ERR_LEN])
{
	struct ks_cgroup_mounts m;
	struct ks_cgroup_where w;
	char dir[sizeof(w.hierarchy) + sizeof(w.group)];
	struct stat st;
	int ret;

	ret = where_is(split, &m, &w, err);
	if (ret < 0)
		return ret;
	snprintf(dir, sizeof(dir), "%s%s", w.hierarchy, w.group);
	if (stat(dir, &st) < 0)
		return ks_sys_error(err, "find the exclusion cgroup", dir, -errno);
	*id = (uint64_t)st.st_ino;
	return 0;
}

/* Only "/" followed by ordinary components: the origin is pasted into a path we write to as root. */
static bool origin_ok(const char *origin)
{
	if (origin[0] != '/' || strchr(origin, '\n'))
		return false;
	for (const char *p = origin; p; p = strchr(p + 1, '/')) {
		size_t len = strcspn(p + 1, "/");

		if ((len == 1 && p[1] == '.') || (len == 2 && p[1] == '.' && p[2] == '.') || (len == 0 && p[1]))
			return false;
	}
	return true;
}

/* The record of pid itself, if it is about this very process (same start time). */
static int read_record(const char *dir, pid_t pid, uint64_t start, char *origin, size_t size)
{
	char path[PATH_MAX], *text = NULL, *end;
	unsigned long long recorded;
	int ret;

	snprintf(path, sizeof(path), "%s/%d", dir, (int)pid);
	ret = ks_file_read_all(path, &text);
	if (ret < 0)
		return ret;
	ret = -ESTALE;
	errno = 0;
	recorded = strtoull(text, &end, 10);
	if (errno || *end != ' ' || recorded != start)
		goto cleanup;
	end[1 + strcspn(end + 1, "\n")] = '\0';
	if (!origin_ok(end + 1) || strlen(end + 1) >= size)
		goto cleanup;
	memcpy(origin, end + 1, strlen(end + 1) + 1);
	ret = 0;
cleanup:
	free(text);
	return ret;
}

/* The writer of a temporary record ".PID.WRITER.tmp", or -1 when the name is not one. */
static pid_t tmp_writer(const char *name)
{
	char copy[64], *dot;
	size_t len = strlen(name);
	pid_t pid, writer;

	if (name[0] != '.' || len < 6 || len >= sizeof(copy) || strcmp(name + len - 4, ".tmp"))
		return -1;
	memcpy(copy, name + 1, len - 5);
	copy[len - 5] = '\0';
	dot = strchr(copy, '.');
	if (!dot)
		return -1;
	*dot = '\0';
	if (ks_parse_pid(copy, &pid) < 0 || ks_parse_pid(dot + 1, &writer) < 0)
		return -1;
	return writer;
}

/*
 * Drops the records of processes that are gone (or whose PID was reused),
 * and temporary records whose writer is gone (killed between the open and
 * the rename, by an older version that a user could still signal).
 */
static void prune_records(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char origin[KS_CGROUP_PATH_MAX * 4];
		uint64_t start;
		pid_t pid, ppid, writer = tmp_writer(e->d_name);
		int ret;

		if (writer > 0) {
			if (writer != getpid() && kill(writer, 0) < 0 && errno == ESRCH)
				unlinkat(dirfd(d), e->d_name, 0);
			continue;
		}
		if (ks_parse_pid(e->d_name, &pid) < 0)
			continue;
		/* Only a process known to be gone: a failure of ours (out of descriptors) proves nothing. */
		ret = proc_starttime(pid, -1, &ppid, &start);
		if (ret == -ESRCH || (ret == 0 && read_record(dir, pid, start, origin, sizeof(origin)) == -ESTALE))
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

/*
 * A directory of ours, root's alone: made if missing, and given back to
 * root:root if an older split-tunnel made it with its caller's group.
 */
static int own_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (geteuid() == 0 && (st.st_uid != 0 || st.st_gid != 0) && chown(dir, 0, 0) < 0)
		return -errno;
	return 0;
}

static void write_record(enum ks_split_mode mode, pid_t pid, uint64_t start, const char *origin)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], tmp[PATH_MAX + 48], line[KS_CGROUP_PATH_MAX * 4 + 32];
	int len;

	if (records_dir(mode, dir, sizeof(dir)) < 0 || own_dir(ks_env()->rundir) < 0 || own_dir(dir) < 0)
		return;
	prune_records(dir);
	snprintf(path, sizeof(path), "%s/%d", dir, (int)pid);
	snprintf(tmp, sizeof(tmp), "%s/.%d.%d.tmp", dir, (int)pid, (int)getpid());
	len = snprintf(line, sizeof(line), "%llu %s\n", (unsigned long long)start, origin);
	if (len > 0 && (size_t)len < sizeof(line))
		ks_file_replace(path, tmp, line, (size_t)len, false);
}

/*
 * Where pid goes back to: its own record, else the record of the nearest
 * ancestor that is excluded too (a child of an excluded program came from
 * where its parent came from).
 */
static int find_origin(const struct ks_split *split, const struct ks_cgroup_where *w, pid_t pid, int procfd,
		       char *origin, size_t size)
{
	char dir[PATH_MAX], group[KS_CGROUP_PATH_MAX * 4];

	if (records_dir(split->mode, dir, sizeof(dir)) < 0)
		return -ENAMETOOLONG;
	for (int hops = 0; hops < 64 && pid > 0; hops++) {
		uint64_t start;
		pid_t ppid;

		if (proc_starttime(pid, hops ? -1 : procfd, &ppid, &start) < 0)
			break;
		if (hops && (proc_group(pid, -1, split->mode, group, sizeof(group)) < 0 || !ks_cgroup_is_inside(group, w)))
			break;
		if (read_record(dir, pid, start, origin, size) == 0 && !ks_cgroup_is_inside(origin, w))
			return 0;
		pid = ppid;
	}
	return -ENOENT;
}

static void no_such_process(char err[KS_ERR_LEN], pid_t pid)
{
	snprintf(err, KS_ERR_LEN, "no such process: '%d'", (int)pid);
}

int ks_cgroup_attach(const struct ks_split *split, pid_t pid, int procfd, char err[KS_ERR_LEN])
{
	struct ks_cgroup_mounts m;
	struct ks_cgroup_where w;
	char procs[sizeof(w.hierarchy) + sizeof(w.group) + 16], origin[KS_CGROUP_PATH_MAX * 4];
	uint64_t start;
	pid_t ppid;
	bool record;
	int ret;

	ret = where_is(split, &m, &w, err);
	if (ret < 0)
		return ret;
	/* Read before the move, written after it: the record is where the process was. */
	record = proc_starttime(pid, procfd, &ppid, &start) == 0 &&
		 proc_group(pid, procfd, split->mode, origin, sizeof(origin)) == 0 && !ks_cgroup_is_inside(origin, &w) &&
		 origin_ok(origin);
	snprintf(procs, sizeof(procs), "%s%s/cgroup.procs", w.hierarchy, w.group);
	ret = write_pid(procs, pid);
	if (ret == -ESRCH)
		no_such_process(err, pid);
	else if (ret < 0)
		ks_sys_error(err, "move the process into the exclusion cgroup", procs, ret);
	if (ret < 0)
		return ret;
	if (record)
		write_record(split->mode, pid, start, origin);
	return 0;
}

int ks_cgroup_detach(const struct ks_split *split, pid_t pid, int procfd, char err[KS_ERR_LEN])
{
	struct ks_cgroup_mounts m;
	struct ks_cgroup_where w;
	char group[KS_CGROUP_PATH_MAX * 4], origin[KS_CGROUP_PATH_MAX * 4], dir[PATH_MAX];
	char procs[sizeof(w.hierarchy) + sizeof(origin) + 16], escaped[KS_ERR_LEN / 2];
	int ret;

	ret = where_is(split, &m, &w, err);
	if (ret < 0)
		return ret;
	ret = proc_group(pid, procfd, split->mode, group, sizeof(group));
	if (ret == -ESRCH) {
		no_such_process(err, pid);
		return ret;
	}
	if (ret < 0 || !ks_cgroup_is_inside(group, &w)) {
		snprintf(err, KS_ERR_LEN, "the process is not excluded: '%d'", (int)pid);
		return -ENOENT;
	}
	/* Never the hierarchy's root instead: that would take the process out of its slice for good. */
	if (find_origin(split, &w, pid, procfd, origin, sizeof(origin)) < 0) {
		snprintf(err, KS_ERR_LEN, "no record of where the process came from; it stays excluded: '%d'", (int)pid);
		return -ENOENT;
	}
	snprintf(procs, sizeof(procs), "%s%s/cgroup.procs", w.hierarchy, strcmp(origin, "/") ? origin : "");
	ret = write_pid(procs, pid);
	if (ret == -ESRCH) {
		no_such_process(err, pid);
		return ret;
	}
	/* Gone, or an inner v2 node that cannot hold processes now. */
	if (ret < 0) {
		snprintf(err, KS_ERR_LEN, "cannot move the process back (%s); it stays excluded: '%s'", strerror(-ret),
			 ks_escape(procs, escaped, sizeof(escaped)));
		return -ENOENT;
	}
	if (records_dir(split->mode, dir, sizeof(dir)) == 0) {
		char path[PATH_MAX + 16];

		snprintf(path, sizeof(path), "%s/%d", dir, (int)pid);
		unlink(path);
	}
	return 0;
}

static int cmp_cgroup_path(const void *a, const void *b)
{
	return strcmp(((const struct ks_cgroup_path *)a)->path, ((const struct ks_cgroup_path *)b)->path);
}

int ks_cgroup_find_user_groups(const struct ks_split *split, struct ks_policy *policy)
{
	struct ks_cgroup_mounts m;
	char dir[KS_CGROUP_MOUNT_MAX + 16], err[KS_ERR_LEN];
	struct dirent *e;
	DIR *d = NULL;
	int ret = 0;

	if (split->mode != KS_SPLIT_V2 || detect(&m, err) < 0 || !*m.v2_mount)
		return 0;
	snprintf(dir, sizeof(dir), "%s/user.slice", m.v2_mount);
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		char domain[64 + sizeof(e->d_name)], path[sizeof(KS_CGROUP_ROOT) + KS_CGROUP_PATH_MAX + 1];
		struct ks_split user = *split;
		unsigned long uid;
		char *end;
		struct stat st;

		if (strncmp(e->d_name, "user-", 5) || e->d_name[5] < '0' || e->d_name[5] > '9')
			continue;
		uid = strtoul(e->d_name + 5, &end, 10);
		if (strcmp(end, ".slice") || uid > UINT32_MAX)
			continue;
		snprintf(domain, sizeof(domain), "/user.slice/%s", e->d_name);
		if (ks_cgroup_plan_in(&user, domain) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", KS_CGROUP_ROOT, user.path);
		if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		ret = ks_policy_add_user_group(policy, user.path);
		if (ret < 0)
			break;
	}
	if (d)
		closedir(d);
	if (policy->n_user_groups > 1)
		qsort(policy->user_groups, policy->n_user_groups, sizeof(*policy->user_groups), cmp_cgroup_path);
	return ret;
}

int ks_cgroup_enter(const struct ks_split *split, char err[KS_ERR_LEN])
{
	struct ks_cgroup_mounts m;
	struct ks_cgroup_where w;
	char procs[sizeof(w.hierarchy) + sizeof(w.group) + 16], group[PATH_MAX];
	int ret;

	ret = where_is(split, &m, &w, err);
	if (ret < 0)
		return ret;
	snprintf(procs, sizeof(procs), "%s%s/cgroup.procs", w.hierarchy, w.group);
	ret = write_pid(procs, getpid());
	if (ret == 0)
		ret = proc_group(0, -1, split->mode, group, sizeof(group));
	if (ret == 0 && !ks_cgroup_is_inside(group, &w))
		ret = -EPERM;
	if (ret < 0)
		ks_sys_error(err, "shelter in the exclusion cgroup", procs, ret);
	return ret;
}

void ks_cgroup_undo(const struct ks_split *split, pid_t pid)
{
	struct ks_cgroup_mounts m;
	struct ks_cgroup_where w;
	char group[KS_CGROUP_PATH_MAX * 4], parent[KS_CGROUP_PATH_MAX * 4], err[KS_ERR_LEN];
	char procs[sizeof(w.hierarchy) + sizeof(parent) + 16];
	uint64_t start;
	pid_t ppid;

	if (where_is(split, &m, &w, err) < 0 || proc_group(pid, -1, split->mode, group, sizeof(group)) < 0 ||
	    !ks_cgroup_is_inside(group, &w) || proc_starttime(pid, -1, &ppid, &start) < 0 ||
	    proc_group(ppid, -1, split->mode, parent, sizeof(parent)) < 0 || ks_cgroup_is_inside(parent, &w) ||
	    !origin_ok(parent))
		return;
	snprintf(procs, sizeof(procs), "%s%s/cgroup.procs", w.hierarchy, strcmp(parent, "/") ? parent : "");
	write_pid(procs, pid);
}

struct pid_list {
	pid_t *pids;
	size_t n, cap;
};

static int collect(const char *dir, struct pid_list *list, int depth)
{
	char path[PATH_MAX], *text = NULL, *line, saved = '\0';
	struct dirent *e;
	size_t len = 0;
	DIR *d = NULL;
	int ret;

	if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= sizeof(path))
		return -ENAMETOOLONG;
	ret = ks_file_read_all(path, &text);
	if (ret < 0)
		goto cleanup;
	for (line = text; *line; line += len + (saved ? 1 : 0)) {
		pid_t pid;

		len = strcspn(line, "\n");
		saved = line[len];
		line[len] = '\0';
		if (ks_parse_pid(line, &pid) < 0)
			continue;
		if (list->n == list->cap) {
			size_t cap = list->cap ? list->cap * 2 : 64;
			pid_t *grown = realloc(list->pids, cap * sizeof(*grown));

			if (!grown) {
				ret = -ENOMEM;
				goto cleanup;
			}
			list->pids = grown;
			list->cap = cap;
		}
		list->pids[list->n++] = pid;
	}
	d = depth < 32 ? opendir(dir) : NULL;
	while (d && (e = readdir(d))) {
		char sub[PATH_MAX];

		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name) >= sizeof(sub))
			continue;
		ret = collect(sub, list, depth + 1);
		/* A child cgroup removed while we walk is not an error. */
		if (ret < 0 && ret != -ENOENT)
			goto cleanup;
	}
	ret = 0;
cleanup:
	if (d)
		closedir(d);
	free(text);
	return ret;
}

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

int ks_cgroup_list(const struct ks_split *split, pid_t **pids, size_t *n, char err[KS_ERR_LEN])
{
	struct pid_list list = { 0 };
	struct ks_cgroup_mounts m;
	struct ks_cgroup_where w;
	char dir[sizeof(w.hierarchy) + sizeof(w.group)];
	size_t out = 0;
	int ret;

	*pids = NULL;
	*n = 0;
	ret = where_is(split, &m, &w, err);
	if (ret < 0)
		return ret;
	snprintf(dir, sizeof(dir), "%s%s", w.hierarchy, w.group);
	ret = collect(dir, &list, 0);
	/* No group yet: nothing is excluded. */
	if (ret == -ENOENT)
		ret = 0;
	if (ret < 0) {
		ks_sys_error(err, "list the exclusion cgroup", dir, ret);
		free(list.pids);
		return ret;
	}
	if (list.n)
		qsort(list.pids, list.n, sizeof(*list.pids), pid_cmp);
	for (size_t i = 0; i < list.n; i++)
		if (!out || list.pids[out - 1] != list.pids[i])
			list.pids[out++] = list.pids[i];
	*pids = list.pids;
	*n = out;
	return 0;
}
