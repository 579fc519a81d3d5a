/* SPDX-License-Identifier: MIT */
/*
 * align.h - a streaming comparator of two symbol streams (block record
 * words, or instruction addresses) that finds where they part and where they
 * come back together, reporting each divergent region like a diff hunk.
 * Pure logic, incremental, with memory bounded by the window.
 *
 * The caller keeps each side's symbols in an ls_seqbuf, appends as they
 * arrive, calls ls_align_step() until it reports NONE, and trims each
 * buffer to ls_align_keep_from() (minus any history it wants to keep).
 *
 * In sync the comparator is a plain word compare.  Once the streams part at
 * (a0, b0) it looks for the re-convergence (x, y) with the smallest x + y
 * (ties: the smaller max(x, y), then the smaller x) such that the `match`
 * symbols from a0 + x on side A equal those from b0 + y on side B, with
 * x, y < window.  That is what a data-dependent branch that briefly changes
 * control flow gives: A ran a loop twice more, or B took a 3-block detour,
 * then both go on identically.  The search hashes the `match`-grams of both
 * sides as they arrive and answers as soon as no pair with a smaller sum can
 * still appear, without waiting for the whole window.
 */
#ifndef LOCKSTEP_ALIGN_H
#define LOCKSTEP_ALIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * 32 equal symbols count as coming back together: long enough that two
 * paths through a shared helper (a memcpy, a short leaf function: a handful
 * of blocks) are not taken for a rejoin, and that a loop body is matched in
 * the right iteration; short enough that a real rejoin is reported within a
 * few dozen blocks and the hash of a k-gram stays cheap to verify (256 bytes).
 */
#define LS_ALIGN_DEFAULT_MATCH 32u
/*
 * Each side may spend up to 2^20 symbols (a few milliseconds of guest
 * execution at block granularity) apart: room for a different syscall path,
 * a signal handler, thousands of extra loop iterations.  Beyond that a rejoin
 * is more likely a coincidence than the same execution resumed.  Worst case
 * (no rejoin, no repetition) the search holds 8 bytes of symbols plus about
 * 20 bytes of tables per symbol of window on each side, ~56 MiB in all, and
 * gives up after hashing 2 x 2^20 k-grams: 0.1-0.5 s measured, mostly the
 * first touch of fresh table pages (tables of small regions are reused).
 */
#define LS_ALIGN_DEFAULT_WINDOW (1ull << 20)
#define LS_ALIGN_MAX_WINDOW (1ull << 31)
#define LS_ALIGN_MAX_MATCH 65536u

/*
 * One side's symbols [base, base + n) kept in memory.  The owner appends; the
 * comparator says what can be dropped.  Trimming is lazy: symbols below a
 * trim point stay (and base stays) until more than half of the buffer is
 * dead, so each symbol is moved at most once on average.
 */
struct ls_seqbuf {
	uint64_t base; /* sequence number of v[0] */
	uint64_t *v;
	size_t n, cap;
};

/* Append n symbols at ls_seqbuf_end(b).  0 or -ENOMEM (b unchanged). */
int ls_seqbuf_append(struct ls_seqbuf *b, const uint64_t *v, size_t n);
/* Make room for n > 0 more symbols at the end and return them, for the caller to fill; NULL (b unchanged) if out of memory. */
uint64_t *ls_seqbuf_extend(struct ls_seqbuf *b, size_t n);
/* Drop symbols below keep_from (clamped to the end); amortised O(1) a symbol. */
void ls_seqbuf_trim(struct ls_seqbuf *b, uint64_t keep_from);
/*
 * Capacity stays at its high-water mark (no realloc churn when each append is
 * consumed whole); after a large region, this gives back what is now mostly
 * unused, keeping at least 64K symbols.
 */
void ls_seqbuf_shrink(struct ls_seqbuf *b);
uint64_t ls_seqbuf_end(const struct ls_seqbuf *b);
void ls_seqbuf_free(struct ls_seqbuf *b);

struct ls_align_cfg {
	uint64_t window; /* symbols each side may spend apart before we give up; 1..LS_ALIGN_MAX_WINDOW */
	unsigned match; /* consecutive equal symbols that count as coming back together; 1..LS_ALIGN_MAX_MATCH */
};

enum ls_align_ev_type {
	LS_ALIGN_NONE, /* ran out of data (or nothing more will happen) */
	LS_ALIGN_PARTED, /* at: the first differing pair; len: 0 */
	LS_ALIGN_REJOINED, /* at: where the region started; len: symbols each side spent apart */
	LS_ALIGN_LOST, /* at: where the region started; len: symbols each side had looked at */
};

