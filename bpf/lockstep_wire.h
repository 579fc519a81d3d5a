/* SPDX-License-Identifier: MIT */
/*
 * lockstep_wire.h - the one wire format shared by plugin/, bpf/ and user/.
 *
 * Everything that crosses a process or kernel boundary is declared here with
 * fixed-width types, explicit padding and compile-time size/offset checks, so
 * a layout change breaks the build of every side at once instead of silently
 * mis-reading memory.  Bump LS_WIRE_VERSION on any change to these structs.
 */
#ifndef LOCKSTEP_WIRE_H
#define LOCKSTEP_WIRE_H

#ifdef __bpf__
/* vmlinux.h has already provided __u8..__u64 */
#else
#include <linux/types.h>
#endif

#ifndef LS_WIRE_VERSION /* overridable only to build the incompatible plugin the tests need */
#define LS_WIRE_VERSION 4
#endif
#define LS_VERSION "0.1.0" /* release of plugin and monitor */
#define LS_MAGIC 0x4c534250u /* "LSBP" */

/* Limits shared by the plugin and the correlator. */
#define LS_MAX_VCPUS 64
#define LS_WINDOW 64 /* most chunks one side may run ahead of the other (the correlator's slots) */
/*
 * A ring holds the window plus these chunks: the one being written, one more
 * before a hold lands, and the history before a divergence.
 */
#define LS_RING_SPARE 4
#define LS_MIN_RING_CHUNKS 16 /* so the window is at least 12 chunks */
#define LS_HISTORY 16 /* blocks of history shown before a divergence */

/*
 * What the plugin accepts (plugin_args.c) and so all the monitor believes
 * when it reads a plugin's memory: anything beyond is refused as corrupt.
 */
#define LS_MIN_BATCH_ORDER 8
#define LS_MAX_BATCH_ORDER 16 /* LS_MIN_RING_CHUNKS chunks must fit the largest ring */
#define LS_MAX_RING_ORDER 21 /* 16 MiB a vCPU */
#define LS_MIN_TLOG_BYTES (64ull << 10)
#define LS_MAX_TLOG_BYTES (16ull << 30)
#define LS_MIN_SYS_ORDER 4
#define LS_MAX_SYS_ORDER 20

/*
 * One executed translation block, as the plugin appends it to its ring: one
 * 64-bit word, pc in the low 48 bits and the block's instruction count in
 * the top 16 (TCG caps blocks at 512 instructions).  The block sequence
 * number is the record's position in the ring (chunk << batch_order plus the
 * index in the chunk) and the vCPU is the ring's owner, so neither is stored:
 * every byte here is written once per guest block, where a single extra
 * store is measurable.  pcs are sign-extended from bit 47 when read back,
 * which is exact for x86_64 and aarch64 canonical addresses.
 */
struct ls_rec {
	__u64 word;
};

#define LS_REC_PC_BITS 48
#define LS_REC_PC_MASK ((1ULL << LS_REC_PC_BITS) - 1)

static inline __u64 ls_rec_make(__u64 pc, __u32 ninsns)
{
	return (pc & LS_REC_PC_MASK) | ((__u64)ninsns << LS_REC_PC_BITS);
}

static inline __u64 ls_rec_pc(__u64 word)
{
	__u64 pc = word & LS_REC_PC_MASK;
	return (pc & (1ULL << 47)) ? pc | ~LS_REC_PC_MASK : pc;
}

static inline __u32 ls_rec_ninsns(__u64 word)
{
	return (__u32)(word >> LS_REC_PC_BITS);
}

/*
 * The chunks one side may run ahead of the other with these chunk and ring
 * sizes: as many as the ring holds beyond LS_RING_SPARE, at most LS_WINDOW.
 * Two sides use the smaller of their windows.
 */
static inline __u32 ls_window(__u32 batch_order, __u32 ring_order)
{
	__u64 chunks;

	if (ring_order < batch_order)
		return 1;
	if (ring_order - batch_order >= 32)
		return LS_WINDOW;
	chunks = 1ULL << (ring_order - batch_order);
	if (chunks <= LS_RING_SPARE)
		return 1;
	return chunks - LS_RING_SPARE > LS_WINDOW ? LS_WINDOW : (__u32)(chunks - LS_RING_SPARE);
}

