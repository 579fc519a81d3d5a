/*
 * forker: a guest that makes child processes every way Linux offers, with
 * deterministic work before, between and after, so a QEMU's plugin and the
 * monitor are tried on processes that copy themselves:
 *   forker children N   fork (the child works and exits 7), vfork (the child
 *                       _exits 5 at once), clone without CLONE_VM (exits 9),
 *                       fork + execve of /bin/echo; the parent waits for each
 *                       and prints how it ended
 *   forker exec N       N units of work, then execlp of echo itself, along a PATH whose
 *                       first two entries do not exist (two execve calls fail first)
 * A child's exit status and output are the same with or without the plugin.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile unsigned long sink;

__attribute__((noinline)) static unsigned long work(unsigned long n, unsigned long s)
{
	for (unsigned long i = 0; i < n; i++)
		s = (s ^ i) * 6364136223846793005ul + 1442695040888963407ul;
	sink = s;
	return s;
}

/* How a child ended, as text: the output compares it. */
static void reap(const char *what, pid_t pid)
{
	int st;

	if (pid < 0) {
		printf("%s: failed: %s\n", what, strerror(errno));
		return;
	}
	if (waitpid(pid, &st, 0) != pid)
		printf("%s: waitpid: %s\n", what, strerror(errno));
	else if (WIFEXITED(st))
		printf("%s: child exited %d\n", what, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: child killed by signal %d\n", what, WTERMSIG(st));
	else
		printf("%s: child status 0x%x\n", what, st);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "children";
	unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 0) : 100000ul, s = work(n, 1);
	pid_t pid;

	fflush(stdout);
	if (!strcmp(mode, "exec")) {
		char sum[32];
		snprintf(sum, sizeof(sum), "%016lx", s);
		/* A PATH search: two execve calls fail (and come back) before the third replaces us. */
		setenv("PATH", "/nonexistent/one:/nonexistent/two:/bin", 1);
		execlp("echo", "echo", "exec'd after work", sum, (char *)NULL);
		perror("execlp echo");
		return 1;
	}
	if (strcmp(mode, "children")) {
		fprintf(stderr, "usage: forker children|exec N\n");
		return 2;
	}

	pid = fork();
	if (pid == 0) {
		/* Long enough to cross several of the plugin's chunks. */
		printf("fork child: %016lx\n", work(4 * n, 2));
		fflush(stdout);
		_exit(7);
	}
	reap("fork", pid);
	s = work(n, s);

	pid = vfork();
	if (pid == 0)
		_exit(5); /* all a vfork child may do before exec */
	reap("vfork", pid);
	s = work(n, s);

	/* A raw clone without CLONE_VM: a fork by another name. */
	pid = (pid_t)syscall(SYS_clone, (unsigned long)SIGCHLD, 0ul, 0ul, 0ul, 0ul);
	if (pid == 0) {
		printf("clone child: %016lx\n", work(n, 3));
		fflush(stdout);
		_exit(9);
	}
	reap("clone", pid);
	s = work(n, s);

	pid = fork();
	if (pid == 0) {
		execl("/bin/echo", "echo", "fork+exec child", (char *)NULL);
		_exit(127);
	}
	reap("fork+exec", pid);
	printf("parent: %016lx\n", work(n, s));
	return 0;
}
