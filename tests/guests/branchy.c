/*
 * branchy: identical deterministic work, then one indirect call whose target
 * depends on argv[1] ("a" or "b"), then identical work again.  The first
 * divergent block is therefore exactly the entry of path_a or path_b, which
 * the tests check against this binary's symbol table.
 *   branchy MODE [WORK]   WORK = loop iterations before the split (default 3e6)
 * MODE "env" reads the mode from $BRANCHY, so two QEMUs given the same
 * arguments can still part (qemu -E BRANCHY=b for one of them).  Modes "c"
 * and "e" crash (SIGSEGV) or exit with status 7 instead of the call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

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

__attribute__((noinline)) static void work(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		sink += i ^ (sink >> 3);
}

static void (*volatile split)(void);
static void (*const volatile targets[2])(void) = { path_b, path_a };

int main(int argc, char **argv)
{
	unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 0) : 3000000ul;
	const char *mode = argc > 1 ? argv[1] : "a";

	if (!strcmp(mode, "env"))
		mode = getenv("BRANCHY") ? getenv("BRANCHY") : "a";

	/* Select by indexing, not by branching: 'a' is odd, 'b' even.  Up to the
	 * call, both modes execute exactly the same blocks. */
	split = targets[mode[0] & 1];
	work(n);
	if (mode[0] == 'c')
		*(volatile int *)(uintptr_t)sink = 0; /* sink is small: an unmapped page */
	if (mode[0] == 'e')
		exit(7);
	split();
	work(n);
	printf("%lu\n", sink & 1);
	return 0;
}
