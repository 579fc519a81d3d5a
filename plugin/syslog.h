/* SPDX-License-Identifier: MIT */
/*
 * syslog.h - one vCPU's syscall log (linux-user): a ring of struct
 * ls_sys_rec (lockstep_wire.h) the monitor reads with process_vm_readv.
 * Written only by that vCPU's thread, in QEMU's syscall callbacks, so it
 * needs no lock.  No QEMU dependency: the unit tests drive it directly.
 *
 * What a record says:
 *   seq      ls_stream_seq() at entry: the blocks this vCPU had executed,
 *            counting the block that made the syscall (QEMU calls the block
 *            callback at block entry), so the syscall instruction is in block
 *            seq - 1.
 *   num, args[0..5]   as the guest passed them.
 *   ret      as QEMU returned it to the guest: -errno (target errno) on
 *            failure, -512 (QEMU_ERESTARTSYS) when QEMU will restart the call
 *            (which then gets a record of its own).
 *   out_*    what the call wrote into guest memory (ls_sys_output(): where
 *            and how long), read back after the call:
 *            out_len   the length the syscall reported, in full;
 *            out_hash  ls_sys_hash() of the first min(out_len, LS_SYS_HASH_CAP)
 *                      bytes, never 0 when out_len > 0;
 *            out_head  the first min(out_len, 40) bytes, zero-filled after.
 *            A failed call, or one with no output the table knows of, has
 *            out_len = out_hash = 0 and state LS_SYS_RETURNED.
 *   state    LS_SYS_ENTERED until the call returns (forever for exit,
 *            exit_group and a successful execve); then LS_SYS_RETURNED, or
 *            LS_SYS_OUT_UNREADABLE when the output could not be read (a bad
 *            guest pointer, or guest_base unknown): out_len is set, out_hash
 *            is 0 and out_head zero.
 *
 * Reading the output safely: with process_vm_readv on our own pid a bad
 * address is EFAULT, not a crash, but that is one more syscall (about 2 us
 * on a VM with mitigations, doubling the cost of a cheap guest syscall).
 * While the guest has only ever had one thread, nothing can unmap guest
 * memory between the syscall writing its output and this callback (same
 * thread, no guest code in between), so LS_READ_DIRECT reads in place an
 * output that lies within one host page (QEMU wrote or checked its first
 * byte for the call to succeed, so that whole page is mapped), or whose
 * length is the return value (read, getrandom, getdents64 ...: the call
 * wrote every byte; systab.c keeps that true for its rules).  Anything
 * else, and waitid (whose siginfo QEMU leaves untouched when no child
 * changed state), is read with the syscall.  The one remaining hazard is
 * another process truncating a file the output buffer is MAP_SHARED from
 * in the instant between the call and the read (SIGBUS, as it would be for
 * the guest's next access).
 *
 * Write order, for a reader in another process:
 *   entry   the slot's state is zeroed, then seq/num/args written with
 *           ret/out_* cleared, state = ENTERED (release), then
 *           batch->sys_next = i + 1 (release).
 *   return  ret and out_* written, then state (release), last.
 * Record i lives in slot i % 2^order.  A reader loads sys_next (n1), copies
 * the slots it wants, and loads sys_next again (n2): record i is intact in
 * its copy when i >= n2 - 2^order + 1 (the next writer of that slot, record
 * i + 2^order, only starts while sys_next is i + 2^order).  Its state tells
 * whether ret/out_* are final, but one copy is not atomic and state lies
 * after ret in the record: a copy's ret/out_* are final when an earlier
 * copy already showed a final state (so copy again the records whose ret
 * you need after a first copy found them returned).
 */
#ifndef LOCKSTEP_SYSLOG_H
#define LOCKSTEP_SYSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../bpf/lockstep_wire.h"
#include "../user/systab.h"

/* Output bytes hashed at most (out_len still says the real length). */
#define LS_SYS_HASH_CAP (64u << 10)
#define LS_SYS_HEAD 40

struct ls_syslog {
	struct ls_sys_rec *ring;
	uint64_t mask; /* 2^order - 1 */
	uint32_t order;
	enum ls_arch arch;
	struct ls_batch *batch; /* publishes sys_addr and sys_next */
	uint64_t next; /* the writer's copy of batch->sys_next */
	bool pending; /* record next - 1 was entered and has not returned */
	uint8_t *buf; /* LS_SYS_HASH_CAP bytes, allocated at the first output */
	/* For the plugin's exit summary. */
	uint64_t returned;
	uint64_t outputs; /* returned with an output that was read and hashed */
	uint64_t out_bytes; /* bytes hashed */
	uint64_t out_capped; /* outputs longer than LS_SYS_HASH_CAP */
	uint64_t denoised; /* stat-family outputs hashed without their run-specific fields */
	uint64_t out_direct; /* of outputs, read in place (LS_READ_DIRECT) */
	uint64_t unreadable;
	uint64_t unmatched; /* returns without their entry */
	int last_read_errno; /* of the last unreadable output */
};

/*
 * A ring of 2^order records, mapped MAP_NORESERVE; sets b->sys_addr and
 * b->sys_next.  arch selects the output rules (LS_ARCH_UNKNOWN: none).
 * 0 or -errno.
 */
int ls_syslog_init(struct ls_syslog *l, struct ls_batch *b, uint32_t order, enum ls_arch arch);
void ls_syslog_fini(struct ls_syslog *l);

/* Syscall entry on this vCPU: seq is ls_stream_seq() of its stream. */
void ls_syslog_enter(struct ls_syslog *l, uint64_t seq, int64_t num, const uint64_t args[6]);

/* How outputs may be read (see above). */
enum ls_read_mode {
	LS_READ_NONE, /* guest_base unknown: outputs are unreadable */
	LS_READ_CHECKED, /* process_vm_readv only */
	LS_READ_DIRECT, /* single-threaded guest: in place within one host page */
};

/* Syscall return on this vCPU.  Guest address g is host address guest_base + g. */
void ls_syslog_return(struct ls_syslog *l, int64_t num, int64_t ret, enum ls_read_mode mode, uint64_t guest_base);

/*
 * The output hash: 64-bit, fast (about 20 GB/s on this machine kind), not cryptographic; never 0
 * (0 means "no output").  Depends on every byte, their order and n.
 */
uint64_t ls_sys_hash(const void *data, size_t n);

#endif
