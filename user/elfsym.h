/* SPDX-License-Identifier: MIT */
/* elfsym.h - looking up a symbol in an ELF file and its file offset (libelf). */
#ifndef LOCKSTEP_ELFSYM_H
#define LOCKSTEP_ELFSYM_H

#include <stdint.h>

/*
 * Find `name` in path's .symtab or .dynsym and the file offset its value maps
 * to through the PT_LOAD headers.  0 on success, -ENOENT if absent, or -errno.
 */
int ls_elf_symbol_offset(const char *path, const char *name, uint64_t *file_off, uint64_t *size);

/* The same in the open file fd (not closed); a path a target controls is opened with safeopen.h first. */
int ls_elf_symbol_offset_fd(int fd, const char *name, uint64_t *file_off, uint64_t *size);

#endif
