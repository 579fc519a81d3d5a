/* SPDX-License-Identifier: MIT */
/*
 * claim.h - one monitor per QEMU.  Two monitors on one pair each write its
 * permits and leases and see each other's holds as a partner lagging: they
 * report regions as lost.  A monitor claims each QEMU with a POSIX record
 * lock on a file named by the QEMU's pid and start time (a reused pid is
 * another process) in a root-only directory, held for the monitor's life:
 * the kernel drops it when the monitor dies, SIGKILL included, and a QEMU
 * (or its guest) can neither take nor free it.  A second monitor is refused
 * and told the first one's pid.
 */
#ifndef LOCKSTEP_CLAIM_H
#define LOCKSTEP_CLAIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LS_CLAIM_DIR "/run/lockstep-bpf"

struct ls_claim {
	int fd; /* -1: none */
	char path[128];
};

/* The start time (clock ticks after boot, field 22) from a /proc/PID/stat text; -1 if malformed. */
int ls_claim_stat_start(const char *stat, uint64_t *start);

/*
 * Claim pid for this process, in dir (LS_CLAIM_DIR).  0: claimed.  -1:
 * another live monitor holds it: err names its pid.  1: no claim possible
 * (the directory is unusable): err says why, the caller warns and goes on.
 */
int ls_claim_take(struct ls_claim *c, const char *dir, pid_t pid, char label, char *err, size_t errlen);

/* Give a claim up (and its file); safe on one never taken. */
void ls_claim_drop(struct ls_claim *c);

#endif
