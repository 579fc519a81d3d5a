/* SPDX-License-Identifier: MIT */
/*
 * fwd.h - the same inputs on both sides (--forward-inputs), the way a
 * co-simulation hands a reference model's nondeterministic values to the
 * design under test: B's plugin copies into B's guest memory what A's guest
 * got from the syscalls whose results differ between any two runs
 * (getrandom, clock_gettime, sysinfo, the time fields of a stat ...).
 *
 * The channel is one shared memory file (a memfd) the monitor creates and
 * hands both plugins over the gate socket (gatesrv.h): a header, then for
 * each of the first LS_FWD_VCPUS vCPU indices a lane of three rings A writes
 * and B reads:
 *   calls  one word per syscall (its number and block): enough to check that
 *          B's k-th syscall is A's k-th.  2^21 of them: the gate lets one
 *          side lead by at most 2^21 blocks (the plugin's largest ring), and
 *          a syscall ends a block, so B always finds A's word for its own.
 *   slots  one per syscall of the kinds forwarded (ls_fwd_forwards), the f-th
 *          such syscall in slot f % 2^21: its return value and where its
 *          output bytes are in the data ring.
 *   data   the output bytes, a 32 MiB byte ring.
 * That is 112 MiB of address space a lane, backed only as syscalls touch it:
 * a guest that does little but forwarded syscalls (a clock_gettime loop)
 * fills it, Python's start-up touches a few pages.
 * A never waits for anything; B, at the return of its own k-th syscall (its
 * f-th forwarded one), reads A's word k and slot f (waiting, bounded, when B
 * is ahead), checks that it is the same syscall with an output as long, and
 * copies A's bytes over B's.  A syscall that is not the same on both sides is
 * the divergence: B records it in the header (the monitor reports it) and
 * stops forwarding on that vCPU.  A more than 2^21 forwarded syscalls (or
 * 32 MiB of their output) ahead of B overwrites what B still needs: B stops
 * forwarding on that vCPU and says so.
 *
 * Everything here is plain memory: no QEMU, no monitor.  Every field of the
 * channel can be written by either guest (a linux-user guest can write its
 * QEMU's memory), so readers bound what they read and a reader's worst case
 * is wrong bytes in B's guest, never out of bounds.
 *
 * Protocol (A, the only writer of the rings and of a_next, a_fnext, a_dhead):
 *   entry   calls[k] written; for a forwarded kind, slot f: tag = 0
 *           (release), seq/num written, state ENTERED, tag = f + 1
 *           (release), a_fnext = f + 1; then a_next = k + 1 (release).
 *   return  output bytes appended to data (a_dhead += len, release), then
 *           slot f's ret, len, doff, then state RETURNED (release).
 * B reads word k when a_next > k, and it is intact when a_next <= k + 2^21
 * afterwards; slot f as a seqlock on its tag; data bytes [doff, doff + len)
 * are intact when a_dhead <= doff + 4 MiB after copying them.
 */
#ifndef LOCKSTEP_FWD_H
#define LOCKSTEP_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../bpf/lockstep_wire.h"
#include "../user/systab.h"

#define LS_FWD_MAGIC 0x3244574cu /* "LWD2" */
#define LS_FWD_VERSION 2
#define LS_FWD_VCPUS 8 /* vCPU indices with a lane; threads beyond are not forwarded (and say so) */
#define LS_FWD_CALLS_ORDER 21 /* syscall words a lane: the most blocks one side may lead by */
#define LS_FWD_CALLS (1u << LS_FWD_CALLS_ORDER)
#define LS_FWD_ORDER 21 /* forwarded syscalls A may lead B by: as many as syscalls */
#define LS_FWD_SLOTS (1u << LS_FWD_ORDER)
#define LS_FWD_DATA_RING (32u << 20) /* their output bytes: 2^21 timespecs */
#define LS_FWD_DATA (64u << 10) /* one output forwarded at most: longer ones are counted, not forwarded */
#define LS_FWD_BYNUM 16 /* syscalls counted by number in the statistics */
#define LS_FWD_DEFAULT_WAIT_MS 10000 /* B's bound on waiting for A without A making progress */

