/* test_syslog.c - the per-vCPU syscall log: records, outputs read from a fake guest memory, unreadable and failed calls, wrap-around, the reader protocol, and the output hash. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "syslog.h"

/* x86_64 and aarch64 numbers used here (test_systab.c checks them by name). */
#define X_READ 0
#define X_WRITE 1
#define X_GETPID 39
#define X_CLOCK_GETTIME 228
#define X_EXIT_GROUP 231
#define A_CLOCK_GETTIME 113

static struct ls_batch batch;
static struct ls_syslog l;
static enum ls_read_mode mode = LS_READ_CHECKED; /* how call() reads outputs */

static void fini(void)
{
	ls_syslog_fini(&l);
}

static void init_x86(uint32_t order)
{
	memset(&batch, 0, sizeof(batch));
	cr_assert_eq(ls_syslog_init(&l, &batch, order, LS_ARCH_X86_64), 0);
}

static const struct ls_sys_rec *rec(uint64_t i)
{
	return &l.ring[i & l.mask];
}

/* The guest's memory: guest_base 0, so guest addresses are this buffer's host addresses. */
static uint64_t g(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static void call(uint64_t seq, int64_t num, uint64_t a0, uint64_t a1, uint64_t a2, int64_t ret)
{
	uint64_t args[6] = { a0, a1, a2, 0, 0, 0 };

	ls_syslog_enter(&l, seq, num, args);
	ls_syslog_return(&l, num, ret, mode, 0);
}

Test(syslog, init_publishes_ring, .fini = fini)
{
	init_x86(4);
	cr_assert_eq(batch.sys_addr, g(l.ring));
	cr_assert_eq(batch.sys_next, 0);
	cr_assert_eq(l.mask, 15);
}

Test(syslog, entry_then_return_without_output, .fini = fini)
{
	uint64_t args[6] = { 1, 2, 3, 4, 5, 6 };

	init_x86(4);
	ls_syslog_enter(&l, 777, X_GETPID, args);
	cr_assert_eq(batch.sys_next, 1);
	cr_assert_eq(rec(0)->seq, 777);
	cr_assert_eq(rec(0)->num, X_GETPID);
	cr_assert_arr_eq(rec(0)->args, args, sizeof(args));
	cr_assert_eq(rec(0)->state, LS_SYS_ENTERED);
	ls_syslog_return(&l, X_GETPID, 4242, LS_READ_CHECKED, 0);
	cr_assert_eq(rec(0)->ret, 4242);
	cr_assert_eq(rec(0)->state, LS_SYS_RETURNED);
	cr_assert_eq(rec(0)->out_len, 0);
	cr_assert_eq(rec(0)->out_hash, 0);
	cr_assert_eq(l.returned, 1);
	cr_assert_eq(l.outputs, 0);
}

Test(syslog, clock_gettime_output_hashed, .fini = fini)
{
	static const uint64_t ts[2] = { 1700000000, 123456789 };

	init_x86(4);
	call(10, X_CLOCK_GETTIME, 1, g(ts), 0, 0);
	cr_assert_eq(rec(0)->state, LS_SYS_RETURNED);
	cr_assert_eq(rec(0)->ret, 0);
	cr_assert_eq(rec(0)->out_len, 16);
	cr_assert_eq(rec(0)->out_hash, ls_sys_hash(ts, 16));
	cr_assert_arr_eq(rec(0)->out_head, ts, 16);
	for (int i = 16; i < LS_SYS_HEAD; i++)
		cr_assert_eq(rec(0)->out_head[i], 0, "head zero-filled after the output");
	cr_assert_eq(l.outputs, 1);
	cr_assert_eq(l.out_bytes, 16);
}

Test(syslog, read_output_and_guest_base, .fini = fini)
{
	static char mem[4096];
	uint64_t base = g(mem) - 0x400000; /* guest address 0x400000 is mem[0] */

	init_x86(4);
	for (int i = 0; i < 4096; i++)
		mem[i] = (char)(i * 7);
	uint64_t args[6] = { 3, 0x400000 + 100, 1000, 0, 0, 0 };
	ls_syslog_enter(&l, 5, X_READ, args);
	ls_syslog_return(&l, X_READ, 300, LS_READ_CHECKED, base);
	cr_assert_eq(rec(0)->state, LS_SYS_RETURNED);
	cr_assert_eq(rec(0)->out_len, 300, "ret bytes, not the buffer size");
	cr_assert_eq(rec(0)->out_hash, ls_sys_hash(mem + 100, 300));
	cr_assert_arr_eq(rec(0)->out_head, mem + 100, LS_SYS_HEAD);
	/* EOF: nothing written. */
	call(6, X_READ, 3, 0x400000, 10, 0);
	cr_assert_eq(rec(1)->state, LS_SYS_RETURNED);
	cr_assert_eq(rec(1)->out_len, 0);
	cr_assert_eq(rec(1)->out_hash, 0);
	/* write has no output. */
	call(7, X_WRITE, 1, g(mem), 10, 10);
	cr_assert_eq(rec(2)->out_len, 0);
}

Test(syslog, long_output_hash_capped, .fini = fini)
{
	size_t n = 1 << 20;
	uint8_t *mem = malloc(n);

	init_x86(4);
	for (size_t i = 0; i < n; i++)
		mem[i] = (uint8_t)(i ^ (i >> 8));
	call(1, X_READ, 0, g(mem), n, (int64_t)n);
	cr_assert_eq(rec(0)->state, LS_SYS_RETURNED);
	cr_assert_eq(rec(0)->out_len, n, "the real length");
	cr_assert_eq(rec(0)->out_hash, ls_sys_hash(mem, LS_SYS_HASH_CAP), "hash of the first 64 KiB");
	cr_assert_eq(l.out_capped, 1);
	cr_assert_eq(l.out_bytes, LS_SYS_HASH_CAP);
	free(mem);
}

Test(syslog, failed_call_has_no_output, .fini = fini)
{
	static uint64_t ts[2] = { 1, 2 };

	init_x86(4);
	call(1, X_CLOCK_GETTIME, 99, g(ts), 0, -EINVAL);
	cr_assert_eq(rec(0)->state, LS_SYS_RETURNED);
	cr_assert_eq(rec(0)->ret, -EINVAL);
	cr_assert_eq(rec(0)->out_len, 0);
	cr_assert_eq(rec(0)->out_hash, 0);
	/* QEMU's restart marker is an error too; the restarted call gets its own record. */
	call(2, X_READ, 0, g(ts), 16, -512);
	cr_assert_eq(rec(1)->ret, -512);
	cr_assert_eq(rec(1)->out_len, 0);
}

Test(syslog, unreadable_outputs, .fini = fini)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(m, MAP_FAILED);
	cr_assert_eq(mprotect(m + pg, pg, PROT_NONE), 0);
	memset(m, 0x5a, pg);
	init_x86(4);
	/* Entirely in the inaccessible page. */
	call(1, X_CLOCK_GETTIME, 0, g(m + pg), 0, 0);
	cr_assert_eq(rec(0)->state, LS_SYS_OUT_UNREADABLE);
	cr_assert_eq(rec(0)->out_len, 16);
	cr_assert_eq(rec(0)->out_hash, 0);
	cr_assert_eq(rec(0)->ret, 0);
	/* Straddling into it. */
	call(2, X_READ, 0, g(m + pg - 8), 64, 64);
	cr_assert_eq(rec(1)->state, LS_SYS_OUT_UNREADABLE);
	cr_assert_eq(rec(1)->out_len, 64);
	/* Unmapped, and far outside any mapping. */
	call(3, X_CLOCK_GETTIME, 0, 0xdead00000000ull, 0, 0);
	cr_assert_eq(rec(2)->state, LS_SYS_OUT_UNREADABLE);
	/* Readable right up to the boundary. */
	call(4, X_READ, 0, g(m + pg - 8), 8, 8);
	cr_assert_eq(rec(3)->state, LS_SYS_RETURNED);
	cr_assert_eq(rec(3)->out_hash, ls_sys_hash(m + pg - 8, 8));
	cr_assert_eq(l.unreadable, 3);
	cr_assert_eq(l.last_read_errno, EFAULT);
	/* guest_base not known yet: nothing is read. */
	uint64_t args[6] = { 0, g(m), 0, 0, 0, 0 };
	ls_syslog_enter(&l, 5, X_CLOCK_GETTIME, args);
	ls_syslog_return(&l, X_CLOCK_GETTIME, 0, LS_READ_NONE, 0);
	cr_assert_eq(rec(4)->state, LS_SYS_OUT_UNREADABLE);
	cr_assert_eq(rec(4)->out_len, 16);
	munmap(m, 2 * pg);
}

