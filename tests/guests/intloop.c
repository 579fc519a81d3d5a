/* intloop: a tight CPU-bound loop of about N blocks (argv[1], default 1e9). */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000000ul;
	volatile unsigned long acc = 0;

	for (unsigned long i = 0; i < n; i++)
		acc += i ^ (acc >> 3);
	printf("%lu\n", (unsigned long)acc);
	return 0;
}
