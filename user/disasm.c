/* SPDX-License-Identifier: MIT */
/* disasm.c - guest instructions as text with Capstone 4. */
#include "disasm.h"

#include <capstone/capstone.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ls_disasm {
	csh cs;
	cs_insn *insn;
	const char *target;
	size_t unit; /* instruction size of a fixed-width ISA: what .byte shows when it does not decode */
};

struct target {
	const char *name;
	cs_arch arch; /* CS_ARCH_MAX: QEMU has it, Capstone 4 does not */
	int mode;
	uint16_t machine; /* the e_machine that means this target unambiguously, or 0 */
};

#define NONE CS_ARCH_MAX
#define BE CS_MODE_BIG_ENDIAN

/*
 * QEMU's linux-user target names.  AArch64 instructions are little-endian
 * even on aarch64_be; armeb code is big-endian (BE32) or not (BE8)
 * depending on the binary, so it is not guessed.
 */
static const struct target targets[] = {
	{ "x86_64", CS_ARCH_X86, CS_MODE_64, EM_X86_64 },
	{ "i386", CS_ARCH_X86, CS_MODE_32, EM_386 },
	{ "aarch64", CS_ARCH_ARM64, CS_MODE_LITTLE_ENDIAN, EM_AARCH64 },
	{ "aarch64_be", CS_ARCH_ARM64, CS_MODE_LITTLE_ENDIAN, 0 },
	{ "arm", CS_ARCH_ARM, CS_MODE_ARM, EM_ARM },
	{ "mips", CS_ARCH_MIPS, CS_MODE_MIPS32 | BE, 0 },
	{ "mipsel", CS_ARCH_MIPS, CS_MODE_MIPS32, 0 },
	{ "mips64", CS_ARCH_MIPS, CS_MODE_MIPS64 | BE, 0 },
	{ "mips64el", CS_ARCH_MIPS, CS_MODE_MIPS64, 0 },
	{ "mipsn32", CS_ARCH_MIPS, CS_MODE_MIPS64 | BE, 0 },
	{ "mipsn32el", CS_ARCH_MIPS, CS_MODE_MIPS64, 0 },
	{ "ppc", CS_ARCH_PPC, CS_MODE_32 | BE, EM_PPC },
	{ "ppc64", CS_ARCH_PPC, CS_MODE_64 | BE, 0 },
	{ "ppc64le", CS_ARCH_PPC, CS_MODE_64, 0 },
	{ "sparc", CS_ARCH_SPARC, BE, EM_SPARC },
	{ "sparc32plus", CS_ARCH_SPARC, CS_MODE_V9 | BE, 0 },
	{ "sparc64", CS_ARCH_SPARC, CS_MODE_V9 | BE, EM_SPARCV9 },
	{ "s390x", CS_ARCH_SYSZ, BE, EM_S390 },
	{ "m68k", CS_ARCH_M68K, CS_MODE_M68K_040 | BE, EM_68K },
	{ "armeb", NONE, 0, 0 },
	{ "riscv32", NONE, 0, 0 },
	{ "riscv64", NONE, 0, EM_RISCV },
	{ "loongarch64", NONE, 0, 258 /* EM_LOONGARCH */ },
	{ "alpha", NONE, 0, EM_ALPHA },
	{ "hppa", NONE, 0, EM_PARISC },
	{ "sh4", NONE, 0, EM_SH },
	{ "sh4eb", NONE, 0, 0 },
	{ "microblaze", NONE, 0, EM_MICROBLAZE },
	{ "microblazeel", NONE, 0, 0 },
	{ "nios2", NONE, 0, 113 /* EM_ALTERA_NIOS2 */ },
	{ "or1k", NONE, 0, 92 /* EM_OPENRISC */ },
	{ "cris", NONE, 0, EM_CRIS },
	{ "hexagon", NONE, 0, 164 /* EM_QDSP6 */ },
	{ "xtensa", NONE, 0, EM_XTENSA },
	{ "xtensaeb", NONE, 0, 0 },
};

static const struct target *by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		if (!strcmp(targets[i].name, name))
			return &targets[i];
	return NULL;
}