/* A syscall word: its number (0xffff: beyond) and the blocks at entry. */
static inline uint64_t ls_fwd_call_word(int64_t num, uint64_t seq)
{
	return (seq << 16) | (num >= 0 && num < 0xffff ? (uint64_t)num : 0xffffu);
}

enum ls_fwd_slot_state {
	LS_FWD_EMPTY = 0,
	LS_FWD_ENTERED = 1,
	LS_FWD_RETURNED = 2,
};

struct ls_fwd_slot {
	uint64_t tag; /* forwarded-syscall index + 1; 0 while A rewrites the slot */
	int64_t ret;
	uint64_t doff; /* where its output bytes start in the data ring: a_dhead before they were appended */
	uint32_t len; /* how many: A's output as ls_fwd_rule cut it */
	uint16_t state; /* LS_FWD_* */
	uint16_t num; /* as in a syscall word (0xffff: beyond) */
};

/* Why B stopped forwarding on a vCPU (lane.b_stopped). */
enum ls_fwd_stop {
	LS_FWD_GOING = 0,
	LS_FWD_STOP_MISMATCH = 1, /* another syscall, or another output length, at the same index */
	LS_FWD_STOP_TIMEOUT = 2, /* A did not reach B's syscall within the wait bound */
	LS_FWD_STOP_A_ENDED = 3, /* A exited before making it */
	LS_FWD_STOP_LOST = 4, /* A was more than LS_FWD_SLOTS syscalls ahead: its record was overwritten */
};

struct ls_fwd_lane {
	uint64_t a_next; /* A: syscalls entered on this vCPU */
	uint64_t a_fnext; /* A: of those, forwarded kinds (slots used) */
	uint64_t a_dhead; /* A: output bytes appended to the data ring */
	uint64_t b_next; /* B: syscalls returned on this vCPU (for the report) */
	uint64_t b_checked; /* B: indices below this were compared with A's */
	uint32_t b_stopped; /* enum ls_fwd_stop */
	uint32_t a_in_call; /* A: inside a syscall (a sleep, a read from a terminal): B's wait is not for nothing */
	uint64_t b_stop_index; /* where */
	uint64_t _pad2[1]; /* one cache line: A's and B's lanes of other vCPUs do not share it */
};

/* B's statistics, for the summary (the monitor reads them; any guest could scribble on them). */
struct ls_fwd_stats {
	uint64_t forwarded; /* syscalls whose output B took from A */
	uint64_t bytes; /* bytes copied */
	uint64_t ret_differs; /* not forwarded: the return value differed, and plugin API 1 cannot set a register */
	uint64_t one_failed; /* not forwarded: failed on one side only, or on both */
	uint64_t too_long; /* not forwarded: longer than LS_FWD_DATA */
	uint64_t no_lane; /* not forwarded: a vCPU index beyond LS_FWD_VCPUS */
	uint64_t unwritable; /* not forwarded: B's output could not be written */
	uint64_t after_stop; /* not forwarded: after pairing stopped on that vCPU */
	uint64_t checked; /* syscall pairs whose numbers were compared */
	uint64_t waits; /* B got to a syscall before A and waited */
	uint64_t wait_ns, max_wait_ns;
	uint64_t cost_ns; /* B's time in forwarding, waits excluded */
	struct {
		int64_t num; /* -1: unused */
		uint64_t forwarded, ret_differs;
	} by_num[LS_FWD_BYNUM];
};

enum ls_fwd_mm_kind {
	LS_FWD_MM_NUM = 1, /* another syscall */
	LS_FWD_MM_LEN = 2, /* the same syscall with outputs of different lengths */
};

/* The first pair that could not be paired (B writes it once). */
struct ls_fwd_mismatch {
	uint32_t set;
	uint32_t vcpu;
	uint32_t kind; /* enum ls_fwd_mm_kind */
	uint32_t _pad;
	uint64_t index; /* the log index on that vCPU */
	int64_t num[2]; /* A's, B's */
	uint64_t seq[2]; /* blocks at entry */
	uint64_t len[2]; /* output lengths (LS_FWD_MM_LEN) */
};

