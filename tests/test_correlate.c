/* test_correlate.c - the kernel-side correlator (ls_correlate, ls_permit) driven by hand-made publications. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "correlate.h"

#define ORDER 8
#define CHUNK (1ULL << ORDER)
#define IPB 3 /* instructions per block in the fake streams */
#define ADDR0 0x7f0000001000ULL
#define ADDR1 0x7f0000002000ULL
#define VCPU 3

static struct ls_pair_state st;
static struct ls_control ctl;
static struct ls_event ev;

static void reset(void)
{
	memset(&st, 0, sizeof(st));
	memset(&ctl, 0, sizeof(ctl));
	memset(&ev, 0, sizeof(ev));
}

TestSuite(correlate, .init = reset);

/* Same digest on both sides for the same (chunk, length): what two identical executions publish. */
static __u64 same_digest(__u64 chunk, __u32 nblocks)
{
	return 0x1000000ULL * (chunk + 1) + nblocks;
}

static enum ls_verdict pub_ex(__u32 side, __u32 order, __u64 chunk, __u32 nblocks, __u64 digest, __u64 insns,
			      __u16 flags)
{
	struct ls_batch b = {
		.magic = LS_MAGIC,
		.version = LS_WIRE_VERSION,
		.flags = flags,
		.vcpu = VCPU,
		.nblocks = nblocks,
		.chunk = chunk,
		.digest = digest,
		.insn_base = (chunk << order) * IPB,
		.insns = insns,
		.batch_order = order,
	};

	return ls_correlate(&st, &ctl, side, &b, side ? ADDR1 : ADDR0, &ev, LS_WINDOW);
}

static enum ls_verdict pub(__u32 side, __u64 chunk, __u32 nblocks, __u64 digest)
{
	return pub_ex(side, ORDER, chunk, nblocks, digest, (__u64)nblocks * IPB,
		      nblocks == CHUNK ? LS_PUB_FULL : LS_PUB_PARTIAL);
}

static enum ls_verdict pub_same(__u32 side, __u64 chunk, __u32 nblocks)
{
	return pub(side, chunk, nblocks, same_digest(chunk, nblocks));
}

Test(correlate, equal_full_chunk_side0_first)
{
	cr_assert_eq(pub_same(0, 0, CHUNK), LS_OK);
	cr_assert_eq(st.compared_blocks, 0);
	cr_assert_eq(pub_same(1, 0, CHUNK), LS_OK);
	cr_assert_eq(st.compared_blocks, CHUNK);
	cr_assert_eq(st.compared_insns, CHUNK * IPB);
	cr_assert_eq(st.start1, 1);
	cr_assert_eq(ctl.frozen, 0);
	/* The first publisher seeing the pair again must not count the blocks twice. */
	cr_assert_eq(pub_same(0, 0, CHUNK), LS_OK);
	cr_assert_eq(st.compared_blocks, CHUNK);
	cr_assert_eq(st.compared_insns, CHUNK * IPB);
}

Test(correlate, equal_full_chunk_side1_first)
{
	cr_assert_eq(pub_same(1, 0, CHUNK), LS_OK);
	cr_assert_eq(st.compared_blocks, 0);
	cr_assert_eq(pub_same(0, 0, CHUNK), LS_OK);
	cr_assert_eq(st.compared_blocks, CHUNK);
	cr_assert_eq(st.compared_insns, CHUNK * IPB);
	cr_assert_eq(pub_same(1, 0, CHUNK), LS_OK);
	cr_assert_eq(st.compared_blocks, CHUNK);
	cr_assert_eq(st.side[0].publications, 1);
	cr_assert_eq(st.side[1].publications, 2);
}

