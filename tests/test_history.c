/* test_history.c - locating the first divergent block in two ring copies and the side-by-side history rows. */
#include <criterion/criterion.h>

#include "history.h"
#include "lockstep_wire.h"

#define A_FIRST 100
#define A_N 20 /* A holds blocks 100..119 */
#define B_FIRST 105
#define B_N 10 /* B holds blocks 105..114 */

static uint64_t wa[A_N], wb[B_N];
static struct ls_side_records r[2];

static uint64_t ninsns_of(uint64_t seq)
{
	return 1 + seq % 4;
}

static uint64_t word(uint64_t seq)
{
	return ls_rec_make(0x401000 + seq * 0x10, (uint32_t)ninsns_of(seq));
}

/* Sum of a's ninsns over [from, to). */
static uint64_t sum(uint64_t from, uint64_t to)
{
	uint64_t n = 0;

	for (uint64_t q = from; q < to; q++)
		n += ninsns_of(q);
	return n;
}

static void setup(void)
{
	for (uint64_t i = 0; i < A_N; i++)
		wa[i] = word(A_FIRST + i);
	for (uint64_t i = 0; i < B_N; i++)
		wb[i] = word(B_FIRST + i);
	wb[110 - B_FIRST] = ls_rec_make(0x7f0000001000ULL, (uint32_t)ninsns_of(110)); /* another pc */
	wb[112 - B_FIRST] = ls_rec_make(0x401000 + 112 * 0x10, 9); /* same pc, other length */
	r[0] = (struct ls_side_records){ .first_seq = A_FIRST, .n = A_N, .words = wa, .cum_base = 1000 };
	r[1] = (struct ls_side_records){ .first_seq = B_FIRST, .n = B_N, .words = wb, .cum_base = 2000 };
}

TestSuite(history, .init = setup);

Test(history, anchor_from_the_end_of_the_copy)
{
	cr_assert_eq(ls_records_anchor(&r[0], 120, 5000), 0);
	cr_assert_eq(r[0].cum_base, 5000 - sum(100, 120));
}

Test(history, anchor_inside_the_copy)
{
	cr_assert_eq(ls_records_anchor(&r[0], 107, 300), 0);
	cr_assert_eq(r[0].cum_base, 300 - sum(100, 107));
}

Test(history, anchor_at_the_first_block)
{
	cr_assert_eq(ls_records_anchor(&r[0], 100, 77), 0);
	cr_assert_eq(r[0].cum_base, 77);
}

Test(history, anchor_outside_the_copy)
{
	cr_assert_eq(ls_records_anchor(&r[0], 121, 5000), -1);
	cr_assert_eq(ls_records_anchor(&r[0], 99, 5000), -1);
	cr_assert_eq(r[0].cum_base, 1000, "a refused anchor leaves cum_base alone");
}

Test(history, anchor_with_too_few_instructions)
{
	/* Fewer instructions in total than the copied blocks hold: the copy is not what was published. */
	uint64_t need = sum(100, 120);

	cr_assert_eq(ls_records_anchor(&r[0], 120, need - 1), -1);
	cr_assert_eq(r[0].cum_base, 1000);
	cr_assert_eq(ls_records_anchor(&r[0], 120, need), 0);
	cr_assert_eq(r[0].cum_base, 0);
}

Test(history, first_divergence_found)
{
	uint64_t seq = 0;

	cr_assert_eq(ls_first_divergence(r, 105, 115, &seq), 0);
	cr_assert_eq(seq, 110);
	seq = 0;
	cr_assert_eq(ls_first_divergence(r, 111, 115, &seq), 0);
	cr_assert_eq(seq, 112, "a length difference alone is a divergence");
}

Test(history, first_divergence_before_a_copy_ends)
{
	/* hi beyond B's copy is fine as long as the difference comes first. */
	uint64_t seq = 0;

	cr_assert_eq(ls_first_divergence(r, 108, 130, &seq), 0);
	cr_assert_eq(seq, 110);
}

Test(history, first_divergence_none)
{
	uint64_t seq = 4242;

	cr_assert_eq(ls_first_divergence(r, 105, 110, &seq), -1);
	cr_assert_eq(seq, 4242);
	cr_assert_eq(ls_first_divergence(r, 107, 107, &seq), -1, "empty range");
	cr_assert_eq(seq, 4242);
}

Test(history, first_divergence_range_outside_a_copy)
{
	uint64_t seq = 4242;

	cr_assert_eq(ls_first_divergence(r, 100, 115, &seq), -1, "B has no block 100");
	cr_assert_eq(ls_first_divergence(r, 113, 120, &seq), -1, "B ends at 114 with no difference in 113..114");
	cr_assert_eq(ls_first_divergence(r, 200, 210, &seq), -1);
	cr_assert_eq(seq, 4242);
}

