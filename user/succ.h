/* SPDX-License-Identifier: MIT */
/*
 * succ.h - could control have gone from one block to another?
 *
 * A guest block ends in a branch, a call, a return, a syscall, or an
 * ordinary instruction where QEMU cut it; what runs next follows from that
 * last instruction: its fall-through, its direct target, or (indirect jump,
 * return) almost anything.  A next block that none of these allows was not
 * reached by the guest's own control flow: something interrupted it -- in
 * linux-user, the delivery of a signal (the kernel, here QEMU, enters the
 * handler without a branch), which is how the cause analysis recognises an
 * asynchronous signal.  Works on the disassembler's text (disasm.h:
 * Capstone, Intel syntax, absolute targets) so it needs no second decoder;
 * x86 (x86_64, i386) and AArch64 are understood, other targets answer
 * "cannot tell".
 */
#ifndef LOCKSTEP_SUCC_H
#define LOCKSTEP_SUCC_H

#include <stddef.h>
#include <stdint.h>

enum ls_succ {
	LS_SUCC_UNKNOWN = 0, /* cannot tell: indirect jump or call, unknown target or instruction text */
	LS_SUCC_YES, /* pc is one of the instruction's successors */
	LS_SUCC_NO, /* pc is none of them: control was transferred from outside (a signal, or a fault) */
	LS_SUCC_RETURN, /* a return: any return address is possible (never a function's first instruction) */
	LS_SUCC_SYSCALL, /* a syscall: the fall-through, unless the syscall itself moves the pc (rt_sigreturn, execve) */
};

/*
 * Is pc a possible successor of the instruction `text` (as ls_disasm_one
 * writes it) at addr, len bytes long, that ended a block on QEMU target
 * `target` ("x86_64", "i386", "aarch64")?  For LS_SUCC_SYSCALL the caller
 * decides, knowing which syscall it was: pc == addr + len is the normal
 * case.  why (may be NULL) gets a short explanation ("jne 0x401686 goes to
 * 0x401686 or 0x401699").
 */
enum ls_succ ls_successor(const char *target, const char *text, uint64_t addr, unsigned len, uint64_t pc, char *why,
			  size_t whylen);

/* "possible", "impossible", "unknown", "return", "syscall". */
const char *ls_succ_name(enum ls_succ s);

#endif
