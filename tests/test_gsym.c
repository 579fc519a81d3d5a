/*
 * test_gsym.c - guest pcs as symbol+offset: the guests the Makefile builds
 * (static, static-PIE and aarch64) mapped by synthetic maps text laid out
 * the way qemu-user 7.2 maps them (r--p code, a load bias, a guest_base),
 * next to QEMU's own host mappings; files without symbols, not ELF, missing
 * or truncated; the format's cuts.
 */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gsym.h"

#ifndef LS_GUEST_DIR
#define LS_GUEST_DIR ".output/guests"
#endif

#define STATIC_G LS_GUEST_DIR "/sleeper"
#define PIE_G LS_GUEST_DIR "/pie/sleeper"
#define PIE_CALLS LS_GUEST_DIR "/pie/calls"
#define A64_G LS_GUEST_DIR "/aarch64/sleeper"

/* Where qemu-x86_64 7.2 loads an ET_DYN guest, and a guest_base it takes with -B. */
#define PIE_BIAS 0x4000000000ull
#define BIG_BASE 0x100000000000ull

/* QEMU's own mappings, in the same address space when guest_base is 0. */
static const char host_lines[] =
	"55abbfe10000-55abbfe7c000 r--p 00000000 fe:00 10977319   /usr/bin/qemu-x86_64\n"
	"55abbfe7c000-55abbffc0000 r-xp 0006c000 fe:00 10977319   /usr/bin/qemu-x86_64\n"
	"55abe5294000-55abe5401000 rw-p 00000000 00:00 0          [heap]\n"
	"7f4c2c000000-7f4c33fff000 rwxp 00000000 00:00 0 \n"
	"7f4c39d64000-7f4c39eba000 r-xp 00026000 fe:00 332835     /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7f4c3ab62000-7f4c3ab64000 r-xp 00000000 00:00 0          [vdso]\n"
	"7ffef55f4000-7ffef5615000 rw-p 00000000 00:00 0          [stack]\n";

static struct ls_gsym *g;
static char maps[16384], buf[256], tmpdir[64];
static struct ls_gsym_loc loc;

static void fini(void)
{
	ls_gsym_free(g);
	g = NULL;
	if (tmpdir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		cr_assert_eq(system(cmd), 0);
		tmpdir[0] = 0;
	}
}

TestSuite(gsym, .fini = fini);

/* The test's own reading of the ELF (an oracle independent of gsym.c): a symbol's value. */
static uint64_t symval(const char *path, const char *name)
{
	int fd = open(path, O_RDONLY);
	uint64_t v = 0;
	bool found = false;

	cr_assert(fd >= 0, "%s: %s (run make first)", path, strerror(errno));
	cr_assert_neq(elf_version(EV_CURRENT), EV_NONE);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	cr_assert_not_null(e);
	Elf_Scn *scn = NULL;
	while (!found && (scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *n;
			if (gelf_getsym(d, (int)i, &s) && (n = elf_strptr(e, sh.sh_link, s.st_name)) && !strcmp(n, name)) {
				v = s.st_value;
				found = true;
				break;
			}
		}
	}
	elf_end(e);
	close(fd);
	cr_assert(found, "%s has no symbol %s", path, name);
	return v;
}

/*
 * Append the lines QEMU's maps would show for ELF `path` loaded at `bias`
 * with `guest_base`: one r--p (or rw-p) file mapping per PT_LOAD, at host
 * address guest_base + bias + p_vaddr, page-aligned, then its bss.
 */
static void add_elf(const char *path, const char *shown_path, uint64_t bias, uint64_t guest_base)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	size_t nph;

	cr_assert(fd >= 0, "%s: %s (run make first)", path, strerror(errno));
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_neq(elf_version(EV_CURRENT), EV_NONE);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	cr_assert_not_null(e);
	cr_assert_eq(elf_getphdrnum(e, &nph), 0);
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		cr_assert_not_null(gelf_getphdr(e, (int)i, &ph));
		if (ph.p_type != PT_LOAD)
			continue;
		uint64_t lo = (guest_base + bias + ph.p_vaddr) & ~0xfffull;
		uint64_t fend = (guest_base + bias + ph.p_vaddr + ph.p_filesz + 0xfff) & ~0xfffull;
		uint64_t mend = (guest_base + bias + ph.p_vaddr + ph.p_memsz + 0xfff) & ~0xfffull;
		size_t n = strlen(maps);
		n += (size_t)snprintf(maps + n, sizeof(maps) - n, "%llx-%llx r%c-p %08llx fe:00 %lu   %s\n",
				      (unsigned long long)lo, (unsigned long long)fend, ph.p_flags & PF_W ? 'w' : '-',
				      (unsigned long long)(ph.p_offset & ~0xfffull), (unsigned long)st.st_ino,
				      shown_path ? shown_path : path);
		if (mend > fend)
			snprintf(maps + n, sizeof(maps) - n, "%llx-%llx rw-p 00000000 00:00 0 \n",
				 (unsigned long long)fend, (unsigned long long)mend);
	}
	elf_end(e);
	close(fd);
}