/* Reasons a batch is published (ls_batch.flags). */
enum ls_pub_flags {
	LS_PUB_FULL = 1u << 0, /* the chunk is complete */
	LS_PUB_PARTIAL = 1u << 1, /* flushed early: vCPU stalled in a syscall */
	LS_PUB_FINAL = 1u << 2, /* last publication of this stream (exit) */
};

/*
 * The uprobe's argument: one per vCPU stream, in the plugin's memory.
 *
 * Blocks are grouped in fixed chunks of 2^batch_order blocks by sequence
 * number, so both sides agree on chunk boundaries whatever flushes happened.
 * A publication describes the first nblocks blocks of chunk `chunk`.
 *
 * Flow control is credit-based and written by the monitor (process_vm_writev;
 * BPF cannot write user memory under kernel lockdown): the plugin may write
 * chunks up to permit_chunk, and waits at a chunk boundary beyond it.  The
 * permit only binds while lease_until_ns (CLOCK_MONOTONIC) is in the future,
 * so a monitor that dies can never stall a QEMU for longer than one lease.
 *
 * permit_chunk == LS_PERMIT_GATE hands flow control to the plugin itself:
 * it has mapped the gate state (struct ls_gate_state: the progress the BPF
 * program mirrors there at every publication, in a map the monitor froze,
 * so no process can write it; see struct ls_gate_msg) and at each chunk
 * boundary computes its own permit from the partner's progress, as the
 * monitor would (ls_permit_of, correlate.h, for side gate_side - 1 with
 * gate_window), holding by itself while a divergence froze the correlator
 * and the monitor has not handled it (freeze_gen > gate_thaw).  Everything
 * else that must stop or release a stream (user space following it, the
 * partner gone, the end) the monitor does with explicit permits.  The
 * kernel path then needs no monitor tick, and a held side sees its
 * partner's progress the moment it is made.
 */
struct ls_batch {
	__u32 magic;
	__u16 version;
	__u16 flags;
	__u32 vcpu;
	__u32 nblocks;
	__u64 chunk;
	__u64 digest; /* of the nblocks records (ls_digest_term) */
	__u64 insn_base; /* instructions executed before this chunk */
	__u64 insns; /* instructions in the nblocks blocks */
	__u64 ring_addr; /* struct ls_rec[1 << ring_order] */
	__u64 head_addr; /* the writer's next-record pointer (a __u64 holding an address) */
	__u32 ring_order;
	__u32 batch_order;
	__u64 pub_id; /* counts publications */
	/* written by the monitor */
	__u64 permit_chunk; /* highest chunk the plugin may write; ~0 = no limit */
	__u64 lease_until_ns; /* the permit binds until then; 0 = never monitored */
	/* this vCPU's syscall log (linux-user only; 0 otherwise) */
	__u64 sys_addr; /* struct ls_sys_rec[1 << ls_plugin_info.sys_order] */
	__u64 sys_next; /* syscalls logged so far: record i is at i % size */
	/* written by the monitor before it writes LS_PERMIT_GATE */
	__u32 gate_side; /* 1 + this stream's side in the correlator (1 A, 2 B) */
	__u32 gate_window; /* chunks it may lead its partner by (ls_window of both sides) */
	__u64 gate_thaw; /* freezes the monitor has handled (struct ls_gate_state.freeze_gen) */
};

/*
 * What the plugins gate on (see struct ls_batch): one value of a
 * BPF_F_MMAPABLE array, written only by the BPF program (the monitor
 * freezes the map for user space before it hands it out).
 */
struct ls_gate_pair {
	__u64 first1[2]; /* each side's first chunk published after the attach, + 1 (0: none) */
	__u64 hi1[2]; /* each side's highest chunk published, + 1 */
};

