/*
 * fuzz_records.c - block records copied out of two rings (history.c):
 * anchoring, the first differing block and the side-by-side history on any
 * words, positions and counts a target's ring and batch can give.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct {
		uint64_t first[2], end[2], insn_end[2], lo, hi, at[2];
		uint16_t n[2], before, after;
	} h;
	struct ls_side_records r[2];
	struct ls_hist_row rows[64];
	uint64_t seq;

	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	data += sizeof(h);
	size -= sizeof(h);
	size_t words = size / 8;
	uint64_t *w = malloc((words ? words : 1) * 8);
	if (!w)
		return 0;
	memcpy(w, data, words * 8);
	size_t split = words ? h.n[0] % (words + 1) : 0;
	memset(r, 0, sizeof(r));
	r[0] = (struct ls_side_records){ .first_seq = h.first[0], .n = split, .words = w };
	r[1] = (struct ls_side_records){ .first_seq = h.first[1], .n = words - split, .words = w + split };
	for (int i = 0; i < 2; i++)
		ls_records_anchor(&r[i], h.end[i], h.insn_end[i]);
	/* bounded: the monitor never asks for more than a ring's worth */
	if (h.hi - h.lo > (1u << 21))
		h.hi = h.lo + (1u << 21);
	ls_first_divergence(r, h.lo, h.hi, &seq);
	ls_history_at(r, h.at, h.before % 64, h.after % 64, rows, 64);
	ls_history(r, h.at[0], h.before % 64, h.after % 64, rows, 64);
	free(w);
	return 0;
}
