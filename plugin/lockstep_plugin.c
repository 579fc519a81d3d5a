/* SPDX-License-Identifier: MIT */
/*
 * lockstep_plugin.c - the QEMU TCG plugin (liblockstep.so): argument parsing,
 * QEMU callbacks, the syscall-stall flusher and the probed function.
 *
 * Per executed block it appends a record to its vCPU's ring (stream.h); once
 * per chunk it calls lockstep_publish(), where the monitor's uprobe sits.
 * With no monitor attached that call is a NOP and a ret.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plugin_args.h"
#include "qemu_api.h"
#include "stream.h"

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
static struct ls_stream *streams[LS_MAX_VCPUS];
/* What the monitor reads: each vCPU's publication struct. */
static struct ls_batch *batches[LS_MAX_VCPUS];
static atomic_uint dropped_vcpus;
static pthread_t flusher;
static bool flusher_running;
static atomic_bool exiting;

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
	if (__builtin_expect(vcpu < LS_MAX_VCPUS && streams[vcpu] != NULL, 1))
		ls_stream_append(streams[vcpu], (uint64_t)(uintptr_t)ud);
}

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	uint64_t pc = qemu_plugin_tb_vaddr(tb);
	size_t n = qemu_plugin_tb_n_insns(tb);

	(void)id;
	if (n > UINT16_MAX)
		n = UINT16_MAX; /* TCG caps blocks at 512 instructions */
	qemu_plugin_register_vcpu_tb_exec_cb(tb, on_exec, QEMU_PLUGIN_CB_NO_REGS,
					     (void *)(uintptr_t)ls_rec_make(pc, (uint32_t)n));
}

static void on_vcpu_init(qemu_plugin_id_t id, unsigned int vcpu)
{
	struct ls_stream *s;
	int err;

	(void)id;
	if (vcpu >= LS_MAX_VCPUS) {
		atomic_fetch_add(&dropped_vcpus, 1);
		report("vCPU %u is beyond the %d this plugin records: its blocks are not recorded", vcpu,
		       LS_MAX_VCPUS);
		return;
	}
	if (streams[vcpu])
		return; /* linux-user reuses a finished thread's index: continue its stream */
	s = calloc(1, sizeof(*s));
	if (!s || (err = ls_stream_init(s, vcpu, args.batch_order, args.ring_order)) != 0) {
		report("vCPU %u: cannot allocate a %llu-record ring: %s", vcpu, 1ull << args.ring_order,
		       strerror(s ? -err : ENOMEM));
		free(s);
		atomic_fetch_add(&dropped_vcpus, 1);
		return;
	}
	if (args.dump_path) {
		char path[4096];
		if (vcpu == 0)
			snprintf(path, sizeof(path), "%s", args.dump_path);
		else
			snprintf(path, sizeof(path), "%s.%u", args.dump_path, vcpu);
		s->dump = fopen(path, "wb");
		if (!s->dump)
			report("dump=%s: %s", path, strerror(errno));
	}
	__atomic_store_n(&streams[vcpu], s, __ATOMIC_RELEASE);
	__atomic_store_n(&batches[vcpu], &s->batch, __ATOMIC_RELEASE);
	if (vcpu == 0 && args.wait_ms) {
		if (!ls_stream_wait_monitor(s, args.wait_ms * 1000000ull))
			report("no lockstep-bpf monitor attached within %u ms: running unmonitored", args.wait_ms);
	}
}

static void on_syscall(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1, uint64_t a2,
		       uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8)
{
	struct ls_stream *s = vcpu < LS_MAX_VCPUS ? streams[vcpu] : NULL;

	(void)id, (void)num, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5, (void)a6, (void)a7, (void)a8;
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->in_syscall = true;
	s->syscall_enter_ns = ls_mono_ns();
	pthread_mutex_unlock(&s->mu);
}

static void on_syscall_ret(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, int64_t ret)
{
	struct ls_stream *s = vcpu < LS_MAX_VCPUS ? streams[vcpu] : NULL;

	(void)id, (void)num, (void)ret;
	if (!s)
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
			struct ls_stream *s = __atomic_load_n(&streams[i], __ATOMIC_ACQUIRE);
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

static void on_exit_cb(qemu_plugin_id_t id, void *unused)
{
	uint64_t blocks = 0, insns = 0, pubs = 0, holds = 0, hold_ns = 0, expiries = 0;
	unsigned nstreams = 0;

	(void)id, (void)unused;
	atomic_store(&exiting, true);
	for (unsigned i = 0; i < LS_MAX_VCPUS; i++) {
		struct ls_stream *s = streams[i];
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
	for (unsigned i = 0; i < LS_MAX_VCPUS; i++) {
		struct ls_stream *s = streams[i];
		if (!s)
			continue;
		ls_stream_wait_final(s);
		nstreams++;
		blocks += ls_stream_seq(s);
		insns += s->insns;
		pubs += s->publications;
		holds += s->hold_polls;
		hold_ns += s->hold_ns;
		expiries += s->lease_expiries;
	}
	if (args.verbose)
		report("exit: %u stream(s), %" PRIu64 " blocks, %" PRIu64 " instructions, %" PRIu64
		       " publications, %" PRIu64 " permit waits (%.3f s waiting), %" PRIu64
		       " lease expiries, ring %llu KiB per vCPU",
		       nstreams, blocks, insns, pubs, holds, hold_ns / 1e9, expiries,
		       (unsigned long long)(sizeof(struct ls_rec) << args.ring_order) / 1024);
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
	if (info && info->system_emulation && info->system.max_vcpus > LS_MAX_VCPUS)
		report("this machine has up to %d vCPUs; only the first %d are recorded", info->system.max_vcpus,
		       LS_MAX_VCPUS);
	lockstep_plugin_info.batch_order = args.batch_order;
	lockstep_plugin_info.ring_order = args.ring_order;
	lockstep_plugin_info.batches_addr = (uint64_t)(uintptr_t)batches;

	qemu_plugin_register_vcpu_init_cb(id, on_vcpu_init);
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
	qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
	if (args.flush_ms) {
		qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
		qemu_plugin_register_vcpu_syscall_ret_cb(id, on_syscall_ret);
		if (pthread_create(&flusher, NULL, flusher_main, NULL) == 0) {
			pthread_detach(flusher);
			flusher_running = true;
		} else {
			report("cannot start the flush thread: stalled guests are compared only at their next chunk");
		}
	}
	return 0;
}
