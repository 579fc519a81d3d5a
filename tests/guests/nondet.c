/*
 * nondet: branches on every input that differs between two runs of one
 * program, so two QEMUs part unless those inputs are forwarded
 * (--forward-inputs).  Each input sets the length of a loop: different
 * values run different blocks.
 *   nondet [getrandom|clock|sysinfo|auxv|tod|stat|all [ROUNDS]]   (default all 3)
 *   nondet calls N  N clock_gettime calls in a tight loop (A runs far ahead of B), then a branch on the last
 *   nondet threads N  N threads each branch on their own getrandom and clock_gettime
 *                 (forwarded per vCPU, written the checked way: the guest has threads)
 *   nondet kind   the syscall number comes from $KIND without a branch
 *                 (getpid for "a", getppid otherwise): the same blocks on
 *                 both sides, a different syscall at the same point
 * Prints what it saw, so a test can check both sides saw the same.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

__attribute__((noinline)) static void spin(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		sink++;
}

static unsigned long seen[16];
/* Every thread exists before any ends: QEMU gives a new thread the lowest free vCPU index, so both sides number them alike. */
static pthread_barrier_t all_up;

static void *worker(void *arg)
{
	unsigned long i = (unsigned long)(uintptr_t)arg, v;
	unsigned char b[16];
	struct timespec ts;

	pthread_barrier_wait(&all_up);
	for (int r = 0; r < 3; r++) {
		if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
			return NULL;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		v = b[0] ^ (unsigned long)b[15] << 8 ^ (unsigned long)ts.tv_nsec;
		spin(v % 4093 + 1);
		seen[i] ^= v;
	}
	return NULL;
}

static int want(const char *mode, const char *what)
{
	return !strcmp(mode, "all") || !strcmp(mode, what);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "all";
	unsigned rounds = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 3;
	unsigned long v;

	if (!strcmp(mode, "threads")) {
		pthread_t t[16];
		unsigned n = rounds > 16 ? 16 : rounds ? rounds : 1;
		pthread_barrier_init(&all_up, NULL, n);
		for (unsigned i = 0; i < n; i++)
			pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
		for (unsigned i = 0; i < n; i++)
			pthread_join(t[i], NULL);
		for (unsigned i = 0; i < n; i++)
			printf("thread %u %lu\n", i, seen[i]);
		return 0;
	}
	if (!strcmp(mode, "calls")) {
		struct timespec ts = { 0, 0 };
		for (unsigned i = 0; i < rounds; i++)
			clock_gettime(CLOCK_MONOTONIC, &ts);
		spin((unsigned long)ts.tv_nsec % 4093 + 1);
		printf("calls %lu.%09lu\n", (unsigned long)ts.tv_sec, (unsigned long)ts.tv_nsec);
		return 0;
	}
	if (!strcmp(mode, "kind")) {
		const char *k = getenv("KIND");
		long is_b = k && k[0] != 'a';
		/* No branch on the value: both sides run the same blocks, only the number differs. */
		long num = SYS_getpid + is_b * (SYS_getppid - SYS_getpid);
		spin(1000);
		long r = syscall(num);
		spin(1000);
		printf("kind %d\n", r > 0); /* the same text on both sides */
		return 0;
	}
	if (want(mode, "auxv")) {
		const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
		v = r ? r[0] | (unsigned long)r[15] << 8 : 0;
		printf("auxv %016lx\n", v);
		spin(v % 4093 + 1);
	}
	for (unsigned i = 0; i < rounds; i++) {
		if (want(mode, "getrandom")) {
			unsigned char b[24];
			if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
				return 2;
			v = b[0] | (unsigned long)b[23] << 8;
			printf("getrandom %lu\n", v);
			spin(v % 4093 + 1);
		}
		if (want(mode, "clock")) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			v = (unsigned long)ts.tv_nsec;
			printf("clock %lu.%09lu\n", (unsigned long)ts.tv_sec, v);
			spin(v % 4093 + 1);
		}
		if (want(mode, "tod")) {
			struct timeval tv;
			gettimeofday(&tv, NULL);
			v = (unsigned long)tv.tv_usec;
			printf("tod %lu.%06lu\n", (unsigned long)tv.tv_sec, v);
			spin(v % 4093 + 1);
		}
		if (want(mode, "sysinfo")) {
			struct sysinfo si;
			sysinfo(&si);
			v = si.freeram ^ (unsigned long)si.uptime;
			printf("sysinfo %lu %lu\n", (unsigned long)si.uptime, si.freeram);
			spin(v % 4093 + 1);
		}
		if (want(mode, "stat")) {
			struct stat st;
			/* A file this run touched: its times differ from the partner's. */
			if (stat("/proc/self", &st))
				return 3;
			v = (unsigned long)st.st_mtim.tv_nsec ^ (unsigned long)st.st_mtim.tv_sec;
			printf("stat %lu\n", v);
			spin(v % 4093 + 1);
		}
	}
	return 0;
}
