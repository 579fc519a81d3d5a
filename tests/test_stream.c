/* test_stream.c - the plugin's per-vCPU stream: ring, chunk digest, publication, permit wait, dump, and a user-space end-to-end run through the correlator. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "correlate.h"
#include "history.h"
#include "stream.h"

#define ORDER 8
#define RING_ORDER 14
#define CHUNK (1ULL << ORDER)
#define RING_LEN (1ULL << RING_ORDER)
#define MS 1000000ULL

/* ---- the fake uprobe target ---- */

#define MAX_CALLS 8192
static struct ls_batch calls[MAX_CALLS];
static const struct ls_batch *call_ptr[MAX_CALLS];
static uint64_t call_ns[MAX_CALLS];
static unsigned ncalls;
static void (*publish_hook)(struct ls_batch *b);

void lockstep_publish(struct ls_batch *b)
{
	if (ncalls < MAX_CALLS) {
		calls[ncalls] = *b;
		call_ptr[ncalls] = b;
		call_ns[ncalls] = ls_mono_ns();
	}
	ncalls++;
	if (publish_hook)
		publish_hook(b);
}

/* ---- an independent model of what the stream must publish ---- */

static uint64_t word_at(uint64_t seq)
{
	return ls_rec_make(0x400000 + seq * 24 + (seq % 5) * 0x1000, (uint32_t)(1 + seq % 7));
}

static uint64_t expect_digest(uint64_t (*w)(uint64_t), uint64_t first_seq, uint64_t n)
{
	uint64_t d = LS_DIGEST_INIT;

	for (uint64_t i = 0; i < n; i++)
		d += ls_digest_term(w(first_seq + i), first_seq + i);
	return d;
}

static uint64_t expect_insns(uint64_t (*w)(uint64_t), uint64_t from, uint64_t to)
{
	uint64_t n = 0;

	for (uint64_t s = from; s < to; s++)
		n += ls_rec_ninsns(w(s));
	return n;
}

static void feed(struct ls_stream *s, uint64_t (*w)(uint64_t), uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		ls_stream_append(s, w(ls_stream_seq(s)));
}

static void check_call(unsigned i, uint16_t flags, uint64_t chunk, uint32_t nblocks)
{
	const struct ls_batch *b = &calls[i];
	uint64_t seq = chunk << ORDER;

	cr_assert_eq(b->flags, flags, "call %u", i);
	cr_assert_eq(b->chunk, chunk, "call %u", i);
	cr_assert_eq(b->nblocks, nblocks, "call %u", i);
	cr_assert_eq(b->digest, expect_digest(word_at, seq, nblocks), "call %u", i);
	cr_assert_eq(b->insn_base, expect_insns(word_at, 0, seq), "call %u", i);
	cr_assert_eq(b->insns, expect_insns(word_at, seq, seq + nblocks), "call %u", i);
	cr_assert_eq(b->pub_id, i + 1, "call %u", i);
}

static struct ls_stream s;

static void setup(void)
{
	cr_assert_eq(ls_stream_init(&s, 5, ORDER, RING_ORDER), 0);
}

static void teardown(void)
{
	ls_stream_fini(&s);
}

TestSuite(stream, .init = setup, .fini = teardown, .timeout = 30);

Test(stream, init_fills_the_batch)
{
	cr_assert_eq(s.batch.magic, LS_MAGIC);
	cr_assert_eq(s.batch.version, LS_WIRE_VERSION);
	cr_assert_eq(s.batch.vcpu, 5);
	cr_assert_eq(s.batch.ring_order, RING_ORDER);
	cr_assert_eq(s.batch.batch_order, ORDER);
	cr_assert_eq(s.batch.ring_addr, (uint64_t)(uintptr_t)s.ring);
	cr_assert_eq(s.batch.head_addr, (uint64_t)(uintptr_t)&s.cur);
	cr_assert_eq(s.batch.permit_chunk, ~0ULL, "unmonitored: no limit");
	cr_assert_eq(s.batch.lease_until_ns, 0);
	cr_assert_eq(s.batch.pub_id, 0);
	cr_assert_eq(ls_stream_seq(&s), 0);
}

