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

int ls_target_head_seq(pid_t pid, const struct ls_batch *b, uint64_t *head_seq)
{
	uint64_t cur, ring_len = 1ull << b->ring_order, pub_end = (b->chunk << b->batch_order) + b->nblocks;
	int e = ls_target_read(pid, b->head_addr, &cur, sizeof(cur));

	if (e)
		return e;
	uint64_t idx = (cur - b->ring_addr) / sizeof(struct ls_rec);
	if (cur < b->ring_addr || idx > ring_len)
		return -EFAULT;
	*head_seq = pub_end + ((idx - pub_end) & (ring_len - 1));
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
	uint64_t off;
	int checked;
};

static int find_plugin_cb(const struct ls_map *m, void *vctx)
{
	struct find_ctx *c = vctx;
	char probe[PATH_MAX + 32];
	uint64_t off, size;

	/* The plugin is a file mapped executable; look only at each one's text mapping. */
	if (!m->path || m->path[0] != '/' || m->perms[2] != 'x' || m->path_len >= PATH_MAX)
		return 0;
	snprintf(probe, sizeof(probe), "/proc/%d/root%.*s", (int)c->t->pid, (int)m->path_len, m->path);
	c->checked++;
	if (ls_elf_symbol_offset(probe, "lockstep_plugin_info", &off, &size) == 0 &&
	    size >= LS_INFO_V1_SIZE) { /* older formats are shorter: read their version, then refuse */
		memcpy(c->path, m->path, m->path_len);
		c->path[m->path_len] = 0;
		c->off = off;
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
	 * read from the target, they are checked against what the plugin's own
	 * argument parser lets through before anything uses them.
	 */
	const struct ls_plugin_info *in = &t->info;
	if (in->batch_order < LS_MIN_BATCH_ORDER || in->batch_order > LS_MAX_BATCH_ORDER ||
	    in->ring_order > LS_MAX_RING_ORDER || in->ring_order < in->batch_order + 4 ||
	    ((in->flags & LS_INFO_SYSCALLS) && (in->sys_order < LS_MIN_SYS_ORDER || in->sys_order > LS_MAX_SYS_ORDER))) {
		snprintf(err, errlen,
			 "%c: pid %d: the lockstep plugin says chunks of 2^%u blocks, a ring of 2^%u records and a "
			 "syscall log of 2^%u, outside what any plugin accepts (chunks 2^%d-2^%d, ring 16 chunks to 2^%d, "
			 "syscall log 2^%d-2^%d): its memory was changed",
			 label, (int)pid, in->batch_order, in->ring_order, in->sys_order, LS_MIN_BATCH_ORDER,
			 LS_MAX_BATCH_ORDER, LS_MAX_RING_ORDER, LS_MIN_SYS_ORDER, LS_MAX_SYS_ORDER);
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
