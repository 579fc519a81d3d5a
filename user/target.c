/* SPDX-License-Identifier: MIT */
/* target.c - finding and validating the lockstep plugin inside a QEMU process. */
#include "target.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../plugin/plugin_args.h" /* the limits every plugin enforces on its arguments */
#include "elfsym.h"
#include "procmaps.h"
#include "qemucmd.h"
#include "qstart.h"
#include "safeopen.h"
#include "wirecheck.h"

int ls_target_batch(pid_t pid, const struct ls_plugin_info *info, uint64_t addr, struct ls_batch *b,
		    const char **problem)
{
	int e = ls_target_read(pid, addr, b, sizeof(*b));

	if (e) {
		*problem = "its memory could not be read (did it exit?)";
		return e;
	}
	if ((*problem = ls_batch_problem(b, info)))
		return -EPROTO;
	return 0;
}

int ls_target_head_seq(pid_t pid, const struct ls_batch *b, uint64_t *head_seq)
{
	uint64_t cur;
	int e = ls_target_read(pid, b->head_addr, &cur, sizeof(cur));

	return e ? e : ls_head_seq_of(b, cur, head_seq);
}

int ls_target_syslog(pid_t pid, const struct ls_batch *b, uint32_t sys_order, uint64_t max, struct ls_sys_rec **recs,
		     struct ls_sys_span *span, const char **problem)
{
	struct ls_sys_rec *r;
	int e;

	*recs = NULL;
	if ((*problem = ls_sys_span_of(b, sys_order, max, span)))
		return -EPROTO;
	if (!span->n)
		return 0;
	if (!(r = calloc(span->n, sizeof(*r)))) {
		*problem = "out of memory";
		return -ENOMEM;
	}
	/* At most two reads (the log wraps once), each as large as it comes: never a call per record. */
	for (int k = 0, at = 0; k < 2; at += (int)span->cnt[k], k++) {
		if (span->cnt[k] &&
		    (e = ls_target_read(pid, b->sys_addr + span->slot[k] * sizeof(*r), r + at, span->cnt[k] * sizeof(*r)))) {
			free(r);
			*problem = "its syscall log could not be read";
			return e;
		}
	}
	if ((*problem = ls_sys_recs_problem(r, span->n))) {
		free(r);
		return -EPROTO;
	}
	*recs = r;
	return 0;
}

int ls_target_ring_read(pid_t pid, const struct ls_batch *b, uint64_t lo, uint64_t n, uint64_t *dst)
{
	uint64_t ring_len = 1ull << b->ring_order;
	int e;

	for (uint64_t s = lo; s < lo + n;) {
		uint64_t idx = s & (ring_len - 1), k = lo + n - s;
		if (k > ring_len - idx)
			k = ring_len - idx;
		if ((e = ls_target_read(pid, b->ring_addr + idx * sizeof(uint64_t), dst + (s - lo), k * sizeof(uint64_t))))
			return e;
		s += k;
	}
	return 0;
}

char *ls_read_file(const char *path, size_t *len_out, int *err)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || !buf) {
		*err = fd < 0 ? errno : ENOMEM;
		if (fd >= 0)
			close(fd);
		free(buf);
		return NULL;
	}
	for (;;) {
		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				*err = ENOMEM;
				free(buf);
				close(fd);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*err = errno;
			free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	if (len_out)
		*len_out = len;
	return buf;
}

struct find_ctx {
	const struct ls_target *t;
	char path[PATH_MAX];
	uint64_t off, start, end;
	int checked;
};

static int find_plugin_cb(const struct ls_map *m, void *vctx)
{
	struct find_ctx *c = vctx;
	char root[64], path[PATH_MAX];
	uint64_t off, size;

	/* The plugin is a file mapped executable; look only at each one's text mapping. */
	if (!m->path || m->path[0] != '/' || m->perms[2] != 'x' || m->path_len >= PATH_MAX)
		return 0;
	memcpy(path, m->path, m->path_len);
	path[m->path_len] = 0;
	/*
	 * The mapped inode itself, not whatever the target's owner has put at
	 * its path since (a FIFO would block us, a symlink point root elsewhere).
	 */
	snprintf(root, sizeof(root), "/proc/%d/root", (int)c->t->pid);
	int fd = ls_open_mapped(c->t->pid, m->start, m->end, root, path);
	if (fd < 0)
		return 0;
	c->checked++;
	int e = ls_elf_symbol_offset_fd(fd, "lockstep_plugin_info", &off, &size);
	close(fd);
	if (e == 0 && size >= LS_INFO_V1_SIZE) { /* older formats are shorter: read their version, then refuse */
		memcpy(c->path, path, m->path_len + 1);
		c->off = off;
		c->start = m->start;
		c->end = m->end;
		return 1;
	}
	return 0;
}

