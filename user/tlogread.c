/* SPDX-License-Identifier: MIT */
/* tlogread.c - translation log parsing, lookup by block record, instruction-level comparison. */
#include "tlogread.h"

#include <stdlib.h>
#include <string.h>

#include "lockstep_wire.h"

#define HDR_SIZE sizeof(struct ls_tlog_ent)
#define ARENA_CHUNK (64u * 1024u)

struct ls_tlog_slot {
	uint64_t pc;
	uint32_t ninsns;
	const struct ls_tb *tb; /* NULL: empty */
};

/* The pc a block record word gives back for pc (sign-extended from bit 47). */
static uint64_t key_pc(uint64_t pc)
{
	return ls_rec_pc(ls_rec_make(pc, 0));
}

static size_t slot_hash(uint64_t pc, uint32_t ninsns, size_t mask)
{
	uint64_t h = (pc ^ ((uint64_t)ninsns << 48)) * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 32) & mask;
}

void ls_tlog_free(struct ls_tlog *t)
{
	for (size_t i = 0; i < t->nblocks; i++)
		free(t->blocks[i]);
	free(t->blocks);
	free(t->slots);
	free(t->pend);
	ls_tlog_init(t);
}

/* Arena: every ls_tb and its arrays live in chunks freed together. */
struct arena_hdr {
	size_t used, cap;
	/* followed by cap bytes */
};

static void *arena_alloc(struct ls_tlog *t, size_t size)
{
	struct arena_hdr *a = t->nblocks ? t->blocks[t->nblocks - 1] : NULL;

	size = (size + 7u) & ~(size_t)7u;
	if (!a || a->cap - a->used < size) {
		size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;

		if (t->nblocks == t->blocks_cap) {
			size_t nc = t->blocks_cap ? t->blocks_cap * 2 : 16;
			void **nb = realloc(t->blocks, nc * sizeof(*nb));

			if (!nb)
				return NULL;
			t->blocks = nb;
			t->blocks_cap = nc;
		}
		a = malloc(sizeof(*a) + cap);
		if (!a)
			return NULL;
		a->used = 0;
		a->cap = cap;
		t->blocks[t->nblocks++] = a;
	}
	void *p = (char *)(a + 1) + a->used;
	a->used += size;
	return p;
}

static int index_grow(struct ls_tlog *t)
{
	size_t n = t->nslots ? t->nslots * 2 : 1024;
	struct ls_tlog_slot *s = calloc(n, sizeof(*s));

	if (!s)
		return -1;
	for (size_t i = 0; i < t->nslots; i++) {
		const struct ls_tlog_slot *o = &t->slots[i];

		if (!o->tb)
			continue;
		size_t j = slot_hash(o->pc, o->ninsns, n - 1);
		while (s[j].tb)
			j = (j + 1) & (n - 1);
		s[j] = *o;
	}
	free(t->slots);
	t->slots = s;
	t->nslots = n;
	return 0;
}

static struct ls_tlog_slot *slot_of(const struct ls_tlog *t, uint64_t pc, uint32_t ninsns)
{
	if (!t->nslots)
		return NULL;
	size_t mask = t->nslots - 1;
	size_t j = slot_hash(pc, ninsns, mask);

	while (t->slots[j].tb) {
		if (t->slots[j].pc == pc && t->slots[j].ninsns == ninsns)
			return &t->slots[j];
		j = (j + 1) & mask;
	}
	return &t->slots[j]; /* the empty slot where it would go */
}

static bool same_code(const struct ls_tb *a, const struct ls_tb *b)
{
	return a->nbytes == b->nbytes && !memcmp(a->off, b->off, a->ninsns * sizeof(*a->off)) &&
	       !memcmp(a->len, b->len, a->ninsns) && !memcmp(a->bytes, b->bytes, a->nbytes);
}

