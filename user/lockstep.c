// SPDX-License-Identifier: MIT
/*
 * lockstep.c - the lockstep-bpf command: checks the environment and both
 * targets (or starts them: `run`), loads and attaches the BPF program, waits
 * for divergences and process exits, reads both plugins' rings on a
 * divergence, and reports: text, live summary, JSON lines, metrics.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "correlate.h" /* before the skeleton: it names struct ls_control */
#include "exitcodes.h"
#include "history.h"
#include "json.h"
#include "launch.h"
#include "lockstep.skel.h"
#include "lockstep_wire.h"
#include "metrics.h"
#include "options.h"
#include "report.h"
#include "target.h"

static volatile sig_atomic_t exiting;

/* One vCPU stream of one side, as the monitor steers it. */
struct ls_stream_ctl {
	uint64_t batch_addr; /* 0: this vCPU does not exist (yet) on this side */
	uint64_t attach_chunk;
	uint64_t permit; /* last written */
	uint64_t lease_written_ns;
};

/*
 * Attaching to running QEMUs: both are held at the same chunk T, and what
 * both rings still hold before T is compared in user space, so comparison
 * starts at the earliest block both sides still have, not at the attach.
 */
struct ls_backlog {
	bool active; /* holding both sides at target */
	bool done; /* held, then compared: [lo, lo + blocks) */
	uint64_t target; /* chunk T: the kernel compares from here */
	uint64_t lo, blocks, insns;
	uint64_t end; /* both sides had published up to here when held */
};

#define LS_BACKLOG_WAIT_NS 2000000000ull /* how long both sides may take to reach T */

/*
 * The end of a stream: the kernel compares only publications of equal
 * length, so last chunks cut at different lengths are compared here, from
 * the rings of the QEMUs, which wait at exit (ls_stream_wait_final) until
 * this is done.
 */
struct ls_tail {
	bool done; /* compared, or given up: release the waiting side(s) */
	uint64_t since_ns; /* when a side first published its final chunk */
	uint64_t blocks, insns; /* compared here */
};

#define LS_TAIL_WAIT_NS 2000000000ull /* how long a finished side waits for a partner that lags */

#define LS_TICK_NS 1000000ull /* permit refresh period */
#define LS_DISCOVER_TICKS 50 /* look for new vCPU threads every 50 ms */

struct ls_run {
	const struct ls_opts *opts;
	struct ls_stream_ctl sc[2][LS_MAX_VCPUS];
	struct ls_backlog bk[LS_MAX_VCPUS];
	struct ls_tail tail[LS_MAX_VCPUS];
	uint64_t lease_ns;
	struct lockstep_bpf *skel;
	struct ls_target t[2];
	struct ls_side_desc desc[2];
	int pidfd[2];
	bool ended[2];
	bool stop;
	bool diverged;
	bool config_mismatch;
	bool timed_out;
	bool self_ended; /* a side ended by itself (not stopped by us) before the comparison finished */
	unsigned divergences;
	uint64_t bad_events;
	uint64_t start_ns;
	/* run mode */
	struct ls_child *child; /* [2], or NULL with --pid */
	char end_how[2][160];
	/* live summary and metrics */
	struct ls_http *http;
	bool tty, view_drawn, live_header_done, textfile_failed;
	uint64_t last_live_ns;
	struct ls_live prev;
};

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int libbpf_print_verbose(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level;
	return vfprintf(stderr, fmt, args);
}

static int libbpf_print_quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level, (void)fmt, (void)args;
	return 0;
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "lockstep-bpf: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return LS_EXIT_USAGE;
}

static double elapsed(const struct ls_run *run)
{
	return run->start_ns ? (now_ns() - run->start_ns) / 1e9 : 0;
}

/* A message beside the report: stderr in text mode, a notice object with --json. */
static void notice(struct ls_run *run, const char *level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void notice(struct ls_run *run, const char *level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (run->opts->json) {
		ls_json_notice(stdout, level, msg, elapsed(run));
	} else {
		fprintf(stderr, "lockstep-bpf: %s\n", msg);
		run->view_drawn = false;
	}
}

/* Root usually has them all; name exactly what is missing otherwise. */
static int check_privileges(void)
{
	static const struct {
		int cap;
		const char *name;
	} need[] = {
		{ 39, "CAP_BPF" },
		{ 38, "CAP_PERFMON" },
		{ 21, "CAP_SYS_ADMIN" },
		{ 19, "CAP_SYS_PTRACE" },
	};
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	char missing[256] = "";

	if (syscall(SYS_capget, &hdr, data))
		return fail("cannot read this process's capabilities: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		int c = need[i].cap;
		if (!(data[c / 32].effective & (1u << (c % 32)))) {
			if (*missing)
				strncat(missing, ", ", sizeof(missing) - strlen(missing) - 1);
			strncat(missing, need[i].name, sizeof(missing) - strlen(missing) - 1);
		}
	}
	if (*missing)
		return fail("missing privileges: %s. Run it as root (sudo lockstep-bpf ...) or grant those "
			    "capabilities.",
			    missing);
	return 0;
}

static int check_kernel(void)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return fail("this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): lockstep-bpf needs a "
			    "kernel built with CONFIG_DEBUG_INFO_BTF=y");
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) != 1)
		return fail("this kernel has no BPF ring buffer (needs Linux 5.8 or later)");
	return 0;
}

/* Writer's next sequence number, from its head pointer and last publication. */
static int read_head_seq(pid_t pid, const struct ls_batch *b, uint64_t *head_seq)
{
	uint64_t cur, ring_len = 1ull << b->ring_order, pub_end = (b->chunk << b->batch_order) + b->nblocks;
	int e = ls_target_read(pid, b->head_addr, &cur, sizeof(cur));

	if (e)
		return e;
	uint64_t idx = (cur - b->ring_addr) / sizeof(struct ls_rec);
	if (cur < b->ring_addr || idx > ring_len)
		return -EFAULT;
	*head_seq = pub_end + ((idx - pub_end) & (ring_len - 1));
	return 0;
}

/*
 * Copy records [lo, hi) of one side out of its ring.  Records the writer may
 * have recycled while we copied are cut off, not shown stale.
 */