Test(stream, init_refuses_chunk_larger_than_ring)
{
	struct ls_stream t;

	cr_assert_eq(ls_stream_init(&t, 0, 15, 14), -EINVAL);
}

Test(stream, full_chunk_publishes_exactly_once)
{
	feed(&s, word_at, CHUNK - 1);
	cr_assert_eq(ncalls, 0);
	cr_assert_eq(ls_stream_seq(&s), CHUNK - 1);
	feed(&s, word_at, 1);
	cr_assert_eq(ncalls, 1);
	cr_assert_eq(call_ptr[0], &s.batch, "the uprobe argument is the stream's own batch");
	check_call(0, LS_PUB_FULL, 0, CHUNK);
	cr_assert_eq(calls[0].vcpu, 5);
	cr_assert_eq(calls[0].magic, LS_MAGIC);
	cr_assert_eq(s.chunk, 1);
	cr_assert_eq(ls_stream_seq(&s), CHUNK);
	cr_assert_eq(s.publications, 1);
	cr_assert_eq(s.published_seq, CHUNK);
	cr_assert_eq(s.ring[0], word_at(0));
	cr_assert_eq(s.ring[CHUNK - 1], word_at(CHUNK - 1));
}

Test(stream, ring_wraps_and_digests_stay_right)
{
	const uint64_t nchunks = 200; /* the ring holds 64 chunks: wraps three times */

	feed(&s, word_at, nchunks * CHUNK);
	cr_assert_eq(ncalls, nchunks);
	for (unsigned i = 0; i < nchunks; i++)
		check_call(i, LS_PUB_FULL, i, CHUNK);
	/* The monitor finds block seq at ring[seq & mask] and the head at cur. */
	uint64_t end = nchunks * CHUNK;
	for (uint64_t q = end - RING_LEN; q < end; q++)
		cr_assert_eq(s.ring[q & (RING_LEN - 1)], word_at(q), "seq %llu", (unsigned long long)q);
	cr_assert_eq(s.cur, s.ring + (end & (RING_LEN - 1)));
	cr_assert_eq(ls_stream_seq(&s), end);
	cr_assert_eq(s.insns, expect_insns(word_at, 0, end));
}

Test(stream, partial_publication_then_full)
{
	feed(&s, word_at, 100);
	ls_stream_publish(&s, LS_PUB_PARTIAL);
	cr_assert_eq(ncalls, 1);
	check_call(0, LS_PUB_PARTIAL, 0, 100);
	cr_assert_eq(ls_stream_seq(&s), 100, "a flush does not move the stream");
	cr_assert_eq(s.published_seq, 100);

	feed(&s, word_at, 20);
	ls_stream_publish(&s, LS_PUB_PARTIAL);
	check_call(1, LS_PUB_PARTIAL, 0, 120);

	feed(&s, word_at, CHUNK - 120);
	cr_assert_eq(ncalls, 3);
	check_call(2, LS_PUB_FULL, 0, CHUNK);

	/* A flush in the next chunk starts a fresh digest on the right instruction base. */
	feed(&s, word_at, 10);
	ls_stream_publish(&s, LS_PUB_PARTIAL);
	check_call(3, LS_PUB_PARTIAL, 1, 10);
	feed(&s, word_at, CHUNK - 10);
	check_call(4, LS_PUB_FULL, 1, CHUNK);
}

Test(stream, every_split_of_a_chunk_folds_the_same)
{
	/* The fold runs 8 records a step plus a scalar tail: cover every tail length and offset. */
	uint64_t fed = 0;
	unsigned step = 1;

	while (fed + step < CHUNK) {
		feed(&s, word_at, step);
		fed += step;
		ls_stream_publish(&s, LS_PUB_PARTIAL);
		check_call(ncalls - 1, LS_PUB_PARTIAL, 0, (uint32_t)fed);
		step = step % 19 + 1;
	}
	feed(&s, word_at, CHUNK - fed);
	check_call(ncalls - 1, LS_PUB_FULL, 0, CHUNK);
}

