/*
 * threads: NTHREADS worker threads (vCPUs 1..N under qemu-user) each do a
 * deterministic loop; the main thread waits for their results and prints
 * them.  Every blocking point is a system call, so each thread's stream of
 * blocks is the same on every run whatever the scheduling: workers park in a
 * read() that never returns instead of exiting (a join would take a
 * different path depending on timing).  Thread $ODD (0-based) makes one
 * extra call half-way through its loop, so its vCPU alone diverges there.
 *   threads NTHREADS ITERATIONS      ($ODD unset or -1: all alike)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 32

static int go[2], done[2], never[2];
static unsigned long iterations;
static long odd = -1;
static unsigned long results[MAX_THREADS];

__attribute__((noinline)) unsigned long extra(unsigned long s)
{
	return s * 3 + 1;
}

static void *worker(void *arg)
{
	long k = (long)arg;
	char c;

	if (read(go[0], &c, 1) != 1)
		return NULL;
	unsigned long s = (unsigned long)k;
	for (unsigned long i = 0; i < iterations; i++) {
		s += i ^ (s >> 3);
		if (i == iterations / 2 && k == odd)
			s = extra(s);
	}
	results[k] = s;
	if (write(done[1], &c, 1) != 1)
		return NULL;
	while (read(never[0], &c, 1) != 0)
		;
	return NULL;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 0) : 4;
	pthread_t t[MAX_THREADS];
	char buf[MAX_THREADS] = { 0 };

	iterations = argc > 2 ? strtoul(argv[2], NULL, 0) : 1000000;
	if (getenv("ODD"))
		odd = strtol(getenv("ODD"), NULL, 0);
	if (n < 1 || n > MAX_THREADS || pipe(go) || pipe(done) || pipe(never))
		return 2;
	for (long k = 0; k < n; k++)
		if (pthread_create(&t[k], NULL, worker, (void *)k))
			return 3;
	/* Start them only once all exist, so vCPU numbers follow creation order. */
	if (write(go[1], buf, (size_t)n) != n)
		return 4;
	for (long k = 0; k < n; k++)
		if (read(done[0], buf, 1) != 1)
			return 5;
	/*
	 * A worker that has written its byte still has a few blocks to run to
	 * its parking read(); if exit_group came first, its stream would end a
	 * few blocks short on one run only.  Give them time: nanosleep is the
	 * same guest path however long the host takes.
	 */
	struct timespec settle = { 0, 200000000 };
	nanosleep(&settle, NULL);
	for (long k = 0; k < n; k++)
		printf("%ld %lu\n", k, results[k] & 0xffff);
	fflush(stdout);
	exit(0);
}
