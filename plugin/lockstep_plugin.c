/* SPDX-License-Identifier: MIT */
/*
 * lockstep_plugin.c - the QEMU TCG plugin (liblockstep.so): argument parsing,
 * QEMU callbacks, the syscall-stall flusher and the probed function.
 *
 * Per executed block it appends a record to its vCPU's ring (stream.h); once
 * per chunk it calls lockstep_publish(), where the monitor's uprobe sits.
 * With no monitor attached that call is a NOP and a ret.
 *
 * Per translation (never per execution) it logs the block's instructions
 * (tlog.h); per guest syscall (linux-user) it logs the call, its result and
 * a hash of what it wrote into guest memory (syslog.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../user/systab.h"
#include "fwd.h"
#include "gate.h"
#include "plugin_args.h"
#include "qemu_api.h"
#include "quiet_thread.h"
#include "stream.h"
#include "syslog.h"
#include "tlog.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

/* Read by the monitor with process_vm_readv before it attaches. */
QEMU_PLUGIN_EXPORT struct ls_plugin_info lockstep_plugin_info = {
	.magic = LS_MAGIC,
	.version = LS_WIRE_VERSION,
	.plugin_version = LS_VERSION,
};

#if defined(__x86_64__)
/*
 * A 5-byte NOP at the very entry: kernels since 6.18 turn a uprobe there into
 * a call to a trampoline (about 1.3 us a hit instead of 5-20 us for an
 * emulated or single-stepped instruction).  Written in asm so no endbr64 or
 * frame setup lands in front of it.
 */
__asm__(".text\n"
	".globl lockstep_publish\n"
	".type lockstep_publish, @function\n"
	".p2align 4\n"
	"lockstep_publish:\n"
	"\t.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"
	"\tret\n"
	".size lockstep_publish, .-lockstep_publish\n");
#else
__attribute__((noinline, used, visibility("default"))) void lockstep_publish(struct ls_batch *b)
{
	__asm__ volatile("" : : "r"(b) : "memory");
}
#endif

static struct ls_plugin_args args;
/*
 * Every vCPU's stream in one static array, so the per-block callback finds
 * vCPU 0's write pointer at a fixed address.  A slot without a ring is a
 * sink (ls_stream_init_sink); ready[] says which are complete, with a ring,
 * for everything but the per-block path.
 */
static struct ls_stream stream_tab[LS_MAX_VCPUS];
static bool ready[LS_MAX_VCPUS];
/* What the monitor reads: each vCPU's publication struct. */
static struct ls_batch *batches[LS_MAX_VCPUS];
static atomic_uint dropped_vcpus;
static pthread_t flusher;
static bool flusher_running;
static atomic_bool exiting;

static struct ls_tlog tlog;
/* dump=PATH for vCPU 0, opened at load so a path that cannot be written refuses the plugin. */
static FILE *dump0;
static struct ls_syslog *syslogs[LS_MAX_VCPUS];
static enum ls_arch arch;
static bool linux_user;
/* linux-user: guest address g is host address guest_base + g, known from the first translation. */
static uint64_t guest_base;
static bool guest_base_known; /* stored with release after guest_base */
static uint64_t base_mismatches; /* later translations that disagree (counted, for the summary) */
static uint64_t base_unknown_tbs; /* translations without a host address */
/* Set at the second vCPU (a second guest thread), never cleared: outputs are then read the checked way. */
static bool multi_vcpu;
/* This QEMU is a child the guest forked: nothing is recorded or published (see on_fork_child). */
static bool forked_child;
/* Set in the thread that just forked, until its syscall returns with the child's pid. */
static __thread bool fork_returning;
/* execve and execveat in the target's numbering (-1: none). */
static int64_t sys_execve = -1, sys_execveat = -1;

/*
 * --forward-inputs (fwd.h): this side of the channel, once vCPU 0 picked it
 * up with the gate before the guest's first block.  fwd_on is cleared in a
 * forked child (a guest's fork is a real fork): only the monitored process
 * speaks for its side.
 */
static struct ls_fwd_side fwd;
static bool fwd_on;
static pid_t fwd_pid; /* ours, for process_vm_readv/writev (a forked child forwards nothing) */

static void gate_hook(void)
{
	ls_gate_poll(&lockstep_plugin_info);
}

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* qemu_plugin_outs() is silent without -d plugin: errors go to stderr too. */
	fprintf(stderr, "liblockstep: %s\n", buf);
}

/*
 * The block's record word (ls_rec_make) is computed once at translation and
 * handed to every execution as the callback's userdata.
 */
