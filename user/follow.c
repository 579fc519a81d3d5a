// SPDX-License-Identifier: MIT
/*
 * follow.c - one vCPU pair compared in user space: copying both rings into
 * our own buffers as the QEMUs publish, expanding blocks into instructions
 * for --insn, running the re-aligning comparator and trimming what it no
 * longer needs.
 */
#include "follow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lockstep_wire.h"
#include "target.h"

int ls_follow_start(struct ls_follow *f, enum ls_follow_mode mode, const struct ls_align_cfg *cfg,
		    const uint64_t pos[2], const uint64_t cum[2], unsigned keep_history)
{
	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->keep = keep_history;
	for (int i = 0; i < 2; i++) {
		f->rec[i].base = pos[i];
		f->cum_base[i] = cum[i];
		f->cum_pos[i] = pos[i];
		/* Instruction positions count from the start of the following. */
		f->ins[i].base = 0;
		f->istart[i].base = pos[i];
		f->start[i] = mode == LS_FOLLOW_BLOCKS ? pos[i] : 0;
		f->start_block[i] = pos[i];
	}
	if (ls_align_init(&f->al, cfg, f->start[0], f->start[1]))
		return -ENOMEM;
	f->active = true;
	return 0;
}

/* Append side i's blocks [from, from + n) (already in rec) to the instruction stream. */
static int expand(struct ls_follow *f, int i, const struct ls_tlog *t, const uint64_t *w, uint64_t n)
{
	uint64_t addrs[1024];

	for (uint64_t k = 0; k < n; k++) {
		/* The previous block's last instruction was backed out by QEMU: it runs here instead. */
		if (ls_tlog_phantom(f->prev_tb[i], ls_rec_pc(w[k])) && f->ins[i].n && f->ins[i].v[f->ins[i].n - 1] == ls_rec_pc(w[k])) {
			f->ins[i].n--;
			f->phantoms[i]++;
		}
		f->prev_tb[i] = t ? ls_tlog_find(t, ls_rec_pc(w[k]), ls_rec_ninsns(w[k])) : NULL;
		uint64_t first = ls_seqbuf_end(&f->ins[i]);
		size_t m = t ? ls_tlog_expand(t, w[k], addrs, sizeof(addrs) / sizeof(addrs[0])) : 0;
		if (!m) {
			f->problem = "an executed block is missing from the translation log (the log was full, or "
				     "the plugin logs none: tlog=0)";
			return -ENOENT;
		}
		if (m > sizeof(addrs) / sizeof(addrs[0]))
			m = sizeof(addrs) / sizeof(addrs[0]);
		/*
		 * Back-to-back executions of one instruction count once: QEMU runs
		 * each iteration of a rep string instruction as its own block in
		 * one mode and all of them in one go with -singlestep.
		 */
		size_t skip = 0;
		while (skip < m && f->ins[i].n && f->ins[i].v[f->ins[i].n - 1] == addrs[skip]) {
			skip++;
			f->repeats[i]++;
		}
		if (ls_seqbuf_append(&f->istart[i], &first, 1) || ls_seqbuf_append(&f->ins[i], addrs + skip, m - skip)) {
			f->problem = "out of memory";
			return -ENOMEM;
		}
	}
	return 0;
}

/* Symbols of side i in memory that the comparator has not consumed yet. */
static uint64_t ahead(const struct ls_follow *f, int i)
{
	const struct ls_seqbuf *sym = f->mode == LS_FOLLOW_INSNS ? &f->ins[i] : &f->rec[i];
	uint64_t need = ls_align_keep_from(&f->al, i), end = ls_seqbuf_end(sym);

	return end > need ? end - need : 0;
}

