/* SPDX-License-Identifier: MIT */
/*
 * safeopen.h - opening, as root, a file whose path another process
 * controls (a path from /proc/PID/maps, a guest ELF under /proc/PID/root).
 * The owner of that path can put a FIFO there (a plain open blocks until a
 * writer comes: forever) or a symlink (root would read a file of its
 * choice).  A mapped file is best reached through /proc/PID/map_files,
 * which is the very inode mapped, whatever was renamed over its path since.
 */
#ifndef LOCKSTEP_SAFEOPEN_H
#define LOCKSTEP_SAFEOPEN_H

#include <stdint.h>
#include <sys/types.h>

/*
 * Open path read-only without following a final symlink and without
 * blocking, and keep it only if it is a regular file.  The fd, or -errno:
 * -ELOOP for a symlink, -EINVAL for anything that is not a regular file.
 */
int ls_open_regular(const char *path);

/*
 * The same for path under a target's root_prefix ("/proc/PID/root"),
 * following no symlink in any component (maps paths have none: the kernel
 * prints them resolved), so a directory the target's owner swapped for a
 * link cannot lead root elsewhere: -ELOOP.  With root_prefix "" (our own
 * view), ls_open_regular.
 */
int ls_open_regular_in(const char *root_prefix, const char *path);

/*
 * The file pid maps at [start, end), read-only: /proc/PID/map_files first,
 * else path under root_prefix through ls_open_regular_in.  The fd, or
 * -errno of the path's open.
 */
int ls_open_mapped(pid_t pid, uint64_t start, uint64_t end, const char *root_prefix, const char *path);

/* "/proc/PID/map_files/START-END" into buf. */
void ls_map_files_path(char *buf, size_t len, pid_t pid, uint64_t start, uint64_t end);

#endif