Test(correlate, many_chunks_through_slot_reuse)
{
	/* 200 chunks wrap the LS_WINDOW slots three times: stale compared_upto must not leak in. */
	for (__u64 k = 0; k < 200; k++) {
		cr_assert_eq(pub_same(k & 1, k, CHUNK), LS_OK);
		cr_assert_eq(pub_same((k & 1) ^ 1, k, CHUNK), LS_OK);
		cr_assert_eq(st.compared_blocks, (k + 1) * CHUNK, "after chunk %llu", (unsigned long long)k);
	}
	cr_assert_eq(st.compared_insns, 200 * CHUNK * IPB);
	cr_assert_eq(st.side[0].overruns + st.side[1].overruns, 0);
	cr_assert_eq(st.side[0].pub_end, 200 * CHUNK);
	cr_assert_eq(st.side[1].pub_insn_end, 200 * CHUNK * IPB);
	cr_assert_eq(st.side[0].hi1, 200);
}

Test(correlate, partial_then_full_counts_only_the_remainder)
{
	cr_assert_eq(pub_same(0, 0, 100), LS_OK);
	cr_assert_eq(pub_same(1, 0, 100), LS_OK);
	cr_assert_eq(st.compared_blocks, 100);
	cr_assert_eq(st.compared_insns, 100 * IPB);

	cr_assert_eq(pub_same(1, 0, CHUNK), LS_OK);
	cr_assert_eq(st.compared_blocks, 100);
	cr_assert_eq(pub_same(0, 0, CHUNK), LS_OK);
	cr_assert_eq(st.compared_blocks, CHUNK);
	cr_assert_eq(st.compared_insns, CHUNK * IPB);
	cr_assert_eq(st.slot[0].compared_upto, CHUNK);
	cr_assert_eq(st.slot[0].compared_insn_end, CHUNK * IPB);
}

Test(correlate, partial_in_a_later_chunk)
{
	cr_assert_eq(pub_same(0, 0, CHUNK), LS_OK);
	cr_assert_eq(pub_same(1, 0, CHUNK), LS_OK);
	cr_assert_eq(pub_same(0, 1, 40), LS_OK);
	cr_assert_eq(pub_same(1, 1, 40), LS_OK);
	cr_assert_eq(st.compared_blocks, CHUNK + 40);
	cr_assert_eq(st.compared_insns, (CHUNK + 40) * IPB);
	cr_assert_eq(pub_same(0, 1, CHUNK), LS_OK);
	cr_assert_eq(pub_same(1, 1, CHUNK), LS_OK);
	cr_assert_eq(st.compared_blocks, 2 * CHUNK);
	cr_assert_eq(st.compared_insns, 2 * CHUNK * IPB);
}

Test(correlate, different_lengths_are_not_compared)
{
	cr_assert_eq(pub_same(0, 0, 100), LS_OK);
	cr_assert_eq(pub_same(1, 0, 150), LS_OK);
	cr_assert_eq(st.compared_blocks, 0);
	cr_assert_eq(st.compared_insns, 0);
	cr_assert_eq(pub_same(0, 0, CHUNK), LS_OK);
	cr_assert_eq(st.compared_blocks, 0);
	/* Now both hold the full chunk: the whole of it is compared, from its first block. */
	cr_assert_eq(pub_same(1, 0, CHUNK), LS_OK);
	cr_assert_eq(st.compared_blocks, CHUNK);
	cr_assert_eq(st.compared_insns, CHUNK * IPB);
}