int64_t ls_follow_pull(struct ls_follow *f, const struct ls_follow_io io[2], uint64_t max_blocks)
{
	uint64_t lead[2] = { ahead(f, 0), ahead(f, 1) }, pulled = 0;
	/* A side with nothing more to come cannot catch up: the other is not held for it. */
	bool exhausted[2] = { io[0].final && ls_seqbuf_end(&f->rec[0]) >= io[0].pub_end,
			      io[1].final && ls_seqbuf_end(&f->rec[1]) >= io[1].pub_end };

	for (int i = 0; i < 2; i++) {
		uint64_t from = ls_seqbuf_end(&f->rec[i]), to = io[i].pub_end, h1, h2;
		struct ls_batch b;
		int e;

		if (to <= from)
			continue;
		/*
		 * Copy in step with the comparator, in symbols: when one side's
		 * blocks hold more instructions than the other's (another build,
		 * -singlestep), equal block counts a round would put it ever
		 * further ahead, its whole run in our memory, and trimming that
		 * would stall the loop past the QEMUs' leases.
		 */
		if (!exhausted[!i] && lead[i] > lead[!i] + LS_FOLLOW_LEAD)
			continue;
		if (to - from > max_blocks)
			to = from + max_blocks;
		const char *bad;
		if ((e = ls_target_batch(io[i].pid, io[i].info, io[i].batch_addr, &b, &bad)) ||
		    (e = ls_target_head_seq(io[i].pid, &b, &h1))) {
			f->problem = e == -EPROTO ? "a QEMU's batch is corrupt" : "a QEMU's memory could not be read (did it exit?)";
			return e;
		}
		uint64_t ring_len = 1ull << b.ring_order;
		if (h1 > ring_len && from < h1 - ring_len) {
			f->problem = "a QEMU recycled ring records before they were copied";
			return -EOVERFLOW;
		}
		uint64_t *dst = ls_seqbuf_extend(&f->rec[i], to - from);
		if (!dst) {
			f->problem = "out of memory";
			return -ENOMEM;
		}
		if ((e = ls_target_ring_read(io[i].pid, &b, from, to - from, dst)) ||
		    (e = ls_target_batch(io[i].pid, io[i].info, io[i].batch_addr, &b, &bad)) ||
		    (e = ls_target_head_seq(io[i].pid, &b, &h2))) {
			f->rec[i].n -= to - from; /* not copied: what was copied stays exact */
			f->problem = "a QEMU's ring could not be read (did it exit?)";
			return e;
		}
		if (h2 > ring_len && from < h2 - ring_len) {
			f->rec[i].n -= to - from;
			f->problem = "a QEMU recycled ring records while they were being copied";
			return -EOVERFLOW;
		}
		if (f->mode == LS_FOLLOW_INSNS && (e = expand(f, i, io[i].tlog, dst, to - from)))
			return e;
		pulled += to - from;
	}
	return (int64_t)pulled;
}

uint64_t ls_follow_block_of(const struct ls_follow *f, int i, uint64_t pos)
{
	const struct ls_seqbuf *s = &f->istart[i];
	size_t lo = 0, hi = s->n;

	if (f->mode == LS_FOLLOW_BLOCKS)
		return pos;
	/* Last block whose first instruction is at or before pos. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->v[mid] <= pos)
			lo = mid;
		else
			hi = mid;
	}
	return s->base + lo;
}

static void trim(struct ls_follow *f)
{
	for (int i = 0; i < 2; i++) {
		uint64_t need = ls_align_keep_from(&f->al, i);
		/* A region waiting for its report keeps its history however far the comparator went on. */
		if (f->pinned && f->pin[i] < need)
			need = f->pin[i];
		uint64_t keep = need > f->keep ? need - f->keep : 0;
		uint64_t bkeep = keep;
		if (f->mode == LS_FOLLOW_INSNS) {
			if (keep < f->ins[i].base)
				continue;
			ls_seqbuf_trim(&f->ins[i], keep);
			bkeep = ls_follow_block_of(f, i, keep);
			ls_seqbuf_trim(&f->istart[i], bkeep);
		}
		if (bkeep <= f->rec[i].base)
			continue;
		/* Blocks no longer needed move into the count (trimming itself is lazy: base lags). */
		for (uint64_t q = f->cum_pos[i]; q < bkeep && q < ls_seqbuf_end(&f->rec[i]); q++)
			f->cum_base[i] += ls_rec_ninsns(f->rec[i].v[q - f->rec[i].base]);
		if (bkeep > f->cum_pos[i])
			f->cum_pos[i] = bkeep < ls_seqbuf_end(&f->rec[i]) ? bkeep : ls_seqbuf_end(&f->rec[i]);
		ls_seqbuf_trim(&f->rec[i], f->cum_pos[i]);
	}
}

