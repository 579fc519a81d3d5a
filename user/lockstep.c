// SPDX-License-Identifier: MIT
/*
 * lockstep.c - the lockstep-bpf command: checks the environment and both
 * targets (or starts them: `run`), loads and attaches the BPF program, waits
 * for divergences and process exits, reads both plugins' rings on a
 * divergence, and reports: text, live summary, JSON lines, metrics.
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "correlate.h" /* before the skeleton: it names struct ls_control */
#include "exitcodes.h"
#include "disasm.h"
#include "follow.h"
#include "gsym.h"
#include "history.h"
#include "json.h"
#include "kbtf.h"
#include "launch.h"
#include "lockstep.skel.h"
#include "lockstep_wire.h"
#include "metrics.h"
#include "options.h"
#include "relay.h"
#include "fwdsum.h"
#include "gatesrv.h"
#include "claim.h"
#include "ginputs.h"
#include "qstart.h"
#include "renew.h"
#include "report.h"
#include "sidelife.h"
#include "syscmp.h"
#include "target.h"

static volatile sig_atomic_t exiting;

/* One vCPU stream of one side, as the monitor steers it. */
struct ls_stream_ctl {
	uint64_t batch_addr; /* 0: this vCPU does not exist (yet) on this side */
	uint64_t attach_chunk;
	uint64_t attach_end; /* blocks it had published when first seen (before the uprobes) */
	uint64_t permit; /* last written */
	uint64_t lease_written_ns;
	bool gate_fields; /* gate_side, gate_window and gate_thaw written: LS_PERMIT_GATE may follow */
	uint64_t thaw_written; /* the gate_thaw written last */
	/*
	 * It published its last chunk before the uprobes went in (a QEMU exiting
	 * as --pid attaches): the kernel never sees that publication, so its end
	 * is known from here, and it waits at exit until the monitor lets it go.
	 */
	bool pre_final;
	uint64_t pre_end;
	bool corrupt; /* its batch failed ls_batch_problem: ignored */
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

#define LS_TICK_NS 1000000ull /* permit refresh period while the monitor grants permits */
/*
 * While every stream paces itself under the gate, nothing needs the monitor
 * more often than this (leases are renewed every lease/4; events and exits
 * wake it at once).
 */
#define LS_GATE_TICK_NS 10000000ull
#define LS_DISCOVER_NS 5000000ull /* look for new vCPU threads every 5 ms (they start held, see the plugin) */
#define LS_KEEP_NS 50000000ull /* copy the translation log and guest symbols every 50 ms */
#define LS_FOLLOW_ROUND (1ull << 14) /* blocks a side copied and compared between two clock checks */

struct ls_run {
	const struct ls_opts *opts;
	struct ls_stream_ctl sc[2][LS_MAX_VCPUS];
	struct ls_backlog bk[LS_MAX_VCPUS];
	struct ls_tail tail[LS_MAX_VCPUS];
	uint64_t lease_ns;
	struct ls_renewer renew; /* renews the leases update_permits granted, apart from this loop */
	uint32_t window; /* chunks a side may lead: the smaller of the two sides' ls_window */
	/* the gate: plugins that pace themselves from the correlator's state */
	struct ls_gate_server gate;
	bool gate_open;
	uint32_t gate_state[2]; /* each side's plugin's LS_GATE_*, as last read */
	uint64_t gate_streams; /* stream-permits switched to LS_PERMIT_GATE, for -v */
	uint64_t thawed; /* kernel freezes (divergences) handled: what gated plugins compare freeze_gen with */
	/*
	 * Per vCPU and side: uncompared_frozen when the last freeze was lifted,
	 * and what the freeze that made user space follow the pair left
	 * (blocks the follower goes through itself, so not 'after the stop').
	 */
	uint64_t frozen_mark[LS_MAX_VCPUS][2];
	uint64_t frozen_followed[LS_MAX_VCPUS][2];
	/* what the guests were given at start, compared once (reports name it as a cause) */
	struct ls_ginputs_diff gin;
	bool gin_known;
	/* per vCPU: divergences reported so far, the first one's blocks, where the last region rejoined */
	unsigned reported[LS_MAX_VCPUS];
	uint64_t first_div[LS_MAX_VCPUS][2];
	bool rejoined[LS_MAX_VCPUS];
	uint64_t rejoin_blk[LS_MAX_VCPUS][2];
	struct lockstep_bpf *skel;
	struct ls_target t[2];
	struct ls_side_desc desc[2];
	int pidfd[2];
	bool ended[2];
	bool stop;
	bool diverged;
	bool config_mismatch;
	bool corrupt; /* a side's plugin memory failed its checks (wirecheck.h) */
	bool timed_out;
	bool self_ended; /* a side ended by itself (not stopped by us) before the comparison finished */
	unsigned divergences;
	uint64_t bad_events;
	uint64_t start_ns;
	/* run mode */
	struct ls_child *child; /* [2], or NULL with --pid */
	struct ls_relay *relay; /* carries their output when not in --output-dir */
	bool ran_on; /* one side ended first and the other was let run to its end, unpaced */
	const char *run_as; /* "user x (uid n)" when they do not run as us, for messages */
	char end_how[2][160];
	/* each side's forks and execs, as its plugin recorded them (sidelife.h) */
	struct ls_sidelife life[2];
	uint64_t life_polled_ns;
	/* user-space comparison: after a divergence, or every vCPU with --insn */
	struct ls_follow fol[LS_MAX_VCPUS];
	struct ls_tlog tlog[2]; /* each side's translation log, as far as read */
	bool tlog_bad[2]; /* its tlog_used was impossible, or the monitor read all it reads: reading stopped */
	bool tlog_capped[2]; /* its log grew past LS_MONITOR_TLOG_MAX: said once */
	uint64_t tlog_off[2];
	bool fol_skip[LS_MAX_VCPUS]; /* the follower's first region was already reported by the kernel path */
	bool fol_pending[LS_MAX_VCPUS]; /* a region's report waits for its blocks after the divergence */
	struct ls_align_ev fol_ev[LS_MAX_VCPUS];
	/* per vCPU: compared in user space besides backlog, tail and followers (a divergent chunk's equal start) */
	uint64_t user_blocks[LS_MAX_VCPUS], user_insns[LS_MAX_VCPUS];
	bool frozen_exit; /* --stop-on-divergence: leave the QEMUs stopped */
	struct ls_gsym *gsym[2]; /* each side's guest symbols, kept for when a QEMU has exited by report time */
	struct ls_disasm *dis; /* opened at the first report */
	bool dis_failed;
	char dis_err[160];
	/* live summary and metrics */
	struct ls_http *http;
	bool tty, view_drawn, live_header_done, textfile_failed;
	uint64_t last_live_ns;
	struct ls_live prev;
	/* --forward-inputs: the channel both plugins map (plugin/fwd.h); the monitor reads B's counts from it */
	struct ls_fwd_hdr *fwd;
	char fwd_problem[256]; /* why nothing could be forwarded ("" when it could) */
	bool fwd_mm_reported; /* the unpaired syscall was reported as a divergence */
	unsigned long fwd_seed; /* run: the -seed both QEMUs got (0: the user gave their own) */
	char fwd_auxv[256];
	bool fwd_auxv_same;
	struct ls_fwd_report fwd_rep;
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

/*
 * Copy records [lo, hi) of one side out of its ring.  Records the writer may
 * have recycled while we copied are cut off, not shown stale.
 */
static int copy_records(const struct ls_target *t, uint64_t batch_addr, uint64_t lo, uint64_t hi,
			struct ls_side_records *out, uint64_t **buf, const char **problem)
{
	pid_t pid = t->pid;
	struct ls_batch b;
	uint64_t h1, h2;
	int e;

