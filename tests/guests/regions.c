/*
 * regions: long identical work with a short detour at each of several
 * checkpoints where $DETOURS has a '1' (e.g. DETOURS=0101), so two runs
 * with different DETOURS strings of the same length part and come back
 * together once per differing digit, with identical syscalls throughout
 * ("same inputs, different execution" as far as syscalls go).
 *   regions [WORK]
 */
#include <stdlib.h>

static volatile unsigned long sink;

__attribute__((noinline)) static void work(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		sink += i ^ (sink >> 3);
}

__attribute__((noinline)) void detour(void)
{
	for (int i = 0; i < 5; i++)
		sink ^= (unsigned long)i * 7;
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 500000ul;
	const char *d = getenv("DETOURS");

	for (int c = 0; d && d[c]; c++) {
		work(n);
		if (d[c] == '1')
			detour();
	}
	work(n);
	return 0;
}
