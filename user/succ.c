/* SPDX-License-Identifier: MIT */
/* succ.c - a block's possible successors, from its last instruction's text (succ.h). */
#include "succ.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ls_succ_name(enum ls_succ s)
{
	switch (s) {
	case LS_SUCC_YES:
		return "possible";
	case LS_SUCC_NO:
		return "impossible";
	case LS_SUCC_RETURN:
		return "return";
	case LS_SUCC_SYSCALL:
		return "syscall";
	default:
		return "unknown";
	}
}

/* An absolute target: "0x401686" or "#0x401686" (AArch64), the whole operand. */
static bool parse_target(const char *op, uint64_t *v)
{
	char *end;

	while (*op == ' ')
		op++;
	if (*op == '#')
		op++;
	if (strncmp(op, "0x", 2) && !(op[0] >= '0' && op[0] <= '9'))
		return false;
	*v = strtoull(op, &end, 0);
	while (*end == ' ')
		end++;
	return end != op && !*end;
}

/* The last comma-separated operand (AArch64 cbz x0, #0x400700). */
static const char *last_operand(const char *ops)
{
	const char *c = strrchr(ops, ',');

	return c ? c + 1 : ops;
}

static enum ls_succ verdict(uint64_t pc, const uint64_t *t, size_t n, const char *text, char *why, size_t whylen)
{
	size_t k = 0;
	int w;

	for (size_t i = 0; i < n; i++)
		if (pc == t[i]) {
			if (why)
				snprintf(why, whylen, "%s can go to 0x%" PRIx64, text, pc);
			return LS_SUCC_YES;
		}
	if (why) {
		w = snprintf(why, whylen, "%s goes to ", text);
		k = w < 0 ? 0 : (size_t)w;
		for (size_t i = 0; i < n && k < whylen; i++) {
			w = snprintf(why + k, whylen - k, "%s0x%" PRIx64, i ? " or " : "", t[i]);
			k += w < 0 ? 0 : (size_t)w;
		}
		if (k < whylen)
			snprintf(why + k, whylen - k, " only");
	}
	return LS_SUCC_NO;
}

static enum ls_succ unknown(const char *text, const char *what, char *why, size_t whylen)
{
	if (why)
		snprintf(why, whylen, "%s %s", text, what);
	return LS_SUCC_UNKNOWN;
}

static enum ls_succ x86(const char *text, uint64_t addr, unsigned len, uint64_t pc, char *why, size_t whylen)
{
	const char *p = text;
	uint64_t t[2], next = addr + len;
	char m[16];
	size_t n;
	bool rep = false;

