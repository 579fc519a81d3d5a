/* test_options.c - the monitor's command line: accepted forms, usage errors (exit 2), --help, and the checked number parsers. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <limits.h>

#include "exitcodes.h"
#include "options.h"

#define ARGC(v) ((int)(sizeof(v) / sizeof((v)[0])))

static struct ls_opts o;

static void quiet(void)
{
	cr_redirect_stderr();
	cr_redirect_stdout();
}

Test(options, two_pids_and_defaults)
{
	char *argv[] = { "lockstep-bpf", "--pid", "4242", "--pid", "4243" };

	ls_opts_parse(ARGC(argv), argv, &o);
	cr_assert_eq(o.npids, 2);
	cr_assert_eq(o.pid[0], 4242);
	cr_assert_eq(o.pid[1], 4243);
	cr_assert_eq(o.history, 16);
	cr_assert_eq(o.after, 4);
	cr_assert_eq(o.lease_ms, 250);
	cr_assert_eq(o.verbose, false);
}

Test(options, order_of_pids_is_kept)
{
	/* A is the first --pid even when its number is larger: the report labels depend on it. */
	char *argv[] = { "lockstep-bpf", "-p", "900", "-p", "12" };

	ls_opts_parse(ARGC(argv), argv, &o);
	cr_assert_eq(o.pid[0], 900);
	cr_assert_eq(o.pid[1], 12);
}

Test(options, short_and_attached_forms)
{
	char *argv[] = { "lockstep-bpf", "-p4242", "--pid=7", "-v", "--history=64", "--after", "0", "--lease", "10" };

	ls_opts_parse(ARGC(argv), argv, &o);
	cr_assert_eq(o.pid[0], 4242);
	cr_assert_eq(o.pid[1], 7);
	cr_assert_eq(o.verbose, true);
	cr_assert_eq(o.history, 64);
	cr_assert_eq(o.after, 0);
	cr_assert_eq(o.lease_ms, 10);
}

Test(options, upper_limits)
{
	char *argv[] = { "lockstep-bpf", "--history", "4096", "--after", "4096", "--lease", "60000",
			 "--pid", "2147483647", "--pid", "1" };

	ls_opts_parse(ARGC(argv), argv, &o);
	cr_assert_eq(o.history, 4096);
	cr_assert_eq(o.after, 4096);
	cr_assert_eq(o.lease_ms, 60000);
	cr_assert_eq(o.pid[0], INT_MAX);
	cr_assert_eq(o.pid[1], 1);
}

Test(options, history_lower_limit)
{
	char *argv[] = { "lockstep-bpf", "--history", "1", "--pid", "3", "--pid", "4" };

	ls_opts_parse(ARGC(argv), argv, &o);
	cr_assert_eq(o.history, 1);
}

/* Each of these is valid except for one thing, so exit status 2 can only come from that thing. */

Test(options, one_pid, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "4242" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, no_pid, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, three_pids, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "1", "--pid", "2", "--pid", "3" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, same_pid_twice, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "4242", "--pid", "4242" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, same_pid_spelled_differently, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "4242", "--pid", "04242" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, pid_zero, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "0", "--pid", "5" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, pid_negative, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid=-5", "--pid", "5" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, pid_trailing_junk, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "12abc", "--pid", "5" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, pid_too_large, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "5", "--pid", "99999999999" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, pid_just_above_int_max, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "5", "--pid", "2147483648" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, pid_empty, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid=", "--pid", "5" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, pid_missing_argument, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "5", "--pid" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, history_zero, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "1", "--pid", "2", "--history", "0" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, history_too_large, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "1", "--pid", "2", "--history", "5000" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, history_just_too_large, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "1", "--pid", "2", "--history", "4097" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, after_too_large, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "1", "--pid", "2", "--after", "4097" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, after_negative, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "1", "--pid", "2", "--after=-1" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, lease_too_short, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "1", "--pid", "2", "--lease", "9" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, lease_too_long, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "1", "--pid", "2", "--lease", "60001" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, lease_with_unit, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "1", "--pid", "2", "--lease", "250ms" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, stray_positional_argument, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "1", "--pid", "2", "4243" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, unknown_option, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "1", "--pid", "2", "--frobnicate" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, unknown_short_option, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "-x", "--pid", "1", "--pid", "2" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, help_exits_zero, .exit_code = LS_EXIT_OK, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--help" };

	ls_opts_parse(ARGC(argv), argv, &o);
	cr_assert_fail("--help returned instead of exiting");
}

Test(options, version_exits_zero, .exit_code = LS_EXIT_OK, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--version" };

	ls_opts_parse(ARGC(argv), argv, &o);
	cr_assert_fail("--version returned instead of exiting");
}

