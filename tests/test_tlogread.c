/* test_tlogread.c - parsing hand-built translation logs and comparing instruction streams built from them. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "lockstep_wire.h"
#include "tlogread.h"

/* ---- a small translation log builder ---- */

struct builder {
	uint8_t *buf;
	size_t len, cap;
};

static void b_reserve(struct builder *b, size_t more)
{
	if (b->len + more <= b->cap)
		return;
	b->cap = (b->len + more) * 2;
	b->buf = realloc(b->buf, b->cap);
	cr_assert_not_null(b->buf);
}

/* Append an entry for a block at pc whose instructions have the given lengths, contiguous; returns its offset. */
static size_t b_add(struct builder *b, uint64_t pc, unsigned n, const uint8_t *lens, uint8_t fill)
{
	unsigned nbytes = 0;

	for (unsigned i = 0; i < n; i++)
		nbytes += lens[i];
	uint32_t size = ls_tlog_ent_size(n, nbytes);
	size_t at = b->len;
	struct ls_tlog_ent e = { .pc = pc, .ninsns = (uint16_t)n, .nbytes = (uint16_t)nbytes, .size = size };
	uint16_t off = 0;

	b_reserve(b, size);
	memset(b->buf + at, 0, size);
	memcpy(b->buf + at, &e, sizeof(e));
	for (unsigned i = 0; i < n; i++) {
		memcpy(b->buf + at + sizeof(e) + 2 * i, &off, 2);
		b->buf[at + sizeof(e) + 2 * n + i] = lens[i];
		off += lens[i];
	}
	for (unsigned i = 0; i < nbytes; i++)
		b->buf[at + sizeof(e) + 3 * n + i] = (uint8_t)(fill + i);
	b->len += size;
	return at;
}

/* A block of n instructions of len bytes each. */
static size_t b_add_uniform(struct builder *b, uint64_t pc, unsigned n, uint8_t len)
{
	uint8_t lens[LS_TLOG_MAX_INSNS];

	memset(lens, len, n);
	return b_add(b, pc, n, lens, 0x90);
}

/* Entry fields of the entry at `at`. */
static struct ls_tlog_ent *b_ent(struct builder *b, size_t at)
{
	return (struct ls_tlog_ent *)(b->buf + at);
}

static void b_set_off(struct builder *b, size_t at, unsigned i, uint16_t off)
{
	memcpy(b->buf + at + sizeof(struct ls_tlog_ent) + 2 * i, &off, 2);
}

static void b_set_len(struct builder *b, size_t at, unsigned i, uint8_t len)
{
	unsigned n = b_ent(b, at)->ninsns;

	b->buf[at + sizeof(struct ls_tlog_ent) + 2 * n + i] = len;
}

static struct builder lb, lb2;
static struct ls_tlog ta, tb;

static void setup(void)
{
	memset(&lb, 0, sizeof(lb));
	memset(&lb2, 0, sizeof(lb2));
	ls_tlog_init(&ta);
	ls_tlog_init(&tb);
}

static void teardown(void)
{
	free(lb.buf);
	free(lb2.buf);
	ls_tlog_free(&ta);
	ls_tlog_free(&tb);
}

TestSuite(tlogread, .init = setup, .fini = teardown);

/* ---- parsing ---- */

Test(tlogread, parses_and_finds)
{
	const uint8_t lens[] = { 1, 3, 5, 2 };

	b_add(&lb, 0x401000, 4, lens, 0x10);
	b_add_uniform(&lb, 0x401020, 2, 4);
	cr_assert_eq(ls_tlog_feed(&ta, lb.buf, lb.len), 2);
	cr_assert_eq(ta.fed, lb.len);
	cr_assert_eq(ta.entries, 2);
	cr_assert_not(ta.corrupt);

	const struct ls_tb *t = ls_tlog_find(&ta, 0x401000, 4);
	cr_assert_not_null(t);
	cr_assert_eq(t->pc, 0x401000);
	cr_assert_eq(t->ninsns, 4);
	cr_assert_eq(t->nbytes, 11);
	cr_assert_eq(t->off[0], 0);
	cr_assert_eq(t->off[1], 1);
	cr_assert_eq(t->off[2], 4);
	cr_assert_eq(t->off[3], 9);
	cr_assert_eq(t->len[2], 5);
	cr_assert_eq(t->bytes[0], 0x10);
	cr_assert_eq(t->bytes[10], 0x1a);
	cr_assert_eq(t->log_offset, 0);
	cr_assert_null(ls_tlog_find(&ta, 0x401000, 3), "the key includes the instruction count");
	cr_assert_null(ls_tlog_find(&ta, 0x401001, 4));
	cr_assert_eq(ls_tlog_find(&ta, 0x401020, 2)->log_offset, ls_tlog_ent_size(4, 11));
}

