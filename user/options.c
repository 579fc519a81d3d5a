/* SPDX-License-Identifier: MIT */
/* options.c - argp definition, checked numeric parsing and option validation. */
#include "options.h"

#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
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
	"and the recent history of both sides.  `lockstep-bpf run --help` starts both\n"
	"QEMUs itself.\n"
	"\n"
	"EXAMPLES:\n"
	"  sudo lockstep-bpf --pid 4242 --pid 4243\n"
	"      compare two running QEMUs until both exit or a divergence is found\n"
	"  sudo lockstep-bpf -p \"$(pgrep -f 'qemu.*old')\" -p \"$(pgrep -f 'qemu.*new')\" --history 64\n"
	"      show 64 blocks of history before the divergence\n"
	"  sudo lockstep-bpf -p 4242 -p 4243 --json --quiet --metrics 9464 --timeout 10m\n"
	"      JSON lines on stdout, Prometheus metrics on 127.0.0.1:9464, stop after 10 minutes\n"
	"  sudo lockstep-bpf -p 4242 -p 4243 --max-divergences 20\n"
	"      report up to 20 divergent regions, each followed until the runs come back together\n"
	"  sudo lockstep-bpf -p 4242 -p 4243 --stop-on-divergence\n"
	"      freeze both QEMUs at the divergence for gdb\n"
	"\n"
	"EXIT STATUS:\n"
	"  0  no divergence    1  divergence found    2  usage or environment error\n"
	"  3  a side ended before the comparison finished\n"
	"  4  stopped (--timeout, Ctrl-C or SIGTERM) before the comparison finished\n"
	"\v"
	"Needs root, or CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN and CAP_SYS_PTRACE, and a\n"
	"kernel with BTF and the BPF ring buffer (5.8 or later).";

static const char run_doc[] =
	"Start two QEMUs on the same guest with the lockstep plugin, compare them from\n"
	"their very first block, and report.\n"
	"\n"
	"Both QEMUs wait before their first block until the monitor is attached.  Their\n"
	"output goes to stderr with an \"A| \" or \"B| \" prefix, or to files with\n"
	"--output-dir.  Under sudo they run as the user who ran sudo, not as root\n"
	"(--user, --as-root).  Their stdin is /dev/null unless --stdin.  Comparing two\n"
	"QEMU builds is the main case; the default runs qemu-x86_64 twice.\n"
	"\n"
	"EXAMPLES:\n"
	"  sudo lockstep-bpf run ./guest arg1\n"
	"      the same QEMU twice on ./guest arg1\n"
	"  sudo lockstep-bpf run --qemu-a /opt/qemu-old/bin/qemu-x86_64 --qemu-b ./build/qemu-x86_64 -- ./guest\n"
	"      an old and a new QEMU build on the same guest\n"
	"  sudo lockstep-bpf run --insn --b-arg -singlestep --output-dir out -- ./guest\n"
	"      B cuts every block after one instruction: compare instructions, not blocks;\n"
	"      each side's stdout and stderr in out/\n"
	"\n"
	"EXIT STATUS:\n"
	"  0  no divergence    1  divergence found    2  usage or environment error\n"
	"  1  also when every block matched but the two QEMUs exited differently\n"
	"  2  also when a side could not run the guest (QEMU's message is quoted)\n"
	"  3  a side ended before the comparison finished (crashed, was killed, or\n"
	"     exited before reaching the other side's end); the other runs on to its end\n"
	"  4  stopped (--timeout, Ctrl-C, SIGTERM or SIGHUP) before the comparison finished";

static const char args_doc[] = "--pid PID_A --pid PID_B";
static const char run_args_doc[] = "[--] GUEST [ARGS...]";