static void on_exec(unsigned int vcpu, void *ud)
{
	/* vCPU 0 first: every single-threaded guest, and no index arithmetic. */
	if (__builtin_expect(vcpu == 0, 1))
		ls_stream_append(&stream_tab[0], (uint64_t)(uintptr_t)ud);
	else if (vcpu < LS_MAX_VCPUS)
		ls_stream_append(&stream_tab[vcpu], (uint64_t)(uintptr_t)ud);
}

/* The stream of a vCPU that has a ring, or NULL. */
static struct ls_stream *stream_of(unsigned vcpu)
{
	if (vcpu >= LS_MAX_VCPUS || !__atomic_load_n(&ready[vcpu], __ATOMIC_ACQUIRE))
		return NULL;
	return &stream_tab[vcpu];
}

/*
 * linux-user maps guest memory at one offset from host memory: the host
 * address QEMU translated an instruction from, minus its guest address.
 * Every later translation checks it (a few ns each, once per translation).
 */
static void check_guest_base(const struct qemu_plugin_insn *insn)
{
	void *haddr = qemu_plugin_insn_haddr(insn);
	uint64_t base;

	if (!haddr) {
		base_unknown_tbs++; /* e.g. the x86_64 vsyscall page: no host page behind it */
		return;
	}
	base = (uint64_t)(uintptr_t)haddr - qemu_plugin_insn_vaddr(insn);
	if (__atomic_load_n(&guest_base_known, __ATOMIC_ACQUIRE)) {
		if (base != guest_base)
			__atomic_fetch_add(&base_mismatches, 1, __ATOMIC_RELAXED);
		return;
	}
	/* linux-user translates under QEMU's mmap lock: one first translation. */
	guest_base = base;
	lockstep_plugin_info.guest_base = base;
	__atomic_store_n(&guest_base_known, true, __ATOMIC_RELEASE);
	__atomic_fetch_or(&lockstep_plugin_info.flags, LS_INFO_GUEST_BASE, __ATOMIC_RELEASE);
	if (args.verbose)
		report("guest_base 0x%" PRIx64 " (target %s, first block at 0x%" PRIx64 ")", base,
		       lockstep_plugin_info.target, qemu_plugin_insn_vaddr(insn));
}

static void log_translation(const struct qemu_plugin_tb *tb, uint64_t pc, size_t n)
{
	/* One buffer per translating thread, grown as needed (TCG caps blocks at 512 instructions). */
	static __thread struct ls_tlog_insn *insns;
	static __thread size_t cap;

	if (n > cap) {
		size_t want = n < 512 ? 512 : n;
		struct ls_tlog_insn *p = realloc(insns, want * sizeof(*p));
		if (!p) {
			ls_tlog_append(&tlog, pc, NULL, SIZE_MAX); /* counted as a block that does not fit */
			return;
		}
		insns = p;
		cap = want;
	}
	for (size_t i = 0; i < n; i++) {
		const struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		insns[i].vaddr = qemu_plugin_insn_vaddr(insn);
		insns[i].size = qemu_plugin_insn_size(insn);
		insns[i].data = qemu_plugin_insn_data(insn);
	}
	ls_tlog_append(&tlog, pc, insns, n);
}

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	uint64_t pc = qemu_plugin_tb_vaddr(tb);
	size_t n = qemu_plugin_tb_n_insns(tb);

	(void)id;
	if (linux_user && n)
		check_guest_base(qemu_plugin_tb_get_insn(tb, 0));
	if (tlog.base)
		log_translation(tb, pc, n);
	if (n > UINT16_MAX)
		n = UINT16_MAX; /* TCG caps blocks at 512 instructions */
	qemu_plugin_register_vcpu_tb_exec_cb(tb, on_exec, QEMU_PLUGIN_CB_NO_REGS,
					     (void *)(uintptr_t)ls_rec_make(pc, (uint32_t)n));
}

/*
 * Guest memory for forwarding.  While the guest has one thread, the output
 * QEMU just wrote (and made writable: QEMU's own syscall path unprotects a
 * page holding translated code before the call writes it) is still there
 * when the return callback runs in that thread, so it is read and written
 * in place; otherwise with process_vm_readv/writev, where a bad address is
 * an error, not a crash.
 */
static bool fwd_direct(void)
{
	return !__atomic_load_n(&multi_vcpu, __ATOMIC_RELAXED) && !__atomic_load_n(&base_mismatches, __ATOMIC_RELAXED);
}

static int fwd_mem(uint64_t guest_addr, void *buf, uint32_t n, bool write)
{
	uint64_t host = guest_base + guest_addr;

	if (!__atomic_load_n(&guest_base_known, __ATOMIC_ACQUIRE) || host < guest_base || host + n < host)
		return EFAULT;
	if (fwd_direct()) {
		if (write)
			memcpy((void *)(uintptr_t)host, buf, n);
		else
			memcpy(buf, (const void *)(uintptr_t)host, n);
		return 0;
	}
	struct iovec local = { .iov_base = buf, .iov_len = n };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)host, .iov_len = n };
	ssize_t got = write ? process_vm_writev(fwd_pid, &local, 1, &remote, 1, 0)
			    : process_vm_readv(fwd_pid, &local, 1, &remote, 1, 0);
	return got == (ssize_t)n ? 0 : got < 0 ? errno : EFAULT;
}

