/* SPDX-License-Identifier: MIT */
/*
 * procmem.h - reading and writing another process's memory
 * (process_vm_readv/writev), whole or not at all.  Pure: shared by the
 * target reader, the monitor's permits and the gate server.
 */
#ifndef LOCKSTEP_PROCMEM_H
#define LOCKSTEP_PROCMEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Read exactly len bytes at addr in pid: 0 or -errno. */
int ls_target_read(pid_t pid, uint64_t addr, void *buf, size_t len);

/*
 * Write exactly len bytes to addr in pid: 0 or -errno.  Fields written
 * together (a permit and its lease) go in one call: the kernel copies a
 * small buffer at once.
 */
int ls_target_write(pid_t pid, uint64_t addr, const void *buf, size_t len);

#endif