static void add_line(const char *line)
{
	strncat(maps, line, sizeof(maps) - strlen(maps) - 1);
}

static void make(uint64_t guest_base, const char *root)
{
	g = ls_gsym_new(maps, guest_base, root);
	cr_assert_not_null(g, "ls_gsym_new: %s", strerror(errno));
}

static void expect(uint64_t pc, int want_rc, const char *want)
{
	int rc = ls_gsym_format(g, pc, buf, sizeof(buf));

	cr_assert_eq(rc, want_rc, "%#llx: rc %d, want %d ('%s')", (unsigned long long)pc, rc, want_rc, buf);
	cr_assert_str_eq(buf, want, "%#llx", (unsigned long long)pc);
}

static void look(uint64_t pc, int want_rc, enum ls_gsym_kind kind)
{
	cr_assert_eq(ls_gsym_lookup(g, pc, &loc), want_rc, "%#llx", (unsigned long long)pc);
	cr_assert_eq(loc.kind, kind, "%#llx: kind %d, want %d", (unsigned long long)pc, loc.kind, kind);
}

Test(gsym, static_guest_symbol_and_offset)
{
	uint64_t work = symval(STATIC_G, "work"), mainv = symval(STATIC_G, "main");

	maps[0] = 0;
	add_elf(STATIC_G, NULL, 0, 0);
	add_line(host_lines);
	make(0, "");
	expect(work + 5, 1, "work+0x5");
	expect(mainv, 1, "main");
	look(work + 5, 1, LS_GSYM_SYMBOL);
	cr_assert_str_eq(loc.sym, "work");
	cr_assert_eq(loc.sym_off, 5);
	cr_assert_gt(loc.sym_size, 5);
	cr_assert_eq(loc.elf_vaddr, work + 5); /* ET_EXEC: link-time address = runtime address */
	cr_assert_str_eq(loc.path, STATIC_G);
	cr_assert_str_eq(loc.file, "sleeper");
	cr_assert(loc.is_main);
	cr_assert_eq(ls_gsym_main_machine(g), EM_X86_64);
	cr_assert_str_eq(ls_gsym_main_path(g), STATIC_G);
}

Test(gsym, aliases_read_as_the_plain_name)
{
	/* static glibc: __libc_write (global), __write and write (weak) at one address */
	uint64_t w = symval(STATIC_G, "__libc_write");

	cr_assert_eq(symval(STATIC_G, "write"), w);
	maps[0] = 0;
	add_elf(STATIC_G, NULL, 0, 0);
	make(0, "");
	expect(w + 1, 1, "write+0x1");
}

Test(gsym, static_pie_at_a_load_bias)
{
	uint64_t work = symval(PIE_G, "work");

	cr_assert_lt(work, 0x100000, "a static PIE links at 0");
	maps[0] = 0;
	add_elf(PIE_G, NULL, PIE_BIAS, 0);
	add_line(host_lines);
	make(0, "");
	expect(PIE_BIAS + work + 3, 1, "work+0x3");
	look(PIE_BIAS + work + 3, 1, LS_GSYM_SYMBOL);
	cr_assert_eq(loc.elf_vaddr, work + 3); /* for addr2line -e pie/sleeper */
	cr_assert(loc.is_main);
	/* the link-time address is not mapped: lookup is by runtime pc */
	expect(work + 3, 0, "unmapped");
}

