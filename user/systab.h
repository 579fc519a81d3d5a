/* SPDX-License-Identifier: MIT */
/*
 * systab.h - guest system calls of linux-user targets: their names, and
 * where each one writes its results into guest memory.  Shared by the
 * plugin (which hashes those outputs into its syscall log) and the monitor
 * (which names syscalls in reports); no QEMU or libbpf dependency.
 */
#ifndef LOCKSTEP_SYSTAB_H
#define LOCKSTEP_SYSTAB_H

#include <stddef.h>
#include <stdint.h>

enum ls_arch {
	LS_ARCH_UNKNOWN = 0,
	LS_ARCH_X86_64,
	LS_ARCH_AARCH64,
};

/* From QEMU's target name ("x86_64", "aarch64"); LS_ARCH_UNKNOWN otherwise. */
enum ls_arch ls_arch_from_target(const char *target_name);

/* "clock_gettime", or NULL when this table does not know the number. */
const char *ls_sys_name(enum ls_arch arch, int64_t num);

/*
 * The guest memory a completed syscall wrote (struct timespec of
 * clock_gettime, the bytes read by read, ...), from its arguments and
 * return value: 1 with *addr and *len set, 0 when it writes nothing this
 * table knows of (or failed).
 */
int ls_sys_output(enum ls_arch arch, int64_t num, const uint64_t args[6], int64_t ret, uint64_t *addr, uint64_t *len);

/*
 * Clear, in a copy of a stat-family output (struct stat, struct statx), the
 * fields that differ between any two runs of the same guest, so only what a
 * guest could reasonably act on counts as its input: access times always,
 * and for a pipe, socket or character device (a fresh one each run, or a
 * terminal in use) its device, inode, link count, rdev and other times too; type,
 * size, block size and permissions stay.  Returns the bytes cleared, 0 for
 * any other syscall.
 */
size_t ls_sys_out_denoise(enum ls_arch arch, int64_t num, uint8_t *buf, size_t n);

#endif