static int copy_records(pid_t pid, uint64_t batch_addr, uint64_t lo, uint64_t hi, struct ls_side_records *out,
			uint64_t **buf, const char **problem)
{
	struct ls_batch b;
	uint64_t h1, h2;
	int e;

	if ((e = ls_target_read(pid, batch_addr, &b, sizeof(b))) || (e = read_head_seq(pid, &b, &h1))) {
		*problem = "the process's memory could not be read (did it exit?)";
		return e;
	}
	uint64_t ring_len = 1ull << b.ring_order;
	if (hi > h1)
		hi = h1;
	if (lo + ring_len < h1)
		lo = h1 - ring_len;
	if (hi <= lo) {
		*problem = "the records were already overwritten";
		return -ENODATA;
	}
	*buf = calloc(hi - lo, sizeof(uint64_t));
	if (!*buf) {
		*problem = "out of memory";
		return -ENOMEM;
	}
	for (uint64_t s = lo; s < hi;) {
		uint64_t idx = s & (ring_len - 1), n = hi - s;
		if (n > ring_len - idx)
			n = ring_len - idx;
		if ((e = ls_target_read(pid, b.ring_addr + idx * sizeof(uint64_t), *buf + (s - lo),
					n * sizeof(uint64_t)))) {
			*problem = "the process's ring could not be read";
			return e;
		}
		s += n;
	}
	if ((e = ls_target_read(pid, batch_addr, &b, sizeof(b))) || (e = read_head_seq(pid, &b, &h2))) {
		*problem = "the process's memory could not be read after the copy (did it exit?)";
		return e;
	}
	uint64_t valid_lo = h2 > ring_len ? h2 - ring_len : 0;
	out->first_seq = lo;
	out->words = *buf;
	out->n = hi - lo;
	if (valid_lo > lo) {
		uint64_t cut = valid_lo - lo < out->n ? valid_lo - lo : out->n;
		out->first_seq += cut;
		out->words += cut;
		out->n -= cut;
	}
	return 0;
}

/* Find vCPU streams the plugin created since the last look. */
static void discover_streams(struct ls_run *run)
{
	uint64_t addrs[LS_MAX_VCPUS];

	for (int i = 0; i < 2; i++) {
		if (run->ended[i] ||
		    ls_target_read(run->t[i].pid, run->t[i].info.batches_addr, addrs, sizeof(addrs)))
			continue;
		for (int v = 0; v < LS_MAX_VCPUS; v++) {
			struct ls_stream_ctl *c = &run->sc[i][v];
			struct ls_batch b;
			if (c->batch_addr || !addrs[v] || ls_target_read(run->t[i].pid, addrs[v], &b, sizeof(b)))
				continue;
			c->batch_addr = addrs[v];
			/* Its last publication's chunk, or the one after it if that one was full. */
			c->attach_chunk = b.pub_id ? b.chunk + ((b.flags & LS_PUB_FULL) ? 1 : 0) : 0;
			c->permit = 0;
		}
	}
}

/* Write permit_chunk and lease_until_ns (adjacent in struct ls_batch) in one call. */
static int write_permit(pid_t pid, uint64_t batch_addr, uint64_t permit, uint64_t lease_until)
{
	uint64_t val[2] = { permit, lease_until };
	struct iovec local = { val, sizeof(val) };
	struct iovec remote = { (void *)(uintptr_t)(batch_addr + __builtin_offsetof(struct ls_batch, permit_chunk)),
				sizeof(val) };

	return process_vm_writev(pid, &local, 1, &remote, 1, 0) == (ssize_t)sizeof(val) ? 0 : -errno;
}

/*
 * Grant each stream the chunks it may write (ls_permit) and renew the
 * lease.  A write happens only when the permit moved or the lease is half
 * used, so an idle pair costs a few reads of mmapped memory per tick.
 */
static void update_permits(struct ls_run *run, bool force)
{
	uint64_t now = now_ns();
	struct ls_control *ctl = &run->skel->bss->control;
	int frozen = LS_READ(ctl->frozen) && !LS_READ(ctl->released);

	for (int v = 0; v < LS_MAX_VCPUS; v++) {
		for (int i = 0; i < 2; i++) {
			struct ls_stream_ctl *c = &run->sc[i][v];
			if (!c->batch_addr || run->ended[i])
				continue;
			const struct ls_side_state *me = &run->skel->bss->pairs[v].side[i];
			bool fin = LS_READ(me->final);
			uint64_t p = LS_READ(ctl->released) ? ~0ull
				   : fin ? (run->tail[v].done || run->ended[i ^ 1] ? ~0ull : LS_READ(me->hi1))
				   : run->bk[v].active	    ? run->bk[v].target
				   : ls_permit(&run->skel->bss->pairs[v], (uint32_t)i, c->attach_chunk, frozen,
					       run->ended[i ^ 1]);
			if (!force && p == c->permit && now - c->lease_written_ns < run->lease_ns / 4)
				continue;
			if (write_permit(run->t[i].pid, c->batch_addr, p, now + run->lease_ns) == 0) {
				c->permit = p;
				c->lease_written_ns = now;
			}
		}
	}
}