	if ((e = ls_target_batch(pid, &t->info, batch_addr, &b, problem)))
		return e;
	if ((e = ls_target_head_seq(pid, &b, &h1))) {
		*problem = "its ring's head pointer is unreadable or outside the ring";
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
	if ((e = ls_target_ring_read(pid, &b, lo, hi - lo, *buf))) {
		*problem = "the process's ring could not be read";
		return e;
	}
	if ((e = ls_target_batch(pid, &t->info, batch_addr, &b, problem)) || (e = ls_target_head_seq(pid, &b, &h2))) {
		*problem = "the process's memory could not be read after the copy (did it exit, or corrupt its batch?)";
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

static void note_final(struct ls_run *run, int i, int v, const struct ls_batch *b);

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
			const char *bad = NULL;
			if (c->batch_addr || !addrs[v] || c->corrupt)
				continue;
			int e = ls_target_batch(run->t[i].pid, &run->t[i].info, addrs[v], &b, &bad);
			if (e == -EPROTO) { /* a stream the monitor cannot trust: the comparison ends, saying why */
				c->corrupt = true;
				notice(run, "error", "%c (pid %d): vCPU %d's stream is corrupt in its memory (%s): stopping",
				       run->t[i].label, (int)run->t[i].pid, v, bad);
				run->corrupt = true;
				run->stop = true;
			}
			if (e)
				continue;
			__atomic_store_n(&c->batch_addr, addrs[v], __ATOMIC_RELEASE); /* the renewer reads it */
			/* Its last publication's chunk, or the one after it if that one was full. */
			c->attach_chunk = b.pub_id ? b.chunk + ((b.flags & LS_PUB_FULL) ? 1 : 0) : 0;
			/* Hostile input: only a count the chunk can hold is taken. */
			c->attach_end = b.pub_id && b.batch_order < 32 && b.chunk < (1ull << 40) &&
						b.nblocks <= (1u << b.batch_order)
					? (b.chunk << b.batch_order) + b.nblocks
					: 0;
			c->permit = 0;
			if (b.pub_id)
				note_final(run, i, v, &b);
		}
	}
}

/* Write permit_chunk and lease_until_ns (adjacent in struct ls_batch) in one call. */
static int write_permit(pid_t pid, uint64_t batch_addr, uint64_t permit, uint64_t lease_until)
{
	uint64_t val[2] = { permit, lease_until };

	return ls_target_write(pid, batch_addr + offsetof(struct ls_batch, permit_chunk), val, sizeof(val));
}

/* Note a stream whose batch b is its final publication (see ls_stream_ctl.pre_final). */
static void note_final(struct ls_run *run, int i, int v, const struct ls_batch *b)
{
	struct ls_stream_ctl *c = &run->sc[i][v];
	uint32_t order = run->t[i].info.batch_order;

	/*
	 * In run mode the uprobes are in before either QEMU runs a block (both
	 * start held), so the kernel sees every publication, the last one too:
	 * taking it from here as well counted the final chunk twice (a tiny guest
	 * that ended during the start-up hold: compared = twice the blocks,
	 * exit 3, about one run in 40 under load).
	 */
	if (run->child)
		return;
	/* Hostile memory: a count past its chunk or a chunk that would wrap is not an end. */
	if (!(b->flags & LS_PUB_FINAL) || b->nblocks > (1u << order) || b->chunk > (~0ull >> (order + 1)))
		return;
	c->pre_final = true;
	c->pre_end = (b->chunk << order) + b->nblocks;
}

/* Whether side i of vCPU v published its last chunk, seen by the kernel or read here. */
static bool side_final(const struct ls_run *run, int i, int v)
{
	return LS_READ(run->skel->bss->pairs[v].side[i].final) || run->sc[i][v].pre_final;
}

/* Where side i of vCPU v has published up to: the kernel's view, or its last chunk read here. */
static uint64_t side_end(const struct ls_run *run, int i, int v)
{
	const struct ls_side_state *me = &run->skel->bss->pairs[v].side[i];

	return !LS_READ(me->final) && run->sc[i][v].pre_final ? run->sc[i][v].pre_end : LS_READ(me->pub_end);
}

/* The kernel's state of vCPU v's pair, with the ends it never saw (pre_final) filled in. */
static void pair_view(const struct ls_run *run, int v, struct ls_pair_state *st)
{
	memcpy(st, &run->skel->bss->pairs[v], sizeof(*st));
	for (int i = 0; i < 2; i++) {
		const struct ls_stream_ctl *c = &run->sc[i][v];
		if (st->side[i].final || !c->pre_final)
			continue;
		st->side[i].final = 1;
		if (c->pre_end > st->side[i].pub_end)
			st->side[i].pub_end = c->pre_end;
		st->side[i].publications++;
	}
}

/* A side of vCPU v ended before the kernel saw it: the tail is compared from the rings, from block 0 on. */
static bool pair_pre_final(const struct ls_run *run, int v)
{
	return run->sc[0][v].pre_final || run->sc[1][v].pre_final;
}

/*
 * Nothing more to compare or report for a followed pair: it gave up, or a
 * side was compared to its very end with no region open (the other side
 * then either ended there too or ran on past it).
 */
static bool follow_done(const struct ls_run *run, int v)
{
	const struct ls_follow *f = &run->fol[v];

	if (f->lost)
		return true;
	if (f->region_open || run->fol_pending[v] || ls_align_state(&f->al) != LS_ALIGN_ST_SYNC)
		return false;
	for (int i = 0; i < 2; i++) {
		const struct ls_seqbuf *sym = f->mode == LS_FOLLOW_INSNS ? &f->ins[i] : &f->rec[i];
		if (side_final(run, i, v) && ls_follow_copied(f, i) >= side_end(run, i, v) &&
		    ls_align_pos(&f->al, i) == ls_seqbuf_end(sym))
			return true;
	}
	return false;
}

/*
 * The chunks side i of a vCPU compared in user space may write: as far as
 * the ring holds beyond what we copied, less when the comparator lags
 * (bounded memory), everything once its last record is in our memory or
 * the comparison of this pair is over.
 */
static uint64_t follow_permit(const struct ls_run *run, int v, int i, int frozen)
{
	const struct ls_follow *f = &run->fol[v];
	const struct ls_pair_state *st = &run->skel->bss->pairs[v];
	uint32_t order = run->t[0].info.batch_order;

	if (frozen)
		return ls_permit(st, (uint32_t)i, run->sc[i][v].attach_chunk, 1, 0, run->window);
	if (!f->active) /* --insn, partner not there yet: as far as one window from where it is */
		return run->sc[i][v].attach_chunk + run->window - 1;
	if (f->lost)
		return ~0ull;
	/* A partner that ended does not release this side: its records up to there are still compared. */
	uint64_t copied = ls_follow_copied(f, i);
	if (side_final(run, i, v) && copied >= side_end(run, i, v))
		/* Its end is in our memory; it waits at exit while reports may still read its logs. */
		return follow_done(run, v) ? ~0ull : LS_READ(st->side[i].hi1);
	if (ls_follow_buffered(f, i) > run->opts->window + ((uint64_t)run->window << order))
		return copied >> order;
	return (copied >> order) + run->window - 1;
}

/*
 * What each guest got at start: its QEMU's command line, environment and
 * working directory, read from the QEMU process itself (the plugin is mapped,
 * so any wrapper script has exec'd it and these are what the guest got).
 */
static void compare_launches(struct ls_run *run)
{
	char *buf[2][2] = {}, cwd[2][PATH_MAX] = {};
	size_t len[2][2] = {};
	const char *what[2] = { "cmdline", "environ" };
	bool ok = true, late[2] = {};

	for (int i = 0; i < 2; i++) {
		for (int w = 0; w < 2; w++) {
			char path[64];
			int err;
			snprintf(path, sizeof(path), "/proc/%d/%s", (int)run->t[i].pid, what[w]);
			buf[i][w] = ls_read_file(path, &len[i][w], &err);
			ok &= buf[i][w] != NULL;
		}
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/cwd", (int)run->t[i].pid);
		ssize_t n = readlink(path, cwd[i], sizeof(cwd[i]) - 1);
		cwd[i][n > 0 ? n : 0] = 0;
		/* After the cwd: no translation yet means no chdir yet either. */
		uint32_t flags = LS_INFO_GUEST_BASE;
		ls_target_read(run->t[i].pid, run->t[i].info_addr + offsetof(struct ls_plugin_info, flags), &flags,
			       sizeof(flags));
		late[i] = flags & LS_INFO_GUEST_BASE;
	}
	if (ok) {
		struct ls_qemu_launch l[2];
		for (int i = 0; i < 2; i++)
			l[i] = (struct ls_qemu_launch){ buf[i][0], len[i][0], buf[i][1], len[i][1], cwd[i], late[i] };
		ls_ginputs_compare(&l[0], &l[1], &run->gin);
		run->gin_known = true;
	}
	for (int i = 0; i < 2; i++)
		for (int w = 0; w < 2; w++)
			free(buf[i][w]);
}

/*
 * Offer both plugins the gate state, so they can pace themselves
 * (LS_PERMIT_GATE).  The map is frozen for user space first: the plugins
 * get a descriptor of it (a read-only one could not be mapped shared), but
 * neither they nor anything else in their processes can write it, by
 * syscall or mapping.  Any failure only means the monitor grants permits
 * itself, as with --no-gate.
 */
/*
 * --forward-inputs: the channel (plugin/fwd.h), a memfd both plugins get
 * with the gate.  Only the monitor creates it; what the QEMUs write in it is
 * read back through fwdsum.c, bounded.
 */
static void fwd_setup(struct ls_run *run)
{
	uint64_t size = ls_fwd_size();
	int fd = memfd_create("lockstep-forward", MFD_CLOEXEC);
	void *map = MAP_FAILED;

	if (fd < 0 || ftruncate(fd, (off_t)size) ||
	    (map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		snprintf(run->fwd_problem, sizeof(run->fwd_problem), "cannot create the forwarding channel: %s",
			 strerror(errno));
		notice(run, "error", "--forward-inputs: %s", run->fwd_problem);
		if (fd >= 0)
			close(fd);
		return;
	}
	ls_fwd_init(map, LS_FWD_DEFAULT_WAIT_MS);
	((struct ls_fwd_hdr *)map)->mon_ns = now_ns();
	run->fwd = map;
	ls_gate_server_forward(&run->gate, fd);
}

/* The unpaired syscall B found, once: it is a divergence of its own (the blocks may well be the same). */
static void fwd_check_mismatch(struct ls_run *run)
{
	char text[256];

	if (!run->fwd || run->fwd_mm_reported || __atomic_load_n(&run->fwd->mm.set, __ATOMIC_ACQUIRE) != 1)
		return;
	struct ls_fwd_hdr h;
	memcpy(&h, run->fwd, sizeof(h));
	if (!ls_fwd_report_mismatch(&h, ls_arch_from_target(run->t[0].info.target), text, sizeof(text)))
		return;
	run->fwd_mm_reported = true; /* exit 1; the block comparison goes on as it would */
	if (run->opts->json) {
		printf("{\"type\":\"syscall_divergence\",\"time\":%.6f,\"vcpu\":%u,\"index\":%" PRIu64
		       ",\"a_syscall\":%" PRId64 ",\"b_syscall\":%" PRId64 ",\"a_block\":%" PRIu64 ",\"b_block\":%" PRIu64
		       ",\"message\":",
		       elapsed(run), h.mm.vcpu, h.mm.index, h.mm.num[0], h.mm.num[1], h.mm.seq[0] ? h.mm.seq[0] - 1 : 0,
		       h.mm.seq[1] ? h.mm.seq[1] - 1 : 0);
		ls_json_str(stdout, text);
		printf("}\n");
	} else {
		printf("\nDIVERGENCE in the syscalls (--forward-inputs): %s\n"
		       "  the two guests made different syscalls at the same point of that vCPU's syscall stream: from "
		       "there on B takes none of A's results on that vCPU\n",
		       text);
		run->view_drawn = false;
	}
	fflush(stdout);
}

static int gate_setup(struct ls_run *run)
{
	struct bpf_map *map = run->skel->maps.gate;
	char err[160];
	int fd;

	if (bpf_map_freeze(bpf_map__fd(map))) {
		notice(run, "notice", "the gate: cannot freeze its state for user space: %s", strerror(errno));
		return -1;
	}
	fd = fcntl(bpf_map__fd(map), F_DUPFD_CLOEXEC, 3);
	if (fd < 0) {
		notice(run, "notice", "the gate: cannot share its state: %s", strerror(errno));
		return -1;
	}
	if (ls_gate_server_open(&run->gate, fd, bpf_map__value_size(map), err, sizeof(err))) {
		ls_gate_server_close(&run->gate);
		notice(run, "notice", "the gate: %s", err);
		return -1;
	}
	run->gate_open = true;
	if (run->opts->forward_inputs)
		fwd_setup(run);
	for (int i = 0; i < 2; i++) {
		int e = ls_gate_offer(&run->gate, run->t[i].pid, run->t[i].info_addr);
		if (e) {
			run->gate_state[i] = LS_GATE_FAILED;
			notice(run, "notice", "the gate: cannot offer it to %c: %s", run->t[i].label, strerror(-e));
		}
	}
	return 0;
}

/* Learn whether side i's plugin took the gate, until it says (one small read a tick until then). */
static void gate_check(struct ls_run *run, int i)
{
	uint32_t st;
	int32_t err;

	if (!run->gate_open || run->gate_state[i] == LS_GATE_MAPPED || run->gate_state[i] == LS_GATE_FAILED ||
	    run->ended[i] || ls_gate_state(run->t[i].pid, run->t[i].info_addr, &st, &err))
		return;
	run->gate_state[i] = st;
	if (st == LS_GATE_MAPPED && run->opts->verbose)
		notice(run, "notice", "%c paces itself from the kernel's state (the gate)", run->t[i].label);
	else if (st == LS_GATE_FAILED)
		notice(run, "notice",
		       "%c (pid %d) could not take the gate (%s): this monitor grants its permits every millisecond "
		       "instead, which costs it some speed",
		       run->t[i].label, (int)run->t[i].pid, strerror(err));
}

/*
 * Side i of a vCPU under the gate: its side, window and the freezes handled
 * so far must be in place before LS_PERMIT_GATE (written again after each
 * divergence, before the stream is gated again).
 */
static bool gate_fields(struct ls_run *run, int i, struct ls_stream_ctl *c)
{
	struct {
		uint32_t side, window;
		uint64_t thaw;
	} val = { (uint32_t)i + 1, run->window, run->thawed };
	_Static_assert(sizeof(val) == 16, "gate fields");

	if (!c->gate_fields || c->thaw_written != run->thawed) {
		c->gate_fields =
			ls_target_write(run->t[i].pid, c->batch_addr + offsetof(struct ls_batch, gate_side), &val, sizeof(val)) == 0;
		if (c->gate_fields)
			c->thaw_written = run->thawed;
	}
	return c->gate_fields;
}

/*
 * The renewal thread's round (renew.h): extend the lease of every stream
 * this loop has granted one, leaving its permit alone.  Only the lease: a
 * permit is this loop's decision, and a stream never granted a lease (a
 * QEMU waiting with wait=) is let go by this loop's first one.
 */
static void renew_leases(void *ctx, uint64_t now)
{
	struct ls_run *run = ctx;

	for (int i = 0; i < 2; i++) {
		if (__atomic_load_n(&run->ended[i], __ATOMIC_ACQUIRE))
			continue;
		for (int v = 0; v < LS_MAX_VCPUS; v++) {
			struct ls_stream_ctl *c = &run->sc[i][v];
			uint64_t addr = __atomic_load_n(&c->batch_addr, __ATOMIC_ACQUIRE);
			uint64_t until = now + run->lease_ns;
			if (!addr || !__atomic_load_n(&c->lease_written_ns, __ATOMIC_ACQUIRE))
				continue;
			ls_target_write(run->t[i].pid, addr + offsetof(struct ls_batch, lease_until_ns), &until,
					sizeof(until));
		}
	}
}

/*
 * Grant each stream the chunks it may write (ls_permit) and renew the
 * lease.  A write happens only when the permit moved or the lease is half
 * used, so an idle pair costs a few reads of mmapped memory per tick.  A
 * stream the kernel compares, whose plugin took the gate, gets
 * LS_PERMIT_GATE instead and paces itself.  Returns true when every live
 * stream does (the loop may then sleep longer).
 */
static bool update_permits(struct ls_run *run, bool force)
{
	uint64_t now = now_ns();
	struct ls_control *ctl = &run->skel->bss->control;
	int frozen = LS_READ(ctl->frozen) && !LS_READ(ctl->released);
	bool all_gated = true;

	ls_renewer_beat(&run->renew); /* this loop is alive: its leases may be renewed */
	for (int i = 0; i < 2; i++)
		gate_check(run, i);
	for (int v = 0; v < LS_MAX_VCPUS; v++) {
		for (int i = 0; i < 2; i++) {
			struct ls_stream_ctl *c = &run->sc[i][v];
			if (!c->batch_addr || run->ended[i])
				continue;
			const struct ls_side_state *me = &run->skel->bss->pairs[v].side[i];
			bool fin = side_final(run, i, v);
			uint64_t p = LS_READ(ctl->released)			 ? ~0ull
				   : LS_READ(run->skel->bss->pairs[v].user_owned) ? follow_permit(run, v, i, frozen)
				   : fin ? (run->tail[v].done || run->ended[i ^ 1] ? ~0ull : LS_READ(me->hi1))
				   : run->bk[v].active	    ? run->bk[v].target
				   : ls_permit(&run->skel->bss->pairs[v], (uint32_t)i, c->attach_chunk, frozen,
					       run->ended[i ^ 1], run->window);
			bool plain = !LS_READ(ctl->released) && !LS_READ(run->skel->bss->pairs[v].user_owned) && !fin &&
				     !run->bk[v].active && !frozen && !run->ended[i ^ 1];
			if (plain && run->gate_state[i] == LS_GATE_MAPPED && gate_fields(run, i, c)) {
				if (c->permit != LS_PERMIT_GATE)
					run->gate_streams++;
				p = LS_PERMIT_GATE;
			}
			if (p != LS_PERMIT_GATE)
				all_gated = false;
			if (!force && p == c->permit && now - c->lease_written_ns < run->lease_ns / 4)
				continue;
			/*
			 * Once granted, a lease is the renewal thread's: this loop writes the
			 * permit alone, so a write delayed here (preempted between its clock
			 * read and its write) can never shorten a lease renewed meanwhile.
			 */
			int w = c->lease_written_ns && run->renew.running
					? ls_target_write(run->t[i].pid, c->batch_addr + offsetof(struct ls_batch, permit_chunk),
							  &p, sizeof(p))
					: write_permit(run->t[i].pid, c->batch_addr, p, now_ns() + run->lease_ns);
			if (w == 0) {
				c->permit = p;
				__atomic_store_n(&c->lease_written_ns, now, __ATOMIC_RELEASE);
			}
		}
	}
	return all_gated;
}

/*
 * How much of a side's translation log the monitor copies at most (a root
 * process's memory, asked for by a QEMU that may run a hostile guest): the
 * plugin's default log is 64 MiB, its maximum 16 GiB.
 */
#define LS_MONITOR_TLOG_MAX (1ull << 30)

/* Read what side i's translation log gained since the last look. */
static void tlog_pull(struct ls_run *run, int i)
{
	const struct ls_target *t = &run->t[i];
	uint64_t used, off = run->tlog_off[i];
	static uint8_t buf[1 << 20];

	if (run->ended[i] || run->tlog_bad[i] ||
	    ls_target_read(t->pid, t->info_addr + __builtin_offsetof(struct ls_plugin_info, tlog_used), &used,
			   sizeof(used)))
		return;
	const char *bad = ls_tlog_used_problem(&t->info, used, off);
	if (bad) {
		if (!run->tlog_bad[i])
			notice(run, "error", "%c (pid %d): its translation log is corrupt (%s): no more of it is read",
			       t->label, (int)t->pid, bad);
		run->tlog_bad[i] = true;
		return;
	}
	/* The monitor's own bound, whatever size the plugin was given: its copy lives in our memory. */
	if (used > LS_MONITOR_TLOG_MAX) {
		if (!run->tlog_capped[i])
			notice(run, "notice",
			       "%c (pid %d): its translation log passed the %llu MiB the monitor reads of it: blocks "
			       "translated after that are not disassembled",
			       t->label, (int)t->pid, (unsigned long long)(LS_MONITOR_TLOG_MAX >> 20));
		run->tlog_capped[i] = true;
		used = LS_MONITOR_TLOG_MAX;
	}
	/* At most 64 MiB a call, so a log that grew by gigabytes cannot hold up the loop (and the leases). */
	uint64_t budget = 64ull << 20;
	while (off < used && budget) {
		size_t n = used - off < sizeof(buf) ? used - off : sizeof(buf);
		budget -= n < budget ? n : budget;
		if (ls_target_read(t->pid, t->info.tlog_addr + off, buf, n) || ls_tlog_feed(&run->tlog[i], buf, n) < 0)
			break;
		off += n;
	}
	run->tlog_off[i] = off;
	if (off >= LS_MONITOR_TLOG_MAX || run->tlog[i].corrupt || run->tlog[i].nomem)
		run->tlog_bad[i] = true; /* all of it the monitor reads, or parsing stopped for good */
}

/* From now on user space compares vCPU v, from block pos[i] of side i (cum[i] instructions before it). */
static int follow_begin(struct ls_run *run, int v, const uint64_t pos[2], const uint64_t cum[2])
{
	const struct ls_opts *o = run->opts;
	struct ls_align_cfg cfg = { .window = o->window, .match = LS_ALIGN_DEFAULT_MATCH };

	if (ls_follow_start(&run->fol[v], o->insn ? LS_FOLLOW_INSNS : LS_FOLLOW_BLOCKS, &cfg, pos, cum,
			    o->history + o->after + 64))
		return -1;
	__atomic_store_n(&run->skel->bss->pairs[v].user_owned, 1, __ATOMIC_RELEASE);
	return 0;
}

static bool stopped_state(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	bool stopped = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r"))) {
		if (fgets(buf, sizeof(buf), f)) {
			const char *p = strrchr(buf, ')');
			stopped = p && (p[2] == 'T' || p[2] == 't');
		}
		fclose(f);
	}
	return stopped;
}

/* The value of QEMU's -g option (gdbstub port), or NULL. */
static const char *gdbstub_port(const struct ls_target *t)
{
	static char port[2][64];
	int idx = t->label == 'B';
	const char *p = strstr(t->cmdline, " -g ");

	if (!p)
		return NULL;
	if (sscanf(p + 4, "%63s", port[idx]) != 1)
		return NULL;
	return port[idx];
}

/*
 * --stop-on-divergence: SIGSTOP both QEMUs (every thread), which are held
 * at their next chunk by then, so memory and rings stay as they were; say
 * how to look at them and how to let them go.
 */
static void freeze(struct ls_run *run, int v, const struct ls_divergence *d)
{
	/* A located divergence: each side's divergent block, and where both last ran alike (a breakpoint). */
	const uint64_t *div = d->found ? d->block : NULL;
	uint64_t bp = !d->found ? 0 : d->have_common ? d->common.addr : d->pc[0];
	bool ok[2];
	uint64_t at[2] = { 0, 0 };
	bool known[2] = { false, false };

	for (int i = 0; i < 2; i++)
		kill(run->t[i].pid, SIGSTOP);
	for (int tries = 0; tries < 200; tries++) {
		ok[0] = stopped_state(run->t[0].pid);
		ok[1] = stopped_state(run->t[1].pid);
		if (ok[0] && ok[1])
			break;
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
	/* Where each stopped: the divergent vCPU's write position, which the report can compare with the divergence. */
	for (int i = 0; i < 2; i++) {
		struct ls_batch b;
		const char *bad;
		if (run->sc[i][v].batch_addr && !ls_target_batch(run->t[i].pid, &run->t[i].info, run->sc[i][v].batch_addr, &b, &bad) &&
		    !ls_target_head_seq(run->t[i].pid, &b, &at[i]))
			known[i] = true;
	}
	run->frozen_exit = true;
	run->stop = true;
	pid_t a = run->t[0].pid, b = run->t[1].pid;
	if (run->opts->json) {
		printf("{\"type\":\"frozen\",\"time\":%.6f,\"pids\":[%d,%d],\"stopped\":[%s,%s],\"vcpu\":%d,"
		       "\"at_block\":[%" PRId64 ",%" PRId64 "],\"resume\":\"kill -CONT %d %d\",\"end\":\"kill -KILL %d %d\"}\n",
		       elapsed(run), (int)a, (int)b, ok[0] ? "true" : "false", ok[1] ? "true" : "false", v,
		       known[0] ? (int64_t)at[0] : -1, known[1] ? (int64_t)at[1] : -1, (int)a, (int)b, (int)a, (int)b);
		fflush(stdout);
		return;
	}
	printf("\nFROZEN: both QEMUs are stopped (SIGSTOP); their memory and lockstep rings are intact.\n");
	for (int i = 0; i < 2; i++) {
		char where[160] = "";
		if (known[i] && div && at[i] >= div[i])
			snprintf(where, sizeof(where), ", vCPU %d at block %" PRIu64 " (%" PRIu64 " after its divergent block)", v,
				 at[i], at[i] - div[i]);
		else if (known[i])
			snprintf(where, sizeof(where), ", vCPU %d at block %" PRIu64, v, at[i]);
		printf("  %c: pid %d%s%s\n", run->t[i].label, (int)run->t[i].pid, where,
		       ok[i] ? "" : "  (NOT confirmed stopped: it may have exited)");
	}
	if (run->opts->insn)
		printf("  (with --insn the QEMUs run ahead of the comparison by up to the --window, so they stop later)\n");
	printf("next steps:\n"
	       "  inspect QEMU itself:   gdb -p %d     (and gdb -p %d; `p lockstep_plugin_info` shows the rings)\n",
	       (int)a, (int)b);
	bool stub = false;
	for (int i = 0; i < 2; i++) {
		const char *port = gdbstub_port(&run->t[i]);
		if (!port)
			continue;
		stub = true;
		printf("  inspect %c's guest:     it runs QEMU's gdbstub (-g %s): in the gdb connected to it, after\n"
		       "                         kill -CONT %d, interrupt (Ctrl-C) to see the guest where it is\n",
		       run->t[i].label, port, (int)run->t[i].pid);
	}
	if (!stub) {
		char brk[48] = "";
		if (bp)
			snprintf(brk, sizeof(brk), " -ex 'break *0x%" PRIx64 "'", bp);
		printf("  inspect the guests:    QEMU 7.2's gdbstub takes a debugger only before the guest starts: rerun\n"
		       "                         with --a-arg -g --a-arg 1234 --b-arg -g --b-arg 1235, then connect\n"
		       "                         gdb-multiarch %s -ex 'target remote :1234'%s\n"
		       "                         (and :1235) and continue%s\n",
		       run->t[0].guest[0] ? run->t[0].guest : "GUEST", brk,
		       bp ? ": the last instruction both ran alike (in a loop, hit every iteration)" : "");
	}
	printf("  resume both:           kill -CONT %d %d   (they run on unmonitored once their %u ms lease "
	       "ends)\n"
	       "  end both:              kill -KILL %d %d\n",
	       (int)a, (int)b, run->opts->lease_ms, (int)a, (int)b);
	if (run->child && !run->opts->output_dir)
		printf("  (their output went through this command's pipes, which close now: rerun with -o DIR to "
		       "keep it)\n");
	fflush(stdout);
}

/* Storage behind the strings and arrays enrich() hands to a report. */
struct ls_enrich {
	struct ls_gsym *gs[2];
	ls_sym_pair *row_sym;
	struct ls_insn_line dis[2][LS_TLOG_MAX_INSNS];
	char headline[640];
	char cause[4096];
	char syscalls[8192];
	char next[1024];
	struct ls_sys_rec *recs[2];
	struct ls_syscmp_fields fields[LS_SYSCMP_MAX_CANDS]; /* behind d->culprit and d->candidates */
	struct ls_cause_syscall cands[LS_SYSCMP_MAX_CANDS];
	char interleaving[200];
	const char *insn_text[2 * LS_TLOG_MAX_INSNS]; /* the divergent blocks' instructions, for the interleaving rule */
	struct ls_insn_line last[2]; /* each side's last instruction in common, for the signal rule */
	char succ_why[2][200];
	char signal[640];
};

/* A candidate as a report carries it. */
static void cause_syscall(const struct ls_syscmp_fields *f, struct ls_cause_syscall *c)
{
	c->have = f->have_syscall;
	c->name = f->syscall;
	c->num = f->num;
	c->index = f->index;
	c->block = f->seq;
	c->count = f->count;
	c->state[0] = f->a_state;
	c->state[1] = f->b_state;
	c->ret[0] = f->a_ret;
	c->ret[1] = f->b_ret;
	c->out_len[0] = f->a_out_len;
	c->out_len[1] = f->b_out_len;
	c->out_hex[0] = f->a_out_hex;
	c->out_hex[1] = f->b_out_hex;
	c->pid = ls_pid_syscall(f->syscall);
}

/*
 * What the interleaving rule needs (syscmp.h): how many threads the guest
 * started (vCPU streams on either side), where the divergence is, and
 * whether another thread's pair had parted already.
 */
static void thread_facts(const struct ls_run *run, const struct ls_divergence *d, struct ls_enrich *e, int v,
			 struct ls_syscmp_threads *t)
{
	size_t ns = 0;

	memset(t, 0, sizeof(*t));
	for (int w = 0; w < LS_MAX_VCPUS; w++) {
		if (run->sc[0][w].batch_addr || run->sc[1][w].batch_addr)
			t->n++;
		if (w != v && run->reported[w] && !t->partner_apart) {
			t->partner_apart = true;
			t->partner = w;
		}
	}
	t->syms[ns++] = d->sym[0];
	t->syms[ns++] = d->sym[1];
	if (d->have_common)
		t->syms[ns++] = d->common.sym;
	if (d->insn_found) {
		t->syms[ns++] = d->first[0].sym;
		t->syms[ns++] = d->first[1].sym;
	}
	/* The last block both ran (the history row before the divergent one). */
	for (size_t k = 0; d->row_sym && k < d->nrows && ns < sizeof(t->syms) / sizeof(t->syms[0]); k++)
		if (d->rows[k].seq + 1 == d->seq && d->rows[k].have[0])
			t->syms[ns++] = d->row_sym[k][0];
	for (int i = 0; i < 2; i++)
		for (size_t k = 0; k < d->ndis[i] && t->ninsns < sizeof(e->insn_text) / sizeof(e->insn_text[0]); k++)
			e->insn_text[t->ninsns++] = d->dis[i][k].text;
	t->insns = e->insn_text;
}

static void insn_line(struct ls_run *run, struct ls_enrich *e, int i, uint64_t word, uint32_t k,
		      struct ls_insn_line *l);

/*
 * What the signal rule needs (syscmp.h): whether each side's divergent
 * instruction can follow the last one both ran.  From the instruction
 * streams when they were compared (block cuts do not matter there: common
 * is the last instruction both ran, first[i] each side's next one), else
 * from the last instruction of the block before each side's divergent one.
 * common_len: the common instruction's size in bytes (0: unknown).
 */
static void signal_facts(struct ls_run *run, const struct ls_divergence *d, struct ls_enrich *e, const uint64_t *words[2],
			 const size_t nw[2], const size_t dblock[2], unsigned common_len, struct ls_syscmp_signals *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 2; i++) {
		const char *text = NULL;
		uint64_t addr = 0, pc = d->pc[i];
		unsigned len = 0;

		s->last_block[i] = d->block[i] ? d->block[i] - 1 : 0;
		s->sym[i] = d->sym[i];
		if (d->insn_found && d->have_common && common_len) {
			text = d->common.text;
			addr = d->common.addr;
			len = common_len;
			pc = d->first[i].addr;
			s->sym[i] = d->first[i].sym;
		} else if (dblock[i] >= 1 && nw[i] > dblock[i]) {
			uint64_t w = words[i][dblock[i] - 1];
			const struct ls_tb *tb = ls_tlog_find(&run->tlog[i], ls_rec_pc(w), ls_rec_ninsns(w));

			if (!tb)
				tb = ls_tlog_find(&run->tlog[i ^ 1], ls_rec_pc(w), ls_rec_ninsns(w));
			if (tb && tb->ninsns) {
				insn_line(run, e, i, w, tb->ninsns - 1, &e->last[i]);
				text = e->last[i].text;
				addr = e->last[i].addr;
				len = tb->len[tb->ninsns - 1];
			}
		}
		if (!text) {
			snprintf(e->succ_why[i], sizeof(e->succ_why[i]), "the last block both ran is not in the translation log");
			s->next[i] = LS_SUCC_UNKNOWN;
		} else {
			s->next[i] = ls_successor(run->dis ? ls_disasm_target(run->dis) : NULL, text, addr, len, pc,
						  e->succ_why[i], sizeof(e->succ_why[i]));
			s->syscall_next[i] = pc == addr + len;
		}
		s->succ_why[i] = e->succ_why[i];
		s->pc[i] = pc;
	}
}

static struct ls_gsym *load_gsym(struct ls_run *run, int i)
{
	struct ls_target *t = &run->t[i];
	struct ls_plugin_info info;
	char path[64], root[64];
	struct ls_gsym *g = NULL;

