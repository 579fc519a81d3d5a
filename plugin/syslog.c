/* SPDX-License-Identifier: MIT */
/* syslog.c - one vCPU's syscall log (syslog.h): records, safe output reads, the output hash. */
#include "syslog.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

/*
 * process_vm_readv needs our own pid.  glibc no longer caches getpid(), and
 * a syscall per output is a visible part of the budget, so it is cached and
 * refreshed in the child of a fork (QEMU runs a guest's fork as a real
 * fork): a stale pid would read the parent's memory.
 */
static pid_t self_pid;
static pthread_once_t pid_once = PTHREAD_ONCE_INIT;
static uint64_t host_page = 4096;

static void refresh_pid(void)
{
	__atomic_store_n(&self_pid, getpid(), __ATOMIC_RELAXED);
}

static void init_pid(void)
{
	long pg = sysconf(_SC_PAGESIZE);

	if (pg > 0)
		host_page = (uint64_t)pg;
	refresh_pid();
	pthread_atfork(NULL, NULL, refresh_pid);
}

int ls_syslog_init(struct ls_syslog *l, struct ls_batch *b, uint32_t order, enum ls_arch arch)
{
	size_t bytes = sizeof(struct ls_sys_rec) << order;
	void *ring;

	pthread_once(&pid_once, init_pid);
	memset(l, 0, sizeof(*l));
	/* Lazily backed: 8 MiB of address space by default, a page per 32 syscalls in use. */
	ring = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ring == MAP_FAILED)
		return -errno;
	l->ring = ring;
	l->order = order;
	l->mask = (1ull << order) - 1;
	l->arch = arch;
	l->batch = b;
	b->sys_next = 0;
	b->sys_addr = (uint64_t)(uintptr_t)ring;
	return 0;
}

void ls_syslog_fini(struct ls_syslog *l)
{
	if (l->ring)
		munmap(l->ring, sizeof(struct ls_sys_rec) << l->order);
	l->ring = NULL;
	free(l->buf);
	l->buf = NULL;
}

void ls_syslog_enter(struct ls_syslog *l, uint64_t seq, int64_t num, const uint64_t args[6])
{
	uint64_t i = l->next;
	struct ls_sys_rec *r = &l->ring[i & l->mask];
	struct ls_sys_rec rec = { .seq = seq, .num = num };

	/* An entry still pending (exit, or a return QEMU never reported) stays ENTERED. */
	memcpy(rec.args, args, sizeof(rec.args));
	/* A reader copying this slot now sees state 0 rather than the old record's. */
	__atomic_store_n(&r->state, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(r, &rec, offsetof(struct ls_sys_rec, state));
	memset(r->out_head, 0, sizeof(r->out_head));
	__atomic_store_n(&r->state, (uint16_t)LS_SYS_ENTERED, __ATOMIC_RELEASE);
	l->next = i + 1;
	l->pending = true;
	__atomic_store_n(&l->batch->sys_next, i + 1, __ATOMIC_RELEASE);
}

/* 0 when all n bytes at host address src were copied into dst. */
static int read_self(void *dst, uint64_t src, size_t n)
{
	struct iovec local = { .iov_base = dst, .iov_len = n };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)src, .iov_len = n };
	ssize_t got = process_vm_readv(__atomic_load_n(&self_pid, __ATOMIC_RELAXED), &local, 1, &remote, 1, 0);

	if (got == (ssize_t)n)
		return 0;
	return got < 0 ? errno : EFAULT; /* partly unmapped: as unreadable as not at all */
}

/*
 * Whether a successful call certainly had QEMU write (or at least check)
 * the start of its output.  QEMU's waitid writes the siginfo only when a
 * child was found (si_pid != 0), so with WNOHANG and nothing to report the
 * pointer is never checked: read it the checked way.
 */
static bool qemu_wrote_output(const struct ls_syslog *l, int64_t num)
{
	const char *name = ls_sys_name(l->arch, num);

	return !name || strcmp(name, "waitid") != 0;
}