Test(correlate, divergence_fills_event_and_freezes)
{
	cr_assert_eq(pub_same(0, 0, CHUNK), LS_OK);
	cr_assert_eq(pub_same(1, 0, CHUNK), LS_OK);
	cr_assert_eq(pub_same(0, 1, CHUNK), LS_OK);
	cr_assert_eq(pub_same(1, 1, CHUNK), LS_OK);
	cr_assert_eq(pub_same(0, 2, 100), LS_OK);
	cr_assert_eq(pub_same(1, 2, 100), LS_OK);
	cr_assert_eq(st.compared_blocks, 2 * CHUNK + 100);

	cr_assert_eq(pub_ex(0, ORDER, 2, CHUNK, 0xaaaa, CHUNK * IPB, LS_PUB_FULL), LS_OK);
	/* B ran one instruction more in the differing part. */
	cr_assert_eq(pub_ex(1, ORDER, 2, CHUNK, 0xbbbb, CHUNK * IPB + 1, LS_PUB_FULL), LS_DIVERGE);
	cr_assert_eq(ctl.frozen, 1);
	cr_assert_eq(ev.type, LS_EV_DIVERGE);
	cr_assert_eq(ev.vcpu, VCPU);
	cr_assert_eq(ev.chunk, 2);
	cr_assert_eq(ev.range_lo, 2 * CHUNK + 100, "the compared prefix is known equal");
	cr_assert_eq(ev.range_hi, 3 * CHUNK);
	cr_assert_eq(ev.digest[0], 0xaaaa);
	cr_assert_eq(ev.digest[1], 0xbbbb);
	cr_assert_eq(ev.batch_addr[0], ADDR0);
	cr_assert_eq(ev.batch_addr[1], ADDR1);
	cr_assert_eq(ev.insn_end[0], 3 * CHUNK * IPB);
	cr_assert_eq(ev.insn_end[1], 3 * CHUNK * IPB + 1);
	cr_assert_eq(ev.side, 1);
	cr_assert_eq(st.compared_blocks, 2 * CHUNK + 100);

	/* Frozen: nothing is compared or reported again, everything after is late. */
	memset(&ev, 0, sizeof(ev));
	cr_assert_eq(pub_ex(1, ORDER, 2, CHUNK, 0xcccc, CHUNK * IPB, LS_PUB_FULL), LS_OK);
	cr_assert_eq(ev.type, 0);
	cr_assert_eq(pub_same(0, 3, CHUNK), LS_OK);
	cr_assert_eq(pub_same(1, 3, CHUNK), LS_OK);
	cr_assert_eq(st.compared_blocks, 2 * CHUNK + 100);
	cr_assert_eq(st.side[0].uncompared_late, CHUNK);
	cr_assert_eq(st.side[1].uncompared_late, CHUNK);
	cr_assert_eq(st.side[0].pub_end, 4 * CHUNK);
	cr_assert_eq(ev.type, 0);
}

Test(correlate, divergence_found_by_side0_maps_sides_right)
{
	cr_assert_eq(pub_ex(1, ORDER, 0, CHUNK, 0x1111, CHUNK * IPB + 7, LS_PUB_FULL), LS_OK);
	cr_assert_eq(pub_ex(0, ORDER, 0, CHUNK, 0x2222, CHUNK * IPB, LS_PUB_FULL), LS_DIVERGE);
	cr_assert_eq(ev.side, 0);
	cr_assert_eq(ev.chunk, 0);
	cr_assert_eq(ev.range_lo, 0);
	cr_assert_eq(ev.range_hi, CHUNK);
	cr_assert_eq(ev.digest[0], 0x2222);
	cr_assert_eq(ev.digest[1], 0x1111);
	cr_assert_eq(ev.batch_addr[0], ADDR0);
	cr_assert_eq(ev.batch_addr[1], ADDR1);
	cr_assert_eq(ev.insn_end[0], CHUNK * IPB);
	cr_assert_eq(ev.insn_end[1], CHUNK * IPB + 7);
}

Test(correlate, divergence_in_a_reused_slot_starts_at_the_chunk)
{
	/* Slot 6 last held chunk 6; its compared_upto must not make range_lo point into the past. */
	for (__u64 k = 0; k < 70; k++) {
		cr_assert_eq(pub_same(0, k, CHUNK), LS_OK);
		cr_assert_eq(pub_same(1, k, CHUNK), LS_OK);
	}
	cr_assert_eq(pub(0, 70, CHUNK, 1), LS_OK);
	cr_assert_eq(pub(1, 70, CHUNK, 2), LS_DIVERGE);
	cr_assert_eq(ev.chunk, 70);
	cr_assert_eq(ev.range_lo, 70 * CHUNK);
	cr_assert_eq(ev.range_hi, 71 * CHUNK);
	cr_assert_eq(st.compared_blocks, 70 * CHUNK);
}

