/* SPDX-License-Identifier: MIT */
/*
 * disasm.h - one guest instruction at a time, as text (Capstone 4).
 *
 * The bytes come from the plugin's translation log, so all a caller needs is
 * the instruction's bytes and its guest address.  x86 is in Intel syntax
 * ("mov eax, dword ptr [rip + 0x2f0e]"), branch targets absolute.
 */
#ifndef LOCKSTEP_DISASM_H
#define LOCKSTEP_DISASM_H

#include <stddef.h>
#include <stdint.h>

struct ls_disasm;

/*
 * A disassembler for QEMU target qemu_target ("x86_64", "i386", "aarch64",
 * "aarch64_be", "arm", "mips", "mipsel", "mips64", "mips64el", "mipsn32",
 * "mipsn32el", "ppc", "ppc64", "ppc64le", "sparc", "sparc32plus", "sparc64",
 * "s390x", "m68k").  When qemu_target is NULL or "" (or a name this file does
 * not know), the guest ELF's e_machine_fallback (EM_X86_64, EM_AARCH64, ...)
 * decides instead.  NULL with a specific message in err otherwise, e.g.
 * "no disassembler for target riscv64 in Capstone 4".
 */
struct ls_disasm *ls_disasm_open(const char *qemu_target, uint16_t e_machine_fallback, char *err, size_t errlen);

/*
 * Disassemble the instruction at bytes[0..len) (guest address addr) into
 * text: "mnemonic operands".  Returns its length in bytes (<= len), or -1 if
 * the bytes do not decode (or Capstone 4 does not know them: AArch64 SVE,
 * recent x86 extensions), with text ".byte 0x0f, 0xff": the first 8 bytes,
 * ", ..." if there are more; one instruction's 4 on fixed-width ISAs
 * (AArch64, ARM, MIPS, PowerPC, SPARC).  -EINVAL for NULL arguments.
 */
int ls_disasm_one(struct ls_disasm *d, uint64_t addr, const uint8_t *bytes, size_t len, char *text, size_t textlen);

/* The target it disassembles for ("x86_64", ...). */
const char *ls_disasm_target(const struct ls_disasm *d);

void ls_disasm_close(struct ls_disasm *d);

#endif
