/*
 * cpuid - branches on what cpuid says (SSE4.2 present or not), as glibc's
 * start-up and any program choosing an implementation at run time do: two
 * QEMUs started with different -cpu models part here, and the report must
 * name the option, not suspect code generation.
 */
#include <cpuid.h>
#include <stdio.h>

static volatile long sink;

int main(void)
{
	unsigned a, b, c, d;

	__get_cpuid(1, &a, &b, &c, &d);
	if (c & bit_SSE4_2)
		for (int i = 0; i < 1000; i++)
			sink += i;
	else
		for (int i = 0; i < 2000; i++)
			sink -= i;
	printf("%ld\n", (long)sink);
	return 0;
}