Test(correlate, partial_divergence)
{
	cr_assert_eq(pub(0, 5, 10, 0x10), LS_OK);
	cr_assert_eq(pub(1, 5, 10, 0x20), LS_DIVERGE);
	cr_assert_eq(ev.range_lo, 5 * CHUNK);
	cr_assert_eq(ev.range_hi, 5 * CHUNK + 10);
	cr_assert_eq(ev.insn_end[0], (5 * CHUNK + 10) * IPB);
}

Test(correlate, pairing_starts_at_the_later_first_chunk)
{
	cr_assert_eq(pub_same(0, 10, CHUNK), LS_OK);
	cr_assert_eq(st.start1, 0, "no pairing before both sides published");
	cr_assert_eq(pub_same(1, 3, CHUNK), LS_OK);
	cr_assert_eq(st.start1, 11);
	/* The first publication acknowledges everything from block 0, like the summary's "early". */
	cr_assert_eq(st.side[1].uncompared_early, 4 * CHUNK);
	for (__u64 k = 4; k < 10; k++) {
		cr_assert_eq(pub_same(1, k, CHUNK), LS_OK);
		cr_assert_eq(st.side[1].uncompared_early, (k + 1) * CHUNK);
	}
	cr_assert_eq(st.compared_blocks, 0);
	cr_assert_eq(st.side[1].uncompared_late, 0);
	cr_assert_eq(st.side[0].uncompared_early, 0);

	cr_assert_eq(pub_same(1, 10, CHUNK), LS_OK);
	cr_assert_eq(st.compared_blocks, CHUNK);
	cr_assert_eq(st.side[1].uncompared_early, 10 * CHUNK);
	cr_assert_eq(pub_same(1, 11, CHUNK), LS_OK);
	cr_assert_eq(pub_same(0, 11, CHUNK), LS_OK);
	cr_assert_eq(st.compared_blocks, 2 * CHUNK);
	cr_assert_eq(st.compared_insns, 2 * CHUNK * IPB);
	cr_assert_eq(st.start1, 11);
	cr_assert_eq(st.side[0].first1, 11);
	cr_assert_eq(st.side[1].first1, 4);
}

Test(correlate, pairing_start_set_by_the_side_that_attached_later)
{
	/* Side 0 has run since chunk 2; side 1 first publishes chunk 5, so 5 is where pairing starts. */
	for (__u64 k = 2; k < 8; k++)
		cr_assert_eq(pub_same(0, k, CHUNK), LS_OK);
	cr_assert_eq(pub_same(1, 5, CHUNK), LS_OK);
	cr_assert_eq(st.start1, 6);
	cr_assert_eq(st.compared_blocks, CHUNK);
	cr_assert_eq(pub_same(1, 6, CHUNK), LS_OK);
	cr_assert_eq(pub_same(1, 7, CHUNK), LS_OK);
	cr_assert_eq(st.compared_blocks, 3 * CHUNK);
	cr_assert_eq(st.side[0].uncompared_early, 0);
	cr_assert_eq(st.side[1].uncompared_early, 0);
}

Test(correlate, batch_order_mismatch)
{
	cr_assert_eq(pub_same(0, 0, CHUNK), LS_OK);
	cr_assert_eq(pub_ex(1, ORDER + 1, 0, 2 * CHUNK, 1, 0, LS_PUB_FULL), LS_MISMATCH);
	cr_assert_eq(st.compared_blocks, 0);
	cr_assert_eq(st.side[1].first1, 0, "a mismatched publication is not paired");
	/* Side 0 changing its own order mid-stream is refused too. */
	cr_assert_eq(pub_ex(0, ORDER + 1, 1, CHUNK, 1, 0, LS_PUB_PARTIAL), LS_MISMATCH);
	cr_assert_eq(st.side[0].batch_order, ORDER);
	cr_assert_eq(st.side[0].hi1, 1);
}