static int fwd_read(void *ctx, uint64_t guest_addr, void *dst, uint32_t n)
{
	(void)ctx;
	return fwd_mem(guest_addr, dst, n, false);
}

static int fwd_write(void *ctx, uint64_t guest_addr, const void *src, uint32_t n)
{
	(void)ctx;
	return fwd_mem(guest_addr, (void *)src, n, true);
}

/* B ahead of A: yield first (A is usually a few syscalls away), then sleep, longer the longer it takes. */
static void fwd_pause(unsigned round)
{
	if (round < 64) {
		sched_yield();
		return;
	}
	struct timespec ts = { 0, round < 1024 ? 20000 : 1000000 };
	nanosleep(&ts, NULL);
}

static void fwd_say(void *ctx, const char *msg)
{
	(void)ctx;
	report("%s", msg);
}

static void fwd_forked(void)
{
	__atomic_store_n(&fwd_on, false, __ATOMIC_RELAXED);
}

/*
 * vCPU 0, held before the guest's first block until a monitor attached:
 * take the gate and with it the forwarding channel now, so both sides pair
 * syscalls from the first.  Bounded: without a channel the guest runs
 * without forwarding, and says so.
 */
static void fwd_setup(void)
{
	uint64_t deadline = ls_mono_ns() + 10000000000ull;
	uint32_t st;

	for (;;) {
		ls_gate_poll(&lockstep_plugin_info);
		st = __atomic_load_n(&lockstep_plugin_info.gate_state, __ATOMIC_ACQUIRE);
		if (st == LS_GATE_MAPPED || st == LS_GATE_FAILED || ls_mono_ns() >= deadline)
			break;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	void *map = __atomic_load_n(&ls_gate_fwd_map, __ATOMIC_ACQUIRE);
	if (!map) {
		int err = __atomic_load_n(&ls_gate_fwd_err, __ATOMIC_RELAXED);
		report("forward=%c: %s: this side's inputs are not forwarded", args.forward == 1 ? 'a' : 'b',
		       st == LS_GATE_FAILED ? "the monitor's gate failed, and the forwarding channel comes with it"
		       : err		    ? strerror(err)
		       : st == LS_GATE_MAPPED ? "the monitor offers no forwarding channel (run it with --forward-inputs)"
					      : "no forwarding channel from a monitor within 10 s");
		return;
	}
	const struct ls_fwd_ops ops = { .now_ns = ls_mono_ns, .pause = fwd_pause, .read = fwd_read, .write = fwd_write,
					.say = fwd_say };
	fwd_pid = getpid();
	ls_fwd_side_init(&fwd, map, args.forward == 1 ? 0 : 1, arch, &ops);
	pthread_atfork(NULL, NULL, fwd_forked);
	__atomic_store_n(&fwd_on, true, __ATOMIC_RELEASE);
	if (args.verbose)
		report("forward=%c: the forwarding channel is mapped", args.forward == 1 ? 'a' : 'b');
}

static void fwd_vcpu(unsigned vcpu)
{
	if (!__atomic_load_n(&fwd_on, __ATOMIC_ACQUIRE))
		return;
	if (vcpu >= LS_FWD_VCPUS) {
		report("vCPU %u: the forwarding channel has lanes for %d vCPUs: its inputs are not forwarded", vcpu,
		       LS_FWD_VCPUS);
		return;
	}
	if (fwd.v[vcpu])
		return; /* a reused index continues its syscall stream, as its block stream */
	struct ls_fwd_vcpu *v = ls_fwd_vcpu_new();
	if (!v)
		report("vCPU %u: no memory for forwarding: its inputs are not forwarded", vcpu);
	fwd.v[vcpu] = v; /* before that thread runs */
}

static void on_vcpu_init(qemu_plugin_id_t id, unsigned int vcpu)
{
	struct ls_stream *s;
	int err;

	(void)id;
	if (vcpu != 0)
		__atomic_store_n(&multi_vcpu, true, __ATOMIC_RELAXED); /* before that thread runs */
	if (vcpu >= LS_MAX_VCPUS) {
		atomic_fetch_add(&dropped_vcpus, 1);
		report("vCPU %u is beyond the %d this plugin records: its blocks are not recorded", vcpu,
		       LS_MAX_VCPUS);
		return;
	}
	if (stream_of(vcpu))
		return; /* linux-user reuses a finished thread's index: continue its stream */
	s = &stream_tab[vcpu];
	/* No one appends yet: the vCPU runs its first block after this returns. */
	if ((err = ls_stream_init(s, vcpu, args.batch_order, args.ring_order)) != 0) {
		report("vCPU %u: cannot allocate a %llu-record ring: %s: its blocks are not recorded", vcpu,
		       1ull << args.ring_order, strerror(-err));
		atomic_fetch_add(&dropped_vcpus, 1);
		return;
	}
	if (args.dump_path) {
		char path[4096];
		if (vcpu == 0 && dump0) {
			s->dump = dump0;
			dump0 = NULL;
		} else {
			snprintf(path, sizeof(path), "%s.%u", args.dump_path, vcpu);
			s->dump = fopen(path, "wb");
			if (!s->dump)
				report("dump=%s: %s: vCPU %u's records are not dumped", path, strerror(errno), vcpu);
		}
	}
	if (__atomic_load_n(&lockstep_plugin_info.flags, __ATOMIC_RELAXED) & LS_INFO_SYSCALLS) {
		/* Before the batch is published: the monitor finds sys_addr there. */
		struct ls_syslog *l = calloc(1, sizeof(*l));
		if (!l || (err = ls_syslog_init(l, &s->batch, args.sys_order, arch)) != 0) {
			report("vCPU %u: cannot allocate a %llu-record syscall log: %s: its syscalls are not logged",
			       vcpu, 1ull << args.sys_order, strerror(l ? -err : ENOMEM));
			free(l);
		} else {
			syslogs[vcpu] = l;
		}
	}
	/*
	 * A thread started while a monitor holds a lease must not run ahead
	 * until the monitor finds its stream (it looks every few ms): it gets
	 * the first window's permit under vCPU 0's lease.
	 */
	struct ls_stream *first = stream_of(0);
	if (first && vcpu != 0) {
		uint64_t lease = __atomic_load_n(&first->batch.lease_until_ns, __ATOMIC_ACQUIRE);
		uint64_t permit = __atomic_load_n(&first->batch.permit_chunk, __ATOMIC_ACQUIRE);
		if (lease > ls_mono_ns() && permit == LS_PERMIT_GATE) {
			/* Under the gate, the correlator pairs it with its partner thread at once. */
			s->batch.gate_side = __atomic_load_n(&first->batch.gate_side, __ATOMIC_RELAXED);
			s->batch.gate_window = __atomic_load_n(&first->batch.gate_window, __ATOMIC_RELAXED);
			s->batch.gate_thaw = __atomic_load_n(&first->batch.gate_thaw, __ATOMIC_RELAXED);
			s->batch.permit_chunk = LS_PERMIT_GATE;
			s->batch.lease_until_ns = lease;
		} else if (lease > ls_mono_ns() && permit != ~0ull) {
			s->batch.permit_chunk = ls_window(args.batch_order, args.ring_order) - 1;
			s->batch.lease_until_ns = lease;
		}
	}
	__atomic_store_n(&ready[vcpu], true, __ATOMIC_RELEASE);
	__atomic_store_n(&batches[vcpu], &s->batch, __ATOMIC_RELEASE);
	if (vcpu == 0 && args.wait_ms) {
		if (!ls_stream_wait_monitor(s, args.wait_ms * 1000000ull))
			report("no lockstep-bpf monitor attached within %u ms: running unmonitored", args.wait_ms);
		else if (args.forward && linux_user)
			fwd_setup();
	}
	fwd_vcpu(vcpu);
}

/*
 * A child the guest forked is a copy of this QEMU, plugin and all, but no
 * partner runs its stream, the monitor compares nothing in it, and the
 * uprobe is not inherited: since kernel 6.18 the probed NOP has been
 * rewritten into a call to a trampoline page that fork does not copy, so a
 * child calling lockstep_publish died of SIGSEGV.  Every stream becomes a
 * sink: the child never publishes, never waits for a permit, and exits with
 * the guest's status.  Runs in the child inside fork(), before QEMU goes on;
 * only the forking thread exists there.
 */
static void on_fork_child(void)
{
	forked_child = true;
	lockstep_plugin_info.flags |= LS_INFO_FORKED_CHILD;
	for (unsigned i = 0; i < LS_MAX_VCPUS; i++) {
		struct ls_stream *s = &stream_tab[i];
		__atomic_store_n(&ready[i], false, __ATOMIC_RELAXED);
		batches[i] = NULL;
		syslogs[i] = NULL;
		if (s->dump) {
			/* The parent writes its buffered records itself: the child's copy must not reach the file. */
			__fpurge(s->dump);
			fclose(s->dump);
		}
		ls_stream_init_sink(s, i);
	}
	tlog.base = NULL; /* its translations would go to the child's own copy: no one reads them */
}

static void on_fork_parent(void)
{
	fork_returning = true;
}

/* The parent's side of a fork, when the syscall returns: count it, and where the first one happened. */
static void note_fork(unsigned vcpu, int64_t ret)
{
	fork_returning = false;
	if (ret <= 0)
		return; /* it failed: no child */
	if (__atomic_fetch_add(&lockstep_plugin_info.forks, 1, __ATOMIC_RELAXED) == 0) {
		struct ls_stream *s = stream_of(vcpu);
		lockstep_plugin_info.fork_pid = (uint32_t)ret;
		lockstep_plugin_info.fork_vcpu = vcpu;
		lockstep_plugin_info.fork_block = s ? ls_stream_seq(s) : ~0ull;
	}
}

/* The monitor's acknowledgement of exec_seq, or a lease without it. */
static void wait_exec_seen(struct ls_stream *s, uint64_t seq)
{
	uint64_t deadline = ls_mono_ns() + 1000000000ull;

	for (;;) {
		uint64_t now = ls_mono_ns();
		if (__atomic_load_n(&lockstep_plugin_info.exec_seen, __ATOMIC_ACQUIRE) >= seq ||
		    __atomic_load_n(&s->batch.lease_until_ns, __ATOMIC_ACQUIRE) <= now || now >= deadline)
			return;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 200000 };
		nanosleep(&ts, NULL);
	}
}

