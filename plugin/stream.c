/* SPDX-License-Identifier: MIT */
/*
 * stream.c - folding, publication, the permit wait and the record dump for
 * one vCPU stream.  Runs once per chunk, never per block.
 */
#include "stream.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define LS_READ_ONCE(x) (*(volatile __typeof__(x) *)&(x))

struct ls_gate_view ls_gate_view;
void (*ls_stream_hook)(void);

/* How often a stream held by the gate looks at its partner again (a chunk takes ~100 us to run). */
#define LS_GATE_POLL_NS 40000ull
/* ...and backs off once its partner has not moved for this long. */
#define LS_GATE_IDLE_NS 5000000ull

uint64_t ls_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * The ring, in 2 MiB pages where the kernel has transparent huge pages:
 * first-touch page faults cost ~10 us each under this hypervisor, and a
 * 16 MiB ring in 4 KiB pages takes 4096 of them (tens of ms a run, at
 * about 1 ns a block); in 2 MiB pages, 8.  Aligned by hand because mmap
 * only promises 4 KiB alignment.
 */
#define LS_HUGE (2u << 20)
static void *map_ring(size_t bytes)
{
	size_t span = bytes >= LS_HUGE ? bytes + LS_HUGE : bytes;
	uint8_t *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED || span == bytes)
		return p;
	uint8_t *a = (uint8_t *)(((uintptr_t)p + LS_HUGE - 1) & ~(uintptr_t)(LS_HUGE - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (a + bytes < p + span)
		munmap(a + bytes, (size_t)(p + span - (a + bytes)));
	madvise(a, bytes, MADV_HUGEPAGE); /* advice: without THP the ring works as before */
	return a;
}

int ls_stream_init(struct ls_stream *s, uint32_t vcpu, uint32_t batch_order, uint32_t ring_order)
{
	size_t bytes = sizeof(struct ls_rec) << ring_order;
	void *ring;

	if (batch_order > ring_order) {
		ls_stream_init_sink(s, vcpu);
		return -EINVAL;
	}
	memset(s, 0, sizeof(*s));
	/* Lazily backed: a short guest never touches most of the ring. */
	ring = map_ring(bytes);
	if (ring == MAP_FAILED) {
		int err = -errno;
		ls_stream_init_sink(s, vcpu); /* still safe to append to */
		return err;
	}
	s->ring = ring;
	s->cur = s->folded = s->ring;
	s->chunk_start = s->ring;
	s->chunk_end = s->ring + (1ull << batch_order);
	s->batch_order = batch_order;
	s->ring_order = ring_order;
	s->vcpu = vcpu;
	s->digest = LS_DIGEST_INIT;
	pthread_mutex_init(&s->mu, NULL);

	s->batch.magic = LS_MAGIC;
	s->batch.version = LS_WIRE_VERSION;
	s->batch.vcpu = vcpu;
	s->batch.ring_addr = (uint64_t)(uintptr_t)ring;
	s->batch.head_addr = (uint64_t)(uintptr_t)&s->cur;
	s->batch.ring_order = ring_order;
	s->batch.batch_order = batch_order;
	s->batch.permit_chunk = ~0ull;
	s->active = true;
	return 0;
}

void ls_stream_init_sink(struct ls_stream *s, uint32_t vcpu)
{
	memset(s, 0, sizeof(*s));
	s->vcpu = vcpu;
	s->cur = s->chunk_start = &s->sink;
	s->chunk_end = &s->sink + 1;
}

void ls_stream_fini(struct ls_stream *s)
{
	if (!s->active)
		return;
	munmap(s->ring, sizeof(struct ls_rec) << s->ring_order);
	s->ring = NULL;
	s->active = false;
	pthread_mutex_destroy(&s->mu);
}

/*
 * Chunks never wrap inside the ring, so [folded, cur) is contiguous.  This
 * loop is a real part of the plugin's cost over a counting plugin (about
 * 2.3 instructions a record with 4-lane vectors, measured with callgrind),
 * so it is written with two independent accumulators of the widest vectors
 * that are cheap here: 8 lanes where AVX-512 runs at full clock (AMD; Intel
 * cores drop their frequency for 512-bit work, which would slow QEMU's own
 * code), else 4 (an AVX2 clone, or plain SSE2 code).  The scalar tail
 * defines the result; every width gives the same digest.
 */
typedef uint64_t ls_v4 __attribute__((vector_size(32), aligned(8)));
typedef uint64_t ls_v8 __attribute__((vector_size(64), aligned(8)));

struct fold_acc {
	uint64_t d, n, mask;
	const uint64_t *p;
};

static void fold_tail(struct fold_acc *a, const uint64_t *end)
{
	for (; a->p < end; a->p++, a->mask += LS_DIGEST_K1) {
		a->d += *a->p ^ a->mask;
		a->n += *a->p >> LS_REC_PC_BITS;
	}
}

/* Locals, not *a, in the loop: the records are uint64_t and could alias the accumulators. */
#define FOLD_BODY(V, LANES)                                                                      \
	const uint64_t *p = a->p;                                                                \
	size_t iters = (size_t)(end - p) / (2 * (LANES));                                        \
	V d0 = { 0 }, d1 = { 0 }, n0 = { 0 }, n1 = { 0 }, m0, m1, step;                          \
	for (int j = 0; j < (LANES); j++) {                                                      \
		m0[j] = a->mask + (uint64_t)j * LS_DIGEST_K1;                                     \
		m1[j] = a->mask + (uint64_t)(j + (LANES)) * LS_DIGEST_K1;                         \
		step[j] = 2 * (LANES) * LS_DIGEST_K1;                                             \
	}                                                                                        \
	for (size_t i = 0; i < iters; i++, p += 2 * (LANES)) {                                   \
		V x = *(const V *)p, y = *(const V *)(p + (LANES));                               \
		d0 += x ^ m0;                                                                     \
		d1 += y ^ m1;                                                                     \
		n0 += x >> LS_REC_PC_BITS;                                                        \
		n1 += y >> LS_REC_PC_BITS;                                                        \
		m0 += step;                                                                       \
		m1 += step;                                                                       \
	}                                                                                        \
	uint64_t d = 0, n = 0;                                                                   \
	for (int j = 0; j < (LANES); j++) {                                                      \
		d += d0[j] + d1[j];                                                               \
		n += n0[j] + n1[j];                                                               \
	}                                                                                        \
	a->d += d;                                                                               \
	a->n += n;                                                                               \
	a->mask = m0[0];                                                                         \
	a->p = p;

__attribute__((target_clones("avx2", "default"))) static void fold_v4(struct fold_acc *a, const uint64_t *end)
{
	FOLD_BODY(ls_v4, 4)
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void fold_v8(struct fold_acc *a, const uint64_t *end)
{
	FOLD_BODY(ls_v8, 8)
}
#endif

/* 0 until chosen; tests force each width in turn. */
static unsigned fold_width;

unsigned ls_stream_fold_width(unsigned want)
{
#if defined(__x86_64__)
	if (!want)
		want = __builtin_cpu_supports("avx512f") && __builtin_cpu_is("amd") ? 8 : 4;
	if (want == 8 && !__builtin_cpu_supports("avx512f"))
		want = 4;
#else
	want = 4;
#endif
	fold_width = want;
	return want;
}

static void fold(struct ls_stream *s)
{
	struct fold_acc a = {
		.mask = ((s->chunk << s->batch_order) + (uint64_t)(s->folded - s->chunk_start)) * LS_DIGEST_K1,
		.p = s->folded,
	};
	const uint64_t *end = s->cur;

	if (__builtin_expect(!fold_width, 0))
		ls_stream_fold_width(0);
#if defined(__x86_64__)
	if (fold_width == 8)
		fold_v8(&a, end);
	else
#endif
		fold_v4(&a, end);
	fold_tail(&a, end);
	s->digest += a.d;
	s->insns += a.n;
	s->folded = s->cur;
}

uint64_t ls_gate_permit(const struct ls_gate_view *g, const struct ls_batch *b, uint64_t chunk, bool *hold)
{
	const struct ls_gate_state *st = g->state;
	uint32_t side = LS_READ_ONCE(b->gate_side), window = LS_READ_ONCE(b->gate_window);

	*hold = true;
	if (!st || side < 1 || side > 2 || !window || window > LS_WINDOW || b->vcpu >= LS_MAX_VCPUS)
		return 0; /* nothing to gate on: the monitor's next permit decides */
	const struct ls_gate_pair *p = &st->pairs[b->vcpu];
	uint32_t x = side - 1, y = x ^ 1;
	/* The progress first: the BPF program stores a freeze before the progress that showed it. */
	uint64_t me_first1 = LS_READ_ONCE(p->first1[x]), me_hi1 = LS_READ_ONCE(p->hi1[x]);
	uint64_t o_first1 = LS_READ_ONCE(p->first1[y]), o_hi1 = LS_READ_ONCE(p->hi1[y]);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (LS_READ_ONCE(st->freeze_gen) > LS_READ_ONCE(b->gate_thaw))
		return 0;
	*hold = false;
	return ls_permit_of(me_first1, me_hi1, o_first1, o_hi1, chunk, 0, 0, window);
}

/*
 * May the stream write chunk `next` (~0: may it exit)?  By its permit, or
 * under the gate by the correlator's state; *gated says which.
 */
static bool may_write(const struct ls_stream *s, uint64_t next, bool *gated, uint64_t *seen)
{
	uint64_t p = LS_READ_ONCE(s->batch.permit_chunk);
	bool hold;

	*gated = p == LS_PERMIT_GATE;
	if (*gated)
		p = ls_gate_permit(&ls_gate_view, &s->batch, next == ~0ull ? s->chunk : next, &hold);
	else
		hold = false;
	*seen = hold ? 0 : p;
	return !hold && next <= p;
}

/*
 * Wait at a chunk boundary while the permit (or the gate) says the partner
 * is too far behind.  The permit binds only while its lease runs, so a
 * monitor that dies (SIGKILL, OOM) stalls us for one lease at most, then we
 * run on alone; under the gate too, since a dead monitor's correlator stops
 * moving.
 */
static bool wait_for_permit(struct ls_stream *s, uint64_t next_chunk, uint64_t max_ns)
{
	bool capped = false;
	struct ls_batch *b = &s->batch;
	uint64_t backoff = 20000, gate_step = LS_GATE_POLL_NS, t0 = ls_mono_ns(), now = t0, seen, last = 0, moved = t0;
	bool gated = false, was_gated = false;

	while (!may_write(s, next_chunk, &gated, &seen)) {
		uint64_t until = LS_READ_ONCE(b->lease_until_ns);
		was_gated |= gated;
		/*
		 * Past the lease the permit binds no more: run on, leaving the
		 * permit as the monitor wrote it (it renews both together), and
		 * count each lease that lapsed once.
		 */
		if (now >= until) {
			if (until && until != s->lapsed_lease)
				s->lease_expiries++;
			s->lapsed_lease = until;
			break;
		}
		/* A monitor that renews its lease but never lets go must not hold us forever either. */
		if (now - t0 >= max_ns) {
			capped = true;
			break;
		}
		s->hold_polls++;
		if (ls_stream_hook)
			ls_stream_hook();
		/*
		 * The gate shows the partner's progress at once: look again soon
		 * while it moves (a chunk takes it some 100-300 us, so sleeping
		 * longer only makes this side the one behind next), less often
		 * once it has not moved for a while (stopped, or in a long
		 * syscall).  A permit changes at the monitor's tick.
		 */
		if (gated && seen != last) {
			gate_step = LS_GATE_POLL_NS;
			moved = now;
		} else if (gated && now - moved > LS_GATE_IDLE_NS && gate_step < 1000000) {
			gate_step *= 2;
		}
		last = seen;
		uint64_t step = gated ? gate_step : backoff;
		uint64_t wait = until - now < step ? until - now : step;
		if (max_ns - (now - t0) < wait)
			wait = max_ns - (now - t0);
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)wait };
		nanosleep(&ts, NULL);
		if (!gated && backoff < 1000000)
			backoff *= 2;
		now = ls_mono_ns();
	}
	if (now != t0) { /* it slept: a hold, not a lapsed lease looked at again */
		s->holds++;
		if (was_gated)
			s->gate_holds++;
	}
	s->hold_ns += now - t0;
	return !capped;
}

