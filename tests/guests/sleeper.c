/*
 * sleeper: deterministic work, then a long stall in nanosleep, then more
 * work.  Checks that a partly filled chunk is compared while the guest is
 * blocked in a syscall, not only when it wakes up.
 *   sleeper WORK SECONDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile unsigned long sink;

__attribute__((noinline)) static void work(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		sink += i ^ (sink >> 3);
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000ul;
	struct timespec ts = { argc > 2 ? atoi(argv[2]) : 3, 0 };

	work(n);
	nanosleep(&ts, NULL);
	work(n);
	printf("%lu\n", sink & 1);
	return 0;
}