/* Every vector width the fold may pick gives the reference digest, for every tail length. */
Test(stream, every_fold_width_gives_the_same_digest)
{
	const unsigned widths[] = { 4, 8 };

	for (unsigned w = 0; w < 2; w++) {
		unsigned got = ls_stream_fold_width(widths[w]);
		if (got != widths[w]) {
			cr_log_info("this CPU has no %u-lane fold; checked %u lanes instead", widths[w], got);
		}
		ls_stream_fini(&s);
		cr_assert_eq(ls_stream_init(&s, 5, ORDER, RING_ORDER), 0);
		ncalls = 0;
		uint64_t fed = 0;
		for (unsigned step = 1; fed + step < CHUNK; step = step % 37 + 1) {
			feed(&s, word_at, step);
			fed += step;
			ls_stream_publish(&s, LS_PUB_PARTIAL);
			check_call(ncalls - 1, LS_PUB_PARTIAL, 0, (uint32_t)fed);
		}
		feed(&s, word_at, 3 * CHUNK - fed);
		check_call(ncalls - 1, LS_PUB_FULL, 2, CHUNK);
	}
	ls_stream_fold_width(0);
}

Test(stream, a_sink_counts_and_never_publishes)
{
	struct ls_stream t;

	ls_stream_init_sink(&t, 9);
	for (int i = 0; i < 1000; i++)
		ls_stream_append(&t, word_at((uint64_t)i));
	cr_assert_eq(t.unrecorded, 1000);
	cr_assert_eq(t.cur, &t.sink);
	cr_assert_eq(ncalls, 0, "a stream without a ring publishes nothing");
	cr_assert_eq(ls_stream_init(&t, 0, 15, 14), -EINVAL);
	ls_stream_append(&t, 1);
	cr_assert_eq(t.unrecorded, 1, "a failed init leaves a sink behind");
	ls_stream_fini(&t);
}

Test(stream, partial_across_the_ring_end)
{
	feed(&s, word_at, RING_LEN + 33);
	ls_stream_publish(&s, LS_PUB_PARTIAL);
	unsigned last = ncalls - 1;
	cr_assert_eq(last, RING_LEN / CHUNK);
	check_call(last, LS_PUB_PARTIAL, RING_LEN / CHUNK, 33);
}

Test(stream, final_at_a_chunk_boundary_is_empty)
{
	feed(&s, word_at, CHUNK);
	ls_stream_publish(&s, LS_PUB_FINAL);
	cr_assert_eq(ncalls, 2);
	check_call(1, LS_PUB_FINAL, 1, 0);
	cr_assert_eq(calls[1].digest, LS_DIGEST_INIT);
}

Test(stream, dump_writes_every_record_in_order)
{
	const uint64_t n = 100 * CHUNK + 37;
	FILE *f = tmpfile();

	cr_assert_not_null(f);
	s.dump = f;
	feed(&s, word_at, n);
	ls_stream_publish(&s, LS_PUB_FINAL);
	cr_assert_eq(s.dumped_seq, n);
	fflush(f);
	cr_assert_eq(ftell(f), (long)(n * sizeof(uint64_t)));
	rewind(f);
	for (uint64_t q = 0; q < n; q++) {
		uint64_t w;
		cr_assert_eq(fread(&w, sizeof(w), 1, f), 1);
		cr_assert_eq(w, word_at(q), "seq %llu", (unsigned long long)q);
	}
	fclose(f);
	s.dump = NULL;
}

/* ---- the permit ---- */

Test(stream, holds_until_the_lease_expires)
{
	s.batch.permit_chunk = 0;
	s.batch.lease_until_ns = ls_mono_ns() + 50 * MS;
	feed(&s, word_at, CHUNK - 1);
	uint64_t t0 = ls_mono_ns();
	feed(&s, word_at, 1);
	uint64_t t1 = ls_mono_ns();

	cr_assert_eq(ncalls, 1);
	cr_assert_geq(t1 - t0, 40 * MS, "waited %llu ns", (unsigned long long)(t1 - t0));
	cr_assert_geq(t1 - call_ns[0], 40 * MS, "the chunk was published before the hold");
	cr_assert_eq(s.lease_expiries, 1);
	cr_assert_eq(s.batch.permit_chunk, 0, "the permit is the monitor's: left as it wrote it, binding no more");
	cr_assert_gt(s.hold_polls, 0);
	cr_assert_geq(s.hold_ns, 40 * MS);
	/* Running on alone: the next chunks do not wait, and the lapse is counted once. */
	uint64_t polls = s.hold_polls;
	feed(&s, word_at, 3 * CHUNK);
	cr_assert_eq(ncalls, 4);
	cr_assert_eq(s.lease_expiries, 1);
	cr_assert_eq(s.hold_polls, polls);
	/* A renewed lease makes the same permit bind again. */
	s.batch.lease_until_ns = ls_mono_ns() + 30 * MS;
	t0 = ls_mono_ns();
	feed(&s, word_at, CHUNK);
	cr_assert_geq(ls_mono_ns() - t0, 25 * MS, "held again");
	cr_assert_eq(s.lease_expiries, 2);
}