void ls_syslog_return(struct ls_syslog *l, int64_t num, int64_t ret, enum ls_read_mode mode, uint64_t guest_base)
{
	struct ls_sys_rec *r;
	uint16_t state = LS_SYS_RETURNED;
	uint64_t addr, len, hash = 0, args[6];
	uint32_t out_len = 0;
	uint8_t head[LS_SYS_HEAD] = { 0 };

	if (!l->pending) {
		l->unmatched++;
		return;
	}
	r = &l->ring[(l->next - 1) & l->mask];
	l->pending = false;
	if (r->num != num) {
		l->unmatched++; /* not the call we saw enter: leave that one ENTERED */
		return;
	}
	memcpy(args, r->args, sizeof(args));
	if (ls_sys_output(l->arch, num, args, ret, &addr, &len)) {
		size_t n = len < LS_SYS_HASH_CAP ? (size_t)len : LS_SYS_HASH_CAP;
		const uint8_t *out = NULL;
		int err = ENXIO; /* guest_base unknown */

		out_len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
		if (l->arch == LS_ARCH_AARCH64)
			addr &= (1ull << 56) - 1; /* top-byte-ignore: QEMU drops the tag too */
		uint64_t host = guest_base + addr;
		bool one_page = (host & ~(host_page - 1)) == ((host + n - 1) & ~(host_page - 1));
		bool all_written = ret > 0 && (uint64_t)ret == len; /* read and friends: every byte */
		if (mode == LS_READ_DIRECT && host >= guest_base && host + n > host && (one_page || all_written) &&
		    qemu_wrote_output(l, num)) {
			out = (const uint8_t *)(uintptr_t)host;
			l->out_direct++;
		} else if (mode != LS_READ_NONE) {
			if (!l->buf && !(l->buf = malloc(LS_SYS_HASH_CAP)))
				err = ENOMEM;
			else if ((err = read_self(l->buf, host, n)) == 0)
				out = l->buf;
		}
		if (out) {
			/* A stat of a pipe differs in any two runs: hash what a guest acts on (ls_sys_out_denoise). */
			uint8_t calm[256];
			if (n <= sizeof(calm)) {
				memcpy(calm, out, n);
				if (ls_sys_out_denoise(l->arch, num, calm, n))
					l->denoised++;
				hash = ls_sys_hash(calm, n);
			} else {
				hash = ls_sys_hash(out, n);
			}
			memcpy(head, out, n < sizeof(head) ? n : sizeof(head));
			l->outputs++;
			l->out_bytes += n;
			l->out_capped += len > n;
		} else {
			state = LS_SYS_OUT_UNREADABLE;
			l->unreadable++;
			l->last_read_errno = err;
		}
	}
	r->ret = ret;
	r->out_hash = hash;
	r->out_len = out_len;
	memcpy(r->out_head, head, sizeof(head));
	__atomic_store_n(&r->state, state, __ATOMIC_RELEASE);
	l->returned++;
}

/*
 * The output hash.  Two independent lanes take 16 bytes each per round: the
 * 128-bit product of the two keyed words, folded to 64 bits, is added into
 * the lane after a rotation (so the order of rounds matters).  The last
 * partial round is zero-padded; the length is in the seed, so padding never
 * collides with real zeros.  About 8 bytes a cycle.
 */
#define H_K0 0xa0761d6478bd642full
#define H_K1 0xe7037ed1a0b428dbull
#define H_K2 0x8ebc6af09c88c6e3ull
#define H_K3 0x589965cc75374cc3ull
#define H_K4 0x1d8e4e27c47d124full

static inline uint64_t mum(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t rotl(uint64_t v, unsigned s)
{
	return (v << s) | (v >> (64 - s));
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

uint64_t ls_sys_hash(const void *data, size_t n)
{
	const uint8_t *p = data;
	uint64_t a = H_K0 ^ (uint64_t)n, b = H_K1 + (uint64_t)n, h;
	size_t left = n;
	uint8_t tail[32];

	for (; left >= 32; p += 32, left -= 32) {
		a = rotl(a, 23) + mum(load64(p) ^ H_K2, load64(p + 8) ^ H_K3);
		b = rotl(b, 23) + mum(load64(p + 16) ^ H_K2, load64(p + 24) ^ H_K3);
	}
	if (left) {
		memset(tail, 0, sizeof(tail));
		memcpy(tail, p, left);
		a = rotl(a, 23) + mum(load64(tail) ^ H_K2, load64(tail + 8) ^ H_K3);
		b = rotl(b, 23) + mum(load64(tail + 16) ^ H_K2, load64(tail + 24) ^ H_K3);
	}
	h = mum(a ^ H_K4, b ^ H_K1);
	h = mum(h ^ H_K0, (uint64_t)n ^ H_K3) ^ h;
	return h ? h : 1;
}