	/*
	 * guest_base is set at the first translation, after we first read the
	 * info: take it alone (the rest was checked at the attach, and the
	 * target may have changed it since).
	 */
	if (ls_target_read(t->pid, t->info_addr, &info, sizeof(info)) == 0) {
		t->info.guest_base = info.guest_base;
		t->info.flags = (t->info.flags & ~LS_INFO_GUEST_BASE) | (info.flags & LS_INFO_GUEST_BASE);
	}
	if (!(t->info.flags & LS_INFO_GUEST_BASE))
		return NULL;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)t->pid);
	snprintf(root, sizeof(root), "/proc/%d/root", (int)t->pid);
	int err;
	char *text = ls_read_file(path, NULL, &err);
	if (text) {
		g = ls_gsym_new(text, t->info.guest_base, root);
		if (g && t->guest[0])
			ls_gsym_set_main(g, t->guest);
	}
	free(text);
	return g;
}

static void symbolize(struct ls_gsym *g, uint64_t pc, char *out, size_t len)
{
	if (!g)
		snprintf(out, len, "(no symbols: guest map unknown)");
	else
		ls_gsym_format(g, pc, out, len);
}

/* Instruction k of block record `word` on side i, symbolized and disassembled. */
static void insn_line(struct ls_run *run, struct ls_enrich *e, int i, uint64_t word, uint32_t k,
		      struct ls_insn_line *l)
{
	const struct ls_tb *tb = ls_tlog_find(&run->tlog[i], ls_rec_pc(word), ls_rec_ninsns(word));

	memset(l, 0, sizeof(*l));
	if (!tb)
		tb = ls_tlog_find(&run->tlog[i ^ 1], ls_rec_pc(word), ls_rec_ninsns(word));
	if (!tb || k >= tb->ninsns) {
		l->addr = ls_rec_pc(word);
		snprintf(l->text, sizeof(l->text), "(not in the translation log)");
		symbolize(e->gs[i], l->addr, l->sym, sizeof(l->sym));
		return;
	}
	size_t at = 0;
	for (uint32_t q = 0; q < k; q++)
		at += tb->len[q];
	l->addr = tb->pc + tb->off[k];
	symbolize(e->gs[i], l->addr, l->sym, sizeof(l->sym));
	if (!run->dis && !run->dis_failed) {
		run->dis = ls_disasm_open(run->t[i].info.target, e->gs[i] ? ls_gsym_main_machine(e->gs[i]) : 0,
					  run->dis_err, sizeof(run->dis_err));
		run->dis_failed = !run->dis;
	}
	if (run->dis) {
		ls_disasm_one(run->dis, l->addr, tb->bytes + at, tb->len[k], l->text, sizeof(l->text)); /* or its bytes */
	} else {
		int w = 0;
		for (uint32_t q = 0; q < tb->len[k] && w < (int)sizeof(l->text) - 4; q++)
			w += snprintf(l->text + w, sizeof(l->text) - (size_t)w, "%s%02x", q ? " " : ".byte ", tb->bytes[at + q]);
	}
}

/*
 * The syscall log of side i's vCPU v, copied (most recent 2^sys_order at
 * most).  A log the monitor cannot read or trust is said, not guessed from.
 */
static void read_syscalls(struct ls_run *run, int i, int v, struct ls_enrich *e, struct ls_sys_log *log)
{
	const struct ls_target *t = &run->t[i];
	struct ls_sys_span span;
	const char *bad = NULL;
	struct ls_batch b;
	int err;

	memset(log, 0, sizeof(*log));
	if (!(t->info.flags & LS_INFO_SYSCALLS) || !run->sc[i][v].batch_addr)
		return;
	if ((err = ls_target_batch(t->pid, &t->info, run->sc[i][v].batch_addr, &b, &bad)) == 0 && !b.sys_addr)
		return; /* this vCPU's log could not be allocated: the plugin said so at its start */
	if (err || (err = ls_target_syslog(t->pid, &b, t->info.sys_order, 1ull << LS_MAX_SYS_ORDER, &e->recs[i], &span,
					   &bad))) {
		notice(run, "error", "%c (pid %d): vCPU %d's syscall log not used: %s", t->label, (int)t->pid, v,
		       bad ? bad : strerror(-err));
		log->problem = bad ? bad : "unreadable"; /* the cause is then unknown, and says why */
		return;
	}
	log->enabled = true;
	log->recs = e->recs[i];
	log->n = e->recs[i] ? span.n : 0;
	log->first_index = span.first_index;
}

/* Records from the block before blk (the last one both ran) on, as enrich() takes them. */
static bool window_at(uint64_t first, const uint64_t *v, size_t n, uint64_t blk, const uint64_t **w, size_t *nw,
		      size_t *db)
{
	if (blk < first || blk - first >= n)
		return false;
	uint64_t from = blk > first ? blk - 1 : blk;
	*w = v + (from - first);
	*nw = n - (from - first);
	*db = blk - from;
	return true;
}

static void headline_after_common(struct ls_enrich *e, const struct ls_divergence *d)
{
	snprintf(e->headline, sizeof(e->headline), "after %s (%s), A went on at %s and B at %s", d->common.text,
		 d->common.sym, d->first[0].sym, d->first[1].sym);
}

/*
 * Add what a TCG developer needs to a located divergence: symbols, the
 * first divergent instruction, both divergent blocks disassembled, the
 * syscall-based cause and a next step.  words[i] are side i's block
 * records from the last common block on (nw[i] of them); dblock[i] is the
 * index among them of the divergent block, dinsn[i] of the instruction in
 * it (--insn), or -1 to find it by expanding both.
 */