Test(correlate, impossible_batches_are_mismatches)
{
	cr_assert_eq(pub_ex(0, 31, 0, 1, 1, 0, LS_PUB_FULL), LS_MISMATCH);
	cr_assert_eq(pub_ex(0, ORDER, 0, CHUNK + 1, 1, 0, LS_PUB_FULL), LS_MISMATCH);
	cr_assert_eq(st.side[0].publications, 0);
	cr_assert_eq(st.side[0].batch_order, 0);
	cr_assert_eq(st.side[0].batch_addr, ADDR0);
	cr_assert_eq(pub_same(0, 0, CHUNK), LS_OK);
	cr_assert_eq(st.side[0].batch_order, ORDER);
}

Test(correlate, overrun_when_a_window_ahead)
{
	for (__u64 k = 0; k < LS_WINDOW; k++)
		cr_assert_eq(pub_same(0, k, CHUNK), LS_OK);
	cr_assert_eq(st.side[0].overruns, 0);
	cr_assert_eq(ls_permit(&st, 0, 0, 0, 0, LS_WINDOW), LS_WINDOW - 1, "the permit stops one chunk short of an overrun");

	cr_assert_eq(pub_same(0, LS_WINDOW, CHUNK), LS_OK);
	cr_assert_eq(st.side[0].overruns, CHUNK);
	cr_assert_eq(st.side[0].uncompared_late, CHUNK);
	cr_assert_eq(st.side[0].acked_end, (LS_WINDOW + 1) * CHUNK);

	/* The stored chunks are all still comparable. */
	for (__u64 k = 0; k < LS_WINDOW; k++)
		cr_assert_eq(pub_same(1, k, CHUNK), LS_OK);
	cr_assert_eq(st.compared_blocks, LS_WINDOW * CHUNK);
	/* The overrun chunk never reached a slot: side 1's copy of it has no partner. */
	cr_assert_eq(pub_same(1, LS_WINDOW, CHUNK), LS_OK);
	cr_assert_eq(st.compared_blocks, LS_WINDOW * CHUNK);
	cr_assert_eq(st.side[1].overruns, 0);

	/* Side 1 caught up: side 0 may store again. */
	cr_assert_eq(pub_same(0, LS_WINDOW + 1, CHUNK), LS_OK);
	cr_assert_eq(st.side[0].overruns, CHUNK);
	cr_assert_eq(pub_same(1, LS_WINDOW + 1, CHUNK), LS_OK);
	cr_assert_eq(st.compared_blocks, (LS_WINDOW + 1) * CHUNK);
}

Test(correlate, partial_overrun_counts_only_new_blocks)
{
	for (__u64 k = 0; k < LS_WINDOW; k++)
		cr_assert_eq(pub_same(0, k, CHUNK), LS_OK);
	cr_assert_eq(pub_same(0, LS_WINDOW, 50), LS_OK);
	cr_assert_eq(pub_same(0, LS_WINDOW, CHUNK), LS_OK);
	cr_assert_eq(st.side[0].overruns, CHUNK);
	cr_assert_eq(st.side[0].uncompared_late, CHUNK);
}