static void handle_divergence(struct ls_run *run, const struct ls_event *ev)
{
	const struct ls_opts *o = run->opts;
	struct ls_side_records rec[2] = {};
	uint64_t *buf[2] = {}, order = run->t[0].info.batch_order;
	struct ls_divergence d = { .vcpu = ev->vcpu, .range_lo = ev->range_lo, .range_hi = ev->range_hi };
	uint64_t chunk_seq = ev->chunk << order;
	uint64_t lo = chunk_seq > o->history + 1 ? chunk_seq - o->history - 1 : 0;
	uint64_t hi = ev->range_hi + o->after + 1;
	struct ls_hist_row *rows = NULL;
	int i;

	run->diverged = true;
	run->divergences++;
	/* Stop both sides at their next chunk before their rings move on. */
	update_permits(run, true);
	for (i = 0; i < 2; i++) {
		if (copy_records(run->t[i].pid, ev->batch_addr[i], lo, hi, &rec[i], &buf[i], &d.problem))
			goto print;
		if (ls_records_anchor(&rec[i], ev->range_hi, ev->insn_end[i])) {
			d.problem = "the faster side had already overwritten the divergent chunk";
			goto print;
		}
	}
	if (ls_first_divergence(rec, ev->range_lo, ev->range_hi, &d.seq)) {
		d.problem = "the records in that range are identical or incomplete (the faster side overwrote them)";
		goto print;
	}
	rows = calloc(o->history + o->after + 1, sizeof(*rows));
	if (!rows) {
		d.problem = "out of memory";
		goto print;
	}
	d.nrows = ls_history(rec, d.seq, o->history, o->after, rows, o->history + o->after + 1);
	d.rows = rows;
	for (size_t k = 0; k < d.nrows; k++) {
		if (rows[k].seq != d.seq)
			continue;
		for (i = 0; i < 2; i++) {
			d.pc[i] = rows[k].pc[i];
			d.ninsns[i] = rows[k].ninsns[i];
			d.cum[i] = rows[k].cum[i];
		}
	}
	d.found = true;
print:
	if (o->json) {
		ls_json_divergence(stdout, run->desc, &d, run->divergences, elapsed(run));
	} else {
		ls_print_divergence(stdout, run->desc, &d);
		fflush(stdout);
		run->view_drawn = false;
	}
	if (run->divergences >= o->max_divergences) {
		run->stop = true;
	} else {
		/*
		 * Compare on.  Without re-alignment every later chunk that differs
		 * counts again; chunks published while frozen stay uncompared
		 * (counted as unmatched in the summary).
		 */
		__atomic_store_n(&run->skel->bss->control.frozen, 0, __ATOMIC_RELEASE);
		update_permits(run, true);
	}
	free(rows);
	free(buf[0]);
	free(buf[1]);
}

/* Side i of vCPU v has published chunk t in full and waits before t + 1. */
static bool held_at(struct ls_run *run, int i, int v, uint64_t t, struct ls_batch *b)
{
	uint64_t head;

	if (ls_target_read(run->t[i].pid, run->sc[i][v].batch_addr, b, sizeof(*b)) ||
	    read_head_seq(run->t[i].pid, b, &head))
		return false;
	return b->chunk == t && (b->flags & LS_PUB_FULL) && head == (t + 1) << b->batch_order;
}

static void handle_divergence(struct ls_run *run, const struct ls_event *ev);

/* First block of vCPU v's comparison: the backlog's start, else the kernel's pairing start (start1 - 1 chunks). */
static uint64_t compare_start(const struct ls_run *run, int v, uint64_t start1)
{
	const struct ls_backlog *bk = &run->bk[v];

	return bk->end ? bk->lo : start1 ? (start1 - 1) << run->t[0].info.batch_order : 0;
}

/*
 * Record-by-record comparison of two copies over [lo, hi) (both must hold
 * it): returns where they stop being equal (hi if they never do) and adds
 * the instructions of the equal blocks to *insns.
 */
static uint64_t compare_copies(const struct ls_side_records rec[2], uint64_t lo, uint64_t hi, uint64_t *insns)
{
	uint64_t d;

	if (ls_first_divergence(rec, lo, hi, &d) == 0)
		hi = d;
	for (uint64_t q = lo; q < hi; q++)
		*insns += ls_rec_ninsns(rec[0].words[q - rec[0].first_seq]);
	return hi;
}

/*
 * A divergence found in user space at block d, reported like a kernel-found
 * one; insn_end[i] is side i's instruction count through block range_hi - 1.
 */
static void user_divergence(struct ls_run *run, int v, uint64_t d, uint64_t range_hi, const uint64_t insn_end[2])
{
	struct ls_event ev = { .type = LS_EV_DIVERGE, .vcpu = (uint32_t)v,
			       .chunk = d >> run->t[0].info.batch_order, .range_lo = d, .range_hi = range_hi };

	for (int i = 0; i < 2; i++) {
		ev.batch_addr[i] = run->sc[i][v].batch_addr;
		ev.insn_end[i] = insn_end[i];
	}
	handle_divergence(run, &ev);
}

/* Compare [max(oldest held), T * chunk) of both held sides, record by record. */
static void backlog_compare(struct ls_run *run, int v, const struct ls_batch b[2])
{
	struct ls_backlog *bk = &run->bk[v];
	struct ls_side_records rec[2] = {};
	uint64_t *buf[2] = {}, order = b[0].batch_order, ring = 1ull << b[0].ring_order;
	uint64_t end = (bk->target + 1) << order, hi = end;
	uint64_t lo = end > ring ? end - ring : 0;
	const char *problem = NULL;

	for (int i = 0; i < 2; i++) {
		if (copy_records(run->t[i].pid, run->sc[i][v].batch_addr, lo, hi, &rec[i], &buf[i], &problem)) {
			notice(run, "notice", "vCPU %d: blocks before %" PRIu64 " not compared: %c: %s", v, hi,
			       run->desc[i].label, problem ? problem : "cannot copy its ring");
			goto out;
		}
	}
	lo = rec[0].first_seq > rec[1].first_seq ? rec[0].first_seq : rec[1].first_seq;
	if (lo >= hi)
		goto out;
	hi = compare_copies(rec, lo, hi, &bk->insns);
	bk->lo = lo;
	bk->end = end;
	bk->blocks = hi - lo;
	if (hi < end) {
		/* Both are held right after chunk T: their counts there anchor the history. */
		uint64_t insn_end[2] = { b[0].insn_base + b[0].insns, b[1].insn_base + b[1].insns };
		user_divergence(run, v, hi, end, insn_end);
		goto out;
	}
	if (run->opts->verbose)
		notice(run, "notice", "vCPU %d: compared blocks %" PRIu64 " to %" PRIu64 " from both rings", v, lo, hi - 1);
out:
	free(buf[0]);
	free(buf[1]);
}

/*
 * --pid on running QEMUs: before the uprobes go in, hold every stream pair
 * at the later side's current chunk T (raised if a side got past it before
 * its permit landed), so the kernel starts at T + 1 on both sides and user
 * space compares what both rings hold up to there.  Pairs that do not get
 * there in time (a side blocked in a system call) are let go and said so.
 */
