/* SPDX-License-Identifier: MIT */
/* target.c - finding and validating the lockstep plugin inside a QEMU process. */
#include "target.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../plugin/plugin_args.h" /* the limits every plugin enforces on its arguments */
#include "elfsym.h"
#include "procmaps.h"
#include "qemucmd.h"

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
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, t->exe, sizeof(t->exe) - 1);
	if (n > 0)
		t->exe[n] = 0;
	else
		snprintf(t->exe, sizeof(t->exe), "(unknown)");
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

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps = ls_read_file(path, NULL, &e);
	if (!maps) {
		snprintf(err, errlen, "%c: cannot read %s: %s%s", label, path, strerror(e),
			 e == EACCES ? " (run as root, or with CAP_SYS_PTRACE)" : "");
		goto cleanup;
	}
	memset(&c, 0, sizeof(c));
	c.t = t;
	if (!ls_maps_foreach(maps, find_plugin_cb, &c, NULL)) {
		snprintf(err, errlen,
			 "%c: pid %d (%s) has no lockstep plugin loaded; start QEMU with "
			 "-plugin /path/to/liblockstep.so (make install puts it in PREFIX/lib/lockstep-bpf)",
			 label, (int)pid, t->exe);
		goto cleanup;
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
		snprintf(err, errlen, "%c: pid %d: the lockstep plugin is loaded but not initialised", label,
			 (int)pid);
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