/*
 * A successful execve replaces this QEMU with the program (qemu-user runs
 * it on the host directly): nothing of the plugin is left to publish or to
 * read.  So before it, every block run so far is published, what is about
 * to happen is written in lockstep_plugin_info, and a monitor holding a
 * lease gets to see it (bounded by the lease and 1 s).  A failed execve
 * (a PATH search tries several) comes back and the stream goes on.
 */
static void note_exec(struct ls_stream *s, unsigned vcpu, uint64_t path_addr)
{
	char *path = lockstep_plugin_info.exec_path;
	size_t cap = sizeof(lockstep_plugin_info.exec_path);

	memset(path, 0, cap);
	if (__atomic_load_n(&guest_base_known, __ATOMIC_ACQUIRE)) {
		/* A guest pointer may be anything: read it the way that cannot fault (a string may end a mapping). */
		struct iovec local = { .iov_base = path, .iov_len = cap - 1 };
		struct iovec remote = { .iov_base = (void *)(uintptr_t)(guest_base + path_addr), .iov_len = cap - 1 };
		if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) <= 0)
			snprintf(path, cap, "(unreadable)");
	}
	lockstep_plugin_info.exec_vcpu = vcpu;
	lockstep_plugin_info.exec_block = s ? ls_stream_seq(s) : ~0ull;
	/* Said before the last blocks are published: a monitor that has compared them knows the side is not done. */
	__atomic_store_n(&lockstep_plugin_info.exec_state, LS_EXEC_ENTERED, __ATOMIC_RELEASE);
	uint64_t seq = __atomic_add_fetch(&lockstep_plugin_info.exec_seq, 1, __ATOMIC_RELEASE);
	if (s) {
		pthread_mutex_lock(&s->mu);
		if (!s->final && ls_stream_seq(s) != s->published_seq)
			ls_stream_publish(s, LS_PUB_PARTIAL);
		pthread_mutex_unlock(&s->mu);
		wait_exec_seen(s, seq);
	}
}