struct ls_gate_state {
	__u64 freeze_gen; /* divergences that froze the correlator so far */
	__u64 _pad0[7]; /* its own cache line: it changes rarely, the pairs all the time */
	struct ls_gate_pair pairs[LS_MAX_VCPUS];
};

#define LS_PERMIT_GATE 0xfffffffffffffffeULL /* see struct ls_batch: the plugin gates itself */

/*
 * Exported by the plugin as `lockstep_plugin_info` so the monitor can check
 * compatibility before it attaches (and so a wrong version is a clear error,
 * not garbage).
 */
struct ls_plugin_info {
	__u32 magic;
	__u16 version;
	__u16 _pad0;
	__u32 batch_order;
	__u32 ring_order;
	__u64 batches_addr; /* struct ls_batch *[LS_MAX_VCPUS], NULL where no vCPU */
	char plugin_version[16];
	/*
	 * Where guest memory is (linux-user: guest address g is host address
	 * guest_base + g, from qemu_plugin_insn_haddr), so the monitor can find
	 * the guest's ELF mappings in /proc/PID/maps and their load bias.
	 */
	__u64 guest_base;
	/* The translation log: a struct ls_tlog_ent for every translated block. */
	__u64 tlog_addr;
	__u64 tlog_cap; /* bytes */
	__u64 tlog_used; /* bytes of complete entries; stored with release after them */
	__u64 tlog_dropped; /* translations not logged: the log was full */
	__u32 flags; /* LS_INFO_* */
	__u32 sys_order; /* each vCPU's syscall log holds 2^sys_order records */
	char target[16]; /* QEMU's target name: "x86_64", "aarch64", ... */
	/*
	 * The gate (see struct ls_batch): the monitor writes the name of an
	 * abstract UNIX socket here, then gate_state LS_GATE_OFFERED (a second
	 * write, so the name is whole when the plugin sees the offer); the
	 * plugin connects at its next chunk boundary without waiting, picks up
	 * the gate state's file descriptor at a later one, and says how that
	 * went in gate_state, with an errno on failure.
	 */
	char gate_name[40]; /* "" = none offered; no leading NUL (the abstract namespace adds it) */
	__u32 gate_state;
	__s32 gate_errno;
	/*
	 * Processes the guest made (linux-user: fork, vfork and clone without
	 * CLONE_VM are each a host fork of QEMU).  A child records nothing:
	 * it has no partner stream, and the uprobe is not inherited.  The
	 * monitor reports them.
	 */
	__u32 forks;
	__u32 fork_pid; /* the first child's pid */
	__u64 fork_block; /* block sequence number of the forking vCPU at the first fork (~0: unknown) */
	__u32 fork_vcpu;
	/*
	 * An execve the guest entered (the QEMU is replaced by the program if
	 * it succeeds): exec_seq counts them, exec_seen is the monitor's
	 * acknowledgement (the plugin waits for it, one lease at most, so the
	 * monitor knows before the process is gone), exec_state LS_EXEC_*.
	 */
	__u32 exec_state;
	__u64 exec_seq;
	__u64 exec_seen; /* written by the monitor */
	__u64 exec_block; /* block sequence number of the exec'ing vCPU (~0: unknown) */
	__u32 exec_vcpu;
	__u32 _pad1;
	char exec_path[64]; /* the program, cut to fit, NUL-terminated */
};

enum ls_exec_state {
	LS_EXEC_NONE = 0,
	LS_EXEC_ENTERED = 1, /* execve entered and not returned: the next moment the QEMU may be gone */
	LS_EXEC_FAILED = 2, /* the last execve returned an error: the QEMU runs on */
};

enum ls_gate_state_code {
	LS_GATE_NONE = 0,
	LS_GATE_MAPPED = 1, /* the plugin reads the gate state: LS_PERMIT_GATE works */
	LS_GATE_FAILED = 2, /* gate_errno says why; the monitor keeps granting permits */
	LS_GATE_OFFERED = 3, /* written by the monitor after gate_name */
	LS_GATE_CONNECTING = 4, /* the plugin waits for the answer (a chunk boundary at a time) */
};

