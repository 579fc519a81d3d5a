/* SPDX-License-Identifier: MIT */
/* history.c - exact divergent block and side-by-side history. */
#include "history.h"

#include "lockstep_wire.h"

static bool has(const struct ls_side_records *r, uint64_t seq)
{
	return seq >= r->first_seq && seq - r->first_seq < r->n;
}

int ls_records_anchor(struct ls_side_records *r, uint64_t end_seq, uint64_t insn_end)
{
	uint64_t sum = 0;

	if (end_seq < r->first_seq || end_seq - r->first_seq > r->n)
		return -1;
	for (uint64_t s = r->first_seq; s < end_seq; s++)
		sum += ls_rec_ninsns(r->words[s - r->first_seq]);
	if (sum > insn_end)
		return -1;
	r->cum_base = insn_end - sum;
	return 0;
}

int ls_first_divergence(const struct ls_side_records r[2], uint64_t lo, uint64_t hi, uint64_t *seq)
{
	for (uint64_t s = lo; s < hi; s++) {
		if (!has(&r[0], s) || !has(&r[1], s))
			return -1;
		if (r[0].words[s - r[0].first_seq] != r[1].words[s - r[1].first_seq]) {
			*seq = s;
			return 0;
		}
	}
	return -1;
}

size_t ls_history(const struct ls_side_records r[2], uint64_t at, unsigned before, unsigned after,
		  struct ls_hist_row *rows, size_t max)
{
	const uint64_t both[2] = { at, at };

	return ls_history_at(r, both, before, after, rows, max);
}

size_t ls_history_at(const struct ls_side_records r[2], const uint64_t at[2], unsigned before, unsigned after,
		     struct ls_hist_row *rows, size_t max)
{
	/* Row k shows A's block at[0] - back + k beside B's at[1] - back + k. */
	uint64_t lo = at[0] < at[1] ? at[0] : at[1];
	uint64_t back = lo > before ? before : lo;
	uint64_t from[2] = { at[0] - back, at[1] - back };
	uint64_t cum[2];
	size_t n = 0;

	/* Cumulative counts just before `from`, then one addition per row. */
	for (int i = 0; i < 2; i++) {
		cum[i] = r[i].cum_base;
		for (uint64_t q = r[i].first_seq; q < from[i] && q - r[i].first_seq < r[i].n; q++)
			cum[i] += ls_rec_ninsns(r[i].words[q - r[i].first_seq]);
	}
	for (uint64_t k = 0; k <= back + after && n < max; k++) {
		struct ls_hist_row *row = &rows[n];
		bool any = false;

		*row = (struct ls_hist_row){ .seq = from[0] + k, .seq_b = from[1] + k };
		for (int i = 0; i < 2; i++) {
			uint64_t s = from[i] + k;
			if (!has(&r[i], s))
				continue;
			uint64_t w = r[i].words[s - r[i].first_seq];
			cum[i] += ls_rec_ninsns(w);
			row->have[i] = true;
			row->pc[i] = ls_rec_pc(w);
			row->ninsns[i] = ls_rec_ninsns(w);
			row->cum[i] = cum[i];
			any = true;
		}
		if (!any)
			continue;
		row->differs = row->have[0] != row->have[1] || row->pc[0] != row->pc[1] ||
			       row->ninsns[0] != row->ninsns[1];
		n++;
	}
	return n;
}