static void on_syscall(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1, uint64_t a2,
		       uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8)
{
	struct ls_stream *s = stream_of(vcpu);

	(void)id, (void)a7, (void)a8;
	if (forked_child)
		return;
	if (num == sys_execve || num == sys_execveat)
		note_exec(s, vcpu, num == sys_execve ? a1 : a2);
	if (!s)
		return;
	const uint64_t sysargs[6] = { a1, a2, a3, a4, a5, a6 };
	if (__atomic_load_n(&fwd_on, __ATOMIC_RELAXED))
		ls_fwd_sys_enter(&fwd, vcpu, ls_stream_seq(s), num, sysargs);
	if (syslogs[vcpu])
		ls_syslog_enter(syslogs[vcpu], ls_stream_seq(s), num, sysargs);
	if (!args.flush_ms)
		return;
	pthread_mutex_lock(&s->mu);
	s->in_syscall = true;
	s->syscall_enter_ns = ls_mono_ns();
	pthread_mutex_unlock(&s->mu);
}

static void on_syscall_ret(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, int64_t ret)
{
	struct ls_stream *s = stream_of(vcpu);

	(void)id;
	if (fork_returning)
		note_fork(vcpu, ret);
	if ((num == sys_execve || num == sys_execveat) && !forked_child)
		__atomic_store_n(&lockstep_plugin_info.exec_state, LS_EXEC_FAILED, __ATOMIC_RELEASE);
	if (!s)
		return;
	/* First: B's syscall log then records what B's guest will see, A's results. */
	if (__atomic_load_n(&fwd_on, __ATOMIC_RELAXED))
		ls_fwd_sys_return(&fwd, vcpu, num, ret);
	if (syslogs[vcpu]) {
		enum ls_read_mode mode = LS_READ_NONE;
		if (__atomic_load_n(&guest_base_known, __ATOMIC_ACQUIRE))
			mode = __atomic_load_n(&multi_vcpu, __ATOMIC_RELAXED) ||
					       __atomic_load_n(&base_mismatches, __ATOMIC_RELAXED) ? LS_READ_CHECKED
												: LS_READ_DIRECT;
		ls_syslog_return(syslogs[vcpu], num, ret, mode, guest_base);
	}
	if (!args.flush_ms)
		return;
	pthread_mutex_lock(&s->mu);
	s->in_syscall = false;
	pthread_mutex_unlock(&s->mu);
}

