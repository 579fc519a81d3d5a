/* SPDX-License-Identifier: MIT */
/*
 * gsym.h - guest pcs as symbol+offset, from the guest's ELF files (libelf).
 *
 * In linux-user QEMU, guest address g is host address guest_base + g in the
 * QEMU process, so QEMU's /proc/PID/maps shows the guest's file mappings
 * (its program, and for a dynamic guest its ld.so and libraries) at host
 * addresses guest_base + their guest address.  A pc is symbolized by finding
 * the mapping that covers guest_base + pc, turning that into a file offset,
 * the file offset into the ELF's link-time address through its PT_LOAD
 * headers, and that into the symbol containing it.  This needs no load bias:
 * static, static-PIE and dynamic (PIE) guests are all handled the same way.
 *
 * QEMU 7.2 maps a guest's code non-executable on the host (r--p), and with
 * guest_base 0 (its usual choice on an x86_64 host, for x86_64 and aarch64
 * guests alike) QEMU's own binary and host libraries share the address
 * space with the guest, even the same files (a dynamic x86_64 guest's libc is
 * mapped twice: once for QEMU, once for the guest).  That is harmless
 * because lookup is by an executed guest pc, which is always in guest
 * memory: a pc that lands in a host mapping means a wrong guest_base.
 *
 * Files are opened as root_prefix + path ("/proc/PID/root" reaches files in
 * the QEMU's mount namespace; "" opens paths as they are).  When that fails,
 * or finds another file than the one mapped (another inode: rebuilt since, or
 * "(deleted)"), and root_prefix is "/proc/PID/root", the mapping itself is
 * opened through /proc/PID/map_files (needs CAP_SYS_ADMIN); failing that, a
 * file of another inode is used as it is (overlayfs shows other inodes).
 * Each file is parsed once, on first use, and its symbols kept sorted: a
 * lookup is two binary searches.  Symbols come from .symtab, else .dynsym
 * (Debian's ld.so and libc have only the latter); separate debug files are
 * not looked for.  Not thread-safe.
 */
#ifndef LOCKSTEP_GSYM_H
#define LOCKSTEP_GSYM_H

#include <stddef.h>
#include <stdint.h>

struct ls_gsym;

enum ls_gsym_kind {
	LS_GSYM_SYMBOL = 1, /* in a symbol's [value, value + size) */
	LS_GSYM_NEAREST, /* after a symbol without size, in its section: a guess */
	LS_GSYM_NO_SYMBOL, /* in an ELF file, but no symbol covers it (stripped, padding) */
	LS_GSYM_NOT_ELF, /* a file that could not be read as ELF (elf_err says why) */
	LS_GSYM_PSEUDO, /* [heap], [stack], [vdso], ...: region names the kernel gives */
	LS_GSYM_ANON, /* anonymous memory (JIT code, a guest's own mmap) */
	LS_GSYM_UNMAPPED, /* no mapping covers the address */
};

struct ls_gsym_loc {
	enum ls_gsym_kind kind;
	const char *path; /* as in maps, " (deleted)" removed; region name for PSEUDO; else NULL */
	const char *file; /* basename of path, for display */
	const char *sym; /* symbol name (SYMBOL, NEAREST), else NULL */
	uint64_t sym_off; /* pc - symbol's start */
	uint64_t sym_size; /* 0 for NEAREST */
	uint64_t elf_vaddr; /* link-time address of pc (for addr2line -e FILE), when in an ELF file */
	uint64_t file_off; /* offset of pc in the file (file-backed mappings) */
	uint64_t map_off; /* pc's host address - the mapping's start (every mapped kind) */
	int is_main; /* the file is the guest's main program */
	const char *elf_err; /* NOT_ELF: why ("cannot open: ...", "not an ELF file", ...) */
};

/*
 * Parse maps_text (the QEMU process's /proc/PID/maps, copied) once.
 * root_prefix: prepended to paths when opening files ("" or NULL: none).
 * NULL with errno set on failure (ENOMEM, EINVAL for a NULL maps_text).
 */
struct ls_gsym *ls_gsym_new(const char *maps_text, uint64_t guest_base, const char *root_prefix);
void ls_gsym_free(struct ls_gsym *g);

/*
 * Where guest pc is.  Fills *out (pointers into g, valid until
 * ls_gsym_free) and returns 1 if a symbol was found (SYMBOL or NEAREST), 0
 * if not (out->kind says why), -EINVAL for NULL arguments.
 */
int ls_gsym_lookup(struct ls_gsym *g, uint64_t pc, struct ls_gsym_loc *out);

/*
 * pc as one short string of at most len - 1 characters, for reports:
 *   "main", "work+0x1c"                    the main program (its name is in the header)
 *   "libc.so.6:memcpy+0x10"                another file
 *   "_dl_start_user+0x12 (nearest)"        after a symbol without size: a guess
 *   "calls+0x401234 (no symbol)"           file + link-time address (addr2line -e calls 0x401234)
 *   "data.bin+0x2000 (not ELF)"            file + file offset
 *   "[anonymous memory]", "[heap]+0x10", "[vdso]+0x8c0", "unmapped"
 * A long name is cut in the middle ("std::vector<int, s...::_M_realloc+0x1c")
 * so that the offset always shows.  Returns 1 if a symbol was found, else 0
 * (-EINVAL for NULL arguments or len 0).
 */
int ls_gsym_format(struct ls_gsym *g, uint64_t pc, char *buf, size_t len);

/*
 * The guest's main program: by default the lowest file mapping at or above
 * guest_base that has no host-executable mapping (QEMU maps guest code
 * r--p; QEMU's binary and host libraries have an r-xp one); set_main
 * overrides it with the mapped file whose path, or basename, is path.
 * ls_gsym_main_path: NULL if none.  set_main: 0, or -ENOENT if no mapping.
 */
const char *ls_gsym_main_path(struct ls_gsym *g);
int ls_gsym_set_main(struct ls_gsym *g, const char *path);

/* ELF e_machine of the main program (EM_X86_64, EM_AARCH64, ...), 0 if unknown. */
uint16_t ls_gsym_main_machine(struct ls_gsym *g);

#endif