struct ls_fwd_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t order; /* LS_FWD_ORDER */
	uint32_t data; /* LS_FWD_DATA_RING */
	uint32_t ready[2]; /* each plugin, once it mapped the channel */
	uint32_t a_ended; /* the monitor, once A's QEMU exited: B stops waiting */
	uint32_t wait_ms; /* B's wait bound */
	uint64_t mon_ns; /* the monitor's CLOCK_MONOTONIC at its last tick: A inside a syscall keeps B waiting only while it ticks */
	struct ls_fwd_stats st;
	struct ls_fwd_mismatch mm;
	struct ls_fwd_lane lane[LS_FWD_VCPUS];
};

#define LS_FWD_HDR_BYTES 4096u
_Static_assert(sizeof(struct ls_fwd_hdr) <= LS_FWD_HDR_BYTES, "forward header fits its page");
_Static_assert(sizeof(struct ls_fwd_slot) == 32, "slot layout");

/* One vCPU's rings, as laid out in the channel after the header. */
struct ls_fwd_rings {
	uint64_t calls[LS_FWD_CALLS];
	struct ls_fwd_slot slots[LS_FWD_SLOTS];
	uint8_t data[LS_FWD_DATA_RING];
};

/* Bytes of the channel: a header page, then LS_FWD_VCPUS lanes (sparse: a memfd's pages come when touched). */
static inline uint64_t ls_fwd_size(void)
{
	return LS_FWD_HDR_BYTES + (uint64_t)LS_FWD_VCPUS * sizeof(struct ls_fwd_rings);
}

static inline struct ls_fwd_rings *ls_fwd_rings(void *map, unsigned vcpu)
{
	return (struct ls_fwd_rings *)((char *)map + LS_FWD_HDR_BYTES + (uint64_t)vcpu * sizeof(struct ls_fwd_rings));
}

/* The monitor: a fresh header in a zeroed map of ls_fwd_size() bytes. */
void ls_fwd_init(void *map, uint32_t wait_ms);

/* A plugin: 0 when the map of `size` bytes is a channel this plugin speaks, else an errno. */
int ls_fwd_check(const void *map, uint64_t size);

/* What of a syscall's result is forwarded: nothing, its output bytes, or (not possible) its return value. */
struct ls_fwd_what {
	uint64_t addr; /* guest address of the bytes forwarded */
	uint32_t len; /* how many (0: none) */
	uint32_t full_len; /* the output's whole length, when longer than LS_FWD_DATA (too_long) */
	bool ret_varies; /* the return value itself differs between runs (getpid, time ...) */
};

/*
 * The forwarding rule for a syscall that returned ret: which bytes of its
 * output differ between runs.  Only successful calls forward anything.
 * False when nothing of it is forwarded and its return value does not vary.
 */
bool ls_fwd_rule(enum ls_arch arch, int64_t num, const uint64_t args[6], int64_t ret, struct ls_fwd_what *w);

/* Whether a syscall number is of a kind that gets a slot (whatever it returns): the same on both sides. */
bool ls_fwd_forwards(enum ls_arch arch, int64_t num);

/*
 * A: syscall k (the f-th of a forwarded kind when slot) entered on a vCPU,
 * and returned (with its output bytes when it has a slot).  k and f count
 * from 0 on each vCPU.
 */
void ls_fwd_a_enter(struct ls_fwd_lane *lane, struct ls_fwd_rings *r, uint64_t k, uint64_t f, bool slot,
		    uint64_t seq, int64_t num);
void ls_fwd_a_return(struct ls_fwd_lane *lane, struct ls_fwd_rings *r, uint64_t f, int64_t ret, const void *data,
		     uint32_t len);

enum ls_fwd_take {
	LS_FWD_TAKEN = 0, /* A's record is copied */
	LS_FWD_NOT_YET, /* A has not got there, or not returned from it */
	LS_FWD_GONE, /* A is so far past it that it was overwritten */
};