/* Whether a file named like the guest program (its last path component) is mapped. */
static bool guest_mapped(const char *maps, const char *guest)
{
	const char *g = strrchr(guest, '/');
	size_t gl;

	g = g ? g + 1 : guest;
	gl = strlen(g);
	if (!gl)
		return false;
	for (const char *l = maps; l && *l;) {
		const char *nl = strchr(l, '\n'), *e = nl ? nl : l + strlen(l);
		if ((size_t)(e - l) > gl + 1 && e[-(ptrdiff_t)gl - 1] == '/' && !memcmp(e - gl, g, gl))
			return true;
		l = nl ? nl + 1 : NULL;
	}
	return false;
}

/*
 * Why no plugin is found yet: a process still becoming a QEMU with the
 * plugin (1, "not loaded yet"), or one that never will (-1, "not loaded").
 */
static int no_plugin(const struct ls_target *t, const char *stat, const char *maps, char *err, size_t errlen)
{
	char path[64], pexe[PATH_MAX] = "";
	size_t len = 0;
	int e, ppid = ls_qstart_stat_ppid(stat);
	struct ls_qstart_facts f = { .exe = t->exe, .parent_exe = pexe };

	/* Exiting while we looked: its files and memory went before its pid. */
	if (ls_target_gone(t->pid)) {
		snprintf(err, errlen, "%c: pid %d (%s) has exited or is exiting", t->label, (int)t->pid, t->exe);
		return -1;
	}
	if (ppid > 0) {
		snprintf(path, sizeof(path), "/proc/%d/exe", ppid);
		ssize_t n = readlink(path, pexe, sizeof(pexe) - 1);
		pexe[n > 0 ? n : 0] = 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)t->pid);
	char *cmd = ls_read_file(path, &len, &e);
	if (cmd) {
		const char *av[256];
		int ac = ls_split_cmdline(cmd, len, av, 256), g = ls_qemu_guest_index(av, ac);
		f.wants_plugin = ls_qstart_argv_wants_plugin(av, ac);
		f.guest_mapped = g >= 0 && guest_mapped(maps, av[g]);
		free(cmd);
	}
	if (!f.wants_plugin && ls_qstart_is_qemu(t->exe)) {
		snprintf(path, sizeof(path), "/proc/%d/environ", (int)t->pid);
		char *env = ls_read_file(path, &len, &e);
		if (env)
			f.wants_plugin = ls_qstart_env_wants_plugin(env, len);
		free(env);
	}
	switch (ls_qstart_judge(&f)) {
	case LS_QSTART_STARTING:
		snprintf(err, errlen, "%c: pid %d (%s) has no lockstep plugin loaded yet", t->label, (int)t->pid, t->exe);
		return 1;
	case LS_QSTART_NOT_QEMU:
		snprintf(err, errlen, "%c: pid %d (%s) is not a QEMU: it has no lockstep plugin loaded", t->label,
			 (int)t->pid, t->exe);
		return -1;
	default:
		snprintf(err, errlen,
			 "%c: pid %d (%s) has no lockstep plugin loaded; start QEMU with "
			 "-plugin /path/to/liblockstep.so (make install puts it in PREFIX/lib/lockstep-bpf)",
			 t->label, (int)t->pid, t->exe);
		return -1;
	}
}

