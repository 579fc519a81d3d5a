/* SPDX-License-Identifier: MIT */
/*
 * report.h - the human-readable divergence report and end-of-run summary.
 * Pure formatting from plain structs, so tests check the exact text.
 */
#ifndef LOCKSTEP_REPORT_H
#define LOCKSTEP_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "history.h"

struct ls_side_desc {
	char label; /* 'A' or 'B' */
	pid_t pid;
	const char *exe; /* the QEMU binary */
	const char *cmdline; /* as in /proc/PID/cmdline, spaces between arguments */
	const char *guest; /* the guest program, as QEMU was given it */
	const char *plugin_version;
};

/* One live-summary sample: totals now, rates over the last interval. */
struct ls_live {
	double elapsed_s;
	uint64_t blocks[2]; /* published so far */
	double rate[2]; /* blocks/s over the last interval */
	uint64_t compared_blocks, compared_insns;
	double compared_rate; /* blocks/s */
	int64_t lag; /* blocks A has published minus B's */
	unsigned divergences;
	uint64_t uncompared; /* both sides, every reason */
	uint64_t lost; /* ring-buffer drops and unreadable publications */
	bool ended[2];
};

#define LS_SYM_LEN 72
#define LS_DIS_LEN 80

/* One guest instruction as a report shows it. */
struct ls_insn_line {
	uint64_t addr;
	char sym[LS_SYM_LEN]; /* "main+0x1c", or why there is none */
	char text[LS_DIS_LEN]; /* "jne 0x401190", or its bytes when it cannot be disassembled */
	bool mark; /* the first divergent instruction of its side */
};

typedef char ls_sym_pair[2][LS_SYM_LEN];

/* A syscall whose results differed on the two sides before a divergence. */
struct ls_cause_syscall {
	bool have;
	const char *name; /* NULL: the table does not know the number */
	int64_t num;
	uint64_t index, block; /* log index (A's numbering), and the block it was made at on A */
	uint64_t count; /* calls of this syscall whose results differed (index is the last) */
	bool pid; /* its value is a process or thread id: it differs in any two runs */
	const char *state[2]; /* "returned", "entered", "out_unreadable" */
	int64_t ret[2];
	uint32_t out_len[2];
	const char *out_hex[2]; /* the first bytes written, as hex */
};

struct ls_divergence {
	uint32_t vcpu;
	bool found; /* the exact block was located in both rings */
	const char *unit; /* "block", or "instruction" with --insn (NULL: block) */
	uint64_t seq; /* first divergent block (instruction) of A */
	uint64_t seq_b; /* B's: not seq once the streams were re-aligned after an earlier region */
	uint64_t block[2]; /* each side's block holding it (with --insn) */
	uint64_t range_lo, range_hi; /* where the digests said the difference lies */
	uint64_t pc[2];
	uint32_t ninsns[2];
	uint64_t cum[2];
	const struct ls_hist_row *rows;
	size_t nrows;
	const char *problem; /* why !found */
	/* What the monitor could add; empty or NULL where it could not. */
	const char *headline; /* what differed, in words */
	char sym[2][LS_SYM_LEN]; /* pc[i] as symbol+offset */
	const ls_sym_pair *row_sym; /* [nrows]: the history rows' pcs */
	bool insn_found; /* the first divergent instruction is known */
	bool have_common;
	struct ls_insn_line common; /* the last instruction both sides ran (usually the branch) */
	struct ls_insn_line first[2]; /* each side's first instruction that differs */
	uint64_t insn_index; /* its number: instructions executed before it on both sides */
	const char *insn_problem; /* why !insn_found */
	const struct ls_insn_line *dis[2]; /* the divergent blocks, disassembled */
	size_t ndis[2];
	const char *dis_problem;
	const char *cause_key; /* "inputs_differed", "same_inputs", "thread_interleaving", "earlier_region", "blocks_cut_differently", "unknown" (JSON) */
	/* The most recent candidate syscall, when inputs differed (JSON cause.syscall). */
	struct ls_cause_syscall culprit;
	/*
	 * Every candidate (JSON cause.candidates), most recent first: the
	 * syscalls whose results differed (one per syscall), and thread
	 * interleaving when `interleaving` says why (NULL: not a candidate);
	 * interleaving_likely puts it first.
	 */
	const struct ls_cause_syscall *candidates;
	size_t ncandidates;
	const char *interleaving;
	bool interleaving_likely;
	/* An asynchronous signal, when `signal` says why (NULL: not a candidate). */
	const char *signal;
	bool signal_likely;
	/* Signal and interleaving go first: likely, or every syscall candidate is a pid. */
	bool specific_first;
	const char *started_differently; /* what the guests were given differently at start, or NULL */
	const char *qemu_options; /* QEMU options that differ, or NULL */
	const char *cause; /* one line */
	const char *syscalls; /* both sides' last syscalls side by side, preformatted lines */
	const char *caveat;
	const char *next_step; /* preformatted lines */
};

