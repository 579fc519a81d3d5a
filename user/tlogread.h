/* SPDX-License-Identifier: MIT */
/*
 * tlogread.h - the monitor's reader of a plugin's translation log (struct
 * ls_tlog_ent records, see lockstep_wire.h), and the instruction-level
 * comparison of two sides' block records built on it.  Pure logic: the
 * caller copies the log's bytes out of QEMU and feeds them here.
 *
 * Which translation a block record means: the log is indexed by the key of
 * a block record word, (pc, ninsns), with pc sign-extended from bit 47 as
 * ls_rec_pc() does.  When the same key is translated again (QEMU flushed its
 * code cache, or the guest changed its code), the newer entry replaces the
 * older one in the index: a record is expanded with the latest translation
 * of its key the log holds, which is the one that ran unless the guest
 * modified code at that address and then ran the old version from a block
 * translated before the change.  retranslated_changed counts how often that
 * could matter (same key, other offsets, lengths or bytes).  In system
 * emulation the same pc in two guest processes is one key as well.
 */
#ifndef LOCKSTEP_TLOGREAD_H
#define LOCKSTEP_TLOGREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* TCG never puts more instructions in a block; an entry claiming more is corrupt. */
#define LS_TLOG_MAX_INSNS 512

/* One translated block. */
struct ls_tb {
	uint64_t pc; /* sign-extended from bit 47, as ls_rec_pc() gives it */
	uint32_t ninsns;
	uint32_t nbytes;
	const uint16_t *off; /* [ninsns]: instruction i is at pc + off[i]; off[0] == 0 */
	const uint8_t *len; /* [ninsns]: its size in bytes */
	const uint8_t *bytes; /* [nbytes]: the instructions' bytes, concatenated */
	uint64_t log_offset; /* where the entry starts in the log */
};

struct ls_tlog_slot;

/*
 * One side's log.  Zero-initialise (or ls_tlog_init), feed, free.  Every
 * struct ls_tb handed out stays valid until ls_tlog_free, also after a
 * retranslation replaced it in the index.  The counters are for reading.
 */
struct ls_tlog {
	uint64_t fed; /* log bytes consumed so far: the next feed starts here */
	uint64_t entries; /* entries parsed */
	uint64_t retranslated; /* of those, keys already present (the index now holds the newer) */
	uint64_t retranslated_changed; /* of those, with other offsets, lengths or bytes */
	uint64_t errors; /* corrupt entries met (parsing stops at the first) */
	bool corrupt; /* parsing stopped: nothing fed from now on is parsed */
	uint64_t bad_offset; /* log offset of the corrupt entry */
	const char *bad_reason; /* what was wrong with it (static string) */
	bool nomem; /* parsing stopped: out of memory */
	/* internal */
	struct ls_tlog_slot *slots;
	size_t nslots, nused;
	uint8_t *pend; /* bytes of an entry not yet complete */
	size_t npend, pend_cap;
	void **blocks; /* every allocation, for ls_tlog_free */
	size_t nblocks, blocks_cap;
};

/* Results of ls_tlog_feed other than an entry count. */
#define LS_TLOG_ECORRUPT (-1) /* a corrupt entry: see errors, bad_offset, bad_reason */
#define LS_TLOG_ENOMEM (-2) /* out of memory: parsing stops as for a corrupt entry (sets nomem) */

/*
 * Inline, so no symbol ls_tlog_init is defined here: the plugin's writer
 * (plugin/tlog.h) has its own, and the unit tests link both.
 */
static inline void ls_tlog_init(struct ls_tlog *t)
{
	*t = (struct ls_tlog){ 0 };
}

void ls_tlog_free(struct ls_tlog *t);

