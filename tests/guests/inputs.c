/*
 * inputs: identical work, then a loop whose length comes from a syscall
 * result that differs between two runs, then identical work again.  The two
 * runs part at the loop's exit and come back together right after it; the
 * monitor must blame that syscall ("inputs differed").
 *   inputs pid|clock [WORK]
 * pid: getpid() (two QEMUs never share a pid); clock: clock_gettime's
 * nanoseconds.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

__attribute__((noinline)) static void work(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		sink += i ^ (sink >> 3);
}

__attribute__((noinline)) static void spin(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		sink++;
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 0) : 1000000ul, k;
	struct timespec ts;

	work(n);
	if (argc > 1 && !strcmp(argv[1], "clock")) {
		clock_gettime(CLOCK_REALTIME, &ts);
		k = (unsigned long)ts.tv_nsec % 4093 + 1;
	} else {
		k = (unsigned long)getpid() % 4096 + 1;
	}
	spin(k);
	work(n);
	return 0;
}
