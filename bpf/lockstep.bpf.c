// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * lockstep.bpf.c - the uprobe on lockstep_publish() in both QEMU processes.
 *
 * Reads the plugin's publication, runs the shared correlator (correlate.h)
 * and answers the plugin by writing ack or a hold lease into its memory.
 * Only divergences, periodic statistics and faults reach user space.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "lockstep_wire.h"
#include "correlate.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile __u64 lease_ns = 250000000ULL; /* how long a hold lasts unrenewed */
const volatile __u64 stats_interval_ns = 1000000000ULL;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LS_MAX_VCPUS);
	__type(key, __u32);
	__type(value, struct ls_pair_state);
} pairs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Shared with user space through the skeleton's mmapped .bss. */
struct ls_control control;

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
	struct ls_pair_state *st;
	struct ls_batch b;
	__u64 now = bpf_ktime_get_ns(), hold;
	__u32 vcpu;
	int verdict;

	if (bpf_probe_read_user(&b, sizeof(b), ub) || b.magic != LS_MAGIC || b.version != LS_WIRE_VERSION) {
		__sync_fetch_and_add(&control.bad_batches, 1);
		ev.type = LS_EV_BAD_BATCH;
		ev.side = side;
		ev.batch_addr[side] = (__u64)ub;
		ev.ts_ns = now;
		emit(&ev);
		return 0; /* not acked: the plugin runs on unmonitored */
	}
	vcpu = b.vcpu;
	st = bpf_map_lookup_elem(&pairs, &vcpu);
	if (!st) {
		__sync_fetch_and_add(&control.bad_batches, 1);
		return 0;
	}
	ev.ts_ns = now;
	verdict = ls_correlate(st, &control, side, &b, (__u64)ub, &ev);
	switch (verdict) {
	case LS_ACK:
		bpf_probe_write_user(&ub->ack, &b.pub_id, sizeof(b.pub_id));
		break;
	case LS_DIVERGE:
		emit(&ev);
		/* fall through: hold the side that found it */
	case LS_HOLD:
		hold = now + lease_ns;
		bpf_probe_write_user(&ub->hold_until_ns, &hold, sizeof(hold));
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
	}
	maybe_stats(now);
	return 0;
}