enum {
	OPT_HISTORY = 0x100,
	OPT_AFTER,
	OPT_LEASE,
	OPT_INTERVAL,
	OPT_TIMEOUT,
	OPT_MAX_DIV,
	OPT_METRICS,
	OPT_TEXTFILE,
	OPT_JSON,
	OPT_QEMU_A,
	OPT_QEMU_B,
	OPT_A_ARG,
	OPT_B_ARG,
	OPT_PLUGIN,
	OPT_PLUGIN_ARGS,
	OPT_OUTPUT_DIR,
	OPT_INSN,
	OPT_STOP,
	OPT_WINDOW,
	OPT_NO_GATE,
	OPT_USER,
	OPT_AS_ROOT,
	OPT_STDIN,
	OPT_FORWARD,
};

#define LS_COMMON_OPTIONS                                                                                        \
	{ "history", OPT_HISTORY, "N", 0, "Blocks of history shown before the divergence (1-4096, default 16)", 1 }, \
	{ "after", OPT_AFTER, "N", 0, "Blocks shown after the divergence (0-4096, default 4)", 1 },                 \
	{ "max-divergences", OPT_MAX_DIV, "N", 0,                                                                \
	  "Stop after N divergent regions (1-1000000, default 1).  After a divergence the streams are followed "  \
	  "until they come back together, which ends the region",                                                 \
	  1 },                                                                                                    \
	{ "window", OPT_WINDOW, "N", 0,                                                                           \
	  "Blocks (instructions with --insn) each side may spend apart before re-convergence is given up "        \
	  "(1024-67108864, default 1048576)",                                                                     \
	  1 },                                                                                                    \
	{ "insn", OPT_INSN, NULL, 0,                                                                              \
	  "Compare instruction streams, not blocks, so QEMUs that cut blocks differently (-one-insn-per-tb, "     \
	  "-singlestep, another build) are not divergent; compared in user space, so slower",                    \
	  1 },                                                                                                    \
	{ "stop-on-divergence", OPT_STOP, NULL, 0,                                                                \
	  "Leave both QEMUs stopped (SIGSTOP) at the first divergence, memory and rings intact, print how to "   \
	  "inspect, resume or end them, and exit 1",                                                              \
	  1 },                                                                                                    \
	{ "timeout", OPT_TIMEOUT, "TIME", 0, "Stop after TIME (e.g. 90s, 10m, 2h; a bare number is seconds): exit 4", \
	  1 },                                                                                                    \
	{ "lease", OPT_LEASE, "MS", 0,                                                                            \
	  "How long a held QEMU waits for a dead or stopped monitor before running on by itself (10-60000, default 250; a live monitor is waited for while its main loop is alive, at most 10 s stuck)", 1 }, \
	{ "no-gate", OPT_NO_GATE, NULL, 0,                                                                        \
	  "Do not let the plugins pace themselves from the kernel's state: the monitor grants every permit, "     \
	  "every millisecond (slower; for comparison, or where the plugins cannot reach the monitor's socket)",  \
	  1 },                                                                                                    \
	{ "forward-inputs", OPT_FORWARD, NULL, 0,                                                                 \
	  "Give B A's results of the syscalls whose results differ between runs (getrandom, clock_gettime, "    \
	  "sysinfo, stat times ...) and, with run, the same AT_RANDOM (-seed); a syscall that differs in kind "  \
	  "at the same point is the divergence.  With --pid, start A's plugin with forward=a,wait=... and B's "   \
	  "with forward=b,wait=...",                                                                             \
	  1 },                                                                                                    \
	{ "interval", 'I', "TIME", 0, "Live summary period (100ms-1h, default 1s)", 2 },                         \
	{ "quiet", 'q', NULL, 0, "No live summary", 2 },                                                          \
	{ "json", OPT_JSON, NULL, 0, "JSON lines on stdout (one object per event) instead of text", 2 },          \
	{ "metrics", OPT_METRICS, "[ADDR:]PORT", 0, "Serve Prometheus metrics on http://ADDR:PORT/metrics "      \
	  "(ADDR defaults to 127.0.0.1)", 2 },                                                                    \
	{ "textfile", OPT_TEXTFILE, "PATH", 0, "Write the same metrics to PATH atomically every interval "         \
	  "(node_exporter's textfile collector)", 2 },                                                            \
	{ "verbose", 'v', NULL, 0, "Print libbpf's messages and progress", 2 }

