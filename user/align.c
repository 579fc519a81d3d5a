/* SPDX-License-Identifier: MIT */
/*
 * align.c - streaming comparator of two symbol streams: plain word compare
 * in sync, a k-gram hash search for the closest re-convergence when apart.
 */
#include "align.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ---- symbol buffer ---- */

#define SEQBUF_KEEP ((size_t)1 << 16) /* symbols of capacity ls_seqbuf_shrink() keeps */

uint64_t *ls_seqbuf_extend(struct ls_seqbuf *b, size_t n)
{
	if (n > b->cap - b->n) {
		size_t cap = b->cap ? b->cap : 1024;

		while (cap - b->n < n) {
			if (cap > SIZE_MAX / 2 / sizeof(*b->v))
				return NULL;
			cap *= 2;
		}
		uint64_t *nv = realloc(b->v, cap * sizeof(*nv));
		if (!nv)
			return NULL;
		b->v = nv;
		b->cap = cap;
	}
	b->n += n;
	return b->v + b->n - n;
}

int ls_seqbuf_append(struct ls_seqbuf *b, const uint64_t *v, size_t n)
{
	uint64_t *dst = n ? ls_seqbuf_extend(b, n) : NULL;

	if (n && !dst)
		return -ENOMEM;
	if (n)
		memcpy(dst, v, n * sizeof(*v));
	return 0;
}

void ls_seqbuf_trim(struct ls_seqbuf *b, uint64_t keep_from)
{
	uint64_t end = ls_seqbuf_end(b);

	if (keep_from <= b->base)
		return;
	if (keep_from > end)
		keep_from = end;
	size_t dead = (size_t)(keep_from - b->base);
	/* Shift only when more than half is dead: each live symbol is moved at most once per halving. */
	if (dead * 2 <= b->n)
		return;
	memmove(b->v, b->v + dead, (b->n - dead) * sizeof(*b->v));
	b->n -= dead;
	b->base = keep_from;
}

void ls_seqbuf_shrink(struct ls_seqbuf *b)
{
	size_t cap = b->cap;

	while (cap > SEQBUF_KEEP && b->n <= cap / 4)
		cap /= 2;
	if (cap == b->cap)
		return;
	uint64_t *nv = realloc(b->v, cap * sizeof(*nv));

	if (nv) {
		b->v = nv;
		b->cap = cap;
	}
}

uint64_t ls_seqbuf_end(const struct ls_seqbuf *b)
{
	return b->base + b->n;
}

void ls_seqbuf_free(struct ls_seqbuf *b)
{
	free(b->v);
	b->v = NULL;
	b->n = b->cap = 0;
}

/* ---- k-gram hashing ---- */

/*
 * The hash of the k-gram at x is sum(mix(s[x + i]) * P^(k - 1 - i)) mod 2^64,
 * rolled one symbol at a time; mix() first so that nearby block words (pcs a
 * few bytes apart) spread over all 64 bits.
 */
#define HASH_P 0x9e3779b97f4a7c15ull

static inline uint64_t mix(uint64_t s)
{
	s ^= s >> 31;
	s *= 0x7fb5d329728ea185ull;
	s ^= s >> 27;
	s *= 0x81dadef4bc2dd44dull;
	s ^= s >> 33;
	return s;
}