Test(syslog, never_returning_and_unmatched, .fini = fini)
{
	uint64_t args[6] = { 0 };

	init_x86(4);
	ls_syslog_enter(&l, 1, X_EXIT_GROUP, args);
	/* exit_group of one thread, then the vCPU index is reused by another thread. */
	ls_syslog_enter(&l, 2, X_GETPID, args);
	ls_syslog_return(&l, X_GETPID, 5, LS_READ_CHECKED, 0);
	cr_assert_eq(rec(0)->state, LS_SYS_ENTERED);
	cr_assert_eq(rec(1)->state, LS_SYS_RETURNED);
	/* A return nobody entered. */
	ls_syslog_return(&l, X_GETPID, 5, LS_READ_CHECKED, 0);
	cr_assert_eq(l.unmatched, 1);
	/* A return of another syscall than the pending one leaves it ENTERED. */
	ls_syslog_enter(&l, 3, X_READ, args);
	ls_syslog_return(&l, X_WRITE, 1, LS_READ_CHECKED, 0);
	cr_assert_eq(rec(2)->state, LS_SYS_ENTERED);
	cr_assert_eq(l.unmatched, 2);
	cr_assert_eq(batch.sys_next, 3);
}

Test(syslog, wraps_around, .fini = fini)
{
	init_x86(4);
	for (uint64_t i = 0; i < 40; i++)
		call(i * 10, X_GETPID, i, 0, 0, (int64_t)i + 1000);
	cr_assert_eq(batch.sys_next, 40);
	for (uint64_t i = 24; i < 40; i++) {
		cr_assert_eq(rec(i)->seq, i * 10);
		cr_assert_eq(rec(i)->args[0], i);
		cr_assert_eq(rec(i)->ret, (int64_t)i + 1000);
		cr_assert_eq(rec(i)->state, LS_SYS_RETURNED);
	}
}