int ls_follow_step(struct ls_follow *f, const bool final[2], struct ls_align_ev *ev)
{
	struct ls_seqbuf sym[2];
	int e;

	for (int i = 0; i < 2; i++) {
		sym[i] = f->mode == LS_FOLLOW_BLOCKS ? f->rec[i] : f->ins[i];
		/* An expanded block's last instruction may still turn out a phantom: compare it with the next block. */
		if (f->mode == LS_FOLLOW_INSNS && !final[i] && sym[i].n)
			sym[i].n--;
	}

	ev->type = LS_ALIGN_NONE;
	if (!f->active || f->lost)
		return 0;
	/* In sync, what a step matches is a run from A's next position on. */
	bool sync = !f->region_open;
	uint64_t p = ls_align_keep_from(&f->al, 0), m0 = ls_align_matched(&f->al);
	e = ls_align_step(&f->al, sym, final, ev);
	if (e)
		return e;
	uint64_t delta = ls_align_matched(&f->al) - m0;
	if (f->mode == LS_FOLLOW_INSNS)
		f->matched_insns += delta;
	else if (sync)
		for (uint64_t q = p; q < p + delta && q - f->rec[0].base < f->rec[0].n; q++)
			f->matched_insns += ls_rec_ninsns(f->rec[0].v[q - f->rec[0].base]);
	switch (ev->type) {
	case LS_ALIGN_PARTED:
		f->region_open = true;
		f->open_ev = *ev;
		f->regions++;
		f->pinned = true;
		f->pin[0] = ev->at[0];
		f->pin[1] = ev->at[1];
		break;
	case LS_ALIGN_REJOINED:
		f->region_open = false;
		f->apart[0] += ev->len[0];
		f->apart[1] += ev->len[1];
		break;
	case LS_ALIGN_LOST:
		f->region_open = false;
		f->lost = true;
		break;
	default:
		break;
	}
	trim(f);
	return 0;
}

uint64_t ls_follow_buffered(const struct ls_follow *f, int i)
{
	uint64_t need = ls_align_keep_from(&f->al, i);
	uint64_t bneed = ls_follow_block_of(f, i, need);
	uint64_t end = ls_seqbuf_end(&f->rec[i]);

	return end > bneed ? end - bneed : 0;
}

int ls_follow_records(const struct ls_follow *f, const uint64_t at[2], unsigned before, unsigned after,
		      struct ls_side_records out[2], uint64_t *scratch[2])
{
	for (int i = 0; i < 2; i++) {
		scratch[i] = NULL;
		if (f->mode == LS_FOLLOW_BLOCKS) {
			/* cum_base counts up to cum_pos; the buffer may still hold blocks before it. */
			uint64_t cb = f->cum_base[i];
			for (uint64_t q = f->rec[i].base; q < f->cum_pos[i]; q++)
				cb -= ls_rec_ninsns(f->rec[i].v[q - f->rec[i].base]);
			out[i] = (struct ls_side_records){ .first_seq = f->rec[i].base, .n = f->rec[i].n,
							   .words = f->rec[i].v, .cum_base = cb };
			if (at[i] < f->rec[i].base)
				return -1;
			continue;
		}
		const struct ls_seqbuf *s = &f->ins[i];
		uint64_t lo = at[i] > before ? at[i] - before : 0, hi = at[i] + after + 1;
		if (lo < s->base)
			lo = s->base;
		if (hi > ls_seqbuf_end(s))
			hi = ls_seqbuf_end(s);
		if (at[i] < lo || hi <= lo)
			return -1;
		scratch[i] = calloc(hi - lo, sizeof(uint64_t));
		if (!scratch[i])
			return -1;
		for (uint64_t q = lo; q < hi; q++)
			scratch[i][q - lo] = ls_rec_make(s->v[q - s->base], 1);
		/* With one instruction a record, the cumulative count is the instruction index. */
		out[i] = (struct ls_side_records){ .first_seq = lo, .n = hi - lo, .words = scratch[i], .cum_base = lo };
	}
	return 0;
}

uint64_t ls_follow_matched(const struct ls_follow *f)
{
	return f->active ? ls_align_matched(&f->al) : 0;
}

void ls_follow_free(struct ls_follow *f)
{
	for (int i = 0; i < 2; i++) {
		ls_seqbuf_free(&f->rec[i]);
		ls_seqbuf_free(&f->ins[i]);
		ls_seqbuf_free(&f->istart[i]);
	}
	if (f->active)
		ls_align_free(&f->al);
	f->active = false;
}
