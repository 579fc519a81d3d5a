/* SPDX-License-Identifier: MIT */
/*
 * ginputs.h - what each guest was given before its first block: its
 * arguments, environment and working directory, from its QEMU's command
 * line, environment and cwd (-E/-U, QEMU_SET_ENV/QEMU_UNSET_ENV and -0
 * applied as qemu-user applies them), and the QEMU options that shape its
 * execution.  A divergence whose syscalls all returned the same may still
 * come from these, and a report should say so before it blames code
 * generation.  Pure: the caller reads the /proc files.
 */
#ifndef LOCKSTEP_GINPUTS_H
#define LOCKSTEP_GINPUTS_H

#include <stdbool.h>
#include <stddef.h>

/* One QEMU as read from /proc/PID/{cmdline,environ,cwd}: NUL-separated blocks. */
struct ls_qemu_launch {
	const char *cmdline;
	size_t cmdline_len;
	const char *environ;
	size_t environ_len;
	const char *cwd; /* "" when unknown */
	/*
	 * The guest had run when cwd was read: a chdir since would show, so a
	 * difference is named as the one at attach, not at start.
	 */
	bool cwd_late;
};

struct ls_ginputs_diff {
	unsigned env, args, cwd; /* how many differences of each kind the guests saw */
	unsigned opts; /* QEMU options that differ (not guest inputs, but what a report should name) */
	/* One line each, no newline, "" when equal: what differed and how, values shortened. */
	char inputs[640]; /* "environment BRANCHY (A \"a\", B \"b\"); argument 2 (A \"pid\", B \"clock\")" */
	char options[320]; /* "A -singlestep; B -cpu qemu64" */
};

/* Compare two launches; fills *d.  Returns true when the guests' inputs differ. */
bool ls_ginputs_compare(const struct ls_qemu_launch *a, const struct ls_qemu_launch *b, struct ls_ginputs_diff *d);

/*
 * Whether the differing QEMU options (ls_ginputs_diff.options) include one
 * that changes what the guest sees (-cpu, -seed, -R, -B, -s, -r, ...), not
 * only where blocks are cut (-singlestep, -one-insn-per-tb): such a
 * difference is an input, and code generation is not suspect until they match.
 */
bool ls_ginputs_opts_visible(const char *options);

#endif
