/* SPDX-License-Identifier: MIT */
/*
 * syscmp.h - classifying a divergence by the syscalls both sides made
 * before it (linux-user).  Pure logic on records copied out of each side's
 * per-vCPU syscall log (struct ls_sys_rec, lockstep_wire.h).
 *
 * Before the divergent block d both sides ran the same blocks, so they made
 * the same syscalls at the same blocks: log index k on A pairs with log
 * index k on B.  Every pair whose results differ (return value, the data it
 * wrote, or whether it returned at all) with the same arguments is an input
 * the guest saw differently, and a candidate cause: "inputs differed".  No
 * input is ruled out for differing in every run (glibc's start-up
 * getrandom is harmless, Python's hash seed is not); when several differed,
 * the report lists them all, most recent first, and says the data does not
 * tell which.  A guest with several threads adds thread interleaving as a
 * candidate, which no syscall log records; so does an asynchronous signal
 * when the control flow says a side was interrupted (struct
 * ls_syscmp_signals).  If every pair returned the same
 * on a single-threaded guest, the sides computed differently from the same
 * inputs: "same inputs", suspect code generation -- as far as syscalls are
 * the inputs (see caveat).
 */
#ifndef LOCKSTEP_SYSCMP_H
#define LOCKSTEP_SYSCMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lockstep_wire.h"
#include "succ.h"
#include "systab.h"

enum ls_cause {
	LS_CAUSE_UNKNOWN = 0, /* no syscall log to judge by (see headline) */
	LS_CAUSE_INPUTS, /* a syscall returned something else on the two sides */
	LS_CAUSE_SAME_INPUTS, /* every recorded syscall before the divergence returned the same */
	LS_CAUSE_INTERLEAVING, /* every syscall of this thread returned the same, but the guest ran several */
	LS_CAUSE_SIGNAL, /* every syscall returned the same, and a signal interrupted one side (or may have) */
};

/* What differs in a pair of records (a bit mask). */
enum ls_sys_diff {
	LS_SYSDIFF_RET = 1u << 0, /* return value */
	LS_SYSDIFF_OUT = 1u << 1, /* the data it wrote: out_len or out_hash */
	LS_SYSDIFF_STATE = 1u << 2, /* returned on one side only, or its output unreadable on one side only */
	LS_SYSDIFF_NUM = 1u << 3, /* another syscall at the same point */
	LS_SYSDIFF_ARGS = 1u << 4, /* arguments (as many as the syscall has, else the first 3) */
	LS_SYSDIFF_SEQ = 1u << 5, /* made at another block: the logs do not line up */
};
#define LS_SYSDIFF_RESULT (LS_SYSDIFF_RET | LS_SYSDIFF_OUT | LS_SYSDIFF_STATE)

/* One side's syscall records, as copied from its vCPU's log. */
struct ls_sys_log {
	const struct ls_sys_rec *recs; /* in log order */
	size_t n;
	uint64_t first_index; /* log index of recs[0]; the ones before it were overwritten (ring wrapped) */
	bool enabled; /* the plugin logs syscalls (LS_INFO_SYSCALLS and a non-zero sys_addr) */
	const char *problem; /* not enabled because the log could not be read or trusted: why (static) */
};

/*
 * Which syscalls to pair: side i's made from block from_seq[i] (where the
 * two runs were last known in step: 0, or where they came back together
 * after an earlier divergent region) through its divergent block
 * div_seq[i].  Paired k-th with k-th; strictly, each pair must also have
 * been made the same number of blocks after from_seq, unless by_order (the
 * sides cut blocks differently, --insn): then a pair of different syscalls
 * ends the pairing instead.
 */
/*
 * What the monitor knows of the guest's other threads, for the
 * interleaving rule: a guest with several threads that diverges in
 * synchronisation code (by symbol or atomic instruction), right after a
 * futex that returned differently, or while another thread's pair has
 * parted already, names thread interleaving as a likely candidate; any
 * other divergence of a multi-threaded guest names it as possible.
 */
struct ls_syscmp_threads {
	unsigned n; /* threads (vCPU streams) the guest started; 0 or 1: one */
	const char *syms[6]; /* symbols at the divergence ("pthread_cond_signal+0x2c"), NULL or "" unused */
	const char *const *insns; /* the divergent blocks' instructions, as disassembled ("lock cmpxchg ...") */
	size_t ninsns;
	bool partner_apart; /* another thread's pair of QEMUs had already parted */
	int partner; /* which vCPU, when partner_apart */
};