static void backlog_hold(struct ls_run *run)
{
	uint64_t deadline = now_ns() + LS_BACKLOG_WAIT_NS;
	bool any = false, all;

	for (int v = 0; v < LS_MAX_VCPUS; v++) {
		const struct ls_stream_ctl *a = &run->sc[0][v], *b = &run->sc[1][v];
		if (!a->batch_addr || !b->batch_addr)
			continue;
		uint64_t t = a->attach_chunk > b->attach_chunk ? a->attach_chunk : b->attach_chunk;
		if (!t)
			continue; /* both in their first chunk: the kernel will see all of it */
		run->bk[v] = (struct ls_backlog){ .active = true, .target = t };
		any = true;
	}
	if (!any)
		return;
	update_permits(run, true);
	do {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
		all = true;
		for (int v = 0; v < LS_MAX_VCPUS; v++) {
			struct ls_backlog *bk = &run->bk[v];
			struct ls_batch b[2] = {};
			bool held = bk->active;
			for (int i = 0; bk->active && i < 2; i++) {
				held &= held_at(run, i, v, bk->target, &b[i]);
				if (b[i].chunk > bk->target) /* it was past T before its permit landed */
					bk->target = b[i].chunk;
			}
			bk->done = held;
			all &= !bk->active || held;
		}
		update_permits(run, false);
	} while (!all && !exiting && now_ns() < deadline);
	for (int v = 0; v < LS_MAX_VCPUS; v++) {
		struct ls_backlog *bk = &run->bk[v];
		if (!bk->active || bk->done)
			continue;
		notice(run, "notice",
		       "vCPU %d: blocks before %" PRIu64 " not compared: a side did not reach that block within %.0f s "
		       "(blocked in a system call?)",
		       v, (bk->target + 1) << run->t[0].info.batch_order, LS_BACKLOG_WAIT_NS / 1e9);
		bk->active = false;
	}
	update_permits(run, true);
}

/* With the uprobes in: compare each held pair's backlog, then let both go. */
static void backlog_finish(struct ls_run *run)
{
	for (int v = 0; v < LS_MAX_VCPUS; v++) {
		struct ls_backlog *bk = &run->bk[v];
		struct ls_batch b[2];
		if (!bk->active)
			continue;
		if (held_at(run, 0, v, bk->target, &b[0]) && held_at(run, 1, v, bk->target, &b[1]))
			backlog_compare(run, v, b);
		bk->active = false;
		for (int i = 0; i < 2; i++)
			run->sc[i][v].attach_chunk = bk->target + 1;
	}
	update_permits(run, true);
}

/* Compare [end of what the kernel compared, the shorter side's end) from both rings. */
static void tail_compare(struct ls_run *run, int v)
{
	const struct ls_pair_state *st = &run->skel->bss->pairs[v];
	const struct ls_backlog *bk = &run->bk[v];
	struct ls_tail *tl = &run->tail[v];
	uint64_t start1 = LS_READ(st->start1), pub[2], *buf[2] = {};
	struct ls_side_records rec[2] = {};
	const char *problem = NULL;

	if (!start1 && !bk->end)
		return; /* never paired: nothing to continue from */
	for (int i = 0; i < 2; i++) {
		pub[i] = LS_READ(st->side[i].pub_end);
		if (LS_READ(st->side[i].uncompared_late))
			return; /* the kernel's comparison has a gap: the tail would not join it */
	}
	uint64_t lo = compare_start(run, v, start1) + LS_READ(st->compared_blocks) + bk->blocks;
	uint64_t common = pub[0] < pub[1] ? pub[0] : pub[1];
	if (lo >= common)
		return;
	for (int i = 0; i < 2; i++) {
		if (copy_records(run->t[i].pid, run->sc[i][v].batch_addr, lo, pub[i], &rec[i], &buf[i], &problem) ||
		    rec[i].first_seq != lo || rec[i].first_seq + rec[i].n < common) {
			notice(run, "notice", "vCPU %d: blocks %" PRIu64 " to %" PRIu64 " not compared: %c: %s", v, lo,
			       common - 1, run->desc[i].label, problem ? problem : "its ring no longer holds them");
			goto out;
		}
	}
	uint64_t hi = compare_copies(rec, lo, common, &tl->insns);
	tl->blocks = hi - lo;
	if (hi < common) {
		uint64_t insn_end[2];
		for (int i = 0; i < 2; i++) {
			/* Instructions through block common - 1: the side's total minus what came after. */
			uint64_t after = 0;
			for (uint64_t q = common; q < pub[i]; q++)
				after += ls_rec_ninsns(rec[i].words[q - lo]);
			insn_end[i] = LS_READ(st->side[i].pub_insn_end) - after;
		}
		user_divergence(run, v, hi, common, insn_end);
	}
out:
	free(buf[0]);
	free(buf[1]);
}

