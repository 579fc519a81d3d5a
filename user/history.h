/* SPDX-License-Identifier: MIT */
/*
 * history.h - finding the exact divergent block in two sides' ring copies
 * and building the side-by-side history around it.  Pure logic.
 */
#ifndef LOCKSTEP_HISTORY_H
#define LOCKSTEP_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A contiguous run of one side's records, copied out of its ring. */
struct ls_side_records {
	uint64_t first_seq; /* sequence number of words[0] */
	size_t n;
	const uint64_t *words; /* ls_rec words */
	uint64_t cum_base; /* instructions executed before first_seq */
};

/*
 * Derive cum_base from a known cumulative count: insn_end instructions had
 * executed after block end_seq - 1.  -1 if end_seq is outside the copy.
 */
int ls_records_anchor(struct ls_side_records *r, uint64_t end_seq, uint64_t insn_end);

/* First seq in [lo, hi) where the sides' records differ; -1 if none (or not copied). */
int ls_first_divergence(const struct ls_side_records r[2], uint64_t lo, uint64_t hi, uint64_t *seq);

struct ls_hist_row {
	uint64_t seq; /* A's position */
	uint64_t seq_b; /* B's: differs from seq once the streams re-aligned after a divergence */
	bool have[2];
	uint64_t pc[2];
	uint32_t ninsns[2];
	uint64_t cum[2]; /* instructions executed up to and including this block */
	bool differs;
};

/* Rows for blocks [at - before, at + after]; returns the number written. */
size_t ls_history(const struct ls_side_records r[2], uint64_t at, unsigned before, unsigned after,
		  struct ls_hist_row *rows, size_t max);

/* The same with each side at its own position: A's at[0] is shown beside B's at[1]. */
size_t ls_history_at(const struct ls_side_records r[2], const uint64_t at[2], unsigned before, unsigned after,
		     struct ls_hist_row *rows, size_t max);

#endif