Test(stream, no_wait_within_the_permit)
{
	s.batch.permit_chunk = 5;
	s.batch.lease_until_ns = ls_mono_ns() + 3600ULL * 1000 * MS;
	feed(&s, word_at, 5 * CHUNK);
	cr_assert_eq(s.chunk, 5);
	cr_assert_eq(s.hold_polls, 0);
	cr_assert_eq(s.hold_ns, 0);
	cr_assert_eq(s.lease_expiries, 0);
	cr_assert_eq(s.batch.permit_chunk, 5);
}

Test(stream, never_monitored_does_not_wait)
{
	/* lease_until_ns == 0: no monitor ever attached, so a permit must not bind. */
	s.batch.permit_chunk = 0;
	feed(&s, word_at, 2 * CHUNK);
	cr_assert_eq(ncalls, 2);
	cr_assert_eq(s.lease_expiries, 0);
	cr_assert_eq(s.hold_polls, 0);
	cr_assert_eq(s.holds, 0);
}

Test(stream, lease_already_expired)
{
	s.batch.permit_chunk = 0;
	s.batch.lease_until_ns = 1;
	feed(&s, word_at, CHUNK);
	cr_assert_eq(s.lease_expiries, 1);
	cr_assert_eq(s.hold_polls, 0);
	cr_assert_eq(s.holds, 0, "a lapsed lease is no hold");
}

struct delayed {
	__u64 *target;
	uint64_t value;
	uint64_t delay_ns;
	__u32 *target32; /* instead of target, for the correlator's 32-bit flags */
};

static void *write_later(void *arg)
{
	struct delayed *d = arg;
	struct timespec ts = { .tv_sec = (time_t)(d->delay_ns / 1000000000ULL),
			       .tv_nsec = (long)(d->delay_ns % 1000000000ULL) };

	nanosleep(&ts, NULL);
	if (d->target32)
		__atomic_store_n(d->target32, (__u32)d->value, __ATOMIC_SEQ_CST);
	else
		__atomic_store_n(d->target, d->value, __ATOMIC_SEQ_CST);
	return NULL;
}

Test(stream, a_raised_permit_ends_the_hold)
{
	struct delayed d = { &s.batch.permit_chunk, 100, 30 * MS, NULL };
	pthread_t t;

	s.batch.permit_chunk = 0;
	s.batch.lease_until_ns = ls_mono_ns() + 3600ULL * 1000 * MS;
	feed(&s, word_at, CHUNK - 1);
	uint64_t t0 = ls_mono_ns();
	cr_assert_eq(pthread_create(&t, NULL, write_later, &d), 0);
	feed(&s, word_at, 1);
	uint64_t t1 = ls_mono_ns();
	pthread_join(t, NULL);

	cr_assert_geq(t1 - t0, 25 * MS);
	cr_assert_lt(t1 - t0, 10000 * MS, "the hold must end when the permit moves, not at lease expiry");
	cr_assert_eq(s.lease_expiries, 0);
	cr_assert_eq(s.batch.permit_chunk, 100, "a live permit is left as the monitor wrote it");
	cr_assert_eq(s.chunk, 1);
}

Test(stream, wait_monitor_times_out)
{
	uint64_t t0 = ls_mono_ns();

	cr_assert_eq(ls_stream_wait_monitor(&s, 30 * MS), false);
	cr_assert_geq(ls_mono_ns() - t0, 30 * MS);
}