static int corrupt(struct ls_tlog *t, uint64_t at, const char *why)
{
	t->corrupt = true;
	t->errors++;
	t->bad_offset = at;
	t->bad_reason = why;
	return LS_TLOG_ECORRUPT;
}

/* A header's claimed size, or 0 after marking the log corrupt. */
static uint32_t check_header(struct ls_tlog *t, const uint8_t *p, uint64_t at)
{
	struct ls_tlog_ent e;

	const char *why = NULL;

	memcpy(&e, p, sizeof(e));
	if (e.ninsns == 0 || e.ninsns > LS_TLOG_MAX_INSNS)
		why = "instruction count out of range";
	else if (e.nbytes < e.ninsns)
		why = "fewer code bytes than instructions";
	else if (e.size != ls_tlog_ent_size(e.ninsns, e.nbytes))
		why = "entry size does not match its counts";
	if (why) {
		corrupt(t, at, why);
		return 0;
	}
	return e.size;
}

/* Validate and index one complete entry (its header already checked). */
static int add_entry(struct ls_tlog *t, const uint8_t *p, uint64_t at)
{
	struct ls_tlog_ent e;
	uint16_t off[LS_TLOG_MAX_INSNS];
	const uint8_t *len, *code;
	uint32_t sum = 0;

	memcpy(&e, p, sizeof(e));
	memcpy(off, p + HDR_SIZE, e.ninsns * sizeof(uint16_t));
	len = p + HDR_SIZE + e.ninsns * sizeof(uint16_t);
	code = len + e.ninsns;
	if (off[0] != 0)
		return corrupt(t, at, "first instruction not at the block's pc");
	for (uint32_t i = 0; i < e.ninsns; i++) {
		if (len[i] == 0)
			return corrupt(t, at, "zero instruction length");
		if (i && (uint32_t)off[i] < (uint32_t)off[i - 1] + len[i - 1])
			return corrupt(t, at, "instruction offsets not increasing");
		sum += len[i];
	}
	if (sum != e.nbytes)
		return corrupt(t, at, "instruction lengths do not add up to the code bytes");

	uint64_t pc = key_pc(e.pc);
	struct ls_tlog_slot *s;

	if (!t->nslots || (t->nused + 1) * 2 > t->nslots) {
		if (index_grow(t))
			return LS_TLOG_ENOMEM;
	}
	s = slot_of(t, pc, e.ninsns);

	struct ls_tb *tb = arena_alloc(t, sizeof(*tb) + e.ninsns * 3u + e.nbytes);
	if (!tb)
		return LS_TLOG_ENOMEM;
	uint16_t *toff = (uint16_t *)(tb + 1);
	uint8_t *tlen = (uint8_t *)(toff + e.ninsns);
	uint8_t *tbytes = tlen + e.ninsns;

	memcpy(toff, off, e.ninsns * sizeof(*toff));
	memcpy(tlen, len, e.ninsns);
	memcpy(tbytes, code, e.nbytes);
	*tb = (struct ls_tb){ .pc = pc, .ninsns = e.ninsns, .nbytes = e.nbytes, .off = toff, .len = tlen,
			      .bytes = tbytes, .log_offset = at };
	t->entries++;
	if (s->tb) {
		t->retranslated++;
		if (!same_code(s->tb, tb))
			t->retranslated_changed++;
	} else {
		s->pc = pc;
		s->ninsns = e.ninsns;
		t->nused++;
	}
	s->tb = tb;
	return 0;
}

static int pend_reserve(struct ls_tlog *t, size_t need)
{
	if (need <= t->pend_cap)
		return 0;
	uint8_t *p = realloc(t->pend, need);
	if (!p)
		return -1;
	t->pend = p;
	t->pend_cap = need;
	return 0;
}

/* Move up to `want - npend` bytes from *p into the pending entry. */
static void pend_take(struct ls_tlog *t, const uint8_t **p, size_t *left, size_t want)
{
	size_t k = want - t->npend;

	if (k > *left)
		k = *left;
	memcpy(t->pend + t->npend, *p, k);
	t->npend += k;
	*p += k;
	*left -= k;
}

