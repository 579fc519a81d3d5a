/* SPDX-License-Identifier: MIT */
/* tlog.c - the translation log (tlog.h): one entry per translated block, published with release. */
#include "tlog.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

int ls_tlog_init(struct ls_tlog *t, struct ls_plugin_info *info, uint64_t cap)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->mu, NULL);
	t->info = info;
	cap &= ~7ull;
	if (cap) {
		/* Lazily backed: a guest that translates little touches little. */
		void *p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED) {
			int err = errno;
			pthread_mutex_destroy(&t->mu);
			return -err;
		}
		t->base = p;
		t->cap = cap;
	}
	info->tlog_addr = (uint64_t)(uintptr_t)t->base;
	info->tlog_cap = t->cap;
	info->tlog_used = 0;
	info->tlog_dropped = 0;
	return 0;
}

void ls_tlog_fini(struct ls_tlog *t)
{
	if (t->base)
		munmap(t->base, t->cap);
	t->base = NULL;
	pthread_mutex_destroy(&t->mu);
}

static void count_drop(struct ls_tlog *t, uint64_t *counter)
{
	(*counter)++;
	__atomic_store_n(&t->info->tlog_dropped, t->dropped_full + t->dropped_unfit, __ATOMIC_RELAXED);
}

enum ls_tlog_result ls_tlog_append(struct ls_tlog *t, uint64_t pc, const struct ls_tlog_insn *insns, size_t n)
{
	uint64_t nbytes = 0;
	bool fit = n <= UINT16_MAX;

	if (!t->base)
		return LS_TLOG_OFF;
	/* The entry format's limits; no real target comes near them. */
	for (size_t i = 0; i < n && fit; i++) {
		if (insns[i].vaddr - pc > UINT16_MAX || insns[i].size > UINT8_MAX || (insns[i].size && !insns[i].data))
			fit = false;
		nbytes += insns[i].size;
	}
	if (nbytes > UINT16_MAX)
		fit = false;

	pthread_mutex_lock(&t->mu);
	if (!fit) {
		count_drop(t, &t->dropped_unfit);
		pthread_mutex_unlock(&t->mu);
		return LS_TLOG_UNFIT;
	}
	uint32_t size = ls_tlog_ent_size((uint32_t)n, (uint32_t)nbytes);
	if (t->full || size > t->cap - t->used) {
		/* Stop at the first entry that does not fit: the log stays a prefix. */
		t->full = true;
		count_drop(t, &t->dropped_full);
		pthread_mutex_unlock(&t->mu);
		return LS_TLOG_FULL;
	}
	uint8_t *e = t->base + t->used;
	struct ls_tlog_ent hdr = { .pc = pc, .ninsns = (uint16_t)n, .nbytes = (uint16_t)nbytes, .size = size };
	uint16_t *off = (uint16_t *)(e + sizeof(hdr));
	uint8_t *len = (uint8_t *)(off + n), *code = len + n;

	memcpy(e, &hdr, sizeof(hdr));
	for (size_t i = 0; i < n; i++) {
		off[i] = (uint16_t)(insns[i].vaddr - pc);
		len[i] = (uint8_t)insns[i].size;
		if (insns[i].size)
			memcpy(code, insns[i].data, insns[i].size);
		code += insns[i].size;
	}
	/* The padding up to size is still zero: the mapping is never written twice. */
	t->used += size;
	t->logged++;
	__atomic_store_n(&t->info->tlog_used, t->used, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&t->mu);
	return LS_TLOG_LOGGED;
}

int ls_tlog_parse(const void *log, uint64_t used, uint64_t off, struct ls_tlog_view *v)
{
	struct ls_tlog_ent hdr;
	const uint8_t *e = (const uint8_t *)log + off;

	if (off >= used || used - off < sizeof(hdr) || (off & 7))
		return -1;
	memcpy(&hdr, e, sizeof(hdr));
	if (hdr.size != ls_tlog_ent_size(hdr.ninsns, hdr.nbytes) || hdr.size > used - off)
		return -1;
	v->pc = hdr.pc;
	v->ninsns = hdr.ninsns;
	v->nbytes = hdr.nbytes;
	v->size = hdr.size;
	v->off = (const uint16_t *)(e + sizeof(hdr));
	v->len = (const uint8_t *)(v->off + hdr.ninsns);
	v->code = v->len + hdr.ninsns;
	uint32_t sum = 0;
	for (uint32_t i = 0; i < hdr.ninsns; i++)
		sum += v->len[i];
	return sum == hdr.nbytes ? 0 : -1;
}