/*
 * The one message on the gate socket, with the gate state's file descriptor
 * (a frozen, mmapable BPF array: struct ls_gate_state at offset 0) as
 * SCM_RIGHTS.  state_size lets the plugin refuse a layout it does not know.
 */
struct ls_gate_msg {
	__u32 magic; /* LS_MAGIC */
	__u16 version; /* LS_WIRE_VERSION */
	__u16 _pad0;
	__u64 map_size; /* bytes to map from offset 0 */
	__u64 state_size; /* sizeof(struct ls_gate_state) */
	__u64 _pad1;
};

/* Every wire format starts with these bytes of ls_plugin_info: enough to name a version we do not speak. */
#define LS_INFO_V1_SIZE 40

enum ls_info_flags {
	LS_INFO_GUEST_BASE = 1u << 0, /* guest_base is known */
	LS_INFO_SYSCALLS = 1u << 1, /* linux-user: syscalls are logged */
	LS_INFO_SYSTEM = 1u << 2, /* system emulation: pcs are guest virtual addresses of any process */
	LS_INFO_FORKED_CHILD = 1u << 3, /* this QEMU is a child the guest forked: it records nothing */
	LS_INFO_FORWARD_A = 1u << 4, /* started with forward=a: gives its syscall results (--forward-inputs) */
	LS_INFO_FORWARD_B = 1u << 5, /* started with forward=b: takes A's */
};

/*
 * One translated block in the translation log, written once at translation
 * (never per execution), so the monitor can expand a block record (pc,
 * ninsns) into its instructions and disassemble them.  Followed by
 * __u16 off[ninsns] (instruction i is at pc + off[i]), __u8 len[ninsns]
 * (its size in bytes) and the instructions' bytes, concatenated; size
 * covers all of it and is a multiple of 8.
 */
struct ls_tlog_ent {
	__u64 pc;
	__u16 ninsns;
	__u16 nbytes; /* code bytes at the end */
	__u32 size;
};

static inline __u32 ls_tlog_ent_size(__u32 ninsns, __u32 nbytes)
{
	return (__u32)((sizeof(struct ls_tlog_ent) + ninsns * 3u + nbytes + 7u) & ~7u);
}

/*
 * One guest syscall in a vCPU's syscall log.  Filled at entry (seq, num,
 * args), completed at return (ret, out_*), then state says which.  What the
 * syscall wrote into guest memory (the timespec of clock_gettime, the bytes
 * of read, ...) is summarised by a hash and its first bytes: it is an input
 * of the guest just like the return value.
 */
struct ls_sys_rec {
	__u64 seq; /* blocks this vCPU had executed when the syscall was made */
	__s64 num;
	__u64 args[6];
	__s64 ret;
	__u64 out_hash; /* of the out_len bytes the syscall wrote (stat-family: ls_sys_out_denoise'd); 0 when none */
	__u32 out_len;
	__u16 state; /* LS_SYS_* */
	__u16 _pad0;
	__u8 out_head[40]; /* the first of those bytes */
};

enum ls_sys_state {
	LS_SYS_ENTERED = 1, /* no return yet (or it never returns: exit) */
	LS_SYS_RETURNED = 2, /* ret and out_* are valid */
	LS_SYS_OUT_UNREADABLE = 3, /* returned, but its output could not be read */
};

/* Events from the BPF program to user space (BPF ring buffer). */
enum ls_event_type {
	LS_EV_DIVERGE = 1,
	LS_EV_STATS = 2,
	LS_EV_BAD_BATCH = 3,
	LS_EV_CONFIG_MISMATCH = 4,
};

struct ls_event {
	__u32 type;
	__u32 vcpu;
	__u64 chunk;
	__u64 range_lo; /* first block not yet known equal */
	__u64 range_hi; /* blocks [range_lo, range_hi) hold the difference */
	__u64 digest[2];
	__u64 batch_addr[2]; /* each side's struct ls_batch, for process_vm_readv */
	__u64 insn_end[2]; /* each side's cumulative instructions at range_hi */
	__u64 ts_ns;
	__u32 side; /* who published the batch that produced the event */
	__u32 _pad0;
};

