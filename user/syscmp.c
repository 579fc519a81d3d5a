/* SPDX-License-Identifier: MIT */
/* syscmp.c - divergence cause from the two sides' syscall logs, and their side-by-side table. */
#include "syscmp.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#define TABLE_COLS 100
#define OUT_HEAD ((uint32_t)sizeof(((struct ls_sys_rec *)0)->out_head))

static const char caveat[] = "not recorded as inputs here: rdtsc, rdrand and cpuid results, AT_RANDOM and the "
			     "auxv, signals, shared memory, other threads; arguments, environment and working "
			     "directory were compared, as each QEMU process holds them (after any wrapper's exec)";
static const char caveat_cands[] = "the candidates are the inputs recorded here; not recorded: rdtsc, rdrand and cpuid "
				   "results, AT_RANDOM and the auxv, signals, shared memory";

static const char caveat_signal[] = "no log records where a signal was delivered: it is inferred from where control went "
				    "and from the syscalls that set signals up; not recorded as inputs here: rdtsc, "
				    "rdrand and cpuid results, AT_RANDOM and the auxv, shared memory";

/*
 * How many arguments a syscall takes, by name (the same on every arch), so
 * unused argument registers (whatever the guest left there) are neither
 * compared nor printed.  A syscall not listed: the first 3.
 */
static const struct {
	const char *name;
	unsigned char n;
} arities[] = {
	{ "read", 3 }, { "write", 3 }, { "open", 3 }, { "close", 1 }, { "stat", 2 }, { "fstat", 2 },
	{ "lstat", 2 }, { "poll", 3 }, { "lseek", 3 }, { "mmap", 6 }, { "mprotect", 3 }, { "munmap", 2 },
	{ "brk", 1 }, { "rt_sigaction", 4 }, { "rt_sigprocmask", 4 }, { "rt_sigreturn", 0 }, { "ioctl", 3 },
	{ "pread64", 4 }, { "pwrite64", 4 }, { "readv", 3 }, { "writev", 3 }, { "access", 2 }, { "pipe", 1 },
	{ "select", 5 }, { "sched_yield", 0 }, { "mremap", 5 }, { "msync", 3 }, { "mincore", 3 },
	{ "madvise", 3 }, { "dup", 1 }, { "dup2", 2 }, { "pause", 0 }, { "nanosleep", 2 }, { "getitimer", 2 },
	{ "alarm", 1 }, { "setitimer", 3 }, { "getpid", 0 }, { "sendfile", 4 }, { "socket", 3 }, { "connect", 3 },
	{ "accept", 3 }, { "sendto", 6 }, { "recvfrom", 6 }, { "sendmsg", 3 }, { "recvmsg", 3 },
	{ "shutdown", 2 }, { "bind", 3 }, { "listen", 2 }, { "getsockname", 3 }, { "getpeername", 3 },
	{ "socketpair", 4 }, { "setsockopt", 5 }, { "getsockopt", 5 }, { "clone", 5 }, { "fork", 0 },
	{ "vfork", 0 }, { "execve", 3 }, { "exit", 1 }, { "wait4", 4 }, { "kill", 2 }, { "uname", 1 },
	{ "fcntl", 3 }, { "flock", 2 }, { "fsync", 1 }, { "fdatasync", 1 }, { "truncate", 2 },
	{ "ftruncate", 2 }, { "getdents", 3 }, { "getcwd", 2 }, { "chdir", 1 }, { "fchdir", 1 }, { "rename", 2 },
	{ "mkdir", 2 }, { "rmdir", 1 }, { "creat", 2 }, { "link", 2 }, { "unlink", 1 }, { "symlink", 2 },
	{ "readlink", 3 }, { "chmod", 2 }, { "fchmod", 2 }, { "chown", 3 }, { "fchown", 3 }, { "umask", 1 },
	{ "gettimeofday", 2 }, { "getrlimit", 2 }, { "getrusage", 2 }, { "sysinfo", 1 }, { "times", 1 },
	{ "getuid", 0 }, { "getgid", 0 }, { "setuid", 1 }, { "setgid", 1 }, { "geteuid", 0 }, { "getegid", 0 },
	{ "setpgid", 2 }, { "getppid", 0 }, { "getpgrp", 0 }, { "setsid", 0 }, { "getpgid", 1 }, { "getsid", 1 },
	{ "sigaltstack", 2 }, { "statfs", 2 }, { "fstatfs", 2 }, { "prctl", 5 }, { "arch_prctl", 2 },
	{ "setrlimit", 2 }, { "sync", 0 }, { "gettid", 0 }, { "time", 1 }, { "futex", 6 },
	{ "sched_setaffinity", 3 }, { "sched_getaffinity", 3 }, { "getdents64", 3 }, { "set_tid_address", 1 },
	{ "fadvise64", 4 }, { "clock_settime", 2 }, { "clock_gettime", 2 }, { "clock_getres", 2 },
	{ "clock_nanosleep", 4 }, { "exit_group", 1 }, { "epoll_wait", 4 }, { "epoll_ctl", 4 }, { "tgkill", 3 },
	{ "openat", 4 }, { "mkdirat", 3 }, { "newfstatat", 4 }, { "fstatat", 4 }, { "unlinkat", 3 },
	{ "renameat", 4 }, { "readlinkat", 4 }, { "fchmodat", 3 }, { "faccessat", 3 }, { "pselect6", 6 },
	{ "ppoll", 5 }, { "set_robust_list", 2 }, { "get_robust_list", 3 }, { "epoll_pwait", 6 },
	{ "eventfd2", 2 }, { "epoll_create1", 1 }, { "dup3", 3 }, { "pipe2", 2 }, { "prlimit64", 4 },
	{ "sched_getattr", 4 }, { "renameat2", 5 }, { "getrandom", 3 }, { "memfd_create", 2 }, { "membarrier", 3 },
	{ "statx", 5 }, { "rseq", 4 }, { "clone3", 2 }, { "close_range", 3 }, { "faccessat2", 4 },
	{ "getcpu", 3 }, { "sched_getparam", 2 }, { "sched_getscheduler", 1 },
	{ "rt_sigtimedwait", 4 }, { "rt_sigsuspend", 2 }, { "rt_sigpending", 2 }, { "tkill", 2 },
};

static unsigned nargs_of(const char *name)
{
	if (name)
		for (size_t i = 0; i < sizeof(arities) / sizeof(arities[0]); i++)
			if (!strcmp(arities[i].name, name))
				return arities[i].n;
	return 3;
}

/* The syscall's name, or "syscall_N" in buf. */
static const char *name_of(enum ls_arch arch, int64_t num, char *buf, size_t size)
{
	const char *n = ls_sys_name(arch, num);

	if (n)
		return n;
	snprintf(buf, size, "syscall_%" PRId64, num);
	return buf;
}

static bool completed(const struct ls_sys_rec *r)
{
	return r->state == LS_SYS_RETURNED || r->state == LS_SYS_OUT_UNREADABLE;
}

/* LS_SYSDIFF_* of a pair; which arguments differ in *mask. */
static unsigned pair_diff(const struct ls_syscmp *r, const struct ls_sys_rec *a, const struct ls_sys_rec *b,
			  unsigned *mask)
{
	enum ls_arch arch = r->arch;
	unsigned d = 0, m = 0;

	/* Made at the same block since the span's start; by order, only the order counts. */
	if (!r->by_order && a->seq - r->from_seq[0] != b->seq - r->from_seq[1])
		d |= LS_SYSDIFF_SEQ;
	if (a->num != b->num) {
		d |= LS_SYSDIFF_NUM;
	} else {
		unsigned n = nargs_of(ls_sys_name(arch, a->num));

		for (unsigned i = 0; i < n; i++)
			if (a->args[i] != b->args[i])
				m |= 1u << i;
		if (m)
			d |= LS_SYSDIFF_ARGS;
	}
	if (a->state != b->state)
		d |= LS_SYSDIFF_STATE;
	if (completed(a) && completed(b) && a->ret != b->ret)
		d |= LS_SYSDIFF_RET;
	if (a->state == LS_SYS_RETURNED && b->state == LS_SYS_RETURNED &&
	    (a->out_len != b->out_len || a->out_hash != b->out_hash))
		d |= LS_SYSDIFF_OUT;
	if (mask)
		*mask = m;
	return d;
}

