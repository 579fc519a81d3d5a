/* calls: call-heavy recursion (fib) plus small helpers; argv[1] = fib depth. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static unsigned long mix(unsigned long a, unsigned long b)
{
	return (a * 31) ^ b;
}

__attribute__((noinline)) static unsigned long fib(unsigned n)
{
	if (n < 2)
		return mix(n, 1);
	return fib(n - 1) + fib(n - 2);
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 32;

	printf("%lu\n", fib(n));
	return 0;
}