Test(stream, wait_monitor_sees_a_lease)
{
	struct delayed d = { &s.batch.lease_until_ns, 0, 20 * MS, NULL };
	pthread_t t;

	d.value = ls_mono_ns() + 1000 * MS;
	uint64_t t0 = ls_mono_ns();
	cr_assert_eq(pthread_create(&t, NULL, write_later, &d), 0);
	cr_assert_eq(ls_stream_wait_monitor(&s, 20000 * MS), true);
	uint64_t t1 = ls_mono_ns();
	pthread_join(t, NULL);
	cr_assert_geq(t1 - t0, 15 * MS);
	cr_assert_lt(t1 - t0, 10000 * MS);
}

Test(stream, wait_monitor_with_lease_already_granted)
{
	s.batch.lease_until_ns = 1;
	cr_assert_eq(ls_stream_wait_monitor(&s, 0), true);
}

Test(stream, wait_final_without_a_monitor_returns_at_once)
{
	uint64_t t0 = ls_mono_ns();

	s.batch.permit_chunk = 3; /* a permit without a lease binds nothing */
	ls_stream_wait_final(&s, ~0ull);
	cr_assert_lt(ls_mono_ns() - t0, 20 * MS);
	cr_assert_eq(s.lease_expiries, 0);
}

/* ls_stream_wait_final must return once another thread has done what d says, 30 ms from now. */
static void wait_final_until(struct delayed *d)
{
	pthread_t t;
	uint64_t t0 = ls_mono_ns();

	cr_assert_eq(pthread_create(&t, NULL, write_later, d), 0);
	ls_stream_wait_final(&s, ~0ull);
	uint64_t t1 = ls_mono_ns();
	pthread_join(t, NULL);
	cr_assert_geq(t1 - t0, 25 * MS, "returned before the release");
	cr_assert_lt(t1 - t0, 2000 * MS);
	cr_assert_eq(s.lease_expiries, 0);
}

Test(stream, wait_final_until_the_monitor_releases)
{
	struct delayed d = { &s.batch.permit_chunk, ~0ull, 30 * MS, NULL };

	s.batch.permit_chunk = 3;
	s.batch.lease_until_ns = ls_mono_ns() + 5000 * MS;
	wait_final_until(&d);
}

Test(stream, wait_final_ends_with_the_lease)
{
	s.batch.permit_chunk = 3;
	s.batch.lease_until_ns = ls_mono_ns() + 40 * MS;
	uint64_t t0 = ls_mono_ns();
	ls_stream_wait_final(&s, ~0ull);
	uint64_t dt = ls_mono_ns() - t0;
	cr_assert_geq(dt, 35 * MS);
	cr_assert_lt(dt, 2000 * MS);
	cr_assert_eq(s.lease_expiries, 1, "a dead monitor's lease running out is counted");
}

Test(stream, wait_final_has_a_bound_even_under_a_renewed_lease)
{
	/* A monitor alive but stuck: its lease outlasts the bound, it never releases. */
	s.batch.permit_chunk = 3;
	s.batch.lease_until_ns = ls_mono_ns() + 60000 * MS;
	uint64_t t0 = ls_mono_ns();
	cr_assert_eq(ls_stream_wait_final(&s, 50 * MS), false, "the bound ran out");
	uint64_t dt = ls_mono_ns() - t0;
	cr_assert_geq(dt, 45 * MS);
	cr_assert_lt(dt, 5000 * MS);
	s.batch.permit_chunk = ~0ull;
	cr_assert_eq(ls_stream_wait_final(&s, 50 * MS), true, "a release is not the bound");
}

/* ---- end to end in user space: two streams, the correlator as the uprobe ---- */

static struct ls_stream pair_s[2];
static struct ls_pair_state pst;
static struct ls_control pctl;
static unsigned verdicts[3];
static struct ls_event first_ev;
static unsigned diverge_call;

static uint64_t bad_seq = ~0ULL;

static uint64_t word_b(uint64_t seq)
{
	/* Same block address, one more instruction: a block cut differently. */
	return seq == bad_seq ? ls_rec_make(ls_rec_pc(word_at(seq)), ls_rec_ninsns(word_at(seq)) + 1) : word_at(seq);
}