Test(gsym, non_zero_guest_base)
{
	uint64_t work = symval(PIE_G, "work");

	maps[0] = 0;
	add_line("100000000000-1000020b8000 ---p 00000000 00:00 0 \n"); /* QEMU's reservation below the guest */
	add_elf(PIE_G, NULL, PIE_BIAS, BIG_BASE);
	add_line(host_lines);
	make(BIG_BASE, "");
	expect(PIE_BIAS + work, 1, "work");
	look(PIE_BIAS + work + 7, 1, LS_GSYM_SYMBOL);
	cr_assert_eq(loc.elf_vaddr, work + 7);
	cr_assert_eq(loc.file_off, work + 7); /* the text segment's offsets are its addresses */
	cr_assert_str_eq(ls_gsym_main_path(g), PIE_G);
	/* without the base the same pc is nowhere */
	expect(PIE_BIAS + work + BIG_BASE, 0, "unmapped");
}

Test(gsym, aarch64_guest_with_guest_base)
{
	uint64_t work = symval(A64_G, "work"), init = symval(A64_G, "_init");

	maps[0] = 0;
	add_elf(A64_G, NULL, 0, 0x5500000000ull);
	add_line(host_lines);
	make(0x5500000000ull, "");
	expect(work + 4, 1, "work+0x4");
	cr_assert_eq(ls_gsym_main_machine(g), EM_AARCH64);
	/* _init has no size; the "$x" mapping symbol at the same address is no name */
	expect(init + 8, 1, "_init+0x8 (nearest)");
	look(init + 8, 1, LS_GSYM_NEAREST);
	cr_assert_eq(loc.sym_size, 0);
}

Test(gsym, outside_any_mapping)
{
	maps[0] = 0;
	add_elf(STATIC_G, NULL, 0, 0);
	make(0, "");
	expect(0x1000, 0, "unmapped");
	look(0x1000, 0, LS_GSYM_UNMAPPED);
	cr_assert_null(loc.path);
	cr_assert_null(loc.sym);
	expect(0xffffffffffff0000ull, 0, "unmapped");
	/* an empty maps text is valid: everything is unmapped */
	ls_gsym_free(g);
	maps[0] = 0;
	make(0, "");
	expect(0x401000, 0, "unmapped");
	cr_assert_null(ls_gsym_main_path(g));
	cr_assert_eq(ls_gsym_main_machine(g), 0);
}

Test(gsym, mappings_without_a_symbol)
{
	maps[0] = 0;
	add_elf(STATIC_G, NULL, 0, 0);
	add_line(host_lines);
	make(0, "");
	/* the ELF header: in the file, no symbol covers it */
	expect(0x400010, 0, "sleeper+0x400010 (no symbol)");
	look(0x400010, 0, LS_GSYM_NO_SYMBOL);
	cr_assert_eq(loc.elf_vaddr, 0x400010);
	cr_assert_eq(loc.file_off, 0x10);
	/* the bss after the file mapping */
	uint64_t last = 0;
	for (const char *p = maps; (p = strstr(p, " rw-p 00000000 00:00 0 \n")) != NULL; p++) {
		const char *line = p;
		while (line > maps && line[-1] != '\n')
			line--;
		last = strtoull(line, NULL, 16);
		break;
	}
	cr_assert_neq(last, 0);
	expect(last + 0x10, 0, "[anonymous memory]");
	look(last + 0x10, 0, LS_GSYM_ANON);
	cr_assert_eq(loc.map_off, 0x10);
	/* regions the kernel names */
	expect(0x7f4c3ab62000ull + 0x8c0, 0, "[vdso]+0x8c0");
	look(0x7f4c3ab62000ull, 0, LS_GSYM_PSEUDO);
	cr_assert_str_eq(loc.path, "[vdso]");
	expect(0x7ffef55f4000ull, 0, "[stack]");
}

Test(gsym, another_file_than_the_main_program)
{
	uint64_t fib = symval(PIE_CALLS, "fib"), work = symval(STATIC_G, "work");

	maps[0] = 0;
	add_elf(STATIC_G, NULL, 0, 0);
	add_elf(PIE_CALLS, NULL, PIE_BIAS, 0);
	make(0, "");
	cr_assert_str_eq(ls_gsym_main_path(g), STATIC_G, "the lowest guest file is the main program");
	expect(PIE_BIAS + fib + 2, 1, "calls:fib+0x2");
	look(PIE_BIAS + fib + 2, 1, LS_GSYM_SYMBOL);
	cr_assert(!loc.is_main);
	cr_assert_eq(ls_gsym_set_main(g, "/elsewhere/calls"), 0, "matched by basename");
	cr_assert_str_eq(ls_gsym_main_path(g), PIE_CALLS);
	expect(PIE_BIAS + fib + 2, 1, "fib+0x2");
	expect(work, 1, "sleeper:work");
	cr_assert_eq(ls_gsym_set_main(g, STATIC_G), 0);
	expect(work, 1, "work");
	cr_assert_eq(ls_gsym_set_main(g, "/no/such/guest"), -ENOENT);
	cr_assert_eq(ls_gsym_set_main(NULL, "x"), -EINVAL);
}

