/* test_align.c - the streaming comparator: where two symbol streams part and come back together, fed in one piece or a symbol at a time. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "align.h"

/* ---- stream building ---- */

struct vec {
	uint64_t *v;
	size_t n, cap;
};

static void put(struct vec *s, uint64_t x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		cr_assert_not_null(s->v);
	}
	s->v[s->n++] = x;
}

/* Symbols base(i) for i in [from, to): distinct, like block words of straight-line code. */
static uint64_t base_sym(size_t i)
{
	return 0x401000 + i * 0x10;
}

static void put_base(struct vec *s, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		put(s, base_sym(i));
}

/* n symbols of a detour nobody else takes: tag picks which. */
static void put_detour(struct vec *s, unsigned tag, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(s, 0x7f0000000000ull + ((uint64_t)tag << 20) + i);
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t rnd_below(size_t n)
{
	return (size_t)(rnd() % n);
}

/* ---- driving the comparator ---- */

#define MAX_EV 4096

struct run {
	struct ls_align_ev ev[MAX_EV];
	size_t nev;
	uint64_t matched;
	uint64_t pos[2];
	enum ls_align_state state;
};

enum feed {
	FEED_ALL, /* both streams in one piece, both final */
	FEED_ONE, /* one symbol at a time, to each side alternately */
	FEED_RANDOM, /* random chunks (1..CHUNK) to a random side */
	FEED_LOPSIDED, /* all of A first, then B a symbol at a time */
	FEED_LOPSIDED_B, /* all of B first, then A a symbol at a time */
};

static void step_all(struct ls_align *al, struct ls_seqbuf b[2], const bool fin[2], struct run *r)
{
	for (;;) {
		struct ls_align_ev ev;
		int rc = ls_align_step(al, b, fin, &ev);

		cr_assert_eq(rc, 0, "ls_align_step: %d", rc);
		if (ev.type == LS_ALIGN_NONE)
			break;
		cr_assert_lt(r->nev, MAX_EV);
		r->ev[r->nev++] = ev;
	}
	/* Trim as a caller would, so that a comparator reading a dropped symbol shows. */
	for (int i = 0; i < 2; i++)
		ls_seqbuf_trim(&b[i], ls_align_keep_from(al, i));
}

static void drive(const struct vec s[2], const struct ls_align_cfg *cfg, enum feed feed, struct run *r)
{
	struct ls_seqbuf b[2] = { { 0 } };
	struct ls_align al;
	size_t fed[2] = { 0, 0 };
	bool fin[2] = { false, false };
	int turn = 0;

	memset(r, 0, sizeof(*r));
	cr_assert_eq(ls_align_init(&al, cfg, 0, 0), 0);
	while (!fin[0] || !fin[1]) {
		int i;
		size_t c;

		switch (feed) {
		case FEED_ALL:
			i = fin[0];
			c = s[i].n;
			break;
		case FEED_ONE:
			i = fin[turn] ? !turn : turn;
			turn = !turn;
			c = 1;
			break;
		case FEED_RANDOM:
			i = fin[0] ? 1 : fin[1] ? 0 : (int)rnd_below(2);
			c = 1 + rnd_below(40);
			break;
		case FEED_LOPSIDED:
			i = fin[0];
			c = i ? 1 : s[0].n;
			break;
		default: /* FEED_LOPSIDED_B */
			i = !fin[1];
			c = i ? s[1].n : 1;
			break;
		}
		if (c > s[i].n - fed[i])
			c = s[i].n - fed[i];
		cr_assert_eq(ls_seqbuf_append(&b[i], s[i].v + fed[i], c), 0);
		fed[i] += c;
		fin[i] = fed[i] == s[i].n;
		if (feed == FEED_ALL && !fin[1])
			continue; /* one piece: both sides arrive before the first step */
		step_all(&al, b, fin, r);
	}
	step_all(&al, b, fin, r);
	r->matched = ls_align_matched(&al);
	r->pos[0] = ls_align_pos(&al, 0);
	r->pos[1] = ls_align_pos(&al, 1);
	r->state = ls_align_state(&al);
	ls_align_free(&al);
	ls_seqbuf_free(&b[0]);
	ls_seqbuf_free(&b[1]);
}

static const char *ev_name(enum ls_align_ev_type t)
{
	static const char *const names[] = { "NONE", "PARTED", "REJOINED", "LOST" };

	return names[t];
}

static void same_runs(const struct run *a, const struct run *b, const char *what)
{
	cr_assert_eq(a->nev, b->nev, "%s: %zu events, one-shot gave %zu", what, b->nev, a->nev);
	for (size_t i = 0; i < a->nev; i++) {
		const struct ls_align_ev *x = &a->ev[i], *y = &b->ev[i];

		cr_assert(x->type == y->type && x->at[0] == y->at[0] && x->at[1] == y->at[1] &&
				  x->len[0] == y->len[0] && x->len[1] == y->len[1],
			  "%s: event %zu is %s at {%lu,%lu} len {%lu,%lu}, one-shot gave %s at {%lu,%lu} len {%lu,%lu}",
			  what, i, ev_name(y->type), y->at[0], y->at[1], y->len[0], y->len[1], ev_name(x->type),
			  x->at[0], x->at[1], x->len[0], x->len[1]);
	}
	cr_assert_eq(a->matched, b->matched, "%s: matched", what);
	cr_assert(a->pos[0] == b->pos[0] && a->pos[1] == b->pos[1], "%s: end positions", what);
	cr_assert_eq(a->state, b->state, "%s: end state", what);
}

/* Run s in every feeding; all must agree.  *r gets the one-shot run. */
static void compare(const struct vec s[2], const struct ls_align_cfg *cfg, struct run *r)
{
	static struct run other;

	drive(s, cfg, FEED_ALL, r);
	drive(s, cfg, FEED_ONE, &other);
	same_runs(r, &other, "one symbol at a time");
	drive(s, cfg, FEED_RANDOM, &other);
	same_runs(r, &other, "random chunks");
	drive(s, cfg, FEED_LOPSIDED, &other);
	same_runs(r, &other, "A first, then B");
	drive(s, cfg, FEED_LOPSIDED_B, &other);
	same_runs(r, &other, "B first, then A");
}

static void expect_ev(const struct run *r, size_t i, enum ls_align_ev_type type, uint64_t at0, uint64_t at1,
		      uint64_t len0, uint64_t len1)
{
	cr_assert_lt(i, r->nev, "event %zu missing (%zu events)", i, r->nev);
	const struct ls_align_ev *e = &r->ev[i];

	cr_assert(e->type == type && e->at[0] == at0 && e->at[1] == at1 && e->len[0] == len0 && e->len[1] == len1,
		  "event %zu: %s at {%lu,%lu} len {%lu,%lu}, expected %s at {%lu,%lu} len {%lu,%lu}", i,
		  ev_name(e->type), e->at[0], e->at[1], e->len[0], e->len[1], ev_name(type), at0, at1, len0, len1);
}

/* One region at (at0, at1) that rejoins after (x, y). */
static void expect_region(const struct run *r, size_t i, uint64_t at0, uint64_t at1, uint64_t x, uint64_t y)
{
	expect_ev(r, i, LS_ALIGN_PARTED, at0, at1, 0, 0);
	expect_ev(r, i + 1, LS_ALIGN_REJOINED, at0, at1, x, y);
}

static void expect_end(const struct run *r, size_t nev, uint64_t matched, uint64_t pos0, uint64_t pos1,
		       enum ls_align_state state)
{
	cr_assert_eq(r->nev, nev, "%zu events, expected %zu", r->nev, nev);
	cr_assert_eq(r->matched, matched, "matched %lu, expected %lu", r->matched, matched);
	cr_assert(r->pos[0] == pos0 && r->pos[1] == pos1, "ended at {%lu,%lu}, expected {%lu,%lu}", r->pos[0],
		  r->pos[1], pos0, pos1);
	cr_assert_eq(r->state, state);
}

static const struct ls_align_cfg dflt = { .window = LS_ALIGN_DEFAULT_WINDOW, .match = LS_ALIGN_DEFAULT_MATCH };

static struct vec s[2];
static struct run r;

static void setup(void)
{
	memset(s, 0, sizeof(s));
	rng_state = 42;
}

static void teardown(void)
{
	free(s[0].v);
	free(s[1].v);
}

TestSuite(align, .init = setup, .fini = teardown);

/* ---- the symbol buffer ---- */

Test(align, seqbuf_append_trim_end)
{
	struct ls_seqbuf b = { .base = 100 };
	uint64_t v[3000];

	for (size_t i = 0; i < 3000; i++)
		v[i] = 100 + i;
	cr_assert_eq(ls_seqbuf_append(&b, v, 3000), 0);
	cr_assert_eq(ls_seqbuf_end(&b), 3100);
	ls_seqbuf_trim(&b, 50);
	cr_assert_eq(b.base, 100, "trimming below the base drops nothing");
	ls_seqbuf_trim(&b, 1000);
	cr_assert_eq(b.base, 100, "less than half dead: nothing moves yet");
	cr_assert_eq(b.n, 3000);
	ls_seqbuf_trim(&b, 2000);
	cr_assert_eq(b.base, 2000, "more than half dead: shifted");
	cr_assert_eq(b.n, 1100);
	cr_assert_eq(b.v[0], 2000);
	cr_assert_eq(b.v[1099], 3099);
	cr_assert_eq(ls_seqbuf_append(&b, v, 1), 0);
	cr_assert_eq(ls_seqbuf_end(&b), 3101);
	cr_assert_eq(b.v[1100], 100);
	ls_seqbuf_trim(&b, UINT64_MAX);
	cr_assert_eq(b.base, 3101, "trimming past the end empties, and appends go on at the end");
	cr_assert_eq(b.n, 0);
	cr_assert_eq(ls_seqbuf_append(&b, NULL, 0), 0);
	cr_assert_eq(ls_seqbuf_end(&b), 3101);
	ls_seqbuf_free(&b);
	cr_assert_null(b.v);
}

Test(align, seqbuf_gives_back_memory_after_a_large_region)
{
	struct ls_seqbuf b = { 0 };
	static uint64_t v[1 << 20];

	cr_assert_eq(ls_seqbuf_append(&b, v, 1 << 20), 0);
	cr_assert_geq(b.cap, 1 << 20);
	ls_seqbuf_trim(&b, (1 << 20) - 100);
	cr_assert_eq(b.n, 100);
	cr_assert_eq(b.base, (1 << 20) - 100);
	cr_assert_geq(b.cap, 1 << 20, "trimming alone keeps the capacity for the next append");
	ls_seqbuf_shrink(&b);
	cr_assert_eq(b.cap, 1 << 16, "shrinking gives it back, down to the floor");
	cr_assert_eq(b.v[99], 0);
	cr_assert_eq(ls_seqbuf_append(&b, v, 10), 0);
	cr_assert_eq(ls_seqbuf_end(&b), (1 << 20) + 10);
	ls_seqbuf_free(&b);
}

/* ---- configuration and misuse ---- */

Test(align, init_refuses_bad_configs)
{
	struct ls_align al;

	cr_assert_eq(ls_align_init(&al, &(struct ls_align_cfg){ .window = 0, .match = 32 }, 0, 0), -EINVAL);
	cr_assert_eq(ls_align_init(&al, &(struct ls_align_cfg){ .window = 16, .match = 0 }, 0, 0), -EINVAL);
	cr_assert_eq(ls_align_init(&al, &(struct ls_align_cfg){ .window = LS_ALIGN_MAX_WINDOW + 1, .match = 32 }, 0,
				   0),
		     -EINVAL);
	cr_assert_eq(ls_align_init(&al, &(struct ls_align_cfg){ .window = 16, .match = LS_ALIGN_MAX_MATCH + 1 }, 0,
				   0),
		     -EINVAL);
	cr_assert_eq(ls_align_init(&al, &dflt, 7, 9), 0);
	cr_assert_eq(ls_align_state(&al), LS_ALIGN_ST_SYNC);
	cr_assert_eq(ls_align_keep_from(&al, 0), 7);
	cr_assert_eq(ls_align_keep_from(&al, 1), 9);
	ls_align_free(&al);
}

Test(align, buffer_trimmed_too_far_is_an_error)
{
	struct ls_seqbuf b[2] = { { .base = 10 }, { .base = 0 } };
	struct ls_align al;
	struct ls_align_ev ev;
	bool fin[2] = { false, false };

	cr_assert_eq(ls_align_init(&al, &dflt, 5, 0), 0);
	cr_assert_eq(ls_align_step(&al, b, fin, &ev), -ERANGE, "side A's buffer starts after its position");
	cr_assert_eq(ev.type, LS_ALIGN_NONE);
	ls_align_free(&al);
}

Test(align, starts_at_the_given_positions)
{
	/* The caller's buffers hold blocks from 1000 and 2000; comparison starts at 1500 and 2500. */
	struct ls_seqbuf b[2] = { { .base = 1000 }, { .base = 2000 } };
	struct ls_align al;
	struct ls_align_ev ev;
	bool fin[2] = { true, true };

	put_base(&s[0], 0, 1000);
	put_base(&s[1], 0, 1000);
	s[1].v[700] = 1;
	cr_assert_eq(ls_seqbuf_append(&b[0], s[0].v, 1000), 0);
	cr_assert_eq(ls_seqbuf_append(&b[1], s[1].v, 1000), 0);
	cr_assert_eq(ls_align_init(&al, &dflt, 1500, 2500), 0);
	cr_assert_eq(ls_align_step(&al, b, fin, &ev), 0);
	cr_assert(ev.type == LS_ALIGN_PARTED && ev.at[0] == 1700 && ev.at[1] == 2700);
	cr_assert_eq(ls_align_step(&al, b, fin, &ev), 0);
	cr_assert(ev.type == LS_ALIGN_REJOINED && ev.len[0] == 1 && ev.len[1] == 1);
	cr_assert_eq(ls_align_step(&al, b, fin, &ev), 0);
	cr_assert_eq(ev.type, LS_ALIGN_NONE);
	cr_assert_eq(ls_align_matched(&al), 499);
	cr_assert_eq(ls_align_pos(&al, 0), 2000);
	cr_assert_eq(ls_align_pos(&al, 1), 3000);
	ls_align_free(&al);
	ls_seqbuf_free(&b[0]);
	ls_seqbuf_free(&b[1]);
}

/* ---- single regions ---- */

Test(align, identical_streams)
{
	put_base(&s[0], 0, 5000);
	put_base(&s[1], 0, 5000);
	compare(s, &dflt, &r);
	expect_end(&r, 0, 5000, 5000, 5000, LS_ALIGN_ST_SYNC);
}

Test(align, empty_streams)
{
	compare(s, &dflt, &r);
	expect_end(&r, 0, 0, 0, 0, LS_ALIGN_ST_SYNC);
}

Test(align, single_substituted_symbol)
{
	put_base(&s[0], 0, 1000);
	put_base(&s[1], 0, 1000);
	s[1].v[500] = 0xbad;
	compare(s, &dflt, &r);
	expect_region(&r, 0, 500, 500, 1, 1);
	expect_end(&r, 2, 999, 1000, 1000, LS_ALIGN_ST_SYNC);
}

Test(align, a_takes_a_three_symbol_detour)
{
	put_base(&s[0], 0, 300);
	put_detour(&s[0], 1, 3);
	put_base(&s[0], 300, 1000);
	put_base(&s[1], 0, 1000);
	compare(s, &dflt, &r);
	expect_region(&r, 0, 300, 300, 3, 0);
	expect_end(&r, 2, 1000, 1003, 1000, LS_ALIGN_ST_SYNC);
}

Test(align, b_takes_a_three_symbol_detour)
{
	put_base(&s[0], 0, 1000);
	put_base(&s[1], 0, 300);
	put_detour(&s[1], 1, 3);
	put_base(&s[1], 300, 1000);
	compare(s, &dflt, &r);
	expect_region(&r, 0, 300, 300, 0, 3);
	expect_end(&r, 2, 1000, 1000, 1003, LS_ALIGN_ST_SYNC);
}

/* A loop body of 4 blocks, run `iters` times, between a prologue and an epilogue. */
static void put_loop(struct vec *v, unsigned iters)
{
	put_base(v, 0, 20);
	for (unsigned it = 0; it < iters; it++)
		for (uint64_t q = 0; q < 4; q++)
			put(v, 0x500000 + q * 0x20);
	put_base(v, 20, 120);
}

Test(align, loop_count_difference)
{
	/* A ran the loop 10 times, B 12: B spent 2 periods apart, A none. */
	put_loop(&s[0], 10);
	put_loop(&s[1], 12);
	compare(s, &dflt, &r);
	expect_region(&r, 0, 60, 60, 0, 8);
	expect_end(&r, 2, 160, 160, 168, LS_ALIGN_ST_SYNC);
}

Test(align, loop_count_difference_the_other_way)
{
	/* Longer than the k-gram on both sides: many candidate matches, the smallest x + y wins. */
	put_loop(&s[0], 40);
	put_loop(&s[1], 25);
	compare(s, &dflt, &r);
	expect_region(&r, 0, 120, 120, 60, 0);
	expect_end(&r, 2, 120 + 100, 280, 220, LS_ALIGN_ST_SYNC);
}

Test(align, different_paths_of_five_and_seven)
{
	put_base(&s[0], 0, 400);
	put_detour(&s[0], 1, 5);
	put_base(&s[0], 400, 1000);
	put_base(&s[1], 0, 400);
	put_detour(&s[1], 2, 7);
	put_base(&s[1], 400, 1000);
	compare(s, &dflt, &r);
	expect_region(&r, 0, 400, 400, 5, 7);
	expect_end(&r, 2, 1000, 1005, 1007, LS_ALIGN_ST_SYNC);
}

Test(align, divergence_at_the_first_symbol)
{
	put_detour(&s[0], 1, 1);
	put_base(&s[0], 0, 100);
	put_detour(&s[1], 2, 1);
	put_base(&s[1], 0, 100);
	compare(s, &dflt, &r);
	expect_region(&r, 0, 0, 0, 1, 1);
	expect_end(&r, 2, 100, 101, 101, LS_ALIGN_ST_SYNC);
}

Test(align, detour_at_the_first_symbol)
{
	put_detour(&s[0], 1, 3);
	put_base(&s[0], 0, 100);
	put_base(&s[1], 0, 100);
	compare(s, &dflt, &r);
	expect_region(&r, 0, 0, 0, 3, 0);
	expect_end(&r, 2, 100, 103, 100, LS_ALIGN_ST_SYNC);
}

Test(align, rejoin_with_nothing_after_the_match)
{
	/* Exactly `match` equal symbols at the very end of both: enough to rejoin. */
	put_base(&s[0], 0, 100);
	put_detour(&s[0], 1, 4);
	put_base(&s[0], 100, 132);
	put_base(&s[1], 0, 100);
	put_detour(&s[1], 2, 9);
	put_base(&s[1], 100, 132);
	compare(s, &dflt, &r);
	expect_region(&r, 0, 100, 100, 4, 9);
	expect_end(&r, 2, 132, 136, 141, LS_ALIGN_ST_SYNC);
}

/* ---- the window ---- */

#define W 64u
#define M 8u
static const struct ls_align_cfg small = { .window = W, .match = M };

Test(align, rejoin_at_the_window_limit)
{
	/* B's detour is W - 1 symbols: y = W - 1 is the last one allowed. */
	put_base(&s[0], 0, 1000);
	put_base(&s[1], 0, 200);
	put_detour(&s[1], 1, W - 1);
	put_base(&s[1], 200, 1000);
	compare(s, &small, &r);
	expect_region(&r, 0, 200, 200, 0, W - 1);
	expect_end(&r, 2, 1000, 1000, 1000 + W - 1, LS_ALIGN_ST_SYNC);
}

Test(align, rejoin_at_the_window_limit_on_both_sides)
{
	put_base(&s[0], 0, 200);
	put_detour(&s[0], 1, W - 1);
	put_base(&s[0], 200, 1000);
	put_base(&s[1], 0, 200);
	put_detour(&s[1], 2, W - 1);
	put_base(&s[1], 200, 1000);
	compare(s, &small, &r);
	expect_region(&r, 0, 200, 200, W - 1, W - 1);
	expect_end(&r, 2, 1000, 1000 + W - 1, 1000 + W - 1, LS_ALIGN_ST_SYNC);
}

Test(align, rejoin_just_beyond_the_window_is_lost)
{
	put_base(&s[0], 0, 1000);
	put_base(&s[1], 0, 200);
	put_detour(&s[1], 1, W);
	put_base(&s[1], 200, 1000);
	compare(s, &small, &r);
	expect_ev(&r, 0, LS_ALIGN_PARTED, 200, 200, 0, 0);
	expect_ev(&r, 1, LS_ALIGN_LOST, 200, 200, W + M - 1, W + M - 1);
	expect_end(&r, 2, 200, 200, 200, LS_ALIGN_ST_LOST);
}

Test(align, lost_is_decided_without_the_ends)
{
	/* Neither side is final: LOST as soon as both have window + match - 1 symbols past the region start. */
	struct ls_seqbuf b[2] = { { 0 } };
	struct ls_align al;
	struct ls_align_ev ev;
	bool fin[2] = { false, false };

	put_base(&s[0], 0, 10);
	put_detour(&s[0], 1, W + M - 1);
	put_base(&s[1], 0, 10);
	put_detour(&s[1], 2, W + M - 1);
	cr_assert_eq(ls_align_init(&al, &small, 0, 0), 0);
	cr_assert_eq(ls_seqbuf_append(&b[0], s[0].v, s[0].n), 0);
	cr_assert_eq(ls_seqbuf_append(&b[1], s[1].v, s[1].n - 1), 0);
	cr_assert_eq(ls_align_step(&al, b, fin, &ev), 0);
	cr_assert_eq(ev.type, LS_ALIGN_PARTED);
	cr_assert_eq(ls_align_step(&al, b, fin, &ev), 0);
	cr_assert_eq(ev.type, LS_ALIGN_NONE, "B's last k-gram of the window has not arrived");
	cr_assert_eq(ls_align_keep_from(&al, 0), 10);
	cr_assert_eq(ls_align_keep_from(&al, 1), 10);
	cr_assert_eq(ls_seqbuf_append(&b[1], s[1].v + s[1].n - 1, 1), 0);
	cr_assert_eq(ls_align_step(&al, b, fin, &ev), 0);
	cr_assert(ev.type == LS_ALIGN_LOST && ev.at[0] == 10 && ev.at[1] == 10 && ev.len[0] == W + M - 1 &&
		  ev.len[1] == W + M - 1);
	cr_assert_eq(ls_align_keep_from(&al, 0), UINT64_MAX, "lost: nothing more is needed");
	cr_assert_eq(ls_align_step(&al, b, fin, &ev), 0);
	cr_assert_eq(ev.type, LS_ALIGN_NONE, "lost stays lost");
	cr_assert_eq(ls_align_state(&al), LS_ALIGN_ST_LOST);
	ls_align_free(&al);
	ls_seqbuf_free(&b[0]);
	ls_seqbuf_free(&b[1]);
}

Test(align, rejoin_is_decided_before_the_window_fills)
{
	/* The answer (1, 1) is certain once both sides have k-grams past x + y = 2: no need for the window. */
	struct ls_seqbuf b[2] = { { 0 } };
	struct ls_align al;
	struct ls_align_ev ev;
	bool fin[2] = { false, false };

	put_base(&s[0], 0, 1000);
	put_base(&s[1], 0, 1000);
	s[0].v[100] = 1;
	cr_assert_eq(ls_align_init(&al, &dflt, 0, 0), 0);
	cr_assert_eq(ls_seqbuf_append(&b[0], s[0].v, 100 + 3 + 32), 0);
	cr_assert_eq(ls_seqbuf_append(&b[1], s[1].v, 100 + 2 + 31), 0);
	cr_assert_eq(ls_align_step(&al, b, fin, &ev), 0);
	cr_assert_eq(ev.type, LS_ALIGN_PARTED);
	cr_assert_eq(ls_align_step(&al, b, fin, &ev), 0);
	cr_assert_eq(ev.type, LS_ALIGN_NONE, "(2, 0) or (0, 2) could still turn up");
	cr_assert_eq(ls_seqbuf_append(&b[1], s[1].v + 133, 1), 0);
	cr_assert_eq(ls_align_step(&al, b, fin, &ev), 0);
	cr_assert(ev.type == LS_ALIGN_REJOINED && ev.len[0] == 1 && ev.len[1] == 1);
	cr_assert_eq(ls_align_keep_from(&al, 0), 101);
	ls_align_free(&al);
	ls_seqbuf_free(&b[0]);
	ls_seqbuf_free(&b[1]);
}

/* ---- ends ---- */

Test(align, one_side_ends_in_sync)
{
	/* A stops at 500, B goes on: not the comparator's call; it stays in sync at A's end. */
	put_base(&s[0], 0, 500);
	put_base(&s[1], 0, 800);
	compare(s, &dflt, &r);
	expect_end(&r, 0, 500, 500, 500, LS_ALIGN_ST_SYNC);
}

Test(align, one_side_ends_inside_a_region_with_too_little_to_match)
{
	/* A has 6 symbols left after parting (fewer than M): no match can come; LOST once B shows its window. */
	put_base(&s[0], 0, 500);
	put_detour(&s[0], 1, 1);
	put_base(&s[0], 500, 505);
	put_base(&s[1], 0, 500);
	put_detour(&s[1], 2, 1);
	put_base(&s[1], 500, 1000);
	compare(s, &small, &r);
	expect_ev(&r, 0, LS_ALIGN_PARTED, 500, 500, 0, 0);
	expect_ev(&r, 1, LS_ALIGN_LOST, 500, 500, 6, W + M - 1);
	expect_end(&r, 2, 500, 500, 500, LS_ALIGN_ST_LOST);
}

Test(align, both_end_inside_a_region)
{
	/* Both final while apart, no match: LOST with what each had left. */
	put_base(&s[0], 0, 500);
	put_detour(&s[0], 1, 20);
	put_base(&s[1], 0, 500);
	put_detour(&s[1], 2, 3);
	compare(s, &small, &r);
	expect_ev(&r, 0, LS_ALIGN_PARTED, 500, 500, 0, 0);
	expect_ev(&r, 1, LS_ALIGN_LOST, 500, 500, 20, 3);
	expect_end(&r, 2, 500, 500, 500, LS_ALIGN_ST_LOST);
}

Test(align, one_side_ends_inside_a_region_and_still_rejoins)
{
	/* A ends 100 symbols after its 1-symbol detour; B's detour is 5: rejoin, then A's end in sync. */
	put_base(&s[0], 0, 500);
	put_detour(&s[0], 1, 1);
	put_base(&s[0], 500, 600);
	put_base(&s[1], 0, 500);
	put_detour(&s[1], 2, 5);
	put_base(&s[1], 500, 1000);
	compare(s, &dflt, &r);
	expect_region(&r, 0, 500, 500, 1, 5);
	expect_end(&r, 2, 600, 601, 605, LS_ALIGN_ST_SYNC);
}

Test(align, a_side_ending_first_limits_the_search)
{
	/* A ends (final) while apart but B's match lies in what A has: found without B's window. */
	put_base(&s[0], 0, 100);
	put_detour(&s[0], 1, 2);
	put_base(&s[0], 100, 140);
	put_base(&s[1], 0, 100);
	put_detour(&s[1], 2, 30);
	put_base(&s[1], 100, 5000);
	compare(s, &small, &r);
	expect_region(&r, 0, 100, 100, 2, 30);
	expect_end(&r, 2, 140, 142, 170, LS_ALIGN_ST_SYNC);
}

/* ---- several regions ---- */

Test(align, several_regions_in_one_stream)
{
	put_base(&s[0], 0, 3000);
	put_base(&s[1], 0, 500);
	put(&s[1], 0xbad); /* substitution at 500 */
	put_base(&s[1], 501, 1200);
	put_detour(&s[1], 1, 7); /* B's 7-symbol detour at 1200 */
	put_base(&s[1], 1200, 2000);
	put_base(&s[1], 2003, 2500); /* B skips 3 symbols at 2000 (A's detour, seen from B) */
	put_detour(&s[1], 2, 4); /* both take other paths at 2500: A's 6 base symbols vs B's 4 */
	put_base(&s[1], 2506, 3000);
	compare(s, &dflt, &r);
	expect_region(&r, 0, 500, 500, 1, 1);
	expect_region(&r, 2, 1200, 1200, 0, 7);
	expect_region(&r, 4, 2000, 2007, 3, 0);
	expect_region(&r, 6, 2500, 2504, 6, 4);
	expect_end(&r, 8, 3000 - 1 - 3 - 6, 3000, 3002, LS_ALIGN_ST_SYNC);
}

Test(align, regions_back_to_back)
{
	/* A rejoin is `match` equal symbols; a new difference right after them is a new region. */
	put_base(&s[0], 0, 2000);
	put_base(&s[1], 0, 2000);
	for (size_t at = 100; at < 1900; at += 1 + LS_ALIGN_DEFAULT_MATCH)
		s[1].v[at] = 0xbad0000 + at;
	compare(s, &dflt, &r);
	size_t n = 0;

	for (size_t at = 100; at < 1900; at += 1 + LS_ALIGN_DEFAULT_MATCH, n += 2)
		expect_region(&r, n, at, at, 1, 1);
	expect_end(&r, n, 2000 - n / 2, 2000, 2000, LS_ALIGN_ST_SYNC);
}

Test(align, differences_closer_than_match_are_one_region)
{
	/* Ten equal symbols between two substitutions do not count as coming back together. */
	put_base(&s[0], 0, 1000);
	put_base(&s[1], 0, 1000);
	s[1].v[100] = 0xbad1;
	s[1].v[110] = 0xbad2;
	compare(s, &dflt, &r);
	expect_region(&r, 0, 100, 100, 11, 11);
	expect_end(&r, 2, 1000 - 11, 1000, 1000, LS_ALIGN_ST_SYNC);
}

/* ---- tiny increments ---- */

Test(align, tiny_increments_give_the_one_shot_answer)
{
	/* compare() checks every feeding against the one-shot run; here on a mix of everything above. */
	put_loop(&s[0], 9);
	put_base(&s[0], 120, 450);
	put_detour(&s[0], 1, 5);
	put_base(&s[0], 450, 900);
	put_loop(&s[1], 14);
	put_base(&s[1], 120, 380);
	put_base(&s[1], 383, 900);
	s[1].v[s[1].n - 50] = 0xbad;
	/* Regions closer than `match` would merge into one: these are farther apart. */
	compare(s, &dflt, &r);
	expect_region(&r, 0, 56, 56, 0, 20);
	expect_region(&r, 2, 416, 436, 3, 0);
	expect_region(&r, 4, 486, 503, 5, 0);
	expect_region(&r, 6, s[0].n - 50, s[1].n - 50, 1, 1);
	expect_end(&r, 8, s[1].n - 20 - 1, s[0].n, s[1].n, LS_ALIGN_ST_SYNC);
}

/* ---- properties ---- */

/*
 * Random symbols (no accidental repeats), small edits far enough apart: each
 * edit replaces nothing of the base by la symbols on A and lb on B, so the
 * regions found must be exactly the edits.
 */
Test(align, random_edits_are_found_exactly)
{
	enum { EDITS = 60, MAXLEN = 12 };
	size_t at[EDITS][2], len[EDITS][2];

	for (unsigned seed = 1; seed <= 8; seed++) {
		rng_state = seed;
		s[0].n = s[1].n = 0;
		for (int e = 0; e < EDITS; e++) {
			size_t gap = LS_ALIGN_DEFAULT_MATCH + rnd_below(300) + (e == 0 ? 0 : 1);

			for (size_t q = 0; q < gap; q++) {
				uint64_t x = rnd();

				put(&s[0], x);
				put(&s[1], x);
			}
			do {
				len[e][0] = rnd_below(MAXLEN + 1);
				len[e][1] = rnd_below(MAXLEN + 1);
			} while (!len[e][0] && !len[e][1]);
			for (int i = 0; i < 2; i++) {
				at[e][i] = s[i].n;
				for (size_t q = 0; q < len[e][i]; q++)
					put(&s[i], rnd());
			}
		}
		for (size_t q = 0; q < LS_ALIGN_DEFAULT_MATCH; q++) {
			uint64_t x = rnd();

			put(&s[0], x);
			put(&s[1], x);
		}
		compare(s, &dflt, &r);
		for (int e = 0; e < EDITS; e++)
			expect_region(&r, 2 * e, at[e][0], at[e][1], len[e][0], len[e][1]);
		uint64_t edited = 0;

		for (int e = 0; e < EDITS; e++)
			edited += len[e][0];
		expect_end(&r, 2 * EDITS, s[0].n - edited, s[0].n, s[1].n, LS_ALIGN_ST_SYNC);
	}
}

static bool better_pair(bool have, uint64_t bx, uint64_t by, uint64_t x, uint64_t y)
{
	uint64_t m = x > y ? x : y, bm = bx > by ? bx : by;

	if (!have)
		return true;
	if (x + y != bx + by)
		return x + y < bx + by;
	return m != bm ? m < bm : x < bx;
}

/* The semantics by brute force, on complete streams. */
static void oracle(const struct vec s[2], const struct ls_align_cfg *cfg, struct run *o)
{
	const uint64_t *A = s[0].v, *B = s[1].v;
	const uint64_t na = s[0].n, nb = s[1].n, w = cfg->window, m = cfg->match;
	uint64_t p = 0, q = 0;

	memset(o, 0, sizeof(*o));
	o->state = LS_ALIGN_ST_SYNC;
	for (;;) {
		while (p < na && q < nb && A[p] == B[q]) {
			p++;
			q++;
			o->matched++;
		}
		if (p == na || q == nb)
			break;
		o->ev[o->nev++] = (struct ls_align_ev){ .type = LS_ALIGN_PARTED, .at = { p, q } };
		bool have = false;
		uint64_t bx = 0, by = 0;

		for (uint64_t x = 0; x < w && p + x + m <= na; x++)
			for (uint64_t y = 0; y < w && q + y + m <= nb; y++)
				if (!memcmp(A + p + x, B + q + y, m * sizeof(*A)) && better_pair(have, bx, by, x, y)) {
					have = true;
					bx = x;
					by = y;
				}
		if (!have) {
			uint64_t lim = w + m - 1;

			o->ev[o->nev++] = (struct ls_align_ev){
				.type = LS_ALIGN_LOST,
				.at = { p, q },
				.len = { na - p < lim ? na - p : lim, nb - q < lim ? nb - q : lim },
			};
			o->state = LS_ALIGN_ST_LOST;
			break;
		}
		o->ev[o->nev++] = (struct ls_align_ev){ .type = LS_ALIGN_REJOINED, .at = { p, q }, .len = { bx, by } };
		p += bx;
		q += by;
	}
	o->pos[0] = p;
	o->pos[1] = q;
}

/* Copy A into B with random insertions, deletions and substitutions of short runs. */
static void mutate(const struct vec *a, struct vec *b, unsigned alphabet, unsigned edits_per_1000)
{
	b->n = 0;
	for (size_t i = 0; i < a->n;) {
		if (rnd_below(1000) >= edits_per_1000) {
			put(b, a->v[i++]);
			continue;
		}
		size_t n = 1 + rnd_below(6);

		switch (rnd_below(3)) {
		case 0: /* insert */
			while (n--)
				put(b, 1 + rnd_below(alphabet));
			break;
		case 1: /* delete */
			i += n;
			break;
		default: /* substitute */
			while (n-- && i < a->n) {
				put(b, 1 + rnd_below(alphabet));
				i++;
			}
			break;
		}
	}
}

/*
 * Small alphabets and periodic stretches: many candidate matches, ties, loops.
 * Every feeding must give what the brute-force semantics give.
 */
Test(align, matches_brute_force_on_repetitive_streams)
{
	static const unsigned alphabets[] = { 2, 3, 5, 40 };
	static const unsigned matches[] = { 1, 2, 3, 4, 6 };
	static const uint64_t windows[] = { 1, 2, 5, 16, 40 };
	static struct run o;
	unsigned regions = 0, lost = 0;

	for (unsigned seed = 1; seed <= 400; seed++) {
		rng_state = seed * 7919;
		unsigned alphabet = alphabets[rnd_below(4)];
		struct ls_align_cfg cfg = { .window = windows[rnd_below(5)], .match = matches[rnd_below(5)] };
		size_t n = 100 + rnd_below(300);

		s[0].n = 0;
		if (rnd_below(2)) {
			/* periodic: a short pattern repeated, with a few changes */
			uint64_t pat[7];
			size_t plen = 1 + rnd_below(7);

			for (size_t i = 0; i < plen; i++)
				pat[i] = 1 + rnd_below(alphabet);
			for (size_t i = 0; i < n; i++)
				put(&s[0], rnd_below(50) ? pat[i % plen] : 1 + rnd_below(alphabet));
		} else {
			for (size_t i = 0; i < n; i++)
				put(&s[0], 1 + rnd_below(alphabet));
		}
		mutate(&s[0], &s[1], alphabet, 5 + (unsigned)rnd_below(40));
		oracle(s, &cfg, &o);
		compare(s, &cfg, &r);
		same_runs(&o, &r, "the comparator against brute force");
		regions += (unsigned)(o.nev + 1) / 2;
		lost += o.state == LS_ALIGN_ST_LOST;
	}
	cr_log_info("brute force: %u regions, %u lost", regions, lost);
	cr_assert_gt(regions, 1000, "the streams should part often");
	cr_assert_gt(lost, 10, "and sometimes not rejoin");
}

/* ---- speed (printed, not asserted) ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Under valgrind the work shrinks: the point there is memory checking, not rates. */
static uint64_t scaled(uint64_t n)
{
	const char *pre = getenv("LD_PRELOAD");

	return pre && strstr(pre, "vgpreload") ? n / 64 : n;
}

Test(align, speed_in_sync)
{
	/* 50M identical symbols, fed in 1M-symbol pieces as a ring reader would, trimmed as it goes. */
	const size_t chunk = 1 << 20;
	const uint64_t total = scaled(50ull << 20);
	struct ls_seqbuf b[2] = { { 0 } };
	struct ls_align al;
	struct ls_align_ev ev;
	bool fin[2] = { false, false };
	uint64_t *v = malloc(chunk * sizeof(*v));
	double in_step = 0, t0 = now_s();

	cr_assert_not_null(v);
	for (size_t i = 0; i < chunk; i++)
		v[i] = rnd();
	cr_assert_eq(ls_align_init(&al, &dflt, 0, 0), 0);
	uint64_t n = 0;

	for (; n < total; n += chunk) {
		cr_assert_eq(ls_seqbuf_append(&b[0], v, chunk), 0);
		cr_assert_eq(ls_seqbuf_append(&b[1], v, chunk), 0);
		double t = now_s();

		cr_assert_eq(ls_align_step(&al, b, fin, &ev), 0);
		in_step += now_s() - t;
		cr_assert_eq(ev.type, LS_ALIGN_NONE);
		ls_seqbuf_trim(&b[0], ls_align_keep_from(&al, 0));
		ls_seqbuf_trim(&b[1], ls_align_keep_from(&al, 1));
	}
	double all = now_s() - t0;

	cr_assert_eq(ls_align_matched(&al), n);
	cr_assert_lt(b[0].cap, 4 * chunk, "trimming keeps the buffers bounded");
	fprintf(stderr, "align: in sync: %lu symbols compared at %.0f M/s (%.0f M/s with appends and trims)\n", n,
		(double)n / in_step / 1e6, (double)n / all / 1e6);
	ls_align_free(&al);
	ls_seqbuf_free(&b[0]);
	ls_seqbuf_free(&b[1]);
	free(v);
}

/* Drive the whole of s in one piece; return the seconds spent in steps after the first PARTED. */
static double time_search(const struct vec s[2], const struct ls_align_cfg *cfg, struct run *out)
{
	struct ls_seqbuf b[2] = { { 0 } };
	struct ls_align al;
	bool fin[2] = { true, true };
	double t = 0;

	memset(out, 0, sizeof(*out));
	cr_assert_eq(ls_align_init(&al, cfg, 0, 0), 0);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(ls_seqbuf_append(&b[i], s[i].v, s[i].n), 0);
	for (;;) {
		struct ls_align_ev ev;
		double t0 = now_s();

		cr_assert_eq(ls_align_step(&al, b, fin, &ev), 0);
		if (ls_align_state(&al) != LS_ALIGN_ST_SYNC || ev.type == LS_ALIGN_REJOINED)
			t += now_s() - t0;
		if (ev.type == LS_ALIGN_NONE)
			break;
		out->ev[out->nev++] = ev;
	}
	out->matched = ls_align_matched(&al);
	ls_align_free(&al);
	ls_seqbuf_free(&b[0]);
	ls_seqbuf_free(&b[1]);
	return t;
}

Test(align, speed_apart)
{
	const uint64_t d = scaled(1 << 19), w = scaled(1 << 20);
	double t;

	/* B's long detour: both sides hashed up to d + 1 k-grams. */
	for (size_t i = 0; i < 1000; i++) {
		uint64_t x = rnd();

		put(&s[0], x);
		put(&s[1], x);
	}
	for (uint64_t i = 0; i < d; i++)
		put(&s[1], rnd());
	for (size_t i = 0; i < d + 1000; i++) {
		uint64_t x = rnd();

		put(&s[0], x);
		put(&s[1], x);
	}
	t = time_search(s, &dflt, &r);
	expect_region(&r, 0, 1000, 1000, 0, d);
	fprintf(stderr, "align: apart, %lu-symbol detour (fresh tables): %.1f ms, %.1f M k-grams/s\n", d, t * 1e3,
		2.0 * (double)d / t / 1e6);

	/* 100 regions with 4096-symbol detours: tables small enough to be kept and reused. */
	const uint64_t dd = 4096, nreg = scaled(100) ? scaled(100) : 1;

	s[0].n = s[1].n = 0;
	for (uint64_t g = 0; g < nreg; g++) {
		for (size_t i = 0; i < 1000; i++) {
			uint64_t x = rnd();

			put(&s[0], x);
			put(&s[1], x);
		}
		for (uint64_t i = 0; i < dd; i++)
			put(&s[1], rnd());
	}
	for (size_t i = 0; i < 1000; i++) {
		uint64_t x = rnd();

		put(&s[0], x);
		put(&s[1], x);
	}
	t = time_search(s, &dflt, &r);
	for (uint64_t g = 0; g < nreg; g++)
		expect_region(&r, 2 * g, 1000 * (g + 1), (1000 + dd) * g + 1000, 0, dd);
	fprintf(stderr, "align: apart, %lu %lu-symbol detours (tables reused): %.1f us each, %.1f M k-grams/s\n", nreg,
		dd, t / (double)nreg * 1e6, 2.0 * (double)(dd * nreg) / t / 1e6);

	/* No rejoin: the whole window of both sides is hashed before LOST. */
	struct ls_align_cfg cfg = { .window = w, .match = LS_ALIGN_DEFAULT_MATCH };

	s[0].n = s[1].n = 0;
	for (uint64_t i = 0; i < w + 100; i++) {
		put(&s[0], rnd());
		put(&s[1], rnd());
	}
	t = time_search(s, &cfg, &r);
	expect_ev(&r, 1, LS_ALIGN_LOST, 0, 0, w + 31, w + 31);
	fprintf(stderr, "align: apart, no rejoin in a %lu window: %.1f ms, %.1f M k-grams/s\n", w, t * 1e3,
		2.0 * (double)w / t / 1e6);

	/* A loop run 100k times more on one side: a period-4 stream, few distinct k-grams. */
	s[0].n = s[1].n = 0;
	put_loop(&s[0], 10);
	put_loop(&s[1], 10 + (unsigned)(d / 4));
	t = time_search(s, &dflt, &r);
	expect_region(&r, 0, 60, 60, 0, d / 4 * 4);
	fprintf(stderr, "align: apart, %lu extra loop iterations: %.1f ms, %.1f M k-grams/s\n", d / 4, t * 1e3,
		2.0 * (double)(d / 4 * 4) / t / 1e6);
}

Test(align, speed_many_small_regions)
{
	/* A substitution every 1000 symbols: the per-region cost (tables reset, not reallocated). */
	const uint64_t n = scaled(20 << 20);
	struct run *big = malloc(sizeof(*big));

	cr_assert_not_null(big);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t x = rnd();

		put(&s[0], x);
		put(&s[1], i % 1000 == 999 ? ~x : x);
	}
	struct ls_seqbuf b[2] = { { 0 } };
	struct ls_align al;
	bool fin[2] = { true, true };
	uint64_t regions = 0;

	cr_assert_eq(ls_align_init(&al, &dflt, 0, 0), 0);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(ls_seqbuf_append(&b[i], s[i].v, s[i].n), 0);
	double t0 = now_s();

	for (;;) {
		struct ls_align_ev ev;

		cr_assert_eq(ls_align_step(&al, b, fin, &ev), 0);
		if (ev.type == LS_ALIGN_NONE)
			break;
		if (ev.type == LS_ALIGN_REJOINED) {
			cr_assert(ev.len[0] == 1 && ev.len[1] == 1 && ev.at[0] % 1000 == 999);
			regions++;
		}
	}
	double t = now_s() - t0;

	cr_assert_eq(regions, n / 1000);
	cr_assert_eq(ls_align_matched(&al), n - regions);
	fprintf(stderr, "align: %lu one-symbol regions in %lu symbols: %.0f M symbols/s, %.2f us a region\n", regions,
		n, (double)n / t / 1e6, t / (double)regions * 1e6);
	ls_align_free(&al);
	ls_seqbuf_free(&b[0]);
	ls_seqbuf_free(&b[1]);
	free(big);
}
