/* SPDX-License-Identifier: MIT */
/* claim.c - one monitor per QEMU, by a lock file the kernel frees when its holder dies (see claim.h). */
#include "claim.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ls_claim_stat_start(const char *stat, uint64_t *start)
{
	/* "pid (comm) S ...": fields counted after the last ')', whatever the command name holds. */
	const char *p = stat ? strrchr(stat, ')') : NULL;

	if (!p)
		return -1;
	p++;
	for (int field = 2; field < 22; field++) {
		if (*p != ' ')
			return -1;
		p++;
		if (field < 21)
			while (*p && *p != ' ')
				p++;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p, &end, 10);
	if (end == p || errno || (*end != ' ' && *end != '\n' && *end))
		return -1;
	*start = v;
	return 0;
}

static int read_start(pid_t pid, uint64_t *start)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return ls_claim_stat_start(buf, start);
}

/* The directory, created root-only, or refused when someone else could write it. */
static int open_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	int dfd;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", dir, strerror(errno));
		return -1;
	}
	if (fstat(dfd, &st) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		snprintf(err, errlen, "%s is not a directory only this user can write", dir);
		close(dfd);
		return -1;
	}
	return dfd;
}

int ls_claim_take(struct ls_claim *c, const char *dir, pid_t pid, char label, char *err, size_t errlen)
{
	uint64_t start;
	char name[64];
	int dfd;

	c->fd = -1;
	c->path[0] = 0;
	if (read_start(pid, &start)) {
		snprintf(err, errlen, "%c: pid %d: cannot read its start time: %s", label, (int)pid, strerror(errno));
		return 1;
	}
	if ((dfd = open_dir(dir, err, errlen)) < 0)
		return 1;
	snprintf(name, sizeof(name), "qemu-%d-%" PRIu64 ".lock", (int)pid, start);
	/* A holder that gives up unlinks its file: take the lock, then check it is still the file at the name. */
	for (int tries = 0; tries < 100; tries++) {
		int fd = openat(dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		struct stat a, b;

		if (fd < 0) {
			snprintf(err, errlen, "cannot open %s/%s: %s", dir, name, strerror(errno));
			close(dfd);
			return 1;
		}
		if (fcntl(fd, F_SETLK, &fl)) {
			int e = errno;
			struct flock who = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
			if (e != EAGAIN && e != EACCES) {
				snprintf(err, errlen, "cannot lock %s/%s: %s", dir, name, strerror(e));
				close(fd);
				close(dfd);
				return 1;
			}
			if (fcntl(fd, F_GETLK, &who) == 0 && who.l_type == F_UNLCK) {
				close(fd); /* let go meanwhile: try again */
				continue;
			}
			close(fd);
			close(dfd);
			if (who.l_pid > 0)
				snprintf(err, errlen,
					 "%c: pid %d is already monitored by another lockstep-bpf (pid %d): one monitor "
					 "per QEMU (stop that one first)",
					 label, (int)pid, (int)who.l_pid);
			else
				snprintf(err, errlen,
					 "%c: pid %d is already monitored by another lockstep-bpf: one monitor per QEMU",
					 label, (int)pid);
			return -1;
		}
		if (fstat(fd, &a) || fstatat(dfd, name, &b, AT_SYMLINK_NOFOLLOW) || a.st_ino != b.st_ino ||
		    a.st_dev != b.st_dev) {
			close(fd); /* unlinked by its last holder between our open and our lock */
			continue;
		}
		c->fd = fd;
		snprintf(c->path, sizeof(c->path), "%s/%s", dir, name);
		close(dfd);
		return 0;
	}
	close(dfd);
	snprintf(err, errlen, "%c: pid %d: could not settle the claim on %s/%s", label, (int)pid, dir, name);
	return 1;
}

void ls_claim_drop(struct ls_claim *c)
{
	if (c->fd < 0)
		return;
	/* Unlinked while still locked: whoever opened it meanwhile sees it gone and retries. */
	if (c->path[0])
		unlink(c->path);
	close(c->fd);
	c->fd = -1;
	c->path[0] = 0;
}