/* Each tick: streams that published their final chunk get their tail compared, then are let go. */
static void tail_step(struct ls_run *run)
{
	uint64_t now = now_ns();
	bool changed = false;

	for (int v = 0; v < LS_MAX_VCPUS; v++) {
		const struct ls_pair_state *st = &run->skel->bss->pairs[v];
		struct ls_tail *tl = &run->tail[v];
		bool fin[2] = { LS_READ(st->side[0].final) != 0, LS_READ(st->side[1].final) != 0 };
		if (tl->done || (!fin[0] && !fin[1]))
			continue;
		if (!tl->since_ns)
			tl->since_ns = now;
		uint64_t pa = LS_READ(st->side[0].pub_end), pb = LS_READ(st->side[1].pub_end);
		/* Ready when the other side is final too, or has published past this side's end. */
		bool ready = (fin[0] && fin[1]) || (fin[0] && pb >= pa) || (fin[1] && pa >= pb);
		if (run->ended[0] || run->ended[1] || run->diverged || run->stop) {
			tl->done = changed = true;
		} else if (ready) {
			tail_compare(run, v);
			tl->done = changed = true;
		} else if (now - tl->since_ns > LS_TAIL_WAIT_NS) {
			notice(run, "notice", "vCPU %d: %c finished at block %" PRIu64 "; %c, at %" PRIu64 ", did not get "
			       "there within %.0f s: the end is compared as far as the kernel could",
			       v, fin[0] ? 'A' : 'B', fin[0] ? pa : pb, fin[0] ? 'B' : 'A', fin[0] ? pb : pa,
			       LS_TAIL_WAIT_NS / 1e9);
			tl->done = changed = true;
		}
	}
	if (changed)
		update_permits(run, true);
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct ls_run *run = ctx;
	const struct ls_event *ev = data;

	/* Always 0: an error return would stop ring_buffer__consume mid-drain. */
	if (size < sizeof(*ev)) {
		run->bad_events++;
		return 0;
	}
	switch (ev->type) {
	case LS_EV_DIVERGE:
		if (!run->stop)
			handle_divergence(run, ev);
		break;
	case LS_EV_STATS:
		break; /* the kernel's heartbeat: the live summary reads the counters itself */
	case LS_EV_BAD_BATCH:
		notice(run, "error", "%c published an unreadable or incompatible batch at 0x%" PRIx64,
		       run->desc[ev->side & 1].label, (uint64_t)ev->batch_addr[ev->side & 1]);
		break;
	case LS_EV_CONFIG_MISMATCH:
		notice(run, "error", "the two plugins cut blocks into chunks of different sizes "
				     "(batch=): start both QEMUs with the same plugin arguments");
		run->config_mismatch = true;
		run->stop = true;
		break;
	default:
		run->bad_events++;
	}
	return 0;
}

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Sum the kernel-side state over all vCPU streams. */
static bool comparison_complete(struct ls_run *run);

static void collect(struct ls_run *run, struct ls_summary *s)
{
	struct ls_pair_state st;

	bool final[2] = { true, true };

	memset(s, 0, sizeof(*s));
	for (uint32_t k = 0; k < LS_MAX_VCPUS; k++) {
		const struct ls_backlog *bk = &run->bk[k];
		memcpy(&st, &run->skel->bss->pairs[k], sizeof(st));
		if (!st.side[0].publications && !st.side[1].publications && !bk->end)
			continue;
		s->vcpus++;
		const struct ls_tail *tl = &run->tail[k];
		s->compared_blocks += st.compared_blocks + bk->blocks + tl->blocks;
		s->compared_insns += st.compared_insns + bk->insns + tl->insns;
		uint64_t start = compare_start(run, (int)k, st.start1);
		bool started = st.start1 || bk->end;
		if (started && (!s->started || start < s->start_seq))
			s->start_seq = start;
		s->started |= started;
		for (int i = 0; i < 2; i++) {
			struct ls_side_summary *ss = &s->side[i];
			uint64_t pub = st.side[i].pub_end > bk->end ? st.side[i].pub_end : bk->end;
			uint64_t early = started ? (start < pub ? start : pub) : 0;
			uint64_t late = st.side[i].uncompared_late;
			ss->published_end += pub;
			final[i] &= st.side[i].final != 0;
			ss->early += early;
			ss->late += late;
			ss->overruns += st.side[i].overruns;
			uint64_t accounted = early + late + st.compared_blocks + bk->blocks + tl->blocks;
			ss->pending += pub > accounted ? pub - accounted : 0;
		}
	}
	s->ringbuf_lost = run->skel->bss->control.ringbuf_lost;
	s->bad_batches = run->skel->bss->control.bad_batches + run->bad_events;
	s->divergences = run->divergences;
	for (int i = 0; i < 2; i++) {
		const char *how = s->vcpus && final[i] ? "finished (published its last block)"
				  : run->ended[i]	   ? "exited without publishing its last block"
							   : "still running";
		s->side[i].ended = run->ended[i];
		if (run->child && run->child[i].reaped) {
			char buf[64];
			snprintf(run->end_how[i], sizeof(run->end_how[i]), "%s; %s",
				 strcmp(how, "still running") ? how : "stopped by lockstep-bpf",
				 ls_child_how(&run->child[i], buf, sizeof(buf)));
			how = run->end_how[i];
		}
		s->side[i].end_how = how;
	}
	if (run->diverged)
		s->late_why = "after the divergence";
	else if (run->timed_out || exiting || run->stop || !(run->ended[0] || run->ended[1] || comparison_complete(run)))
		s->late_why = "after the monitor stopped";
	else
		s->late_why = "past the other side's end";
	s->elapsed_s = elapsed(run);
}

static void publish_metrics(struct ls_run *run, const struct ls_summary *s)
{
	char buf[16384];

	if (!run->http && !run->opts->textfile)
		return;
	if (ls_metrics_format(buf, sizeof(buf), s, run->desc) < 0)
		return; /* cannot happen with this buffer; never serve a cut-off text */
	if (run->http)
		ls_http_set_body(run->http, buf);
	if (run->opts->textfile) {
		int e = ls_textfile_write(run->opts->textfile, buf);
		if (e && !run->textfile_failed)
			notice(run, "error", "--textfile %s: %s (will keep trying)", run->opts->textfile, strerror(-e));
		run->textfile_failed = e != 0;
	}
}

