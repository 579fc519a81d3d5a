/* SPDX-License-Identifier: MIT */
/*
 * plugin_args.h - the plugin's key=value arguments, parsed with no QEMU
 * dependency so every accepted and refused spelling is unit-tested.
 */
#ifndef LOCKSTEP_PLUGIN_ARGS_H
#define LOCKSTEP_PLUGIN_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../bpf/lockstep_wire.h" /* the limits, which the monitor enforces too */

#define LS_DEFAULT_BATCH_ORDER 16 /* 65536 blocks a chunk: one uprobe hit each */
#define LS_DEFAULT_RING_ORDER 21 /* 2M records = 16 MiB a vCPU, touched lazily */
#define LS_DEFAULT_FLUSH_MS 50
#define LS_DEFAULT_TLOG_BYTES (64ull << 20) /* translation log, touched lazily */
#define LS_DEFAULT_SYS_ORDER 16 /* 65536 syscall records = 8 MiB a vCPU, touched lazily */

#define LS_PLUGIN_ARGS_USAGE \
	"batch=BLOCKS (power of two, 256..65536, default 65536),ring=RECORDS (power of two, " \
	">= batch*16, <= 2097152, default 2097152),flush=DURATION (default 50ms, 0 = off)," \
	"wait=DURATION (hold the guest until a monitor attaches, default 0 = no wait)," \
	"dump=PATH (write every record to PATH),tlog=SIZE (translation log: MiB, or with K/M/G, " \
	"default 64M, 0 = off),syscalls=RECORDS (syscall log per vCPU, power of two, 16..1048576, " \
	"default 65536, 0 = off),verbose=on|off|syscalls (syscalls: also list the logged syscalls at exit)," \
	"forward=a|b (--forward-inputs: this QEMU is side A or B; needs wait=)"

struct ls_plugin_args {
	uint32_t batch_order;
	uint32_t ring_order;
	uint32_t flush_ms;
	uint32_t wait_ms;
	const char *dump_path; /* points into argv */
	uint64_t tlog_bytes; /* 0: no translation log */
	uint32_t sys_order; /* syscall log of 2^sys_order records a vCPU, when syscalls */
	bool syscalls;
	bool verbose;
	bool verbose_syscalls; /* verbose=syscalls: every syscall still in the logs, listed at exit */
	int forward; /* forward=: 0 no, 1 side A (gives its syscall results), 2 side B (takes them) */
};

/* Durations: "250ms", "2s", "500us" is refused (below 1 ms); a bare number is ms. */
int ls_parse_duration_ms(const char *s, uint32_t max_ms, uint32_t *out);

/* Sizes: a bare number is MiB; K, M and G suffixes (binary).  0 on success. */
int ls_parse_size(const char *s, uint64_t *out);

/* 0 on success; otherwise -1 and a one-line reason naming the argument in err. */
int ls_plugin_args_parse(struct ls_plugin_args *a, int argc, char **argv, char *err, size_t errlen);

#endif
