/* SPDX-License-Identifier: MIT */
/*
 * correlate.h - pairing and comparing the two sides' chunk publications.
 *
 * This is the logic the uprobe program runs in the kernel for every batch a
 * plugin publishes.  It has no BPF helpers and no libc in it, so the very
 * same source is compiled into lockstep.bpf.o and into the Criterion tests.
 *
 * Model: block sequence numbers are cut into fixed chunks of 2^batch_order
 * blocks.  A side publishes (chunk, nblocks, digest of those nblocks).  Each
 * side stores its publication in slot[chunk % LS_WINDOW]; whoever sees both
 * sides' publications for the same chunk and length compares the digests.
 * The monitor keeps each side within LS_WINDOW chunks of the other (permits,
 * see struct ls_batch); a publication that would still overwrite a slot the
 * partner has not consumed is counted as an overrun, never dropped silently.
 *
 * Concurrency: the two sides run on different CPUs at once and BPF tracing
 * programs cannot take a bpf_spin_lock, so slots are written under a
 * per-slot sequence counter and the one comparison of a (chunk, length) is
 * claimed with a compare-and-swap.  Each side writes its slot before it reads
 * the other's (the atomic add is a full barrier), so at least one of two
 * concurrent publishers sees the other's complete data.
 */
#ifndef LOCKSTEP_CORRELATE_H
#define LOCKSTEP_CORRELATE_H

#include "lockstep_wire.h"

#ifdef __bpf__
#define LS_INLINE static __always_inline
#else
#define LS_INLINE static inline __attribute__((always_inline))
#endif

#define LS_READ(x) (*(volatile __typeof__(x) *)&(x))

struct ls_side_slot {
	__u64 ver; /* odd while the owner is writing */
	__u64 chunk1; /* chunk + 1; 0 = empty */
	__u64 len;
	__u64 digest;
	__u64 insn_end; /* cumulative instructions after these blocks */
};

struct ls_pair_slot {
	struct ls_side_slot s[2];
	__u64 compared_upto; /* block seq: everything below is known equal */
	__u64 compared_insn_end;
};

struct ls_side_state {
	__u64 first1; /* first chunk published after attach, + 1 */
	__u64 hi1; /* highest chunk accepted, + 1 */
	__u64 pub_end; /* highest block seq published (exclusive) */
	__u64 pub_insn_end;
	__u64 acked_end; /* highest block seq acknowledged */
	__u64 batch_addr; /* this side's struct ls_batch for this vCPU */
	__u64 publications;
	__u64 overruns; /* blocks not stored: too far ahead of the partner */
	__u64 uncompared_early; /* acked before the comparison start */
	__u64 uncompared_late; /* acked after a stop or past the partner's end */
	__u64 uncompared_frozen; /* of those, acked while a divergence froze the correlator (user space may follow them) */
	__u32 batch_order;
	__u32 final; /* the stream published its last batch */
};

/* One vCPU's pair of streams: the value of the BPF `pairs` array map. */
struct ls_pair_state {
	struct ls_side_state side[2];
	__u64 compared_blocks;
	__u64 compared_insns;
	__u64 start1; /* chunk the comparison started from, + 1 */
	__u64 user_owned; /* user space compares this vCPU (after a divergence, or --insn): only account */
	struct ls_pair_slot slot[LS_WINDOW];
};

/* Global control shared by all vCPUs; user space writes released/ended. */
struct ls_control {
	__u32 frozen; /* a divergence was found: stop comparing */
	__u32 released; /* user space is done: accept everything uncompared */
	__u32 ended[2]; /* user space saw this side's process exit */
	__u64 ringbuf_lost;
	__u64 bad_batches;
	__u64 last_stats_ns;
	__u64 config_mismatch;
};

