/* SPDX-License-Identifier: MIT */
/* safeopen.c - opening files a target names, as root (see safeopen.h). */
#include "safeopen.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int ls_open_regular(const char *path)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO opens at once (and is then refused) instead of waiting for a writer. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);

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
	/* Reads of a regular file never block: the flag can stay. */
	return fd;
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
	if (!path || (size_t)snprintf(p, sizeof(p), "%s%s", root_prefix ? root_prefix : "", path) >= sizeof(p))
		return -ENAMETOOLONG;
	return ls_open_regular(p);
}
