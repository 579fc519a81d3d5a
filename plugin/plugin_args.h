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

#define LS_DEFAULT_BATCH_ORDER 14 /* 16384 blocks a chunk: one uprobe hit each */
#define LS_DEFAULT_RING_ORDER 21 /* 2M records = 16 MiB a vCPU, touched lazily */
#define LS_MIN_BATCH_ORDER 8
#define LS_MAX_BATCH_ORDER 14 /* (LS_WINDOW + 4) chunks must fit the largest ring */
#define LS_MAX_RING_ORDER 21 /* 16 MiB a vCPU */
#define LS_DEFAULT_FLUSH_MS 50

#define LS_PLUGIN_ARGS_USAGE \
	"batch=BLOCKS (power of two, 256..16384, default 16384),ring=RECORDS (power of two, " \
	">= batch*68, <= 2097152, default 2097152),flush=DURATION (default 50ms, 0 = off)," \
	"wait=DURATION (hold the guest until a monitor attaches, default 0 = no wait)," \
	"dump=PATH (write every record to PATH),verbose=on|off"

struct ls_plugin_args {
	uint32_t batch_order;
	uint32_t ring_order;
	uint32_t flush_ms;
	uint32_t wait_ms;
	const char *dump_path; /* points into argv */
	bool verbose;
};

/* Durations: "250ms", "2s", "500us" is refused (below 1 ms); a bare number is ms. */
int ls_parse_duration_ms(const char *s, uint32_t max_ms, uint32_t *out);

/* 0 on success; otherwise -1 and a one-line reason naming the argument in err. */
int ls_plugin_args_parse(struct ls_plugin_args *a, int argc, char **argv, char *err, size_t errlen);

#endif