	/* Prefixes that do not change where it goes (rep: QEMU runs one iteration a block, then itself again). */
	for (;;) {
		static const char *const pre[] = { "bnd ", "notrack ", "lock ", "rep ", "repe ", "repz ", "repne ", "repnz " };
		size_t i;

		for (i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
			if (!strncmp(p, pre[i], strlen(pre[i])))
				break;
		if (i == sizeof(pre) / sizeof(pre[0]))
			break;
		rep |= pre[i][0] == 'r';
		p += strlen(pre[i]);
	}
	n = strcspn(p, " ");
	if (n >= sizeof(m))
		return unknown(text, "is not understood", why, whylen);
	memcpy(m, p, n);
	m[n] = '\0';
	const char *ops = p + n;

	if (rep) {
		t[0] = addr;
		t[1] = next;
		return verdict(pc, t, 2, text, why, whylen);
	}
	if (!strncmp(m, "ret", 3) || !strncmp(m, "iret", 4) || !strncmp(m, "sysret", 6) || !strncmp(m, "sysexit", 7)) {
		if (why)
			snprintf(why, whylen, "%s returns to an address from the stack", text);
		return LS_SUCC_RETURN;
	}
	if (!strcmp(m, "syscall") || !strcmp(m, "sysenter") || (!strcmp(m, "int") && strstr(ops, "0x80"))) {
		if (why)
			snprintf(why, whylen, "%s returns to 0x%" PRIx64 " unless the syscall moves the pc", text, next);
		return LS_SUCC_SYSCALL;
	}
	/* Traps: the next block is a (synchronous) signal handler, or the guest ends. */
	if (!strcmp(m, "int") || !strcmp(m, "int3") || !strcmp(m, "int1") || !strcmp(m, "into") || !strcmp(m, "ud2") ||
	    !strcmp(m, "ud0") || !strcmp(m, "ud1") || !strcmp(m, "hlt"))
		return unknown(text, "traps", why, whylen);
	if (!strncmp(m, ".byte", 5))
		return unknown(text, "does not decode", why, whylen);
	bool jmp = !strcmp(m, "jmp") || !strcmp(m, "ljmp"), call = !strcmp(m, "call") || !strcmp(m, "lcall");
	bool jcc = !jmp && (m[0] == 'j' || !strncmp(m, "loop", 4));
	if (jmp || call || jcc) {
		if (!parse_target(ops, &t[0]))
			return unknown(text, "is indirect: any target is possible", why, whylen);
		t[1] = next;
		return verdict(pc, t, jcc ? 2 : 1, text, why, whylen);
	}
	/* Any other instruction: where QEMU cut the block, the next one starts right after it. */
	t[0] = next;
	return verdict(pc, t, 1, text, why, whylen);
}

static enum ls_succ a64(const char *text, uint64_t addr, unsigned len, uint64_t pc, char *why, size_t whylen)
{
	uint64_t t[2], next = addr + len;
	char m[16];
	size_t n = strcspn(text, " ");
	const char *ops = text + n;

	if (n >= sizeof(m))
		return unknown(text, "is not understood", why, whylen);
	memcpy(m, text, n);
	m[n] = '\0';
	if (!strcmp(m, "ret") || !strncmp(m, "reta", 4) || !strcmp(m, "eret")) {
		if (why)
			snprintf(why, whylen, "%s returns to an address from a register", text);
		return LS_SUCC_RETURN;
	}
	if (!strcmp(m, "svc")) {
		if (why)
			snprintf(why, whylen, "%s returns to 0x%" PRIx64 " unless the syscall moves the pc", text, next);
		return LS_SUCC_SYSCALL;
	}
	if (!strcmp(m, "br") || !strcmp(m, "blr") || !strncmp(m, "bra", 3) || !strncmp(m, "blra", 4))
		return unknown(text, "is indirect: any target is possible", why, whylen);
	if (!strcmp(m, "brk") || !strcmp(m, "udf") || !strcmp(m, "hlt") || !strncmp(m, ".byte", 5))
		return unknown(text, "traps", why, whylen);
	bool b = !strcmp(m, "b") || !strcmp(m, "bl");
	bool cond = !strncmp(m, "b.", 2) || !strcmp(m, "cbz") || !strcmp(m, "cbnz") || !strcmp(m, "tbz") ||
		    !strcmp(m, "tbnz");
	if (b || cond) {
		if (!parse_target(last_operand(ops), &t[0]))
			return unknown(text, "has a target this does not read", why, whylen);
		t[1] = next;
		return verdict(pc, t, cond ? 2 : 1, text, why, whylen);
	}
	t[0] = next;
	return verdict(pc, t, 1, text, why, whylen);
}

enum ls_succ ls_successor(const char *target, const char *text, uint64_t addr, unsigned len, uint64_t pc, char *why,
			  size_t whylen)
{
	if (why && whylen)
		why[0] = '\0';
	if (!target || !text || !text[0] || !len)
		return unknown(text ? text : "(no instruction)", "is not known", why, whylen);
	if (!strcmp(target, "x86_64") || !strcmp(target, "i386"))
		return x86(text, addr, len, pc, why, whylen);
	if (!strcmp(target, "aarch64") || !strcmp(target, "aarch64_be"))
		return a64(text, addr, len, pc, why, whylen);
	return unknown(text, "is on a target whose branches this does not read", why, whylen);
}
