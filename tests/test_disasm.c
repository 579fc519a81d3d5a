/* test_disasm.c - guest instructions as text: known encodings per target, undecodable bytes, target choice and its errors. */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "disasm.h"

static struct ls_disasm *d;
static char err[256], text[160];

static void fini(void)
{
	ls_disasm_close(d);
	d = NULL;
}

TestSuite(disasm, .fini = fini);

static void open_ok(const char *target, uint16_t machine, const char *want_target)
{
	d = ls_disasm_open(target, machine, err, sizeof(err));
	cr_assert_not_null(d, "open %s/%u: %s", target ? target : "(null)", machine, err);
	cr_assert_str_eq(ls_disasm_target(d), want_target);
}

/* Disassemble `n` bytes at addr: the instruction takes want_len of them and reads want. */
static void one(uint64_t addr, const char *bytes, size_t n, int want_len, const char *want)
{
	int rc = ls_disasm_one(d, addr, (const uint8_t *)bytes, n, text, sizeof(text));

	cr_assert_eq(rc, want_len, "%s at %#llx: length %d, want %d ('%s')", ls_disasm_target(d),
		     (unsigned long long)addr, rc, want_len, text);
	cr_assert_str_eq(text, want);
}

static void open_fails(const char *target, uint16_t machine, const char *want_err)
{
	strcpy(err, "unchanged");
	cr_assert_null(ls_disasm_open(target, machine, err, sizeof(err)));
	cr_assert_str_eq(err, want_err);
}

Test(disasm, x86_64)
{
	open_ok("x86_64", 0, "x86_64");
	one(0x401000, "\x8b\x05\x0e\x2f\x00\x00", 6, 6, "mov eax, dword ptr [rip + 0x2f0e]");
	one(0x401000, "\x48\x85\xff", 3, 3, "test rdi, rdi");
	one(0x401000, "\x0f\x05", 2, 2, "syscall");
	one(0x401000, "\xc3", 1, 1, "ret");
	/* relative branches read as absolute targets, from the address given */
	one(0x400000969cull, "\x74\x2d", 2, 2, "je 0x40000096cb");
	one(0x401000, "\xe8\xfb\x0f\x00\x00", 5, 5, "call 0x402000");
}

Test(disasm, x86_64_only_the_first_instruction)
{
	open_ok("x86_64", 0, "x86_64");
	one(0x401000, "\x48\x85\xff\xc3\x90", 5, 3, "test rdi, rdi");
}

Test(disasm, x86_64_undecodable)
{
	open_ok("x86_64", 0, "x86_64");
	one(0x401000, "\x06", 1, -1, ".byte 0x06"); /* push es: not in 64-bit mode */
	one(0x401000, "\x8b\x05\x0e", 3, -1, ".byte 0x8b, 0x05, 0x0e"); /* cut short */
	one(0x401000, "\x06\x06\x06\x06\x06\x06\x06\x06\x06\x06", 10, -1,
	    ".byte 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, ...");
	one(0x401000, "", 0, -1, "(no bytes)");
}

Test(disasm, i386)
{
	open_ok("i386", 0, "i386");
	one(0x8048000, "\x8b\x45\x08", 3, 3, "mov eax, dword ptr [ebp + 8]");
	one(0x8048000, "\x06", 1, 1, "push es");
}

Test(disasm, aarch64)
{
	open_ok("aarch64", 0, "aarch64");
	one(0x4006d4, "\x60\x01\x00\xb4", 4, 4, "cbz x0, #0x400700");
	one(0x4006d8, "\x02\x00\x80\xd2", 4, 4, "movz x2, #0");
	one(0x4006e0, "\x61\x34\x40\xf9", 4, 4, "ldr x1, [x3, #0x68]");
	one(0x4006e0, "\x01\x00\x00\xd4", 4, 4, "svc #0");
	one(0x4006e0, "\xc0\x03\x5f\xd6", 4, 4, "ret");
	one(0x4006e0, "\x00\x00\x00\x00", 4, -1, ".byte 0x00, 0x00, 0x00, 0x00");
	one(0x4006e0, "\xc0\x03", 2, -1, ".byte 0xc0, 0x03");
	/* SVE (ptrue p0.b): newer than Capstone 4; one 4-byte word shown, not what follows */
	one(0x41cf54, "\xe0\x1f\x22\x25\xe6\xe3\x20\x04", 8, -1, ".byte 0xe0, 0x1f, 0x22, 0x25");
}