static const struct target *by_machine(uint16_t machine)
{
	for (size_t i = 0; machine && i < sizeof(targets) / sizeof(targets[0]); i++)
		if (targets[i].machine == machine)
			return &targets[i];
	return NULL;
}

struct ls_disasm *ls_disasm_open(const char *qemu_target, uint16_t e_machine_fallback, char *err, size_t errlen)
{
	const struct target *t = NULL;
	struct ls_disasm *d;
	char dummy[1];

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = 0;
	if (qemu_target && qemu_target[0])
		t = by_name(qemu_target);
	if (!t)
		t = by_machine(e_machine_fallback);
	if (!t) {
		if (qemu_target && qemu_target[0])
			snprintf(err, errlen, "unknown QEMU target '%s'%s", qemu_target,
				 e_machine_fallback ? " and no disassembler for the guest's ELF machine" : "");
		else if (e_machine_fallback)
			snprintf(err, errlen, "no disassembler for ELF machine %u (no QEMU target name to go by)",
				 e_machine_fallback);
		else
			snprintf(err, errlen, "no QEMU target name and no guest ELF machine to choose a disassembler");
		return NULL;
	}
	if (t->arch == NONE) {
		if (!strcmp(t->name, "armeb"))
			snprintf(err, errlen, "no disassembler for target armeb: its code byte order (BE8 or BE32) "
					      "is not known here");
		else
			snprintf(err, errlen, "no disassembler for target %s in Capstone 4", t->name);
		return NULL;
	}
	if (!cs_support(t->arch)) {
		snprintf(err, errlen, "this Capstone was built without the %s disassembler", t->name);
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cs_err ce = cs_open(t->arch, (cs_mode)t->mode, &d->cs);
	if (ce != CS_ERR_OK) {
		snprintf(err, errlen, "Capstone cannot open %s: %s", t->name, cs_strerror(ce));
		free(d);
		return NULL;
	}
	d->insn = cs_malloc(d->cs);
	if (!d->insn) {
		snprintf(err, errlen, "out of memory");
		cs_close(&d->cs);
		free(d);
		return NULL;
	}
	d->target = t->name;
	d->unit = t->arch == CS_ARCH_ARM64 || t->arch == CS_ARCH_ARM || t->arch == CS_ARCH_MIPS ||
				  t->arch == CS_ARCH_PPC || t->arch == CS_ARCH_SPARC
			  ? 4
			  : 0;
	return d;
}

int ls_disasm_one(struct ls_disasm *d, uint64_t addr, const uint8_t *bytes, size_t len, char *text, size_t textlen)
{
	if (!d || !text || !textlen || (!bytes && len))
		return -EINVAL;
	const uint8_t *code = bytes;
	size_t size = len;
	uint64_t a = addr;
	if (len && cs_disasm_iter(d->cs, &code, &size, &a, d->insn)) {
		if (d->insn->op_str[0])
			snprintf(text, textlen, "%s %s", d->insn->mnemonic, d->insn->op_str);
		else
			snprintf(text, textlen, "%s", d->insn->mnemonic);
		return (int)d->insn->size;
	}
	/* Not decodable (or not by Capstone 4: AArch64 SVE, newer x86 extensions): its bytes. */
	size_t show = d->unit && len > d->unit ? d->unit : len > 8 ? 8 : len;
	size_t o = (size_t)snprintf(text, textlen, len ? ".byte" : "(no bytes)");
	for (size_t i = 0; i < show && o < textlen; i++)
		o += (size_t)snprintf(text + o, textlen - o, "%s0x%02x", i ? ", " : " ", bytes[i]);
	if (len > show && !d->unit && o < textlen)
		snprintf(text + o, textlen - o, ", ...");
	return -1;
}

const char *ls_disasm_target(const struct ls_disasm *d)
{
	return d ? d->target : NULL;
}

void ls_disasm_close(struct ls_disasm *d)
{
	if (!d)
		return;
	cs_free(d->insn, 1);
	cs_close(&d->cs);
	free(d);
}
