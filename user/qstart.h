/* SPDX-License-Identifier: MIT */
/*
 * qstart.h - is a process without a ready lockstep plugin a QEMU that is
 * still starting (worth waiting for) or one that never will have it?
 * `qemu ... & qemu ... & lockstep-bpf --pid A --pid B` looks at processes
 * that may not have exec'd QEMU yet, or not yet loaded the plugin: those
 * are waited for (bounded), the others refused at once, and the two
 * messages differ.  Pure: the caller reads the /proc files.
 */
#ifndef LOCKSTEP_QSTART_H
#define LOCKSTEP_QSTART_H

#include <stdbool.h>
#include <stddef.h>

/* How long --pid waits for a QEMU that is still starting. */
#define LS_QSTART_WAIT_MS 5000

enum ls_qstart {
	LS_QSTART_READY, /* plugin mapped and its header initialised */
	LS_QSTART_STARTING, /* not loaded yet: may still come */
	LS_QSTART_NO_PLUGIN, /* a QEMU that runs (or will run) its guest without it */
	LS_QSTART_NOT_QEMU, /* not a QEMU, and not about to exec one */
};

struct ls_qstart_facts {
	const char *exe; /* /proc/PID/exe */
	const char *parent_exe; /* its parent's, "" when unknown */
	bool plugin_mapped, initialised;
	bool wants_plugin; /* -plugin among its QEMU options, or QEMU_PLUGIN in its environment */
	bool guest_mapped; /* the guest program is mapped: QEMU loads plugins before it */
};

enum ls_qstart ls_qstart_judge(const struct ls_qstart_facts *f);

/* Whether exe's file name says QEMU ("qemu-x86_64", "qemu-aarch64-static"). */
bool ls_qstart_is_qemu(const char *exe);

/* Whether a qemu-user argv asks for a plugin (-plugin/--plugin before the guest). */
bool ls_qstart_argv_wants_plugin(const char *const *argv, int argc);

/* Whether a NUL-separated environment block sets QEMU_PLUGIN. */
bool ls_qstart_env_wants_plugin(const char *env, size_t len);

/* The parent pid from a /proc/PID/stat text, or -1. */
int ls_qstart_stat_ppid(const char *stat);

#endif