/* ---- value formatting ---- */

/* Small numbers in decimal (fds, flags, sizes, AT_FDCWD), the rest (pointers) in hex. */
static void fmt_arg(char *buf, size_t size, uint64_t v)
{
	int64_t s = (int64_t)v;

	if (s > -4096 && s < 65536)
		snprintf(buf, size, "%" PRId64, s);
	else
		snprintf(buf, size, "0x%" PRIx64, v);
}

static void fmt_ret(char *buf, size_t size, int64_t ret)
{
	const char *e = ret < 0 && ret > -4096 ? strerrorname_np((int)-ret) : NULL;

	if (e)
		snprintf(buf, size, "-%s", e);
	else if (ret >= -4096 && ret < 0x100000)
		snprintf(buf, size, "%" PRId64, ret);
	else
		snprintf(buf, size, "0x%" PRIx64, (uint64_t)ret);
}

static int64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return (int64_t)v;
}

static void hex(char *buf, size_t size, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t k = 0;

	for (size_t i = 0; i < n && k + 2 < size; i++) {
		buf[k++] = digits[p[i] >> 4];
		buf[k++] = digits[p[i] & 15];
	}
	if (size)
		buf[k < size ? k : size - 1] = '\0';
}

/*
 * What a record's syscall wrote: "16 bytes 1712345678.000000100" for the
 * structures this knows (timespec, timeval, time_t), else "17 bytes " and
 * the first of them in hex (at most maxhex, then "...").
 */
static void fmt_out(char *buf, size_t size, const char *name, const struct ls_sys_rec *r, size_t maxhex)
{
	uint32_t head = r->out_len < OUT_HEAD ? r->out_len : OUT_HEAD;

	if (r->state == LS_SYS_ENTERED) {
		snprintf(buf, size, "no return");
		return;
	}
	if (r->state == LS_SYS_OUT_UNREADABLE) {
		snprintf(buf, size, "output unreadable");
		return;
	}
	if (r->state != LS_SYS_RETURNED) {
		snprintf(buf, size, "state %u", r->state);
		return;
	}
	if (!r->out_len) {
		snprintf(buf, size, "no data");
		return;
	}
	if (name && head >= 16 && (!strcmp(name, "clock_gettime") || !strcmp(name, "clock_getres"))) {
		snprintf(buf, size, "%" PRIu32 " bytes %" PRId64 ".%09" PRId64, r->out_len, le64(r->out_head),
			 le64(r->out_head + 8));
		return;
	}
	if (name && head >= 16 && !strcmp(name, "gettimeofday")) {
		snprintf(buf, size, "%" PRIu32 " bytes %" PRId64 ".%06" PRId64, r->out_len, le64(r->out_head),
			 le64(r->out_head + 8));
		return;
	}
	if (name && head >= 8 && !strcmp(name, "time")) {
		snprintf(buf, size, "%" PRIu32 " bytes %" PRId64, r->out_len, le64(r->out_head));
		return;
	}

	char h[2 * OUT_HEAD + 1];
	size_t n = head < maxhex ? head : maxhex;

	hex(h, sizeof(h), r->out_head, n);
	snprintf(buf, size, "%" PRIu32 " bytes %s%s", r->out_len, h, r->out_len > n ? "..." : "");
}

/* "clock_gettime(1, 0x7ffe1230) = 0" */
static void fmt_call(char *buf, size_t size, enum ls_arch arch, const struct ls_sys_rec *r)
{
	char nb[32], v[32];
	const char *name = name_of(arch, r->num, nb, sizeof(nb));
	unsigned n = nargs_of(ls_sys_name(arch, r->num));
	size_t k = 0;

#define PUT(...)                                                                                                    \
	do {                                                                                                        \
		int w_ = snprintf(buf + k, size - k, __VA_ARGS__);                                                  \
		k = w_ < 0 ? k : (size_t)w_ >= size - k ? size - 1 : k + (size_t)w_;                                \
	} while (0)
	PUT("%s(", name);
	for (unsigned i = 0; i < n; i++) {
		fmt_arg(v, sizeof(v), r->args[i]);
		PUT("%s%s", i ? ", " : "", v);
	}
	if (r->state == LS_SYS_ENTERED || !completed(r)) {
		PUT(") = ?");
	} else {
		fmt_ret(v, sizeof(v), r->ret);
		PUT(") = %s%s", v, r->state == LS_SYS_OUT_UNREADABLE ? " (output unreadable)" : "");
	}
#undef PUT
}

/* Append "; "-separated text to a fixed buffer. */
static void add(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char *buf, size_t size, const char *fmt, ...)
{
	size_t k = strlen(buf);
	va_list ap;

	if (k && k + 2 < size) {
		memcpy(buf + k, "; ", 3);
		k += 2;
	}
	va_start(ap, fmt);
	vsnprintf(buf + k, size - k, fmt, ap);
	va_end(ap);
}

static const struct ls_sys_rec *rec_at(const struct ls_sys_log *l, uint64_t k)
{
	return k >= l->first_index && k - l->first_index < l->n ? &l->recs[k - l->first_index] : NULL;
}

/* B's record paired with A's record k. */
static const struct ls_sys_rec *rec_b(const struct ls_syscmp *r, uint64_t k)
{
	return rec_at(&r->log[1], k + (uint64_t)r->shift);
}

/* "A's", "B's", "A's and B's": the logs lacking the first `lost` syscalls. */
static const char *lost_where(const struct ls_syscmp *r)
{
	uint64_t a = r->log[0].first_index, b = r->log[1].first_index;

	return a == b ? "A's and B's logs" : a > b ? "A's log" : "B's log";
}

static void describe_culprit(struct ls_syscmp *r, const struct ls_sys_rec *a, const struct ls_sys_rec *b)
{
	char nb[32], nb2[32], va[64], vb[64];
	const char *name = name_of(r->arch, a->num, nb, sizeof(nb));
	const char *sysname = ls_sys_name(r->arch, a->num);
	unsigned d = r->culprit_diff;
	const char *what;

	if ((d & LS_SYSDIFF_STATE) && (a->state == LS_SYS_ENTERED || b->state == LS_SYS_ENTERED))
		what = "returned on one side only";
	else if (d & LS_SYSDIFF_STATE)
		what = "wrote data readable on one side only";
	else if ((d & LS_SYSDIFF_RET) && (d & LS_SYSDIFF_OUT))
		what = "returned different values and data";
	else if (d & LS_SYSDIFF_RET)
		what = "returned different values";
	else
		what = "returned different data";
	if (d & LS_SYSDIFF_NUM) {
		snprintf(r->headline, sizeof(r->headline), "inputs differed: %s/%s #%" PRIu64 " at block %" PRIu64 " %s",
			 name, name_of(r->arch, b->num, nb2, sizeof(nb2)), r->culprit, (uint64_t)a->seq, what);
	} else {
		snprintf(r->headline, sizeof(r->headline), "inputs differed: %s #%" PRIu64 " at block %" PRIu64 " %s",
			 name, r->culprit, (uint64_t)a->seq, what);
	}

	if (d & LS_SYSDIFF_STATE) {
		char sa[96], sb[96];
		const struct ls_sys_rec *s[2] = { a, b };
		char *o[2] = { sa, sb };

		for (int i = 0; i < 2; i++) {
			fmt_ret(va, sizeof(va), s[i]->ret);
			if (s[i]->state == LS_SYS_RETURNED)
				snprintf(o[i], sizeof(sa), "returned %s", va);
			else if (s[i]->state == LS_SYS_OUT_UNREADABLE)
				snprintf(o[i], sizeof(sa), "returned %s, its output unreadable", va);
			else if (s[i]->state == LS_SYS_ENTERED)
				snprintf(o[i], sizeof(sa), "no return recorded");
			else
				snprintf(o[i], sizeof(sa), "record state %u", s[i]->state);
		}
		add(r->detail, sizeof(r->detail), "A %s, B %s", sa, sb);
	}
	if ((d & LS_SYSDIFF_RET) && !(d & LS_SYSDIFF_STATE)) {
		fmt_ret(va, sizeof(va), a->ret);
		fmt_ret(vb, sizeof(vb), b->ret);
		add(r->detail, sizeof(r->detail), "return value: A %s, B %s", va, vb);
	}
	if (d & LS_SYSDIFF_OUT) {
		fmt_out(va, sizeof(va), sysname, a, 16);
		fmt_out(vb, sizeof(vb), d & LS_SYSDIFF_NUM ? ls_sys_name(r->arch, b->num) : sysname, b, 16);
		add(r->detail, sizeof(r->detail), "data written: A %s, B %s", va, vb);
		if (!strcmp(va, vb)) {
			/* Not in what is shown: say where in the kept head, or that it is beyond it. */
			uint32_t ha = a->out_len < OUT_HEAD ? a->out_len : OUT_HEAD;
			uint32_t hb = b->out_len < OUT_HEAD ? b->out_len : OUT_HEAD;
			uint32_t i = 0;

			while (i < ha && i < hb && a->out_head[i] == b->out_head[i])
				i++;
			if (i < ha && i < hb)
				add(r->detail, sizeof(r->detail), "they first differ at byte %" PRIu32, i);
			else
				add(r->detail, sizeof(r->detail), "the first %" PRIu32 " bytes are equal, the rest differs",
				    ha < hb ? ha : hb);
		}
	}
	if (d & LS_SYSDIFF_NUM)
		add(r->detail, sizeof(r->detail), "different syscalls: the data had diverged already");
	else if (d & LS_SYSDIFF_ARGS)
		add(r->detail, sizeof(r->detail), "its arguments differed too: the data had diverged already");
	if (r->ncand && r->cand[0].count > 1)
		add(r->detail, sizeof(r->detail), "%" PRIu64 " of its calls differed, the first #%" PRIu64, r->cand[0].count,
		    r->cand[0].first);
}

