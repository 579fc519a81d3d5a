/* test_succ.c - a block's possible successors from its last instruction's text. */
#include <criterion/criterion.h>
#include <string.h>

#include "succ.h"

static char why[200];

static enum ls_succ x(const char *text, uint64_t addr, unsigned len, uint64_t pc)
{
	return ls_successor("x86_64", text, addr, len, pc, why, sizeof(why));
}

Test(succ, conditional_branch_goes_to_its_target_or_falls_through)
{
	/* The signals guest: step's loop, then the SIGALRM handler instead of either. */
	cr_assert_eq(x("jne 0x401686", 0x401697, 2, 0x401686), LS_SUCC_YES);
	cr_assert_eq(x("jne 0x401686", 0x401697, 2, 0x401699), LS_SUCC_YES);
	cr_assert_eq(x("jne 0x401686", 0x401697, 2, 0x401643), LS_SUCC_NO);
	cr_assert_str_eq(why, "jne 0x401686 goes to 0x401686 or 0x401699 only");
	cr_assert_eq(x("je 0x40000096cb", 0x400000969c, 2, 0x400000969e), LS_SUCC_YES);
	cr_assert_eq(x("jrcxz 0x401000", 0x401100, 2, 0x401102), LS_SUCC_YES);
	cr_assert_eq(x("loop 0x401000", 0x401100, 2, 0x401000), LS_SUCC_YES);
	cr_assert_eq(x("bnd jne 0x401000", 0x401100, 3, 0x401103), LS_SUCC_YES);
}

Test(succ, direct_jump_and_call_go_to_their_target_only)
{
	cr_assert_eq(x("jmp 0x401000", 0x401100, 5, 0x401000), LS_SUCC_YES);
	cr_assert_eq(x("jmp 0x401000", 0x401100, 5, 0x401105), LS_SUCC_NO, "no fall-through after jmp");
	cr_assert_eq(x("call 0x401615", 0x401643, 5, 0x401615), LS_SUCC_YES);
	cr_assert_eq(x("call 0x401615", 0x401643, 5, 0x401648), LS_SUCC_NO);
}

Test(succ, indirect_targets_cannot_tell)
{
	cr_assert_eq(x("jmp rax", 0x401100, 2, 0x123456), LS_SUCC_UNKNOWN);
	cr_assert(strstr(why, "indirect"), "%s", why);
	cr_assert_eq(x("call qword ptr [rip + 0x2fe2]", 0x401100, 6, 0x123456), LS_SUCC_UNKNOWN);
	cr_assert_eq(x("notrack jmp rdx", 0x401100, 3, 0x123456), LS_SUCC_UNKNOWN);
	cr_assert_eq(x("ret", 0x401100, 1, 0x123456), LS_SUCC_RETURN);
	cr_assert_eq(x("ret 8", 0x401100, 3, 0x123456), LS_SUCC_RETURN);
	cr_assert_eq(x("ud2", 0x401100, 2, 0x123456), LS_SUCC_UNKNOWN, "a trap: its handler is next");
	cr_assert_eq(x(".byte 0x06", 0x401100, 1, 0x401101), LS_SUCC_UNKNOWN);
}

Test(succ, syscall_is_for_the_caller_to_judge)
{
	cr_assert_eq(x("syscall", 0x401100, 2, 0x401102), LS_SUCC_SYSCALL);
	cr_assert_eq(ls_successor("i386", "int 0x80", 0x8048000, 2, 0x8048002, why, sizeof(why)), LS_SUCC_SYSCALL);
}

Test(succ, a_block_cut_at_an_ordinary_instruction_falls_through)
{
	/* QEMU ends blocks at page ends, size limits and some instructions: the next starts right after. */
	cr_assert_eq(x("xor rax, rsi", 0x401686, 3, 0x401689), LS_SUCC_YES);
	cr_assert_eq(x("xor rax, rsi", 0x401686, 3, 0x401643), LS_SUCC_NO);
	/* rep: one iteration a block, then the same instruction again or the next. */
	cr_assert_eq(x("rep movsb byte ptr [rdi], byte ptr [rsi]", 0x401000, 2, 0x401000), LS_SUCC_YES);
	cr_assert_eq(x("rep movsb byte ptr [rdi], byte ptr [rsi]", 0x401000, 2, 0x401002), LS_SUCC_YES);
	cr_assert_eq(x("rep movsb byte ptr [rdi], byte ptr [rsi]", 0x401000, 2, 0x402000), LS_SUCC_NO);
}

Test(succ, aarch64)
{
	const char *t = "aarch64";

	cr_assert_eq(ls_successor(t, "cbz x0, #0x400700", 0x4006d4, 4, 0x400700, why, sizeof(why)), LS_SUCC_YES);
	cr_assert_eq(ls_successor(t, "cbz x0, #0x400700", 0x4006d4, 4, 0x4006d8, why, sizeof(why)), LS_SUCC_YES);
	cr_assert_eq(ls_successor(t, "cbz x0, #0x400700", 0x4006d4, 4, 0x400800, why, sizeof(why)), LS_SUCC_NO);
	cr_assert_eq(ls_successor(t, "tbnz w1, #3, #0x400700", 0x4006d4, 4, 0x400700, why, sizeof(why)), LS_SUCC_YES);
	cr_assert_eq(ls_successor(t, "b.ne #0x400700", 0x4006d4, 4, 0x400800, why, sizeof(why)), LS_SUCC_NO);
	cr_assert_eq(ls_successor(t, "bl #0x400700", 0x4006d4, 4, 0x4006d8, why, sizeof(why)), LS_SUCC_NO);
	cr_assert_eq(ls_successor(t, "br x16", 0x4006d4, 4, 0x4006d8, why, sizeof(why)), LS_SUCC_UNKNOWN);
	cr_assert_eq(ls_successor(t, "ret", 0x4006d4, 4, 0x4006d8, why, sizeof(why)), LS_SUCC_RETURN);
	cr_assert_eq(ls_successor(t, "svc #0", 0x4006e0, 4, 0x4006e4, why, sizeof(why)), LS_SUCC_SYSCALL);
	cr_assert_eq(ls_successor(t, "ldr x1, [x3, #0x68]", 0x4006e0, 4, 0x4006e4, why, sizeof(why)), LS_SUCC_YES);
}

Test(succ, unknown_targets_and_missing_text_cannot_tell)
{
	cr_assert_eq(ls_successor("riscv64", "beq a0, a1, 0x1000", 0x100, 4, 0x104, why, sizeof(why)), LS_SUCC_UNKNOWN);
	cr_assert_eq(ls_successor(NULL, "jne 0x401686", 0x401697, 2, 0x401643, why, sizeof(why)), LS_SUCC_UNKNOWN);
	cr_assert_eq(ls_successor("x86_64", NULL, 0x401697, 2, 0x401643, why, sizeof(why)), LS_SUCC_UNKNOWN);
	cr_assert_eq(ls_successor("x86_64", "jne 0x401686", 0x401697, 0, 0x401643, NULL, 0), LS_SUCC_UNKNOWN);
	cr_assert_str_eq(ls_succ_name(LS_SUCC_NO), "impossible");
}
