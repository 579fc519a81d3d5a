/* SPDX-License-Identifier: MIT */
/* launch.c - spawning, feeding through and ending the QEMUs of `lockstep-bpf run`. */
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
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

static int open_out(const char *dir, char label, const char *what, char *err, size_t errlen)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%c.%s", dir, label, what);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
	return fd;
}

int ls_launch(struct ls_child *c, char label, const char *qemu, const char *const *extra, int nextra,
	      const char *plugin_arg, char *const *guest_argv, int guest_argc, const char *output_dir, char *err,
	      size_t errlen)
{
	int out[2] = { -1, -1 }, pipes[2][2] = { { -1, -1 }, { -1, -1 } }, report[2] = { -1, -1 }, rc = -1;
	const char **argv = calloc((size_t)(nextra + guest_argc + 4), sizeof(*argv));

	memset(c, 0, sizeof(*c));
	c->label = label;
	c->fd[0] = c->fd[1] = -1;
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

	if (output_dir) {
		if (mkdir(output_dir, 0755) && errno != EEXIST) {
			snprintf(err, errlen, "--output-dir %s: %s", output_dir, strerror(errno));
			goto out;
		}
		if ((out[0] = open_out(output_dir, label, "stdout", err, errlen)) < 0 ||
		    (out[1] = open_out(output_dir, label, "stderr", err, errlen)) < 0)
			goto out;
	} else {
		for (int i = 0; i < 2; i++) {
			if (pipe2(pipes[i], O_CLOEXEC)) {
				snprintf(err, errlen, "pipe: %s", strerror(errno));
				goto out;
			}
			out[i] = pipes[i][1];
		}
	}
	/* The child writes its exec errno here; EOF means exec succeeded. */
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
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		/* The monitor raised its own priority; the guests must not inherit that. */
		setpriority(PRIO_PROCESS, 0, 0);
		if (null < 0 || dup2(null, 0) < 0 || dup2(out[0], 1) < 0 || dup2(out[1], 2) < 0)
			_exit(127);
		execvp(qemu, (char *const *)argv);
		int e = errno;
		if (write(report[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	c->pid = pid;
	setpgid(pid, pid); /* also here, so a signal to the group cannot race the child's own call */
	close(report[1]);
	report[1] = -1;
	int e = 0;
	ssize_t n;
	do
		n = read(report[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(e)) {
		snprintf(err, errlen, "%c: cannot run %s: %s", label, qemu, strerror(e));
		waitpid(pid, NULL, 0);
		c->pid = -1;
		goto out;
	}
	if (!output_dir) {
		for (int i = 0; i < 2; i++) {
			c->fd[i] = pipes[i][0];
			pipes[i][0] = -1;
			fcntl(c->fd[i], F_SETFL, fcntl(c->fd[i], F_GETFL) | O_NONBLOCK);
		}
	}
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (output_dir && out[i] >= 0)
			close(out[i]);
		for (int j = 0; j < 2; j++)
			if (pipes[i][j] >= 0)
				close(pipes[i][j]);
	}
	if (report[0] >= 0)
		close(report[0]);
	if (report[1] >= 0)
		close(report[1]);
	free(argv);
	return rc;
}

static void emit_lines(struct ls_child *c, int which, FILE *out, bool final)
{
	char *buf = c->line[which];
	size_t start = 0;

	for (size_t i = 0; i < c->len[which]; i++) {
		if (buf[i] != '\n')
			continue;
		fprintf(out, "%c| %.*s\n", c->label, (int)(i - start), buf + start);
		start = i + 1;
	}
	/* A line longer than the buffer, or the unterminated end, goes out as it is. */
	if ((final || start == 0) && start < c->len[which] &&
	    (final || c->len[which] == sizeof(c->line[which]))) {
		fprintf(out, "%c| %.*s\n", c->label, (int)(c->len[which] - start), buf + start);
		start = c->len[which];
	}
	memmove(buf, buf + start, c->len[which] - start);
	c->len[which] -= start;
	fflush(out);
}

void ls_child_pump(struct ls_child *c, int which, FILE *out)
{
	for (;;) {
		if (c->fd[which] < 0)
			return;
		size_t room = sizeof(c->line[which]) - c->len[which];
		ssize_t n = read(c->fd[which], c->line[which] + c->len[which], room);
		if (n > 0) {
			c->len[which] += (size_t)n;
			emit_lines(c, which, out, false);
			continue;
		}
		if (n == 0) { /* the writer closed it */
			emit_lines(c, which, out, true);
			close(c->fd[which]);
			c->fd[which] = -1;
		}
		return; /* EAGAIN or an error: nothing more now */
	}
}

void ls_child_drain(struct ls_child *c, FILE *out)
{
	for (int i = 0; i < 2; i++) {
		if (c->fd[i] < 0)
			continue;
		ls_child_pump(c, i, out);
		if (c->fd[i] >= 0) { /* still open: someone else holds the write end */
			emit_lines(c, i, out, true);
			close(c->fd[i]);
			c->fd[i] = -1;
		}
	}
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
		if (c[i].pid > 0 && !ls_child_reap(&c[i]))
			kill(-c[i].pid, SIGTERM);
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
	/* Whatever the QEMU left behind in its group (it reaped, we killed the leader) goes too. */
	for (int i = 0; i < n; i++)
		if (c[i].pid > 0)
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