Test(tlogread, empty_log)
{
	uint64_t addrs[4];

	cr_assert_eq(ls_tlog_feed(&ta, "", 0), 0);
	cr_assert_null(ls_tlog_find(&ta, 0x401000, 1));
	cr_assert_eq(ls_tlog_expand(&ta, ls_rec_make(0x401000, 1), addrs, 4), 0);
}

Test(tlogread, expands_a_record)
{
	const uint8_t lens[] = { 1, 3, 5 };
	uint64_t addrs[8] = { 0 };

	b_add(&lb, 0x401000, 3, lens, 0);
	cr_assert_eq(ls_tlog_feed(&ta, lb.buf, lb.len), 1);
	cr_assert_eq(ls_tlog_expand(&ta, ls_rec_make(0x401000, 3), addrs, 8), 3);
	cr_assert_eq(addrs[0], 0x401000);
	cr_assert_eq(addrs[1], 0x401001);
	cr_assert_eq(addrs[2], 0x401004);
	cr_assert_eq(ls_tlog_expand(&ta, ls_rec_make(0x401000, 2), addrs, 8), 0, "unknown key: instructions unknown");
}

Test(tlogread, expand_writes_at_most_max)
{
	uint64_t addrs[3] = { 0, 0, 0xdead };

	b_add_uniform(&lb, 0x401000, 5, 2);
	ls_tlog_feed(&ta, lb.buf, lb.len);
	cr_assert_eq(ls_tlog_expand(&ta, ls_rec_make(0x401000, 5), addrs, 2), 5, "the block's count, like snprintf");
	cr_assert_eq(addrs[1], 0x401002);
	cr_assert_eq(addrs[2], 0xdead);
}

Test(tlogread, high_pcs_match_record_words)
{
	/* A record keeps 48 bits of pc and sign-extends bit 47: kernel-half and high user pcs still match. */
	uint64_t pcs[] = { 0xffffffff81000000ULL, 0x00007ffff7fd0000ULL };
	uint64_t addrs[1];

	for (int i = 0; i < 2; i++)
		b_add_uniform(&lb, pcs[i], 1, 3);
	ls_tlog_feed(&ta, lb.buf, lb.len);
	for (int i = 0; i < 2; i++) {
		uint64_t w = ls_rec_make(pcs[i], 1);

		cr_assert_eq(ls_tlog_expand(&ta, w, addrs, 1), 1);
		cr_assert_eq(addrs[0], pcs[i]);
		cr_assert_not_null(ls_tlog_find(&ta, pcs[i], 1));
	}
}

Test(tlogread, consecutive_feeds_and_split_entries)
{
	/* Feed the log one byte at a time and in odd slices: the result is the same. */
	for (unsigned i = 0; i < 20; i++)
		b_add_uniform(&lb, 0x400000 + 0x100 * i, 1 + i % 7, (uint8_t)(1 + i % 15));
	size_t total = 0;
	for (size_t k = 0; k < lb.len; k++) {
		int rc = ls_tlog_feed(&ta, lb.buf + k, 1);
		cr_assert_geq(rc, 0);
		total += (size_t)rc;
	}
	cr_assert_eq(total, 20);
	size_t pos = 0, step = 37;
	total = 0;
	while (pos < lb.len) {
		size_t n = lb.len - pos < step ? lb.len - pos : step;
		total += (size_t)ls_tlog_feed(&tb, lb.buf + pos, n);
		pos += n;
		step = step * 3 % 101 + 1;
	}
	cr_assert_eq(total, 20);
	cr_assert_eq(ta.fed, lb.len);
	for (unsigned i = 0; i < 20; i++) {
		const struct ls_tb *x = ls_tlog_find(&ta, 0x400000 + 0x100 * i, 1 + i % 7);
		const struct ls_tb *y = ls_tlog_find(&tb, 0x400000 + 0x100 * i, 1 + i % 7);

		cr_assert_not_null(x);
		cr_assert_not_null(y);
		cr_assert_eq(x->nbytes, y->nbytes);
		cr_assert_eq(memcmp(x->bytes, y->bytes, x->nbytes), 0);
		cr_assert_eq(x->log_offset, y->log_offset);
	}
}