static void enrich(struct ls_run *run, struct ls_divergence *d, struct ls_enrich *e, int v, const uint64_t *words[2],
		   const size_t nw[2], const size_t dblock[2], const int64_t dinsn[2], uint64_t insns_before)
{
	bool insn_mode = d->unit && !strcmp(d->unit, "instruction");

	for (int i = 0; i < 2; i++) {
		struct ls_gsym *g = load_gsym(run, i);
		if (g) { /* the freshest map: a library may have been loaded since */
			ls_gsym_free(run->gsym[i]);
			run->gsym[i] = g;
		}
		e->gs[i] = run->gsym[i];
		tlog_pull(run, i);
		symbolize(e->gs[i], d->pc[i], d->sym[i], sizeof(d->sym[i]));
	}
	if (d->nrows && (e->row_sym = calloc(d->nrows, sizeof(*e->row_sym)))) {
		for (size_t k = 0; k < d->nrows; k++)
			for (int i = 0; i < 2; i++)
				if (d->rows[k].have[i])
					symbolize(e->gs[i], d->rows[k].pc[i], e->row_sym[k][i], LS_SYM_LEN);
		d->row_sym = (const ls_sym_pair *)e->row_sym;
	}

	/* The first divergent instruction. */
	struct ls_insn_div idiv;
	int64_t first_k[2] = { -1, -1 };
	unsigned common_len = 0;
	if (dinsn[0] >= 0 && dinsn[1] >= 0) {
		first_k[0] = dinsn[0];
		first_k[1] = dinsn[1];
		d->insn_found = true;
		d->insn_index = insns_before;
		for (int i = 0; i < 2; i++)
			insn_line(run, e, i, words[i][dblock[i]], (uint32_t)dinsn[i], &d->first[i]);
	} else if (nw[0] && nw[1]) {
		int r = ls_first_insn_divergence(&run->tlog[0], &run->tlog[1], words[0], nw[0], words[1], nw[1], &idiv);
		if (r == LS_INSN_DIFFER) {
			d->insn_found = true;
			d->insn_index = insns_before + idiv.index;
			for (int i = 0; i < 2; i++) {
				insn_line(run, e, i, words[i][idiv.first[i].block], idiv.first[i].insn, &d->first[i]);
				if (idiv.first[i].block == dblock[i])
					first_k[i] = idiv.first[i].insn;
			}
			if ((d->have_common = idiv.have_common)) {
				const uint64_t cw = words[0][idiv.common[0].block];
				const struct ls_tb *ctb = ls_tlog_find(&run->tlog[0], ls_rec_pc(cw), ls_rec_ninsns(cw));

				insn_line(run, e, 0, cw, idiv.common[0].insn, &d->common);
				if (ctb && idiv.common[0].insn < ctb->ninsns)
					common_len = ctb->len[idiv.common[0].insn];
			}
		} else if (r == LS_INSN_SAME) {
			d->insn_problem = "the blocks hold the same instructions, cut differently: rerun with --insn";
		} else {
			d->insn_problem = "a block is missing from the translation log";
		}
	}

	/* Both divergent blocks, disassembled. */
	for (int i = 0; i < 2 && nw[i] > dblock[i]; i++) {
		uint64_t w = words[i][dblock[i]];
		uint32_t n = ls_rec_ninsns(w);
		if (!ls_tlog_find(&run->tlog[i], ls_rec_pc(w), n) && !ls_tlog_find(&run->tlog[i ^ 1], ls_rec_pc(w), n)) {
			d->dis_problem = run->t[i].info.tlog_cap ? "a divergent block is not in the translation log (it was "
								   "full: see the plugin's tlog=)"
								 : "the plugin keeps no translation log (tlog=0)";
			continue;
		}
		if (n > LS_TLOG_MAX_INSNS)
			n = LS_TLOG_MAX_INSNS;
		for (uint32_t k = 0; k < n; k++) {
			insn_line(run, e, i, w, k, &e->dis[i][k]);
			e->dis[i][k].mark = (int64_t)k == first_k[i];
		}
		d->dis[i] = e->dis[i];
		d->ndis[i] = n;
	}
	if (run->dis_failed)
		d->dis_problem = run->dis_err;

	/* Headline. */
	if (d->insn_found && d->have_common)
		headline_after_common(e, d);
	else if (insn_mode)
		snprintf(e->headline, sizeof(e->headline), "A executed %s, B %s", d->first[0].sym, d->first[1].sym);
	else if (d->pc[0] == d->pc[1])
		snprintf(e->headline, sizeof(e->headline), "the same block (%s) was cut at different lengths: %u and %u "
			 "instructions", d->sym[0], d->ninsns[0], d->ninsns[1]);
	else
		snprintf(e->headline, sizeof(e->headline), "A went on at %s, B at %s", d->sym[0], d->sym[1]);
	d->headline = e->headline;

	/*
	 * Cause: the syscalls both made since the runs were last known in step
	 * (the start, or where an earlier region rejoined), then what each
	 * guest was given at start, then an earlier region on this vCPU.
	 */
	struct ls_sys_log log[2];
	struct ls_syscmp sc;
	struct ls_syscmp_threads threads;
	struct ls_syscmp_signals sigs;
	struct ls_syscmp_span span = { .div_seq = { d->block[0], d->block[1] }, .threads = &threads, .signals = &sigs };
	thread_facts(run, d, e, v, &threads);
	signal_facts(run, d, e, words, nw, dblock, common_len, &sigs);
	if (run->rejoined[v])
		for (int i = 0; i < 2; i++)
			span.from_seq[i] = run->rejoin_blk[v][i];
	span.by_order = insn_mode || d->block[0] - span.from_seq[0] != d->block[1] - span.from_seq[1];
	for (int i = 0; i < 2; i++)
		read_syscalls(run, i, v, e, &log[i]);
	enum ls_cause cause = ls_syscmp_classify_span(&sc, ls_arch_from_target(run->t[0].info.target), log, &span);
	bool launch = run->gin_known && (run->gin.env || run->gin.args || run->gin.cwd);
	bool opts_visible = run->gin_known && run->gin.opts && ls_ginputs_opts_visible(run->gin.options);
	bool opts_lead = false; /* the differing options are the cause named */
	bool earlier = run->reported[v] > 0;
	bool several = sc.candidates[0] != '\0'; /* several candidates, one line each */
	const char *key = ls_cause_name(cause);
	size_t cl = 0;
#define CAUSE(...) (cl += (size_t)snprintf(e->cause + cl, cl < sizeof(e->cause) ? sizeof(e->cause) - cl : 0, __VA_ARGS__), \
		    cl = cl < sizeof(e->cause) ? cl : sizeof(e->cause) - 1)
	/*
	 * The blocks looked at hold the same instructions: nothing differed in
	 * execution there, so neither code generation nor an input is to blame
	 * (a different block size: another build, -singlestep).
	 */
	bool cut_differently = d->insn_problem && strstr(d->insn_problem, "cut differently");
	if (cut_differently) {
		key = "blocks_cut_differently";
		CAUSE("no difference in execution: both ran the same instructions, cut into blocks at other places\n"
		      "    (another block size: another build, -singlestep, -one-insn-per-tb); blocks cannot be compared, "
		      "instructions can (--insn)");
		if (cause == LS_CAUSE_INPUTS)
			CAUSE("\n    the syscalls already differ, though: %s", sc.headline);
		else if (launch)
			CAUSE("\n    the guests were started differently, though: %s", run->gin.inputs);
	} else if (launch) {
		/* How each guest was started is evidence of another kind than a syscall's result: it leads. */
		key = "inputs_differed";
		CAUSE("inputs differed: the guests were started differently: %s", run->gin.inputs);
		if (cause == LS_CAUSE_SAME_INPUTS)
			CAUSE("\n    the syscalls before it all returned the same");
		else
			CAUSE("\n    %s%s", cause == LS_CAUSE_INPUTS || cause == LS_CAUSE_INTERLEAVING ? "also: " : "",
			      sc.headline);
	} else if (cause == LS_CAUSE_SAME_INPUTS && opts_visible) {
		/* A CPU model or a seed is an input as much as a syscall's result. */
		key = "inputs_differed";
		opts_lead = true;
		CAUSE("inputs differed: the QEMUs were started with different options: %s\n    (a CPU model changes what "
		      "cpuid reports and which instructions exist; -seed, -R, -B, -s change random bytes,\n    addresses "
		      "and the stack); the syscalls before it all returned the same",
		      run->gin.options);
	} else if (earlier && cause == LS_CAUSE_SAME_INPUTS) {
		key = "earlier_region";
		CAUSE("after an earlier region: the runs already parted at A block %" PRIu64 " = B block %" PRIu64
		      " (this vCPU's first region),\n    so their state may differ since and this region may follow "
		      "from that one; the syscalls since they came\n    back together all returned the same",
		      run->first_div[v][0], run->first_div[v][1]);
	} else {
		CAUSE("%s", sc.headline);
	}
	if (sc.detail[0])
		CAUSE("\n    %s", sc.detail);
	for (const char *p = sc.candidates; *p;) {
		size_t n = strcspn(p, "\n");
		CAUSE("\n    %.*s", (int)n, p);
		p += n + (p[n] == '\n');
	}
	if (sc.args_note[0])
		CAUSE("\n    %s", sc.args_note);
	if (sc.coverage[0])
		CAUSE("\n    %s", sc.coverage);
	if (earlier && strcmp(key, "earlier_region"))
		CAUSE("\n    this vCPU already parted at A block %" PRIu64 " = B block %" PRIu64 " (its first region)",
		      run->first_div[v][0], run->first_div[v][1]);
	if (run->gin_known && run->gin.opts && !opts_lead)
		CAUSE("\n    the QEMUs run with different options: %s", run->gin.options);
#undef CAUSE
	d->cause = e->cause;
	d->cause_key = key;
	for (size_t k = 0; k < sc.ncand; k++) {
		ls_syscmp_cand_fields(&sc, k, &e->fields[k]);
		cause_syscall(&e->fields[k], &e->cands[k]);
	}
	if (sc.ncand) {
		d->culprit = e->cands[0];
		d->candidates = e->cands;
		d->ncandidates = sc.ncand;
	}
	if (sc.interleaving) {
		snprintf(e->interleaving, sizeof(e->interleaving), "%s", sc.interleaving_why);
		d->interleaving = e->interleaving;
		d->interleaving_likely = sc.interleaving_likely;
	}
	if (sc.signal) {
		snprintf(e->signal, sizeof(e->signal), "%s", sc.signal_why);
		d->signal = e->signal;
		d->signal_likely = sc.signal_likely;
	}
	d->specific_first = sc.specific_first;
	if (launch)
		d->started_differently = run->gin.inputs;
	if (run->gin_known && run->gin.opts)
		d->qemu_options = run->gin.options;
	if (log[0].n || log[1].n) {
		size_t w = (size_t)snprintf(e->syscalls, sizeof(e->syscalls), "  last syscalls before it:\n");
		ls_syscmp_table(&sc, 8, e->syscalls + w, sizeof(e->syscalls) - w);
		d->syscalls = e->syscalls;
	}
	/* What the syscall logs cannot show (rdtsc, AT_RANDOM, ...) bears on every cause they are part of. */
	if (strcmp(key, "blocks_cut_differently") && strcmp(key, "earlier_region") && !opts_lead)
		d->caveat = sc.caveat;

	/* What to do next. */
	if (cut_differently)
		snprintf(e->next, sizeof(e->next),
			 "both sides ran the same instructions, only cut into blocks differently: rerun with --insn to "
			 "compare\n    instruction streams (for QEMUs with different block sizes, -singlestep, "
			 "-one-insn-per-tb).\n");
	else if (opts_lead)
		snprintf(e->next, sizeof(e->next),
			 "start both QEMUs with the same options (only the block size may differ: -singlestep, or "
			 "--insn against\n    another build), then run again: code generation is suspect only once "
			 "they match.\n");
	else if (launch)
		snprintf(e->next, sizeof(e->next),
			 "start both guests with the same arguments, environment and working directory (QEMU's -E/-U "
			 "and the\n    shell they run from), then run again: a divergence left then is worth a "
			 "closer look.\n");
	else if (sc.signal && (sc.signal_likely || (cause != LS_CAUSE_INPUTS && !sc.interleaving_likely)))
		snprintf(e->next, sizeof(e->next),
			 "a signal's delivery point is not deterministic: it depends on the host's timing, so two runs "
			 "take it at\n    different blocks, and that is not code generation.  To compare code "
			 "generation, run the guest without\n    its timer or asynchronous signals (or with them "
			 "blocked)%s%s.\n",
			 sc.interleaving ? "; its threads may have run in another order too" : "",
			 cause == LS_CAUSE_INPUTS ? ", and make the inputs listed the same on both sides" : "");
	else if (sc.interleaving && (sc.interleaving_likely || cause != LS_CAUSE_INPUTS))
		snprintf(e->next, sizeof(e->next),
			 "the guest's threads may have run in another order on the two sides, which no QEMU option "
			 "fixes: code\n    generation is not implied.  To compare code generation, run the guest "
			 "with one thread if it can\n    (xz -T1, make -j1, OMP_NUM_THREADS=1)%s.\n",
			 cause == LS_CAUSE_INPUTS ? ", and make the inputs listed the same on both sides" : "");
	else if (cause == LS_CAUSE_INPUTS && several)
		snprintf(e->next, sizeof(e->next),
			 "the guest saw different inputs before the divergence and the data does not tell which one it "
			 "followed:\n    make them the same on both sides, one at a time to find the one that matters "
			 "(a fixed seed such as\n    PYTHONHASHSEED=0, a fixed time or pid in the guest), then run "
			 "again to find a real divergence%s.\n",
			 run->opts->forward_inputs ? ""
						   : ";\n    --forward-inputs gives B A's results of such syscalls "
						     "(and, in run mode, the same AT_RANDOM)");
	else if (cause == LS_CAUSE_INPUTS)
		snprintf(e->next, sizeof(e->next),
			 "the guest saw different inputs, so code generation is not suspect here: make that input the "
			 "same on both sides\n"
			 "    (a fixed time or pid in the guest, the same files), then run again to find a real "
			 "divergence%s.\n",
			 run->opts->forward_inputs ? ""
						   : ";\n    --forward-inputs gives B A's results of such syscalls "
						     "(and, in run mode, the same AT_RANDOM)");
	else if (earlier)
		snprintf(e->next, sizeof(e->next),
			 "look at this vCPU's first region (A block %" PRIu64 ") first: state that differs from there on "
			 "explains\n    later regions; rerun with --max-divergences 1 to stop at it.\n",
			 run->first_div[v][0]);
	else if (cause == LS_CAUSE_UNKNOWN)
		snprintf(e->next, sizeof(e->next),
			 "the syscalls could not tell whether the inputs were the same (see above); if they were, "
			 "suspect the\n    translation of the instruction%s before the divergence: compare both QEMUs' "
			 "-d in_asm,op,out_asm -dfilter 0x%" PRIx64 "+0x100 output.\n",
			 d->have_common ? " just" : "s", d->have_common ? d->common.addr : d->pc[0]);
	else
		snprintf(e->next, sizeof(e->next),
			 "suspect the translation of the instruction%s before the divergence: compare both QEMUs'\n"
			 "    -d in_asm,op,out_asm -dfilter 0x%" PRIx64 "+0x100 output for that block, or rerun with "
			 "--stop-on-divergence and inspect both with gdb.\n",
			 d->have_common ? " just" : "s", d->have_common ? d->common.addr : d->pc[0]);
	d->next_step = e->next;
	if (!run->reported[v]++)
		for (int i = 0; i < 2; i++)
			run->first_div[v][i] = d->block[i];
}

static void enrich_free(struct ls_enrich *e)
{
	for (int i = 0; i < 2; i++)
		free(e->recs[i]);
	free(e->row_sym);
	free(e);
}

/* One divergence report: text, or a JSON object. */
static void print_divergence(struct ls_run *run, struct ls_divergence *d)
{
	if (run->opts->json) {
		ls_json_divergence(stdout, run->desc, d, run->divergences, elapsed(run));
	} else {
		ls_print_divergence(stdout, run->desc, d);
		run->view_drawn = false;
	}
	fflush(stdout);
}

