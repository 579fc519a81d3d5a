/* SPDX-License-Identifier: MIT */
/* safeopen.c - opening files a target names, as root (see safeopen.h). */
#include "safeopen.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Keep fd only if it is a regular file: the fd, or -errno (-EINVAL for anything else). */
static int regular_only(int fd)
{
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	/* Reads of a regular file never block: O_NONBLOCK can stay. */
	return fd;
}

/* O_NONBLOCK: a FIFO opens at once (and is then refused) instead of waiting for a writer. */
#define LS_SAFE_FLAGS (O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)

int ls_open_regular(const char *path)
{
	return regular_only(open(path, LS_SAFE_FLAGS));
}

/* openat2's RESOLVE_NO_SYMLINKS by hand: every component opened with O_NOFOLLOW from the one before. */
static int walk_nofollow(int dir, const char *path)
{
	char buf[PATH_MAX], *save = NULL, *comp, *next;
	int d = dir, fd = -1, e = 0;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (comp = strtok_r(buf, "/", &save); comp; comp = next) {
		next = strtok_r(NULL, "/", &save);
		int nd = next ? openat(d, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
			      : openat(d, comp, LS_SAFE_FLAGS);
		e = errno;
		if (d != dir)
			close(d);
		if (nd < 0) {
			errno = e == ENOTDIR ? ELOOP : e; /* O_PATH|O_NOFOLLOW on a symlink: not a directory */
			return -1;
		}
		if (!next)
			fd = nd;
		else
			d = nd;
	}
	if (fd < 0)
		errno = ENOENT;
	return fd;
}

int ls_open_regular_in(const char *root_prefix, const char *path)
{
	struct open_how how = { .flags = LS_SAFE_FLAGS, .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int dir, fd, e;

	if (!root_prefix || !root_prefix[0]) /* our own view (tests, a target gone): its last component only */
		return ls_open_regular(path);
	/* The root itself is a magic link (/proc/PID/root): opened as the starting point, not resolved through. */
	dir = open(root_prefix, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	while (*path == '/')
		path++;
	fd = (int)syscall(SYS_openat2, dir, path, &how, sizeof(how));
	e = errno;
	if (fd < 0 && e == ENOSYS) { /* before Linux 5.6, or under valgrind: the same, one component at a time */
		fd = walk_nofollow(dir, path);
		e = errno;
	}
	close(dir);
	errno = e;
	return regular_only(fd);
}

void ls_map_files_path(char *buf, size_t len, pid_t pid, uint64_t start, uint64_t end)
{
	snprintf(buf, len, "/proc/%d/map_files/%llx-%llx", (int)pid, (unsigned long long)start,
		 (unsigned long long)end);
}

int ls_open_mapped(pid_t pid, uint64_t start, uint64_t end, const char *root_prefix, const char *path)
{
	char p[PATH_MAX + 64];
	int fd;

	if (pid > 0) {
		/* A magic link to the mapped inode itself: following it is the point (needs CAP_SYS_ADMIN). */
		ls_map_files_path(p, sizeof(p), pid, start, end);
		fd = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd >= 0) {
			struct stat st;
			if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
				return fd;
			close(fd);
		}
	}
	if (!path)
		return -ENOENT;
	return ls_open_regular_in(root_prefix, path);
}