static int feed(struct ls_tlog *t, const void *bytes, size_t n);

int ls_tlog_feed(struct ls_tlog *t, const void *bytes, size_t n)
{
	int rc = feed(t, bytes, n);

	if (rc == LS_TLOG_ENOMEM)
		t->nomem = true;
	return rc;
}

static int feed(struct ls_tlog *t, const void *bytes, size_t n)
{
	const uint8_t *p = bytes;
	size_t left = n;
	int added = 0, rc;

	if (t->corrupt || t->nomem) {
		t->fed += n;
		return t->corrupt ? LS_TLOG_ECORRUPT : LS_TLOG_ENOMEM;
	}
	/* The pending entry started at fed - npend. */
	uint64_t at = t->fed - t->npend;
	t->fed += n;

	if (t->npend) {
		if (pend_reserve(t, HDR_SIZE))
			return LS_TLOG_ENOMEM;
		if (t->npend < HDR_SIZE)
			pend_take(t, &p, &left, HDR_SIZE);
		if (t->npend < HDR_SIZE)
			return 0;
		uint32_t size = check_header(t, t->pend, at);
		if (!size)
			return LS_TLOG_ECORRUPT;
		if (pend_reserve(t, size))
			return LS_TLOG_ENOMEM;
		pend_take(t, &p, &left, size);
		if (t->npend < size)
			return 0;
		rc = add_entry(t, t->pend, at);
		if (rc)
			return rc;
		added++;
		t->npend = 0;
		at += size;
	}
	while (left >= HDR_SIZE) {
		uint32_t size = check_header(t, p, at);
		if (!size)
			return LS_TLOG_ECORRUPT;
		if (size > left)
			break;
		rc = add_entry(t, p, at);
		if (rc)
			return rc;
		added++;
		p += size;
		left -= size;
		at += size;
	}
	if (left) {
		if (pend_reserve(t, HDR_SIZE > left ? HDR_SIZE : left))
			return LS_TLOG_ENOMEM;
		memcpy(t->pend, p, left);
		t->npend = left;
	}
	return added;
}

const struct ls_tb *ls_tlog_find(const struct ls_tlog *t, uint64_t pc, uint32_t ninsns)
{
	const struct ls_tlog_slot *s = slot_of(t, key_pc(pc), ninsns);

	return s ? s->tb : NULL;
}

size_t ls_tlog_expand(const struct ls_tlog *t, uint64_t word, uint64_t *addrs, size_t max)
{
	const struct ls_tb *tb = ls_tlog_find(t, ls_rec_pc(word), ls_rec_ninsns(word));

	if (!tb)
		return 0;
	for (uint32_t i = 0; i < tb->ninsns && i < max; i++)
		addrs[i] = tb->pc + tb->off[i];
	return tb->ninsns;
}

/* Walking one side's instruction stream. */
struct cursor {
	const struct ls_tlog *own, *other;
	const uint64_t *w;
	size_t n;
	size_t blk;
	uint32_t insn;
	const struct ls_tb *tb; /* of w[blk], once looked up */
	unsigned borrowed;
	bool have_last;
	uint64_t last; /* address of the instruction the walk last passed */
};

/* 1: positioned on an instruction; 0: the records are exhausted; -1: w[blk] is unknown. */
static int cursor_at(struct cursor *c)
{
	if (c->blk >= c->n)
		return 0;
	if (!c->tb) {
		uint64_t pc = ls_rec_pc(c->w[c->blk]);
		uint32_t ni = ls_rec_ninsns(c->w[c->blk]);

		c->tb = c->own ? ls_tlog_find(c->own, pc, ni) : NULL;
		if (!c->tb && c->other) {
			c->tb = ls_tlog_find(c->other, pc, ni);
			if (c->tb)
				c->borrowed++;
		}
		if (!c->tb)
			return -1;
	}
	return 1;
}