/* One live-summary sample: printed (unless --quiet) and published as metrics. */
static void live_sample(struct ls_run *run, bool print)
{
	const struct ls_opts *o = run->opts;
	struct ls_summary s;
	struct ls_live l = {};
	uint64_t now = now_ns();

	collect(run, &s);
	l.elapsed_s = s.elapsed_s;
	for (int i = 0; i < 2; i++) {
		l.blocks[i] = s.side[i].published_end;
		l.ended[i] = run->ended[i];
		/* Pending blocks are still in flight while running: only the summary counts them. */
		l.uncompared += s.side[i].early + s.side[i].late;
	}
	l.compared_blocks = s.compared_blocks;
	l.compared_insns = s.compared_insns;
	l.lag = (int64_t)(l.blocks[0] - l.blocks[1]);
	l.divergences = s.divergences;
	l.lost = s.ringbuf_lost + s.bad_batches;
	if (run->last_live_ns && now > run->last_live_ns) {
		double dt = (now - run->last_live_ns) / 1e9;
		for (int i = 0; i < 2; i++)
			l.rate[i] = (double)(l.blocks[i] - run->prev.blocks[i]) / dt;
		l.compared_rate = (double)(l.compared_blocks - run->prev.compared_blocks) / dt;
	}
	run->prev = l;
	run->last_live_ns = now;
	publish_metrics(run, &s);
	if (!print || o->quiet)
		return;
	if (o->json) {
		ls_json_interval(stdout, &l);
	} else if (run->tty) {
		ls_print_live_view(stdout, run->desc, &l, run->view_drawn);
		run->view_drawn = true;
	} else {
		if (!run->live_header_done)
			ls_print_live_header(stdout);
		run->live_header_done = true;
		ls_print_live_line(stdout, &l);
		fflush(stdout);
	}
}

static void side_ended(struct ls_run *run, int w)
{
	struct ls_summary s;
	char how[64] = "exited";
	int status = -1;

	if (run->child) {
		if (ls_child_reap(&run->child[w])) {
			int ws = run->child[w].wstatus;
			status = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? WTERMSIG(ws) : -1;
			ls_child_how(&run->child[w], how, sizeof(how));
		}
	}
	collect(run, &s);
	if (run->opts->json) {
		ls_json_side_exit(stdout, &run->desc[w], how, status, s.side[w].published_end, elapsed(run));
	} else if (!run->opts->quiet || run->opts->verbose) {
		printf("%c (pid %d) %s after publishing %" PRIu64 " blocks (%.2f s)\n", run->desc[w].label,
		       (int)run->desc[w].pid, how, s.side[w].published_end, elapsed(run));
		fflush(stdout);
		run->view_drawn = false;
	}
}

/*
 * Every stream of both sides published its final chunk, at the same block,
 * and every block from the comparison start was compared.
 */
static bool comparison_complete(struct ls_run *run)
{
	unsigned active = 0;

	for (uint32_t k = 0; k < LS_MAX_VCPUS; k++) {
		const struct ls_pair_state *st = &run->skel->bss->pairs[k];
		if (!LS_READ(st->side[0].publications) && !LS_READ(st->side[1].publications))
			continue;
		active++;
		uint64_t end = LS_READ(st->side[0].pub_end), start1 = LS_READ(st->start1);
		const struct ls_backlog *bk = &run->bk[k];
		uint64_t start = compare_start(run, (int)k, start1);
		if (!LS_READ(st->side[0].final) || !LS_READ(st->side[1].final) || end != LS_READ(st->side[1].pub_end) ||
		    !(start1 || bk->end) || LS_READ(st->compared_blocks) + bk->blocks + run->tail[k].blocks != end - start)
			return false;
	}
	return active > 0;
}

/* With one side gone, is there anything left the other side could match? */
static bool nothing_left_to_compare(struct ls_run *run)
{
	int gone = run->ended[0] ? 0 : 1;

	for (uint32_t k = 0; k < LS_MAX_VCPUS; k++) {
		const struct ls_pair_state *st = &run->skel->bss->pairs[k];
		uint64_t g = LS_READ(st->side[gone].pub_end), o = LS_READ(st->side[gone ^ 1].pub_end);
		if (g && o < g)
			return false;
	}
	return true;
}

/*
 * Wait up to timeout_ns for the chosen children (run mode) to exit by
 * themselves, carrying their output through; an interruptible wait ends
 * early on Ctrl-C or SIGTERM.
 */
static void wait_children(struct ls_run *run, const bool which[2], uint64_t timeout_ns, bool interruptible)
{
	for (uint64_t until = now_ns() + timeout_ns; now_ns() < until && !(interruptible && exiting);) {
		bool waiting = false;
		for (int i = 0; i < 2; i++) {
			if (!which[i] || ls_child_reap(&run->child[i]))
				continue;
			waiting = true;
			for (int n = 0; n < 2; n++)
				ls_child_pump(&run->child[i], n, stderr);
		}
		if (!waiting)
			return;
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
	}
}

