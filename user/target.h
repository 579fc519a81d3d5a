/* SPDX-License-Identifier: MIT */
/*
 * target.h - one monitored QEMU process: checks that it exists and runs a
 * compatible lockstep plugin, where the probe goes, and reading its memory.
 */
#ifndef LOCKSTEP_TARGET_H
#define LOCKSTEP_TARGET_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lockstep_wire.h"
#include "procmem.h"
#include "wirecheck.h"

struct ls_target {
	pid_t pid;
	char label;
	char plugin_path[PATH_MAX]; /* in the target's mount namespace */
	char probe_path[PATH_MAX + 32]; /* /proc/PID/map_files/...: the mapped plugin itself, from here */
	uint64_t info_addr;
	struct ls_plugin_info info;
	char exe[PATH_MAX];
	char cmdline[1024];
	char plugin_version[17]; /* info.plugin_version, terminated */
	char guest[PATH_MAX]; /* the guest program as QEMU was given it, or "" */
};

/*
 * 0; -1 with a specific one-line reason in err; 1 when it may still come:
 * the process is still starting a QEMU, or its plugin is not initialised
 * yet (err says "not loaded yet").
 */
int ls_target_open(struct ls_target *t, pid_t pid, char label, char *err, size_t errlen);

/* ls_target_open, waiting up to wait_ms (or until *stop) while it says 1; 0 or -1. */
int ls_target_open_wait(struct ls_target *t, pid_t pid, char label, unsigned wait_ms, volatile sig_atomic_t *stop,
			char *err, size_t errlen);

/* Whether pid has exited or is exiting (no such process, a zombie, or no memory left). */
bool ls_target_gone(pid_t pid);

/* A whole (/proc) file, NUL-terminated, malloc'ed; NULL with *err = errno. */
char *ls_read_file(const char *path, size_t *len_out, int *err);


/*
 * Read the struct ls_batch at addr and check it against the plugin's info
 * (wirecheck.h): 0, -errno of the read, or -EPROTO; *problem says which.
 * Every batch the monitor acts on comes through here.
 */
int ls_target_batch(pid_t pid, const struct ls_plugin_info *info, uint64_t addr, struct ls_batch *b,
		    const char **problem);

/*
 * Copy the most recent records of the syscall log of batch *b (checked),
 * max at most, in at most two reads: 0 with *recs malloc'ed (NULL when the
 * span is empty) and *span saying which, or -errno with *problem.
 */
int ls_target_syslog(pid_t pid, const struct ls_batch *b, uint32_t sys_order, uint64_t max, struct ls_sys_rec **recs,
		     struct ls_sys_span *span, const char **problem);

/* The writer's next block sequence number, from its head pointer and last publication *b (checked). */
int ls_target_head_seq(pid_t pid, const struct ls_batch *b, uint64_t *head_seq);

/*
 * Copy records [lo, lo + n) out of the ring *b describes (wrapping).  The
 * caller checks with ls_target_head_seq before and after that the writer
 * has not recycled them meanwhile.
 */
int ls_target_ring_read(pid_t pid, const struct ls_batch *b, uint64_t lo, uint64_t n, uint64_t *dst);

#endif
