/* SPDX-License-Identifier: MIT */
/* wirecheck.c - what a target's memory may say (see wirecheck.h). */
#include "wirecheck.h"

#include <errno.h>

/* [addr, addr + len) is a plausible user-space range: no wrap, below the top of the 64-bit space. */
static int range_ok(uint64_t addr, uint64_t len)
{
	return addr && addr + len > addr && addr + len <= (1ull << 63);
}

const char *ls_info_problem(const struct ls_plugin_info *i)
{
	if (i->batch_order < LS_MIN_BATCH_ORDER || i->batch_order > LS_MAX_BATCH_ORDER)
		return "batch_order is out of range";
	if (i->ring_order > LS_MAX_RING_ORDER || i->ring_order < i->batch_order + 4) /* LS_MIN_RING_CHUNKS */
		return "ring_order is out of range";
	if (!i->batches_addr || (i->batches_addr & 7) ||
	    !range_ok(i->batches_addr, LS_MAX_VCPUS * sizeof(uint64_t)))
		return "batches_addr is not a valid address";
	if ((i->flags & LS_INFO_SYSCALLS) && (i->sys_order < LS_MIN_SYS_ORDER || i->sys_order > LS_MAX_SYS_ORDER))
		return "sys_order is out of range";
	if (i->tlog_cap) {
		if (i->tlog_cap > LS_MAX_TLOG_BYTES)
			return "tlog_cap is out of range";
		if ((i->tlog_addr & 7) || !range_ok(i->tlog_addr, i->tlog_cap))
			return "tlog_addr is not a valid address";
	}
	return 0;
}

const char *ls_batch_problem(const struct ls_batch *b, const struct ls_plugin_info *i)
{
	if (b->magic != LS_MAGIC || b->version != LS_WIRE_VERSION)
		return "bad magic or version";
	if (b->batch_order != i->batch_order || b->ring_order != i->ring_order)
		return "its batch or ring order differs from the plugin's";
	if (b->vcpu >= LS_MAX_VCPUS)
		return "vcpu is out of range";
	if (b->nblocks > (1u << b->batch_order))
		return "nblocks exceeds the chunk";
	if ((b->ring_addr & 7) || !range_ok(b->ring_addr, sizeof(struct ls_rec) << b->ring_order))
		return "ring_addr is not a valid address";
	if ((b->head_addr & 7) || !range_ok(b->head_addr, sizeof(uint64_t)))
		return "head_addr is not a valid address";
	/* The syscall log's fields are checked where it is read (ls_sys_span_of): a bad one costs that log only. */
	return 0;
}

int ls_head_seq_of(const struct ls_batch *b, uint64_t cur, uint64_t *seq)
{
	uint64_t ring_len = 1ull << b->ring_order, pub_end = (b->chunk << b->batch_order) + b->nblocks;

	if (cur < b->ring_addr || (cur - b->ring_addr) % sizeof(struct ls_rec))
		return -EFAULT;
	uint64_t idx = (cur - b->ring_addr) / sizeof(struct ls_rec);
	if (idx > ring_len)
		return -EFAULT;
	*seq = pub_end + ((idx - pub_end) & (ring_len - 1));
	return 0;
}

const char *ls_sys_span_of(const struct ls_batch *b, uint32_t sys_order, uint64_t max, struct ls_sys_span *s)
{
	uint64_t size, next = b->sys_next, n;

	*s = (struct ls_sys_span){ 0 };
	if (sys_order < LS_MIN_SYS_ORDER || sys_order > LS_MAX_SYS_ORDER)
		return "sys_order is out of range";
	if (next > LS_SYS_NEXT_MAX)
		return "sys_next is out of range";
	size = 1ull << sys_order;
	if ((b->sys_addr & 7) || !range_ok(b->sys_addr, sizeof(struct ls_sys_rec) * size))
		return "sys_addr is not a valid address";
	n = next < size ? next : size;
	if (n > max)
		n = max;
	s->first_index = next - n;
	s->n = n;
	s->slot[0] = s->first_index & (size - 1);
	s->cnt[0] = size - s->slot[0] < n ? size - s->slot[0] : n;
	s->slot[1] = 0;
	s->cnt[1] = n - s->cnt[0];
	return 0;
}

const char *ls_tlog_used_problem(const struct ls_plugin_info *i, uint64_t used, uint64_t off)
{
	if (used > i->tlog_cap)
		return "tlog_used exceeds the log's capacity";
	if (used < off)
		return "tlog_used went backwards";
	return 0;
}

const char *ls_sys_recs_problem(const struct ls_sys_rec *r, size_t n)
{
	size_t inversions = 0;

	for (size_t k = 0; k < n; k++) {
		if (r[k].state > LS_SYS_OUT_UNREADABLE) /* 0: the slot the writer is filling */
			return "a record has an unknown state";
		if (k && r[k].seq < r[k - 1].seq)
			inversions++;
	}
	/* One step back is the writer overwriting the oldest records during the copy; more is garbage. */
	return inversions > 1 ? "its records are not in block order" : 0;
}