Test(tlogread, many_entries_grow_the_index)
{
	for (unsigned i = 0; i < 5000; i++)
		b_add_uniform(&lb, 0x400000 + 16 * i, 1 + i % 3, 4);
	cr_assert_eq(ls_tlog_feed(&ta, lb.buf, lb.len), 5000);
	for (unsigned i = 0; i < 5000; i++)
		cr_assert_not_null(ls_tlog_find(&ta, 0x400000 + 16 * i, 1 + i % 3), "entry %u", i);
}

/* ---- corrupt entries ---- */

static void expect_corrupt_at(size_t good, size_t bad_at, const char *why_part)
{
	int rc = ls_tlog_feed(&ta, lb.buf, lb.len);

	cr_assert_eq(rc, LS_TLOG_ECORRUPT);
	cr_assert(ta.corrupt);
	cr_assert_eq(ta.errors, 1);
	cr_assert_eq(ta.entries, good, "%zu entries before the corrupt one", good);
	cr_assert_eq(ta.bad_offset, bad_at);
	cr_assert_not_null(strstr(ta.bad_reason, why_part), "reason: %s", ta.bad_reason);
	cr_assert_not_null(ls_tlog_find(&ta, 0x401000, 2), "entries before stay usable");
}

Test(tlogread, corrupt_size)
{
	b_add_uniform(&lb, 0x401000, 2, 3);
	size_t at = b_add_uniform(&lb, 0x402000, 3, 3);
	b_ent(&lb, at)->size += 8;
	b_add_uniform(&lb, 0x403000, 1, 3);
	expect_corrupt_at(1, at, "size");
	cr_assert_null(ls_tlog_find(&ta, 0x403000, 1), "nothing after the corrupt entry is parsed");
}

Test(tlogread, corrupt_zero_or_huge_ninsns)
{
	b_add_uniform(&lb, 0x401000, 2, 3);
	size_t at = b_add_uniform(&lb, 0x402000, 3, 3);
	b_ent(&lb, at)->ninsns = 0;
	expect_corrupt_at(1, at, "instruction count");
}

Test(tlogread, corrupt_too_many_insns)
{
	b_add_uniform(&lb, 0x401000, 2, 3);
	/* Size consistent with the counts, but more instructions than TCG makes. */
	size_t at = lb.len;
	struct ls_tlog_ent e = { .pc = 0x402000, .ninsns = 600, .nbytes = 600, .size = ls_tlog_ent_size(600, 600) };
	b_reserve(&lb, e.size);
	memset(lb.buf + at, 0, e.size);
	memcpy(lb.buf + at, &e, sizeof(e));
	lb.len += e.size;
	expect_corrupt_at(1, at, "instruction count");
}

Test(tlogread, corrupt_zero_length)
{
	b_add_uniform(&lb, 0x401000, 2, 3);
	size_t at = b_add_uniform(&lb, 0x402000, 3, 3);
	b_set_len(&lb, at, 1, 0);
	expect_corrupt_at(1, at, "length");
}

Test(tlogread, corrupt_lengths_do_not_add_up)
{
	b_add_uniform(&lb, 0x401000, 2, 3);
	size_t at = b_add_uniform(&lb, 0x402000, 3, 3);
	b_set_len(&lb, at, 2, 2); /* 3+3+2 != 9 */
	expect_corrupt_at(1, at, "add up");
}

Test(tlogread, corrupt_offsets_not_increasing)
{
	b_add_uniform(&lb, 0x401000, 2, 3);
	size_t at = b_add_uniform(&lb, 0x402000, 3, 3);
	b_set_off(&lb, at, 2, 3); /* equal to off[1] */
	expect_corrupt_at(1, at, "increasing");
}

Test(tlogread, corrupt_overlapping_instructions)
{
	b_add_uniform(&lb, 0x401000, 2, 3);
	size_t at = b_add_uniform(&lb, 0x402000, 3, 3);
	b_set_off(&lb, at, 1, 2); /* instruction 0 is 3 bytes long */
	expect_corrupt_at(1, at, "increasing");
}