static void handle_divergence(struct ls_run *run, const struct ls_event *ev, bool from_kernel)
{
	const struct ls_opts *o = run->opts;
	struct ls_side_records rec[2] = {};
	uint64_t *buf[2] = {}, order = run->t[0].info.batch_order;
	struct ls_divergence d = { .vcpu = ev->vcpu, .range_lo = ev->range_lo, .range_hi = ev->range_hi };
	struct ls_enrich *enr = NULL;
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
		if (copy_records(&run->t[i], ev->batch_addr[i], lo, hi, &rec[i], &buf[i], &d.problem))
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
	d.seq_b = d.block[0] = d.block[1] = d.seq;
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
	if ((enr = calloc(1, sizeof(*enr)))) {
		const uint64_t *w[2];
		size_t nw[2], db[2];
		const int64_t none[2] = { -1, -1 };
		uint64_t before = d.cum[0] - d.ninsns[0];
		bool ok = true;
		for (i = 0; i < 2; i++)
			ok &= window_at(rec[i].first_seq, rec[i].words, rec[i].n, d.seq, &w[i], &nw[i], &db[i]);
		if (ok) {
			if (db[0])
				before -= ls_rec_ninsns(w[0][0]);
			enrich(run, &d, enr, (int)ev->vcpu, w, nw, db, none, before);
		}
	}
print:
	print_divergence(run, &d);
	if (o->stop_on_divergence) {
		freeze(run, (int)ev->vcpu, &d);
		goto out;
	}
	if (d.found && !run->fol[ev->vcpu].active) {
		/* Follow the pair in user space from here, re-aligning when the runs come back together. */
		uint64_t pos[2] = { d.seq, d.seq }, cum[2];
		for (i = 0; i < 2; i++)
			cum[i] = d.cum[i] - d.ninsns[i];
		if (follow_begin(run, (int)ev->vcpu, pos, cum) == 0) {
			run->fol_skip[ev->vcpu] = true; /* its first region is this one */
			/* The equal blocks of the divergent chunk before d were compared here. */
			run->user_blocks[ev->vcpu] += d.seq - ev->range_lo;
			for (uint64_t q = ev->range_lo > rec[0].first_seq ? ev->range_lo : rec[0].first_seq; q < d.seq; q++)
				run->user_insns[ev->vcpu] += ls_rec_ninsns(rec[0].words[q - rec[0].first_seq]);
		}
	}
	if (!run->fol[ev->vcpu].active && run->divergences >= o->max_divergences)
		run->stop = true;
	/*
	 * Other vCPUs compare on in the kernel; chunks published while frozen
	 * stay uncompared (counted).  Only a kernel freeze is ours to lift: a
	 * divergence user space found (backlog, tail) must not lift one the
	 * kernel raised meanwhile for an event still queued.
	 */
	if (from_kernel) {
		run->thawed++; /* gated plugins go on once they see it (gate_fields) */
		for (int w = 0; w < LS_MAX_VCPUS; w++)
			for (i = 0; i < 2; i++) {
				uint64_t fz = LS_READ(run->skel->bss->pairs[w].side[i].uncompared_frozen);
				if (w == (int)ev->vcpu && run->fol[w].active)
					run->frozen_followed[w][i] += fz - run->frozen_mark[w][i];
				run->frozen_mark[w][i] = fz;
			}
		__atomic_store_n(&run->skel->bss->control.frozen, 0, __ATOMIC_RELEASE);
	}
	update_permits(run, true);
out:
	if (enr)
		enrich_free(enr);
	free(rows);
	free(buf[0]);
	free(buf[1]);
}

/* Side i of vCPU v has published chunk t in full and waits before t + 1. */
static bool held_at(struct ls_run *run, int i, int v, uint64_t t, struct ls_batch *b)
{
	uint64_t head;

	const char *bad;

	if (ls_target_batch(run->t[i].pid, &run->t[i].info, run->sc[i][v].batch_addr, b, &bad) ||
	    ls_target_head_seq(run->t[i].pid, b, &head))
		return false;
	/* A stream that published its last chunk at or before T waits at exit: as held as it gets. */
	if (b->pub_id && (b->flags & LS_PUB_FINAL) && b->chunk <= t) {
		note_final(run, i, v, b);
		return run->sc[i][v].pre_final;
	}
	return b->chunk == t && (b->flags & LS_PUB_FULL) && head == (t + 1) << b->batch_order;
}

static void handle_divergence(struct ls_run *run, const struct ls_event *ev, bool from_kernel);

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
	handle_divergence(run, &ev, false);
}

/* A region the follower found: the same report as a kernel-found divergence, from its buffers. */
static void region_report(struct ls_run *run, int v, const struct ls_align_ev *ev)
{
	const struct ls_opts *o = run->opts;
	const struct ls_follow *f = &run->fol[v];
	struct ls_side_records rec[2];
	uint64_t *scratch[2] = {};
	struct ls_hist_row *rows = calloc(o->history + o->after + 1, sizeof(*rows));
	struct ls_divergence d = { .vcpu = (uint32_t)v, .seq = ev->at[0], .seq_b = ev->at[1],
				   .range_lo = ev->at[0], .range_hi = ev->at[0] + 1,
				   .unit = f->mode == LS_FOLLOW_INSNS ? "instruction" : "block" };

	if (!rows) {
		d.problem = "out of memory";
	} else if (ls_follow_records(f, ev->at, o->history, o->after, rec, scratch)) {
		d.problem = "the records around it are no longer in memory";
	} else {
		d.nrows = ls_history_at(rec, ev->at, o->history, o->after, rows, o->history + o->after + 1);
		d.rows = rows;
		for (size_t k = 0; k < d.nrows; k++) {
			if (rows[k].seq != ev->at[0])
				continue;
			for (int i = 0; i < 2; i++) {
				d.pc[i] = rows[k].pc[i];
				d.ninsns[i] = rows[k].ninsns[i];
				d.cum[i] = rows[k].cum[i];
			}
			d.found = true;
		}
		if (!d.found)
			d.problem = "the records around it are no longer in memory";
	}
	for (int i = 0; i < 2; i++)
		d.block[i] = ls_follow_block_of(f, i, ev->at[i]);
	struct ls_enrich *enr = d.found ? calloc(1, sizeof(*enr)) : NULL;
	if (enr) {
		const uint64_t *w[2];
		size_t nw[2] = { 0, 0 }, db[2] = { 0, 0 };
		int64_t dk[2] = { -1, -1 };
		uint64_t before = d.cum[0] - d.ninsns[0];
		bool ok = true;
		for (int i = 0; i < 2 && ok; i++) {
			ok = window_at(f->rec[i].base, f->rec[i].v, f->rec[i].n, d.block[i], &w[i], &nw[i], &db[i]);
			if (ok && f->mode == LS_FOLLOW_INSNS)
				dk[i] = (int64_t)(ev->at[i] - f->istart[i].v[d.block[i] - f->istart[i].base]);
		}
		if (ok) {
			if (f->mode == LS_FOLLOW_INSNS)
				before = ev->at[0];
			else if (db[0])
				before -= ls_rec_ninsns(w[0][0]);
			enrich(run, &d, enr, v, w, nw, db, dk, before);
			if (f->mode == LS_FOLLOW_INSNS && ev->at[0] > f->ins[0].base) {
				/* The instruction before it, which both ran. */
				uint64_t p = ev->at[0] - 1, b = ls_follow_block_of(f, 0, p);
				if (b >= f->rec[0].base) {
					insn_line(run, enr, 0, f->rec[0].v[b - f->rec[0].base],
						  (uint32_t)(p - f->istart[0].v[b - f->istart[0].base]), &d.common);
					d.have_common = true;
					headline_after_common(enr, &d);
				}
			}
		}
	}
	print_divergence(run, &d);
	ls_follow_unpin(&run->fol[v]);
	if (enr)
		enrich_free(enr);
	if (o->stop_on_divergence)
		freeze(run, v, &d);
	free(rows);
	free(scratch[0]);
	free(scratch[1]);
}

/* The end of a divergent region, like a diff hunk header. */
static void region_end(struct ls_run *run, int v, const struct ls_align_ev *ev)
{
	const struct ls_follow *f = &run->fol[v];
	bool rejoined = ev->type == LS_ALIGN_REJOINED;
	const char *unit = f->mode == LS_FOLLOW_INSNS ? "instructions" : "blocks";
	uint64_t back[2] = { ev->at[0] + ev->len[0], ev->at[1] + ev->len[1] };

	if (rejoined) {
		run->rejoined[v] = true;
		for (int i = 0; i < 2; i++)
			run->rejoin_blk[v][i] = ls_follow_block_of(f, i, back[i]);
	}
	if (run->opts->json) {
		ls_json_region(stdout, v, f->regions, rejoined, unit, ev->at, ev->len, elapsed(run));
	} else if (rejoined) {
		char span[2][96];
		for (int i = 0; i < 2; i++) {
			if (ev->len[i])
				snprintf(span[i], sizeof(span[i]), "%s %" PRIu64 "-%" PRIu64 " (%" PRIu64 ")", unit, ev->at[i],
					 back[i] - 1, ev->len[i]);
			else
				snprintf(span[i], sizeof(span[i]), "no %s (at %" PRIu64 ")", unit, ev->at[i]);
		}
		printf("@@ region %u, vCPU %d: A %s, B %s apart; back together at A %" PRIu64 " = B %" PRIu64 " @@\n",
		       f->regions, v, span[0], span[1], back[0], back[1]);
	} else {
		printf("@@ region %u, vCPU %d: A %s %" PRIu64 "+, B %s %" PRIu64 "+ apart; not back together within "
		       "%" PRIu64 " %s (--window): this vCPU is not compared further @@\n",
		       f->regions, v, unit, ev->at[0], unit, ev->at[1], run->opts->window, unit);
	}
	fflush(stdout);
	run->view_drawn = false;
}

/* A pending region report can go out once both sides have --after symbols past it (or ended). */
static bool region_ready(const struct ls_run *run, int v, const bool final[2])
{
	const struct ls_follow *f = &run->fol[v];
	const struct ls_seqbuf *sym = f->mode == LS_FOLLOW_INSNS ? f->ins : f->rec;

	for (int i = 0; i < 2; i++)
		if (!final[i] && ls_seqbuf_end(&sym[i]) <= run->fol_ev[v].at[i] + run->opts->after)
			return false;
	return true;
}

/*
 * Side w of followed vCPU v exited with records we never copied: the
 * summary counts them as not compared, which is true but not why.  Say it.
 * False when there were none.
 */
static bool note_uncopied(struct ls_run *run, int v, int w)
{
	const struct ls_follow *f = &run->fol[v];
	const struct ls_side_state *st = &run->skel->bss->pairs[v].side[w];
	uint64_t pub = LS_READ(st->pub_end);

	if (!f->active || ls_follow_copied(f, w) >= pub)
		return false;
	notice(run, "notice",
	       "vCPU %d: %c exited with %" PRIu64 " published blocks not yet copied by the monitor: they are not "
	       "compared%s",
	       v, run->t[w].label, pub - ls_follow_copied(f, w),
	       LS_READ(st->final) ? " (it waited at exit until its lease ran out: the monitor fell more than --lease behind)"
				  : "");
	return true;
}

/*
 * Side i's process is gone (its pidfd is readable), whether or not the loop
 * has seen it yet.  Its memory goes early in its exit, its pidfd becomes
 * readable at the end: after a failed read, wait_ms lets it get there.
 */
static bool side_gone(const struct ls_run *run, int i, int wait_ms)
{
	struct pollfd p = { .fd = run->pidfd[i], .events = POLLIN };

	return run->ended[i] || (run->pidfd[i] >= 0 && poll(&p, 1, wait_ms) == 1);
}

/* --insn: every vCPU pair is followed from its first block, once both sides have the stream. */
static void follow_discover(struct ls_run *run)
{
	for (int v = 0; v < LS_MAX_VCPUS; v++) {
		const uint64_t zero[2] = { 0, 0 };
		if (run->fol[v].active || !run->sc[0][v].batch_addr || !run->sc[1][v].batch_addr)
			continue;
		if (follow_begin(run, v, zero, zero))
			notice(run, "error", "vCPU %d: cannot start comparing it: out of memory", v);
	}
}

/*
 * Each tick: copy what the followed pairs published, compare, report
 * regions.  The work is cut into rounds of LS_FOLLOW_ROUND blocks a side
 * and stops after run->lease_ns / 8, so the leases (renewed between ticks)
 * never run out while we compare: a QEMU whose lease ran out would run on
 * and could exit before we copied its end.  Returns true when published
 * blocks were left for the next tick.
 */
static bool follow_tick(struct ls_run *run)
{
	uint64_t deadline = now_ns() + run->lease_ns / 8;
	bool more = false;
	const struct ls_opts *o = run->opts;
	bool any = false;

	uint64_t pub[LS_MAX_VCPUS][2];
	bool fin[LS_MAX_VCPUS][2];

	if (o->insn)
		follow_discover(run);
	for (int v = 0; v < LS_MAX_VCPUS; v++)
		any |= run->fol[v].active && !run->fol[v].lost;
	if (!any)
		return false;
	/*
	 * What was published before the translation log is read was translated
	 * before it too: --insn expands only blocks the log it has can know.
	 */
	for (int v = 0; v < LS_MAX_VCPUS; v++)
		for (int i = 0; i < 2; i++) {
			/* Final first: a final side's end read after it is its last. */
			fin[v][i] = side_final(run, i, v) || run->ended[i];
			pub[v][i] = side_end(run, i, v);
		}
	if (o->insn)
		for (int i = 0; i < 2; i++)
			tlog_pull(run, i);
	for (int v = 0; v < LS_MAX_VCPUS && !run->stop; v++) {
		struct ls_follow *f = &run->fol[v];
		struct ls_follow_io io[2];
		bool final[2];

		if (!f->active || f->lost)
			continue;
		for (int i = 0; i < 2; i++)
			io[i] = (struct ls_follow_io){ run->t[i].pid, run->sc[i][v].batch_addr, pub[v][i], fin[v][i],
						      &run->tlog[i], &run->t[i].info };
	round:;
		int64_t pulled = ls_follow_pull(f, io, LS_FOLLOW_ROUND);
		if (pulled < 0) {
			/* A QEMU that exited with records not copied: say that, not that its memory was unreadable. */
			bool told = false;
			for (int i = 0; i < 2 && pulled != -ENOENT && pulled != -ENOMEM; i++)
				if (side_gone(run, i, 40))
					told |= note_uncopied(run, v, i);
			if (!told)
				notice(run, "notice", "vCPU %d: user-space comparison stopped: %s", v, f->problem);
			f->lost = true;
			continue;
		}
		for (int i = 0; i < 2; i++)
			final[i] = (side_final(run, i, v) || run->ended[i]) &&
				   ls_follow_copied(f, i) >= side_end(run, i, v);
		for (;;) {
			struct ls_align_ev ev;
			if (ls_follow_step(f, final, &ev) || ev.type == LS_ALIGN_NONE)
				break;
			if (ev.type == LS_ALIGN_PARTED) {
				if (run->fol_skip[v]) {
					run->fol_skip[v] = false;
					ls_follow_unpin(f); /* reported already, by the kernel path */
					continue;
				}
				run->diverged = true;
				run->divergences++;
				run->fol_pending[v] = true;
				run->fol_ev[v] = ev;
			} else {
				if (run->fol_pending[v]) {
					run->fol_pending[v] = false;
					region_report(run, v, &run->fol_ev[v]);
				}
				region_end(run, v, &ev);
				if (run->divergences >= o->max_divergences)
					run->stop = true; /* the last region allowed is closed */
			}
			if (run->stop)
				break;
		}
		if (run->fol_pending[v] && !run->stop && region_ready(run, v, final)) {
			run->fol_pending[v] = false;
			region_report(run, v, &run->fol_ev[v]);
		}
		if (run->divergences >= o->max_divergences && !f->region_open && !run->fol_pending[v] && run->diverged)
			run->stop = true;
		if (run->stop || f->lost)
			continue;
		/* More to copy, unless all that is left is a side held until the other catches up. */
		if (pulled && (ls_follow_copied(f, 0) < pub[v][0] || ls_follow_copied(f, 1) < pub[v][1])) {
			/*
			 * A round takes tens of ms when the machine is loaded: renew
			 * the leases between rounds too, not only between ticks, or
			 * a QEMU may take a lapsed lease for a gone monitor and
			 * overwrite records we have not copied.
			 */
			update_permits(run, false);
			if (now_ns() < deadline)
				goto round;
			more = true;
		}
	}
	return more;
}

