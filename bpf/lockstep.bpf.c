// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * lockstep.bpf.c - the uprobe on lockstep_publish() in both QEMU processes.
 *
 * Reads the plugin's publication and runs the shared correlator
 * (correlate.h).  Only divergences, periodic statistics and faults reach
 * user space as events; progress counters live in .bss, which user space
 * reads through the skeleton's mmap without a system call.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "lockstep_wire.h"
#include "correlate.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile __u64 stats_interval_ns = 1000000000ULL;
/* Chunks a side may lead: what both rings hold beyond the spare ones (ls_window), set by the monitor. */
const volatile __u32 window_chunks = LS_WINDOW;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Shared with user space through the skeleton's mmapped .bss. */
struct ls_control control;
struct ls_pair_state pairs[LS_MAX_VCPUS];

/*
 * What gated plugins pace themselves by (struct ls_gate_state): the monitor
 * freezes this map for user space and hands it to the plugins read-only, so
 * only this program writes it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ls_gate_state);
} gate SEC(".maps");

static __always_inline void emit(struct ls_event *ev)
{
	struct ls_event *out = bpf_ringbuf_reserve(&events, sizeof(*out), 0);

	if (!out) {
		__sync_fetch_and_add(&control.ringbuf_lost, 1);
		return;
	}
	__builtin_memcpy(out, ev, sizeof(*out));
	bpf_ringbuf_submit(out, 0);
}

static __always_inline void maybe_stats(__u64 now)
{
	__u64 last = control.last_stats_ns;
	struct ls_event ev = {};

	if (now - last < stats_interval_ns)
		return;
	if (__sync_val_compare_and_swap(&control.last_stats_ns, last, now) != last)
		return; /* the other side emits this one */
	ev.type = LS_EV_STATS;
	ev.ts_ns = now;
	emit(&ev);
}

SEC("uprobe")
int BPF_KPROBE(on_publish, struct ls_batch *ub)
{
	__u32 side = (__u32)bpf_get_attach_cookie(ctx) & 1;
	struct ls_event ev = {};
	struct ls_batch b;
	__u64 now = bpf_ktime_get_ns();
	__u32 vcpu;

	if (bpf_probe_read_user(&b, sizeof(b), ub) || b.magic != LS_MAGIC || b.version != LS_WIRE_VERSION ||
	    b.vcpu >= LS_MAX_VCPUS) {
		if (__sync_fetch_and_add(&control.bad_batches, 1) == 0) {
			ev.type = LS_EV_BAD_BATCH;
			ev.side = side;
			ev.batch_addr[side] = (__u64)ub;
			ev.ts_ns = now;
			emit(&ev);
		}
		return 0;
	}
	vcpu = b.vcpu & (LS_MAX_VCPUS - 1);
	ev.ts_ns = now;
	enum ls_verdict v = ls_correlate(&pairs[vcpu], &control, side, &b, (__u64)ub, &ev, window_chunks);
	__u32 zero = 0;
	struct ls_gate_state *g = bpf_map_lookup_elem(&gate, &zero);
	if (g) {
		/* Before the partner can look: the freeze first, then this side's progress. */
		if (v == LS_DIVERGE)
			__sync_fetch_and_add(&g->freeze_gen, 1);
		g->pairs[vcpu].first1[side] = pairs[vcpu].side[side].first1;
		g->pairs[vcpu].hi1[side] = pairs[vcpu].side[side].hi1;
	}
	switch (v) {
	case LS_DIVERGE:
		emit(&ev);
		break;
	case LS_MISMATCH:
		if (__sync_val_compare_and_swap(&control.config_mismatch, 0, 1) == 0) {
			ev.type = LS_EV_CONFIG_MISMATCH;
			ev.vcpu = vcpu;
			ev.side = side;
			ev.batch_addr[side] = (__u64)ub;
			emit(&ev);
		}
		break;
	default:
		break;
	}
	maybe_stats(now);
	return 0;
}
