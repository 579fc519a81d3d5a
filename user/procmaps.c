/* SPDX-License-Identifier: MIT */
/* procmaps.c - /proc/PID/maps parsing. */
#include "procmaps.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int hex(const char **p, uint64_t *out)
{
	char *end;

	/* strtoull would skip whitespace (newlines too) and accept signs and "0x": maps fields have none. */
	if (!isxdigit((unsigned char)**p))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(*p, &end, 16);
	if (errno || end == *p)
		return -1;
	*out = v;
	*p = end;
	return 0;
}

int ls_maps_parse_line(const char *line, struct ls_map *m)
{
	const char *p = line;
	uint64_t dev_major, dev_minor, inode;

	memset(m, 0, sizeof(*m));
	if (hex(&p, &m->start) || *p++ != '-' || hex(&p, &m->end) || *p++ != ' ' || m->end < m->start)
		return -1;
	for (int i = 0; i < 4; i++) {
		if (!strchr("rwxps-", p[i]) || !p[i])
			return -1;
		m->perms[i] = p[i];
	}
	p += 4;
	if (*p++ != ' ' || hex(&p, &m->offset) || *p++ != ' ')
		return -1;
	if (hex(&p, &dev_major) || *p++ != ':' || hex(&p, &dev_minor) || *p++ != ' ')
		return -1;
	char *end;
	if (!isdigit((unsigned char)*p))
		return -1;
	errno = 0;
	inode = strtoull(p, &end, 10);
	if (errno || end == p)
		return -1;
	m->inode = (unsigned long)inode;
	p = end;
	while (*p == ' ')
		p++;
	if (*p && *p != '\n') {
		m->path = p;
		const char *nl = strchr(p, '\n');
		m->path_len = nl ? (size_t)(nl - p) : strlen(p);
	}
	return 0;
}

int ls_maps_foreach(const char *text, int (*cb)(const struct ls_map *m, void *ctx), void *ctx, unsigned *bad)
{
	const char *line = text;

	while (line && *line) {
		struct ls_map m;
		const char *nl = strchr(line, '\n');
		if (ls_maps_parse_line(line, &m) == 0) {
			int rc = cb(&m, ctx);
			if (rc)
				return rc;
		} else if (bad) {
			(*bad)++;
		}
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

struct off_ctx {
	const char *path;
	size_t path_len;
	uint64_t off, addr;
};

static int off_cb(const struct ls_map *m, void *vctx)
{
	struct off_ctx *c = vctx;

	if (!m->path || m->path_len != c->path_len || memcmp(m->path, c->path, c->path_len))
		return 0;
	if (c->off >= m->offset && c->off - m->offset < m->end - m->start) {
		c->addr = m->start + (c->off - m->offset);
		return 1;
	}
	return 0;
}

uint64_t ls_maps_offset_to_addr(const char *text, const char *path, uint64_t off)
{
	struct off_ctx c = { path, strlen(path), off, 0 };

	ls_maps_foreach(text, off_cb, &c, NULL);
	return c.addr;
}