Test(correlate, released_accepts_everything_uncompared)
{
	ctl.released = 1;
	cr_assert_eq(pub_same(0, 0, CHUNK), LS_OK);
	cr_assert_eq(pub_same(1, 0, CHUNK), LS_OK);
	cr_assert_eq(pub(1, 1, CHUNK, 99), LS_OK);
	cr_assert_eq(pub(0, 1, CHUNK, 98), LS_OK);
	cr_assert_eq(st.compared_blocks, 0);
	cr_assert_eq(ctl.frozen, 0, "released streams never report a divergence");
	cr_assert_eq(st.side[0].uncompared_late, 2 * CHUNK);
	cr_assert_eq(st.side[1].uncompared_late, 2 * CHUNK);
	cr_assert_eq(st.side[0].first1, 0);
	cr_assert_eq(st.start1, 0);
	cr_assert_eq(st.side[1].pub_end, 2 * CHUNK);
	cr_assert_eq(st.side[1].hi1, 2);
}

Test(correlate, release_after_comparing)
{
	cr_assert_eq(pub_same(0, 0, CHUNK), LS_OK);
	cr_assert_eq(pub_same(1, 0, CHUNK), LS_OK);
	ctl.released = 1;
	cr_assert_eq(pub_same(0, 1, 30), LS_OK);
	cr_assert_eq(pub_same(1, 1, 30), LS_OK);
	cr_assert_eq(st.compared_blocks, CHUNK);
	cr_assert_eq(st.side[0].uncompared_late, 30);
	cr_assert_eq(st.side[1].uncompared_late, 30);
}

Test(correlate, final_and_end_markers)
{
	cr_assert_eq(pub_ex(0, ORDER, 0, 17, same_digest(0, 17), 17 * IPB, LS_PUB_FINAL), LS_OK);
	cr_assert_eq(st.side[0].final, 1);
	cr_assert_eq(st.side[1].final, 0);
	cr_assert_eq(st.side[0].pub_end, 17);
	cr_assert_eq(st.side[0].pub_insn_end, 17 * IPB);
	cr_assert_eq(pub_ex(1, ORDER, 0, 17, same_digest(0, 17), 17 * IPB, LS_PUB_FINAL), LS_OK);
	cr_assert_eq(st.compared_blocks, 17);
	cr_assert_eq(st.side[1].final, 1);
}

Test(correlate, permit_without_partner)
{
	cr_assert_eq(ls_permit(&st, 0, 0, 0, 0, LS_WINDOW), LS_WINDOW - 1);
	cr_assert_eq(ls_permit(&st, 1, 40, 0, 0, LS_WINDOW), 40 + LS_WINDOW - 1, "nothing published: from the attach chunk");
	cr_assert_eq(pub_same(0, 10, CHUNK), LS_OK);
	cr_assert_eq(pub_same(0, 11, CHUNK), LS_OK);
	cr_assert_eq(ls_permit(&st, 0, 40, 0, 0, LS_WINDOW), 10 + LS_WINDOW - 1, "from the first chunk published");
}

Test(correlate, permit_follows_a_partner_behind)
{
	for (__u64 k = 0; k < 10; k++)
		cr_assert_eq(pub_same(0, k, CHUNK), LS_OK);
	for (__u64 k = 0; k < 3; k++)
		cr_assert_eq(pub_same(1, k, CHUNK), LS_OK);
	cr_assert_eq(st.side[1].hi1, 3);
	cr_assert_eq(ls_permit(&st, 0, 0, 0, 0, LS_WINDOW), 2 + LS_WINDOW - 1);
	cr_assert_eq(ls_permit(&st, 1, 0, 0, 0, LS_WINDOW), 9 + LS_WINDOW - 1);
}

Test(correlate, permit_never_below_the_pairing_start)
{
	cr_assert_eq(pub_same(0, 10, CHUNK), LS_OK);
	cr_assert_eq(pub_same(1, 3, CHUNK), LS_OK);
	/* Side 1 is at chunk 3 but the comparison starts at 10: side 0 counts from 10. */
	cr_assert_eq(ls_permit(&st, 0, 0, 0, 0, LS_WINDOW), 10 + LS_WINDOW - 1);
	cr_assert_eq(ls_permit(&st, 1, 0, 0, 0, LS_WINDOW), 10 + LS_WINDOW - 1);
}