/*
 * The one digest both sides must compute identically: LS_DIGEST_INIT plus,
 * for every block of the chunk, its record word XORed with a mask derived
 * from its sequence number.  The mask makes the digest order-sensitive (the
 * same blocks in another order give another sum) and the terms are
 * independent, so the plugin folds a whole chunk in a vectorisable loop once
 * per chunk.  It only has to notice that something differs: the monitor
 * then finds the exact block by comparing the records themselves.
 */
#define LS_DIGEST_INIT 0x6a09e667f3bcc909ULL
#define LS_DIGEST_K1 0x9e3779b97f4a7c15ULL

static inline __u64 ls_digest_term(__u64 word, __u64 seq)
{
	return word ^ (seq * LS_DIGEST_K1);
}

/* Compile-time layout checks: every side that includes this header runs them. */
#define LS_CHECK_SIZE(t, n) _Static_assert(sizeof(struct t) == (n), #t " size changed: bump LS_WIRE_VERSION")
#define LS_CHECK_OFF(t, f, n) _Static_assert(__builtin_offsetof(struct t, f) == (n), #t "." #f " moved: bump LS_WIRE_VERSION")
LS_CHECK_SIZE(ls_rec, 8);
LS_CHECK_SIZE(ls_batch, 128);
LS_CHECK_OFF(ls_batch, chunk, 16);
LS_CHECK_OFF(ls_batch, ring_addr, 48);
LS_CHECK_OFF(ls_batch, pub_id, 72);
LS_CHECK_OFF(ls_batch, permit_chunk, 80);
LS_CHECK_OFF(ls_batch, lease_until_ns, 88);
LS_CHECK_OFF(ls_batch, sys_addr, 96);
LS_CHECK_OFF(ls_batch, sys_next, 104);
LS_CHECK_OFF(ls_batch, gate_side, 112);
LS_CHECK_OFF(ls_batch, gate_window, 116);
LS_CHECK_OFF(ls_batch, gate_thaw, 120);
LS_CHECK_SIZE(ls_gate_pair, 32);
LS_CHECK_SIZE(ls_gate_state, 64 + 32 * LS_MAX_VCPUS);
LS_CHECK_SIZE(ls_plugin_info, 272);
LS_CHECK_OFF(ls_plugin_info, batches_addr, 16);
LS_CHECK_OFF(ls_plugin_info, guest_base, 40);
LS_CHECK_OFF(ls_plugin_info, tlog_used, 64);
LS_CHECK_OFF(ls_plugin_info, flags, 80);
LS_CHECK_OFF(ls_plugin_info, target, 88);
LS_CHECK_OFF(ls_plugin_info, gate_name, 104);
LS_CHECK_OFF(ls_plugin_info, gate_state, 144);
LS_CHECK_OFF(ls_plugin_info, forks, 152);
LS_CHECK_OFF(ls_plugin_info, fork_block, 160);
LS_CHECK_OFF(ls_plugin_info, exec_state, 172);
LS_CHECK_OFF(ls_plugin_info, exec_seen, 184);
LS_CHECK_OFF(ls_plugin_info, exec_path, 208);
LS_CHECK_SIZE(ls_gate_msg, 32);
LS_CHECK_OFF(ls_gate_msg, map_size, 8);
LS_CHECK_OFF(ls_gate_msg, state_size, 16);
LS_CHECK_SIZE(ls_tlog_ent, 16);
LS_CHECK_SIZE(ls_sys_rec, 128);
LS_CHECK_OFF(ls_sys_rec, ret, 64);
LS_CHECK_OFF(ls_sys_rec, out_head, 88);
LS_CHECK_SIZE(ls_event, 96);
LS_CHECK_OFF(ls_event, insn_end, 64);
LS_CHECK_OFF(ls_event, batch_addr, 48);

#endif /* LOCKSTEP_WIRE_H */