/* Compare [max(oldest held), T * chunk) of both held sides, record by record. */
static void backlog_compare(struct ls_run *run, int v, const struct ls_batch b[2])
{
	struct ls_backlog *bk = &run->bk[v];
	struct ls_side_records rec[2] = {};
	uint64_t *buf[2] = {}, order = b[0].batch_order, ring = 1ull << b[0].ring_order;
	uint64_t end = (bk->target + 1) << order, hi;
	/* A side that ended before T ends the common range there. */
	for (int i = 0; i < 2; i++)
		if (run->sc[i][v].pre_final && run->sc[i][v].pre_end < end)
			end = run->sc[i][v].pre_end;
	hi = end;
	uint64_t lo = end > ring ? end - ring : 0;
	const char *problem = NULL;

	for (int i = 0; i < 2; i++) {
		if (copy_records(&run->t[i], run->sc[i][v].batch_addr, lo, hi, &rec[i], &buf[i], &problem)) {
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

	/*
	 * Chunk 0 too: a side still in its first chunk may publish it before
	 * its uprobe goes in, and the kernel would then start at chunk 1.  So
	 * is a pair with one side's stream not created yet (vCPU 0 always
	 * exists): the hold waits for it.
	 */
	for (int v = 0; v < LS_MAX_VCPUS; v++) {
		const struct ls_stream_ctl *a = &run->sc[0][v], *b = &run->sc[1][v];
		if (v && !a->batch_addr && !b->batch_addr)
			continue;
		uint64_t t = a->attach_chunk > b->attach_chunk ? a->attach_chunk : b->attach_chunk;
		run->bk[v] = (struct ls_backlog){ .active = true, .target = t };
		any = true;
	}
	if (!any)
		return;
	update_permits(run, true);
	do {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
		discover_streams(run); /* a vCPU's stream created meanwhile is held at T as well */
		all = true;
		for (int v = 0; v < LS_MAX_VCPUS; v++) {
			struct ls_backlog *bk = &run->bk[v];
			struct ls_batch b[2] = {};
			bool held = bk->active;
			for (int i = 0; bk->active && i < 2; i++) {
				if (!run->sc[i][v].batch_addr) {
					held = false;
					continue;
				}
				if (run->sc[i][v].attach_chunk > bk->target)
					bk->target = run->sc[i][v].attach_chunk;
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
		/* What each had published when the monitor attached: the summary counts the same. */
		if (!run->sc[0][v].batch_addr || !run->sc[1][v].batch_addr)
			notice(run, "notice",
			       "vCPU %d: %c has no stream for it after %.0f s: the blocks published before the attach are "
			       "not compared (A %" PRIu64 ", B %" PRIu64 ", counted in the summary)",
			       v, run->t[run->sc[0][v].batch_addr ? 1 : 0].label, LS_BACKLOG_WAIT_NS / 1e9,
			       run->sc[0][v].attach_end, run->sc[1][v].attach_end);
		else
			notice(run, "notice",
			       "vCPU %d: the blocks published before the attach are not compared (A %" PRIu64 ", B %" PRIu64
			       "): a side did not reach block %" PRIu64 " within %.0f s (blocked in a system call?), so the "
			       "comparison starts at the first chunk both publish later",
			       v, run->sc[0][v].attach_end, run->sc[1][v].attach_end,
			       (bk->target + 1) << run->t[0].info.batch_order, LS_BACKLOG_WAIT_NS / 1e9);
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

	bool pre = run->sc[0][v].pre_final || run->sc[1][v].pre_final;
	/* Never paired: nothing to continue from, unless a side ended before the kernel saw it (from block 0). */
	if (!start1 && !bk->end && !pre)
		return;
	for (int i = 0; i < 2; i++) {
		pub[i] = side_end(run, i, v);
		if (LS_READ(st->side[i].uncompared_late))
			return; /* the kernel's comparison has a gap: the tail would not join it */
	}
	uint64_t lo = compare_start(run, v, start1) + LS_READ(st->compared_blocks) + bk->blocks;
	uint64_t common = pub[0] < pub[1] ? pub[0] : pub[1];
	if (lo >= common)
		return;
	for (int i = 0; i < 2; i++) {
		if (copy_records(&run->t[i], run->sc[i][v].batch_addr, lo, pub[i], &rec[i], &buf[i], &problem) ||
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

/*
 * A stream the kernel has seen nothing from since the uprobes went in may
 * have published its last chunk just before (a first chunk, not held by
 * the backlog): read its batch.  If the kernel sees that publication too,
 * both agree on its end.
 */
static void look_for_final(struct ls_run *run, int i, int v)
{
	struct ls_stream_ctl *c = &run->sc[i][v];
	struct ls_batch b;

	if (!c->batch_addr || c->pre_final || run->ended[i] || LS_READ(run->skel->bss->pairs[v].side[i].publications) ||
	    ls_target_read(run->t[i].pid, c->batch_addr, &b, sizeof(b)))
		return;
	if (b.pub_id)
		note_final(run, i, v, &b);
}

/* Each tick: streams that published their final chunk get their tail compared, then are let go. */
static void tail_step(struct ls_run *run)
{
	static uint64_t looked;
	uint64_t now = now_ns();
	bool changed = false, look = now - looked > 20000000ull;

	if (look)
		looked = now;

	for (int v = 0; v < LS_MAX_VCPUS; v++) {
		const struct ls_pair_state *st = &run->skel->bss->pairs[v];
		struct ls_tail *tl = &run->tail[v];
		if (!tl->done && look)
			for (int i = 0; i < 2; i++)
				look_for_final(run, i, v);
		bool fin[2] = { side_final(run, 0, v), side_final(run, 1, v) };
		if (tl->done || (!fin[0] && !fin[1]) || LS_READ(st->user_owned))
			continue; /* a followed pair's end is compared by its follower */
		if (!tl->since_ns)
			tl->since_ns = now;
		uint64_t pa = side_end(run, 0, v), pb = side_end(run, 1, v);
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
			handle_divergence(run, ev, true);
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
		pair_view(run, (int)k, &st);
		if (!st.side[0].publications && !st.side[1].publications && !bk->end && !run->sc[0][k].attach_end &&
		    !run->sc[1][k].attach_end)
			continue;
		s->vcpus++;
		const struct ls_tail *tl = &run->tail[k];
		const struct ls_follow *f = &run->fol[k];
		uint64_t fol_blocks = 0, consumed[2] = { 0, 0 };
		if (f->active) {
			/* Blocks each side went through under the follower: compared, or apart in a region. */
			for (int i = 0; i < 2; i++) {
				/* Through the comparator: what it has passed (not what it keeps for history). */
				uint64_t need = ls_align_pos(&f->al, i);
				uint64_t end = ls_follow_copied(f, i);
				const struct ls_seqbuf *sym = f->mode == LS_FOLLOW_INSNS ? &f->ins[i] : &f->rec[i];
				/* Past its last instruction, the last block is through too (block_of would name it). */
				uint64_t b = need >= ls_seqbuf_end(sym) ? end : ls_follow_block_of(f, i, need);
				consumed[i] = b > f->start_block[i] ? b - f->start_block[i] : 0;
			}
			fol_blocks = f->mode == LS_FOLLOW_BLOCKS ? ls_follow_matched(f) : consumed[0];
			s->compared_insns += f->matched_insns;
			for (int i = 0; i < 2; i++) {
				s->side[i].insn_repeats += f->repeats[i];
				s->side[i].insn_phantoms += f->phantoms[i];
			}
			s->regions_open += f->region_open;
			/* Lost: no rejoin within --window; otherwise it stopped (a notice said why). */
			s->gave_up_vcpus += f->lost && ls_align_state(&f->al) == LS_ALIGN_ST_LOST;
			s->stopped_vcpus += f->lost && ls_align_state(&f->al) != LS_ALIGN_ST_LOST;
		}
		s->compared_blocks += st.compared_blocks + bk->blocks + tl->blocks + fol_blocks + run->user_blocks[k];
		s->compared_insns += st.compared_insns + bk->insns + tl->insns + run->user_insns[k];
		uint64_t start = f->active && f->mode == LS_FOLLOW_INSNS ? f->start_block[0]
										  : compare_start(run, (int)k, st.start1);
		bool started = st.start1 || bk->end || f->active || (pair_pre_final(run, (int)k) && tl->blocks);
		if (started && (!s->started || start < s->start_seq))
			s->start_seq = start;
		s->started |= started;
		for (int i = 0; i < 2; i++) {
			struct ls_side_summary *ss = &s->side[i];
			uint64_t pub = st.side[i].pub_end > bk->end ? st.side[i].pub_end : bk->end;
			uint64_t att = run->sc[i][k].attach_end;
			if (pub < att)
				pub = att; /* published before the attach, nothing since */
			/* Not started: what it had published when the monitor attached was not compared either. */
			uint64_t early = started ? (start < pub ? start : pub) : att;
			uint64_t late = st.side[i].uncompared_late;
			/*
			 * Chunks published while the divergence froze the kernel's comparison come after it:
			 * when user space followed this pair, it went through them itself.
			 */
			if (f->active) {
				uint64_t fz = run->frozen_followed[k][i] < late ? run->frozen_followed[k][i] : late;
				uint64_t end = ls_follow_copied(f, i), covered = end > f->start_block[i] ? end - f->start_block[i] : 0;
				late -= fz < covered ? fz : covered;
			}
			uint64_t apart = f->active ? (f->mode == LS_FOLLOW_BLOCKS ? f->apart[i] : 0) : 0;
			if (f->active && f->mode == LS_FOLLOW_INSNS)
				apart = consumed[i] - (i == 0 ? fol_blocks : consumed[i]); /* counted in instructions instead */
			ss->apart += apart;
			ss->published_end += pub;
			final[i] &= st.side[i].final != 0;
			ss->early += early;
			ss->late += late;
			ss->overruns += st.side[i].overruns;
			uint64_t accounted =
				early + late + st.compared_blocks + bk->blocks + tl->blocks + run->user_blocks[k] + consumed[i];
			uint64_t rest = pub > accounted ? pub - accounted : 0;
			if (f->active && f->lost && ls_align_state(&f->al) == LS_ALIGN_ST_LOST)
				ss->gave_up += rest;
			else if (f->active && f->lost)
				ss->stopped += rest;
			else
				ss->pending += rest;
		}
	}
	s->insn_mode = run->opts->insn;
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
	s->fwd = NULL;
	if (run->opts->forward_inputs) {
		struct ls_fwd_summary *w = &run->fwd_rep.s;
		if (run->fwd) {
			struct ls_fwd_hdr h;
			memcpy(&h, run->fwd, sizeof(h));
			ls_fwd_report_build(&run->fwd_rep, &h, ls_arch_from_target(run->t[0].info.target));
			if (!h.ready[0] || !h.ready[1])
				snprintf(run->fwd_problem, sizeof(run->fwd_problem), "%s",
					 !h.ready[0] && !h.ready[1] ? "neither plugin took the forwarding channel (their stderr says why)"
					 : !h.ready[0]		 ? "A's plugin did not take the forwarding channel (its stderr says why)"
								 : "B's plugin did not take the forwarding channel (its stderr says why)");
			else
				run->fwd_problem[0] = 0; /* asked before the plugins had it: they have it now */
		} else {
			memset(&run->fwd_rep, 0, sizeof(run->fwd_rep));
			if (!*run->fwd_problem)
				snprintf(run->fwd_problem, sizeof(run->fwd_problem), "the gate, which carries the channel, "
										   "could not be set up");
		}
		w->problem = *run->fwd_problem ? run->fwd_problem : NULL;
		w->auxv = run->fwd_auxv;
		w->auxv_same = run->fwd_auxv_same;
		s->fwd = w;
	}
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

/*
 * Both sides exec'd the same program at the same block and every block
 * either QEMU ran was compared: the comparison is as complete as it can be
 * (no QEMU runs after an exec).
 */
static bool execd_alike_all_compared(const struct ls_run *run, const struct ls_summary *s)
{
	if (!ls_sidelife_both_execd_alike(run->life))
		return false;
	for (int i = 0; i < 2; i++)
		if (s->side[i].late || s->side[i].pending || s->side[i].gave_up || s->side[i].apart)
			return false;
	return true;
}

/* A side's forks and execs: said once each, when first seen (sidelife.c). */
static void life_check(struct ls_run *run, int i)
{
	char line[256];
	unsigned news = ls_sidelife_poll(&run->life[i], run->t[i].pid, run->t[i].info_addr);

	if ((news & LS_SIDELIFE_FORKED) && ls_sidelife_fork_text(&run->life[i], run->desc[i].label, line, sizeof(line)))
		notice(run, "notice", "%s", line);
	if ((news & LS_SIDELIFE_EXECD) && ls_sidelife_exec_text(&run->life[i], run->desc[i].label, line, sizeof(line)))
		notice(run, "notice", "%s", line);
}

/*
 * Whether side i exec'd, or is going into an execve the monitor has
 * acknowledged: that takes a moment more, and stopping it then would kill
 * the guest's next program.  Waits for the outcome, 2 s at most.
 */
static bool exec_in_flight(struct ls_run *run, int i)
{
	uint64_t until = now_ns() + 2000000000ull;

	life_check(run, i);
	while (!run->life[i].execd && run->life[i].exec_state == LS_EXEC_ENTERED && now_ns() < until &&
	       !ls_child_reap(&run->child[i])) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
		life_check(run, i);
	}
	return run->life[i].execd;
}

static void side_ended(struct ls_run *run, int w)
{
	struct ls_summary s;
	char how[64] = "exited";
	int status = -1;

	life_check(run, w); /* before the reap: an exec is told from a plugin whose memory is gone */
	if (w == 0 && run->fwd) /* B stops waiting for syscalls A will never make */
		__atomic_store_n(&run->fwd->a_ended, 1, __ATOMIC_RELEASE);
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

/* A followed pair is done: both ends copied and compared, no region open. */
static bool follow_complete(const struct ls_run *run, int v)
{
	const struct ls_follow *f = &run->fol[v];

	if (f->lost || f->region_open || run->fol_pending[v] || ls_align_state(&f->al) != LS_ALIGN_ST_SYNC)
		return false;
	for (int i = 0; i < 2; i++) {
		const struct ls_seqbuf *sym = f->mode == LS_FOLLOW_INSNS ? &f->ins[i] : &f->rec[i];
		if (!side_final(run, i, v) || ls_follow_copied(f, i) < side_end(run, i, v) ||
		    ls_align_pos(&f->al, i) != ls_seqbuf_end(sym))
			return false;
	}
	return true;
}

/*
 * Every stream of both sides published its final chunk, at the same block,
 * and every block from the comparison start was compared.
 */
static bool comparison_complete(struct ls_run *run)
{
	unsigned active = 0;

	for (uint32_t k = 0; k < LS_MAX_VCPUS; k++) {
		static struct ls_pair_state view;
		const struct ls_pair_state *st = &view;
		pair_view(run, (int)k, &view);
		if (!LS_READ(st->side[0].publications) && !LS_READ(st->side[1].publications))
			continue;
		active++;
		if (run->fol[k].active) {
			if (!follow_complete(run, (int)k))
				return false;
			continue;
		}
		uint64_t end = LS_READ(st->side[0].pub_end), start1 = LS_READ(st->start1);
		const struct ls_backlog *bk = &run->bk[k];
		uint64_t start = compare_start(run, (int)k, start1);
		if (!LS_READ(st->side[0].final) || !LS_READ(st->side[1].final) || end != LS_READ(st->side[1].pub_end) ||
		    !(start1 || bk->end || pair_pre_final(run, (int)k)) ||
		    LS_READ(st->compared_blocks) + bk->blocks + run->tail[k].blocks != end - start)
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
 * themselves (the relay carries their output); an interruptible wait ends
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
		}
		if (!waiting)
			return;
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
	}
}


/*
 * The skeleton, opened with a kernel BTF cut to the structs the program
 * names (kbtf.h says why) where the kernel lets its BTF be mapped;
 * otherwise libbpf reads the whole of it, as usual.  *kbtf_fd is the cut's
 * memfd, to close once the skeleton is loaded, or -1.
 */
static struct lockstep_bpf *open_skel(const struct ls_opts *o, int *kbtf_fd)
{
	const char *names[64];
	size_t n = 0;
	char why[256] = "", path[64];
	int ncut = 0;

	*kbtf_fd = -1;
	/* The program's own BTF says which structs it has: open once to read it (about a millisecond). */
	struct lockstep_bpf *probe = lockstep_bpf__open();
	const struct btf *local = probe ? bpf_object__btf(probe->obj) : NULL;
	for (__u32 id = 1; local && id < btf__type_cnt(local) && n < sizeof(names) / sizeof(names[0]); id++) {
		const struct btf_type *t = btf__type_by_id(local, id);
		if ((btf_is_struct(t) || btf_is_union(t)) && t->name_off)
			names[n++] = strdup(btf__name_by_offset(local, t->name_off));
	}
	lockstep_bpf__destroy(probe);
	bool named = n > 0;
	for (size_t k = 0; k < n; k++)
		named &= names[k] != NULL;
	if (named)
		*kbtf_fd = ls_kbtf_memfd("/sys/kernel/btf/vmlinux", names, n, &ncut, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "the program's own BTF could not be read");
	for (size_t k = 0; k < n; k++)
		free((void *)names[k]);
	if (*kbtf_fd < 0) {
		if (o->verbose)
			fprintf(stderr, "lockstep-bpf: kernel BTF: libbpf reads all of it (%s)\n", why);
		return lockstep_bpf__open();
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", *kbtf_fd);
	if (o->verbose)
		fprintf(stderr, "lockstep-bpf: kernel BTF: %d types cut from the mapped /sys/kernel/btf/vmlinux (%s)\n",
			ncut, path);
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = path);
	return lockstep_bpf__open_opts(&oo);
}
static void child_reason(const struct ls_run *run, int i, char *out, size_t len);

/* Side i published at least one block (on any vCPU). */
static bool side_published(const struct ls_run *run, int i)
{
	for (int v = 0; v < LS_MAX_VCPUS; v++)
		if (LS_READ(run->skel->bss->pairs[v].side[i].pub_end))
			return true;
	return false;
}

static int run_monitor(struct ls_run *run)
{
	const struct ls_opts *o = run->opts;
	struct bpf_link *links[2] = {};
	struct ring_buffer *rb = NULL;
	struct ls_summary sum;
	int epfd = -1, kbtf_fd = -1, err, code = LS_EXIT_USAGE, i;

	run->pidfd[0] = run->pidfd[1] = -1;
	run->skel = open_skel(o, &kbtf_fd);
	if (!run->skel) {
		code = fail("cannot open the BPF object: %s", strerror(errno));
		goto cleanup;
	}
	run->skel->rodata->window_chunks = run->window; /* the kernel's overrun bound: what both rings hold */
	err = lockstep_bpf__load(run->skel);
	if (kbtf_fd >= 0)
		close(kbtf_fd); /* libbpf has read it */
	if (err) {
		code = fail("the kernel refused the BPF program: %s (rerun with -v for the verifier log)",
			    strerror(-err));
		goto cleanup;
	}
	run->lease_ns = (uint64_t)o->lease_ms * 1000000ull;
	err = ls_renewer_start(&run->renew, run->lease_ns, LS_RENEW_STALL_NS, renew_leases, run);
	if (err) {
		code = fail("cannot start the lease renewal thread: %s", strerror(-err));
		goto cleanup;
	}
	if (o->verbose)
		fprintf(stderr, "lockstep-bpf: leases renewed every %.0f ms by a thread of their own%s\n",
			run->renew.period_ns / 1e6, run->renew.realtime ? " (real-time priority)" : " (normal priority: no CAP_SYS_NICE)");
	ls_tlog_init(&run->tlog[0]);
	ls_tlog_init(&run->tlog[1]);
	discover_streams(run);
	if (o->insn) {
		/* Instruction streams are compared in user space, from each stream's first block. */
		for (int v = 0; v < LS_MAX_VCPUS; v++) {
			run->skel->bss->pairs[v].user_owned = 1;
			for (i = 0; i < 2; i++) {
				if (run->sc[i][v].attach_chunk) {
					code = fail("--insn compares from the first block, and %c (pid %d) is past it: start "
						    "both QEMUs with the plugin's wait= argument, or use `lockstep-bpf run "
						    "--insn`",
						    run->t[i].label, (int)run->t[i].pid);
					goto cleanup;
				}
			}
		}
		for (i = 0; i < 2; i++) {
			if (!run->t[i].info.tlog_cap) {
				code = fail("--insn needs the translation log, and %c's plugin has none (tlog=0)",
					    run->t[i].label);
				goto cleanup;
			}
		}
	} else if (!run->child) {
		backlog_hold(run);
	}
	for (i = 0; o->forward_inputs && i < 2; i++) {
		if (run->sc[i][0].attach_chunk) {
			code = fail("--forward-inputs pairs syscalls from the first, and %c (pid %d) is past its first block: "
				    "start both QEMUs with the plugin's wait= argument (and forward=a / forward=b)",
				    run->t[i].label, (int)run->t[i].pid);
			goto cleanup;
		}
	}
	for (i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = "lockstep_publish", .bpf_cookie = (uint64_t)i);
		links[i] = bpf_program__attach_uprobe_opts(run->skel->progs.on_publish, run->t[i].pid,
							   run->t[i].probe_path, 0, &uo);
		if (!links[i]) {
			int e = errno;
			/* It passed the checks, then ended: the path under /proc/PID/root is gone with it. */
			if (ls_target_gone(run->t[i].pid))
				code = fail("%c (pid %d) exited while the monitor was starting, before its uprobe could be "
					    "attached: nothing was compared",
					    run->t[i].label, (int)run->t[i].pid);
			else
				code = fail("cannot attach the uprobe to %c (pid %d, %s): %s", run->t[i].label,
					    (int)run->t[i].pid, run->t[i].plugin_path, strerror(e));
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
	/* epoll data: 0-1 pidfds, 2 the ring buffer, 3 the gate socket. */
	struct epoll_event ee = { .events = EPOLLIN, .data.u32 = 2 };
	epoll_ctl(epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(rb), &ee);
	for (i = 0; i < 2; i++) {
		ee.data.u32 = (uint32_t)i;
		epoll_ctl(epfd, EPOLL_CTL_ADD, run->pidfd[i], &ee);
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
	for (i = 0; i < 2; i++) {
		const char *port = gdbstub_port(&run->t[i]);
		if (port && run->child)
			notice(run, "notice",
			       "%c waits for a debugger before its first instruction (QEMU's -g %s): connect "
			       "gdb-multiarch -ex 'target remote :%s' and continue; nothing is compared until then",
			       run->t[i].label, port, port);
	}
	/* Compare what a late attach held back; the first lease lets QEMUs held by wait= go. */
	backlog_finish(run);
	/* Now, when the loop is there to answer: a plugin gives an offer a few seconds, then falls back. */
	if (!o->no_gate && gate_setup(run) == 0) {
		struct epoll_event ge = { .events = EPOLLIN, .data.u32 = 3 };
		epoll_ctl(epfd, EPOLL_CTL_ADD, run->gate.listen_fd, &ge);
	}
	live_sample(run, false);
	uint64_t interval_ns = o->interval_ms * 1000000ull;
	uint64_t deadline = o->timeout_ms ? run->start_ns + o->timeout_ms * 1000000ull : 0;
	bool backlogged = false; /* the followers left work: look again at once */
	bool all_gated = false; /* every stream paces itself: no need for the 1 ms tick */
	uint64_t last_discover = now_ns(), last_keep = last_discover;
	while (!exiting && !run->stop) {
		struct epoll_event evs[8];
		/* Gated, the loop still wakes often enough to renew every lease at a quarter of it. */
		uint64_t gate_tick = run->lease_ns / 8 < LS_GATE_TICK_NS ? run->lease_ns / 8 : LS_GATE_TICK_NS;
		struct timespec ts = { 0, backlogged ? 0 : all_gated ? (long)gate_tick : (long)LS_TICK_NS };
		int n = epoll_pwait2(epfd, evs, 8, &ts, NULL);
		if (n < 0 && errno != EINTR) {
			code = fail("epoll_wait: %s", strerror(errno));
			goto cleanup;
		}
		for (int k = 0; k < n; k++) {
			uint32_t w = evs[k].data.u32;
			if (w == 2) {
				ring_buffer__consume(rb);
			} else if (w == 3) {
				int g = ls_gate_serve(&run->gate, (const pid_t[2]){ run->t[0].pid, run->t[1].pid });
				if (g < 0) {
					epoll_ctl(epfd, EPOLL_CTL_DEL, run->gate.listen_fd, NULL);
					notice(run, "notice", "the gate socket failed (%s): it answers no more", strerror(-g));
				}
			} else if (!run->ended[w]) {
				/* Anything it published before exiting counts: look before deciding. */
				ring_buffer__consume(rb);
				run->ended[w] = true;
				run->self_ended = true;
				run->skel->bss->control.ended[w] = 1;
				epoll_ctl(epfd, EPOLL_CTL_DEL, run->pidfd[w], NULL);
				side_ended(run, (int)w);
				for (int v = 0; v < LS_MAX_VCPUS; v++)
					if (!run->fol[v].lost)
						note_uncopied(run, v, (int)w);
			}
		}
		if ((run->ended[0] && run->ended[1]) || comparison_complete(run))
			break;
		uint64_t t = now_ns();
		if (t - last_discover >= LS_DISCOVER_NS) {
			discover_streams(run);
			last_discover = t;
		}
		tail_step(run);
		if (t - run->life_polled_ns >= LS_TICK_NS) {
			for (i = 0; i < 2; i++)
				if (!run->ended[i])
					life_check(run, i);
			run->life_polled_ns = t;
		}
		fwd_check_mismatch(run);
		if (run->fwd) /* B's waits for A inside a syscall last while this ticks */
			__atomic_store_n(&run->fwd->mon_ns, t, __ATOMIC_RELAXED);
		bool keep = t - last_keep >= LS_KEEP_NS;
		if (keep)
			last_keep = t;
		for (i = 0; keep && i < 2; i++) {
			/*
			 * Keep what reports need while the QEMUs are there to read (a
			 * report reads both afresh; this is for a side gone by then).
			 * --insn reads the log in follow_tick, in step with the records.
			 */
			if (!o->insn)
				tlog_pull(run, i);
			if (!run->gsym[i])
				run->gsym[i] = load_gsym(run, i);
		}
		backlogged = follow_tick(run);
		all_gated = update_permits(run, false);
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
	fwd_check_mismatch(run);
	if (exiting)
		notice(run, "notice", "interrupted after %.2f s: stopping", elapsed(run));
	if (run->child && run->frozen_exit) {
		/*
		 * We stay while they are frozen (the relay carries their output);
		 * Ctrl-C ends them.
		 */
		if (!o->json)
			printf("lockstep-bpf stays while they are stopped (they end with it): Ctrl-C here ends both\n");
		fflush(stdout);
		wait_children(run, (const bool[2]){ true, true }, ~0ull / 2, true);
	}
	if (run->child && !run->frozen_exit) {
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
		/* Finished QEMUs are exiting by themselves: let them. */
		if (comparison_complete(run))
			wait_children(run, (const bool[2]){ true, true }, 10000000000ull, true);
		wait_children(run, fin_side, 300000000ull, false);
		/* A side that exec'd runs the guest's next program, not QEMU: it is the guest's, let it finish. */
		for (i = 0; i < 2; i++)
			if (exec_in_flight(run, i) && !ls_child_reap(&run->child[i])) {
				notice(run, "notice", "%c (pid %d) runs the program it exec'd: waiting for it to end (Ctrl-C ends it)",
				       run->desc[i].label, (int)run->desc[i].pid);
				wait_children(run, (const bool[2]){ i == 0, i == 1 }, ~0ull / 2, true);
			}
		/*
		 * A side ended by itself after running: the other runs on to its
		 * own end (no longer compared, its output intact), as it would
		 * without the monitor; the result stays exit 3.  Ctrl-C and
		 * --timeout still stop it.  One that could not start at all
		 * (nothing published) leaves nothing worth waiting for.
		 */
		int other = -1;
		for (i = 0; i < 2; i++)
			if (run->child[i].reaped && !run->child[i].signalled && side_published(run, i) &&
			    !ls_child_reap(&run->child[i ^ 1]))
				other = i ^ 1;
		if (other >= 0 && run->self_ended && !run->stop && !run->timed_out && !exiting) {
			notice(run, "notice", "%c ended first; %c (pid %d) runs on to its own end, no longer compared "
					      "(Ctrl-C stops it)",
			       run->desc[other ^ 1].label, run->desc[other].label, (int)run->desc[other].pid);
			run->skel->bss->control.released = 1;
			run->ran_on = true; /* leases no longer matter: no lapse to speak of */
			update_permits(run, true);
			uint64_t now = now_ns();
			uint64_t left = !deadline ? ~0ull / 2 : deadline > now ? deadline - now : 0;
			wait_children(run, (const bool[2]){ other == 0, other == 1 }, left, true);
			if (!ls_child_reap(&run->child[other])) {
				if (exiting)
					notice(run, "notice", "interrupted after %.2f s: stopping", elapsed(run));
				else
					notice(run, "notice", "--timeout reached after %.2f s: stopping", elapsed(run));
			}
		}
		/* Stopped early (divergence limit, timeout, signal, the other side gone) or hanging: end them. */
		for (i = 0; i < 2; i++)
			if (!ls_child_reap(&run->child[i]))
				notice(run, "notice", "stopping %c (pid %d)", run->desc[i].label, (int)run->desc[i].pid);
		ls_children_stop(run->child, 2, 1000);
		/* Their last lines before the summary (bounded: something they started may hold the pipes). */
		if (run->relay)
			ls_relay_wait(run->relay, (const bool[2]){ true, true }, 2000);
		for (i = 0; i < 2; i++) {
			if (!run->ended[i]) {
				run->ended[i] = true;
				side_ended(run, i);
			}
		}
	}
	/* Let waiting QEMUs go at once rather than when their lease expires. */
	ls_renewer_stop(&run->renew);
	run->skel->bss->control.released = 1;
	update_permits(run, true);

	fwd_check_mismatch(run); /* B may have found it while the QEMUs were ending */
	collect(run, &sum);
	/* Why a side may have run past the window: say it when the leases themselves may have lapsed. */
	if ((run->renew.max_gap_ns > run->lease_ns || run->renew.stalled) && !run->ran_on)
		notice(run, "notice",
		       "the leases may have lapsed: the renewal thread %s%s%.0f ms apart (lease %u ms); a QEMU whose "
		       "lease lapsed ran on unpaced (its blocks past the window are counted as overruns)",
		       run->renew.stalled ? "skipped rounds for a main loop stuck over 10 s" : "",
		       run->renew.stalled ? ", and ran up to " : "ran up to ", run->renew.max_gap_ns / 1e6,
		       o->lease_ms);
	bool outcomes_differ = false;
	if (run->child && run->child[0].reaped && run->child[1].reaped &&
	    run->child[0].wstatus != run->child[1].wstatus &&
	    (comparison_complete(run) || execd_alike_all_compared(run, &sum)))
		outcomes_differ = true;
	if (run->diverged || outcomes_differ || run->fwd_mm_reported)
		code = LS_EXIT_DIVERGED;
	else if (run->config_mismatch || run->corrupt)
		code = LS_EXIT_USAGE;
	else if (comparison_complete(run) || execd_alike_all_compared(run, &sum))
		code = LS_EXIT_OK;
	else if (run->self_ended) /* it ended first: what stopped us after that does not matter */
		code = LS_EXIT_SIDE_ENDED;
	else
		code = LS_EXIT_STOPPED;
	/*
	 * A side that ended by itself without publishing a single block could
	 * not run the guest (another architecture, not executable, ...): the
	 * run compared nothing because of the environment, whatever the other
	 * side did.  Every guest runs blocks, and the plugin publishes the last
	 * partial chunk when QEMU exits, so 0 means none ran.
	 */
	bool no_start = false;
	for (i = 0; run->child && !run->diverged && i < 2; i++) {
		const struct ls_child *c = &run->child[i];
		char how[64], why[PATH_MAX + 128];
		/* Killed by a signal before its first chunk is something else (exit 3): the guest may have run. */
		if (!c->reaped || c->signalled || !WIFEXITED(c->wstatus) || sum.side[i].published_end)
			continue;
		child_reason(run, i, why, sizeof(why));
		notice(run, "error", "%c (pid %d) could not run the guest: it %s before publishing a single block; %s",
		       run->desc[i].label, (int)run->desc[i].pid, ls_child_how(c, how, sizeof(how)), why);
		no_start = true;
	}
	if (no_start) {
		code = LS_EXIT_USAGE;
		outcomes_differ = false;
	}
	const char *verdict[] = { "no divergence", "DIVERGED", "error", "a side ended before the comparison finished",
				  "stopped before the comparison finished" };
	char result[256];
	if (outcomes_differ) {
		char a[64], b[64];
		snprintf(result, sizeof(result), "DIVERGED: every block matched, but A %s and B %s",
			 ls_child_how(&run->child[0], a, sizeof(a)), ls_child_how(&run->child[1], b, sizeof(b)));
	} else if (code == LS_EXIT_OK && (sum.side[0].early || sum.side[1].early)) {
		/*
		 * Still exit 0 (README: a late attach cannot compare what the rings
		 * no longer held), but the verdict itself says it did not cover everything.
		 */
		uint64_t early = sum.side[0].early > sum.side[1].early ? sum.side[0].early : sum.side[1].early;
		snprintf(result, sizeof(result),
			 "no divergence in the %" PRIu64 " blocks compared; %" PRIu64
			 " published before the attach were not compared (no longer in the rings)",
			 sum.compared_blocks, early);
	} else {
		snprintf(result, sizeof(result), "%s", verdict[code]);
	}
	live_sample(run, false); /* final metrics */
	if (o->json) {
		ls_json_summary(stdout, run->desc, &sum, code, result);
	} else {
		ls_print_summary(stdout, run->desc, &sum);
		for (i = 0; i < 2; i++) {
			char line[256];
			if (ls_sidelife_fork_text(&run->life[i], run->desc[i].label, line, sizeof(line)))
				printf("  %s\n", line);
			if (ls_sidelife_exec_text(&run->life[i], run->desc[i].label, line, sizeof(line)))
				printf("  %s\n", line);
		}
		printf("result: %s (exit %d)\n", result, code);
	}

cleanup:
	ls_renewer_stop(&run->renew);
	if (o->verbose && run->renew.renewals)
		fprintf(stderr, "lockstep-bpf: leases: %" PRIu64 " renewal rounds, %" PRIu64 " skipped (main loop stalled), longest gap %.1f ms, longest round %.1f ms\n",
			run->renew.renewals, run->renew.stalled, run->renew.max_gap_ns / 1e6, run->renew.max_round_ns / 1e6);
	ls_http_stop(run->http);
	if (run->gate_open && o->verbose) {
		char who[160];
		ls_gate_refusals(&run->gate, who, sizeof(who));
		fprintf(stderr, "lockstep-bpf: gate: %u connection(s) from A, %u from B, %u refused%s%s%s; %" PRIu64
				" stream permit(s) handed to the plugins\n",
			run->gate.served[0], run->gate.served[1], run->gate.refused, who[0] ? " (" : "", who,
			who[0] ? ")" : "", run->gate_streams);
	}
	if (run->gate_open)
		ls_gate_server_close(&run->gate);
	if (run->fwd)
		munmap(run->fwd, ls_fwd_size());
	run->fwd = NULL;
	if (epfd >= 0)
		close(epfd);
	ring_buffer__free(rb);
	for (i = 0; i < 2; i++) {
		bpf_link__destroy(links[i]);
		if (run->pidfd[i] >= 0)
			close(run->pidfd[i]);
	}
	lockstep_bpf__destroy(run->skel);
	for (int v = 0; v < LS_MAX_VCPUS; v++)
		ls_follow_free(&run->fol[v]);
	ls_tlog_free(&run->tlog[0]);
	ls_tlog_free(&run->tlog[1]);
	ls_gsym_free(run->gsym[0]);
	ls_gsym_free(run->gsym[1]);
	ls_disasm_close(run->dis);
	return code;
}

/*
 * Why side i could not start, as a phrase: the last thing it said on stderr
 * (what QEMU says when it cannot), else what is wrong with the guest file
 * (qemu-user 7.2 says nothing when it cannot open the guest), else that.
 */
static void child_reason(const struct ls_run *run, int i, char *out, size_t len)
{
	char last[LS_LAST_LINE];
	const char *guest = run->opts->guest_argv ? run->opts->guest_argv[0] : NULL;
	struct stat st;

	if (run->relay)
		ls_relay_last_err(run->relay, i, last, sizeof(last));
	else
		ls_child_file_last_err(&run->child[i], last, sizeof(last));
	if (last[0])
		snprintf(out, len, "its last message: %s", last);
	else if (run->run_as && guest && !stat(guest, &st) && S_ISREG(st.st_mode) && (st.st_mode & 0111))
		snprintf(out, len, "it printed nothing; the QEMUs run as %s: can that user read %s and the directories "
				   "above it? (--as-root runs them as this command's user)",
			 run->run_as, guest);
	else if (guest && stat(guest, &st))
		snprintf(out, len, "it printed nothing; the guest %s: %s", guest, strerror(errno));
	else if (guest && !S_ISREG(st.st_mode))
		snprintf(out, len, "it printed nothing; the guest %s is not a regular file", guest);
	else if (guest && !(st.st_mode & 0111))
		snprintf(out, len, "it printed nothing; the guest %s is not executable (mode %03o)", guest,
			 (unsigned)(st.st_mode & 0777));
	else
		snprintf(out, len, "it printed nothing on stderr (qemu-user 7.2 exits with status 1 and no message when "
				   "it cannot load the guest: check the guest path and arguments)");
}

/*
 * --forward-inputs needs each plugin to know its side before the guest's
 * first syscall (forward=a / forward=b), and AT_RANDOM, which QEMU writes
 * before any plugin callback, is the same only when both QEMUs got the same
 * -seed: say which.
 */
static int fwd_check_sides(struct ls_run *run)
{
	char sa[32], sb[32];

	for (int i = 0; i < 2; i++) {
		uint32_t need = i ? LS_INFO_FORWARD_B : LS_INFO_FORWARD_A;
		if (!(run->t[i].info.flags & need))
			return fail("--forward-inputs: %c (pid %d) was not started with the plugin argument forward=%c "
				    "(with wait=, e.g. -plugin liblockstep.so,forward=%c,wait=30s)%s",
				    run->t[i].label, (int)run->t[i].pid, 'a' + i, 'a' + i,
				    run->t[i].info.flags & (LS_INFO_FORWARD_A | LS_INFO_FORWARD_B) ? ": it has the other side's"
												 : "");
	}
	bool ha = ls_fwd_seed_of(run->t[0].cmdline, sa, sizeof(sa)), hb = ls_fwd_seed_of(run->t[1].cmdline, sb, sizeof(sb));
	run->fwd_auxv_same = ha && hb && !strcmp(sa, sb);
	if (run->fwd_auxv_same)
		snprintf(run->fwd_auxv, sizeof(run->fwd_auxv), "the same on both sides (both QEMUs run with -seed %s)", sa);
	else if (ha || hb)
		snprintf(run->fwd_auxv, sizeof(run->fwd_auxv),
			 "the QEMUs run with different -seed values (%s, %s): AT_RANDOM differs", ha ? sa : "none",
			 hb ? sb : "none");
	else
		snprintf(run->fwd_auxv, sizeof(run->fwd_auxv),
			 "QEMU writes it before the first block, where no plugin can reach it: start both QEMUs with the "
			 "same -seed N to make it the same");
	return 0;
}

/*
 * `run`: start both QEMUs held before their first block (wait=), and wait
 * until each has its plugin loaded and vCPU 0's stream registered, so the
 * monitor attaches before any block runs.  io[side] are each QEMU's stdin,
 * stdout and stderr.
 */
static int launch_both(struct ls_run *run, struct ls_opts *o, struct ls_child child[2], const int io[2][3],
		       const struct ls_creds *cr)
{
	char plugin[PATH_MAX], err[1024];
	char parg[PATH_MAX + 512];

	if (ls_find_plugin(o->plugin, plugin, sizeof(plugin), err, sizeof(err)))
		return fail("%s", err);
	/*
	 * --forward-inputs: the same -seed for both, so QEMU derives the same
	 * AT_RANDOM (and rdrand, with a CPU model that has it) on both sides,
	 * unless the user chose seeds.
	 */
	char seed[32] = "";
	const char *extra[2][LS_MAX_SIDE_ARGS + 2];
	int nextra[2];
	bool user_seed = false;
	for (int i = 0; i < 2; i++)
		for (int k = 0; k < o->nside_args[i]; k++)
			user_seed |= !strcmp(o->side_args[i][k], "-seed") || !strcmp(o->side_args[i][k], "--seed");
	if (o->forward_inputs && !user_seed) {
		unsigned int v = 0;
		if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
			v = (unsigned int)now_ns();
		run->fwd_seed = v % 1000000000u + 1;
		snprintf(seed, sizeof(seed), "%lu", run->fwd_seed);
	}
	for (int i = 0; i < 2; i++) {
		nextra[i] = 0;
		for (int k = 0; k < o->nside_args[i]; k++)
			extra[i][nextra[i]++] = o->side_args[i][k];
		if (*seed) {
			extra[i][nextra[i]++] = "-seed";
			extra[i][nextra[i]++] = seed;
		}
	}
	run->child = child;
	for (int i = 0; i < 2; i++) {
		/* wait= first: a user's own wait= in --plugin-args comes later and wins. */
		snprintf(parg, sizeof(parg), "%s,wait=60s%s%s%s%s", plugin, o->forward_inputs ? ",forward=" : "",
			 o->forward_inputs ? (i ? "b" : "a") : "", o->plugin_args ? "," : "",
			 o->plugin_args ? o->plugin_args : "");
		if (ls_launch(&child[i], (char)('A' + i), o->qemu[i], extra[i], nextra[i], parg, o->guest_argv,
			      o->guest_argc, io[i], cr, err, sizeof(err)))
			return fail("%s", err);
		o->pid[i] = child[i].pid;
	}
	if (run->relay) /* the QEMUs have theirs: the relay sees the end of each stream when its QEMU ends */
		ls_relay_close_writers(run->relay);
	uint64_t give_up = now_ns() + 20000000000ull;
	for (int i = 0; i < 2; i++) {
		for (;;) {
			uint64_t batch0 = 0;
			if (ls_target_open(&run->t[i], child[i].pid, (char)('A' + i), err, sizeof(err)) == 0 &&
			    ls_target_read(child[i].pid, run->t[i].info.batches_addr, &batch0, sizeof(batch0)) == 0 &&
			    batch0)
				break;
			if (ls_child_reap(&child[i])) {
				char how[64], why[PATH_MAX + 128];
				if (run->relay)
					ls_relay_wait(run->relay, (const bool[2]){ i == 0, i == 1 }, 2000);
				child_reason(run, i, why, sizeof(why));
				return fail("%c could not start: %s %s before its plugin was ready; %s", 'A' + i, o->qemu[i],
					    ls_child_how(&child[i], how, sizeof(how)), why);
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

/*
 * Run mode's plumbing before the QEMUs start: whom they run as, their stdin
 * (/dev/null or one sealed copy of ours, opened once per side), their output
 * (files in --output-dir, or the relay).  io[side][0..2]: their fds.
 */
static int prepare_io(struct ls_run *run, const struct ls_opts *o, struct ls_child child[2], struct ls_relay *relay,
		      struct ls_creds *cr, int io[2][3])
{
	char err[1024];
	int in_copy = -1, rc = 0;

	for (int i = 0; i < 2; i++)
		io[i][0] = io[i][1] = io[i][2] = -1;
	if (ls_resolve_creds(o->user, o->as_root, getenv("SUDO_UID"), getenv("SUDO_GID"), cr, err, sizeof(err)))
		return fail("%s", err);
	if (o->verbose)
		fprintf(stderr, "lockstep-bpf: the QEMUs run as %s\n", cr->drop ? cr->name : "this command's user");
	run->run_as = cr->drop ? cr->name : NULL;
	if (o->stdin_copy) {
		if (isatty(STDIN_FILENO))
			fprintf(stderr, "lockstep-bpf: --stdin: reading the guests' input from the terminal until Ctrl-D\n");
		if ((in_copy = ls_stdin_copy(STDIN_FILENO, err, sizeof(err))) < 0)
			return fail("%s", err);
	}
	for (int i = 0; i < 2 && !rc; i++) {
		io[i][0] = in_copy >= 0 ? ls_reopen_ro(in_copy, err, sizeof(err)) : open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (io[i][0] < 0)
			rc = fail("%s", in_copy >= 0 ? err : "cannot open /dev/null");
	}
	if (in_copy >= 0)
		close(in_copy);
	if (rc)
		return rc;
	if (o->output_dir) {
		int fds[2][2];
		if (ls_open_outputs(o->output_dir, cr, fds, err, sizeof(err)))
			return fail("%s", err);
		for (int i = 0; i < 2; i++) {
			io[i][1] = fds[i][0];
			io[i][2] = fds[i][1];
			child[i].err_file = fds[i][1];
		}
	} else {
		if (ls_relay_start(relay, STDERR_FILENO, err, sizeof(err)))
			return fail("%s", err);
		run->relay = relay;
		for (int i = 0; i < 2; i++) {
			io[i][1] = relay->wfd[i][0];
			io[i][2] = relay->wfd[i][1];
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ls_opts opts;
	struct ls_run run;
	struct ls_child child[2];
	struct ls_relay relay = { 0 };
	struct ls_creds creds;
	struct sigaction sa;
	char err[1024];
	int rc, io[2][3] = { { -1, -1, -1 }, { -1, -1, -1 } };

	ls_opts_parse(argc, argv, &opts);
	memset(&run, 0, sizeof(run));
	memset(child, 0, sizeof(child));
	child[0].err_file = child[1].err_file = -1;
	child[0].pid = child[1].pid = -1;
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
	if (opts.launch) {
		/* Before the priority below: the relay and the QEMUs are forked from here. */
		rc = prepare_io(&run, &opts, child, &relay, &creds, io);
		if (!rc)
			rc = launch_both(&run, &opts, child, (const int(*)[3])io, &creds);
		/* The QEMUs have them; the relay's ends are the relay's to close; a stderr file stays, for its last line. */
		for (int i = 0; i < 2; i++) {
			if (io[i][0] >= 0)
				close(io[i][0]);
			if (!run.relay && io[i][1] >= 0)
				close(io[i][1]);
		}
	} else {
		for (int i = 0; i < 2 && !rc; i++)
			/* A QEMU still starting (`qemu ... & lockstep-bpf --pid $!`) is waited for. */
			if (ls_target_open_wait(&run.t[i], opts.pid[i], (char)('A' + i), LS_QSTART_WAIT_MS, &exiting, err,
						sizeof(err)))
				rc = fail("%s", err);
	}
	/* A freeze must land before the rings move on: do not queue behind the QEMUs. */
	setpriority(PRIO_PROCESS, 0, -10);
	for (int i = 0; i < 2 && !rc; i++)
		run.desc[i] = (struct ls_side_desc){ run.t[i].label, run.t[i].pid, run.t[i].exe, run.t[i].cmdline,
						     run.t[i].guest, run.t[i].plugin_version };
	/* One monitor per QEMU: a second one would fight this one's permits and leases. */
	struct ls_claim claim[2] = { { .fd = -1 }, { .fd = -1 } };
	for (int i = 0; i < 2 && !rc; i++) {
		int c = ls_claim_take(&claim[i], LS_CLAIM_DIR, run.t[i].pid, run.t[i].label, err, sizeof(err));
		if (c < 0)
			rc = fail("%s", err);
		else if (c > 0 && !ls_target_gone(run.t[i].pid)) /* one that is gone is named so at the attach */
			fprintf(stderr, "lockstep-bpf: warning: another monitor on %c would not be refused: %s\n",
				run.t[i].label, err);
	}
	if (!rc && opts.forward_inputs)
		rc = fwd_check_sides(&run);
	if (!rc && run.t[0].info.batch_order != run.t[1].info.batch_order)
		rc = fail("A uses batch=%u and B batch=%u: start both QEMUs with the same plugin arguments",
			  1u << run.t[0].info.batch_order, 1u << run.t[1].info.batch_order);
	if (!rc) {
		uint32_t wa = ls_window(run.t[0].info.batch_order, run.t[0].info.ring_order);
		uint32_t wb = ls_window(run.t[1].info.batch_order, run.t[1].info.ring_order);
		run.window = wa < wb ? wa : wb;
		compare_launches(&run);
		rc = run_monitor(&run);
	}
	for (int i = 0; i < 2; i++)
		ls_claim_drop(&claim[i]);
	if (opts.launch) {
		/* On an error before or during monitoring, do not leave held QEMUs behind. */
		ls_children_stop(child, 2, 1000);
		/* Everything they wrote is out before we go; the relay stays if something still holds a pipe. */
		if (run.relay)
			ls_relay_finish(run.relay, 2000);
		for (int i = 0; i < 2; i++)
			if (!run.relay && io[i][2] >= 0)
				close(io[i][2]);
	}
	return rc;
}