Test(tlogread, corrupt_first_offset)
{
	b_add_uniform(&lb, 0x401000, 2, 3);
	size_t at = b_add_uniform(&lb, 0x402000, 3, 3);
	b_set_off(&lb, at, 0, 1);
	expect_corrupt_at(1, at, "first instruction");
}

Test(tlogread, corrupt_fewer_bytes_than_insns)
{
	b_add_uniform(&lb, 0x401000, 2, 3);
	size_t at = b_add_uniform(&lb, 0x402000, 3, 1);
	b_ent(&lb, at)->nbytes = 2;
	b_ent(&lb, at)->size = ls_tlog_ent_size(3, 2);
	expect_corrupt_at(1, at, "fewer code bytes");
}

Test(tlogread, corrupt_huge_size_never_reads_past_the_bytes)
{
	/* A header claiming a large size at the very end: rejected from the header alone, no read past n. */
	b_add_uniform(&lb, 0x401000, 2, 3);
	size_t at = lb.len;
	struct ls_tlog_ent e = { .pc = 0x402000, .ninsns = 1, .nbytes = 60000, .size = 0xfffffff8u };
	uint8_t *copy = malloc(at + sizeof(e)); /* exactly sized, so ASan/valgrind catch any overread */

	memcpy(copy, lb.buf, at);
	memcpy(copy + at, &e, sizeof(e));
	cr_assert_eq(ls_tlog_feed(&ta, copy, at + sizeof(e)), LS_TLOG_ECORRUPT);
	cr_assert_eq(ta.bad_offset, at);
	free(copy);
}

Test(tlogread, corrupt_is_sticky)
{
	size_t at = b_add_uniform(&lb, 0x401000, 2, 3);
	b_ent(&lb, at)->size = 0;
	cr_assert_eq(ls_tlog_feed(&ta, lb.buf, lb.len), LS_TLOG_ECORRUPT);

	b_add_uniform(&lb2, 0x402000, 1, 1);
	cr_assert_eq(ls_tlog_feed(&ta, lb2.buf, lb2.len), LS_TLOG_ECORRUPT, "framing is lost: nothing more is parsed");
	cr_assert_eq(ta.errors, 1);
	cr_assert_eq(ta.fed, lb.len + lb2.len);
	cr_assert_null(ls_tlog_find(&ta, 0x402000, 1));
}

Test(tlogread, corrupt_header_split_across_feeds)
{
	b_add_uniform(&lb, 0x401000, 2, 3);
	size_t at = b_add_uniform(&lb, 0x402000, 3, 3);
	b_ent(&lb, at)->size = 8;
	cr_assert_eq(ls_tlog_feed(&ta, lb.buf, at + 5), 1);
	cr_assert_eq(ls_tlog_feed(&ta, lb.buf + at + 5, lb.len - at - 5), LS_TLOG_ECORRUPT);
	cr_assert_eq(ta.bad_offset, at);
}

Test(tlogread, random_garbage_never_crashes)
{
	/* Whatever the bytes, parsing stops cleanly (run under ASan/valgrind by make sanitize/valgrind). */
	uint8_t junk[4096];
	uint32_t x = 12345;

	for (int round = 0; round < 50; round++) {
		struct ls_tlog t;

		for (size_t i = 0; i < sizeof(junk); i++) {
			x = x * 1103515245u + 12345u;
			junk[i] = (uint8_t)(x >> 16);
		}
		if (round & 1) { /* a plausible header now and then */
			struct ls_tlog_ent e = { .pc = 1, .ninsns = 3, .nbytes = 7, .size = ls_tlog_ent_size(3, 7) };
			memcpy(junk, &e, sizeof(e));
		}
		ls_tlog_init(&t);
		int rc = ls_tlog_feed(&t, junk, 1 + (x % sizeof(junk)));
		cr_assert(rc == LS_TLOG_ECORRUPT || rc >= 0);
		ls_tlog_free(&t);
	}
}

/* ---- retranslation ---- */