Test(gsym, main_program_is_not_a_host_executable_mapping)
{
	/* a file the host executes (QEMU's binary, its libraries) is never the guest, even mapped lower */
	maps[0] = 0;
	add_line("00010000-00020000 r-xp 00000000 fe:00 4242 /usr/bin/qemu-x86_64\n");
	add_elf(PIE_G, NULL, PIE_BIAS, 0);
	make(0, "");
	cr_assert_str_eq(ls_gsym_main_path(g), PIE_G);
	ls_gsym_free(g);
	/* nor is anything below guest_base */
	maps[0] = 0;
	add_elf(STATIC_G, NULL, 0, 0);
	add_elf(PIE_G, NULL, PIE_BIAS, BIG_BASE);
	make(BIG_BASE, "");
	cr_assert_str_eq(ls_gsym_main_path(g), PIE_G);
}

Test(gsym, not_elf_and_missing_files)
{
	maps[0] = 0;
	add_line("00400000-00401000 r--p 00000000 fe:00 0 " LS_GUEST_DIR "/sleeper.d\n");
	add_line("00500000-00501000 r--p 00002000 fe:00 0 /no/such/dir/guest\n");
	add_line("00600000-00601000 rw-s 00000000 00:05 0 /dev/zero\n");
	make(0, "");
	expect(0x400010, 0, "sleeper.d+0x10 (not ELF)");
	look(0x400010, 0, LS_GSYM_NOT_ELF);
	cr_assert_str_eq(loc.elf_err, "not an ELF file");
	expect(0x500010, 0, "guest+0x2010 (not ELF)");
	look(0x500010, 0, LS_GSYM_NOT_ELF);
	cr_assert_str_eq(loc.elf_err, "cannot open: No such file or directory");
	expect(0x600000, 0, "zero+0x0 (not ELF)");
	cr_assert_eq(ls_gsym_main_machine(g), 0);
}

static const char *write_tmp(const char *name, const void *data, size_t len)
{
	static char path[128];

	if (!tmpdir[0]) {
		strcpy(tmpdir, "/tmp/lockstep-gsym.XXXXXX");
		cr_assert_not_null(mkdtemp(tmpdir));
	}
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	return path;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	*len = (size_t)ftell(f);
	rewind(f);
	char *b = malloc(*len);
	cr_assert_not_null(b);
	cr_assert_eq(fread(b, 1, *len, f), *len);
	fclose(f);
	return b;
}

Test(gsym, truncated_and_odd_elf_files)
{
	size_t len;
	char *elf = read_all(STATIC_G, &len), line[512];
	static const char *names[] = { "head", "half", "empty", "badph", "badsh" };

	/* the headers only; half the file (the section headers at the end are gone); nothing */
	write_tmp("head", elf, 4096);
	write_tmp("half", elf, len / 2);
	write_tmp("empty", elf, 0);
	/* absurd program and section header tables */
	Elf64_Ehdr *eh = (Elf64_Ehdr *)elf;
	Elf64_Ehdr save = *eh;
	eh->e_phoff = 0x7ffffffffff0ull;
	write_tmp("badph", elf, 4096);
	*eh = save;
	eh->e_shoff = len - 8;
	eh->e_shnum = 60000;
	write_tmp("badsh", elf, len);
	free(elf);

	maps[0] = 0;
	for (int i = 0; i < 5; i++) {
		snprintf(line, sizeof(line), "%x-%x r--p 00001000 fe:00 0 %s/%s\n", 0x400000 + i * 0x100000,
			 0x400000 + i * 0x100000 + 0x1000, tmpdir, names[i]);
		add_line(line);
	}
	make(0, "");
	for (int i = 0; i < 5; i++) {
		uint64_t pc = 0x400000 + (uint64_t)i * 0x100000 + 0x618;
		int rc = ls_gsym_lookup(g, pc, &loc);
		cr_assert(rc == 0 || rc == 1, "%s: rc %d", names[i], rc);
		cr_assert(loc.kind == LS_GSYM_SYMBOL || loc.kind == LS_GSYM_NO_SYMBOL || loc.kind == LS_GSYM_NOT_ELF,
			  "%s: kind %d", names[i], loc.kind);
		cr_assert_geq(ls_gsym_format(g, pc, buf, sizeof(buf)), 0);
		cr_assert_neq(buf[0], 0);
	}
	look(0x400618, 0, LS_GSYM_NO_SYMBOL); /* headers and segments are there, symbols are not */
	cr_assert_eq(loc.elf_vaddr, 0x401618);
	look(0x600618, 0, LS_GSYM_NOT_ELF);
	cr_assert_str_eq(loc.elf_err, "not an ELF file");
	look(0x700618, 0, LS_GSYM_NOT_ELF);
	cr_assert_str_eq(loc.elf_err, "ELF without program headers");
}