/*
 * Parse the log bytes [t->fed, t->fed + n), copied out of QEMU: call it with
 * consecutive ranges [used_before, used_now) of ls_plugin_info.tlog_used.
 * Every entry is checked strictly (its size is ls_tlog_ent_size(ninsns,
 * nbytes); 1 <= ninsns <= LS_TLOG_MAX_INSNS; off[0] == 0 and offsets
 * increasing with no instruction overlapping the next; lengths non-zero and
 * summing to nbytes) before anything of it is used.  An entry cut at the end
 * of the bytes is kept until the next feed completes it.  Returns the
 * number of entries added to the index, or LS_TLOG_ECORRUPT once a corrupt
 * entry was met (in this feed or an earlier one; every entry before it
 * stays indexed and usable), or LS_TLOG_ENOMEM likewise.  t->fed always
 * advances by n, so the caller's offsets stay those of the log.
 */
int ls_tlog_feed(struct ls_tlog *t, const void *bytes, size_t n);

/* The latest translation of block record key (pc, ninsns), or NULL. */
const struct ls_tb *ls_tlog_find(const struct ls_tlog *t, uint64_t pc, uint32_t ninsns);

/*
 * The instruction addresses of block record `word` (ls_rec_make): returns
 * the block's instruction count and writes the first min(count, max) of
 * them to addrs; 0 when the log has no translation of it (the caller says
 * "instructions unknown").
 */
size_t ls_tlog_expand(const struct ls_tlog *t, uint64_t word, uint64_t *addrs, size_t max);

/*
 * QEMU 7.2's x86 translator backs an instruction that would cross into the
 * next page out of a block it already started, but the plugin API still
 * lists it, with the bytes decoded so far: the block's last instruction then
 * runs again as the first of the next block.  True when tb's last
 * instruction is such a phantom: more than one instruction, the last starts
 * less than 15 bytes (the longest x86 instruction) before a page end, and
 * the next block starts at it.
 */
bool ls_tlog_phantom(const struct ls_tb *tb, uint64_t next_pc);

/* An instruction in one side's block records. */
struct ls_insn_pos {
	size_t block; /* index in that side's words */
	uint32_t insn; /* index of the instruction in that block */
	uint64_t addr;
};

enum ls_insn_div_result {
	LS_INSN_DIFFER = 0, /* out->first and out->common say where */
	LS_INSN_SAME = 1, /* no difference in the out->index instructions both streams hold */
	LS_INSN_UNKNOWN = 2, /* out->unknown_*: a block neither log has, before any difference */
};

struct ls_insn_div {
	/*
	 * DIFFER: index of the first differing instruction (counted from the
	 * first instruction of wa[0] / wb[0]).  SAME: instructions compared.
	 * UNKNOWN: instructions found equal before the unknown block.
	 */
	uint64_t index;
	struct ls_insn_pos first[2]; /* DIFFER: each side's first differing instruction */
	bool have_common; /* DIFFER: false when the very first instructions differ */
	struct ls_insn_pos common[2]; /* DIFFER: each side's last instruction in common (same addr) */
	uint64_t ninsns[2]; /* SAME: each side's instructions in all; otherwise those walked so far */
	int unknown_side; /* UNKNOWN: 0 (A) or 1 (B) */
	size_t unknown_block; /* UNKNOWN: its index in that side's words */
	uint64_t unknown_word;
	/* Blocks one side's log lacked, expanded with the other's translation of the same key. */
	unsigned borrowed[2];
};

/*
 * Expand both sides' block records (wa[na], wb[nb], each starting at the
 * same instruction, e.g. the last block both sides agree on, through and
 * past the divergent block) into instruction streams and find the first
 * instruction whose address differs.  Blocks may be split differently on
 * the two sides (one QEMU with -one-insn-per-tb): only the instruction
 * streams count, and back-to-back executions of one instruction count once
 * (QEMU runs each rep-string iteration as its own block except with
 * -singlestep), so index counts them once.  A record a side's log does not know is looked up in the
 * other side's log (the same guest code at the same address; counted in
 * borrowed) before the walk gives up with LS_INSN_UNKNOWN.
 */
int ls_first_insn_divergence(const struct ls_tlog *ta, const struct ls_tlog *tb, const uint64_t *wa, size_t na,
			     const uint64_t *wb, size_t nb, struct ls_insn_div *out);

#endif