static struct ls_insn_pos cursor_pos(const struct cursor *c)
{
	return (struct ls_insn_pos){ .block = c->blk, .insn = c->insn, .addr = c->tb->pc + c->tb->off[c->insn] };
}

bool ls_tlog_phantom(const struct ls_tb *tb, uint64_t next_pc)
{
	if (!tb || tb->ninsns < 2)
		return false;
	uint64_t last = tb->pc + tb->off[tb->ninsns - 1], page_end = (last | 4095) + 1;
	/* Its bytes are cut where decoding stopped, up to the page end; an x86 instruction is at most 15 bytes. */
	return last == next_pc && page_end - last < 15 && last + tb->len[tb->ninsns - 1] <= page_end;
}

static void cursor_next(struct cursor *c)
{
	/* Skip a last instruction QEMU backed out of the block (ls_tlog_phantom). */
	if (c->insn + 2 == c->tb->ninsns && c->blk + 1 < c->n && ls_tlog_phantom(c->tb, ls_rec_pc(c->w[c->blk + 1])))
		c->insn++;
	if (++c->insn >= c->tb->ninsns) {
		c->insn = 0;
		c->blk++;
		c->tb = NULL;
	}
}

int ls_first_insn_divergence(const struct ls_tlog *ta, const struct ls_tlog *tb, const uint64_t *wa, size_t na,
			     const uint64_t *wb, size_t nb, struct ls_insn_div *out)
{
	struct cursor c[2] = {
		{ .own = ta, .other = tb, .w = wa, .n = na },
		{ .own = tb, .other = ta, .w = wb, .n = nb },
	};
	struct ls_insn_pos prev[2] = { { 0 } };
	bool have_prev = false;
	uint64_t idx = 0;
	int res;

	memset(out, 0, sizeof(*out));
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < c[s].n; i++)
			out->ninsns[s] += ls_rec_ninsns(c[s].w[i]);
	for (;;) {
		int ra = cursor_at(&c[0]), rb = cursor_at(&c[1]);

		if (ra == 0 || rb == 0) {
			res = LS_INSN_SAME;
			break;
		}
		if (ra < 0 || rb < 0) {
			int s = ra < 0 ? 0 : 1;

			out->unknown_side = s;
			out->unknown_block = c[s].blk;
			out->unknown_word = c[s].w[c[s].blk];
			res = LS_INSN_UNKNOWN;
			break;
		}
		struct ls_insn_pos pa = cursor_pos(&c[0]), pb = cursor_pos(&c[1]);
		/*
		 * Back-to-back executions of one instruction count once, as in
		 * --insn (follow.c): QEMU runs each iteration of a rep string
		 * instruction as its own block, except with -singlestep.
		 */
		int rep = -1;
		if (pa.addr != pb.addr)
			rep = c[0].have_last && pa.addr == c[0].last ? 0 : c[1].have_last && pb.addr == c[1].last ? 1 : -1;
		if (rep >= 0) {
			c[rep].last = rep ? pb.addr : pa.addr;
			cursor_next(&c[rep]);
			continue;
		}
		if (pa.addr != pb.addr) {
			out->first[0] = pa;
			out->first[1] = pb;
			out->have_common = have_prev;
			if (have_prev) {
				out->common[0] = prev[0];
				out->common[1] = prev[1];
			}
			res = LS_INSN_DIFFER;
			break;
		}
		prev[0] = pa;
		prev[1] = pb;
		have_prev = true;
		c[0].last = pa.addr;
		c[1].last = pb.addr;
		c[0].have_last = c[1].have_last = true;
		cursor_next(&c[0]);
		cursor_next(&c[1]);
		idx++;
	}
	out->index = idx;
	out->borrowed[0] = c[0].borrowed;
	out->borrowed[1] = c[1].borrowed;
	return res;
}