_Static_assert(sizeof(struct ls_side_slot) == 40, "ls_side_slot layout");
_Static_assert(sizeof(struct ls_pair_slot) == 96, "ls_pair_slot layout");
_Static_assert(sizeof(struct ls_side_state) == 96, "ls_side_state layout");
_Static_assert(sizeof(struct ls_pair_state) == 2 * 96 + 32 + LS_WINDOW * 96, "ls_pair_state layout");
_Static_assert(sizeof(struct ls_control) == 48, "ls_control layout");
_Static_assert((LS_WINDOW & (LS_WINDOW - 1)) == 0, "LS_WINDOW must be a power of two");
_Static_assert((LS_MAX_VCPUS & (LS_MAX_VCPUS - 1)) == 0, "LS_MAX_VCPUS must be a power of two");

enum ls_verdict {
	LS_OK = 0, /* stored, compared, or counted as not comparable */
	LS_DIVERGE = 1, /* digests differ: *ev is filled */
	LS_MISMATCH = 2, /* the two plugins use different chunk sizes */
};

LS_INLINE void ls_ack_delta(struct ls_side_state *me, __u64 end, __u64 *category)
{
	if (end > me->acked_end) {
		if (category)
			*category += end - me->acked_end;
		me->acked_end = end;
	}
}

/*
 * Account for side x's publication *b and compare it with the partner's.
 * Single writer per (vCPU, side): the plugin serialises a stream's
 * publications.
 */
LS_INLINE enum ls_verdict ls_correlate(struct ls_pair_state *st, struct ls_control *ctl, __u32 x,
				       const struct ls_batch *b, __u64 batch_addr, struct ls_event *ev, __u32 window)
{
	__u32 y = x ^ 1;
	struct ls_side_state *me = &st->side[x & 1];
	struct ls_side_state *other = &st->side[y & 1];
	__u32 order = b->batch_order;
	__u64 k = b->chunk, m = b->nblocks, chunk_seq, end, insn_end, start, c;
	__u64 ofirst, ohi, ov1, ov2, ochunk1, olen, odigest, oinsn, old, lo, prev_insn;
	struct ls_pair_slot *slot;
	struct ls_side_slot *mine;

	me->batch_addr = batch_addr;
	if (order > 30 || m > (1ULL << order))
		return LS_MISMATCH;
	me->publications++;
	if (!me->batch_order)
		me->batch_order = order;
	if (me->batch_order != order || (other->batch_order && other->batch_order != order))
		return LS_MISMATCH;

	chunk_seq = k << order;
	end = chunk_seq + m;
	insn_end = b->insn_base + b->insns;
	if (end > me->pub_end) {
		me->pub_end = end;
		me->pub_insn_end = insn_end;
	}
	if (b->flags & LS_PUB_FINAL)
		me->final = 1;
	if (k + 1 > me->hi1)
		me->hi1 = k + 1;

	if (LS_READ(st->user_owned)) {
		ls_ack_delta(me, end, 0);
		return LS_OK;
	}
	if (LS_READ(ctl->released) || LS_READ(ctl->frozen)) {
		__u64 before = me->uncompared_late;
		ls_ack_delta(me, end, &me->uncompared_late);
		if (!LS_READ(ctl->released))
			me->uncompared_frozen += me->uncompared_late - before;
		return LS_OK;
	}
	if (!me->first1)
		__sync_lock_test_and_set(&me->first1, k + 1); /* xchg: publish, then look */
	ofirst = LS_READ(other->first1);
	start = me->first1 - 1;
	if (ofirst) {
		/* Pair from the first chunk both sides published after attaching. */
		if (ofirst - 1 > start)
			start = ofirst - 1;
		if (!st->start1)
			st->start1 = start + 1;
		if (k < start) {
			ls_ack_delta(me, end, &me->uncompared_early);
			return LS_OK;
		}
	}

	/* Never overwrite a slot the partner has not consumed. */
	ohi = LS_READ(other->hi1);
	c = ohi ? ohi - 1 : 0;
	if (c < start)
		c = start;
	/* The rings hold only the run's window (ls_window): further ahead, the report could not be made. */
	if (window < 1 || window > LS_WINDOW)
		window = LS_WINDOW;
	if (k >= c + window) {
		if (end > me->acked_end)
			me->overruns += end - me->acked_end;
		ls_ack_delta(me, end, &me->uncompared_late);
		return LS_OK;
	}
	ls_ack_delta(me, end, 0);

	slot = &st->slot[k & (LS_WINDOW - 1)];
	mine = &slot->s[x & 1];
	__sync_fetch_and_add(&mine->ver, 1);
	mine->chunk1 = k + 1;
	mine->len = m;
	mine->digest = b->digest;
	mine->insn_end = insn_end;
	__sync_fetch_and_add(&mine->ver, 1);

	ov1 = LS_READ(slot->s[y & 1].ver);
	ochunk1 = LS_READ(slot->s[y & 1].chunk1);
	olen = LS_READ(slot->s[y & 1].len);
	odigest = LS_READ(slot->s[y & 1].digest);
	oinsn = LS_READ(slot->s[y & 1].insn_end);
	ov2 = LS_READ(slot->s[y & 1].ver);
	if ((ov1 & 1) || ov1 != ov2)
		return LS_OK; /* partner is writing this slot now: it will compare */
	if (ochunk1 != k + 1 || olen != m)
		return LS_OK; /* partner not there yet, or at another length */

	old = LS_READ(slot->compared_upto);
	lo = old > chunk_seq ? old : chunk_seq;
	if (odigest != b->digest) {
		if (__sync_val_compare_and_swap(&ctl->frozen, 0, 1) != 0)
			return LS_OK;
		ev->type = LS_EV_DIVERGE;
		ev->vcpu = b->vcpu;
		ev->chunk = k;
		ev->range_lo = lo;
		ev->range_hi = end;
		ev->digest[x & 1] = b->digest;
		ev->digest[y & 1] = odigest;
		ev->batch_addr[x & 1] = batch_addr;
		ev->batch_addr[y & 1] = LS_READ(other->batch_addr);
		ev->insn_end[x & 1] = insn_end;
		ev->insn_end[y & 1] = oinsn;
		ev->side = x;
		return LS_DIVERGE;
	}
	if (old >= end)
		return LS_OK; /* already compared by the partner */
	if (__sync_val_compare_and_swap(&slot->compared_upto, old, end) != old)
		return LS_OK; /* the partner claimed this comparison */
	prev_insn = old > chunk_seq ? LS_READ(slot->compared_insn_end) : b->insn_base;
	slot->compared_insn_end = insn_end;
	__sync_fetch_and_add(&st->compared_blocks, end - lo);
	__sync_fetch_and_add(&st->compared_insns, insn_end - prev_insn);
	return LS_OK;
}