struct ls_align_ev {
	enum ls_align_ev_type type;
	uint64_t at[2];
	uint64_t len[2];
};

enum ls_align_state {
	LS_ALIGN_ST_SYNC, /* comparing pos[0] + i with pos[1] + i */
	LS_ALIGN_ST_APART, /* searching for a rejoin of the region starting at pos[] */
	LS_ALIGN_ST_LOST, /* no rejoin within the window: nothing more is compared */
};

/* One side's k-gram table for the search: first occurrence of each k-gram. */
struct ls_align_tab {
	uint64_t *slot; /* (uint64_t)tag << 32 | (x + 1); 0 = empty; open addressing */
	uint32_t *used; /* indices of the occupied slots, to clear them cheaply */
	uint64_t mask; /* slots - 1 (0: not allocated) */
	size_t count;
	uint64_t k; /* k-grams of this side looked at: x in [0, k) */
	uint64_t h; /* rolling hash of k-gram k - 1 */
};

struct ls_align {
	struct ls_align_cfg cfg;
	enum ls_align_state state;
	uint64_t pos[2]; /* SYNC: next pair to compare; APART, LOST: where the region starts */
	uint64_t matched; /* pairs compared equal (in sync) */
	uint64_t regions; /* PARTED events so far */
	/* search state (APART) */
	struct ls_align_tab tab[2];
	bool have_best;
	uint64_t best[2]; /* best (x, y) found so far */
	uint64_t pk; /* hash multiplier to the power match */
};

/* 0, or -EINVAL for a cfg out of range.  Starts in sync at (pos_a, pos_b). */
int ls_align_init(struct ls_align *al, const struct ls_align_cfg *cfg, uint64_t pos_a, uint64_t pos_b);

/*
 * Advance as far as the buffered symbols allow; stop at the first event and
 * return it in *ev (type NONE when it ran out of data).  final[i]: side i will
 * get no more symbols than b[i] holds now.  Returns 0, -ENOMEM (the search
 * tables could not grow; the state is unchanged, call again later), or
 * -ERANGE (a buffer no longer holds ls_align_keep_from() of its side).
 *
 * - SYNC: on the first differing pair, PARTED with at = its positions; the
 *   state becomes APART with pos = at.
 * - APART: REJOINED with len = {x, y} once the best (x, y) is certain: both
 *   sides have k-grams beyond x + y looked at, or can get no more.  The state
 *   becomes SYNC at (a0 + x, b0 + y); the matching k-gram is compared (and
 *   counted in ls_align_matched()) again there.
 * - APART: LOST when no rejoin with x, y < window exists: each side either
 *   has window + match - 1 symbols past the region start or is final.  len[i]
 *   is then min(what side i had left, window + match - 1).  A side with fewer
 *   than match symbols left (an ended guest) can match nothing, but the
 *   comparator still waits for the other side's window or end so that the
 *   event does not depend on when data arrived; the caller, seeing final[i],
 *   may give up sooner.
 * - Differences fewer than match equal symbols apart are one region: the
 *   equal run between them is not a rejoin.
 * - While apart, nothing beyond window + match - 1 symbols past the region
 *   start is read: a caller short of memory may stop buffering a side there.
 * - LOST stays LOST: NONE from then on.
 * - Ends: both sides final and at their ends in sync: NONE.  One side final
 *   at its end in sync while the other has (or may get) more: NONE as well;
 *   that is for the caller, which sees final[] and ls_align_pos().
 */
int ls_align_step(struct ls_align *al, const struct ls_seqbuf b[2], const bool final[2],
		  struct ls_align_ev *ev);

/*
 * Oldest symbol of that side the comparator still needs (so the caller can
 * trim, and keep its own history before it): the next pair in sync, the
 * region start while apart, UINT64_MAX once LOST.
 */
uint64_t ls_align_keep_from(const struct ls_align *al, int side);
/* Symbols compared equal in sync, counted once per pair. */
uint64_t ls_align_matched(const struct ls_align *al);
enum ls_align_state ls_align_state(const struct ls_align *al);
/* SYNC: the next symbol to compare; APART, LOST: where the region starts. */
uint64_t ls_align_pos(const struct ls_align *al, int side);
void ls_align_free(struct ls_align *al);

#endif
