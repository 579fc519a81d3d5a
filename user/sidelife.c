/* SPDX-License-Identifier: MIT */
/*
 * sidelife.c - what a side's guest did to its own process: forks (each child
 * a copy of QEMU that records nothing: it has no partner stream) and execve
 * (a successful one replaces the QEMU by the program, which then runs on
 * the host, not compared).  The plugin writes both into its
 * lockstep_plugin_info; this module reads them, acknowledges an execve so
 * the plugin may go on into it, and words what the monitor did about them.
 *
 * The plugin's memory is hostile input: counts are only printed, the path
 * is cut and made printable, and an exec is only claimed when the plugin
 * said it entered one and its memory is gone after that.
 */
#include "sidelife.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "procmem.h"


unsigned ls_sidelife_update(struct ls_sidelife *sl, const struct ls_plugin_info *in)
{
	unsigned news = 0;

	if (in->magic != LS_MAGIC || in->version != LS_WIRE_VERSION)
		return 0;
	/* Only the first fork is news (a shell forks thousands of times): the summary counts the rest. */
	if (in->forks && !sl->forks) {
		sl->fork_pid = in->fork_pid;
		sl->fork_block = in->fork_block;
		sl->fork_vcpu = in->fork_vcpu;
		news |= LS_SIDELIFE_FORKED;
	}
	sl->forks = in->forks;
	if (in->exec_seq != sl->exec_seq || in->exec_state != sl->exec_state) {
		sl->exec_seq = in->exec_seq;
		sl->exec_state = in->exec_state;
		sl->exec_block = in->exec_block;
		sl->exec_vcpu = in->exec_vcpu;
		size_t n = 0;
		for (; n < sizeof(in->exec_path) && in->exec_path[n]; n++)
			sl->exec_path[n] = isprint((unsigned char)in->exec_path[n]) ? in->exec_path[n] : '?';
		sl->exec_path[n] = 0;
		if (sl->exec_state == LS_EXEC_ENTERED)
			news |= LS_SIDELIFE_EXEC_ENTERED;
	}
	return news;
}

unsigned ls_sidelife_poll(struct ls_sidelife *sl, pid_t pid, uint64_t info_addr)
{
	struct ls_plugin_info in;

	if (sl->execd)
		return 0;
	memset(&in, 0, sizeof(in));
	int e = ls_target_read(pid, info_addr, &in, sizeof(in));
	if (e || in.magic != LS_MAGIC || in.version != LS_WIRE_VERSION) {
		/*
		 * The plugin is not there any more.  After it said it entered an
		 * execve that is what happened (it clears the state if the call
		 * fails); otherwise the process exited, which others report.
		 */
		if (sl->exec_state == LS_EXEC_ENTERED) {
			sl->execd = true;
			return LS_SIDELIFE_EXECD;
		}
		return 0;
	}
	unsigned news = ls_sidelife_update(sl, &in);
	if (sl->exec_state == LS_EXEC_ENTERED && in.exec_seen != sl->exec_seq) {
		uint64_t seen = sl->exec_seq;
		ls_target_write(pid, info_addr + offsetof(struct ls_plugin_info, exec_seen), &seen, sizeof(seen));
	}
	return news;
}

static int block_text(char *buf, size_t len, uint64_t block, uint32_t vcpu)
{
	if (block == ~0ull)
		return snprintf(buf, len, "at a block not recorded (vCPU %" PRIu32 ")", vcpu);
	return snprintf(buf, len, "at block %" PRIu64 " of vCPU %" PRIu32, block, vcpu);
}

size_t ls_sidelife_fork_text(const struct ls_sidelife *sl, char label, char *buf, size_t len)
{
	char at[80];

	if (!sl->forks) {
		if (len)
			buf[0] = 0;
		return 0;
	}
	block_text(at, sizeof(at), sl->fork_block, sl->fork_vcpu);
	int n = sl->forks == 1
			? snprintf(buf, len, "%c forked a child process (pid %" PRIu32 ") %s: children are not compared",
				   label, sl->fork_pid, at)
			: snprintf(buf, len,
				   "%c forked %" PRIu32 " child processes (the first, pid %" PRIu32
				   ", %s): children are not compared",
				   label, sl->forks, sl->fork_pid, at);
	return n < 0 ? 0 : (size_t)n;
}

size_t ls_sidelife_exec_text(const struct ls_sidelife *sl, char label, char *buf, size_t len)
{
	char at[80];

	if (!sl->execd) {
		if (len)
			buf[0] = 0;
		return 0;
	}
	block_text(at, sizeof(at), sl->exec_block, sl->exec_vcpu);
	int n = snprintf(buf, len,
			 "%c exec'd %s %s: from there on that process runs the new program, not QEMU, and is not compared",
			 label, sl->exec_path[0] ? sl->exec_path : "(a program)", at);
	return n < 0 ? 0 : (size_t)n;
}

bool ls_sidelife_both_execd_alike(const struct ls_sidelife sl[2])
{
	return sl[0].execd && sl[1].execd && sl[0].exec_block == sl[1].exec_block && sl[0].exec_block != ~0ull &&
	       sl[0].exec_vcpu == sl[1].exec_vcpu && !strcmp(sl[0].exec_path, sl[1].exec_path);
}
