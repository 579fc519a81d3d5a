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
	int err_file; /* --output-dir: L.stderr, kept open to quote its last line; -1 otherwise */
	bool reaped;
	bool signalled; /* ls_children_stop sent it a signal: it did not end by itself */
	int wstatus;
};

#define LS_MAX_GROUPS 256

/* Whom run mode's QEMUs run as. */
struct ls_creds {
	bool drop; /* false: as this process (root) */
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[LS_MAX_GROUPS];
	char name[96]; /* "user lockstep (uid 1000)", for messages */
};

/*
 * Whom to run the guests as: --as-root keeps this process's ids; --user
 * NAME (or a uid) that user with its groups; otherwise, when root was
 * reached through sudo, the invoking user (SUDO_UID, SUDO_GID, the
 * supplementary groups of that user's entry).  0, or -1 with err.
 */
int ls_resolve_creds(const char *user, bool as_root, const char *sudo_uid, const char *sudo_gid, struct ls_creds *cr,
		     char *err, size_t errlen);

/*
 * --output-dir: DIR (created if missing) and in it A.stdout, A.stderr,
 * B.stdout, B.stderr, created afresh: O_EXCL | O_NOFOLLOW, so an existing
 * file or a planted symlink is an error (naming it), never truncated or
 * followed.  The files belong to the guests' user.  fds[side][0 stdout,
 * 1 stderr]; the stderr files are also readable (to quote a QEMU's last
 * message).  0, or -1 with err and nothing left created.
 */
int ls_open_outputs(const char *dir, const struct ls_creds *cr, int fds[2][2], char *err, size_t errlen);

/*
 * --stdin: read all of in_fd into a sealed memfd (no one, not a guest
 * either, can change it afterwards).  Each side then opens it on its own
 * (ls_reopen_ro), so both read the same bytes from offset 0.  The fd, or -1
 * with err.
 */
int ls_stdin_copy(int in_fd, char *err, size_t errlen);
int ls_reopen_ro(int fd, char *err, size_t errlen);

/* The last non-empty line of an --output-dir stderr file, or "". */
void ls_child_file_last_err(const struct ls_child *c, char *out, size_t len);

/*
 * The plugin to load: explicit, else liblockstep.so beside this executable,
 * else ../lib/lockstep-bpf/liblockstep.so from it (make install's layout).
 * 0, or -1 with a message in err.
 */
int ls_find_plugin(const char *explicit_path, char *out, size_t outlen, char *err, size_t errlen);

/*
 * Start `qemu [extra...] -plugin PLUGIN_ARG guest_argv...` in its own process
 * group (so a terminal's Ctrl-C reaches only the monitor), with fds[0..2] as
 * its stdin, stdout and stderr, as cr says.  Reports a failure to switch
 * user or to exec (QEMU not found) as an error here.  0 or -1 with err.
 */
int ls_launch(struct ls_child *c, char label, const char *qemu, const char *const *extra, int nextra,
	      const char *plugin_arg, char *const *guest_argv, int guest_argc, const int fds[3],
	      const struct ls_creds *cr, char *err, size_t errlen);

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
