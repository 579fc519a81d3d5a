/* SPDX-License-Identifier: MIT */
/* launch.c - spawning (as whom, with what input and output) and ending the QEMUs of `lockstep-bpf run`. */
#include "launch.h"
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int ls_find_plugin(const char *explicit_path, char *out, size_t outlen, char *err, size_t errlen)
{
	char self[PATH_MAX], dir[PATH_MAX];
	ssize_t n;

	if (explicit_path) {
		if (access(explicit_path, R_OK)) {
			snprintf(err, errlen, "--plugin %s: %s", explicit_path, strerror(errno));
			return -1;
		}
		/* QEMU resolves it from its own working directory: make it absolute. */
		if (!realpath(explicit_path, out) || strlen(out) >= outlen)
			snprintf(out, outlen, "%s", explicit_path);
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		snprintf(err, errlen, "cannot find this program's own path: %s", strerror(errno));
		return -1;
	}
	self[n] = 0;
	snprintf(dir, sizeof(dir), "%s", dirname(self));
	const char *cands[] = { "%s/liblockstep.so", "%s/../lib/lockstep-bpf/liblockstep.so" };
	for (size_t i = 0; i < 2; i++) {
		snprintf(out, outlen, cands[i], dir);
		if (!access(out, R_OK))
			return 0;
	}
	snprintf(err, errlen,
		 "liblockstep.so is neither in %s nor in %s/../lib/lockstep-bpf: give it with --plugin PATH", dir,
		 dir);
	return -1;
}

static int parse_id(const char *s, unsigned long *out)
{
	char *end;

	if (!s || !*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v >= (unsigned long)(uid_t)-1)
		return -1;
	*out = v;
	return 0;
}

/* uid and gid known: groups from the user's entry (if there is one), else just gid. */
static void fill_groups(struct ls_creds *cr, const char *name)
{
	int n = LS_MAX_GROUPS;

	cr->groups[0] = cr->gid;
	cr->ngroups = 1;
	if (name && getgrouplist(name, cr->gid, cr->groups, &n) >= 0)
		cr->ngroups = n;
	else if (name) /* more than LS_MAX_GROUPS: the first ones, as many as fit */
		cr->ngroups = LS_MAX_GROUPS;
}

int ls_resolve_creds(const char *user, bool as_root, const char *sudo_uid, const char *sudo_gid, struct ls_creds *cr,
		     char *err, size_t errlen)
{
	unsigned long v;

	memset(cr, 0, sizeof(*cr));
	if (as_root || (!user && (geteuid() != 0 || !sudo_uid)))
		return 0;
	const struct passwd *pw;
	if (user) {
		errno = 0;
		pw = getpwnam(user);
		if (!pw && !parse_id(user, &v))
			pw = getpwuid((uid_t)v);
		if (!pw) {
			snprintf(err, errlen, "--user %s: no such user%s%s", user, errno ? ": " : "",
				 errno ? strerror(errno) : "");
			return -1;
		}
		cr->uid = pw->pw_uid;
		cr->gid = pw->pw_gid;
		snprintf(cr->name, sizeof(cr->name), "user %s (uid %u)", pw->pw_name, (unsigned)pw->pw_uid);
		fill_groups(cr, pw->pw_name);
	} else {
		if (parse_id(sudo_uid, &v)) {
			snprintf(err, errlen, "SUDO_UID='%s' is not a user id: give --user NAME or --as-root", sudo_uid);
			return -1;
		}
		cr->uid = (uid_t)v;
		pw = getpwuid(cr->uid);
		if (sudo_gid && *sudo_gid) {
			if (parse_id(sudo_gid, &v)) {
				snprintf(err, errlen, "SUDO_GID='%s' is not a group id: give --user NAME or --as-root",
					 sudo_gid);
				return -1;
			}
			cr->gid = (gid_t)v;
		} else if (pw) {
			cr->gid = pw->pw_gid;
		} else {
			snprintf(err, errlen, "SUDO_UID=%u has no SUDO_GID and no user entry: give --user NAME or --as-root",
				 (unsigned)cr->uid);
			return -1;
		}
		if (pw)
			snprintf(cr->name, sizeof(cr->name), "user %s (uid %u, from SUDO_UID)", pw->pw_name,
				 (unsigned)cr->uid);
		else
			snprintf(cr->name, sizeof(cr->name), "uid %u (from SUDO_UID)", (unsigned)cr->uid);
		fill_groups(cr, pw ? pw->pw_name : NULL);
	}
	cr->drop = cr->uid != 0;
	return 0;
}

static const char *const out_names[2][2] = { { "A.stdout", "A.stderr" }, { "B.stdout", "B.stderr" } };

