/*
 * gsym_probe.c - symbolize and disassemble guest pcs of a running QEMU from
 * its maps, the way the monitor does; tests/gsym_check.sh checks it against
 * QEMU's own -d in_asm log.  The instruction bytes are read from the guest's
 * ELF file at the pc's file offset (the monitor gets them from the plugin's
 * translation log), so no access to the QEMU's memory is needed.
 *
 *   gsym-probe [-b GUEST_BASE] [-r ROOT] [-t TARGET] MAPS PC...
 *
 * For each PC: "PC<TAB>symbol<TAB>vaddr<TAB>length<TAB>instruction".  First
 * line: "machine<TAB>E_MACHINE<TAB>MAIN_PATH".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disasm.h"
#include "gsym.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	if (!f)
		return NULL;
	do {
		if (len + 4096 + 1 > cap) {
			cap = (cap + 4096) * 2;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n);
	fclose(f);
	if (buf)
		buf[len] = 0;
	return buf;
}

int main(int argc, char **argv)
{
	unsigned long long base = 0;
	const char *root = "", *target = NULL;
	int opt, rc = 0;

	while ((opt = getopt(argc, argv, "b:r:t:")) != -1) {
		switch (opt) {
		case 'b':
			base = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			root = optarg;
			break;
		case 't':
			target = optarg;
			break;
		default:
			fprintf(stderr, "usage: gsym-probe [-b GUEST_BASE] [-r ROOT] [-t TARGET] MAPS PC...\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: gsym-probe [-b GUEST_BASE] [-r ROOT] [-t TARGET] MAPS PC...\n");
		return 2;
	}
	char *maps = slurp(argv[optind]);
	if (!maps) {
		perror(argv[optind]);
		return 2;
	}
	struct ls_gsym *g = ls_gsym_new(maps, base, root);
	free(maps);
	if (!g) {
		perror("ls_gsym_new");
		return 2;
	}
	uint16_t machine = ls_gsym_main_machine(g);
	const char *main_path = ls_gsym_main_path(g);
	printf("machine\t%u\t%s\n", machine, main_path ? main_path : "(none)");
	char err[256];
	struct ls_disasm *d = ls_disasm_open(target, machine, err, sizeof(err));
	if (!d)
		fprintf(stderr, "gsym-probe: %s\n", err);
	for (int i = optind + 1; i < argc; i++) {
		uint64_t pc = strtoull(argv[i], NULL, 0);
		char sym[64], insn[128] = "-", path[4200];
		struct ls_gsym_loc l;
		uint8_t bytes[16];
		int len = 0;

		ls_gsym_format(g, pc, sym, sizeof(sym));
		ls_gsym_lookup(g, pc, &l);
		if (d && l.path && (l.kind == LS_GSYM_SYMBOL || l.kind == LS_GSYM_NEAREST || l.kind == LS_GSYM_NO_SYMBOL)) {
			snprintf(path, sizeof(path), "%s%s", root, l.path);
			int fd = open(path, O_RDONLY);
			ssize_t n = fd >= 0 ? pread(fd, bytes, sizeof(bytes), (off_t)l.file_off) : -1;
			if (fd >= 0)
				close(fd);
			if (n > 0)
				len = ls_disasm_one(d, pc, bytes, (size_t)n, insn, sizeof(insn));
		}
		if (l.kind != LS_GSYM_SYMBOL)
			rc = 1;
		printf("%#llx\t%s\t%#llx\t%d\t%s\n", (unsigned long long)pc, sym, (unsigned long long)l.elf_vaddr, len,
		       insn);
	}
	ls_disasm_close(d);
	ls_gsym_free(g);
	return rc;
}