static void correlate_hook(struct ls_batch *b)
{
	__u32 side = b == &pair_s[1].batch;
	struct ls_event ev = { 0 };
	enum ls_verdict v = ls_correlate(&pst, &pctl, side, b, (__u64)(uintptr_t)b, &ev, LS_WINDOW);

	verdicts[v]++;
	if (v == LS_DIVERGE && verdicts[v] == 1) {
		first_ev = ev;
		diverge_call = ncalls;
	}
}

static void run_pair(uint64_t nblocks, uint64_t flush_at)
{
	for (int i = 0; i < 2; i++)
		cr_assert_eq(ls_stream_init(&pair_s[i], 0, ORDER, RING_ORDER), 0);
	publish_hook = correlate_hook;
	for (uint64_t q = 0; q < nblocks; q++) {
		ls_stream_append(&pair_s[0], word_at(q));
		ls_stream_append(&pair_s[1], word_b(q));
		if (q + 1 == flush_at) {
			ls_stream_publish(&pair_s[0], LS_PUB_PARTIAL);
			ls_stream_publish(&pair_s[1], LS_PUB_PARTIAL);
		}
	}
	ls_stream_publish(&pair_s[1], LS_PUB_FINAL);
	ls_stream_publish(&pair_s[0], LS_PUB_FINAL);
}

Test(stream, end_to_end_identical_streams)
{
	const uint64_t n = 40 * CHUNK + 77;

	run_pair(n, 19 * CHUNK + 13);
	cr_assert_eq(verdicts[LS_DIVERGE], 0);
	cr_assert_eq(verdicts[LS_MISMATCH], 0);
	cr_assert_eq(pctl.frozen, 0);
	cr_assert_eq(pst.compared_blocks, n);
	cr_assert_eq(pst.compared_insns, expect_insns(word_at, 0, n));
	cr_assert_eq(pst.start1, 1);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(pst.side[i].pub_end, n);
		cr_assert_eq(pst.side[i].final, 1);
		cr_assert_eq(pst.side[i].overruns, 0);
		cr_assert_eq(pst.side[i].uncompared_late, 0);
		ls_stream_fini(&pair_s[i]);
	}
}

Test(stream, end_to_end_one_block_differs)
{
	bad_seq = 1000; /* chunk 3, blocks 768..1023 */
	run_pair(10 * CHUNK, 0);

	cr_assert_eq(verdicts[LS_DIVERGE], 1, "reported once, then frozen");
	cr_assert_eq(pctl.frozen, 1);
	cr_assert_eq(first_ev.chunk, 3);
	cr_assert_eq(first_ev.range_lo, 3 * CHUNK);
	cr_assert_eq(first_ev.range_hi, 4 * CHUNK);
	cr_assert_eq(first_ev.side, 1, "B published chunk 3 second");
	cr_assert_eq(first_ev.digest[0], expect_digest(word_at, 3 * CHUNK, CHUNK));
	cr_assert_eq(first_ev.digest[1], expect_digest(word_b, 3 * CHUNK, CHUNK));
	cr_assert_eq(first_ev.insn_end[0], expect_insns(word_at, 0, 4 * CHUNK));
	cr_assert_eq(first_ev.insn_end[1], expect_insns(word_at, 0, 4 * CHUNK) + 1);
	cr_assert_eq(first_ev.batch_addr[0], (uint64_t)(uintptr_t)&pair_s[0].batch);
	cr_assert_eq(first_ev.batch_addr[1], (uint64_t)(uintptr_t)&pair_s[1].batch);
	cr_assert_eq(pst.compared_blocks, 3 * CHUNK);

	/* What the monitor does next: find the exact block in the two rings. */
	struct ls_side_records r[2];
	for (int i = 0; i < 2; i++)
		r[i] = (struct ls_side_records){ .first_seq = 0, .n = 10 * CHUNK, .words = pair_s[i].ring };
	uint64_t at = 0;
	cr_assert_eq(ls_first_divergence(r, first_ev.range_lo, first_ev.range_hi, &at), 0);
	cr_assert_eq(at, 1000);
	for (int i = 0; i < 2; i++)
		ls_stream_fini(&pair_s[i]);
}