Test(syslog, aarch64_tagged_pointer, .fini = fini)
{
	static const uint64_t ts[2] = { 5, 6 };

	memset(&batch, 0, sizeof(batch));
	cr_assert_eq(ls_syslog_init(&l, &batch, 4, LS_ARCH_AARCH64), 0);
	call(1, A_CLOCK_GETTIME, 0, g(ts) | (0x2aull << 56), 0, 0);
	cr_assert_eq(rec(0)->state, LS_SYS_RETURNED);
	cr_assert_eq(rec(0)->out_hash, ls_sys_hash(ts, 16));
}

Test(syslog, unknown_arch_logs_without_outputs, .fini = fini)
{
	static const uint64_t ts[2] = { 5, 6 };

	memset(&batch, 0, sizeof(batch));
	cr_assert_eq(ls_syslog_init(&l, &batch, 4, LS_ARCH_UNKNOWN), 0);
	call(1, X_CLOCK_GETTIME, 0, g(ts), 0, 0);
	cr_assert_eq(rec(0)->state, LS_SYS_RETURNED);
	cr_assert_eq(rec(0)->out_len, 0);
}

/* In place (single-threaded guest): within one host page, or all written (len == ret); otherwise, and for waitid, checked. */
Test(syslog, direct_reads, .fini = fini)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *m = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t base = g(m) - 0x10000; /* guest 0x10000 is m[0] */

	cr_assert_neq(m, MAP_FAILED);
	cr_assert_eq(mprotect(m + 2 * pg, pg, PROT_NONE), 0);
	for (long i = 0; i < 2 * pg; i++)
		m[i] = (uint8_t)(i * 13);
	init_x86(4);
	uint64_t args[6] = { 0, 0x10000 + 64, 0, 0, 0, 0 };
	ls_syslog_enter(&l, 1, X_CLOCK_GETTIME, args);
	ls_syslog_return(&l, X_CLOCK_GETTIME, 0, LS_READ_DIRECT, base);
	cr_assert_eq(rec(0)->state, LS_SYS_RETURNED);
	cr_assert_eq(rec(0)->out_hash, ls_sys_hash(m + 64, 16));
	cr_assert_arr_eq(rec(0)->out_head, m + 64, 16);
	cr_assert_eq(l.out_direct, 1);
	/* read's bytes were all written by the call: in place across pages too. */
	uint64_t rargs[6] = { 3, 0x10000 + pg - 100, 1000, 0, 0, 0 };
	ls_syslog_enter(&l, 2, X_READ, rargs);
	ls_syslog_return(&l, X_READ, 200, LS_READ_DIRECT, base);
	cr_assert_eq(rec(1)->state, LS_SYS_RETURNED);
	cr_assert_eq(rec(1)->out_hash, ls_sys_hash(m + pg - 100, 200));
	cr_assert_eq(l.out_direct, 2);
	/* A struct across a page boundary: read the checked way, same result. */
	uint64_t sargs[6] = { 3, 0x10000 + pg - 40, 0, 0, 0, 0 };
	ls_syslog_enter(&l, 3, 5 /* fstat */, sargs);
	ls_syslog_return(&l, 5, 0, LS_READ_DIRECT, base);
	cr_assert_eq(rec(2)->state, LS_SYS_RETURNED);
	cr_assert_eq(rec(2)->out_len, 144);
	uint8_t calm[144];
	memcpy(calm, m + pg - 40, sizeof(calm));
	ls_sys_out_denoise(LS_ARCH_X86_64, 5, calm, sizeof(calm));
	cr_assert_eq(rec(2)->out_hash, ls_sys_hash(calm, sizeof(calm)), "fstat's output, hashed without its access time");
	cr_assert_arr_eq(rec(2)->out_head, m + pg - 40, 40, "the head as written");
	cr_assert_eq(l.out_direct, 2, "a page-crossing struct is not read in place");
	/* ... so one reaching into an inaccessible page is unreadable, not a crash. */
	sargs[1] = 0x10000 + 2 * pg - 8;
	ls_syslog_enter(&l, 4, 5, sargs);
	ls_syslog_return(&l, 5, 0, LS_READ_DIRECT, base);
	cr_assert_eq(rec(3)->state, LS_SYS_OUT_UNREADABLE);
	cr_assert_eq(l.outputs, 3);
	/* waitid's siginfo may be untouched by QEMU: never in place. */
	uint64_t wargs[6] = { 0, 0, 0x10000 + 256, 4, 0, 0 };
	ls_syslog_enter(&l, 5, 247 /* waitid */, wargs);
	ls_syslog_return(&l, 247, 0, LS_READ_DIRECT, base);
	cr_assert_eq(rec(4)->state, LS_SYS_RETURNED);
	cr_assert_eq(rec(4)->out_len, 128);
	cr_assert_eq(rec(4)->out_hash, ls_sys_hash(m + 256, 128));
	cr_assert_eq(l.out_direct, 2);
	munmap(m, 3 * pg);
}

