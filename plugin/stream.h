/* SPDX-License-Identifier: MIT */
/*
 * stream.h - one vCPU's execution stream: record ring, chunk digest and the
 * publication handshake with the monitor.  No QEMU dependency, so the unit
 * tests drive it directly (with the correlator standing in for the kernel).
 */
#ifndef LOCKSTEP_STREAM_H
#define LOCKSTEP_STREAM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../bpf/correlate.h"
#include "../bpf/lockstep_wire.h"

/*
 * The gate state (struct ls_gate_state), mapped read-only once a monitor
 * hands it over (plugin/gate.c); NULL before.  Streams whose permit is
 * LS_PERMIT_GATE compute their own permit from it.
 */
struct ls_gate_view {
	const struct ls_gate_state *state;
};
extern struct ls_gate_view ls_gate_view;

/*
 * Called at every chunk boundary and while a stream waits, when set: the
 * plugin looks there whether a monitor offered its state (gate.c).
 */
extern void (*ls_stream_hook)(void);

/*
 * Aligned so the plugin can keep its streams in one static array indexed by
 * vCPU (no pointer to chase per block) without two vCPU threads sharing the
 * cache line that holds their write pointers.
 */
struct __attribute__((aligned(64))) ls_stream {
	/* Hot: touched on every block. */
	uint64_t *cur; /* next record to write */
	uint64_t *chunk_end; /* end of the current chunk in the ring */
	/* Warm: once per chunk. */
	uint64_t *ring;
	uint64_t *chunk_start;
	uint64_t *folded; /* records before this are in digest/insns */
	uint64_t chunk; /* current chunk number */
	uint64_t digest; /* of the current chunk up to `folded` */
	uint64_t insns; /* cumulative instructions up to `folded` */
	uint64_t chunk_insn_base;
	uint64_t published_seq; /* end of the last publication */
	uint32_t batch_order;
	uint32_t ring_order;
	uint32_t vcpu;
	bool final;
	struct ls_batch batch; /* the uprobe argument; the monitor writes permits into it */
	/* Counters for the plugin's own exit summary. */
	uint64_t publications;
	uint64_t hold_polls;
	uint64_t hold_ns;
	uint64_t lease_expiries;
	uint64_t holds; /* waits (hold_polls counts their polls) */
	uint64_t gate_holds; /* of those, decided by the gate, without the monitor */
	/* Syscall-stall flushing: guarded by mu, never touched per block. */
	pthread_mutex_t mu;
	bool in_syscall;
	uint64_t syscall_enter_ns;
	FILE *dump; /* dump=PATH: every record, in order */
	uint64_t dumped_seq;
	bool active; /* has a ring (the plugin's static table has a slot for every possible vCPU) */
	uint64_t sink; /* what a stream without a ring writes to (ls_stream_init_sink) */
	uint64_t unrecorded; /* blocks such a stream saw */
	uint64_t lapsed_lease; /* the lease_until_ns that ran out last (counted once; the permit then binds no more) */
};

/* The uprobe target: a 5-byte NOP and ret.  Tests may provide their own. */
void lockstep_publish(struct ls_batch *b);

uint64_t ls_mono_ns(void);

/* 0 on success, -errno on failure. */
int ls_stream_init(struct ls_stream *s, uint32_t vcpu, uint32_t batch_order, uint32_t ring_order);
void ls_stream_fini(struct ls_stream *s);

/*
 * A stream with no ring (before its vCPU is initialised, or when its ring
 * could not be allocated): appends land in s->sink and are only counted, so
 * the per-block path needs no check for a missing stream.
 */
void ls_stream_init_sink(struct ls_stream *s, uint32_t vcpu);

/*
 * The vector width the chunk fold uses: 0 picks the best for this CPU (the
 * first fold does that by itself); tests force 4 or 8 to check that every
 * width gives the same digest.  Returns the width in use.
 */
unsigned ls_stream_fold_width(unsigned want);

/* Sequence number of the next block. */
static inline uint64_t ls_stream_seq(const struct ls_stream *s)
{
	return (s->chunk << s->batch_order) + (uint64_t)(s->cur - s->chunk_start);
}

/* Publish the current chunk prefix with the given LS_PUB_* flags.  Callers
 * serialise publications of one stream. */
void ls_stream_publish(struct ls_stream *s, uint16_t flags);

/* Called by append when a chunk fills: publish it, move to the next, and
 * wait there if the monitor's permit does not reach it yet. */
void ls_stream_chunk_full(struct ls_stream *s);

/*
 * After the final publication: while a monitor holds a lease and has not
 * released the stream (permit_chunk == ~0), wait, so it can still read the
 * ring to compare a last chunk the other side cut at another length.  A
 * stream never monitored returns at once; a dead monitor costs one lease; a
 * live one that never lets go, max_ns (then false: the caller says so).
 */
bool ls_stream_wait_final(struct ls_stream *s, uint64_t max_ns);

/* How long a QEMU waits at exit for a monitor that keeps renewing its lease. */
#define LS_EXIT_WAIT_MAX_NS (60ull * 1000000000ull)

/*
 * The highest chunk a stream under the gate may write now: its partner's
 * progress plus the window (ls_permit_of), and 0 with *hold set while a
 * divergence froze the correlator that the monitor has not handled yet
 * (freeze_gen > gate_thaw), or when there is nothing sane to gate on: then
 * only the monitor's next permit, or the lease running out, lets it go.
 */
uint64_t ls_gate_permit(const struct ls_gate_view *g, const struct ls_batch *b, uint64_t chunk, bool *hold);

/* Wait until a monitor grants a lease, or timeout_ns passes.  true if one did. */
bool ls_stream_wait_monitor(struct ls_stream *s, uint64_t timeout_ns);

/*
 * The per-block hot path: one store and a pointer bump.  Digest and
 * instruction count are folded once per chunk, where the loop vectorises;
 * here even one more dependent load or store costs a visible fraction of
 * QEMU's ~1.5 ns per block.
 */
static inline void ls_stream_append(struct ls_stream *s, uint64_t word)
{
	uint64_t *p = s->cur;

	*p++ = word;
	s->cur = p;
	if (__builtin_expect(p == s->chunk_end, 0))
		ls_stream_chunk_full(s);
}

#endif /* LOCKSTEP_STREAM_H */