static void dump(struct ls_stream *s, uint64_t seq)
{
	uint64_t ring_mask = (1ull << s->ring_order) - 1;

	while (s->dumped_seq < seq) {
		uint64_t idx = s->dumped_seq & ring_mask;
		uint64_t n = seq - s->dumped_seq;
		if (n > ring_mask + 1 - idx)
			n = ring_mask + 1 - idx;
		fwrite(&s->ring[idx], sizeof(uint64_t), n, s->dump);
		s->dumped_seq += n;
	}
}

void ls_stream_publish(struct ls_stream *s, uint16_t flags)
{
	struct ls_batch *b = &s->batch;
	uint64_t seq = ls_stream_seq(s);

	fold(s);
	if (s->dump)
		dump(s, seq); /* before the handshake, so a held guest has its dump written */
	b->flags = flags;
	b->chunk = s->chunk;
	b->nblocks = (uint32_t)(seq - (s->chunk << s->batch_order));
	b->digest = s->digest;
	b->insn_base = s->chunk_insn_base;
	b->insns = s->insns - s->chunk_insn_base;
	b->pub_id++;
	lockstep_publish(b);
	s->publications++;
	s->published_seq = seq;
}

void ls_stream_chunk_full(struct ls_stream *s)
{
	uint64_t chunk_len = 1ull << s->batch_order;

	if (__builtin_expect(!s->active, 0)) {
		s->unrecorded++;
		s->cur = &s->sink;
		return;
	}

	ls_stream_publish(s, LS_PUB_FULL);
	s->chunk++;
	if (ls_stream_hook)
		ls_stream_hook();
	bool gated;
	uint64_t seen;
	if (__builtin_expect(!may_write(s, s->chunk, &gated, &seen), 0))
		wait_for_permit(s, s->chunk, ~0ull);
	s->digest = LS_DIGEST_INIT;
	s->chunk_insn_base = s->insns;
	if (s->chunk_end == s->ring + (1ull << s->ring_order))
		s->cur = s->ring;
	s->folded = s->chunk_start = s->cur;
	s->chunk_end = s->cur + chunk_len;
}

bool ls_stream_wait_final(struct ls_stream *s, uint64_t max_ns)
{
	/* No chunk comes after ~0: a release (permit ~0), the lease running out, or max_ns end the wait. */
	return wait_for_permit(s, ~0ull, max_ns);
}

bool ls_stream_wait_monitor(struct ls_stream *s, uint64_t timeout_ns)
{
	uint64_t deadline = ls_mono_ns() + timeout_ns;

	/* A monitor announces itself by granting the first lease. */
	while (!LS_READ_ONCE(s->batch.lease_until_ns)) {
		if (ls_mono_ns() >= deadline)
			return false;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 1000000 };
		nanosleep(&ts, NULL);
	}
	return true;
}
