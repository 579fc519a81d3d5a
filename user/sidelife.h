/* SPDX-License-Identifier: MIT */
/*
 * sidelife.h - forks and execs of a side's guest, as its plugin records them
 * (see struct ls_plugin_info), and how the monitor words them.
 */
#ifndef LOCKSTEP_SIDELIFE_H
#define LOCKSTEP_SIDELIFE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lockstep_wire.h"

struct ls_sidelife {
	uint32_t forks, fork_pid, fork_vcpu;
	uint64_t fork_block;
	uint32_t exec_state, exec_vcpu;
	uint64_t exec_seq, exec_block;
	char exec_path[sizeof(((struct ls_plugin_info *)0)->exec_path) + 1]; /* printable */
	bool execd; /* the plugin entered an execve and its memory is gone since */
};

/* What ls_sidelife_update / ls_sidelife_poll found new (a first fork, an execve entered, the exec done). */
enum {
	LS_SIDELIFE_FORKED = 1u << 0,
	LS_SIDELIFE_EXEC_ENTERED = 1u << 1,
	LS_SIDELIFE_EXECD = 1u << 2,
};

/* Take a fresh copy of the plugin's info (ignored unless magic and version match).  Pure. */
unsigned ls_sidelife_update(struct ls_sidelife *sl, const struct ls_plugin_info *fresh);

/*
 * Read the side's info again, acknowledge an execve it entered (the plugin
 * waits for that, bounded), and tell an exec from the plugin's memory gone
 * after one.  Cheap: one small read.
 */
unsigned ls_sidelife_poll(struct ls_sidelife *sl, pid_t pid, uint64_t info_addr);

/* One line each ("A forked ...", "A exec'd ..."), or "" and 0 when there is nothing to say. */
size_t ls_sidelife_fork_text(const struct ls_sidelife *sl, char label, char *buf, size_t len);
size_t ls_sidelife_exec_text(const struct ls_sidelife *sl, char label, char *buf, size_t len);

/* Both sides exec'd the same program at the same block: what QEMU ran ended alike. */
bool ls_sidelife_both_execd_alike(const struct ls_sidelife sl[2]);

#endif
