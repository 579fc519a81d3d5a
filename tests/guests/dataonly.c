/*
 * dataonly: identical work around two printf calls of a number taken from
 * $V.  Two runs with values of different lengths (V=1, V=99999) compute the
 * same control flow everywhere except inside printf, which takes a few more
 * trips through its digit loop for the longer number and then returns to
 * the same place: data-only differences that briefly change control flow
 * and rejoin.  Each must be reported at its own first block.
 *   dataonly [WORK]
 */
#include <stdio.h>
#include <stdlib.h>

static volatile unsigned long sink;

__attribute__((noinline)) static void work(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		sink += i ^ (sink >> 3);
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 100000ul;
	const char *s = getenv("V");
	long v = s ? strtol(s, NULL, 10) : 0;

	work(n);
	printf("%ld\n", v);
	work(n);
	printf("%ld\n", v * 3);
	work(n);
	printf("%lu\n", sink & 0);
	return 0;
}
