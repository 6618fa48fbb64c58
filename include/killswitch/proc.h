/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_PROC_H
#define KILLSWITCH_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * What split tunnelling reads about a process from /proc (src/proc/proc.c):
 * pure parsers of the file texts, which unit tests feed, and one reader.
 */

/* Real, effective, saved and file-system IDs, as the Uid: and Gid: lines of /proc/PID/status give them. */
struct ks_proc_ids {
	uid_t uid[4];
	gid_t gid[4];
};

/* Pure: parses /proc/PID/status. 0 or -EINVAL. */
int ks_proc_parse_ids(const char *status, struct ks_proc_ids *out);

/*
 * Pure: parses /proc/PID/stat: the parent and the start time (clock ticks
 * after boot), which with the PID names a process for good. comm may hold
 * spaces and parentheses. 0 or -EINVAL.
 */
int ks_proc_parse_stat(const char *stat, pid_t *ppid, uint64_t *starttime);

/* Reads /proc/PID/FILE (pid 0: /proc/self) into buf, NUL-terminated. 0 or a negative errno (-ESRCH for no such process). */
int ks_proc_read(pid_t pid, const char *file, char *buf, size_t size);

/*
 * Opens /proc/PID as a directory, checking after the open that pidfd's
 * process is still alive: then the directory is that process's for as long
 * as it is open (its files read as ESRCH once it exits), whoever gets the
 * PID next. A directory fd, or -ESRCH.
 */
int ks_proc_open(pid_t pid, int pidfd);

/* Reads FILE of the process whose /proc directory procfd is (from ks_proc_open). */
int ks_proc_read_at(int procfd, const char *file, char *buf, size_t size);

/* Pure: the Tgid: line of /proc/PID/status (a PID that is a thread's names another process). 0 or -EINVAL. */
int ks_proc_parse_tgid(const char *status, pid_t *tgid);

/*
 * Pins pid (PTRACE_SEIZE, as root): while pinned, the process cannot be
 * reaped, so its PID names nothing else even if it exits. -EBUSY when it
 * cannot be (already traced, or tracing is not allowed here), -ESRCH when
 * there is no such process. ks_proc_unpin() lets it go as it was, any
 * signal that arrived meanwhile delivered.
 */
int ks_proc_pin(pid_t pid);
void ks_proc_unpin(pid_t pid);

/* Strictly a PID: decimal, 1..INT_MAX, nothing else. 0 or -EINVAL. */
int ks_parse_pid(const char *text, pid_t *out);

#endif