/*
 * The highest chunk side x may write, so that neither ring overwrites what
 * the monitor may still need (and ls_correlate never has to count an
 * overrun): window chunks ahead of the partner (ls_window, at most
 * LS_WINDOW).  attach_chunk is where x was writing when the monitor attached.
 */
LS_INLINE __u64 ls_permit_of(__u64 me_first1, __u64 me_hi1, __u64 o_first1, __u64 o_hi1, __u64 attach_chunk,
			     int frozen, int partner_gone, __u32 window)
{
	__u64 start, c;

	if (frozen) /* finish the chunk being written, then wait */
		return me_hi1 > attach_chunk ? me_hi1 : attach_chunk;
	if (partner_gone)
		return ~0ULL;
	if (!o_first1)
		return (me_first1 ? me_first1 - 1 : attach_chunk) + window - 1;
	start = o_first1 - 1;
	if (me_first1 && me_first1 - 1 > start)
		start = me_first1 - 1;
	c = o_hi1 ? o_hi1 - 1 : 0;
	if (c < start)
		c = start;
	return c + window - 1;
}

/* The same from the correlator's own state (the monitor), or its mirror (a gated plugin: ls_gate_pair). */
LS_INLINE __u64 ls_permit(const struct ls_pair_state *st, __u32 x, __u64 attach_chunk, int frozen, int partner_gone,
			  __u32 window)
{
	const struct ls_side_state *me = &st->side[x & 1];
	const struct ls_side_state *o = &st->side[(x ^ 1) & 1];

	return ls_permit_of(me->first1, me->hi1, o->first1, o->hi1, attach_chunk, frozen, partner_gone, window);
}

#endif /* LOCKSTEP_CORRELATE_H */