static void describe_args(struct ls_syscmp *r, const struct ls_sys_rec *a, const struct ls_sys_rec *b)
{
	char nb[32], nb2[32], va[32], vb[32];
	const char *name = name_of(r->arch, a->num, nb, sizeof(nb));

	if (r->args_diff & LS_SYSDIFF_NUM) {
		snprintf(r->args_note, sizeof(r->args_note),
			 "different syscalls at #%" PRIu64 " (block %" PRIu64 "): A %s, B %s, with the same "
			 "results: the data had diverged before control flow did",
			 r->args_index, (uint64_t)a->seq, name, name_of(r->arch, b->num, nb2, sizeof(nb2)));
		return;
	}
	unsigned i = (unsigned)__builtin_ctz(r->args_mask), more = (unsigned)__builtin_popcount(r->args_mask) - 1;

	fmt_arg(va, sizeof(va), a->args[i]);
	fmt_arg(vb, sizeof(vb), b->args[i]);
	snprintf(r->args_note, sizeof(r->args_note),
		 "arguments differed first at %s #%" PRIu64 " (block %" PRIu64 "): argument %u A %s, B %s%s, "
		 "with the same results: the data had diverged before control flow did",
		 name, r->args_index, (uint64_t)a->seq, i + 1, va, vb, more ? " (and more)" : "");
}

/*
 * A clone that made a thread (CLONE_THREAD, and a child tid returned).
 * clone3 passes its flags in memory the log does not keep: not counted
 * (QEMU 7.2's linux-user does not implement it; glibc falls back to clone).
 */
static bool made_thread(enum ls_arch arch, const struct ls_sys_rec *a)
{
	const char *n = ls_sys_name(arch, a->num);

	return n && !strcmp(n, "clone") && (a->args[0] & 0x10000) && a->state == LS_SYS_RETURNED && a->ret > 0;
}

/* A pair of syscall `num` at log index k returned differently: keep it, most recent first, one per syscall. */
static void add_cand(struct ls_syscmp *r, int64_t num, uint64_t k, unsigned d)
{
	struct ls_sys_cand c = { .num = num, .index = k, .diff = d, .count = 1, .first = k };
	size_t i = 0;

	while (i < r->ncand && r->cand[i].num != num)
		i++;
	if (i < r->ncand) {
		c.count = r->cand[i].count + 1;
		c.first = r->cand[i].first;
	} else if (r->ncand == LS_SYSCMP_MAX_CANDS) {
		r->cand_dropped++; /* the least recent makes room */
		i = r->ncand - 1;
	} else {
		i = r->ncand++;
	}
	memmove(&r->cand[1], &r->cand[0], i * sizeof(r->cand[0]));
	r->cand[0] = c;
}

bool ls_sync_symbol(const char *sym)
{
	static const char *const words[] = {
		"futex",	   "pthread_mutex", "pthread_cond", "pthread_rwlock", "pthread_barrier", "pthread_spin",
		"pthread_once",	   "pthread_join",  "lll_lock",	    "lll_unlock",     "lll_trylock",	 "sem_wait",
		"sem_post",	   "sem_timedwait", "sem_trywait",  "sem_clockwait",  "__new_sem",	 "condvar",
		"atomic",	   "spinlock",	    "mutex_lock",   "mutex_unlock",
	};
	char name[LS_SYSCMP_SYM_MAX];
	size_t n;

	if (!sym || !sym[0] || sym[0] == '(')
		return false;
	n = strcspn(sym, "+ ");
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, sym, n);
	name[n] = '\0';
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(name, words[i]))
			return true;
	return false;
}

bool ls_atomic_insn(const char *text)
{
	/* aarch64 exclusives and LSE atomics, by mnemonic prefix. */
	static const char *const a64[] = { "ldxr", "ldaxr", "stxr", "stlxr", "ldxp", "ldaxp", "stxp", "stlxp",
					   "cas",  "ldadd", "ldset", "ldclr", "ldeor", "swp" };
	char m[16];
	size_t n;

	if (!text)
		return false;
	if (!strncmp(text, "lock ", 5))
		return true;
	n = strcspn(text, " \t");
	if (n >= sizeof(m))
		return false;
	memcpy(m, text, n);
	m[n] = '\0';
	if (!strncmp(m, "cmpxchg", 7) || !strcmp(m, "xadd"))
		return true;
	if (!strcmp(m, "xchg") && strchr(text, '[')) /* with memory: locked implicitly */
		return true;
	for (size_t i = 0; i < sizeof(a64) / sizeof(a64[0]); i++)
		if (!strncmp(m, a64[i], strlen(a64[i])))
			return true;
	return false;
}

/* The interleaving rule (syscmp.h, struct ls_syscmp_threads). */
static void judge_threads(struct ls_syscmp *r, const struct ls_syscmp_threads *t)
{
	char nb[32];

	r->interleaving = true;
	for (size_t i = 0; i < sizeof(t->syms) / sizeof(t->syms[0]); i++)
		if (ls_sync_symbol(t->syms[i])) {
			r->interleaving_likely = true;
			snprintf(r->interleaving_why, sizeof(r->interleaving_why),
				 "the divergence is in synchronisation code (%.72s) of a guest that ran %u threads", t->syms[i],
				 t->n);
			return;
		}
	for (size_t i = 0; t->insns && i < t->ninsns; i++)
		if (ls_atomic_insn(t->insns[i])) {
			r->interleaving_likely = true;
			snprintf(r->interleaving_why, sizeof(r->interleaving_why),
				 "a divergent block holds an atomic instruction (%.48s) and the guest ran %u threads",
				 t->insns[i], t->n);
			return;
		}
	for (size_t i = 0; i < r->ncand; i++) {
		const char *n = ls_sys_name(r->arch, r->cand[i].num);

		if (n && !strcmp(n, "futex")) {
			r->interleaving_likely = true;
			snprintf(r->interleaving_why, sizeof(r->interleaving_why),
				 "%s #%" PRIu64 " returned differently before it (a lock or a wait decided otherwise) and "
				 "the guest ran %u threads",
				 name_of(r->arch, r->cand[i].num, nb, sizeof(nb)), r->cand[i].index, t->n);
			return;
		}
	}
	if (t->partner_apart) {
		r->interleaving_likely = true;
		snprintf(r->interleaving_why, sizeof(r->interleaving_why),
			 "another thread (vCPU %d) had parted already, so it was at a different point on the two sides "
			 "(the guest ran %u threads)",
			 t->partner, t->n);
		return;
	}
	snprintf(r->interleaving_why, sizeof(r->interleaving_why), "the guest ran %u threads", t->n);
}