/*
 * A guest blocked in a syscall publishes nothing by itself, so its partial
 * chunk is flushed from here once the syscall is older than flush=.  The
 * vCPU thread cannot append while it is in the syscall, and it takes mu on
 * the way out, so the stream is ours while we hold mu.
 */
static void *flusher_main(void *unused)
{
	uint64_t flush_ns = args.flush_ms * 1000000ull;
	struct timespec tick = { .tv_sec = 0, .tv_nsec = (long)(flush_ns / 2) };

	(void)unused;
	if (tick.tv_nsec < 1000000)
		tick.tv_nsec = 1000000;
	while (!atomic_load(&exiting)) {
		nanosleep(&tick, NULL);
		uint64_t now = ls_mono_ns();
		for (unsigned i = 0; i < LS_MAX_VCPUS; i++) {
			struct ls_stream *s = stream_of(i);
			if (!s || pthread_mutex_trylock(&s->mu) != 0)
				continue;
			if (s->in_syscall && !s->final && ls_stream_seq(s) != s->published_seq &&
			    now - s->syscall_enter_ns >= flush_ns && !atomic_load(&exiting))
				ls_stream_publish(s, LS_PUB_PARTIAL);
			pthread_mutex_unlock(&s->mu);
		}
	}
	return NULL;
}

/* The last few syscalls of a vCPU, named: a debugging aid for verbose=on. */
static void report_last_syscalls(unsigned vcpu, const struct ls_syslog *l, unsigned max)
{
	uint64_t next = l->batch->sys_next, first = next > max ? next - max : 0;

	for (uint64_t i = first; i < next; i++) {
		const struct ls_sys_rec *r = &l->ring[i & l->mask];
		uint64_t a0 = r->args[0], a1 = r->args[1], a2 = r->args[2], hash = r->out_hash, seq = r->seq;
		int64_t num = r->num, ret = r->ret;
		const char *name = ls_sys_name(arch, num);
		char nbuf[32], result[160] = " did not return";

		if (!name) {
			snprintf(nbuf, sizeof(nbuf), "syscall_%" PRId64, num);
			name = nbuf;
		}
		if (r->state != LS_SYS_ENTERED) {
			int k = snprintf(result, sizeof(result), " = %" PRId64, ret);
			if (r->out_len)
				k += snprintf(result + k, sizeof(result) - (size_t)k,
					      ", %" PRIu32 " bytes out%s, hash %016" PRIx64 ",", r->out_len,
					      r->state == LS_SYS_OUT_UNREADABLE ? " (unreadable)" : "", hash);
			for (unsigned b = 0; b < 16 && b < r->out_len && r->state == LS_SYS_RETURNED; b++)
				k += snprintf(result + k, sizeof(result) - (size_t)k, " %02x", r->out_head[b]);
		}
		report("vCPU %u syscall %" PRIu64 " in block %" PRIu64 ": %s(0x%" PRIx64 ", 0x%" PRIx64 ", 0x%" PRIx64
		       ")%s",
		       vcpu, i, seq - 1, name, a0, a1, a2, result);
	}
}