/*
 * What the monitor knows of the control flow at the divergence, for the
 * signal rule.  A side whose divergent block is no possible successor of
 * the last block both ran (succ.h) was interrupted: an asynchronous signal
 * (delivered where the host's timing put it, so at different blocks in two
 * runs) -- likely when the syscall logs show the guest set signal actions
 * (rt_sigaction with a new action), armed a timer (setitimer, alarm,
 * timer_settime), sent signals (kill, tgkill...) or returned from handlers
 * (rt_sigreturn).  A divergent block at a function's first instruction
 * that no call reached is a handler's entry.  The handler's address itself
 * is not known: rt_sigaction's new action is input the log does not keep
 * (it records what a syscall writes, the old action), and the guest memory
 * it pointed to (glibc's copy on the stack) is long reused by then; only
 * a later rt_sigaction that asked for the old action shows it.
 */
struct ls_syscmp_signals {
	enum ls_succ next[2]; /* side i's divergent block as a successor of its last common block */
	bool syscall_next[2]; /* LS_SUCC_SYSCALL: the divergent block is where that syscall returns to */
	const char *succ_why[2]; /* succ.h's explanation, or NULL */
	const char *sym[2]; /* symbols at the divergent pcs ("on_alarm", "step+0x1b"), NULL or "" unknown */
	uint64_t pc[2]; /* the divergent pcs: a handler's address when an rt_sigaction reported it as the old action */
	uint64_t last_block[2]; /* each side's last common block */
};

/*
 * A pair forwarded from A to B (--forward-inputs) returned the same by
 * construction: it is no candidate, whatever its record says.  NULL: none.
 */
typedef bool ls_syscmp_forwarded_fn(const struct ls_sys_rec *a, const struct ls_sys_rec *b, void *ctx);

struct ls_syscmp_span {
	uint64_t from_seq[2];
	uint64_t div_seq[2];
	bool by_order;
	const struct ls_syscmp_threads *threads; /* NULL: one thread */
	const struct ls_syscmp_signals *signals; /* NULL: the control flow is not known */
	ls_syscmp_forwarded_fn *forwarded;
	void *forwarded_ctx;
};

/*
 * One candidate input: a syscall whose results differed before the
 * divergence, with its most recent differing pair (one per syscall number,
 * so a clock read a thousand times does not push out a getrandom made once).
 */
struct ls_sys_cand {
	int64_t num;
	uint64_t index; /* A's log index of the most recent pair of this syscall whose results differed */
	unsigned diff; /* that pair's LS_SYSDIFF_* */
	uint64_t count; /* pairs of this syscall whose results differed */
	uint64_t first; /* log index of the first of them */
};

#define LS_SYSCMP_MAX_CANDS 12
#define LS_SYSCMP_SYM_MAX 128 /* of a symbol name ls_sync_symbol looks at */

struct ls_syscmp {
	enum ls_cause cause;
	enum ls_arch arch;
	uint64_t div_seq; /* the divergent block (A's) */
	uint64_t div_seq_b; /* B's */
	uint64_t from_seq[2];
	bool by_order;
	int64_t shift; /* B's log index of the record paired with A's record k: k + shift */
	struct ls_sys_log log[2]; /* the input (the records are not copied: keep them for ls_syscmp_table) */
	size_t before[2]; /* of each side's records, those made before block div_seq (seq <= div_seq) */
	uint64_t from, to; /* A's log indices compared pairwise: [from, to) */
	uint64_t lost; /* syscalls before `from` not compared: no longer in a side's log */
	uint64_t extra[2]; /* syscalls before the divergence in one side's log beyond the other's */
	bool misaligned; /* the logs stop lining up at index `to` (another block) */
	uint64_t pending; /* pairs compared that had not returned on either side */
	/* Candidates, most recent first (cand[0] is the culprit below). */
	struct ls_sys_cand cand[LS_SYSCMP_MAX_CANDS];
	size_t ncand;
	uint64_t cand_dropped; /* further syscalls whose results differed, earlier than every one kept */
	uint64_t differing; /* pairs whose results differed with the same arguments, all syscalls */
	uint64_t consequences; /* pairs whose results differed after their arguments had: not counted as inputs */
	uint64_t forwarded; /* pairs B was given A's results for: the same by construction, no candidates */
	uint64_t threads_made; /* clone calls of this thread before the divergence that started a thread (on A) */
	bool interleaving; /* thread interleaving is a candidate (several threads) */
	bool interleaving_likely; /* and the divergence is in synchronisation code, or follows a futex or a partner */
	char interleaving_why[200]; /* "the divergence is in pthread_cond_signal+0x2c, 3 threads ran" */
	bool signal; /* an asynchronous signal is a candidate */
	bool signal_likely; /* and the control flow or a handler's entry says one interrupted a side */
	int interrupted; /* the side it interrupted (0 A, 1 B), -1 not known */
	char signal_why[640]; /* "A was interrupted after block 79736 (...); the guest armed a timer with setitimer #15" */
	bool specific_first; /* signal and interleaving lead the candidates (likely, or every syscall candidate a pid) */
	bool have_culprit; /* INPUTS: */
	uint64_t culprit; /* log index of the most recent pair whose results differ */
	unsigned culprit_diff; /* its LS_SYSDIFF_* */
	bool have_args; /* the first pair with differing arguments (or number) but the same results */
	uint64_t args_index;
	unsigned args_diff; /* its LS_SYSDIFF_*; args_mask: which arguments */
	unsigned args_mask;
	/* Text: one line each, no newline; "" when there is nothing to say. */
	char headline[1024]; /* "inputs differed: clock_gettime #3 at block 1234 returned different data" */
	char detail[320]; /* INPUTS, one candidate: what differed, both sides */
	char candidates[2400]; /* several candidates: one line each, "\n"-separated, what each returned */
	char args_note[320]; /* "arguments differed first at ..." */
	char coverage[480]; /* what the classification does not cover: lost, extra, misaligned, pending */
	const char *caveat; /* what no syscall log records (static; print it with SAME_INPUTS) */
};

