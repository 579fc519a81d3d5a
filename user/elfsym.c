/* SPDX-License-Identifier: MIT */
/* elfsym.c - ELF symbol and segment lookup with libelf. */
#include "elfsym.h"
#include "safeopen.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <unistd.h>

static int find_sym(Elf *e, const char *name, GElf_Sym *out)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data || !sh.sh_entsize)
			continue;
		size_t n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
				continue;
			const char *sname = elf_strptr(e, sh.sh_link, sym.st_name);
			if (sname && !strcmp(sname, name)) {
				*out = sym;
				return 0;
			}
		}
	}
	return -ENOENT;
}

int ls_elf_symbol_offset(const char *path, const char *name, uint64_t *file_off, uint64_t *size)
{
	int fd = ls_open_regular(path), rc;

	if (fd < 0)
		return fd;
	rc = ls_elf_symbol_offset_fd(fd, name, file_off, size);
	close(fd);
	return rc;
}

int ls_elf_symbol_offset_fd(int fd, const char *name, uint64_t *file_off, uint64_t *size)
{
	int rc = -ENOENT;
	Elf *e = NULL;
	GElf_Sym sym;
	size_t nph;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		rc = -ENOEXEC;
		goto cleanup;
	}
	if (find_sym(e, name, &sym))
		goto cleanup;
	if (elf_getphdrnum(e, &nph)) {
		rc = -ENOEXEC;
		goto cleanup;
	}
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (sym.st_value >= ph.p_vaddr && sym.st_value + sym.st_size <= ph.p_vaddr + ph.p_filesz) {
			*file_off = sym.st_value - ph.p_vaddr + ph.p_offset;
			*size = sym.st_size;
			rc = 0;
			break;
		}
	}
cleanup:
	if (e)
		elf_end(e);
	return rc;
}
