/*
 * tsc: spins a number of times read from the CPU's time counter (rdtsc on
 * x86_64, cntvct_el0 on aarch64), then does identical work.  Two runs make
 * exactly the same syscalls with the same results, from the same arguments
 * and environment, yet part at the loop's exit (but once in 16384 runs): an input no syscall log
 * sees, the closest a test gets to "same inputs, different execution".
 * It prints before it parts, so glibc's fstat of stdout (a pipe: another
 * inode in every run) is among those syscalls.
 * With SPINS > 1 it spins again after more identical work: one region
 * each, every later one after an earlier region on the same vCPU.
 *   tsc [WORK] [SPINS]
 */
#include <stdio.h>
#include <stdlib.h>

static volatile unsigned long sink;

static unsigned long counter(void)
{
#if defined(__x86_64__)
	unsigned lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((unsigned long)hi << 32) | lo;
#elif defined(__aarch64__)
	unsigned long v;
	__asm__ volatile("mrs %0, cntvct_el0" : "=r"(v));
	return v;
#else
	return 0;
#endif
}

__attribute__((noinline)) static void work(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		sink += i ^ (sink >> 3);
}

__attribute__((noinline)) static void spin(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		sink ^= i;
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 100000ul;
	unsigned long spins = argc > 2 ? strtoul(argv[2], NULL, 0) : 1;

	printf("spinning\n");
	fflush(stdout);
	for (unsigned long k = 0; k < spins; k++) {
		work(n);
		/* The counter's bits mixed into 1..16384 spins: equal in two runs once in 16384. */
		spin(((counter() * 0x9e3779b97f4a7c15ul) >> 50) + 1);
	}
	work(n);
	printf("%lu\n", sink & 0);
	return 0;
}
