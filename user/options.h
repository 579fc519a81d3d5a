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

struct ls_opts {
	pid_t pid[2];
	int npids;
	bool verbose;
	unsigned history; /* blocks shown before the divergence */
	unsigned after; /* blocks shown after it */
	uint32_t lease_ms; /* how long a hold lasts if the monitor dies */
};

/* Checked conversions: the whole string, in range, or -1. */
int ls_parse_pid(const char *s, pid_t *out);
int ls_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/*
 * Parse argv into *o.  Usage errors print a specific message and exit with
 * LS_EXIT_USAGE; --help and --version print and exit 0 (argp's contract).
 */
void ls_opts_parse(int argc, char **argv, struct ls_opts *o);

#endif