/* B: A's syscall word k, if A got there. */
enum ls_fwd_take ls_fwd_take_call(const struct ls_fwd_lane *lane, const struct ls_fwd_rings *r, uint64_t k,
				  uint64_t *word);

/*
 * B: a consistent copy of A's slot f (and when returned, its output bytes
 * into data, which holds LS_FWD_DATA), if A got there.
 */
enum ls_fwd_take ls_fwd_take(const struct ls_fwd_lane *lane, const struct ls_fwd_rings *r, uint64_t f,
			     bool need_return, struct ls_fwd_slot *out, uint8_t *data);

/* B: count a syscall by number in the statistics. */
void ls_fwd_count(struct ls_fwd_stats *st, int64_t num, bool forwarded, bool ret_differs);

/* Record the first mismatch (later ones are not: the first is the divergence). */
void ls_fwd_mismatch(struct ls_fwd_hdr *h, unsigned vcpu, enum ls_fwd_mm_kind kind, uint64_t index,
		     const int64_t num[2], const uint64_t seq[2], const uint64_t len[2]);

/* "A made getrandom (#5, block 1234) where B made getpid (block 1234)": for reports, from a copied mismatch. */
size_t ls_fwd_mismatch_text(const struct ls_fwd_mismatch *m, enum ls_arch arch, char *buf, size_t size);

/*
 * One plugin's side of the channel.  The per-vCPU state is private (a
 * guest can write the channel, not change what this side counts); ops are
 * how it reaches its guest's memory and the clock (the unit tests pass
 * their own).
 */
struct ls_fwd_ops {
	uint64_t (*now_ns)(void);
	void (*pause)(unsigned round); /* B waits: yield, then sleep longer with each round */
	int (*read)(void *ctx, uint64_t guest_addr, void *dst, uint32_t n); /* A: 0 or an errno */
	int (*write)(void *ctx, uint64_t guest_addr, const void *src, uint32_t n); /* B: 0 or an errno */
	void (*say)(void *ctx, const char *msg); /* B: a message for the user (stderr) */
	void *ctx;
};

struct ls_fwd_vcpu {
	uint64_t next; /* syscalls entered on this vCPU (this side's own count) */
	uint64_t fnext; /* of those, forwarded kinds */
	uint64_t checked; /* B: pairs below this index were compared */
	bool pending, slot;
	uint32_t stopped; /* B: enum ls_fwd_stop */
	int64_t num;
	uint64_t seq;
	uint64_t args[6];
	uint8_t *buf; /* LS_FWD_DATA bytes: A's output on its way (allocated with the vCPU) */
	/* B: its own syscall words, to compare with A's when A gets there (lazily backed). */
	uint64_t *calls; /* LS_FWD_CALLS */
};

/* A vCPU's private state (NULL without memory), and its release. */
struct ls_fwd_vcpu *ls_fwd_vcpu_new(void);
void ls_fwd_vcpu_free(struct ls_fwd_vcpu *v);

struct ls_fwd_side {
	int side; /* 0 A, 1 B */
	void *map;
	struct ls_fwd_hdr *h;
	enum ls_arch arch;
	uint64_t wait_ns; /* B: the bound, from the header when mapped, clamped */
	struct ls_fwd_ops ops;
	struct ls_fwd_vcpu *v[LS_FWD_VCPUS]; /* NULL: that vCPU does not take part */
};

/* Bind a checked map (ls_fwd_check) as side 0 (A) or 1 (B) and say so in the header. */
void ls_fwd_side_init(struct ls_fwd_side *f, void *map, int side, enum ls_arch arch, const struct ls_fwd_ops *ops);

/* Syscall entry and return on vCPU `vcpu` of this side (QEMU's callbacks); ret -512 is a restart. */
void ls_fwd_sys_enter(struct ls_fwd_side *f, unsigned vcpu, uint64_t seq, int64_t num, const uint64_t args[6]);
void ls_fwd_sys_return(struct ls_fwd_side *f, unsigned vcpu, int64_t num, int64_t ret);

/* "" / "mismatch" / "timeout" / "A ended" / "lost": why a lane stopped. */
const char *ls_fwd_stop_name(uint32_t why);

#endif