/* ---- the gate: a stream pacing itself from the kernel's mirror of the correlator ---- */

static struct ls_gate_state gst;

static void gate_on(struct ls_stream *st, uint32_t side, uint32_t window, uint64_t lease_ns)
{
	ls_gate_view = (struct ls_gate_view){ &gst };
	st->batch.gate_side = side + 1;
	st->batch.gate_window = window;
	st->batch.gate_thaw = 0;
	st->batch.permit_chunk = LS_PERMIT_GATE;
	st->batch.lease_until_ns = ls_mono_ns() + lease_ns;
}

Test(stream, gate_permit_is_the_partners_progress_plus_the_window)
{
	bool hold;

	gate_on(&s, 0, 4, 3600ull * 1000 * MS);
	cr_assert_eq(s.batch.vcpu, 5);
	struct ls_gate_pair *p = &gst.pairs[5];
	/* Partner (B) has published chunks 0..2. */
	p->first1[1] = 1;
	p->hi1[1] = 3;
	cr_assert_eq(ls_gate_permit(&ls_gate_view, &s.batch, 0, &hold), 2 + 4 - 1);
	cr_assert(!hold);
	/* Nothing from the partner yet: one window from our own first chunk. */
	p->first1[1] = p->hi1[1] = 0;
	p->first1[0] = 8;
	cr_assert_eq(ls_gate_permit(&ls_gate_view, &s.batch, 9, &hold), 7 + 4 - 1);
	p->first1[0] = 0;
	p->first1[1] = 1;
	p->hi1[1] = 3;

	/* A divergence froze the correlator: hold until the monitor says it handled that one. */
	gst.freeze_gen = 1;
	ls_gate_permit(&ls_gate_view, &s.batch, 0, &hold);
	cr_assert(hold, "a divergence holds every gated stream at its next chunk");
	s.batch.gate_thaw = 1;
	cr_assert_eq(ls_gate_permit(&ls_gate_view, &s.batch, 0, &hold), 5);
	cr_assert(!hold, "handled: on again");
	gst.freeze_gen = 2;
	ls_gate_permit(&ls_gate_view, &s.batch, 0, &hold);
	cr_assert(hold, "the next one holds again");
	gst.freeze_gen = 0;
	s.batch.gate_thaw = 0;

	/* Nothing sane to gate on: hold until the monitor writes a permit. */
	s.batch.gate_side = 0;
	ls_gate_permit(&ls_gate_view, &s.batch, 0, &hold);
	cr_assert(hold);
	s.batch.gate_side = 3;
	ls_gate_permit(&ls_gate_view, &s.batch, 0, &hold);
	cr_assert(hold);
	s.batch.gate_side = 1;
	s.batch.gate_window = LS_WINDOW + 1;
	ls_gate_permit(&ls_gate_view, &s.batch, 0, &hold);
	cr_assert(hold);
	s.batch.gate_window = 4;
	ls_gate_view = (struct ls_gate_view){ 0 };
	ls_gate_permit(&ls_gate_view, &s.batch, 0, &hold);
	cr_assert(hold, "no state mapped");
}

Test(stream, gated_stream_holds_then_runs_free_when_the_lease_ends)
{
	/* The partner never moves (a dead monitor's gate state): one lease, then alone. */
	gate_on(&s, 0, 2, 40 * MS);
	gst.pairs[5].first1[1] = 1;
	gst.pairs[5].hi1[1] = 1; /* published chunk 0: we may write chunks 0 and 1 */
	uint64_t t0 = ls_mono_ns();
	feed(&s, word_at, 2 * CHUNK - 1);
	cr_assert_lt(ls_mono_ns() - t0, 30 * MS, "chunks 0 and 1 are within the window");
	feed(&s, word_at, 1);
	uint64_t dt = ls_mono_ns() - t0;
	cr_assert_geq(dt, 35 * MS, "chunk 2 waited for the partner or the lease");
	cr_assert_eq(s.lease_expiries, 1);
	cr_assert_eq(s.gate_holds, 1);
	cr_assert_eq(s.batch.permit_chunk, LS_PERMIT_GATE, "left as the monitor wrote it");
	feed(&s, word_at, 4 * CHUNK);
	cr_assert_eq(s.chunk, 6, "and on alone");
	ls_gate_view = (struct ls_gate_view){ 0 };
}

