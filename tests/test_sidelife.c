/* SPDX-License-Identifier: MIT */
/* test_sidelife.c - forks and execs read from a side's plugin info, and the lines that say them. */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "sidelife.h"

static struct ls_plugin_info fresh(void)
{
	struct ls_plugin_info in;

	memset(&in, 0, sizeof(in));
	in.magic = LS_MAGIC;
	in.version = LS_WIRE_VERSION;
	return in;
}

Test(sidelife, first_fork_is_news_later_ones_are_counted)
{
	struct ls_sidelife sl = {};
	struct ls_plugin_info in = fresh();
	char line[256];

	cr_assert_eq(ls_sidelife_update(&sl, &in), 0);
	cr_assert_eq(ls_sidelife_fork_text(&sl, 'A', line, sizeof(line)), 0);
	in.forks = 1, in.fork_pid = 4242, in.fork_block = 1000, in.fork_vcpu = 0;
	cr_assert_eq(ls_sidelife_update(&sl, &in), LS_SIDELIFE_FORKED);
	ls_sidelife_fork_text(&sl, 'A', line, sizeof(line));
	cr_assert_str_eq(line, "A forked a child process (pid 4242) at block 1000 of vCPU 0: children are not compared");
	in.forks = 3, in.fork_pid = 99; /* a later fork does not move the first one */
	cr_assert_eq(ls_sidelife_update(&sl, &in), 0);
	ls_sidelife_fork_text(&sl, 'B', line, sizeof(line));
	cr_assert_str_eq(line, "B forked 3 child processes (the first, pid 4242, at block 1000 of vCPU 0): children are "
			       "not compared");
}

Test(sidelife, another_wire_format_is_ignored)
{
	struct ls_sidelife sl = {};
	struct ls_plugin_info in = fresh();

	in.version = LS_WIRE_VERSION + 1;
	in.forks = 7;
	cr_assert_eq(ls_sidelife_update(&sl, &in), 0);
	cr_assert_eq(sl.forks, 0);
}

Test(sidelife, exec_path_is_cut_and_printable)
{
	struct ls_sidelife sl = {};
	struct ls_plugin_info in = fresh();
	char line[256];

	memset(in.exec_path, 'x', sizeof(in.exec_path)); /* no terminator: hostile */
	in.exec_path[3] = '\n';
	in.exec_path[5] = (char)0x9b;
	in.exec_state = LS_EXEC_ENTERED, in.exec_seq = 1, in.exec_block = ~0ull, in.exec_vcpu = 2;
	cr_assert_eq(ls_sidelife_update(&sl, &in), LS_SIDELIFE_EXEC_ENTERED);
	cr_assert_eq(strlen(sl.exec_path), sizeof(in.exec_path));
	cr_assert_eq(sl.exec_path[3], '?');
	cr_assert_eq(sl.exec_path[5], '?');
	/* Entered is not done: an execve may fail and come back. */
	cr_assert_eq(ls_sidelife_exec_text(&sl, 'A', line, sizeof(line)), 0);
	sl.execd = true;
	ls_sidelife_exec_text(&sl, 'A', line, sizeof(line));
	cr_assert(strstr(line, "at a block not recorded (vCPU 2)"), "%s", line);
}

Test(sidelife, exec_is_claimed_only_after_an_entered_execve)
{
	struct ls_sidelife sl = {};
	struct ls_plugin_info in = fresh();
	pid_t gone = 0x7ffffff0; /* no such process: its memory cannot be read */

	/* Memory gone without an execve entered: an exit, not an exec. */
	cr_assert_eq(ls_sidelife_poll(&sl, gone, 0x1000), 0);
	cr_assert(!sl.execd);
	in.exec_state = LS_EXEC_FAILED, in.exec_seq = 1;
	ls_sidelife_update(&sl, &in);
	cr_assert_eq(ls_sidelife_poll(&sl, gone, 0x1000), 0);
	cr_assert(!sl.execd);
	in.exec_state = LS_EXEC_ENTERED, in.exec_seq = 2;
	ls_sidelife_update(&sl, &in);
	cr_assert_eq(ls_sidelife_poll(&sl, gone, 0x1000), LS_SIDELIFE_EXECD);
	cr_assert(sl.execd);
}

Test(sidelife, both_execd_alike_needs_the_same_program_and_block)
{
	struct ls_sidelife sl[2] = {};

	for (int i = 0; i < 2; i++) {
		sl[i].execd = true;
		sl[i].exec_block = 500;
		strcpy(sl[i].exec_path, "/bin/echo");
	}
	cr_assert(ls_sidelife_both_execd_alike(sl));
	sl[1].exec_block = 501;
	cr_assert(!ls_sidelife_both_execd_alike(sl));
	sl[1].exec_block = 500;
	strcpy(sl[1].exec_path, "/bin/true");
	cr_assert(!ls_sidelife_both_execd_alike(sl));
	strcpy(sl[1].exec_path, "/bin/echo");
	sl[0].execd = false;
	cr_assert(!ls_sidelife_both_execd_alike(sl));
}