int ls_open_outputs(const char *dir, const struct ls_creds *cr, int fds[2][2], char *err, size_t errlen)
{
	struct stat st;
	int dfd, rc = -1;

	for (int s = 0; s < 2; s++)
		fds[s][0] = fds[s][1] = -1;
	if (mkdir(dir, 0755) && errno != EEXIST) {
		snprintf(err, errlen, "--output-dir %s: %s", dir, strerror(errno));
		return -1;
	}
	/*
	 * DIR itself is the user's own choice, and may be a symlink the user
	 * made; one that somebody else owns (planted in a shared /tmp) is not
	 * followed, as the kernel's protected_symlinks would not.  What is
	 * inside DIR is nobody's choice: see below.
	 */
	if (!lstat(dir, &st) && S_ISLNK(st.st_mode) && st.st_uid != 0 && st.st_uid != getuid() &&
	    !(cr && cr->drop && st.st_uid == cr->uid)) {
		snprintf(err, errlen,
			 "--output-dir %s: a symbolic link owned by uid %u, not by you: lockstep-bpf does not follow it "
			 "(give the directory it points to, if that is what you meant)",
			 dir, (unsigned)st.st_uid);
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(err, errlen, "--output-dir %s: %s", dir, strerror(errno));
		return -1;
	}
	for (int s = 0; s < 2; s++)
		for (int w = 0; w < 2; w++)
			if (!fstatat(dfd, out_names[s][w], &st, AT_SYMLINK_NOFOLLOW)) {
				snprintf(err, errlen,
					 "--output-dir %s: %s/%s already exists%s; lockstep-bpf neither overwrites nor "
					 "follows files there: remove it or give a new directory",
					 dir, dir, out_names[s][w], S_ISLNK(st.st_mode) ? " (a symbolic link)" : "");
				goto out;
			}
	for (int s = 0; s < 2; s++) {
		for (int w = 0; w < 2; w++) {
			/* O_EXCL with O_CREAT follows no symlink and truncates nothing: the file is ours, new. */
			int fd = openat(dfd, out_names[s][w], (w ? O_RDWR : O_WRONLY) | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
					0644);
			if (fd < 0) {
				snprintf(err, errlen, "--output-dir %s: cannot create %s: %s%s", dir, out_names[s][w],
					 strerror(errno),
					 errno == EEXIST ? " (it appeared meanwhile; lockstep-bpf neither overwrites nor "
							   "follows files there)"
							 : "");
				goto out;
			}
			fds[s][w] = fd;
			if (cr->drop && fchown(fd, cr->uid, cr->gid)) {
				snprintf(err, errlen, "--output-dir %s: cannot give %s to %s: %s", dir, out_names[s][w],
					 cr->name, strerror(errno));
				goto out;
			}
		}
	}
	rc = 0;
out:
	if (rc) {
		for (int s = 0; s < 2; s++)
			for (int w = 0; w < 2; w++)
				if (fds[s][w] >= 0) {
					close(fds[s][w]);
					fds[s][w] = -1;
					unlinkat(dfd, out_names[s][w], 0);
				}
	}
	close(dfd);
	return rc;
}

