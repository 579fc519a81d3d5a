/* SPDX-License-Identifier: MIT */
/* options.c - argp definition, checked numeric parsing and option validation. */
#include "options.h"

#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "lockstep_wire.h"

#define LS_STR_(x) #x
#define LS_STR(x) LS_STR_(x)
const char *argp_program_version = "lockstep-bpf " LS_VERSION " (wire format " LS_STR(LS_WIRE_VERSION) ")";
const char *argp_program_bug_address = "the project's issue tracker";

static const char doc[] =
	"Find where two QEMU executions of the same guest part ways, at close to full speed.\n"
	"\n"
	"Both QEMUs must run with the lockstep plugin loaded:\n"
	"  qemu-x86_64 -plugin /usr/local/lib/lockstep-bpf/liblockstep.so ./guest\n"
	"Uprobes in both processes compare their executed blocks in the kernel; only a\n"
	"divergence reaches this program, which then prints the first divergent block\n"
	"and the recent history of both sides.\n"
	"\n"
	"EXAMPLES:\n"
	"  sudo lockstep-bpf --pid 4242 --pid 4243\n"
	"      compare two running QEMUs until both exit or a divergence is found\n"
	"  sudo lockstep-bpf -p \"$(pgrep -f 'qemu.*old')\" -p \"$(pgrep -f 'qemu.*new')\" --history 64\n"
	"      show 64 blocks of history before the divergence\n"
	"\n"
	"EXIT STATUS:\n"
	"  0  no divergence    1  divergence found    2  usage or environment error\n"
	"  3  a side ended before the comparison finished\n"
	"\v"
	"Needs root, or CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN (bpf_probe_write_user) and\n"
	"CAP_SYS_PTRACE, and a kernel with BTF and the BPF ring buffer (5.8 or later).";

static const char args_doc[] = "--pid PID_A --pid PID_B";

enum { OPT_HISTORY = 0x100, OPT_AFTER, OPT_LEASE };

static const struct argp_option options[] = {
	{ "pid", 'p', "PID", 0, "A QEMU process running the lockstep plugin (give exactly twice: A, then B)", 0 },
	{ "history", OPT_HISTORY, "N", 0, "Blocks of history shown before the divergence (1-4096, default 16)", 0 },
	{ "after", OPT_AFTER, "N", 0, "Blocks shown after the divergence (0-4096, default 4)", 0 },
	{ "lease", OPT_LEASE, "MS", 0,
	  "How long a held QEMU waits for this monitor before running on by itself (10-60000, default 250)", 0 },
	{ "verbose", 'v', NULL, 0, "Print libbpf's messages and progress", 0 },
	{ 0 },
};

int ls_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int ls_parse_pid(const char *s, pid_t *out)
{
	unsigned long v;

	if (ls_parse_uint(s, 1, INT_MAX, &v))
		return -1;
	*out = (pid_t)v;
	return 0;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct ls_opts *o = state->input;
	unsigned long v;

	switch (key) {
	case 'p':
		if (o->npids == 2)
			argp_error(state, "--pid given more than twice: lockstep-bpf compares exactly two processes");
		if (ls_parse_pid(arg, &o->pid[o->npids]))
			argp_error(state, "--pid '%s' is not a process id (a whole number from 1 to %d)", arg, INT_MAX);
		if (o->npids == 1 && o->pid[0] == o->pid[1])
			argp_error(state, "--pid %s given twice: compare two different QEMU processes", arg);
		o->npids++;
		break;
	case OPT_HISTORY:
		if (ls_parse_uint(arg, 1, LS_MAX_HISTORY, &v))
			argp_error(state, "--history '%s' must be a whole number from 1 to %d", arg, LS_MAX_HISTORY);
		o->history = (unsigned)v;
		break;
	case OPT_AFTER:
		if (ls_parse_uint(arg, 0, LS_MAX_HISTORY, &v))
			argp_error(state, "--after '%s' must be a whole number from 0 to %d", arg, LS_MAX_HISTORY);
		o->after = (unsigned)v;
		break;
	case OPT_LEASE:
		if (ls_parse_uint(arg, 10, 60000, &v))
			argp_error(state, "--lease '%s' must be a whole number of milliseconds from 10 to 60000", arg);
		o->lease_ms = (uint32_t)v;
		break;
	case 'v':
		o->verbose = true;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s' (processes are given with --pid)", arg);
		break;
	case ARGP_KEY_END:
		if (o->npids != 2)
			argp_error(state, "--pid must be given exactly twice (got %d)", o->npids);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

void ls_opts_parse(int argc, char **argv, struct ls_opts *o)
{
	static const struct argp argp = { options, parse_opt, args_doc, doc, NULL, NULL, NULL };

	memset(o, 0, sizeof(*o));
	o->history = LS_DEFAULT_HISTORY;
	o->after = 4;
	o->lease_ms = 250;
	argp_err_exit_status = LS_EXIT_USAGE;
	argp_parse(&argp, argc, argv, 0, NULL, o);
}