bool ls_pid_syscall(const char *name)
{
	static const char *const pids[] = { "getpid", "gettid", "getppid", "set_tid_address", "getpgid", "getpgrp", "getsid" };

	for (size_t i = 0; name && i < sizeof(pids) / sizeof(pids[0]); i++)
		if (!strcmp(name, pids[i]))
			return true;
	return false;
}

static bool is_name(enum ls_arch arch, int64_t num, const char *const *names)
{
	const char *n = ls_sys_name(arch, num);

	for (; n && *names; names++)
		if (!strcmp(n, *names))
			return true;
	return false;
}

/* A symbol at a function's first instruction: "on_alarm", "libc.so.6:handler"; not "f+0x4", "(...)", "[heap]". */
static bool function_entry(const char *sym)
{
	return sym && sym[0] && sym[0] != '(' && sym[0] != '[' && !strchr(sym, '+') && !strchr(sym, ' ') &&
	       strcmp(sym, "unmapped");
}

/* "SIGALRM", or "signal 40". */
static void sig_name(char *buf, size_t size, uint64_t sig)
{
	const char *n = sig > 0 && sig < 65 ? sigabbrev_np((int)sig) : NULL;

	if (n)
		snprintf(buf, size, "SIG%s", n);
	else
		snprintf(buf, size, "signal %" PRIu64, sig);
}

/* Up to 3 syscalls of a kind as "rt_sigaction #13 (SIGALRM), #14 (SIGUSR1)", the most recent last; "" when none. */
struct sig_list {
	uint64_t idx[3], arg[3];
	size_t n, total;
};

static void list_add(struct sig_list *l, uint64_t idx, uint64_t arg)
{
	if (l->n == 3) {
		memmove(&l->idx[0], &l->idx[1], 2 * sizeof(l->idx[0]));
		memmove(&l->arg[0], &l->arg[1], 2 * sizeof(l->arg[0]));
		l->n--;
	}
	l->idx[l->n] = idx;
	l->arg[l->n++] = arg;
	l->total++;
}

static void list_fmt(char *buf, size_t size, const struct sig_list *l, bool sigs)
{
	size_t k = 0;

	buf[0] = '\0';
	if (l->total > l->n)
		k += (size_t)snprintf(buf, size, "%zu calls, the last ", l->total);
	for (size_t i = 0; i < l->n && k < size; i++) {
		char sn[24] = "";

		if (sigs)
			sig_name(sn, sizeof(sn), l->arg[i]);
		k += (size_t)snprintf(buf + k, size - k, "%s#%" PRIu64 "%s%s%s", i ? ", " : "", l->idx[i], sigs ? " (" : "", sn,
				      sigs ? ")" : "");
	}
}

/*
 * The signal rule (syscmp.h, struct ls_syscmp_signals).  Runs before the
 * cause is chosen; the evidence is A's log before the divergence (the two
 * agree there) and, for rt_sigreturn, each side's log after it.
 */
static void judge_signals(struct ls_syscmp *r, const struct ls_syscmp_signals *s)
{
	static const char *const acts[] = { "rt_sigaction", "sigaction", NULL };
	static const char *const timers[] = { "setitimer", "alarm", "timer_settime", "timer_create", "timerfd_settime", NULL };
	static const char *const alarm[] = { "alarm", NULL };
	static const char *const sends[] = { "kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
					     "pidfd_send_signal", NULL };
	static const char *const rets[] = { "rt_sigreturn", "sigreturn", NULL };
	static const char *const jumpy[] = { "rt_sigreturn", "sigreturn", "execve", "execveat", "exit", "exit_group", NULL };
	struct sig_list act = { 0 }, timer = { 0 }, sent = { 0 }, ret = { 0 };
	struct {
		uint64_t idx, sig;
		bool found;
	} known[2] = { 0 }; /* side i's divergent pc is a handler an rt_sigaction reported as the old action */
	const struct ls_sys_log *l = &r->log[0];
	const char *timer_name = NULL, *sent_name = NULL;
	enum ls_succ next[2] = { s->next[0], s->next[1] };
	bool entry[2], interrupted[2];
	char nb[32];

	r->interrupted = -1;
	for (size_t j = 0; j < r->before[0]; j++) {
		const struct ls_sys_rec *x = &l->recs[j];
		uint64_t k = l->first_index + j;

		/* The old action it wrote starts with the handler (64-bit targets); 0 and 1 are SIG_DFL, SIG_IGN. */
		if (is_name(r->arch, x->num, acts) && x->args[2] && x->state == LS_SYS_RETURNED && !x->ret &&
		    x->out_len >= 8 && (uint64_t)le64(x->out_head) > 1)
			for (int i = 0; i < 2; i++)
				if ((uint64_t)le64(x->out_head) == s->pc[i]) {
					known[i].found = true;
					known[i].idx = k;
					known[i].sig = x->args[0];
				}
		if (is_name(r->arch, x->num, acts) && x->args[1])
			list_add(&act, k, x->args[0]);
		else if (is_name(r->arch, x->num, timers) && !(is_name(r->arch, x->num, alarm) && !x->args[0])) {
			list_add(&timer, k, 0); /* alarm(0) disarms */
			timer_name = ls_sys_name(r->arch, x->num);
		} else if (is_name(r->arch, x->num, sends)) {
			list_add(&sent, k, 0);
			sent_name = ls_sys_name(r->arch, x->num);
		}
		else if (is_name(r->arch, x->num, rets))
			list_add(&ret, k, 0);
	}
	/* rt_sigreturn after the divergence on one side only (or elsewhere): a handler ran there. */
	int64_t after[2] = { -1, -1 };
	for (int i = 0; i < 2; i++)
		for (size_t j = r->before[i]; j < r->log[i].n && after[i] < 0; j++)
			if (is_name(r->arch, r->log[i].recs[j].num, rets))
				after[i] = (int64_t)(j - r->before[i]);
	bool ret_after = after[0] != after[1];

	/* A syscall at the end of the last common block: where it returns, unless it moves the pc itself. */
	for (int i = 0; i < 2; i++) {
		if (next[i] != LS_SUCC_SYSCALL)
			continue;
		const struct ls_sys_rec *x = r->before[i] ? &r->log[i].recs[r->before[i] - 1] : NULL;
		if (!x || is_name(r->arch, x->num, jumpy))
			next[i] = LS_SUCC_UNKNOWN;
		else
			next[i] = s->syscall_next[i] ? LS_SUCC_YES : LS_SUCC_NO;
	}
	if (next[0] == LS_SUCC_YES && next[1] == LS_SUCC_YES)
		return; /* the guest's own control flow went both ways: the data decided */
	for (int i = 0; i < 2; i++) {
		interrupted[i] = next[i] == LS_SUCC_NO;
		entry[i] = next[i] != LS_SUCC_YES && (function_entry(s->sym[i]) || known[i].found);
	}
	bool cut = interrupted[0] || interrupted[1], entered = entry[0] != entry[1];
	bool armed = timer.total || sent.total || ret_after;
	if (!cut && !(entered && act.total) && !(act.total && armed))
		return;
	r->signal = true;
	r->signal_likely = (cut && (act.total || armed)) || (entered && act.total && armed) ||
			   (entered && (known[0].found || known[1].found));
	r->interrupted = interrupted[0] != interrupted[1] ? (interrupted[1] ? 1 : 0)
			 : entered			   ? (entry[1] ? 1 : 0)
							   : -1;

	size_t k = 0;
#define W(...) (k += k < sizeof(r->signal_why) ? (size_t)snprintf(r->signal_why + k, sizeof(r->signal_why) - k, __VA_ARGS__) : 0)
	int v = r->interrupted;
	if (v >= 0 && interrupted[v]) {
		W("%c was interrupted after block %" PRIu64 " (%s; %c went on at %s%s)", 'A' + v, s->last_block[v],
		  s->succ_why[v] && s->succ_why[v][0] ? s->succ_why[v] : "not a possible successor", 'A' + v,
		  s->sym[v] && s->sym[v][0] ? s->sym[v] : "another block",
		  entry[v] ? ", a function entered without a call: a signal handler" : "");
	} else if (cut) {
		W("both sides were interrupted after block %" PRIu64 " (%s): A went on at %s, B at %s%s", s->last_block[0],
		  s->succ_why[0] && s->succ_why[0][0] ? s->succ_why[0] : "no possible successor",
		  s->sym[0] && s->sym[0][0] ? s->sym[0] : "another block", s->sym[1] && s->sym[1][0] ? s->sym[1] : "another block",
		  entry[0] && entry[1] ? ", functions entered without a call: signal handlers (different signals, or "
					 "one taken first)"
				       : "");
	} else if (v >= 0) {
		W("%c went on at %s, a function's first instruction that no call reached (a signal handler's entry), "
		  "after block %" PRIu64 " (%s)",
		  'A' + v, s->sym[v], s->last_block[v], s->succ_why[v] && s->succ_why[v][0] ? s->succ_why[v] : "its successor unknown");
	} else {
		W("where the last common block goes cannot be told (%s)",
		  s->succ_why[0] && s->succ_why[0][0] ? s->succ_why[0] : "no instruction known");
	}
	for (int i = 0; i < 2; i++)
		if (known[i].found && next[i] != LS_SUCC_YES) {
			char sn[24];

			sig_name(sn, sizeof(sn), known[i].sig);
			W("; 0x%" PRIx64 ", where %c went on, is the %s handler (the old action rt_sigaction #%" PRIu64 " reported)",
			  s->pc[i], 'A' + i, sn, known[i].idx);
		}
	char list[160];
	if (act.total) {
		list_fmt(list, sizeof(list), &act, true);
		W("; the guest set signal actions with rt_sigaction %s", list);
	} else {
		W("; no rt_sigaction is in the log before it%s", r->log[0].first_index ? " (the ring wrapped)" : "");
	}
	if (timer.total) {
		list_fmt(list, sizeof(list), &timer, false);
		W("; it armed a timer with %s %s", timer_name, list);
	}
	if (sent.total) {
		list_fmt(list, sizeof(list), &sent, false);
		W("; it sent signals with %s %s", sent_name, list);
	}
	if (ret.total)
		W("; handlers returned before it (%zu rt_sigreturn)", ret.total);
	for (int i = 0; i < 2 && ret_after; i++)
		if (after[i] >= 0 && (after[i ^ 1] < 0 || after[i] < after[i ^ 1])) {
			W("; %c returned from a handler after it (%s, %zu syscall%s later%s)", 'A' + i,
			  name_of(r->arch, r->log[i].recs[r->before[i] + (size_t)after[i]].num, nb, sizeof(nb)), (size_t)after[i] + 1,
			  after[i] ? "s" : "", after[i ^ 1] < 0 ? (i ? "; A's log has none" : "; B's log has none") : "");
			break;
		}
#undef W
	if (k >= sizeof(r->signal_why))
		memcpy(r->signal_why + sizeof(r->signal_why) - 4, "...", 4);
}