Test(options, parse_uint)
{
	unsigned long v = 77;

	cr_assert_eq(ls_parse_uint("0", 0, 10, &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(ls_parse_uint("10", 0, 10, &v), 0);
	cr_assert_eq(v, 10);
	cr_assert_eq(ls_parse_uint("5", 5, 5, &v), 0);
	cr_assert_eq(v, 5);
	cr_assert_eq(ls_parse_uint("007", 0, 10, &v), 0, "leading zeros are decimal, not octal");
	cr_assert_eq(v, 7);
	cr_assert_eq(ls_parse_uint("18446744073709551615", 0, ULONG_MAX, &v), 0);
	cr_assert_eq(v, ULONG_MAX);
}

Test(options, parse_uint_refusals)
{
	const char *bad[] = { "", "-1", "+1", " 1", "1 ", "1x", "0x10", "1.0", "18446744073709551616", "-0" };
	unsigned long v = 77;

	cr_assert_eq(ls_parse_uint(NULL, 0, 10, &v), -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(ls_parse_uint(bad[i], 0, ULONG_MAX, &v), -1, "'%s' was accepted", bad[i]);
		cr_assert_eq(v, 77, "'%s' wrote the output", bad[i]);
	}
	cr_assert_eq(ls_parse_uint("11", 0, 10, &v), -1);
	cr_assert_eq(ls_parse_uint("4", 5, 10, &v), -1);
	cr_assert_eq(v, 77);
}

Test(options, parse_pid)
{
	pid_t p = 99;

	cr_assert_eq(ls_parse_pid("1", &p), 0);
	cr_assert_eq(p, 1);
	cr_assert_eq(ls_parse_pid("2147483647", &p), 0);
	cr_assert_eq(p, INT_MAX);
	p = 99;
	cr_assert_eq(ls_parse_pid("0", &p), -1);
	cr_assert_eq(ls_parse_pid("2147483648", &p), -1);
	cr_assert_eq(ls_parse_pid("-5", &p), -1);
	cr_assert_eq(ls_parse_pid("12abc", &p), -1);
	cr_assert_eq(ls_parse_pid("99999999999", &p), -1);
	cr_assert_eq(ls_parse_pid("", &p), -1);
	cr_assert_eq(p, 99);
}

Test(options, run_mode_guest_and_side_arguments)
{
	char *argv[] = { "lockstep-bpf", "run", "--qemu-b", "/opt/new/qemu-x86_64", "--b-arg", "-singlestep", "--a-arg",
			 "-E", "--a-arg", "X=1", "-o", "out", "--timeout", "90", "-I", "500ms", "--json",
			 "./guest", "--pid", "-v" };

	ls_opts_parse(ARGC(argv), argv, &o);
	cr_assert(o.launch);
	cr_assert_str_eq(o.qemu[0], "qemu-x86_64");
	cr_assert_str_eq(o.qemu[1], "/opt/new/qemu-x86_64");
	cr_assert_eq(o.nside_args[0], 2);
	cr_assert_str_eq(o.side_args[0][1], "X=1");
	cr_assert_eq(o.nside_args[1], 1);
	cr_assert_str_eq(o.output_dir, "out");
	cr_assert_eq(o.timeout_ms, 90000);
	cr_assert_eq(o.interval_ms, 500);
	cr_assert(o.json);
	cr_assert_eq(o.guest_argc, 3, "options after the guest are the guest's");
	cr_assert_str_eq(o.guest_argv[0], "./guest");
	cr_assert_str_eq(o.guest_argv[1], "--pid");
	cr_assert(!o.verbose);
}

Test(options, run_mode_double_dash)
{
	char *argv[] = { "lockstep-bpf", "run", "-q", "--", "-guest-with-dash", "x" };

	ls_opts_parse(ARGC(argv), argv, &o);
	cr_assert(o.quiet);
	cr_assert_eq(o.guest_argc, 2);
	cr_assert_str_eq(o.guest_argv[0], "-guest-with-dash");
	cr_assert_str_eq(o.qemu[1], "qemu-x86_64", "B defaults to A's QEMU");
	cr_assert_eq(o.max_divergences, 1);
}

Test(options, run_without_guest, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "run", "-q" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, pid_is_not_a_run_option, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "run", "--pid", "5", "./guest" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, guest_is_not_a_pid_mode_argument, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "5", "--pid", "6", "./guest" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, bad_interval_timeout_maxdiv, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "5", "--pid", "6", "--interval", "50ms" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, timeout_needs_a_unit_it_knows, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "5", "--pid", "6", "--timeout", "1d" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, max_divergences_zero, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "--pid", "5", "--pid", "6", "--max-divergences", "0" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, run_user_stdin)
{
	char *argv[] = { "lockstep-bpf", "run", "--user", "nobody", "--stdin", "./guest" };

	ls_opts_parse(ARGC(argv), argv, &o);
	cr_assert_str_eq(o.user, "nobody");
	cr_assert_not(o.as_root);
	cr_assert(o.stdin_copy);
}

Test(options, run_user_and_as_root, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "run", "--as-root", "--user", "nobody", "./guest" };

	ls_opts_parse(ARGC(argv), argv, &o);
}

Test(options, forward_inputs_in_both_modes)
{
	char *run[] = { "lockstep-bpf", "run", "--forward-inputs", "./guest" };
	char *pid[] = { "lockstep-bpf", "--pid", "1", "--pid", "2", "--forward-inputs" };

	ls_opts_parse(ARGC(run), run, &o);
	cr_assert(o.forward_inputs);
	ls_opts_parse(ARGC(pid), pid, &o);
	cr_assert(o.forward_inputs);
	cr_assert(!o.no_gate);
}

Test(options, forward_inputs_needs_the_gate, .exit_code = LS_EXIT_USAGE, .init = quiet)
{
	char *argv[] = { "lockstep-bpf", "run", "--forward-inputs", "--no-gate", "./guest" };

	ls_opts_parse(ARGC(argv), argv, &o);
}