Test(correlate, permit_when_frozen_or_partner_gone)
{
	for (__u64 k = 0; k < 5; k++)
		cr_assert_eq(pub_same(0, k, CHUNK), LS_OK);
	cr_assert_eq(ls_permit(&st, 0, 0, 1, 0, LS_WINDOW), 5, "frozen: only the chunk being written");
	cr_assert_eq(ls_permit(&st, 0, 9, 1, 0, LS_WINDOW), 9, "frozen before publishing: the attach chunk");
	cr_assert_eq(ls_permit(&st, 1, 2, 1, 0, LS_WINDOW), 2);
	cr_assert_eq(ls_permit(&st, 0, 0, 0, 1, LS_WINDOW), ~0ULL);
	cr_assert_eq(ls_permit(&st, 0, 0, 1, 1, LS_WINDOW), 5, "a divergence holds even when the partner is gone");
}

/* ---- two publishers at once, as the two QEMUs on two CPUs ---- */

#define CONC_CHUNKS 2000

#define TIGHT_CHUNKS 200000

struct worker {
	__u32 side;
	int partials; /* also publish a prefix of every 5th chunk first */
	int tight; /* stay within one chunk of the partner, so both publish each chunk at once */
	unsigned bad; /* verdicts other than LS_OK */
};

static pthread_barrier_t start_line;

static void *publisher(void *arg)
{
	struct worker *w = arg;
	__u64 n = w->tight ? TIGHT_CHUNKS : CONC_CHUNKS;

	pthread_barrier_wait(&start_line);
	for (__u64 k = 0; k < n; k++) {
		if (w->tight) {
			/* Both sides race for the same slot and the same comparison claim. */
			for (unsigned spins = 0; LS_READ(st.side[w->side ^ 1].hi1) < k; spins++)
				if (spins > 1000)
					sched_yield(); /* the partner may share our CPU */
		} else {
			/* What the plugin does with the monitor's permit: wait at the chunk boundary. */
			while (k > ls_permit(&st, w->side, 0, 0, 0, LS_WINDOW))
				sched_yield();
		}
		if (w->partials && k % 5 == 0 && pub_same(w->side, k, 100) != LS_OK)
			w->bad++;
		if (pub_same(w->side, k, CHUNK) != LS_OK)
			w->bad++;
	}
	return NULL;
}

static void run_concurrently(int partials, int tight)
{
	struct worker w[2] = { { .side = 0, .partials = partials, .tight = tight },
			       { .side = 1, .partials = partials, .tight = tight } };
	__u64 n = tight ? TIGHT_CHUNKS : CONC_CHUNKS;
	pthread_t t[2];

	cr_assert_eq(pthread_barrier_init(&start_line, NULL, 2), 0);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, publisher, &w[i]), 0);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_join(t[i], NULL), 0);

	cr_assert_eq(w[0].bad + w[1].bad, 0);
	cr_assert_eq(ctl.frozen, 0);
	cr_assert_eq(st.compared_blocks, n * CHUNK);
	cr_assert_eq(st.compared_insns, n * CHUNK * IPB);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(st.side[i].overruns, 0, "side %d", i);
		cr_assert_eq(st.side[i].uncompared_late, 0, "side %d", i);
		cr_assert_eq(st.side[i].uncompared_early, 0, "side %d", i);
		cr_assert_eq(st.side[i].pub_end, n * CHUNK, "side %d", i);
	}
}

Test(correlate, concurrent_identical_streams, .timeout = 60)
{
	run_concurrently(0, 0);
}

Test(correlate, concurrent_identical_streams_with_partials, .timeout = 60)
{
	run_concurrently(1, 0);
}

Test(correlate, concurrent_tight_lockstep, .timeout = 120)
{
	run_concurrently(0, 1);
}

Test(correlate, concurrent_tight_lockstep_with_partials, .timeout = 120)
{
	run_concurrently(1, 1);
}
