/* SPDX-License-Identifier: MIT */
/*
 * follow.h - comparing one vCPU pair in user space, from copies of both
 * QEMUs' rings: after a divergence (the kernel compares chunk digests at
 * equal block numbers, which means nothing once the sides are apart), and
 * for --insn, where the two sides cut the same instructions into different
 * blocks.  The streams are re-aligned after each divergent region (align.h).
 */
#ifndef LOCKSTEP_FOLLOW_H
#define LOCKSTEP_FOLLOW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "align.h"
#include "history.h"
#include "tlogread.h"

enum ls_follow_mode {
	LS_FOLLOW_BLOCKS, /* symbols are block records */
	LS_FOLLOW_INSNS, /* symbols are instruction addresses, expanded through the translation log */
};

struct ls_follow {
	bool active;
	enum ls_follow_mode mode;
	unsigned keep; /* extra history kept before what the comparator needs */
	struct ls_seqbuf rec[2]; /* block words copied from each ring: [rec.base, end) */
	uint64_t cum_base[2]; /* instructions executed before block cum_pos[i] */
	uint64_t cum_pos[2];
	struct ls_seqbuf ins[2]; /* --insn: instruction addresses */
	struct ls_seqbuf istart[2]; /* --insn: instruction index where block rec.base + k starts */
	const struct ls_tb *prev_tb[2]; /* --insn: the last block expanded on each side */
	uint64_t phantoms[2]; /* instructions QEMU listed but backed out (ls_tlog_phantom) */
	uint64_t repeats[2]; /* back-to-back re-executions of one instruction, counted once */
	struct ls_align al;
	bool lost; /* gave up: the rest of this pair is not compared */
	bool region_open; /* between PARTED and REJOINED/LOST */
	struct ls_align_ev open_ev; /* that region's PARTED */
	bool pinned; /* a PARTED's report is pending: keep history before pin[] (ls_follow_unpin) */
	uint64_t pin[2];
	unsigned regions;
	uint64_t apart[2]; /* symbols each side spent in closed regions */
	uint64_t start[2]; /* where the following started (symbol positions) */
	uint64_t start_block[2]; /* and in blocks */
	uint64_t matched_insns; /* instructions of the symbols compared equal */
	const char *problem; /* why it stopped, when it did not give up by itself */
};

/* One side as the follower needs it for one pull. */
struct ls_follow_io {
	pid_t pid;
	uint64_t batch_addr;
	uint64_t pub_end; /* blocks published so far */
	bool final; /* pub_end is its last block (final chunk published, or the QEMU is gone) */
	const struct ls_tlog *tlog; /* --insn */
	const struct ls_plugin_info *info; /* what its batch is checked against */
};

/*
 * Start following at block pos[i] on side i, with cum[i] instructions
 * executed before it; keep_history blocks (instructions) are kept before
 * the comparator's oldest needed symbol for reports.  0 or -ENOMEM.
 */
int ls_follow_start(struct ls_follow *f, enum ls_follow_mode mode, const struct ls_align_cfg *cfg,
		    const uint64_t pos[2], const uint64_t cum[2], unsigned keep_history);

/*
 * A side is copied only while it holds at most this many symbols more than
 * the other beyond what the comparator consumed (unless the other has
 * nothing more to come): what keeps both buffers, and the work of a tick,
 * bounded whatever the ratio of the two sides' block lengths.  A round may
 * overshoot it by one round of blocks.
 */
#define LS_FOLLOW_LEAD (1ull << 18)

/*
 * Copy what each side published since the last pull (at most max_blocks
 * per side), expanding blocks with --insn; a side already LS_FOLLOW_LEAD
 * symbols ahead of the other waits.  Returns the blocks copied (0: nothing
 * to do until a side publishes more), or -errno with f->problem set (its
 * ring was recycled under us, it exited, a block is missing from the
 * translation log).
 */
int64_t ls_follow_pull(struct ls_follow *f, const struct ls_follow_io io[2], uint64_t max_blocks);

/* Next block to copy from side i: everything before it is in our memory. */
static inline uint64_t ls_follow_copied(const struct ls_follow *f, int i)
{
	return ls_seqbuf_end(&f->rec[i]);
}

/* Run the comparator over what is buffered; trims what is no longer needed. */
int ls_follow_step(struct ls_follow *f, const bool final[2], struct ls_align_ev *ev);

/* Blocks kept in memory for side i beyond what the comparator has consumed. */
uint64_t ls_follow_buffered(const struct ls_follow *f, int i);

/* Block seq on side i holding symbol position pos (itself in block mode). */
uint64_t ls_follow_block_of(const struct ls_follow *f, int i, uint64_t pos);

/*
 * The buffered records of both sides as history.h wants them, around
 * positions at[2]: in block mode the block records themselves, with --insn
 * one pseudo-record (address, 1 instruction) per instruction, built into
 * scratch[i] (freed by the caller).  0, or -1 when not buffered.
 */
int ls_follow_records(const struct ls_follow *f, const uint64_t at[2], unsigned before, unsigned after,
		      struct ls_side_records out[2], uint64_t *scratch[2]);

/* The pending report of the last PARTED is out: its history may go. */
static inline void ls_follow_unpin(struct ls_follow *f)
{
	f->pinned = false;
}

/* Symbols compared equal (their instructions: matched_insns). */
uint64_t ls_follow_matched(const struct ls_follow *f);

void ls_follow_free(struct ls_follow *f);

#endif