Test(tlogread, retranslation_replaces_the_older_entry)
{
	const uint8_t l1[] = { 2, 2 }, l2[] = { 1, 3 };

	b_add(&lb, 0x401000, 2, l1, 0x10);
	b_add(&lb, 0x401000, 2, l1, 0x10); /* the same code again (code cache flushed) */
	cr_assert_eq(ls_tlog_feed(&ta, lb.buf, lb.len), 2);
	cr_assert_eq(ta.retranslated, 1);
	cr_assert_eq(ta.retranslated_changed, 0);

	const struct ls_tb *old = ls_tlog_find(&ta, 0x401000, 2);
	size_t at = b_add(&lb2, 0x401000, 2, l2, 0x20); /* the guest rewrote its code */
	cr_assert_eq(ls_tlog_feed(&ta, lb2.buf, lb2.len), 1);
	cr_assert_eq(ta.retranslated, 2);
	cr_assert_eq(ta.retranslated_changed, 1);

	const struct ls_tb *now = ls_tlog_find(&ta, 0x401000, 2);
	cr_assert_eq(now->log_offset, lb.len + at);
	cr_assert_eq(now->off[1], 1);
	cr_assert_eq(now->bytes[0], 0x20);
	cr_assert_eq(old->off[1], 2, "an older entry handed out stays valid");
	cr_assert_eq(old->bytes[0], 0x10);
}

Test(tlogread, retranslation_with_other_bytes_only)
{
	const uint8_t l[] = { 2, 2 };

	b_add(&lb, 0x401000, 2, l, 0x10);
	b_add(&lb, 0x401000, 2, l, 0x11);
	ls_tlog_feed(&ta, lb.buf, lb.len);
	cr_assert_eq(ta.retranslated_changed, 1);
	cr_assert_eq(ls_tlog_find(&ta, 0x401000, 2)->bytes[0], 0x11);
}

Test(tlogread, same_pc_other_length_is_another_key)
{
	b_add_uniform(&lb, 0x401000, 4, 2);
	b_add_uniform(&lb, 0x401000, 2, 2);
	ls_tlog_feed(&ta, lb.buf, lb.len);
	cr_assert_eq(ta.retranslated, 0);
	cr_assert_eq(ls_tlog_find(&ta, 0x401000, 4)->ninsns, 4);
	cr_assert_eq(ls_tlog_find(&ta, 0x401000, 2)->ninsns, 2);
}

/* ---- instruction-level divergence ---- */

/* Log every instruction of [pc, pc + n*len) as one block, and as single-instruction blocks into lb2. */
static void log_both_ways(uint64_t pc, unsigned n, uint8_t len)
{
	b_add_uniform(&lb, pc, n, len);
	for (unsigned i = 0; i < n; i++)
		b_add_uniform(&lb2, pc + (uint64_t)i * len, 1, len);
}

static void feed_all(void)
{
	cr_assert_geq(ls_tlog_feed(&ta, lb.buf, lb.len), 0);
	cr_assert_geq(ls_tlog_feed(&tb, lb2.buf, lb2.len), 0);
}

Test(tlogread, identical_streams_are_the_same)
{
	b_add_uniform(&lb, 0x401000, 3, 2);
	b_add_uniform(&lb, 0x402000, 2, 4);
	cr_assert_eq(ls_tlog_feed(&ta, lb.buf, lb.len), 2);
	cr_assert_eq(ls_tlog_feed(&tb, lb.buf, lb.len), 2);

	uint64_t w[] = { ls_rec_make(0x401000, 3), ls_rec_make(0x402000, 2), ls_rec_make(0x401000, 3) };
	struct ls_insn_div d;

	cr_assert_eq(ls_first_insn_divergence(&ta, &tb, w, 3, w, 3, &d), LS_INSN_SAME);
	cr_assert_eq(d.index, 8);
	cr_assert_eq(d.ninsns[0], 8);
	cr_assert_eq(d.ninsns[1], 8);
	cr_assert_eq(d.borrowed[0] + d.borrowed[1], 0);
}

Test(tlogread, singlestep_split_streams_are_the_same)
{
	/* B ran with -one-insn-per-tb: 9 blocks of one instruction for A's 3 blocks; the same instructions. */
	log_both_ways(0x401000, 4, 2);
	log_both_ways(0x401100, 3, 5);
	log_both_ways(0x401200, 2, 1);
	feed_all();

	uint64_t wa[] = { ls_rec_make(0x401000, 4), ls_rec_make(0x401100, 3), ls_rec_make(0x401200, 2) };
	uint64_t wb[9];
	size_t nb = 0;
	for (unsigned i = 0; i < 4; i++)
		wb[nb++] = ls_rec_make(0x401000 + 2 * i, 1);
	for (unsigned i = 0; i < 3; i++)
		wb[nb++] = ls_rec_make(0x401100 + 5 * i, 1);
	for (unsigned i = 0; i < 2; i++)
		wb[nb++] = ls_rec_make(0x401200 + i, 1);

	struct ls_insn_div d;
	cr_assert_eq(ls_first_insn_divergence(&ta, &tb, wa, 3, wb, nb, &d), LS_INSN_SAME);
	cr_assert_eq(d.index, 9);
	cr_assert_eq(d.ninsns[0], 9);
	cr_assert_eq(d.ninsns[1], 9);
}