static void report_logs(void)
{
	char base[64] = "unknown";

	if (__atomic_load_n(&guest_base_known, __ATOMIC_ACQUIRE))
		snprintf(base, sizeof(base), "0x%" PRIx64, guest_base);
	report("logs: %" PRIu64 " translations logged (%" PRIu64 " of %" PRIu64 " KiB), %" PRIu64
	       " dropped (%" PRIu64 " log full, %" PRIu64 " unfit); guest_base %s (%" PRIu64
	       " translations disagree, %" PRIu64 " without host address); target %s",
	       tlog.logged, (uint64_t)lockstep_plugin_info.tlog_used / 1024, tlog.cap / 1024,
	       tlog.dropped_full + tlog.dropped_unfit, tlog.dropped_full, tlog.dropped_unfit, base, base_mismatches,
	       base_unknown_tbs,
	       lockstep_plugin_info.target);
	if (!(lockstep_plugin_info.flags & LS_INFO_SYSCALLS))
		return;
	uint64_t calls = 0, returned = 0, outputs = 0, direct = 0, bytes = 0, capped = 0, unreadable = 0, unmatched = 0;
	int err = 0;
	for (unsigned i = 0; i < LS_MAX_VCPUS; i++) {
		const struct ls_syslog *l = syslogs[i];
		if (!l)
			continue;
		calls += (uint64_t)l->batch->sys_next;
		returned += l->returned;
		outputs += l->outputs;
		direct += l->out_direct;
		bytes += l->out_bytes;
		capped += l->out_capped;
		unreadable += l->unreadable;
		unmatched += l->unmatched;
		if (l->last_read_errno)
			err = l->last_read_errno;
	}
	report("logs: %" PRIu64 " syscalls logged (%" PRIu64 " returned), %" PRIu64 " outputs hashed (%" PRIu64
	       " read in place, %" PRIu64 " bytes, %" PRIu64 " longer than %u KiB), %" PRIu64 " unreadable%s%s%s, %" PRIu64
	       " returns unmatched; %llu records per vCPU",
	       calls, returned, outputs, direct, bytes, capped, LS_SYS_HASH_CAP / 1024, unreadable, err ? " (last: " : "",
	       err ? strerror(err) : "", err ? ")" : "", unmatched, 1ull << args.sys_order);
	/* verbose=syscalls: all of them (a post-mortem strace); verbose=on: the last few of the first vCPUs. */
	for (unsigned i = 0; i < LS_MAX_VCPUS && (args.verbose_syscalls || i < 4); i++)
		if (syslogs[i])
			report_last_syscalls(i, syslogs[i], args.verbose_syscalls ? 1u << args.sys_order : 4);
}