struct ls_side_summary {
	uint64_t published_end; /* blocks this side had published */
	uint64_t early; /* not compared: before the comparison started */
	uint64_t late; /* not compared: after the stop or past the partner's end */
	uint64_t pending; /* not compared: published, the partner never matched them */
	uint64_t apart; /* in divergent regions (the other side ran something else meanwhile) */
	uint64_t gave_up; /* not compared: the sides did not come back together within --window */
	uint64_t stopped; /* not compared: the user-space comparison stopped (unreadable or recycled ring, a QEMU gone) */
	uint64_t overruns; /* of late: the side ran past the comparison window */
	/* --insn: listed instructions not in the compared stream (follow.h says why) */
	uint64_t insn_repeats, insn_phantoms;
	bool ended;
	const char *end_how; /* "exited", "still running", ... */
};

/* --forward-inputs: what B took from A (plugin/fwd.h), as the summary and JSON show it. */
struct ls_fwd_summary {
	const char *problem; /* why nothing could be forwarded, or NULL */
	uint64_t forwarded, bytes;
	const char *by_syscall; /* "clock_gettime 226, getrandom 2" ("" when none) */
	const char *by_syscall_json; /* the same as a JSON object's members: "\"clock_gettime\":226,..." */
	uint64_t ret_differs; /* not forwarded: return values that differed (plugin API 1 sets no register) */
	const char *ret_by_syscall, *ret_by_syscall_json;
	uint64_t one_failed, too_long, unwritable, after_stop, checked;
	uint64_t no_lane; /* not forwarded: threads beyond the channel's vCPU lanes */
	uint64_t waits;
	double wait_ms, max_wait_ms, ns_each; /* B's waits for A; B's cost a forwarded syscall besides waiting */
	const char *auxv; /* how AT_RANDOM stands: "the same on both sides (-seed 123)" or why not */
	bool auxv_same;
	const char *mismatch; /* the syscalls that could not be paired (a divergence), or NULL */
	const char *stopped; /* vCPUs where forwarding stopped for another reason, or NULL */
};

struct ls_summary {
	double elapsed_s;
	bool started;
	uint64_t start_seq;
	uint64_t compared_blocks, compared_insns;
	unsigned divergences; /* divergent regions */
	unsigned regions_open; /* of those, still apart when the run ended */
	unsigned gave_up_vcpus; /* vCPUs whose comparison ended in a region that never closed */
	unsigned stopped_vcpus; /* vCPUs whose user-space comparison stopped for another reason (a notice says which) */
	bool insn_mode; /* --insn: compared_insns is what counts */
	unsigned vcpus;
	struct ls_side_summary side[2];
	uint64_t ringbuf_lost, bad_batches;
	const char *late_why; /* what the `late` blocks were left out for */
	const struct ls_fwd_summary *fwd; /* --forward-inputs, or NULL */
};

void ls_print_header(FILE *f, const struct ls_side_desc sides[2]);
/* Non-terminal live summary: a column header, then one line per interval. */
void ls_print_live_header(FILE *f);
void ls_print_live_line(FILE *f, const struct ls_live *l);
/* Terminal live summary: a block of `LS_LIVE_VIEW_LINES` lines redrawn in place. */
#define LS_LIVE_VIEW_LINES 6
void ls_print_live_view(FILE *f, const struct ls_side_desc sides[2], const struct ls_live *l, bool redraw);
/* 1234567 -> "1.23M"; for the live view. */
const char *ls_si(char *buf, size_t len, double v);
void ls_print_divergence(FILE *f, const struct ls_side_desc sides[2], const struct ls_divergence *d);
void ls_print_summary(FILE *f, const struct ls_side_desc sides[2], const struct ls_summary *s);
/* The --forward-inputs lines of the summary. */
void ls_print_fwd_summary(FILE *f, const struct ls_fwd_summary *w);

#endif