Test(tlogread, rep_string_iterations_count_once)
{
	/*
	 * A: the rep instruction at 0x401004 runs as its own block three times
	 * (one per iteration), then the block after it; B (-singlestep) runs
	 * it once and goes on.  The same instruction stream.
	 */
	log_both_ways(0x401000, 3, 2); /* 0x401000, 0x401002, 0x401004 (the rep) */
	log_both_ways(0x401004, 1, 2);
	log_both_ways(0x401006, 2, 3);
	log_both_ways(0x402000, 1, 1);
	feed_all();

	uint64_t wa[] = { ls_rec_make(0x401000, 3), ls_rec_make(0x401004, 1), ls_rec_make(0x401004, 1),
			  ls_rec_make(0x401006, 2) };
	uint64_t wb[] = { ls_rec_make(0x401000, 3), ls_rec_make(0x401006, 2) };
	struct ls_insn_div d;

	cr_assert_eq(ls_first_insn_divergence(&ta, &tb, wa, 4, wb, 2, &d), LS_INSN_SAME);
	cr_assert_eq(d.index, 5, "repeats are counted once");
	cr_assert_eq(ls_first_insn_divergence(&ta, &tb, wb, 2, wa, 4, &d), LS_INSN_SAME, "either side may repeat");

	/* A real difference after the repeats is still found, at the right place. */
	uint64_t wc[] = { ls_rec_make(0x401000, 3), ls_rec_make(0x401004, 1), ls_rec_make(0x402000, 1) };
	cr_assert_eq(ls_first_insn_divergence(&ta, &tb, wc, 3, wb, 2, &d), LS_INSN_DIFFER);
	cr_assert_eq(d.first[0].addr, 0x402000);
	cr_assert_eq(d.first[1].addr, 0x401006);
	cr_assert_eq(d.common[0].addr, 0x401004);
	cr_assert_eq(d.index, 3);
}

Test(tlogread, singlestep_split_with_a_divergence)
{
	/* A: 0x401000 (4 insns) then 0x401100; B single-steps the same first 4 but then goes to 0x401200. */
	log_both_ways(0x401000, 4, 2);
	log_both_ways(0x401100, 3, 5);
	log_both_ways(0x401200, 2, 1);
	feed_all();

	uint64_t wa[] = { ls_rec_make(0x401000, 4), ls_rec_make(0x401100, 3) };
	uint64_t wb[] = { ls_rec_make(0x401000, 1), ls_rec_make(0x401002, 1), ls_rec_make(0x401004, 1),
			  ls_rec_make(0x401006, 1), ls_rec_make(0x401200, 1), ls_rec_make(0x401201, 1) };
	struct ls_insn_div d;

	cr_assert_eq(ls_first_insn_divergence(&ta, &tb, wa, 2, wb, 6, &d), LS_INSN_DIFFER);
	cr_assert_eq(d.index, 4);
	cr_assert_eq(d.first[0].block, 1);
	cr_assert_eq(d.first[0].insn, 0);
	cr_assert_eq(d.first[0].addr, 0x401100);
	cr_assert_eq(d.first[1].block, 4);
	cr_assert_eq(d.first[1].insn, 0);
	cr_assert_eq(d.first[1].addr, 0x401200);
	cr_assert(d.have_common);
	cr_assert_eq(d.common[0].block, 0);
	cr_assert_eq(d.common[0].insn, 3, "the last instruction of A's block: the branch");
	cr_assert_eq(d.common[0].addr, 0x401006);
	cr_assert_eq(d.common[1].block, 3);
	cr_assert_eq(d.common[1].insn, 0);
	cr_assert_eq(d.common[1].addr, 0x401006);
}