Test(history, rows_around_the_divergence)
{
	struct ls_hist_row rows[32];
	size_t n = ls_history(r, 110, 3, 6, rows, 32);

	cr_assert_eq(n, 10);
	for (size_t k = 0; k < n; k++) {
		uint64_t q = 107 + k;
		const struct ls_hist_row *row = &rows[k];

		cr_assert_eq(row->seq, q);
		cr_assert_eq(row->have[0], true, "seq %llu", (unsigned long long)q);
		cr_assert_eq(row->pc[0], 0x401000 + q * 0x10);
		cr_assert_eq(row->ninsns[0], ninsns_of(q));
		cr_assert_eq(row->cum[0], 1000 + sum(100, q + 1), "A's cumulative count at %llu", (unsigned long long)q);
		cr_assert_eq(row->have[1], q < 115, "seq %llu", (unsigned long long)q);
	}
	/* B's cumulative count: its own base plus its own (different) lengths. */
	cr_assert_eq(rows[0].cum[1], 2000 + sum(105, 108));
	cr_assert_eq(rows[5].seq, 112);
	cr_assert_eq(rows[5].ninsns[1], 9);
	cr_assert_eq(rows[5].cum[1], 2000 + sum(105, 112) + 9);
	cr_assert_eq(rows[7].cum[1], 2000 + sum(105, 115) - ninsns_of(112) + 9);
	cr_assert_eq(rows[3].pc[1], 0x7f0000001000ULL);

	/* differs: 110 (pc), 112 (length), and 115..116 where B's copy has ended. */
	bool want[10] = { false, false, false, true, false, true, false, false, true, true };
	for (size_t k = 0; k < n; k++)
		cr_assert_eq(rows[k].differs, want[k], "seq %llu", (unsigned long long)rows[k].seq);
	cr_assert_eq(rows[8].pc[1], 0);
	cr_assert_eq(rows[8].cum[1], 0);
}

Test(history, rows_before_the_partner_copy_starts)
{
	struct ls_hist_row rows[8];
	size_t n = ls_history(r, 106, 3, 0, rows, 8);

	cr_assert_eq(n, 4);
	cr_assert_eq(rows[0].seq, 103);
	cr_assert_eq(rows[0].have[1], false);
	cr_assert_eq(rows[0].differs, true);
	cr_assert_eq(rows[1].have[1], false);
	cr_assert_eq(rows[2].seq, 105);
	cr_assert_eq(rows[2].have[1], true);
	cr_assert_eq(rows[2].differs, false);
	cr_assert_eq(rows[2].cum[1], 2000 + ninsns_of(105));
	cr_assert_eq(rows[3].cum[1], 2000 + ninsns_of(105) + ninsns_of(106));
	cr_assert_eq(rows[3].cum[0], 1000 + sum(100, 107));
}

Test(history, rows_skip_blocks_neither_side_has)
{
	struct ls_hist_row rows[16];
	size_t n = ls_history(r, 102, 5, 0, rows, 16);

	cr_assert_eq(n, 3);
	cr_assert_eq(rows[0].seq, 100);
	cr_assert_eq(rows[0].cum[0], 1000 + ninsns_of(100));
	cr_assert_eq(rows[2].seq, 102);
	cr_assert_eq(ls_history(r, 50, 4, 4, rows, 16), 0);
}

Test(history, rows_near_block_zero)
{
	uint64_t w0[3] = { word(0), word(1), word(2) };
	struct ls_side_records z[2] = {
		{ .first_seq = 0, .n = 3, .words = w0, .cum_base = 0 },
		{ .first_seq = 0, .n = 3, .words = w0, .cum_base = 0 },
	};
	struct ls_hist_row rows[8];

	/* before > at: the window is clipped at block 0, not wrapped around. */
	cr_assert_eq(ls_history(z, 1, 16, 1, rows, 8), 3);
	cr_assert_eq(rows[0].seq, 0);
	cr_assert_eq(rows[2].seq, 2);
	cr_assert_eq(rows[2].cum[1], sum(0, 3));
	cr_assert_eq(rows[1].differs, false);
}

Test(history, rows_limited_by_max)
{
	struct ls_hist_row rows[4];

	cr_assert_eq(ls_history(r, 110, 3, 6, rows, 4), 4);
	cr_assert_eq(rows[3].seq, 110);
	cr_assert_eq(rows[3].differs, true);
}

Test(history, rows_with_high_pcs)
{
	uint64_t hw[1] = { ls_rec_make(0xffffffff81000000ULL, 2) };
	struct ls_side_records h[2] = {
		{ .first_seq = 7, .n = 1, .words = hw, .cum_base = 10 },
		{ .first_seq = 7, .n = 1, .words = hw, .cum_base = 10 },
	};
	struct ls_hist_row rows[1];

	cr_assert_eq(ls_history(h, 7, 0, 0, rows, 1), 1);
	cr_assert_eq(rows[0].pc[0], 0xffffffff81000000ULL);
	cr_assert_eq(rows[0].ninsns[1], 2);
	cr_assert_eq(rows[0].cum[0], 12);
}
