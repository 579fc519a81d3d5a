/* SPDX-License-Identifier: MIT */
/*
 * qemucmd.h - reading a qemu-user command line: which argument is the guest.
 * Pure, for the header of reports.
 */
#ifndef LOCKSTEP_QEMUCMD_H
#define LOCKSTEP_QEMUCMD_H

#include <stddef.h>

/*
 * Index of the guest program in a qemu-user argv (argv[0] is QEMU), or -1.
 * QEMU stops at the first argument that is not an option; options that take
 * a value consume the next argument.
 */
int ls_qemu_guest_index(const char *const *argv, int argc);

/* Whether a qemu-user option ("-cpu", "--cpu") takes the next argument as its value. */
int ls_qemu_opt_takes_value(const char *opt);

/* Split a NUL-separated /proc/PID/cmdline of len bytes in place; returns argc (at most max). */
int ls_split_cmdline(char *buf, size_t len, const char **argv, int max);

#endif
