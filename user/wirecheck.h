/* SPDX-License-Identifier: MIT */
/*
 * wirecheck.h - validating what the monitor reads from a QEMU process
 * before it believes any of it.  The monitor runs as root; the plugin's
 * memory belongs to a process that may run as anyone, and in linux-user
 * its guest can write there.  Every count, size, order and address in
 * struct ls_plugin_info and struct ls_batch is checked here against the
 * limits the plugin itself accepts (lockstep_wire.h), so that no read,
 * allocation or shift the monitor derives from them can go beyond those.
 * Pure: the fetching (process_vm_readv) is in target.c, so these run on
 * plain buffers in the unit tests and the fuzzers.
 */
#ifndef LOCKSTEP_WIRECHECK_H
#define LOCKSTEP_WIRECHECK_H

#include <stddef.h>
#include <stdint.h>

#include "lockstep_wire.h"

/* NULL when the info is usable, else why not (a phrase: "ring_order 40 is out of range"). */
const char *ls_info_problem(const struct ls_plugin_info *i);

/*
 * NULL when the batch (a stream's struct ls_batch) is usable by a monitor
 * whose plugin info is *i, else why not.  Checks what the monitor derives
 * reads from: its orders equal to the info's, the ring and head
 * addresses aligned and not wrapping the address space.  The syscall log's
 * fields are ls_sys_span_of's: a bad log costs the classification only.
 */
const char *ls_batch_problem(const struct ls_batch *b, const struct ls_plugin_info *i);

/*
 * The writer's next block sequence number, from the head pointer value cur
 * the batch *b (valid) refers to: 0, or -EFAULT when cur is not in its ring.
 */
int ls_head_seq_of(const struct ls_batch *b, uint64_t cur, uint64_t *seq);

/*
 * Which records of a syscall log to copy (after checking b->sys_addr and
 * b->sys_next): the most recent of b->sys_next at most, no more than the log holds (2^sys_order) nor max.  The log
 * ring's slots [slot[k], slot[k] + cnt[k]) for k = 0, 1 (the second is
 * the wrap; cnt[1] may be 0) hold log indices first_index..first_index+n-1.
 */
struct ls_sys_span {
	uint64_t first_index, n;
	uint64_t slot[2], cnt[2];
};
const char *ls_sys_span_of(const struct ls_batch *b, uint32_t sys_order, uint64_t max, struct ls_sys_span *s);

/*
 * NULL when n records copied from a syscall log can be what the plugin
 * wrote (states it knows, in block order but for the oldest ones a
 * concurrent writer may have replaced), else why not.
 */
const char *ls_sys_recs_problem(const struct ls_sys_rec *r, size_t n);

/* Syscall log indices past this are refused: no guest makes 2^48 syscalls, and index arithmetic stays far from wrapping. */
#define LS_SYS_NEXT_MAX (1ull << 48)

/*
 * NULL when tlog_used (just read) can follow the offset off already
 * consumed in a translation log of the info's capacity.
 */
const char *ls_tlog_used_problem(const struct ls_plugin_info *i, uint64_t used, uint64_t off);

#endif