static int run_monitor(struct ls_run *run)
{
	const struct ls_opts *o = run->opts;
	struct bpf_link *links[2] = {};
	struct ring_buffer *rb = NULL;
	struct ls_summary sum;
	int epfd = -1, err, code = LS_EXIT_USAGE, i;

	run->pidfd[0] = run->pidfd[1] = -1;
	run->skel = lockstep_bpf__open();
	if (!run->skel) {
		code = fail("cannot open the BPF object: %s", strerror(errno));
		goto cleanup;
	}
	if ((err = lockstep_bpf__load(run->skel))) {
		code = fail("the kernel refused the BPF program: %s (rerun with -v for the verifier log)",
			    strerror(-err));
		goto cleanup;
	}
	run->lease_ns = (uint64_t)o->lease_ms * 1000000ull;
	discover_streams(run);
	if (!run->child)
		backlog_hold(run);
	for (i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = "lockstep_publish", .bpf_cookie = (uint64_t)i);
		links[i] = bpf_program__attach_uprobe_opts(run->skel->progs.on_publish, run->t[i].pid,
							   run->t[i].probe_path, 0, &uo);
		if (!links[i]) {
			code = fail("cannot attach the uprobe to %c (pid %d, %s): %s", run->t[i].label,
				    (int)run->t[i].pid, run->t[i].plugin_path, strerror(errno));
			goto cleanup;
		}
		run->pidfd[i] = pidfd_open_(run->t[i].pid);
		if (run->pidfd[i] < 0) {
			code = fail("%c: pid %d: %s", run->t[i].label, (int)run->t[i].pid,
				    errno == ESRCH ? "exited while the monitor was starting" : strerror(errno));
			goto cleanup;
		}
	}
	rb = ring_buffer__new(bpf_map__fd(run->skel->maps.events), handle_event, run, NULL);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!rb || epfd < 0) {
		code = fail("cannot set up the event ring buffer: %s", strerror(errno));
		goto cleanup;
	}
	/* epoll data: 0-1 pidfds, 2 the ring buffer, 4 + 2 * side + n a side's stdout (n 0) or stderr (n 1). */
	struct epoll_event ee = { .events = EPOLLIN, .data.u32 = 2 };
	epoll_ctl(epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(rb), &ee);
	for (i = 0; i < 2; i++) {
		ee.data.u32 = (uint32_t)i;
		epoll_ctl(epfd, EPOLL_CTL_ADD, run->pidfd[i], &ee);
		for (int n = 0; run->child && n < 2; n++) {
			if (run->child[i].fd[n] < 0)
				continue;
			ee.data.u32 = (uint32_t)(4 + 2 * i + n);
			epoll_ctl(epfd, EPOLL_CTL_ADD, run->child[i].fd[n], &ee);
		}
	}
	if (o->metrics) {
		char err[256];
		run->http = ls_http_start(o->metrics, err, sizeof(err));
		if (!run->http) {
			code = fail("--metrics %s", err);
			goto cleanup;
		}
	}

	run->tty = isatty(STDOUT_FILENO) && !o->json;
	run->start_ns = now_ns();
	if (o->json) {
		ls_json_start(stdout, run->desc, 1u << run->t[0].info.batch_order, 0);
	} else {
		ls_print_header(stdout, run->desc);
		printf("comparing (batch of %u blocks per uprobe hit)%s; Ctrl-C stops\n", 1u << run->t[0].info.batch_order,
		       run->child ? ", from the first block" : "");
		if (run->http)
			printf("metrics on http://%s/metrics\n", ls_http_addr(run->http));
		fflush(stdout);
	}
	/* Compare what a late attach held back; the first lease lets QEMUs held by wait= go. */
	backlog_finish(run);
	live_sample(run, false);
	uint64_t interval_ns = o->interval_ms * 1000000ull;
	uint64_t deadline = o->timeout_ms ? run->start_ns + o->timeout_ms * 1000000ull : 0;
	for (unsigned tick = 1; !exiting && !run->stop; tick++) {
		struct epoll_event evs[8];
		struct timespec ts = { 0, (long)LS_TICK_NS };
		int n = epoll_pwait2(epfd, evs, 8, &ts, NULL);
		if (n < 0 && errno != EINTR) {
			code = fail("epoll_wait: %s", strerror(errno));
			goto cleanup;
		}
		for (int k = 0; k < n; k++) {
			uint32_t w = evs[k].data.u32;
			if (w == 2) {
				ring_buffer__consume(rb);
			} else if (w >= 4) {
				ls_child_pump(&run->child[(w - 4) / 2], (int)(w - 4) % 2, stderr);
				run->view_drawn = false;
			} else if (!run->ended[w]) {
				/* Anything it published before exiting counts: look before deciding. */
				ring_buffer__consume(rb);
				run->ended[w] = true;
				run->self_ended = true;
				run->skel->bss->control.ended[w] = 1;
				epoll_ctl(epfd, EPOLL_CTL_DEL, run->pidfd[w], NULL);
				side_ended(run, (int)w);
			}
		}
		if ((run->ended[0] && run->ended[1]) || comparison_complete(run))
			break;
		if (tick % LS_DISCOVER_TICKS == 0)
			discover_streams(run);
		tail_step(run);
		update_permits(run, false);
		if ((run->ended[0] || run->ended[1]) && nothing_left_to_compare(run))
			break;
		uint64_t now = now_ns();
		if (now - run->last_live_ns >= interval_ns)
			live_sample(run, true);
		if (deadline && now >= deadline) {
			run->timed_out = true;
			notice(run, "notice", "--timeout reached after %.2f s: stopping", elapsed(run));
			break;
		}
	}
	/* Drain what the kernel produced before we stopped looking. */
	ring_buffer__consume(rb);
	if (exiting)
		notice(run, "notice", "interrupted after %.2f s: stopping", elapsed(run));
	if (run->child) {
		/* A side waiting at exit for its tail to be compared may go now, with its own exit status. */
		bool fin_side[2] = { true, true };
		for (int v = 0; v < LS_MAX_VCPUS; v++) {
			const struct ls_pair_state *st = &run->skel->bss->pairs[v];
			run->tail[v].done = true;
			for (i = 0; i < 2; i++)
				if (LS_READ(st->side[i].publications) && !LS_READ(st->side[i].final))
					fin_side[i] = false;
		}
		update_permits(run, true);
		/* Finished QEMUs are exiting by themselves: let them, carrying their output through. */
		if (comparison_complete(run))
			wait_children(run, (const bool[2]){ true, true }, 10000000000ull, true);
		wait_children(run, fin_side, 300000000ull, false);
		/* Stopped early (divergence limit, timeout, signal, the other side gone) or hanging: end them. */
		for (i = 0; i < 2; i++)
			if (!ls_child_reap(&run->child[i]))
				notice(run, "notice", "stopping %c (pid %d)", run->desc[i].label, (int)run->desc[i].pid);
		ls_children_stop(run->child, 2, 1000);
		for (i = 0; i < 2; i++) {
			ls_child_drain(&run->child[i], stderr);
			if (!run->ended[i]) {
				run->ended[i] = true;
				side_ended(run, i);
			}
		}
	}
	/* Let waiting QEMUs go at once rather than when their lease expires. */
	run->skel->bss->control.released = 1;
	update_permits(run, true);

	collect(run, &sum);
	bool outcomes_differ = false;
	if (run->child && run->child[0].reaped && run->child[1].reaped &&
	    run->child[0].wstatus != run->child[1].wstatus && comparison_complete(run))
		outcomes_differ = true;
	if (run->diverged || outcomes_differ)
		code = LS_EXIT_DIVERGED;
	else if (run->config_mismatch)
		code = LS_EXIT_USAGE;
	else if (comparison_complete(run))
		code = LS_EXIT_OK;
	else if (run->self_ended) /* it ended first: what stopped us after that does not matter */
		code = LS_EXIT_SIDE_ENDED;
	else
		code = LS_EXIT_STOPPED;
	if (run->child && run->self_ended && !sum.side[0].published_end && !sum.side[1].published_end &&
	    !run->diverged) {
		/* Nothing ran at all: a bad guest, not a comparison that ended early. */
		char a[64], b[64];
		notice(run, "error",
		       "neither QEMU ran a single guest block (A %s, B %s): check the guest path and arguments; "
		       "qemu-user 7.2 exits with status 1 and no message when it cannot load the guest",
		       ls_child_how(&run->child[0], a, sizeof(a)), ls_child_how(&run->child[1], b, sizeof(b)));
		code = LS_EXIT_USAGE;
	}
	const char *verdict[] = { "no divergence", "DIVERGED", "error", "a side ended before the comparison finished",
				  "stopped before the comparison finished" };
	char result[256];
	if (outcomes_differ) {
		char a[64], b[64];
		snprintf(result, sizeof(result), "DIVERGED: every block matched, but A %s and B %s",
			 ls_child_how(&run->child[0], a, sizeof(a)), ls_child_how(&run->child[1], b, sizeof(b)));
	} else {
		snprintf(result, sizeof(result), "%s", verdict[code]);
	}
	live_sample(run, false); /* final metrics */
	if (o->json) {
		ls_json_summary(stdout, run->desc, &sum, code, result);
	} else {
		ls_print_summary(stdout, run->desc, &sum);
		printf("result: %s (exit %d)\n", result, code);
	}