Test(tlogread, divergence_in_the_middle_of_a_block)
{
	/*
	 * Same pc, different ninsns: A's block at 0x401000 ended after 3
	 * instructions (a branch at 0x401004 leaving it), B's runs on for 6.
	 * A then jumps to 0x405000; B's 4th instruction is at 0x401006.
	 */
	b_add_uniform(&lb, 0x400f00, 2, 4);
	b_add_uniform(&lb, 0x401000, 3, 2);
	b_add_uniform(&lb, 0x405000, 2, 3);
	b_add_uniform(&lb2, 0x400f00, 2, 4);
	b_add_uniform(&lb2, 0x401000, 6, 2);
	feed_all();

	uint64_t wa[] = { ls_rec_make(0x400f00, 2), ls_rec_make(0x401000, 3), ls_rec_make(0x405000, 2) };
	uint64_t wb[] = { ls_rec_make(0x400f00, 2), ls_rec_make(0x401000, 6) };
	struct ls_insn_div d;

	cr_assert_eq(ls_first_insn_divergence(&ta, &tb, wa, 3, wb, 2, &d), LS_INSN_DIFFER);
	cr_assert_eq(d.index, 5);
	cr_assert_eq(d.first[0].block, 2);
	cr_assert_eq(d.first[0].insn, 0);
	cr_assert_eq(d.first[0].addr, 0x405000);
	cr_assert_eq(d.first[1].block, 1);
	cr_assert_eq(d.first[1].insn, 3);
	cr_assert_eq(d.first[1].addr, 0x401006);
	cr_assert_eq(d.common[0].block, 1);
	cr_assert_eq(d.common[0].insn, 2);
	cr_assert_eq(d.common[0].addr, 0x401004);
	cr_assert_eq(d.common[1].block, 1);
	cr_assert_eq(d.common[1].insn, 2);
	cr_assert_eq(d.common[1].addr, 0x401004);
}

Test(tlogread, block_ended_early_but_same_instructions)
{
	/* A's block was cut in two (page boundary, exit request) where B's was not: no instruction differs. */
	b_add_uniform(&lb, 0x401000, 3, 2);
	b_add_uniform(&lb, 0x401006, 3, 2);
	b_add_uniform(&lb2, 0x401000, 6, 2);
	feed_all();

	uint64_t wa[] = { ls_rec_make(0x401000, 3), ls_rec_make(0x401006, 3) };
	uint64_t wb[] = { ls_rec_make(0x401000, 6) };
	struct ls_insn_div d;

	cr_assert_eq(ls_first_insn_divergence(&ta, &tb, wa, 2, wb, 1, &d), LS_INSN_SAME);
	cr_assert_eq(d.index, 6);
}

Test(tlogread, divergence_at_a_block_boundary)
{
	/* Same blocks, then A goes to 0x402000 and B to 0x403000: the last common insn ends the previous block. */
	b_add_uniform(&lb, 0x401000, 5, 3);
	b_add_uniform(&lb, 0x402000, 2, 2);
	b_add_uniform(&lb2, 0x401000, 5, 3);
	b_add_uniform(&lb2, 0x403000, 4, 2);
	feed_all();

	uint64_t wa[] = { ls_rec_make(0x401000, 5), ls_rec_make(0x402000, 2) };
	uint64_t wb[] = { ls_rec_make(0x401000, 5), ls_rec_make(0x403000, 4) };
	struct ls_insn_div d;

	cr_assert_eq(ls_first_insn_divergence(&ta, &tb, wa, 2, wb, 2, &d), LS_INSN_DIFFER);
	cr_assert_eq(d.index, 5);
	cr_assert_eq(d.first[0].block, 1);
	cr_assert_eq(d.first[0].insn, 0);
	cr_assert_eq(d.first[0].addr, 0x402000);
	cr_assert_eq(d.first[1].addr, 0x403000);
	cr_assert_eq(d.common[0].block, 0);
	cr_assert_eq(d.common[0].insn, 4);
	cr_assert_eq(d.common[0].addr, 0x40100c);
	cr_assert_eq(d.common[1].addr, 0x40100c);
	cr_assert_eq(d.ninsns[0], 7);
	cr_assert_eq(d.ninsns[1], 9);
}