/* What a candidate pair returned on both sides: "returned A 3, B 4; wrote A 16 bytes ..., B ...". */
static void fmt_values(const struct ls_syscmp *r, const struct ls_sys_rec *a, const struct ls_sys_rec *b, unsigned d,
		       char *buf, size_t size)
{
	char va[64], vb[64];

	buf[0] = '\0';
	if (d & LS_SYSDIFF_STATE) {
		const struct ls_sys_rec *s[2] = { a, b };
		char o[2][112];

		for (int i = 0; i < 2; i++) {
			fmt_ret(va, sizeof(va), s[i]->ret);
			if (s[i]->state == LS_SYS_RETURNED)
				snprintf(o[i], sizeof(o[i]), "returned %s", va);
			else if (s[i]->state == LS_SYS_OUT_UNREADABLE)
				snprintf(o[i], sizeof(o[i]), "returned %s, output unreadable", va);
			else
				snprintf(o[i], sizeof(o[i]), "no return recorded");
		}
		add(buf, size, "A %s, B %s", o[0], o[1]);
		return;
	}
	if (d & LS_SYSDIFF_RET) {
		fmt_ret(va, sizeof(va), a->ret);
		fmt_ret(vb, sizeof(vb), b->ret);
		add(buf, size, "returned A %s, B %s", va, vb);
	}
	if (d & LS_SYSDIFF_OUT) {
		fmt_out(va, sizeof(va), ls_sys_name(r->arch, a->num), a, 16);
		fmt_out(vb, sizeof(vb), ls_sys_name(r->arch, b->num), b, 16);
		add(buf, size, "wrote A %s, B %s", va, vb);
	}
}

/*
 * Several candidates: the headline names them all, one line each says what
 * it returned.  Order: the specific explanations (signal, interleaving)
 * first when they lead (likely, or every syscall candidate a pid), then the
 * syscalls most recent first, the other specific ones before the first pid
 * (which differs in any two runs) or last.
 */
static void describe_candidates(struct ls_syscmp *r)
{
	size_t total = r->ncand + (r->interleaving ? 1 : 0) + (r->signal ? 1 : 0), hl, cl = 0, nh = 0;
	char nb[32], what[120];

	snprintf(what, sizeof(what), "%s%s%sinputs that differed before the divergence",
		 r->signal ? "an asynchronous signal" : "", r->signal && r->interleaving ? ", " : r->signal ? " or " : "",
		 r->interleaving ? "thread interleaving or " : "");
	if (!r->signal && !r->interleaving)
		snprintf(what, sizeof(what), "inputs differed before the divergence");
	hl = (size_t)snprintf(r->headline, sizeof(r->headline), "%s (%zu candidates; %s): ", what,
			      total + (r->cand_dropped ? (size_t)r->cand_dropped : 0),
			      r->signal && r->signal_likely ? "the first is the likely one" : "the data does not tell which");
#define HL(...) (hl += hl < sizeof(r->headline) ? (size_t)snprintf(r->headline + hl, sizeof(r->headline) - hl, __VA_ARGS__) : 0)
#define CL(...) (cl += cl < sizeof(r->candidates) ? (size_t)snprintf(r->candidates + cl, sizeof(r->candidates) - cl, __VA_ARGS__) : 0)
	/* step 0: leading specifics; 1..ncand: syscalls, the trailing specifics before the first pid; then the rest */
	bool trailing_done = false;
	for (size_t step = 0; step <= r->ncand + 1; step++) {
		const struct ls_sys_cand *c = step && step <= r->ncand ? &r->cand[step - 1] : NULL;
		bool pid = c && ls_pid_syscall(ls_sys_name(r->arch, c->num));

		if (step == 0 || (!trailing_done && (pid || step == r->ncand + 1))) {
			bool lead = step == 0;

			trailing_done = !lead;
			if (r->signal && (r->specific_first || r->signal_likely) == lead) {
				HL("%sasynchronous signal", nh++ ? ", " : "");
				CL("%sasynchronous signal (%s): %s; a signal's delivery point differs between runs, code "
				   "generation is not implied",
				   cl ? "\n" : "", r->signal_likely ? "likely" : "possible", r->signal_why);
			}
			if (r->interleaving && (r->specific_first || r->interleaving_likely) == lead) {
				HL("%sthread interleaving", nh++ ? ", " : "");
				if (r->interleaving_likely)
					CL("%sthread interleaving: %s; code generation is not implied", cl ? "\n" : "",
					   r->interleaving_why);
				else
					CL("%sthread interleaving: %s, whose interleaving is not recorded", cl ? "\n" : "",
					   r->interleaving_why);
			}
		}
		if (!c)
			continue;

		const struct ls_sys_rec *a = rec_at(&r->log[0], c->index), *b = rec_b(r, c->index);
		const char *name = name_of(r->arch, c->num, nb, sizeof(nb));
		char v[200];

		HL("%s%s #%" PRIu64, nh++ ? ", " : "", name, c->index);
		fmt_values(r, a, b, c->diff, v, sizeof(v));
		CL("%s%s #%" PRIu64 " at block %" PRIu64 ": %s%s", cl ? "\n" : "", name, c->index, (uint64_t)a->seq, v,
		   pid ? " (a process or thread id: it differs in any two runs)" : "");
		if (c->count > 1)
			CL(" (%" PRIu64 " of its calls differed, the first #%" PRIu64 ")", c->count, c->first);
	}
	if (r->cand_dropped) {
		HL(", and %" PRIu64 " earlier syscall%s", r->cand_dropped, r->cand_dropped == 1 ? "" : "s");
		CL("\n%" PRIu64 " further syscall%s returned differently earlier (not listed)", r->cand_dropped,
		   r->cand_dropped == 1 ? "" : "s");
	}
#undef HL
#undef CL
	if (hl >= sizeof(r->headline))
		memcpy(r->headline + sizeof(r->headline) - 4, "...", 4);
	if (cl >= sizeof(r->candidates))
		memcpy(r->candidates + sizeof(r->candidates) - 4, "...", 4);
}

