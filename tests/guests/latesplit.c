/*
 * latesplit: a little work, the same one-call split as branchy, a line on
 * stdout, then a long stretch of cheap system calls.  A monitor attached
 * after the line still finds the split in the rings' backlog, because the
 * system calls add few blocks: tests comparing from the earliest block both
 * sides still hold.
 *   latesplit MODE [SYSCALLS]   MODE a or b; SYSCALLS default 2e6
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile unsigned long sink;

__attribute__((noinline)) void path_a(void)
{
	sink += 1;
}

__attribute__((noinline)) void path_b(void)
{
	sink += 2;
	sink ^= 5;
}

static void (*const volatile targets[2])(void) = { path_b, path_a };

int main(int argc, char **argv)
{
	unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 0) : 2000000ul;

	for (unsigned long i = 0; i < 100000; i++)
		sink += i ^ (sink >> 3);
	targets[argc > 1 ? argv[1][0] & 1 : 1]();
	printf("split\n");
	fflush(stdout);
	for (unsigned long i = 0; i < n; i++)
		sink += (unsigned long)getppid();
	printf("%lu\n", sink & 1);
	return 0;
}