static const struct argp_option options[] = {
	{ "pid", 'p', "PID", 0, "A QEMU process running the lockstep plugin (give exactly twice: A, then B)", 0 },
	LS_COMMON_OPTIONS,
	{ 0 },
};

static const struct argp_option run_options[] = {
	{ "qemu-a", OPT_QEMU_A, "PATH", 0, "QEMU binary for side A (default qemu-x86_64)", 0 },
	{ "qemu-b", OPT_QEMU_B, "PATH", 0, "QEMU binary for side B (default: the same as A)", 0 },
	{ "a-arg", OPT_A_ARG, "ARG", 0, "An extra QEMU argument for A only (repeatable)", 0 },
	{ "b-arg", OPT_B_ARG, "ARG", 0, "An extra QEMU argument for B only (repeatable)", 0 },
	{ "plugin", OPT_PLUGIN, "PATH", 0, "liblockstep.so to load (default: beside this command, or its "
	  "installed lib/lockstep-bpf/)", 0 },
	{ "plugin-args", OPT_PLUGIN_ARGS, "K=V,...", 0, "Extra plugin arguments for both sides (e.g. batch=4096)",
	  0 },
	{ "output-dir", 'o', "DIR", 0, "Write A.stdout, A.stderr, B.stdout, B.stderr into DIR (created if "
	  "missing; the files must not exist yet) instead of prefixing them on stderr", 0 },
	{ "user", OPT_USER, "NAME", 0, "Run both QEMUs as this user (name or uid), with its groups (default: the "
	  "user who ran sudo, from SUDO_UID and SUDO_GID)", 0 },
	{ "as-root", OPT_AS_ROOT, NULL, 0, "Run both QEMUs as this command's own user (root under sudo)", 0 },
	{ "stdin", OPT_STDIN, NULL, 0, "Read this command's stdin to its end before starting, and give both "
	  "guests the same copy (default: both read /dev/null)", 0 },
	LS_COMMON_OPTIONS,
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
	case 'I':
		if (ls_parse_duration(arg, 1000, 100, 3600000, &o->interval_ms))
			argp_error(state, "--interval '%s' must be a duration from 100ms to 1h (e.g. 500ms, 2s)", arg);
		break;
	case OPT_TIMEOUT:
		if (ls_parse_duration(arg, 1000, 1, 30ull * 86400000, &o->timeout_ms))
			argp_error(state, "--timeout '%s' must be a duration from 1ms to 30 days (e.g. 90s, 10m, 2h)",
				   arg);
		break;
	case OPT_MAX_DIV:
		if (ls_parse_uint(arg, 1, 1000000, &v))
			argp_error(state, "--max-divergences '%s' must be a whole number from 1 to 1000000", arg);
		o->max_divergences = (unsigned)v;
		break;
	case OPT_WINDOW:
		if (ls_parse_uint(arg, 1024, LS_MAX_WINDOW, &v))
			argp_error(state, "--window '%s' must be a whole number from 1024 to %u", arg, LS_MAX_WINDOW);
		o->window = v;
		break;
	case OPT_INSN:
		o->insn = true;
		break;
	case OPT_STOP:
		o->stop_on_divergence = true;
		break;
	case OPT_NO_GATE:
		o->no_gate = true;
		break;
	case OPT_FORWARD:
		o->forward_inputs = true;
		break;
	case OPT_METRICS:
		if (!*arg)
			argp_error(state, "--metrics needs [ADDR:]PORT");
		o->metrics = arg;
		break;
	case OPT_TEXTFILE:
		if (!*arg)
			argp_error(state, "--textfile needs a path");
		o->textfile = arg;
		break;
	case OPT_JSON:
		o->json = true;
		break;
	case 'q':
		o->quiet = true;
		break;
	case 'v':
		o->verbose = true;
		break;
	case OPT_QEMU_A:
	case OPT_QEMU_B:
		if (!*arg)
			argp_error(state, "--qemu-%c needs a path", key == OPT_QEMU_A ? 'a' : 'b');
		o->qemu[key == OPT_QEMU_B] = arg;
		break;
	case OPT_A_ARG:
	case OPT_B_ARG: {
		int i = key == OPT_B_ARG;
		if (o->nside_args[i] == LS_MAX_SIDE_ARGS)
			argp_error(state, "more than %d --%c-arg options", LS_MAX_SIDE_ARGS, 'a' + i);
		o->side_args[i][o->nside_args[i]++] = arg;
		break;
	}
	case OPT_PLUGIN:
		o->plugin = arg;
		break;
	case OPT_PLUGIN_ARGS:
		if (strpbrk(arg, " \t"))
			argp_error(state, "--plugin-args '%s': key=value pairs separated by commas, no spaces", arg);
		o->plugin_args = arg;
		break;
	case 'o':
		if (!*arg)
			argp_error(state, "--output-dir needs a directory");
		o->output_dir = arg;
		break;
	case OPT_USER:
		if (!*arg)
			argp_error(state, "--user needs a user name or uid");
		if (o->as_root)
			argp_error(state, "--user and --as-root say different things: give one");
		o->user = arg;
		break;
	case OPT_AS_ROOT:
		if (o->user)
			argp_error(state, "--user and --as-root say different things: give one");
		o->as_root = true;
		break;
	case OPT_STDIN:
		o->stdin_copy = true;
		break;
	case ARGP_KEY_ARG:
		if (!o->launch)
			argp_error(state, "unexpected argument '%s' (processes are given with --pid; "
					  "`lockstep-bpf run GUEST` starts them)", arg);
		/* The guest and everything after it belong to the guest. */
		o->guest_argv = &state->argv[state->next - 1];
		o->guest_argc = state->argc - state->next + 1;
		state->next = state->argc;
		break;
	case ARGP_KEY_END:
		if (o->forward_inputs && o->no_gate)
			argp_error(state, "--forward-inputs hands the plugins their channel over the gate's socket: it "
					  "cannot be used with --no-gate");
		if (o->launch) {
			if (!o->guest_argc)
				argp_error(state, "no guest program given (lockstep-bpf run [OPTION...] [--] GUEST [ARGS...])");
		} else if (o->npids != 2) {
			argp_error(state, "--pid must be given exactly twice (got %d)", o->npids);
		}
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

void ls_opts_parse(int argc, char **argv, struct ls_opts *o)
{
	static const struct argp argp = { options, parse_opt, args_doc, doc, NULL, NULL, NULL };

	static const struct argp run_argp = { run_options, parse_opt, run_args_doc, run_doc, NULL, NULL, NULL };

	memset(o, 0, sizeof(*o));
	o->history = LS_DEFAULT_HISTORY;
	o->after = 4;
	o->lease_ms = 250;
	o->interval_ms = 1000;
	o->max_divergences = 1;
	o->window = LS_DEFAULT_WINDOW;
	argp_err_exit_status = LS_EXIT_USAGE;
	if (argc > 1 && !strcmp(argv[1], "run")) {
		/* argv[1] becomes the program name, so messages say "lockstep-bpf run". */
		static char name[] = "lockstep-bpf run";
		argv[1] = name;
		o->launch = true;
		/* In order: options after the guest are the guest's, not ours. */
		argp_parse(&run_argp, argc - 1, argv + 1, ARGP_IN_ORDER, NULL, o);
		if (!o->qemu[0])
			o->qemu[0] = "qemu-x86_64";
		if (!o->qemu[1])
			o->qemu[1] = o->qemu[0];
	} else {
		argp_parse(&argp, argc, argv, 0, NULL, o);
	}
}