/* The same outputs whichever way they are read. */
Test(syslog, direct_and_checked_agree, .fini = fini)
{
	static uint8_t mem[8192] __attribute__((aligned(4096)));

	for (size_t i = 0; i < sizeof(mem); i++)
		mem[i] = (uint8_t)(i ^ (i >> 5));
	init_x86(6);
	for (int k = 0; k < 2; k++) {
		mode = k ? LS_READ_DIRECT : LS_READ_CHECKED;
		call(1, X_CLOCK_GETTIME, 0, g(mem + 40), 0, 0);
		call(2, X_READ, 0, g(mem + 1000), 3000, 3000);
		call(3, X_READ, 0, g(mem), 8192, 8192);
	}
	mode = LS_READ_CHECKED;
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(rec(i)->out_hash, rec(i + 3)->out_hash, "call %d", i);
		cr_assert_arr_eq(rec(i)->out_head, rec(i + 3)->out_head, LS_SYS_HEAD);
	}
	cr_assert_eq(l.out_direct, 3);
}

/* After a fork (QEMU forks for the guest), outputs come from the child's memory, not the parent's. */
Test(syslog, fork_reads_own_memory, .fini = fini)
{
	static uint64_t ts[2] = { 1, 1 };

	init_x86(4);
	call(1, X_CLOCK_GETTIME, 0, g(ts), 0, 0); /* the pid is cached now */
	pid_t pid = fork();
	if (pid == 0) {
		ts[0] = 2;
		call(2, X_CLOCK_GETTIME, 0, g(ts), 0, 0);
		_exit(rec(1)->state == LS_SYS_RETURNED && rec(1)->out_hash == ls_sys_hash(ts, 16) ? 0 : 1);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child hashed its parent's memory");
}

/* ---- the reader protocol, with a writer running ---- */

#define READER_ORDER 4
#define CALLS 200000

static void *sys_writer(void *unused)
{
	(void)unused;
	for (uint64_t i = 0; i < CALLS; i++)
		call(i * 3, X_GETPID, i, ~i, 0, (int64_t)i);
	return NULL;
}

Test(syslog, reader_protocol_sees_no_torn_record, .fini = fini)
{
	enum { SIZE = 1 << READER_ORDER };
	struct ls_sys_rec copy[SIZE];
	uint64_t checked = 0, bad = 0;
	pthread_t w;

	init_x86(READER_ORDER);
	pthread_create(&w, NULL, sys_writer, NULL);
	for (;;) {
		uint64_t n1 = __atomic_load_n(&batch.sys_next, __ATOMIC_ACQUIRE);
		const uint64_t *src = (const uint64_t *)l.ring;
		for (size_t k = 0; k < sizeof(copy) / 8; k++) { /* word by word, as a non-atomic copy would */
			uint64_t w = __atomic_load_n(&src[k], __ATOMIC_RELAXED);
			memcpy((char *)copy + 8 * k, &w, 8);
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		uint64_t n2 = __atomic_load_n(&batch.sys_next, __ATOMIC_ACQUIRE);
		const struct ls_sys_rec *c = copy;
		for (uint64_t i = n1 > SIZE ? n1 - SIZE : 0; i < n1; i++) {
			if (n2 >= SIZE && i < n2 - SIZE + 1)
				continue; /* may be overwritten: the protocol says skip */
			const struct ls_sys_rec *r = &c[i & (SIZE - 1)];
			checked++;
			if (r->seq != i * 3 || r->args[0] != i || r->args[1] != ~i || r->num != X_GETPID ||
			    (r->state != LS_SYS_ENTERED && r->state != LS_SYS_RETURNED))
				bad++;
		}
		if (n1 == CALLS)
			break;
	}
	pthread_join(w, NULL);
	cr_assert_eq(bad, 0, "%llu of %llu records torn", (unsigned long long)bad, (unsigned long long)checked);
	cr_assert_gt(checked, 0);
}

/* ---- the hash ---- */

Test(syslog, hash_properties)
{
	static uint8_t buf[300];
	uint64_t seen[301];

	cr_assert_eq(ls_sys_hash(buf, 16), ls_sys_hash(buf, 16), "deterministic");
	/* Lengths of zeros all differ (the length is in the seed, padding is not data). */
	for (size_t n = 0; n <= 300; n++) {
		seen[n] = ls_sys_hash(buf, n);
		cr_assert_neq(seen[n], 0);
		for (size_t k = 0; k < n; k++)
			cr_assert_neq(seen[k], seen[n], "zeros of length %zu and %zu collide", k, n);
	}
	/* Every single-bit flip in a 300-byte buffer changes it. */
	for (size_t i = 0; i < 300; i++)
		buf[i] = (uint8_t)(i * 31 + 7);
	uint64_t h0 = ls_sys_hash(buf, 300);
	for (size_t bit = 0; bit < 300 * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_neq(ls_sys_hash(buf, 300), h0, "flip of bit %zu unnoticed", bit);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* Order matters: swapping two 32-byte rounds or two 16-byte halves. */
	uint8_t sw[64];
	memcpy(sw, buf + 32, 32);
	memcpy(sw + 32, buf, 32);
	cr_assert_neq(ls_sys_hash(sw, 64), ls_sys_hash(buf, 64));
	memcpy(sw, buf + 16, 16);
	memcpy(sw + 16, buf, 16);
	memcpy(sw + 32, buf + 32, 32);
	cr_assert_neq(ls_sys_hash(sw, 64), ls_sys_hash(buf, 64));
	/* Unaligned input is fine. */
	memcpy(sw + 1, buf, 40);
	cr_assert_eq(ls_sys_hash(sw + 1, 40), ls_sys_hash(buf, 40));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

Test(syslog, hash_no_collisions_on_counters)
{
	/* 2^16 consecutive 16-byte timespecs, the commonest output: all distinct. */
	enum { N = 1 << 16 };
	uint64_t *h = malloc(N * sizeof(*h));

	for (uint64_t i = 0; i < N; i++) {
		uint64_t ts[2] = { 1700000000 + i / 1000, (i % 1000) * 1000000 };
		h[i] = ls_sys_hash(ts, 16);
	}
	qsort(h, N, sizeof(*h), cmp_u64);
	for (size_t i = 1; i < N; i++)
		cr_assert_neq(h[i], h[i - 1]);
	free(h);
}
