/* test_claim.c - one monitor per QEMU: the lock file, its holder's pid, and a holder killed by SIGKILL. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "claim.h"

static char dir[64];

static void mkdirs(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ls-claim-test.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	strcat(dir, "/run"); /* created by the claim, root-only */
}

static void rmdirs(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strlen(dir) - 4), dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(claim, .init = mkdirs, .fini = rmdirs);

Test(claim, stat_start_time)
{
	uint64_t s = 0;

	cr_assert_eq(ls_claim_stat_start("7 (a) b) c) S 1 7 7 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 123456 1 2\n", &s), 0);
	cr_assert_eq(s, 123456);
	cr_assert_eq(ls_claim_stat_start("7 (x) S 1 2", &s), -1);
	cr_assert_eq(ls_claim_stat_start("garbage", &s), -1);
	cr_assert_eq(ls_claim_stat_start(NULL, &s), -1);
}

/* A child claims pid, tells us through the pipe, then waits to be killed. */
static pid_t holder(pid_t pid)
{
	int p[2];
	char ch;

	cr_assert_eq(pipe(p), 0);
	pid_t c = fork();
	if (c == 0) {
		struct ls_claim cl;
		char err[256];
		close(p[0]);
		ch = (char)('0' + ls_claim_take(&cl, dir, pid, 'A', err, sizeof(err)) + 1);
		if (write(p[1], &ch, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	cr_assert_eq(read(p[0], &ch, 1), 1);
	close(p[0]);
	cr_assert_eq(ch, '1', "the holder claimed it");
	return c;
}

Test(claim, second_monitor_is_refused_with_the_first_ones_pid_until_it_dies)
{
	struct ls_claim cl;
	char err[256], want[64];
	pid_t h = holder(getpid());

	cr_assert_eq(ls_claim_take(&cl, dir, getpid(), 'B', err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "another lockstep-bpf (pid %d)", (int)h);
	cr_assert(strstr(err, want), "%s", err);
	cr_assert(strstr(err, "B: pid "), "%s", err);
	/* SIGKILL: no cleanup code runs, the kernel frees the lock. */
	kill(h, SIGKILL);
	waitpid(h, NULL, 0);
	cr_assert_eq(ls_claim_take(&cl, dir, getpid(), 'B', err, sizeof(err)), 0, "%s", err);
	struct stat st;
	cr_assert_eq(stat(cl.path, &st), 0);
	ls_claim_drop(&cl);
	cr_assert_neq(stat(cl.path, &st), 0, "the file goes with the claim");
	ls_claim_drop(&cl); /* twice is harmless */
}

Test(claim, other_pids_are_independent)
{
	struct ls_claim a, b;
	char err[256];
	pid_t h = holder(getpid());

	cr_assert_eq(ls_claim_take(&a, dir, h, 'A', err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ls_claim_take(&b, dir, getppid(), 'B', err, sizeof(err)), 0, "%s", err);
	ls_claim_drop(&a);
	ls_claim_drop(&b);
	kill(h, SIGKILL);
	waitpid(h, NULL, 0);
}

Test(claim, a_directory_others_can_write_is_not_used)
{
	struct ls_claim c;
	char err[256];

	cr_assert_eq(mkdir(dir, 0777), 0);
	cr_assert_eq(chmod(dir, 0777), 0);
	cr_assert_eq(ls_claim_take(&c, dir, getpid(), 'A', err, sizeof(err)), 1);
	cr_assert(strstr(err, "is not a directory only this user can write"), "%s", err);
	cr_assert_eq(c.fd, -1);
}

Test(claim, a_pid_that_does_not_exist_cannot_be_claimed)
{
	struct ls_claim c;
	char err[256];

	cr_assert_eq(ls_claim_take(&c, dir, 2147483646, 'A', err, sizeof(err)), 1);
	cr_assert(strstr(err, "cannot read its start time"), "%s", err);
}