Test(gsym, root_prefix_and_deleted_files)
{
	uint64_t work = symval(STATIC_G, "work");
	struct stat st;
	char line[256];

	cr_assert_eq(stat(STATIC_G, &st), 0);
	maps[0] = 0;
	snprintf(line, sizeof(line), "00400000-004a0000 r--p 00000000 fe:00 %lu   /sleeper (deleted)\n",
		 (unsigned long)st.st_ino);
	add_line(line);
	make(0, LS_GUEST_DIR);
	expect(work + 5, 1, "work+0x5");
	look(work, 1, LS_GSYM_SYMBOL);
	cr_assert_str_eq(loc.path, "/sleeper");
	cr_assert_str_eq(ls_gsym_main_path(g), "/sleeper");
}

Test(gsym, format_cuts_long_names_in_the_middle)
{
	uint64_t f = symval(STATIC_G, "__libc_start_call_main"), fib = symval(PIE_CALLS, "fib");
	char small[20];

	maps[0] = 0;
	add_elf(STATIC_G, NULL, 0, 0);
	add_elf(PIE_CALLS, NULL, PIE_BIAS, 0);
	make(0, "");
	expect(f + 4, 1, "__libc_start_call_main+0x4");
	cr_assert_eq(ls_gsym_format(g, f + 4, small, sizeof(small)), 1);
	cr_assert_str_eq(small, "__libc_s...main+0x4");
	cr_assert_eq(ls_gsym_format(g, f, small, 12), 1);
	cr_assert_str_eq(small, "__lib...ain");
	/* another file's name gives way to the symbol first, down to a third */
	cr_assert_eq(ls_gsym_format(g, PIE_BIAS + fib + 2, small, 12), 1);
	cr_assert_str_eq(small, "cal:fib+0x2");
	/* no room even for the offset: a plain cut, never an overrun */
	cr_assert_eq(ls_gsym_format(g, f + 4, small, 4), 1);
	cr_assert_str_eq(small, "__l");
	cr_assert_eq(ls_gsym_format(g, 0x400010, small, sizeof(small)), 0);
	cr_assert_str_eq(small, "sleeper+0x400010 (n");
}

Test(gsym, bad_arguments_and_maps_lines)
{
	errno = 0;
	cr_assert_null(ls_gsym_new(NULL, 0, ""));
	cr_assert_eq(errno, EINVAL);
	maps[0] = 0;
	add_line("this is not a maps line\n\n");
	add_elf(STATIC_G, NULL, 0, 0);
	add_line("garbage-again\n");
	make(0, NULL);
	expect(symval(STATIC_G, "work"), 1, "work");
	cr_assert_eq(ls_gsym_lookup(NULL, 0, &loc), -EINVAL);
	cr_assert_eq(ls_gsym_lookup(g, 0, NULL), -EINVAL);
	cr_assert_eq(ls_gsym_format(g, 0, buf, 0), -EINVAL);
	cr_assert_eq(ls_gsym_format(NULL, 0, buf, sizeof(buf)), -EINVAL);
	cr_assert_null(ls_gsym_main_path(NULL));
	cr_assert_eq(ls_gsym_main_machine(NULL), 0);
	ls_gsym_free(NULL);
}