/*
 * Classify the divergence at block div_seq from each side's records
 * log[0] (A) and log[1] (B).  Fills *r (it refers to log[i].recs) and
 * returns r->cause.
 */
enum ls_cause ls_syscmp_classify(struct ls_syscmp *r, enum ls_arch arch, const struct ls_sys_log log[2],
				 uint64_t div_seq);

/* The same over a span (ls_syscmp_classify is the span {0, 0} to {div_seq, div_seq}, strict). */
enum ls_cause ls_syscmp_classify_span(struct ls_syscmp *r, enum ls_arch arch, const struct ls_sys_log log[2],
				      const struct ls_syscmp_span *span);

/*
 * The last `last` syscalls before the divergence, both sides side by side,
 * at most 100 columns a line:
 *
 *   syscall block  A                                    | B
 * > #3      1234   clock_gettime(1, 0x7ffe1230) = 0     | clock_gettime(1, 0x7ffe1230) = 0
 *                  -> 16 bytes 1712345678.000000100     | -> 16 bytes 1712345678.000000200
 *
 * '>' marks each candidate (the last differing call of its syscall), '!'
 * another pair that differs; a second line
 * shows the data written where it differs.  Writes at most size bytes
 * (NUL included) to buf and returns the length of the whole text, like
 * snprintf.
 */
size_t ls_syscmp_table(const struct ls_syscmp *r, unsigned last, char *buf, size_t size);
void ls_syscmp_fprint_table(FILE *f, const struct ls_syscmp *r, unsigned last);

/* The classification as JSON-ready fields (for user/json.c). */
struct ls_syscmp_fields {
	const char *cause; /* "inputs_differed", "same_inputs", "thread_interleaving", "asynchronous_signal", "unknown" */
	const char *headline;
	bool have_syscall; /* INPUTS: the fields below describe the culprit pair (or candidate k) */
	uint64_t count; /* pairs of this syscall whose results differed */
	const char *syscall; /* its name; NULL when the table does not know num */
	int64_t num;
	uint64_t index; /* log index */
	uint64_t seq; /* block */
	const char *a_state, *b_state; /* "returned", "entered" (no return), "out_unreadable" */
	int64_t a_ret, b_ret; /* meaningful unless *_state is "entered" */
	uint32_t a_out_len, b_out_len;
	char a_out_hex[2 * sizeof(((struct ls_sys_rec *)0)->out_head) + 1]; /* the first bytes written, "" if none */
	char b_out_hex[2 * sizeof(((struct ls_sys_rec *)0)->out_head) + 1];
};

void ls_syscmp_fields(const struct ls_syscmp *r, struct ls_syscmp_fields *f);
/* The same for candidate k (< r->ncand). */
void ls_syscmp_cand_fields(const struct ls_syscmp *r, size_t k, struct ls_syscmp_fields *f);

/* A symbol ("__lll_lock_wait+0x1c") in synchronisation code: futex, mutex, condition variable, semaphore... */
bool ls_sync_symbol(const char *sym);
/* A disassembled instruction that is atomic read-modify-write ("lock cmpxchg", "ldaxr", "cas"...). */
bool ls_atomic_insn(const char *text);

/* A syscall whose result is a process or thread id: it differs between any two runs by construction. */
bool ls_pid_syscall(const char *name);

/* "inputs_differed", "same_inputs", "thread_interleaving", "asynchronous_signal", "unknown". */
const char *ls_cause_name(enum ls_cause c);

#endif
