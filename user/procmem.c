/* SPDX-License-Identifier: MIT */
/* procmem.c - another process's memory, whole or not at all (see procmem.h). */
#include "procmem.h"

#include <errno.h>
#include <sys/uio.h>

typedef ssize_t (*vm_op)(pid_t, const struct iovec *, unsigned long, const struct iovec *, unsigned long,
			 unsigned long);

/* process_vm_readv and process_vm_writev take the same arguments: one loop for a partial copy of either. */
static int transfer(vm_op op, pid_t pid, uint64_t addr, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		struct iovec local = { (char *)buf + done, len - done };
		struct iovec remote = { (void *)(uintptr_t)(addr + done), len - done };
		ssize_t n = op(pid, &local, 1, &remote, 1, 0);
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EFAULT;
		done += (size_t)n;
	}
	return 0;
}

int ls_target_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	return transfer(process_vm_readv, pid, addr, buf, len);
}

int ls_target_write(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	return transfer(process_vm_writev, pid, addr, (void *)buf, len); /* only read from, for a write */
}