cleanup:
	ls_http_stop(run->http);
	if (epfd >= 0)
		close(epfd);
	ring_buffer__free(rb);
	for (i = 0; i < 2; i++) {
		bpf_link__destroy(links[i]);
		if (run->pidfd[i] >= 0)
			close(run->pidfd[i]);
	}
	lockstep_bpf__destroy(run->skel);
	return code;
}

/*
 * `run`: start both QEMUs held before their first block (wait=), and wait
 * until each has its plugin loaded and vCPU 0's stream registered, so the
 * monitor attaches before any block runs.
 */
static int launch_both(struct ls_run *run, struct ls_opts *o, struct ls_child child[2])
{
	char plugin[PATH_MAX], err[1024];
	char parg[PATH_MAX + 512];

	if (ls_find_plugin(o->plugin, plugin, sizeof(plugin), err, sizeof(err)))
		return fail("%s", err);
	/* wait= first: a user's own wait= in --plugin-args comes later and wins. */
	snprintf(parg, sizeof(parg), "%s,wait=60s%s%s", plugin, o->plugin_args ? "," : "",
		 o->plugin_args ? o->plugin_args : "");
	for (int i = 0; i < 2; i++) {
		if (ls_launch(&child[i], (char)('A' + i), o->qemu[i], o->side_args[i], o->nside_args[i], parg,
			      o->guest_argv, o->guest_argc, o->output_dir, err, sizeof(err)))
			return fail("%s", err);
		o->pid[i] = child[i].pid;
	}
	run->child = child;
	uint64_t give_up = now_ns() + 20000000000ull;
	for (int i = 0; i < 2; i++) {
		for (;;) {
			uint64_t batch0 = 0;
			if (ls_target_open(&run->t[i], child[i].pid, (char)('A' + i), err, sizeof(err)) == 0 &&
			    ls_target_read(child[i].pid, run->t[i].info.batches_addr, &batch0, sizeof(batch0)) == 0 &&
			    batch0)
				break;
			for (int j = 0; j < 2; j++)
				ls_child_pump(&child[i], j, stderr);
			if (ls_child_reap(&child[i])) {
				char how[64];
				ls_child_drain(&child[i], stderr);
				return fail("%c: %s %s before its plugin was ready (its output, if any, is %s; "
					    "qemu-user 7.2 exits with status 1 and no message when it cannot load the "
					    "guest: check the guest path)",
					    'A' + i, o->qemu[i], ls_child_how(&child[i], how, sizeof(how)),
					    o->output_dir ? "in --output-dir" : "above");
			}
			if (now_ns() > give_up)
				return fail("%c: %s did not load the plugin within 20 s: %s", 'A' + i, o->qemu[i], err);
			if (exiting) {
				fprintf(stderr, "lockstep-bpf: interrupted while starting the QEMUs\n");
				return LS_EXIT_STOPPED;
			}
			struct timespec ts = { 0, 2000000 };
			nanosleep(&ts, NULL);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ls_opts opts;
	struct ls_run run;
	struct ls_child child[2];
	struct sigaction sa;
	char err[1024];
	int rc;

	ls_opts_parse(argc, argv, &opts);
	memset(&run, 0, sizeof(run));
	memset(child, 0, sizeof(child));
	run.opts = &opts;
	libbpf_set_print(opts.verbose ? libbpf_print_verbose : libbpf_print_quiet);

	if ((rc = check_privileges()) || (rc = check_kernel()))
		return rc;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* Closing the terminal (SIGHUP) must not leave started QEMUs running unwatched. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a metrics client that hangs up must not kill us */
	/* A freeze must land before the rings move on: do not queue behind the QEMUs. */
	setpriority(PRIO_PROCESS, 0, -10);
	if (opts.launch) {
		rc = launch_both(&run, &opts, child);
	} else {
		for (int i = 0; i < 2 && !rc; i++)
			if (ls_target_open(&run.t[i], opts.pid[i], (char)('A' + i), err, sizeof(err)))
				rc = fail("%s", err);
	}
	for (int i = 0; i < 2 && !rc; i++)
		run.desc[i] = (struct ls_side_desc){ run.t[i].label, run.t[i].pid, run.t[i].exe, run.t[i].cmdline,
						     run.t[i].guest, run.t[i].plugin_version };
	if (!rc && run.t[0].info.batch_order != run.t[1].info.batch_order)
		rc = fail("A uses batch=%u and B batch=%u: start both QEMUs with the same plugin arguments",
			  1u << run.t[0].info.batch_order, 1u << run.t[1].info.batch_order);
	if (!rc)
		rc = run_monitor(&run);
	if (opts.launch) {
		/* On an error before or during monitoring, do not leave held QEMUs behind. */
		ls_children_stop(child, 2, 1000);
		for (int i = 0; i < 2; i++)
			ls_child_drain(&child[i], stderr);
	}
	return rc;
}
