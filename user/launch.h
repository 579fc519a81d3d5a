/* SPDX-License-Identifier: MIT */
/*
 * launch.h - `lockstep-bpf run`: starting the two QEMUs with the plugin,
 * carrying their output (prefixed on stderr, or into files), ending them.
 */
#ifndef LOCKSTEP_LAUNCH_H
#define LOCKSTEP_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct ls_child {
	char label;
	pid_t pid;
	int fd[2]; /* stdout, stderr pipes when prefixing; -1 otherwise */
	char line[2][4096]; /* partial last line of each */
	size_t len[2];
	bool reaped;
	int wstatus;
};

/*
 * The plugin to load: explicit, else liblockstep.so beside this executable,
 * else ../lib/lockstep-bpf/liblockstep.so from it (make install's layout).
 * 0, or -1 with a message in err.
 */
int ls_find_plugin(const char *explicit_path, char *out, size_t outlen, char *err, size_t errlen);

/*
 * Start `qemu [extra...] -plugin PLUGIN_ARG guest_argv...` in its own process
 * group (so a terminal's Ctrl-C reaches only the monitor), stdin from
 * /dev/null, output to DIR/L.stdout and DIR/L.stderr or to pipes.  Reports an
 * exec failure (QEMU not found) as an error here.  0 or -1 with err.
 */
int ls_launch(struct ls_child *c, char label, const char *qemu, const char *const *extra, int nextra,
	      const char *plugin_arg, char *const *guest_argv, int guest_argc, const char *output_dir, char *err,
	      size_t errlen);

/* Copy what is readable from pipe `which` to out, each line prefixed "L| ". */
void ls_child_pump(struct ls_child *c, int which, FILE *out);
/* At the end: everything left in the pipes, including an unterminated last line. */
void ls_child_drain(struct ls_child *c, FILE *out);

/* Reap if it has exited (no wait).  true once reaped. */
bool ls_child_reap(struct ls_child *c);
/*
 * SIGTERM to each child's process group (QEMU and anything it started) at
 * once, then SIGKILL to what is left after grace_ms; reaps.  Reaped or never
 * started children are skipped.
 */
void ls_children_stop(struct ls_child *c, int n, unsigned grace_ms);
/* "exited with status 3", "killed by SIGKILL", ... */
const char *ls_child_how(const struct ls_child *c, char *buf, size_t len);

#endif