const char *ls_cause_name(enum ls_cause c)
{
	switch (c) {
	case LS_CAUSE_INPUTS:
		return "inputs_differed";
	case LS_CAUSE_SAME_INPUTS:
		return "same_inputs";
	case LS_CAUSE_INTERLEAVING:
		return "thread_interleaving";
	case LS_CAUSE_SIGNAL:
		return "asynchronous_signal";
	default:
		return "unknown";
	}
}

/* Global log index of side i's first record made at or after block `from` (records are in seq order). */
static uint64_t first_at(const struct ls_sys_log *l, uint64_t from)
{
	size_t j = 0;

	while (j < l->n && l->recs[j].seq < from)
		j++;
	return l->first_index + j;
}

enum ls_cause ls_syscmp_classify(struct ls_syscmp *r, enum ls_arch arch, const struct ls_sys_log log[2],
				 uint64_t div_seq)
{
	const struct ls_syscmp_span span = { .div_seq = { div_seq, div_seq } };

	return ls_syscmp_classify_span(r, arch, log, &span);
}

enum ls_cause ls_syscmp_classify_span(struct ls_syscmp *r, enum ls_arch arch, const struct ls_sys_log log[2],
				      const struct ls_syscmp_span *span)
{
	uint64_t end[2], hi, k, lo[2];

	memset(r, 0, sizeof(*r));
	r->arch = arch;
	r->div_seq = span->div_seq[0];
	r->div_seq_b = span->div_seq[1];
	r->from_seq[0] = span->from_seq[0];
	r->from_seq[1] = span->from_seq[1];
	r->by_order = span->by_order;
	r->log[0] = log[0];
	r->log[1] = log[1];
	r->caveat = caveat;
	r->cause = LS_CAUSE_UNKNOWN;

	for (int i = 0; i < 2; i++) {
		if (!log[i].enabled && log[i].problem) {
			snprintf(r->headline, sizeof(r->headline), "cause unknown: %c's syscall log could not be used (%s)",
				 'A' + i, log[i].problem);
			return r->cause;
		}
	}
	if (!log[0].enabled || !log[1].enabled) {
		snprintf(r->headline, sizeof(r->headline),
			 "cause unknown: syscalls are not logged %s (system emulation, or the plugin's syscall log is off)",
			 !log[0].enabled && !log[1].enabled ? "on either side" : !log[0].enabled ? "on A" : "on B");
		return r->cause;
	}
	for (int i = 0; i < 2; i++) {
		while (r->before[i] < log[i].n && log[i].recs[r->before[i]].seq <= span->div_seq[i])
			r->before[i]++;
		end[i] = log[i].first_index + r->before[i];
		/* From the very start, log indices are the syscalls' own numbers on both sides. */
		lo[i] = span->from_seq[i] ? first_at(&log[i], span->from_seq[i]) : 0;
	}
	for (int i = 0; i < 2; i++) {
		/* Records from the span's start may be gone (the ring wrapped): how many is unknown. */
		if (span->from_seq[i] && lo[i] == log[i].first_index && log[i].first_index &&
		    (!log[i].n || log[i].recs[0].seq > span->from_seq[i])) {
			snprintf(r->headline, sizeof(r->headline),
				 "cause unknown: %c's syscall log no longer reaches back to block %" PRIu64
				 " (the ring wrapped), so the two logs cannot be paired",
				 'A' + i, span->from_seq[i]);
			return r->cause;
		}
	}
	/* Pair A's k-th syscall of the span with B's k-th: B's index is A's plus shift. */
	r->shift = (int64_t)(lo[1] - lo[0]);
	r->from = lo[0];
	if (log[0].first_index > r->from)
		r->from = log[0].first_index;
	if ((int64_t)log[1].first_index - r->shift > (int64_t)r->from)
		r->from = (uint64_t)((int64_t)log[1].first_index - r->shift);
	/* In signed arithmetic: B's end in A's numbering is below 0 when its span starts past its divergence. */
	int64_t end_b = (int64_t)end[1] - r->shift;
	hi = end_b < 0 ? 0 : (uint64_t)end_b < end[0] ? (uint64_t)end_b : end[0];
	if (hi < r->from)
		hi = r->from;
	r->lost = r->from - lo[0];
	r->extra[0] = end[0] > hi ? end[0] - hi : 0;
	r->extra[1] = end_b > 0 && (uint64_t)end_b > hi ? (uint64_t)end_b - hi : 0;

	for (k = r->from; k < hi; k++) {
		const struct ls_sys_rec *a = rec_at(&log[0], k), *b = rec_b(r, k);
		if (!a || !b) /* logs whose records are not in block order (a corrupt target): pair no further */
			break;
		unsigned mask, d = pair_diff(r, a, b, &mask);

		/* Out of step: made at other points, or (paired by order) another syscall altogether. */
		if ((d & LS_SYSDIFF_SEQ) || (r->by_order && (d & LS_SYSDIFF_NUM))) {
			r->misaligned = true;
			break;
		}
		if (!completed(a) && !completed(b))
			r->pending++;
		if (made_thread(arch, a))
			r->threads_made++;
		if ((d & LS_SYSDIFF_RESULT) && span->forwarded && span->forwarded(a, b, span->forwarded_ctx)) {
			r->forwarded++;
			continue;
		}
		if ((d & (LS_SYSDIFF_ARGS | LS_SYSDIFF_NUM)) && !r->have_args && !(d & LS_SYSDIFF_RESULT)) {
			r->have_args = true;
			r->args_index = k;
			r->args_diff = d;
			r->args_mask = mask;
		}
		if (!(d & LS_SYSDIFF_RESULT))
			continue;
		/*
		 * Asked something else, answered differently: the difference
		 * follows from data that had diverged before, not a new input.
		 * Unless nothing had differed before it (then it is all we have).
		 */
		if ((d & (LS_SYSDIFF_ARGS | LS_SYSDIFF_NUM)) && (r->have_args || r->differing)) {
			r->consequences++;
			continue;
		}
		r->differing++;
		add_cand(r, a->num, k, d);
	}
	r->to = k;
	if (r->ncand) {
		r->have_culprit = true;
		r->culprit = r->cand[0].index;
		r->culprit_diff = r->cand[0].diff;
	}
	/*
	 * Threads: the monitor's count of vCPU streams, or, if it has not
	 * seen them yet (a thread started just before the divergence), this
	 * thread's own clone calls.
	 */
	struct ls_syscmp_threads t = { 0 };
	if (span->threads)
		t = *span->threads;
	if (t.n < 1 + r->threads_made)
		t.n = (unsigned)(1 + r->threads_made);
	if (t.n > 1)
		judge_threads(r, &t);
	r->interrupted = -1;
	if (span->signals)
		judge_signals(r, span->signals);
	/* Pids differ in any two runs: a more specific explanation goes before them. */
	r->specific_first = r->signal_likely || r->interleaving_likely;
	if ((r->signal || r->interleaving) && !r->cand_dropped) {
		bool all_pids = true;

		for (size_t i = 0; i < r->ncand; i++)
			all_pids &= ls_pid_syscall(ls_sys_name(arch, r->cand[i].num));
		r->specific_first |= all_pids;
	}

	/* What the classification does not cover. */
	if (r->lost)
		add(r->coverage, sizeof(r->coverage),
		    "syscall history incomplete: the first %" PRIu64 " syscalls are no longer in %s (the ring wrapped), "
		    "so only the recorded ones are classified",
		    r->lost, lost_where(r));
	if (r->misaligned) {
		const struct ls_sys_rec *a = rec_at(&log[0], r->to), *b = rec_b(r, r->to);
		char na[32], nb[32];

		if (r->by_order)
			add(r->coverage, sizeof(r->coverage),
			    "the logs stop lining up at #%" PRIu64 ": A made %s (block %" PRIu64 "), B %s (block %" PRIu64
			    "), so later syscalls are not compared",
			    r->to, name_of(arch, a->num, na, sizeof(na)), (uint64_t)a->seq, name_of(arch, b->num, nb, sizeof(nb)),
			    (uint64_t)b->seq);
		else
			add(r->coverage, sizeof(r->coverage),
			    "the logs stop lining up at #%" PRIu64 ": A's was made at block %" PRIu64 ", B's at block %" PRIu64
			    ", so later syscalls are not compared",
			    r->to, (uint64_t)a->seq, (uint64_t)b->seq);
	}
	if (r->by_order)
		add(r->coverage, sizeof(r->coverage),
		    "paired by order%s: the blocks are cut or numbered differently on the two sides",
		    r->from_seq[0] || r->from_seq[1] ? " since the runs came back together" : "");
	else if (r->from_seq[0] || r->from_seq[1])
		add(r->coverage, sizeof(r->coverage),
		    "only syscalls since the runs came back together (A block %" PRIu64 " = B block %" PRIu64 ") are paired",
		    r->from_seq[0], r->from_seq[1]);
	for (int i = 0; i < 2; i++)
		if (r->extra[i] && !r->have_culprit && !r->misaligned)
			add(r->coverage, sizeof(r->coverage),
			    "%c's log has %" PRIu64 " syscall%s before the divergence that %c's has not (from #%" PRIu64 ")",
			    'A' + i, r->extra[i], r->extra[i] == 1 ? "" : "s", 'B' - i, hi);
	if (r->pending)
		add(r->coverage, sizeof(r->coverage),
		    "%" PRIu64 " syscall%s had not returned on either side: only the arguments compared", r->pending,
		    r->pending == 1 ? "" : "s");

	if (r->forwarded)
		add(r->coverage, sizeof(r->coverage),
		    "%" PRIu64 " pair%s forwarded from A to B (the same by construction) %s no candidate%s", r->forwarded,
		    r->forwarded == 1 ? "" : "s", r->forwarded == 1 ? "is" : "are", r->forwarded == 1 ? "" : "s");
	if (r->consequences)
		add(r->coverage, sizeof(r->coverage),
		    "%" PRIu64 " later pair%s returned differently after being made with different arguments: "
		    "consequences, not counted as inputs",
		    r->consequences, r->consequences == 1 ? "" : "s");

	if (r->have_args)
		describe_args(r, rec_at(&log[0], r->args_index), rec_b(r, r->args_index));
	size_t total = r->ncand + (r->interleaving ? 1 : 0) + (r->signal ? 1 : 0) + (r->cand_dropped ? 1 : 0);
	if (r->ncand && total == 1) {
		r->cause = LS_CAUSE_INPUTS;
		describe_culprit(r, rec_at(&log[0], r->culprit), rec_b(r, r->culprit));
	} else if (r->ncand) {
		r->cause = LS_CAUSE_INPUTS;
		describe_candidates(r);
	} else if (r->misaligned) {
		snprintf(r->headline, sizeof(r->headline),
			 "cause unknown: the syscall logs do not line up at #%" PRIu64 " (A at block %" PRIu64 ", B at block %"
			 PRIu64 ")",
			 r->to, (uint64_t)rec_at(&log[0], r->to)->seq, (uint64_t)rec_b(r, r->to)->seq);
	} else if (r->to == r->from && r->lost) {
		snprintf(r->headline, sizeof(r->headline),
			 "cause unknown: no syscall before the divergence is left in both logs (%" PRIu64
			 " lost: the ring wrapped)",
			 r->lost);
	} else if (r->to == r->from && (r->extra[0] || r->extra[1])) {
		snprintf(r->headline, sizeof(r->headline),
			 "cause unknown: only %c's log has syscalls before the divergence", r->extra[0] ? 'A' : 'B');
	} else if (r->signal && (r->signal_likely || !r->interleaving)) {
		r->cause = LS_CAUSE_SIGNAL;
		if (r->signal_likely)
			snprintf(r->headline, sizeof(r->headline),
				 "asynchronous signal, most likely: %s; the syscalls before it all returned the same%s; a "
				 "signal's delivery point differs between runs, code generation is not implied",
				 r->signal_why, r->interleaving ? " (thread interleaving is possible too)" : "");
		else
			snprintf(r->headline, sizeof(r->headline),
				 "an asynchronous signal or code generation (the data does not tell which): the syscalls "
				 "before it all returned the same, and %s",
				 r->signal_why);
		if (r->to == r->from)
			add(r->coverage, sizeof(r->coverage), "no syscall was made before the divergence");
	} else if (r->interleaving) {
		r->cause = LS_CAUSE_INTERLEAVING;
		if (r->signal)
			add(r->coverage, sizeof(r->coverage), "an asynchronous signal is a candidate too: %s", r->signal_why);
		if (r->interleaving_likely)
			snprintf(r->headline, sizeof(r->headline),
				 "thread interleaving, most likely: this thread's syscalls before it all returned the same, "
				 "and %s; code generation is not implied",
				 r->interleaving_why);
		else
			snprintf(r->headline, sizeof(r->headline),
				 "thread interleaving or code generation (the data does not tell which): this thread's "
				 "syscalls before it all returned the same, but %s, whose interleaving is not recorded",
				 r->interleaving_why);
		if (r->to == r->from)
			add(r->coverage, sizeof(r->coverage), "no syscall was made before the divergence");
	} else {
		r->cause = LS_CAUSE_SAME_INPUTS;
		snprintf(r->headline, sizeof(r->headline), "same inputs, different execution: suspect code generation");
		if (r->to == r->from)
			add(r->coverage, sizeof(r->coverage), "no syscall was made before the divergence");
	}
	if (r->cause == LS_CAUSE_UNKNOWN && r->signal)
		add(r->coverage, sizeof(r->coverage), "an asynchronous signal is a candidate%s: %s",
		    r->signal_likely ? ", a likely one" : "", r->signal_why);
	if (r->cause == LS_CAUSE_UNKNOWN && r->interleaving)
		add(r->coverage, sizeof(r->coverage), "thread interleaving is a candidate%s: %s",
		    r->interleaving_likely ? ", a likely one" : "", r->interleaving_why);
	if (r->cause == LS_CAUSE_SIGNAL)
		r->caveat = caveat_signal;
	else if (r->cause != LS_CAUSE_SAME_INPUTS && r->cause != LS_CAUSE_UNKNOWN)
		r->caveat = caveat_cands; /* one candidate too: what no log records may be the real one */
	return r->cause;
}

