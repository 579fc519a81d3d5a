/* SPDX-License-Identifier: MIT */
/*
 * tlog.h - the translation log: one append-only log per process of every
 * block QEMU translates, with its instructions' offsets, sizes and bytes
 * (struct ls_tlog_ent in lockstep_wire.h), so the monitor can expand a block
 * record (pc, ninsns) into instructions and disassemble them.
 *
 * Written once per translation, never per executed block.  No QEMU
 * dependency: the plugin hands over what the QEMU API returned, and the unit
 * tests drive it directly.
 *
 * Publication: the log lives in one lazily backed mapping of ls_plugin_info
 * .tlog_cap bytes at .tlog_addr.  An entry's bytes are all written before
 * .tlog_used is advanced past it (a release store), so a reader that loads
 * tlog_used first (process_vm_readv, any time) sees only complete entries
 * below it.  Entries are never rewritten.  A block translated again (after a
 * code-cache flush, or for self-modifying code) gets another entry: for a pc,
 * the latest entry before the point of interest is the right one.
 *
 * ls_plugin_info.tlog_dropped counts translations without an entry, for
 * either reason: the log was full (from then on every translation is
 * dropped, so the log is a complete prefix of the process's translations),
 * or the block does not fit the entry format (an instruction more than
 * 65535 bytes from pc or longer than 255 bytes, or more than 65535 code
 * bytes; no real target produces them).
 */
#ifndef LOCKSTEP_TLOG_H
#define LOCKSTEP_TLOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../bpf/lockstep_wire.h"

/* One instruction as the QEMU API describes it at translation. */
struct ls_tlog_insn {
	uint64_t vaddr;
	const void *data; /* size bytes */
	size_t size;
};

struct ls_tlog {
	pthread_mutex_t mu; /* translations may run concurrently (system emulation) */
	uint8_t *base;
	uint64_t cap;
	uint64_t used; /* the writer's copy of info->tlog_used */
	bool full;
	struct ls_plugin_info *info; /* where tlog_used and tlog_dropped are published */
	/* For the plugin's exit summary. */
	uint64_t logged;
	uint64_t dropped_full;
	uint64_t dropped_unfit;
};

enum ls_tlog_result {
	LS_TLOG_LOGGED = 0,
	LS_TLOG_OFF, /* no log (tlog=0): not counted */
	LS_TLOG_FULL, /* counted in tlog_dropped */
	LS_TLOG_UNFIT, /* counted in tlog_dropped */
};

/*
 * cap bytes (rounded down to a multiple of 8), mapped MAP_NORESERVE; cap 0
 * makes a disabled log.  Sets info->tlog_addr/cap.  0 or -errno.
 */
int ls_tlog_init(struct ls_tlog *t, struct ls_plugin_info *info, uint64_t cap);
void ls_tlog_fini(struct ls_tlog *t);

/* Log one translated block of n instructions starting at pc.  Thread-safe. */
enum ls_tlog_result ls_tlog_append(struct ls_tlog *t, uint64_t pc, const struct ls_tlog_insn *insns, size_t n);

/* A parsed entry (for readers and tests): pointers into the log. */
struct ls_tlog_view {
	uint64_t pc;
	uint32_t ninsns;
	uint32_t nbytes;
	uint32_t size;
	const uint16_t *off; /* aligned: entries start 8-aligned and off follows the 16-byte header */
	const uint8_t *len;
	const uint8_t *code;
};

/*
 * The entry at byte offset off of a log whose first used bytes are valid:
 * 0 with *v filled, -1 when off is at or past the end, or the entry there
 * is malformed (size inconsistent with its counts, lengths not adding up
 * to nbytes, or past used).
 */
int ls_tlog_parse(const void *log, uint64_t used, uint64_t off, struct ls_tlog_view *v);

#endif
