/* SPDX-License-Identifier: MIT */
/* qstart.c - a process still starting QEMU, or one that will never have the plugin (see qstart.h). */
#include "qstart.h"

#include <stdlib.h>
#include <string.h>

#include "qemucmd.h"

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

bool ls_qstart_is_qemu(const char *exe)
{
	return exe && strstr(base(exe), "qemu") != NULL;
}

/* A shell may be a wrapper script that is about to exec QEMU. */
static bool is_shell(const char *exe)
{
	static const char *const shells[] = { "sh", "bash", "dash", "zsh", "ksh", "mksh", "busybox", "env" };
	const char *b = base(exe);

	for (size_t i = 0; i < sizeof(shells) / sizeof(shells[0]); i++)
		if (!strcmp(b, shells[i]))
			return true;
	return false;
}

enum ls_qstart ls_qstart_judge(const struct ls_qstart_facts *f)
{
	if (f->plugin_mapped)
		return f->initialised ? LS_QSTART_READY : LS_QSTART_STARTING;
	if (ls_qstart_is_qemu(f->exe))
		return f->wants_plugin && !f->guest_mapped ? LS_QSTART_STARTING : LS_QSTART_NO_PLUGIN;
	/* A fork that has not exec'd yet still runs its parent's program. */
	if (f->exe && f->exe[0] && ((f->parent_exe && !strcmp(f->exe, f->parent_exe)) || is_shell(f->exe)))
		return LS_QSTART_STARTING;
	return LS_QSTART_NOT_QEMU;
}

bool ls_qstart_argv_wants_plugin(const char *const *argv, int argc)
{
	int g = ls_qemu_guest_index(argv, argc), end = g < 0 ? argc : g;

	for (int i = 1; i < end; i++) {
		if (!strcmp(argv[i], "-plugin") || !strcmp(argv[i], "--plugin"))
			return true;
		if (ls_qemu_opt_takes_value(argv[i]))
			i++;
	}
	return false;
}

bool ls_qstart_env_wants_plugin(const char *env, size_t len)
{
	for (size_t i = 0; i < len;) {
		const char *e = env + i;
		size_t n = strnlen(e, len - i);
		if (n > 12 && !memcmp(e, "QEMU_PLUGIN=", 12))
			return true;
		i += n + 1;
	}
	return false;
}

int ls_qstart_stat_ppid(const char *stat)
{
	/* "pid (comm) S ppid ...": the command name may hold anything, so after the last ')'. */
	const char *rp = stat ? strrchr(stat, ')') : NULL;
	char *end;

	if (!rp || rp[1] != ' ' || !rp[2] || rp[3] != ' ')
		return -1;
	long v = strtol(rp + 4, &end, 10);
	return end == rp + 4 || *end != ' ' || v < 0 || v > 0x3fffffff ? -1 : (int)v;
}