/* ---- the side-by-side table ---- */

struct sink {
	FILE *f;
	char *buf;
	size_t size, len;
};

static void put(struct sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct sink *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (s->f) {
		vfprintf(s->f, fmt, ap);
	} else {
		size_t room = s->len < s->size ? s->size - s->len : 0;
		int n = vsnprintf(room ? s->buf + s->len : NULL, room, fmt, ap);

		if (n > 0)
			s->len += (size_t)n;
	}
	va_end(ap);
}

/* src cut to at most w columns ("..." where cut). */
static void fit(char *dst, size_t size, const char *src, size_t w)
{
	size_t n = strlen(src);

	if (w >= size)
		w = size - 1;
	if (n <= w) {
		memcpy(dst, src, n + 1);
		return;
	}
	n = w > 3 ? w - 3 : 0;
	memcpy(dst, src, n);
	memcpy(dst + n, "...", 4);
}

static int digits(uint64_t v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static bool is_cand(const struct ls_syscmp *r, uint64_t k)
{
	for (size_t i = 0; i < r->ncand; i++)
		if (r->cand[i].index == k)
			return true;
	return false;
}

static void table(struct sink *s, const struct ls_syscmp *r, unsigned last)
{
	const struct ls_sys_log *l = r->log;
	uint64_t end = 0, start, lo, maxseq = 0;
	char ta[256], tb[256], ca[TABLE_COLS + 1], cb[TABLE_COLS + 1], idx[24];

	if (!l[0].enabled || !l[1].enabled) {
		put(s, "  (no syscall log on %s)\n", !l[0].enabled && !l[1].enabled ? "either side" : !l[0].enabled ? "A" : "B");
		return;
	}
	/* In A's numbering: B's record k + shift sits in row k. */
	int64_t sh[2] = { 0, r->shift };
	for (int i = 0; i < 2; i++) {
		uint64_t e = (uint64_t)((int64_t)(l[i].first_index + r->before[i]) - sh[i]);
		end = e > end ? e : end;
	}
	uint64_t fa = l[0].first_index, fb = (uint64_t)((int64_t)l[1].first_index - r->shift);
	lo = fa < fb ? fa : fb;
	if (lo < r->from - r->lost)
		lo = r->from - r->lost; /* not before the span (the runs' last rejoin) */
	start = end > last ? end - last : 0;
	if (start < lo)
		start = lo;
	if (start >= end) {
		put(s, "  (no syscall before the divergence in either log)\n");
		return;
	}
	for (uint64_t k = start; k < end; k++)
		for (int i = 0; i < 2; i++) {
			const struct ls_sys_rec *x = rec_at(&l[i], (uint64_t)((int64_t)k + sh[i]));
			if (x && x->seq > maxseq)
				maxseq = x->seq;
		}

	int iw = digits(end - 1) + 1, sw = digits(maxseq);
	iw = iw < 7 ? 7 : iw;
	sw = sw < 5 ? 5 : sw;
	int cw = (TABLE_COLS - 2 - iw - 2 - sw - 2 - 3) / 2;

	put(s, "  %-*s  %-*s  %-*s | B\n", iw, "syscall", sw, "block", cw, "A");
	for (uint64_t k = start; k < end; k++) {
		/* Only records before the divergence: a side's log may go on past it. */
		uint64_t kb = k + (uint64_t)r->shift;
		const struct ls_sys_rec *a = k >= l[0].first_index && k - l[0].first_index < r->before[0] ? rec_at(&l[0], k) : NULL;
		const struct ls_sys_rec *b = kb >= l[1].first_index && kb - l[1].first_index < r->before[1] ? rec_at(&l[1], kb) : NULL;
		unsigned d = 0;
		char mark = ' ', seq[24] = "-";

		if (a && b)
			d = pair_diff(r, a, b, NULL);
		if (is_cand(r, k))
			mark = '>';
		else if (d || (!a && k >= l[0].first_index) || (!b && kb >= l[1].first_index))
			mark = '!';
		if (a)
			fmt_call(ta, sizeof(ta), r->arch, a);
		else
			snprintf(ta, sizeof(ta), "%s", k < l[0].first_index ? "(overwritten)" : "(none)");
		if (b) {
			char call[200];

			fmt_call(call, sizeof(call), r->arch, b);
			if (a && a->seq != b->seq)
				snprintf(tb, sizeof(tb), "@%" PRIu64 " %s", (uint64_t)b->seq, call);
			else
				snprintf(tb, sizeof(tb), "%s", call);
		} else {
			snprintf(tb, sizeof(tb), "%s", kb < l[1].first_index ? "(overwritten)" : "(none)");
		}
		fit(ca, sizeof(ca), ta, (size_t)cw);
		fit(cb, sizeof(cb), tb, (size_t)cw);
		snprintf(idx, sizeof(idx), "#%" PRIu64, k);
		if (a || b)
			snprintf(seq, sizeof(seq), "%" PRIu64, (uint64_t)(a ? a : b)->seq);
		put(s, "%c %-*s  %-*s  %-*s | %s\n", mark, iw, idx, sw, seq, cw, ca, cb);
		if (d & (LS_SYSDIFF_OUT | LS_SYSDIFF_STATE)) {
			char oa[160], ob[160];

			/* "-> " plus the data; the hex is cut to the column by fit. */
			fmt_out(oa, sizeof(oa), ls_sys_name(r->arch, a->num), a, OUT_HEAD);
			fmt_out(ob, sizeof(ob), ls_sys_name(r->arch, b->num), b, OUT_HEAD);
			snprintf(ta, sizeof(ta), "-> %s", oa);
			snprintf(tb, sizeof(tb), "-> %s", ob);
			fit(ca, sizeof(ca), ta, (size_t)cw);
			fit(cb, sizeof(cb), tb, (size_t)cw);
			put(s, "  %-*s  %-*s  %-*s | %s\n", iw, "", sw, "", cw, ca, cb);
		}
	}
	if (r->ncand)
		put(s, "  ('>' %s, '!' the sides differ)\n",
		    r->ncand > 1 ? "a candidate: the last call of a syscall whose results differed"
				 : "the syscall whose results differed");
	else
		put(s, "  ('!' the sides differ)\n");
}

size_t ls_syscmp_table(const struct ls_syscmp *r, unsigned last, char *buf, size_t size)
{
	struct sink s = { .buf = buf, .size = size };

	if (size)
		buf[0] = '\0';
	table(&s, r, last);
	return s.len;
}

void ls_syscmp_fprint_table(FILE *f, const struct ls_syscmp *r, unsigned last)
{
	struct sink s = { .f = f };

	table(&s, r, last);
}

/* ---- JSON fields ---- */

static const char *state_name(uint16_t st)
{
	return st == LS_SYS_RETURNED ? "returned" : st == LS_SYS_OUT_UNREADABLE ? "out_unreadable" : "entered";
}

void ls_syscmp_cand_fields(const struct ls_syscmp *r, size_t k, struct ls_syscmp_fields *f)
{
	memset(f, 0, sizeof(*f));
	f->cause = ls_cause_name(r->cause);
	f->headline = r->headline;
	if (k >= r->ncand)
		return;

	const struct ls_sys_cand *c = &r->cand[k];
	const struct ls_sys_rec *a = rec_at(&r->log[0], c->index), *b = rec_b(r, c->index);
	const struct ls_sys_rec *s[2] = { a, b };
	char *hx[2] = { f->a_out_hex, f->b_out_hex };

	f->have_syscall = true;
	f->count = c->count;
	f->syscall = ls_sys_name(r->arch, a->num);
	f->num = a->num;
	f->index = c->index;
	f->seq = a->seq;
	f->a_state = state_name(a->state);
	f->b_state = state_name(b->state);
	f->a_ret = a->ret;
	f->b_ret = b->ret;
	f->a_out_len = a->state == LS_SYS_RETURNED ? a->out_len : 0;
	f->b_out_len = b->state == LS_SYS_RETURNED ? b->out_len : 0;
	for (int i = 0; i < 2; i++)
		if (s[i]->state == LS_SYS_RETURNED)
			hex(hx[i], sizeof(f->a_out_hex), s[i]->out_head, s[i]->out_len < OUT_HEAD ? s[i]->out_len : OUT_HEAD);
}

/* The culprit is the most recent candidate. */
void ls_syscmp_fields(const struct ls_syscmp *r, struct ls_syscmp_fields *f)
{
	ls_syscmp_cand_fields(r, 0, f);
}