static void on_exit_cb(qemu_plugin_id_t id, void *unused)
{
	uint64_t blocks = 0, insns = 0, pubs = 0, holds = 0, hold_ns = 0, expiries = 0, gate_holds = 0, nholds = 0;
	unsigned nstreams = 0;

	(void)id, (void)unused;
	atomic_store(&exiting, true);
	if (forked_child) {
		if (args.verbose)
			report("exit: this QEMU is a child process the guest forked: it recorded nothing");
		return;
	}
	for (unsigned i = 0; i < LS_MAX_VCPUS; i++) {
		struct ls_stream *s = stream_of(i);
		if (!s)
			continue;
		pthread_mutex_lock(&s->mu);
		if (!s->final) {
			ls_stream_publish(s, LS_PUB_FINAL);
			s->final = true;
		}
		if (s->dump)
			fflush(s->dump);
		pthread_mutex_unlock(&s->mu);
	}
	/* All final publications first, then one wait: the monitor releases them together. */
	uint64_t exit_t0 = ls_mono_ns();
	for (unsigned i = 0; i < LS_MAX_VCPUS; i++) {
		struct ls_stream *s = stream_of(i);
		if (!s)
			continue;
		uint64_t spent = ls_mono_ns() - exit_t0;
		if (!ls_stream_wait_final(s, spent < LS_EXIT_WAIT_MAX_NS ? LS_EXIT_WAIT_MAX_NS - spent : 0))
			report("vCPU %u: the monitor held this QEMU at exit for %.0f s without letting it go: exiting "
			       "anyway (its comparison of this side's end may be incomplete)",
			       i, LS_EXIT_WAIT_MAX_NS / 1e9);
		nstreams++;
		blocks += ls_stream_seq(s);
		insns += s->insns;
		pubs += s->publications;
		holds += s->hold_polls;
		hold_ns += s->hold_ns;
		expiries += s->lease_expiries;
		gate_holds += s->gate_holds;
		nholds += s->holds;
	}
	if (args.verbose) {
		char gate[96] = "not offered";
		uint32_t gs = __atomic_load_n(&lockstep_plugin_info.gate_state, __ATOMIC_ACQUIRE);
		if (gs == LS_GATE_MAPPED)
			snprintf(gate, sizeof(gate), "mapped, %" PRIu64 " holds, %" PRIu64 " decided by the plugin", nholds,
				 gate_holds);
		else if (gs == LS_GATE_FAILED)
			snprintf(gate, sizeof(gate), "failed (%s): permits from the monitor only",
				 strerror(lockstep_plugin_info.gate_errno));
		report("exit: %u stream(s), %" PRIu64 " blocks, %" PRIu64 " instructions, %" PRIu64
		       " publications, %" PRIu64 " permit waits (%.3f s waiting), %" PRIu64
		       " lease expiries, ring %llu KiB per vCPU, gate %s",
		       nstreams, blocks, insns, pubs, holds, hold_ns / 1e9, expiries,
		       (unsigned long long)(sizeof(struct ls_rec) << args.ring_order) / 1024, gate);
	}
	if (args.verbose)
		report_logs();
	if (args.verbose && fwd.h && fwd.side == 1) {
		const struct ls_fwd_stats *f = &fwd.h->st;
		report("forward: %" PRIu64 " syscalls forwarded (%" PRIu64 " bytes), %" PRIu64
		       " with a return value that differs (not forwardable), %" PRIu64 " waits for A (%.3f ms, longest %.3f ms), "
		       "%.0f ns a forwarded syscall besides waiting",
		       f->forwarded, f->bytes, f->ret_differs, f->waits, f->wait_ns / 1e6, f->max_wait_ns / 1e6,
		       f->forwarded ? (double)f->cost_ns / (double)f->forwarded : 0.0);
	}
	if (atomic_load(&dropped_vcpus))
		report("%u vCPU(s) were not recorded", atomic_load(&dropped_vcpus));
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
	char err[256];

	if (ls_plugin_args_parse(&args, argc, argv, err, sizeof(err)) != 0) {
		report("%s", err);
		report("usage: -plugin liblockstep.so[,%s]", LS_PLUGIN_ARGS_USAGE);
		return -1;
	}
	if (args.dump_path && !(dump0 = fopen(args.dump_path, "wb"))) {
		report("dump=%s: cannot create it: %s; not loading", args.dump_path, strerror(errno));
		return -1;
	}
	if (info && info->system_emulation && info->system.max_vcpus > LS_MAX_VCPUS)
		report("this machine has up to %d vCPUs; only the first %d are recorded", info->system.max_vcpus,
		       LS_MAX_VCPUS);
	lockstep_plugin_info.batch_order = args.batch_order;
	lockstep_plugin_info.ring_order = args.ring_order;
	lockstep_plugin_info.batches_addr = (uint64_t)(uintptr_t)batches;
	if (info && info->target_name)
		snprintf(lockstep_plugin_info.target, sizeof(lockstep_plugin_info.target), "%s", info->target_name);
	arch = ls_arch_from_target(info ? info->target_name : NULL);
	linux_user = info && !info->system_emulation;
	if (info && info->system_emulation)
		lockstep_plugin_info.flags |= LS_INFO_SYSTEM;
	if (linux_user && args.forward)
		lockstep_plugin_info.flags |= args.forward == 1 ? LS_INFO_FORWARD_A : LS_INFO_FORWARD_B;
	else if (args.forward)
		report("forward=: only linux-user has syscalls to forward; ignored");
	if (linux_user && args.syscalls) {
		lockstep_plugin_info.flags |= LS_INFO_SYSCALLS;
		lockstep_plugin_info.sys_order = args.sys_order;
	}
	int terr = ls_tlog_init(&tlog, &lockstep_plugin_info, args.tlog_bytes);
	if (terr) {
		report("tlog=%llu KiB: cannot map the translation log: %s; translations are not logged",
		       (unsigned long long)(args.tlog_bytes >> 10), strerror(-terr));
		ls_tlog_init(&tlog, &lockstep_plugin_info, 0);
	}

	for (unsigned v = 0; v < LS_MAX_VCPUS; v++)
		ls_stream_init_sink(&stream_tab[v], v);
	ls_stream_hook = gate_hook;
	qemu_plugin_register_vcpu_init_cb(id, on_vcpu_init);
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
	qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
	/* Syscall log and flush thread; QEMU calls these only in linux-user. */
	qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
	qemu_plugin_register_vcpu_syscall_ret_cb(id, on_syscall_ret);
	for (int64_t n = 0; linux_user && n < 1024; n++) {
		const char *name = ls_sys_name(arch, n);
		if (name && !strcmp(name, "execve"))
			sys_execve = n;
		else if (name && !strcmp(name, "execveat"))
			sys_execveat = n;
	}
	if (linux_user && pthread_atfork(NULL, on_fork_parent, on_fork_child) != 0)
		report("cannot register for fork: a child the guest forks may crash");
	if (args.flush_ms) {
		if (ls_quiet_thread_start(&flusher, flusher_main, NULL) == 0) {
			pthread_detach(flusher);
			flusher_running = true;
		} else {
			report("cannot start the flush thread: stalled guests are compared only at their next chunk");
		}
	}
	return 0;
}
