/* SPDX-License-Identifier: MIT */
/*
 * options.h - the command line, parsed with argp into a struct (no globals).
 * Pure: no libbpf, so the unit tests parse real argument vectors.
 */
#ifndef LOCKSTEP_OPTIONS_H
#define LOCKSTEP_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define LS_DEFAULT_HISTORY 16
#define LS_MAX_HISTORY 4096
#define LS_MAX_SIDE_ARGS 64
#define LS_DEFAULT_WINDOW (1u << 20)
#define LS_MAX_WINDOW (1u << 26)

struct ls_opts {
	bool launch; /* `lockstep-bpf run ...`: start both QEMUs ourselves */
	pid_t pid[2];
	int npids;
	bool verbose;
	bool quiet; /* no live summary */
	bool json; /* JSON lines on stdout instead of text */
	unsigned history; /* blocks shown before the divergence */
	unsigned after; /* blocks shown after it */
	uint32_t lease_ms; /* how long a hold lasts if the monitor dies */
	uint64_t interval_ms; /* live summary period */
	uint64_t timeout_ms; /* 0: none */
	unsigned max_divergences; /* stop after this many divergent regions */
	bool insn; /* compare instruction streams (blocks may be cut differently), in user space */
	bool stop_on_divergence; /* leave both QEMUs stopped (SIGSTOP) at the first divergence */
	bool no_gate; /* the monitor grants every permit itself (no LS_PERMIT_GATE) */
	bool forward_inputs; /* B takes A's results of syscalls that differ between runs (plugin/fwd.h) */
	uint64_t window; /* blocks (instructions with --insn) each side may spend apart before we give up */
	const char *metrics; /* [ADDR:]PORT for /metrics, or NULL */
	const char *textfile; /* node_exporter textfile, or NULL */
	/* run mode */
	const char *qemu[2];
	const char *plugin; /* NULL: beside the command */
	const char *plugin_args; /* extra key=value,... for both plugins */
	const char *output_dir; /* NULL: prefix the QEMUs' output on stderr */
	const char *user; /* --user: run the QEMUs as this user; NULL: SUDO_UID's, or ours */
	bool as_root; /* --as-root: run them as ourselves */
	bool stdin_copy; /* --stdin: both guests get a copy of our stdin; otherwise /dev/null */
	const char *side_args[2][LS_MAX_SIDE_ARGS];
	int nside_args[2];
	char **guest_argv; /* GUEST [ARGS...] */
	int guest_argc;
};

/* Checked conversions: the whole string, in range, or -1. */
int ls_parse_pid(const char *s, pid_t *out);
int ls_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/*
 * Parse argv into *o: `lockstep-bpf [OPTION...] --pid A --pid B` or
 * `lockstep-bpf run [OPTION...] [--] GUEST [ARGS...]`.  Usage errors print a specific message and exit with
 * LS_EXIT_USAGE; --help and --version print and exit 0 (argp's contract).
 */
void ls_opts_parse(int argc, char **argv, struct ls_opts *o);

#endif