int ls_target_open(struct ls_target *t, pid_t pid, char label, char *err, size_t errlen)
{
	char path[64], *maps = NULL, *stat = NULL, *cmd = NULL;
	struct find_ctx c;
	size_t len = 0;
	int e = 0, rc = -1;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->label = label;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	stat = ls_read_file(path, NULL, &e);
	if (!stat) {
		if (e == ENOENT || e == ESRCH)
			snprintf(err, errlen, "%c: pid %d does not exist", label, (int)pid);
		else
			snprintf(err, errlen, "%c: cannot read %s: %s", label, path, strerror(e));
		goto cleanup;
	}
	/* The state follows the last ')' (the command name may contain one). */
	const char *rp = strrchr(stat, ')');
	if (rp && (rp[2] == 'Z' || rp[2] == 'X')) {
		snprintf(err, errlen, "%c: pid %d has already exited (zombie, not yet reaped by its parent)", label,
			 (int)pid);
		goto cleanup;
	}
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps = ls_read_file(path, NULL, &e);
	if (!maps) {
		snprintf(err, errlen, "%c: cannot read %s: %s%s", label, path, strerror(e),
			 e == EACCES ? " (run as root, or with CAP_SYS_PTRACE)" : "");
		goto cleanup;
	}
	/*
	 * The program after the maps: with the plugin mapped it is QEMU for
	 * good (a wrapper has exec'd it), and what the report names.
	 */
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, t->exe, sizeof(t->exe) - 1);
	if (n > 0)
		t->exe[n] = 0;
	else
		snprintf(t->exe, sizeof(t->exe), "(unknown)");
	if (!maps[0]) {
		/* Its memory is gone: an exiting process (or a kernel thread, which has none). */
		snprintf(err, errlen, "%c: pid %d (%s) has exited or is exiting (it has no memory map)", label, (int)pid,
			 t->exe);
		goto cleanup;
	}
	memset(&c, 0, sizeof(c));
	c.t = t;
	if (!ls_maps_foreach(maps, find_plugin_cb, &c, NULL)) {
		rc = no_plugin(t, stat, maps, err, errlen);
		goto cleanup;
	}
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	cmd = ls_read_file(path, &len, &e);
	if (cmd) {
		const char *av[256];
		int ac = ls_split_cmdline(cmd, len, av, 256), g = ls_qemu_guest_index(av, ac);
		if (g >= 0)
			snprintf(t->guest, sizeof(t->guest), "%s", av[g]);
		for (size_t i = 0; i + 1 < len; i++)
			if (!cmd[i])
				cmd[i] = ' ';
		snprintf(t->cmdline, sizeof(t->cmdline), "%s", cmd);
	}
	snprintf(t->plugin_path, sizeof(t->plugin_path), "%s", c.path);
	/* The uprobe goes on the inode mapped, reached the same way (libbpf opens it to find the function). */
	ls_map_files_path(t->probe_path, sizeof(t->probe_path), pid, c.start, c.end);
	int pfd = open(t->probe_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (pfd >= 0)
		close(pfd);
	else /* without CAP_SYS_ADMIN: the path, which ls_open_mapped found to be a regular file */
		snprintf(t->probe_path, sizeof(t->probe_path), "/proc/%d/root%s", (int)pid, c.path);
	t->info_addr = ls_maps_offset_to_addr(maps, c.path, c.off);
	if (!t->info_addr) {
		snprintf(err, errlen, "%c: pid %d maps %s but not its data segment", label, (int)pid, c.path);
		goto cleanup;
	}
	if ((e = ls_target_read(pid, t->info_addr, &t->info, LS_INFO_V1_SIZE)) != 0 ||
	    (t->info.magic == LS_MAGIC && t->info.version == LS_WIRE_VERSION &&
	     (e = ls_target_read(pid, t->info_addr, &t->info, sizeof(t->info))) != 0)) {
		snprintf(err, errlen, "%c: cannot read pid %d's memory: %s%s", label, (int)pid, strerror(-e),
			 e == -EPERM ? " (needs CAP_SYS_PTRACE)" : "");
		goto cleanup;
	}
	if (t->info.magic != LS_MAGIC) {
		snprintf(err, errlen, "%c: pid %d: %s is not a lockstep plugin this monitor understands", label,
			 (int)pid, c.path);
		goto cleanup;
	}
	if (t->info.version != LS_WIRE_VERSION) {
		snprintf(err, errlen,
			 "%c: pid %d runs lockstep plugin %.16s with wire format %u; this lockstep-bpf (%s) speaks "
			 "format %u: use the plugin built with this monitor",
			 label, (int)pid, t->info.plugin_version, t->info.version, LS_VERSION, LS_WIRE_VERSION);
		goto cleanup;
	}
	snprintf(t->plugin_version, sizeof(t->plugin_version), "%.16s", t->info.plugin_version);
	if (!t->info.batch_order) {
		snprintf(err, errlen, "%c: pid %d: the lockstep plugin is loaded but not initialised yet", label,
			 (int)pid);
		rc = 1;
		goto cleanup;
	}
	if (t->info.flags & LS_INFO_FORKED_CHILD) {
		snprintf(err, errlen,
			 "%c: pid %d is a child process its guest forked: its plugin records nothing (a child has no "
			 "partner stream); compare the QEMUs that forked it",
			 label, (int)pid);
		goto cleanup;
	}
	/*
	 * Everything later shifts by these orders (1 << batch_order and so on):
	 * read from the target, every field is checked against what the plugin's
	 * own argument parser lets through before anything uses it.
	 */
	const char *bad = ls_info_problem(&t->info);
	if (bad) {
		snprintf(err, errlen, "%c: pid %d: the lockstep plugin's info in its memory is corrupt (%s): refusing it",
			 label, (int)pid, bad);
		goto cleanup;
	}
	rc = 0;
cleanup:
	free(maps);
	free(stat);
	free(cmd);
	return rc;
}

int ls_target_open_wait(struct ls_target *t, pid_t pid, char label, unsigned wait_ms, volatile sig_atomic_t *stop,
			char *err, size_t errlen)
{
	struct timespec t0, now;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if ((rc = ls_target_open(t, pid, label, err, errlen)) <= 0)
			return rc;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= (long)wait_ms || (stop && *stop))
			break;
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
	size_t l = strlen(err);
	snprintf(err + l, errlen - l, " (waited %.1f s%s%s)", wait_ms / 1000.0,
		 ls_qstart_is_qemu(t->exe) ? "" : ": it never became a QEMU", stop && *stop ? ", interrupted" : "");
	return -1;
}

bool ls_target_gone(pid_t pid)
{
	char path[64], *stat, *maps;
	int e;
	bool gone;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(stat = ls_read_file(path, NULL, &e)))
		return true;
	const char *rp = strrchr(stat, ')');
	gone = rp && (rp[2] == 'Z' || rp[2] == 'X');
	free(stat);
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps = ls_read_file(path, NULL, &e);
	gone |= !maps || !maps[0];
	free(maps);
	return gone;
}
