/*
 * fuzz_tlog.c - a translation log as a target's memory may hold it
 * (tlogread.c), fed in pieces of any size, then looked up, expanded and
 * walked as a divergence report would.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lockstep_wire.h"
#include "tlogread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ls_tlog t[2];
	struct ls_insn_div div;
	uint64_t addrs[600], words[8];
	size_t half, piece;

	if (size < 2 + sizeof(words))
		return 0;
	piece = 1 + data[0] * 8 + data[1];
	memcpy(words, data + 2, sizeof(words));
	data += 2 + sizeof(words);
	size -= 2 + sizeof(words);
	half = size / 2;
	ls_tlog_init(&t[0]);
	ls_tlog_init(&t[1]);
	for (int i = 0; i < 2; i++) {
		const uint8_t *p = data + (i ? half : 0);
		size_t left = i ? size - half : half;
		while (left) {
			size_t n = left < piece ? left : piece;
			if (ls_tlog_feed(&t[i], p, n) < 0)
				break;
			p += n;
			left -= n;
		}
	}
	for (int k = 0; k < 8; k++) {
		const struct ls_tb *tb = ls_tlog_find(&t[k & 1], ls_rec_pc(words[k]), ls_rec_ninsns(words[k]));
		if (tb) {
			uint64_t sum = 0;
			for (uint32_t q = 0; q < tb->ninsns; q++)
				sum += tb->len[q] + tb->off[q];
			(void)sum;
			if (k + 1 < 8)
				ls_tlog_phantom(tb, ls_rec_pc(words[k + 1]));
		}
		ls_tlog_expand(&t[k & 1], words[k], addrs, sizeof(addrs) / sizeof(addrs[0]));
	}
	ls_first_insn_divergence(&t[0], &t[1], words, 4, words + 4, 4, &div);
	ls_tlog_free(&t[0]);
	ls_tlog_free(&t[1]);
	return 0;
}