Test(stream, wait_final_under_the_gate_waits_for_an_explicit_release)
{
	struct delayed d = { &s.batch.permit_chunk, ~0ull, 30 * MS, NULL };

	gate_on(&s, 0, 4, 5000 * MS);
	gst.pairs[5].first1[1] = 1;
	gst.pairs[5].hi1[1] = 100; /* far ahead: still only the monitor's ~0 may end an exit wait */
	wait_final_until(&d);
	ls_gate_view = (struct ls_gate_view){ 0 };
}

/*
 * Two streams in two threads, the correlator standing in for the kernel and
 * its state for the mapped view: the faster side is held by the gate within
 * the window of the slower one, and every block is compared.
 */
static uint64_t gate_lead_max[2];
static uint32_t gate_window_used;

static struct ls_pair_state gpairs[LS_MAX_VCPUS];
static struct ls_control gctl;

/* The uprobe's part: correlate, then mirror this side's progress for the gate, as lockstep.bpf.c does. */
static void gate_correlate_hook(struct ls_batch *b)
{
	__u32 side = b == &pair_s[1].batch;
	struct ls_event ev = { 0 };
	const struct ls_side_state *o = &gpairs[0].side[side ^ 1];

	/* What the writer may have run ahead of its partner's last publication. */
	uint64_t ohi = __atomic_load_n(&o->hi1, __ATOMIC_SEQ_CST);
	if (ohi && b->chunk + 1 > ohi && b->chunk + 1 - ohi > gate_lead_max[side])
		gate_lead_max[side] = b->chunk + 1 - ohi;
	if (ls_correlate(&gpairs[0], &gctl, side, b, (__u64)(uintptr_t)b, &ev, LS_WINDOW) == LS_DIVERGE)
		__atomic_fetch_add(&gst.freeze_gen, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&gst.pairs[0].first1[side], gpairs[0].side[side].first1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&gst.pairs[0].hi1[side], gpairs[0].side[side].hi1, __ATOMIC_SEQ_CST);
}

struct feeder {
	int side;
	uint64_t n;
	uint64_t pause_every, pause_ns;
};

static void *feed_side(void *arg)
{
	struct feeder *f = arg;
	struct ls_stream *st = &pair_s[f->side];

	for (uint64_t q = 0; q < f->n; q++) {
		ls_stream_append(st, word_at(q));
		if (f->pause_every && q % f->pause_every == 0) {
			struct timespec ts = { 0, (long)f->pause_ns };
			nanosleep(&ts, NULL);
		}
	}
	ls_stream_publish(st, LS_PUB_FINAL);
	return NULL;
}

Test(stream, end_to_end_gate_holds_the_faster_side_within_the_window)
{
	const uint64_t n = 60 * CHUNK + 5;
	pthread_t t[2];
	struct feeder f[2] = { { 0, n, 0, 0 }, { 1, n, CHUNK / 4, 200000 } }; /* B: 0.8 ms a chunk */

	gate_window_used = 4;
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(ls_stream_init(&pair_s[i], 0, ORDER, RING_ORDER), 0);
		gate_on(&pair_s[i], (uint32_t)i, gate_window_used, 3600ull * 1000 * MS);
	}
	publish_hook = gate_correlate_hook;
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, feed_side, &f[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);

	cr_assert_leq(gate_lead_max[0], gate_window_used, "A ran %llu chunks ahead",
		      (unsigned long long)gate_lead_max[0]);
	cr_assert_gt(pair_s[0].gate_holds, 0, "A was held by the gate");
	cr_assert_eq(pair_s[0].lease_expiries, 0);
	cr_assert_eq(gpairs[0].compared_blocks, n, "every block compared in the kernel's place");
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(gpairs[0].side[i].overruns, 0);
		ls_stream_fini(&pair_s[i]);
	}
	ls_gate_view = (struct ls_gate_view){ 0 };
}