static inline uint32_t tag_of(uint64_t h)
{
	return (uint32_t)(((h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ull) >> 32);
}

/* ---- k-gram tables: tag and first position of each distinct k-gram ---- */

#define TAB_MIN 1024u /* slots allocated when a side first gets a k-gram */
#define TAB_KEEP (1u << 16) /* larger tables are freed when their region ends */

#define HUGE_PAGE ((size_t)2 << 20)

/*
 * Zeroed memory for a table.  Large ones are mapped on their own, aligned and
 * on transparent huge pages where the kernel allows (madvise mode): a large
 * region touches every page of its tables at random, and one fault per 2 MiB
 * instead of 512 is what keeps the first large region's cost close to the
 * hashing's (the fresh mapping is already zero: no memset over it either).
 */
static void *tab_alloc(size_t bytes)
{
	if (bytes < HUGE_PAGE)
		return calloc(1, bytes);
	size_t len = bytes + HUGE_PAGE;
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	char *p = (char *)(((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	size_t head = (size_t)(p - m), tail = len - head - bytes;

	if (head)
		munmap(m, head);
	if (tail)
		munmap(p + bytes, tail);
	(void)madvise(p, bytes, MADV_HUGEPAGE); /* only a hint */
	return p;
}

static void tab_release(void *p, size_t bytes)
{
	if (bytes < HUGE_PAGE)
		free(p);
	else if (p)
		munmap(p, bytes);
}

static void tab_free(struct ls_align_tab *t)
{
	if (t->slot) {
		tab_release(t->slot, (t->mask + 1) * sizeof(*t->slot));
		tab_release(t->used, (t->mask + 1) / 2 * sizeof(*t->used));
	}
	t->slot = NULL;
	t->used = NULL;
	t->mask = 0;
	t->count = 0;
}

/* Empty the table for the next region: O(entries), not O(slots), when it is sparse. */
static void tab_reset(struct ls_align_tab *t)
{
	if (t->slot && t->mask + 1 > TAB_KEEP) {
		tab_free(t);
	} else if (t->slot && t->count * 4 > t->mask + 1) {
		memset(t->slot, 0, (t->mask + 1) * sizeof(*t->slot));
	} else if (t->slot) {
		for (size_t i = 0; i < t->count; i++)
			t->slot[t->used[i]] = 0;
	}
	t->count = 0;
	t->k = 0;
	t->h = 0;
}

/* Room for n more entries at load <= 1/2.  0 or -ENOMEM (table unchanged). */
static int tab_reserve(struct ls_align_tab *t, size_t n)
{
	uint64_t slots = t->slot ? t->mask + 1 : 0;

	if (t->slot && (t->count + n) * 2 <= slots)
		return 0;
	uint64_t ns = t->slot ? slots * 2 : TAB_MIN;

	while ((t->count + n) * 2 > ns)
		ns *= 2;
	uint64_t nmask = ns - 1;
	uint64_t *s = tab_alloc(ns * sizeof(*s));
	uint32_t *u = tab_alloc(ns / 2 * sizeof(*u));

	if (!s || !u) {
		tab_release(s, ns * sizeof(*s));
		tab_release(u, ns / 2 * sizeof(*u));
		return -ENOMEM;
	}
	/*
	 * Old slots in order: an entry's new home is its old home or that plus
	 * the old size, so the writes go in two sequential streams, not at random.
	 */
	size_t count = 0;

	for (uint64_t o = 0; t->slot && o <= t->mask; o++) {
		uint64_t e = t->slot[o];

		if (!e)
			continue;
		uint64_t j = (e >> 32) & nmask;

		while (s[j])
			j = (j + 1) & nmask;
		s[j] = e;
		u[count++] = (uint32_t)j;
	}
	tab_free(t);
	t->slot = s;
	t->used = u;
	t->mask = nmask;
	t->count = count;
	return 0;
}

/*
 * Find the k-gram g (tag, symbols) in t, whose positions are relative to
 * `syms`.  Returns the slot holding it (*found) or the empty slot where it
 * would go.  t must be allocated.
 */
static uint64_t tab_find(const struct ls_align_tab *t, uint32_t tag, const uint64_t *g, const uint64_t *syms,
			 size_t bytes, bool *found)
{
	uint64_t j = tag & t->mask;

	for (;;) {
		uint64_t e = t->slot[j];

		if (!e) {
			*found = false;
			return j;
		}
		if ((uint32_t)(e >> 32) == tag && !memcmp(syms + ((uint32_t)e - 1), g, bytes)) {
			*found = true;
			return j;
		}
		j = (j + 1) & t->mask;
	}
}

/* ---- comparator ---- */

int ls_align_init(struct ls_align *al, const struct ls_align_cfg *cfg, uint64_t pos_a, uint64_t pos_b)
{
	if (!cfg->window || cfg->window > LS_ALIGN_MAX_WINDOW || !cfg->match || cfg->match > LS_ALIGN_MAX_MATCH)
		return -EINVAL;
	*al = (struct ls_align){ .cfg = *cfg, .state = LS_ALIGN_ST_SYNC, .pos = { pos_a, pos_b }, .pk = 1 };
	for (unsigned i = 0; i < cfg->match; i++)
		al->pk *= HASH_P;
	return 0;
}

void ls_align_free(struct ls_align *al)
{
	tab_free(&al->tab[0]);
	tab_free(&al->tab[1]);
}

uint64_t ls_align_keep_from(const struct ls_align *al, int side)
{
	return al->state == LS_ALIGN_ST_LOST ? UINT64_MAX : al->pos[side];
}

uint64_t ls_align_matched(const struct ls_align *al)
{
	return al->matched;
}

enum ls_align_state ls_align_state(const struct ls_align *al)
{
	return al->state;
}

uint64_t ls_align_pos(const struct ls_align *al, int side)
{
	return al->pos[side];
}

/* Length of the common prefix of a and b (n words): memcmp per chunk, then a word scan. */
static size_t common_prefix(const uint64_t *a, const uint64_t *b, size_t n)
{
	enum { CHUNK = 128 };
	size_t i = 0;

	while (n - i >= CHUNK && !memcmp(a + i, b + i, CHUNK * sizeof(*a)))
		i += CHUNK;
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* (x, y) better than the best so far: smaller x + y, then smaller max, then smaller x. */
static bool better(const struct ls_align *al, uint64_t x, uint64_t y)
{
	if (!al->have_best)
		return true;
	uint64_t bx = al->best[0], by = al->best[1];

	if (x + y != bx + by)
		return x + y < bx + by;
	uint64_t m = x > y ? x : y, bm = bx > by ? bx : by;

	if (m != bm)
		return m < bm;
	return x < bx;
}

/*
 * k-grams are looked at in batches: hashes first, with the table slots they
 * will touch prefetched, then the lookups, so that the cache misses of a
 * large window overlap instead of adding up.
 */
#define BATCH 16u

/*
 * Look at side i's next n k-grams (x from tab[i].k; their symbols must be
 * buffered): each that is the first of its kind on that side is looked for on
 * the other side.  insert: the other side will look again, so record them.
 * 0 or -ENOMEM (nothing changed).
 */
static int add_kgrams(struct ls_align *al, int i, const uint64_t *const syms[2], unsigned n, bool insert)
{
	struct ls_align_tab *t = &al->tab[i], *o = &al->tab[!i];
	const unsigned m = al->cfg.match;
	const size_t bytes = (size_t)m * sizeof(uint64_t);
	const uint64_t x0 = t->k;
	const bool look = o->slot && o->count;
	uint32_t tags[BATCH];
	uint64_t h = t->h;

	if (insert && tab_reserve(t, n))
		return -ENOMEM;
	for (unsigned q = 0; q < n; q++) {
		const uint64_t *g = syms[i] + x0 + q;

		if (x0 + q == 0) {
			h = 0;
			for (unsigned r = 0; r < m; r++)
				h = h * HASH_P + mix(g[r]);
		} else {
			h = h * HASH_P - mix(g[-1]) * al->pk + mix(g[m - 1]);
		}
		tags[q] = tag_of(h);
		if (insert)
			__builtin_prefetch(&t->slot[tags[q] & t->mask]);
		if (look)
			__builtin_prefetch(&o->slot[tags[q] & o->mask]);
	}
	t->h = h;
	t->k = x0 + n;

	for (unsigned q = 0; q < n; q++) {
		const uint64_t x = x0 + q;
		const uint64_t *g = syms[i] + x;
		bool found;

		if (insert) {
			uint64_t j = tab_find(t, tags[q], g, syms[i], bytes, &found);

			if (found)
				continue; /* an earlier x on this side pairs at least as well with anything */
			t->slot[j] = (uint64_t)tags[q] << 32 | (x + 1);
			t->used[t->count++] = (uint32_t)j;
		}
		if (!look)
			continue;
		uint64_t j = tab_find(o, tags[q], g, syms[!i], bytes, &found);

		if (found) {
			uint64_t xy[2];

			xy[i] = x;
			xy[!i] = (uint32_t)o->slot[j] - 1;
			if (better(al, xy[0], xy[1])) {
				al->have_best = true;
				al->best[0] = xy[0];
				al->best[1] = xy[1];
			}
		}
	}
	return 0;
}

static void region_end(struct ls_align *al)
{
	tab_reset(&al->tab[0]);
	tab_reset(&al->tab[1]);
	al->have_best = false;
}

/*
 * Apart at pos[]: hash k-grams of both sides in step (the side with fewer
 * looked at goes next), so that pairs are found in about increasing x + y,
 * and stop as soon as the best pair found is certain.  A pair not yet found
 * has x >= k[0] (side 0 not done) or y >= k[1] (side 1 not done), so once
 * both sides are done or past the best's x + y, none can beat it.
 */
static int search(struct ls_align *al, const struct ls_seqbuf b[2], const bool final[2], struct ls_align_ev *ev)
{
	const uint64_t W = al->cfg.window, m = al->cfg.match;
	const uint64_t *syms[2];
	uint64_t avail[2];

	for (int i = 0; i < 2; i++) {
		syms[i] = b[i].v + (al->pos[i] - b[i].base);
		avail[i] = ls_seqbuf_end(&b[i]) - al->pos[i];
	}
	for (;;) {
		bool ready[2], done[2], want[2];
		uint64_t sum = al->best[0] + al->best[1];

		for (int i = 0; i < 2; i++) {
			uint64_t k = al->tab[i].k;

			ready[i] = k < W && avail[i] >= k + m;
			done[i] = k >= W || (!ready[i] && final[i]);
		}
		/* A side that ended with no k-gram matches nothing: the other only has to show its window. */
		for (int i = 0; i < 2; i++) {
			if (done[!i] && !al->tab[!i].k && !done[i] && (avail[i] >= W + m - 1 || final[i])) {
				done[i] = true;
				ready[i] = false;
			}
		}
		if (al->have_best) {
			if ((done[0] || al->tab[0].k > sum) && (done[1] || al->tab[1].k > sum)) {
				*ev = (struct ls_align_ev){ .type = LS_ALIGN_REJOINED,
							    .at = { al->pos[0], al->pos[1] },
							    .len = { al->best[0], al->best[1] } };
				al->pos[0] += al->best[0];
				al->pos[1] += al->best[1];
				al->state = LS_ALIGN_ST_SYNC;
				region_end(al);
				return 0;
			}
		} else if (done[0] && done[1]) {
			*ev = (struct ls_align_ev){ .type = LS_ALIGN_LOST, .at = { al->pos[0], al->pos[1] } };
			for (int i = 0; i < 2; i++)
				ev->len[i] = avail[i] < W + m - 1 ? avail[i] : W + m - 1;
			al->state = LS_ALIGN_ST_LOST;
			tab_free(&al->tab[0]);
			tab_free(&al->tab[1]);
			al->have_best = false;
			return 0;
		}
		for (int i = 0; i < 2; i++) {
			want[i] = !done[i] && (!al->have_best || al->tab[i].k <= sum);
			if (done[!i] && !al->tab[!i].k)
				want[i] = false; /* nothing to match against: just wait for done */
		}
		/*
		 * The wanted side with fewer k-grams looked at; the other only
		 * while less than a batch ahead of it.
		 */
		int i = !want[0] || (want[1] && al->tab[1].k < al->tab[0].k);

		if (!want[i] || !ready[i]) {
			int j = !i;

			if (want[j] && ready[j] && (!want[i] || al->tab[j].k < al->tab[i].k + BATCH))
				i = j;
			else
				return 0; /* waiting for data */
		}
		uint64_t k = al->tab[i].k, n = avail[i] - m + 1 - k;

		if (n > W - k)
			n = W - k;
		if (al->have_best && n > sum + 1 - k)
			n = sum + 1 - k;
		if (want[!i] && n > al->tab[!i].k + BATCH - k)
			n = al->tab[!i].k + BATCH - k;
		if (n > BATCH)
			n = BATCH;
		int err = add_kgrams(al, i, syms, (unsigned)n, !done[!i]);

		if (err)
			return err;
	}
}

int ls_align_step(struct ls_align *al, const struct ls_seqbuf b[2], const bool final[2], struct ls_align_ev *ev)
{
	*ev = (struct ls_align_ev){ .type = LS_ALIGN_NONE };
	if (al->state == LS_ALIGN_ST_LOST)
		return 0;
	for (int i = 0; i < 2; i++)
		if (b[i].base > al->pos[i] || ls_seqbuf_end(&b[i]) < al->pos[i])
			return -ERANGE;
	if (al->state == LS_ALIGN_ST_APART)
		return search(al, b, final, ev);

	const uint64_t *p0 = b[0].v + (al->pos[0] - b[0].base);
	const uint64_t *p1 = b[1].v + (al->pos[1] - b[1].base);
	uint64_t n0 = ls_seqbuf_end(&b[0]) - al->pos[0], n1 = ls_seqbuf_end(&b[1]) - al->pos[1];
	size_t n = (size_t)(n0 < n1 ? n0 : n1);
	size_t i = common_prefix(p0, p1, n);

	al->matched += i;
	al->pos[0] += i;
	al->pos[1] += i;
	if (i < n) {
		*ev = (struct ls_align_ev){ .type = LS_ALIGN_PARTED, .at = { al->pos[0], al->pos[1] } };
		al->state = LS_ALIGN_ST_APART;
		al->regions++;
	}
	return 0;
}