Test(disasm, aarch64_be_code_is_little_endian)
{
	open_ok("aarch64_be", 0, "aarch64_be");
	one(0x4006e0, "\xc0\x03\x5f\xd6", 4, 4, "ret");
}

Test(disasm, arm)
{
	open_ok("arm", 0, "arm");
	one(0x10000, "\x1e\xff\x2f\xe1", 4, 4, "bx lr");
	one(0x10000, "\x01\x00\xa0\xe3", 4, 4, "mov r0, #1");
}

Test(disasm, other_capstone_targets)
{
	open_ok("ppc64le", 0, "ppc64le");
	one(0x1000, "\x20\x00\x80\x4e", 4, 4, "blr");
	fini();
	open_ok("s390x", 0, "s390x");
	one(0x1000, "\x07\xfe", 2, 2, "br %r14");
	fini();
	open_ok("mips", 0, "mips");
	one(0x1000, "\x03\xe0\x00\x08", 4, 4, "jr $ra");
}

Test(disasm, elf_machine_when_no_target_name)
{
	open_ok(NULL, EM_AARCH64, "aarch64");
	fini();
	open_ok("", EM_X86_64, "x86_64");
	fini();
	open_ok("", EM_386, "i386");
	fini();
	/* a name this file does not know: the ELF machine decides */
	open_ok("x86_64-new", EM_X86_64, "x86_64");
	fini();
	/* a known name wins over the machine */
	open_ok("aarch64", EM_X86_64, "aarch64");
}

Test(disasm, errors)
{
	open_fails("riscv64", 0, "no disassembler for target riscv64 in Capstone 4");
	open_fails("riscv64", EM_X86_64, "no disassembler for target riscv64 in Capstone 4");
	open_fails("loongarch64", 0, "no disassembler for target loongarch64 in Capstone 4");
	open_fails(NULL, EM_RISCV, "no disassembler for target riscv64 in Capstone 4");
	open_fails("armeb", 0, "no disassembler for target armeb: its code byte order (BE8 or BE32) is not known here");
	open_fails("vax", 0, "unknown QEMU target 'vax'");
	open_fails("vax", 9999, "unknown QEMU target 'vax' and no disassembler for the guest's ELF machine");
	open_fails(NULL, 9999, "no disassembler for ELF machine 9999 (no QEMU target name to go by)");
	open_fails("", 0, "no QEMU target name and no guest ELF machine to choose a disassembler");
	/* no error buffer: still a clean NULL */
	cr_assert_null(ls_disasm_open("riscv64", 0, NULL, 0));
}

Test(disasm, bad_arguments)
{
	open_ok("x86_64", 0, "x86_64");
	cr_assert_eq(ls_disasm_one(NULL, 0, (const uint8_t *)"\xc3", 1, text, sizeof(text)), -EINVAL);
	cr_assert_eq(ls_disasm_one(d, 0, NULL, 1, text, sizeof(text)), -EINVAL);
	cr_assert_eq(ls_disasm_one(d, 0, (const uint8_t *)"\xc3", 1, NULL, 0), -EINVAL);
	/* a short text buffer is cut, not overrun */
	char small[8];
	cr_assert_eq(ls_disasm_one(d, 0, (const uint8_t *)"\x8b\x05\x0e\x2f\x00\x00", 6, small, sizeof(small)), 6);
	cr_assert_str_eq(small, "mov eax");
	cr_assert_eq(ls_disasm_one(d, 0, (const uint8_t *)"\x06\x06\x06", 3, small, sizeof(small)), -1);
	cr_assert_str_eq(small, ".byte 0");
	cr_assert_null(ls_disasm_target(NULL));
	ls_disasm_close(NULL);
}