int ls_stdin_copy(int in_fd, char *err, size_t errlen)
{
	char buf[65536];
	int fd = memfd_create("lockstep-stdin", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0) {
		snprintf(err, errlen, "--stdin: memfd_create: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t n = read(in_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "--stdin: cannot read this command's stdin: %s", strerror(errno));
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				snprintf(err, errlen, "--stdin: cannot keep a copy: %s", w < 0 ? strerror(errno) : "short write");
				close(fd);
				return -1;
			}
			off += w;
		}
	}
	/* A guest may reopen its stdin through /proc/self/fd read-write: the seals keep B's copy A's. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)) {
		snprintf(err, errlen, "--stdin: cannot seal the copy: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int ls_reopen_ro(int fd, char *err, size_t errlen)
{
	char path[64];

	/* A new open file description: each side reads from offset 0 on its own. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int r = open(path, O_RDONLY | O_CLOEXEC);
	if (r < 0)
		snprintf(err, errlen, "--stdin: cannot open the copy again: %s", strerror(errno));
	return r;
}

void ls_child_file_last_err(const struct ls_child *c, char *out, size_t len)
{
	char buf[4096];
	struct stat st;

	if (len)
		out[0] = 0;
	if (c->err_file < 0 || fstat(c->err_file, &st))
		return;
	off_t off = st.st_size > (off_t)sizeof(buf) ? st.st_size - (off_t)sizeof(buf) : 0;
	ssize_t n = pread(c->err_file, buf, sizeof(buf), off);
	if (n > 0)
		ls_last_line(buf, (size_t)n, out, len);
}

int ls_launch(struct ls_child *c, char label, const char *qemu, const char *const *extra, int nextra,
	      const char *plugin_arg, char *const *guest_argv, int guest_argc, const int fds[3],
	      const struct ls_creds *cr, char *err, size_t errlen)
{
	int report[2] = { -1, -1 }, rc = -1;
	const char **argv = calloc((size_t)(nextra + guest_argc + 4), sizeof(*argv));

	c->label = label;
	c->pid = -1;
	if (!argv) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int k = 0;
	argv[k++] = qemu;
	for (int i = 0; i < nextra; i++)
		argv[k++] = extra[i];
	argv[k++] = "-plugin";
	argv[k++] = plugin_arg;
	for (int i = 0; i < guest_argc; i++)
		argv[k++] = guest_argv[i];
	argv[k] = NULL;

	/* The child writes {stage, errno} here; EOF means exec succeeded. */
	if (pipe2(report, O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		int why[2] = { 0, 0 }, t[3];
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		/* The monitor raised its own priority; the guests must not inherit that. */
		setpriority(PRIO_PROCESS, 0, 0);
		/* Through descriptors above 2 first, so a target's own number cannot be closed under it. */
		for (int i = 0; i < 3; i++)
			if ((t[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) < 0)
				_exit(127);
		for (int i = 0; i < 3; i++)
			if (dup2(t[i], i) < 0)
				_exit(127);
		if (cr && cr->drop) {
			why[0] = 1;
			if (setgroups((size_t)cr->ngroups, cr->groups) || setgid(cr->gid) || setuid(cr->uid))
				goto report_it;
			/* No way back: a guest must not regain root. */
			if (!setuid(0)) {
				errno = EPERM;
				goto report_it;
			}
		}
		why[0] = 0;
		execvp(qemu, (char *const *)argv);
report_it:
		why[1] = errno;
		if (write(report[1], why, sizeof(why)) < 0)
			_exit(127);
		_exit(127);
	}
	c->pid = pid;
	setpgid(pid, pid); /* also here, so a signal to the group cannot race the child's own call */
	close(report[1]);
	report[1] = -1;
	int why[2] = { 0, 0 };
	ssize_t n;
	do
		n = read(report[0], why, sizeof(why));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(why)) {
		if (why[0])
			snprintf(err, errlen, "%c: cannot switch to %s: %s", label, cr->name, strerror(why[1]));
		else
			snprintf(err, errlen, "%c: cannot run %s: %s", label, qemu, strerror(why[1]));
		waitpid(pid, NULL, 0);
		c->pid = -1;
		goto out;
	}
	rc = 0;
out:
	if (report[0] >= 0)
		close(report[0]);
	if (report[1] >= 0)
		close(report[1]);
	free(argv);
	return rc;
}

bool ls_child_reap(struct ls_child *c)
{
	if (c->reaped || c->pid <= 0)
		return c->reaped;
	pid_t r = waitpid(c->pid, &c->wstatus, WNOHANG);
	if (r == c->pid)
		c->reaped = true;
	return c->reaped;
}

static bool all_reaped(struct ls_child *c, int n)
{
	bool all = true;

	for (int i = 0; i < n; i++)
		all &= c[i].pid <= 0 || ls_child_reap(&c[i]);
	return all;
}

void ls_children_stop(struct ls_child *c, int n, unsigned grace_ms)
{
	for (int i = 0; i < n; i++)
		if (c[i].pid > 0 && !ls_child_reap(&c[i])) {
			c[i].signalled = true;
			kill(-c[i].pid, SIGTERM);
		}
	for (unsigned t = 0; t < grace_ms && !all_reaped(c, n); t += 10) {
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < n; i++) {
		if (c[i].pid <= 0 || ls_child_reap(&c[i]))
			continue;
		kill(-c[i].pid, SIGKILL);
		if (waitpid(c[i].pid, &c[i].wstatus, 0) == c[i].pid)
			c[i].reaped = true;
	}
	/*
	 * Whatever a QEMU we stopped left behind in its group goes too.  One that
	 * ended by itself is left alone: what its guest started in the
	 * background (a forked child, a daemon) is the guest's, and runs on as
	 * it would without the monitor.
	 */
	for (int i = 0; i < n; i++)
		if (c[i].pid > 0 && c[i].signalled)
			kill(-c[i].pid, SIGKILL);
}

const char *ls_child_how(const struct ls_child *c, char *buf, size_t len)
{
	if (!c->reaped)
		snprintf(buf, len, "still running");
	else if (WIFEXITED(c->wstatus))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(c->wstatus));
	else if (WIFSIGNALED(c->wstatus))
		snprintf(buf, len, "killed by %s%s", sigabbrev_np(WTERMSIG(c->wstatus)) ? "SIG" : "signal ",
			 sigabbrev_np(WTERMSIG(c->wstatus)) ? sigabbrev_np(WTERMSIG(c->wstatus)) : "?");
	else
		snprintf(buf, len, "ended (status 0x%x)", c->wstatus);
	return buf;
}