Test(tlogread, divergence_at_the_first_instruction)
{
	b_add_uniform(&lb, 0x401000, 2, 2);
	b_add_uniform(&lb2, 0x402000, 2, 2);
	feed_all();

	uint64_t wa[] = { ls_rec_make(0x401000, 2) }, wb[] = { ls_rec_make(0x402000, 2) };
	struct ls_insn_div d;

	cr_assert_eq(ls_first_insn_divergence(&ta, &tb, wa, 1, wb, 1, &d), LS_INSN_DIFFER);
	cr_assert_eq(d.index, 0);
	cr_assert_not(d.have_common);
}

Test(tlogread, one_stream_is_a_prefix)
{
	b_add_uniform(&lb, 0x401000, 4, 2);
	b_add_uniform(&lb, 0x401000, 2, 2);
	feed_all();
	ls_tlog_feed(&tb, lb.buf, lb.len);

	uint64_t wa[] = { ls_rec_make(0x401000, 2) }, wb[] = { ls_rec_make(0x401000, 4) };
	struct ls_insn_div d;

	cr_assert_eq(ls_first_insn_divergence(&ta, &tb, wa, 1, wb, 1, &d), LS_INSN_SAME);
	cr_assert_eq(d.index, 2, "no difference in the 2 instructions both hold");
	cr_assert_eq(d.ninsns[0], 2);
	cr_assert_eq(d.ninsns[1], 4);
}

Test(tlogread, unknown_translation)
{
	b_add_uniform(&lb, 0x401000, 3, 2);
	ls_tlog_feed(&ta, lb.buf, lb.len);
	ls_tlog_feed(&tb, lb.buf, lb.len);

	uint64_t wa[] = { ls_rec_make(0x401000, 3), ls_rec_make(0x409000, 2) };
	uint64_t wb[] = { ls_rec_make(0x401000, 3), ls_rec_make(0x409000, 4) };
	struct ls_insn_div d;

	cr_assert_eq(ls_first_insn_divergence(&ta, &tb, wa, 2, wb, 2, &d), LS_INSN_UNKNOWN);
	cr_assert_eq(d.unknown_side, 0);
	cr_assert_eq(d.unknown_block, 1);
	cr_assert_eq(d.unknown_word, wa[1]);
	cr_assert_eq(d.index, 3, "3 instructions were equal before it");
}

Test(tlogread, unknown_translation_after_the_difference_does_not_matter)
{
	b_add_uniform(&lb, 0x401000, 3, 2);
	b_add_uniform(&lb2, 0x402000, 3, 2);
	feed_all();

	uint64_t wa[] = { ls_rec_make(0x401000, 3), ls_rec_make(0x409000, 2) };
	uint64_t wb[] = { ls_rec_make(0x402000, 3), ls_rec_make(0x409000, 4) };
	struct ls_insn_div d;

	cr_assert_eq(ls_first_insn_divergence(&ta, &tb, wa, 2, wb, 2, &d), LS_INSN_DIFFER);
}

Test(tlogread, unknown_on_one_side_is_borrowed_from_the_other)
{
	/* B's log was full (tlog_dropped): A's translation of the same key stands in, and says so. */
	b_add_uniform(&lb, 0x401000, 3, 2);
	b_add_uniform(&lb, 0x402000, 2, 2);
	b_add_uniform(&lb, 0x403000, 2, 2);
	b_add_uniform(&lb2, 0x401000, 3, 2);
	b_add_uniform(&lb2, 0x404000, 2, 2);
	feed_all();

	uint64_t wa[] = { ls_rec_make(0x401000, 3), ls_rec_make(0x402000, 2), ls_rec_make(0x403000, 2) };
	uint64_t wb[] = { ls_rec_make(0x401000, 3), ls_rec_make(0x402000, 2), ls_rec_make(0x404000, 2) };
	struct ls_insn_div d;

	cr_assert_eq(ls_first_insn_divergence(&ta, &tb, wa, 3, wb, 3, &d), LS_INSN_DIFFER);
	cr_assert_eq(d.index, 5);
	cr_assert_eq(d.borrowed[0], 0);
	cr_assert_eq(d.borrowed[1], 1);
	cr_assert_eq(d.first[1].addr, 0x404000);
}

Test(tlogread, no_records)
{
	struct ls_insn_div d;
	uint64_t w = ls_rec_make(0x401000, 1);

	cr_assert_eq(ls_first_insn_divergence(&ta, &tb, NULL, 0, &w, 1, &d), LS_INSN_SAME);
	cr_assert_eq(d.index, 0);
	cr_assert_eq(d.ninsns[1], 1);
}
