/* SPDX-License-Identifier: MIT */
/*
 * procmaps.h - parsing /proc/PID/maps and translating a file offset of a
 * mapped ELF into the process's address.  Pure text processing.
 */
#ifndef LOCKSTEP_PROCMAPS_H
#define LOCKSTEP_PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ls_map {
	uint64_t start, end, offset;
	char perms[5];
	unsigned long inode;
	const char *path; /* into the parsed line; NULL for anonymous mappings */
	size_t path_len;
};

/* Parse one maps line (without or with its newline). 0 or -1. */
int ls_maps_parse_line(const char *line, struct ls_map *m);

/*
 * Iterate over the lines of a whole maps text; cb returns nonzero to stop,
 * and that value is returned.  Malformed lines are counted in *bad (if given).
 */
int ls_maps_foreach(const char *text, int (*cb)(const struct ls_map *m, void *ctx), void *ctx, unsigned *bad);

/* Address at which file offset `off` of `path` is mapped, or 0. */
uint64_t ls_maps_offset_to_addr(const char *text, const char *path, uint64_t off);

#endif
