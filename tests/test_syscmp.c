/* test_syscmp.c - divergence causes from two syscall logs, and the side-by-side syscall table. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "lockstep_wire.h"
#include "syscmp.h"

/* x86_64 syscall numbers. */
#define NR_READ 0
#define NR_WRITE 1
#define NR_BRK 12
#define NR_GETPID 39
#define NR_GETTIMEOFDAY 96
#define NR_CLOCK_GETTIME 228
#define NR_OPENAT 257

#define MAXREC 64

static struct ls_sys_rec ra[MAXREC], rb[MAXREC];
static struct ls_sys_log logs[2];
static struct ls_syscmp r;
static char text[8192];

static void setup(void)
{
	memset(ra, 0, sizeof(ra));
	memset(rb, 0, sizeof(rb));
	memset(&r, 0, sizeof(r));
	logs[0] = (struct ls_sys_log){ .recs = ra, .enabled = true };
	logs[1] = (struct ls_sys_log){ .recs = rb, .enabled = true };
}

TestSuite(syscmp, .init = setup);

static void put_le64(uint8_t *p, int64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)((uint64_t)v >> (8 * i));
}

/* Append a returned syscall to both logs, identical; returns its log index. */
static size_t both(uint64_t seq, int64_t num, uint64_t a0, uint64_t a1, uint64_t a2, int64_t ret)
{
	size_t i = logs[0].n;
	struct ls_sys_rec x = { .seq = seq, .num = num, .args = { a0, a1, a2, 0xdead0003, 0xdead0004, 0xdead0005 },
				.ret = ret, .state = LS_SYS_RETURNED };

	cr_assert_eq(logs[0].n, logs[1].n);
	cr_assert_lt(i, MAXREC);
	ra[i] = rb[i] = x;
	logs[0].n++;
	logs[1].n++;
	return i;
}

static void set_out(struct ls_sys_rec *x, const void *data, uint32_t len, uint64_t hash)
{
	x->out_len = len;
	x->out_hash = hash;
	memcpy(x->out_head, data, len < sizeof(x->out_head) ? len : sizeof(x->out_head));
}

static void timespec_out(struct ls_sys_rec *x, int64_t sec, int64_t nsec)
{
	uint8_t ts[16];

	put_le64(ts, sec);
	put_le64(ts + 8, nsec);
	set_out(x, ts, 16, (uint64_t)sec * 1000000007u + (uint64_t)nsec);
}

static const char *table(unsigned last)
{
	size_t n = ls_syscmp_table(&r, last, text, sizeof(text));

	cr_assert_lt(n, sizeof(text));
	cr_assert_eq(strlen(text), n);
	/* 100 columns at most, every line. */
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');

		cr_assert_not_null(nl, "every line ends with a newline");
		cr_assert_leq(nl - p, 100, "line longer than 100 columns: %.*s", (int)(nl - p), p);
		p = nl + 1;
	}
	return text;
}

/* The line of the table that contains `needle`. */
static const char *line_with(const char *t, const char *needle, char *buf, size_t size)
{
	const char *p = strstr(t, needle);

	cr_assert_not_null(p, "no line with \"%s\" in:\n%s", needle, t);
	while (p > t && p[-1] != '\n')
		p--;
	const char *nl = strchr(p, '\n');
	snprintf(buf, size, "%.*s", (int)(nl - p), p);
	return buf;
}

static void typical_prefix(void)
{
	both(3, NR_BRK, 0, 0, 0, 0x4c9000);
	both(7, NR_OPENAT, (uint64_t)-100, 0x498f10, 0x80000, 3);
	both(12, NR_READ, 3, 0x7ffe0000, 4096, 17);
	set_out(&ra[2], "hello, world 1234", 17, 0x1111);
	set_out(&rb[2], "hello, world 1234", 17, 0x1111);
}

Test(syscmp, clock_gettime_returned_different_timespecs)
{
	typical_prefix();
	size_t k = both(50, NR_CLOCK_GETTIME, 1, 0x7ffe1230, 0, 0);
	timespec_out(&ra[k], 1712345678, 100);
	timespec_out(&rb[k], 1712345678, 200);
	both(80, NR_WRITE, 1, 0x4ca2a0, 12, 12);
	ra[4].args[2] = 13; /* after the culprit, asked for something else: a consequence, no candidate */
	ra[4].ret = 13;

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 100), LS_CAUSE_INPUTS);
	cr_assert(r.have_culprit);
	cr_assert_eq(r.culprit, 3);
	cr_assert_eq(r.culprit_diff, LS_SYSDIFF_OUT);
	cr_assert_str_eq(r.headline, "inputs differed: clock_gettime #3 at block 50 returned different data");
	cr_assert_str_eq(r.detail, "data written: A 16 bytes 1712345678.000000100, B 16 bytes 1712345678.000000200");
	cr_assert_str_eq(r.coverage, "1 later pair returned differently after being made with different arguments: "
				     "consequences, not counted as inputs");
	cr_assert_eq(r.ncand, 1);
	cr_assert_str_eq(r.candidates, "", "one candidate: the headline and detail say it all");
	/* One candidate still leaves what no log records (rdtsc, AT_RANDOM) as another: say so. */
	cr_assert(r.caveat && strstr(r.caveat, "rdtsc"), "%s", r.caveat ? r.caveat : "(none)");
	cr_assert_not(r.have_args);

	struct ls_syscmp_fields f;
	ls_syscmp_fields(&r, &f);
	cr_assert_str_eq(f.cause, "inputs_differed");
	cr_assert(f.have_syscall);
	cr_assert_str_eq(f.syscall, "clock_gettime");
	cr_assert_eq(f.num, NR_CLOCK_GETTIME);
	cr_assert_eq(f.index, 3);
	cr_assert_eq(f.seq, 50);
	cr_assert_eq(f.a_ret, 0);
	cr_assert_eq(f.b_ret, 0);
	cr_assert_str_eq(f.a_state, "returned");
	cr_assert_eq(f.a_out_len, 16);
	cr_assert_str_eq(f.a_out_hex, "4e521066000000006400000000000000");
	cr_assert_str_eq(f.b_out_hex, "4e52106600000000c800000000000000");

	const char *t = table(16);
	char l[128];
	cr_assert_str_eq(line_with(t, "#3 ", l, sizeof(l)),
			 "> #3       50     clock_gettime(1, 0x7ffe1230) = 0        | clock_gettime(1, 0x7ffe1230) = 0");
	cr_assert_str_eq(line_with(t, "-> ", l, sizeof(l)),
			 "                  -> 16 bytes 1712345678.000000100        | -> 16 bytes 1712345678.000000200");
	cr_assert_eq(line_with(t, "write(", l, sizeof(l))[0], '!', "a later difference is shown, not the culprit");
	cr_assert_not_null(strstr(t, "  openat(-100, 0x498f10, 0x80000, 0xde... | openat("), "%s", t);
}

Test(syscmp, getpid_returned_different_pids)
{
	typical_prefix();
	size_t k = both(20, NR_GETPID, 0, 0, 0, 4242);
	rb[k].ret = 4243;
	rb[k].args[0] = 0x55; /* getpid has no arguments: leftovers in the registers are not compared */

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 30), LS_CAUSE_INPUTS);
	cr_assert_eq(r.culprit, 3);
	cr_assert_eq(r.culprit_diff, LS_SYSDIFF_RET);
	cr_assert_str_eq(r.headline, "inputs differed: getpid #3 at block 20 returned different values");
	cr_assert_str_eq(r.detail, "return value: A 4242, B 4243");

	char l[128];
	cr_assert_str_eq(line_with(table(2), "getpid", l, sizeof(l)),
			 "> #3       20     getpid() = 4242                         | getpid() = 4243");
}

Test(syscmp, identical_syscalls_mean_same_inputs)
{
	typical_prefix();
	size_t k = both(50, NR_CLOCK_GETTIME, 1, 0x7ffe1230, 0, 0);
	timespec_out(&ra[k], 5, 6);
	timespec_out(&rb[k], 5, 6);

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 51), LS_CAUSE_SAME_INPUTS);
	cr_assert_str_eq(r.headline, "same inputs, different execution: suspect code generation");
	cr_assert_not(r.have_culprit);
	cr_assert_not(r.have_args);
	cr_assert_str_eq(r.coverage, "");
	cr_assert_eq(r.from, 0);
	cr_assert_eq(r.to, 4);
	cr_assert_not_null(r.caveat);
	cr_assert_not_null(strstr(r.caveat, "rdtsc"));
	cr_assert_not_null(strstr(r.caveat, "AT_RANDOM"));
	cr_assert_not_null(strstr(r.caveat, "signals"));

	struct ls_syscmp_fields f;
	ls_syscmp_fields(&r, &f);
	cr_assert_str_eq(f.cause, "same_inputs");
	cr_assert_not(f.have_syscall);
	cr_assert_null(strstr(table(16), "\n>"));
	cr_assert_null(strstr(text, "\n!"));
}

Test(syscmp, differing_arguments_only)
{
	typical_prefix();
	size_t k = both(30, NR_WRITE, 1, 0x7ffe0010, 5, 5);
	rb[k].args[1] = 0x7ffe0020;
	both(40, NR_WRITE, 1, 0x7ffe0010, 5, 5);

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 60), LS_CAUSE_SAME_INPUTS);
	cr_assert(r.have_args);
	cr_assert_eq(r.args_index, 3);
	cr_assert_eq(r.args_mask, 1u << 1);
	cr_assert_str_eq(r.args_note, "arguments differed first at write #3 (block 30): argument 2 A 0x7ffe0010, "
				      "B 0x7ffe0020, with the same results: the data had diverged before control "
				      "flow did");
	char l[128];
	cr_assert_eq(line_with(table(16), "#3 ", l, sizeof(l))[0], '!');
	cr_assert_eq(line_with(text, "#4 ", l, sizeof(l))[0], ' ');
}

Test(syscmp, differing_arguments_before_the_culprit)
{
	typical_prefix();
	size_t k = both(30, NR_READ, 0, 0x7ffe0000, 64, 10);
	rb[k].args[2] = 32;
	k = both(35, NR_GETPID, 0, 0, 0, 77);
	rb[k].ret = 78;

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 60), LS_CAUSE_INPUTS);
	cr_assert_eq(r.culprit, 4);
	cr_assert(r.have_args);
	cr_assert_eq(r.args_index, 3);
	cr_assert_not_null(strstr(r.args_note, "argument 3 A 64, B 32"), "%s", r.args_note);
}

Test(syscmp, culprit_with_its_own_arguments_differing)
{
	typical_prefix();
	size_t k = both(30, NR_READ, 0, 0x7ffe0000, 64, 10);
	rb[k].args[2] = 32;
	rb[k].ret = -11;

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 60), LS_CAUSE_INPUTS);
	cr_assert_eq(r.culprit_diff, LS_SYSDIFF_RET | LS_SYSDIFF_ARGS);
	cr_assert_not(r.have_args, "the culprit is not an arguments-only pair");
	cr_assert_str_eq(r.detail,
			 "return value: A 10, B -EAGAIN; its arguments differed too: the data had diverged already");
}

Test(syscmp, ring_wrapped_on_one_side)
{
	/* B's log lost its first 4 syscalls; one of them differed, but that cannot be seen any more. */
	for (int i = 0; i < 10; i++)
		both(10 + 10 * (uint64_t)i, NR_GETPID, 0, 0, 0, 100);
	ra[2].ret = 101;
	logs[1].recs = rb + 4;
	logs[1].n = 6;
	logs[1].first_index = 4;

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 1000), LS_CAUSE_SAME_INPUTS);
	cr_assert_eq(r.from, 4);
	cr_assert_eq(r.to, 10);
	cr_assert_eq(r.lost, 4);
	cr_assert_str_eq(r.coverage, "syscall history incomplete: the first 4 syscalls are no longer in B's log "
				     "(the ring wrapped), so only the recorded ones are classified");

	const char *t = table(8);
	char l[128];
	cr_assert_str_eq(line_with(t, "#2 ", l, sizeof(l)),
			 "  #2       30     getpid() = 101                          | (overwritten)");
	cr_assert_str_eq(line_with(t, "#9 ", l, sizeof(l)),
			 "  #9       100    getpid() = 100                          | getpid() = 100");
	cr_assert_null(strstr(t, "#1 "), "8 rows: #2..#9");
}

Test(syscmp, ring_wrapped_on_both_sides_with_a_culprit)
{
	for (int i = 0; i < 10; i++)
		both(10 + (uint64_t)i, NR_GETPID, 0, 0, 0, 100);
	rb[7].ret = 5;
	logs[0].recs = ra + 3, logs[0].n = 7, logs[0].first_index = 3;
	logs[1].recs = rb + 5, logs[1].n = 5, logs[1].first_index = 5;

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 1000), LS_CAUSE_INPUTS);
	cr_assert_eq(r.culprit, 7);
	cr_assert_eq(r.lost, 5);
	cr_assert_not_null(strstr(r.coverage, "first 5 syscalls are no longer in B's log"), "%s", r.coverage);
}

Test(syscmp, nothing_before_the_divergence_left)
{
	for (int i = 0; i < 4; i++)
		both(500 + (uint64_t)i, NR_GETPID, 0, 0, 0, 100);
	logs[0].first_index = logs[1].first_index = 1000; /* 1000 syscalls overwritten, the rest after block 100 */

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 100), LS_CAUSE_UNKNOWN);
	cr_assert_str_eq(r.headline,
			 "cause unknown: no syscall before the divergence is left in both logs (1000 lost: the ring wrapped)");
	cr_assert_not_null(strstr(r.coverage, "A's and B's logs"));
}

Test(syscmp, empty_logs)
{
	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 100), LS_CAUSE_SAME_INPUTS,
		     "logging on, no syscall yet: nothing came in from outside");
	cr_assert_str_eq(r.coverage, "no syscall was made before the divergence");
	cr_assert_str_eq(table(16), "  (no syscall before the divergence in either log)\n");
}

Test(syscmp, logging_off)
{
	logs[1].enabled = false;
	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 100), LS_CAUSE_UNKNOWN);
	cr_assert_str_eq(r.headline, "cause unknown: syscalls are not logged on B (system emulation, or the plugin's "
				     "syscall log is off)");
	logs[0].enabled = false;
	ls_syscmp_classify(&r, LS_ARCH_UNKNOWN, logs, 100);
	cr_assert_not_null(strstr(r.headline, "on either side"));

	struct ls_syscmp_fields f;
	ls_syscmp_fields(&r, &f);
	cr_assert_str_eq(f.cause, "unknown");
	cr_assert_not(f.have_syscall);
	cr_assert_str_eq(table(16), "  (no syscall log on either side)\n");
}

Test(syscmp, entered_on_both_sides)
{
	/* The last syscall before the divergence had not returned when the logs were copied, on either side. */
	typical_prefix();
	size_t k = both(99, NR_READ, 0, 0x7ffe0000, 64, 0);
	ra[k].state = rb[k].state = LS_SYS_ENTERED;
	ra[k].ret = 1; /* garbage: not looked at */

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 100), LS_CAUSE_SAME_INPUTS);
	cr_assert_eq(r.pending, 1);
	cr_assert_str_eq(r.coverage, "1 syscall had not returned on either side: only the arguments compared");

	char l[128];
	cr_assert_str_eq(line_with(table(16), "#3 ", l, sizeof(l)),
			 "  #3       99     read(0, 0x7ffe0000, 64) = ?             | read(0, 0x7ffe0000, 64) = ?");
}

Test(syscmp, entered_on_one_side)
{
	typical_prefix();
	size_t k = both(99, NR_READ, 0, 0x7ffe0000, 64, 0);
	ra[k].state = LS_SYS_ENTERED;

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 100), LS_CAUSE_INPUTS);
	cr_assert_eq(r.culprit_diff, LS_SYSDIFF_STATE);
	cr_assert_str_eq(r.headline, "inputs differed: read #3 at block 99 returned on one side only");
	cr_assert_str_eq(r.detail, "A no return recorded, B returned 0");

	struct ls_syscmp_fields f;
	ls_syscmp_fields(&r, &f);
	cr_assert_str_eq(f.a_state, "entered");
	cr_assert_str_eq(f.b_state, "returned");
	cr_assert_str_eq(f.a_out_hex, "");

	const char *t = table(16);
	char l[128];
	cr_assert_str_eq(line_with(t, "-> ", l, sizeof(l)),
			 "                  -> no return                            | -> no data");
}

Test(syscmp, output_unreadable_on_one_side)
{
	typical_prefix();
	rb[2].state = LS_SYS_OUT_UNREADABLE;

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 100), LS_CAUSE_INPUTS);
	cr_assert_eq(r.culprit, 2);
	cr_assert_str_eq(r.headline, "inputs differed: read #2 at block 12 wrote data readable on one side only");
	cr_assert_str_eq(r.detail, "A returned 17, B returned 17, its output unreadable");
}

Test(syscmp, read_data_differs_in_hex)
{
	typical_prefix();
	set_out(&rb[2], "hello, world 1235", 17, 0x2222);

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 100), LS_CAUSE_INPUTS);
	cr_assert_str_eq(r.detail, "data written: A 17 bytes 68656c6c6f2c20776f726c6420313233..., "
				   "B 17 bytes 68656c6c6f2c20776f726c6420313233...; they first differ at byte 16");
	struct ls_syscmp_fields f;
	ls_syscmp_fields(&r, &f);
	cr_assert_str_eq(f.a_out_hex, "68656c6c6f2c20776f726c642031323334");
	cr_assert_str_eq(f.b_out_hex, "68656c6c6f2c20776f726c642031323335");
	cr_assert_eq(f.a_ret, 17);
}

Test(syscmp, same_head_different_hash)
{
	/* Beyond the 40 bytes kept: only the hash tells. */
	typical_prefix();
	uint8_t big[40];
	memset(big, 'x', sizeof(big));
	set_out(&ra[2], big, 4096, 1);
	set_out(&rb[2], big, 4096, 2);
	ra[2].ret = rb[2].ret = 4096;

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 100), LS_CAUSE_INPUTS);
	cr_assert_not_null(strstr(r.detail, "the first 40 bytes are equal, the rest differs"), "%s", r.detail);
}

Test(syscmp, gettimeofday_decoded)
{
	size_t k = both(5, NR_GETTIMEOFDAY, 0x7ffe0100, 0, 0, 0);
	uint8_t tv[16];

	put_le64(tv, 1700000000);
	put_le64(tv + 8, 42);
	set_out(&ra[k], tv, 16, 1);
	put_le64(tv + 8, 43);
	set_out(&rb[k], tv, 16, 2);
	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 10), LS_CAUSE_INPUTS);
	cr_assert_str_eq(r.detail, "data written: A 16 bytes 1700000000.000042, B 16 bytes 1700000000.000043");
}

Test(syscmp, syscalls_after_the_divergence_are_ignored)
{
	typical_prefix();
	size_t k = both(101, NR_GETPID, 0, 0, 0, 1);
	rb[k].ret = 2;

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 100), LS_CAUSE_SAME_INPUTS);
	cr_assert_eq(r.before[0], 3);
	cr_assert_eq(r.to, 3);
	cr_assert_null(strstr(table(16), "getpid"), "not in the table either:\n%s", text);
}

Test(syscmp, syscall_at_the_divergent_block_counts)
{
	/* seq == d: made after block d-1, before block d ran. */
	size_t k = both(100, NR_GETPID, 0, 0, 0, 1);
	rb[k].ret = 2;

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 100), LS_CAUSE_INPUTS);
}

Test(syscmp, logs_not_lining_up)
{
	typical_prefix();
	size_t k = both(20, NR_GETPID, 0, 0, 0, 1);
	rb[k].seq = 21;

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 100), LS_CAUSE_UNKNOWN);
	cr_assert(r.misaligned);
	cr_assert_eq(r.to, 3);
	cr_assert_str_eq(r.headline, "cause unknown: the syscall logs do not line up at #3 (A at block 20, B at block 21)");

	char l[128];
	cr_assert_str_eq(line_with(table(16), "#3 ", l, sizeof(l)),
			 "! #3       20     getpid() = 1                            | @21 getpid() = 1");
}

Test(syscmp, another_syscall_with_the_same_result)
{
	typical_prefix();
	size_t k = both(20, NR_GETPID, 0, 0, 0, 0);
	rb[k].num = NR_BRK;

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 100), LS_CAUSE_SAME_INPUTS);
	cr_assert(r.have_args);
	cr_assert_eq(r.args_diff, LS_SYSDIFF_NUM);
	cr_assert_str_eq(r.args_note, "different syscalls at #3 (block 20): A getpid, B brk, with the same results: "
				      "the data had diverged before control flow did");
}

Test(syscmp, one_side_has_an_extra_syscall)
{
	typical_prefix();
	ra[3] = (struct ls_sys_rec){ .seq = 20, .num = NR_GETPID, .ret = 1, .state = LS_SYS_RETURNED };
	logs[0].n = 4;

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 100), LS_CAUSE_SAME_INPUTS);
	cr_assert_eq(r.extra[0], 1);
	cr_assert_str_eq(r.coverage, "A's log has 1 syscall before the divergence that B's has not (from #3)");

	char l[128];
	cr_assert_str_eq(line_with(table(16), "#3 ", l, sizeof(l)),
			 "! #3       20     getpid() = 1                            | (none)");
}

Test(syscmp, unknown_syscall_number)
{
	size_t k = both(5, 999, 1, 2, 3, 0);
	rb[k].ret = 1;
	rb[k].args[3] = 7; /* beyond the 3 arguments compared for a syscall of unknown arity */

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 10), LS_CAUSE_INPUTS);
	cr_assert_str_eq(r.headline, "inputs differed: syscall_999 #0 at block 5 returned different values");
	cr_assert_eq(r.culprit_diff, LS_SYSDIFF_RET);

	struct ls_syscmp_fields f;
	ls_syscmp_fields(&r, &f);
	cr_assert_null(f.syscall);
	cr_assert_eq(f.num, 999);
	char l[128];
	cr_assert_str_eq(line_with(table(16), "#0 ", l, sizeof(l)),
			 "> #0       5      syscall_999(1, 2, 3) = 0                | syscall_999(1, 2, 3) = 1");
}

Test(syscmp, long_calls_are_cut_to_100_columns)
{
	size_t k = both(123456789012ULL, 9 /* mmap */, 0x7f0000000000ULL, 0x200000, 3, 0x7f1234560000LL);
	ra[k].args[3] = 0x22;
	ra[k].args[4] = (uint64_t)-1;
	ra[k].args[5] = 0x1000000000ULL;
	rb[k] = ra[k];
	rb[k].ret = 0x7f1234570000LL;
	for (int i = 0; i < 12; i++)
		both(123456789013ULL, NR_GETPID, 0, 0, 0, 1);

	ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 200000000000ULL);
	const char *t = table(100); /* checks every line's width */
	char l[128];

	line_with(t, "#0 ", l, sizeof(l));
	cr_assert_eq(l[0], '>');
	cr_assert_not_null(strstr(l, "  mmap(0x7f0000000000, 0x200000, 3,... | mmap(0x7f0000000000, 0x200000, 3,..."),
			   "%s", l);
	cr_assert_eq(strlen(l), 100);
	cr_assert_not_null(strstr(t, "  syscall  block         A"), "%s", t);
}

Test(syscmp, table_into_a_small_buffer)
{
	typical_prefix();
	ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 100);

	size_t full = ls_syscmp_table(&r, 16, text, sizeof(text));
	char small[20];
	size_t n = ls_syscmp_table(&r, 16, small, sizeof(small));

	cr_assert_eq(n, full, "the whole length, like snprintf");
	cr_assert_eq(strlen(small), sizeof(small) - 1);
	cr_assert_eq(strncmp(small, text, sizeof(small) - 1), 0);
	cr_assert_eq(ls_syscmp_table(&r, 16, NULL, 0), full);

	char *mem = NULL;
	size_t memlen = 0;
	FILE *f = open_memstream(&mem, &memlen);
	ls_syscmp_fprint_table(f, &r, 16);
	fclose(f);
	cr_assert_str_eq(mem, text);
	free(mem);
}

Test(syscmp, table_rows_missing_on_both_sides)
{
	/* A holds #0..#1, B holds #5..#7: rows #2..#4 are in neither log. */
	both(1, NR_GETPID, 0, 0, 0, 1);
	both(2, NR_GETPID, 0, 0, 0, 1);
	logs[0].n = 2;
	logs[1].n = 0;
	rb[0] = rb[1] = rb[2] = ra[0];
	logs[1].n = 3;
	logs[1].first_index = 5;

	ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 100);
	char l[128];
	cr_assert_str_eq(line_with(table(16), "#3 ", l, sizeof(l)),
			 "! #3       -      (none)                                  | (overwritten)");
}

Test(syscmp, cause_names)
{
	cr_assert_str_eq(ls_cause_name(LS_CAUSE_INPUTS), "inputs_differed");
	cr_assert_str_eq(ls_cause_name(LS_CAUSE_SAME_INPUTS), "same_inputs");
	cr_assert_str_eq(ls_cause_name(LS_CAUSE_UNKNOWN), "unknown");
}

/* ---- spans: pairing after an earlier region, and by order when blocks are cut differently ---- */

/* One record on one side only. */
static void one(int side, uint64_t seq, int64_t num, int64_t ret)
{
	struct ls_sys_log *l = &logs[side];
	struct ls_sys_rec *recs = side ? rb : ra;

	cr_assert_lt(l->n, MAXREC);
	recs[l->n] = (struct ls_sys_rec){ .seq = seq, .num = num, .ret = ret, .state = LS_SYS_RETURNED };
	l->n++;
}

Test(syscmp, by_order_pairs_syscalls_made_at_other_block_numbers)
{
	/* B ran -singlestep: every block is one instruction, so its block numbers are larger. */
	one(0, 10, NR_BRK, 0x4c9000);
	one(1, 95, NR_BRK, 0x4c9000);
	one(0, 40, NR_GETPID, 1234);
	one(1, 380, NR_GETPID, 1234);
	const struct ls_syscmp_span strict = { .div_seq = { 50, 500 } };
	const struct ls_syscmp_span order = { .div_seq = { 50, 500 }, .by_order = true };

	cr_assert_eq(ls_syscmp_classify_span(&r, LS_ARCH_X86_64, logs, &strict), LS_CAUSE_UNKNOWN,
		     "strictly, the block numbers do not line up");
	cr_assert_eq(ls_syscmp_classify_span(&r, LS_ARCH_X86_64, logs, &order), LS_CAUSE_SAME_INPUTS, "%s", r.headline);
	cr_assert(strstr(r.coverage, "paired by order"), "%s", r.coverage);
	rb[1].ret = 1235;
	cr_assert_eq(ls_syscmp_classify_span(&r, LS_ARCH_X86_64, logs, &order), LS_CAUSE_INPUTS);
	cr_assert_str_eq(r.headline, "inputs differed: getpid #1 at block 40 returned different values");
	char row[256];
	line_with(table(8), "getpid() = 1234", row, sizeof(row));
	cr_assert_eq(row[0], '>', "%s", row);
	cr_assert(strstr(row, "@380 getpid() = 1235"), "B's own block is shown: %s", row);
}

Test(syscmp, by_order_a_different_syscall_ends_the_pairing)
{
	one(0, 10, NR_BRK, 0x4c9000);
	one(1, 95, NR_BRK, 0x4c9000);
	one(0, 40, NR_GETPID, 1);
	one(1, 380, NR_GETTIMEOFDAY, 0);
	const struct ls_syscmp_span order = { .div_seq = { 50, 500 }, .by_order = true };

	cr_assert_eq(ls_syscmp_classify_span(&r, LS_ARCH_X86_64, logs, &order), LS_CAUSE_UNKNOWN);
	cr_assert(r.misaligned);
	cr_assert_eq(r.to, 1);
	cr_assert(strstr(r.coverage, "A made getpid (block 40), B gettimeofday (block 380)"), "%s", r.coverage);
}

Test(syscmp, per_side_divergent_blocks)
{
	/* A's divergence is at block 50, B's at 500: B's syscall at 450 came before it, not after. */
	one(0, 40, NR_GETPID, 7);
	one(1, 450, NR_GETPID, 7);
	const struct ls_syscmp_span order = { .div_seq = { 50, 500 }, .by_order = true };

	cr_assert_eq(ls_syscmp_classify_span(&r, LS_ARCH_X86_64, logs, &order), LS_CAUSE_SAME_INPUTS, "%s", r.headline);
	cr_assert_eq(r.extra[0] + r.extra[1], 0, "not 'only A's log has syscalls'");
}

Test(syscmp, after_an_earlier_region_pairs_from_the_rejoin)
{
	/*
	 * A made one extra syscall in a detour (blocks 20-39); the runs came back
	 * together at A 40 = B 35.  Since then: A's getpid at 50 pairs with B's at
	 * 45 (10 blocks after the rejoin on both), and B's result differs.
	 */
	one(0, 10, NR_BRK, 0x4c9000);
	one(1, 10, NR_BRK, 0x4c9000);
	one(0, 25, NR_WRITE, 3); /* the detour */
	one(0, 50, NR_GETPID, 100);
	one(1, 45, NR_GETPID, 101);
	const struct ls_syscmp_span span = { .from_seq = { 40, 35 }, .div_seq = { 60, 55 } };

	cr_assert_eq(ls_syscmp_classify_span(&r, LS_ARCH_X86_64, logs, &span), LS_CAUSE_INPUTS, "%s", r.headline);
	cr_assert_eq(r.culprit, 2, "A's numbering");
	cr_assert_eq(r.shift, -1, "B's paired record is one earlier in its log");
	cr_assert(strstr(r.coverage, "since the runs came back together (A block 40 = B block 35)"), "%s", r.coverage);
	/* Without the span the detour's write would misalign everything after it. */
	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 60), LS_CAUSE_UNKNOWN);
}

Test(syscmp, after_an_earlier_region_but_the_log_wrapped_since)
{
	one(0, 90, NR_GETPID, 1);
	one(1, 88, NR_GETPID, 1);
	logs[0].first_index = 5000; /* everything before block 90 is gone on A */
	logs[1].first_index = 5000;
	const struct ls_syscmp_span span = { .from_seq = { 40, 35 }, .div_seq = { 100, 95 } };

	cr_assert_eq(ls_syscmp_classify_span(&r, LS_ARCH_X86_64, logs, &span), LS_CAUSE_UNKNOWN);
	cr_assert(strstr(r.headline, "no longer reaches back to block 40"), "%s", r.headline);
}

/* ---- candidates (issue 16): none excluded, most recent first, and thread interleaving ---- */

#define NR_SYSINFO 99
#define NR_FUTEX 202
#define NR_SET_TID_ADDRESS 218
#define NR_GETRANDOM 318

/* glibc's start-up: set_tid_address (a thread id) and getrandom (random bytes), both different every run. */
static void startup_that_differs(void)
{
	size_t k = both(2, NR_SET_TID_ADDRESS, 0x4c97d0, 0, 0, 1234);
	rb[k].ret = 1240;
	k = both(4, NR_GETRANDOM, 0x4cb2f8, 8, 1, 8);
	set_out(&ra[k], "\x11\x22\x33\x44\x55\x66\x77\x88", 8, 0xaaaa);
	set_out(&rb[k], "\x99\x22\x33\x44\x55\x66\x77\x88", 8, 0xbbbb);
}

Test(syscmp, no_input_is_excluded_for_differing_in_every_run)
{
	startup_that_differs();
	both(9, NR_BRK, 0, 0, 0, 0x4c9000);

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 100), LS_CAUSE_INPUTS, "%s", r.headline);
	cr_assert_eq(r.ncand, 2);
	cr_assert_eq(r.cand[0].num, NR_GETRANDOM, "most recent first");
	cr_assert_eq(r.cand[1].num, NR_SET_TID_ADDRESS);
	cr_assert_str_eq(r.headline, "inputs differed before the divergence (2 candidates; the data does not tell which): "
				     "getrandom #1, set_tid_address #0");
	cr_assert_str_eq(r.candidates, "getrandom #1 at block 4: wrote A 8 bytes 1122334455667788, B 8 bytes "
				       "9922334455667788\nset_tid_address #0 at block 2: returned A 1234, B 1240 (a process or "
				       "thread id: it differs in any two runs)");
	cr_assert_not_null(r.caveat, "several candidates: say what is not recorded");
	cr_assert_null(strstr(r.coverage, "not counted"), "%s", r.coverage);
}

Test(syscmp, several_candidates_most_recent_first_one_per_syscall)
{
	startup_that_differs();
	size_t k = both(30, NR_CLOCK_GETTIME, 1, 0x7ffe1230, 0, 0);
	timespec_out(&ra[k], 1712345678, 100);
	timespec_out(&rb[k], 1712345678, 200);
	both(35, NR_GETPID, 0, 0, 0, 77); /* the same on both sides: no candidate */
	k = both(40, NR_CLOCK_GETTIME, 1, 0x7ffe1230, 0, 0);
	timespec_out(&ra[k], 1712345679, 100);
	timespec_out(&rb[k], 1712345679, 300);

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 100), LS_CAUSE_INPUTS, "%s", r.headline);
	cr_assert_eq(r.ncand, 3);
	cr_assert_eq(r.differing, 4);
	cr_assert_eq(r.cand[0].index, 4);
	cr_assert_eq(r.cand[0].count, 2);
	cr_assert_eq(r.cand[0].first, 2);
	cr_assert_eq(r.cand[1].index, 1);
	cr_assert_eq(r.cand[2].index, 0);
	cr_assert(r.have_culprit);
	cr_assert_eq(r.culprit, 4, "the culprit field is the most recent candidate");
	cr_assert_str_eq(r.headline, "inputs differed before the divergence (3 candidates; the data does not tell which): "
				     "clock_gettime #4, getrandom #1, set_tid_address #0");
	cr_assert(!strncmp(r.candidates,
			   "clock_gettime #4 at block 40: wrote A 16 bytes 1712345679.000000100, B 16 bytes "
			   "1712345679.000000300 (2 of its calls differed, the first #2)\ngetrandom #1 at block 4: ",
			   strlen("clock_gettime #4 at block 40: wrote A 16 bytes 1712345679.000000100, B 16 bytes "
				  "1712345679.000000300 (2 of its calls differed, the first #2)\ngetrandom #1 at block 4: ")),
		  "%s", r.candidates);

	struct ls_syscmp_fields f;
	ls_syscmp_fields(&r, &f);
	cr_assert_str_eq(f.syscall, "clock_gettime");
	cr_assert_eq(f.index, 4);
	cr_assert_eq(f.count, 2);
	ls_syscmp_cand_fields(&r, 1, &f);
	cr_assert_str_eq(f.syscall, "getrandom");
	cr_assert_str_eq(f.a_out_hex, "1122334455667788");
	cr_assert_str_eq(f.b_out_hex, "9922334455667788");
	ls_syscmp_cand_fields(&r, 2, &f);
	cr_assert_str_eq(f.syscall, "set_tid_address");
	cr_assert_eq(f.b_ret, 1240);
	ls_syscmp_cand_fields(&r, 3, &f);
	cr_assert_not(f.have_syscall);

	/* Every candidate is marked in the table. */
	const char *t = table(16);
	char l[128];
	cr_assert_eq(line_with(t, "getrandom(", l, sizeof(l))[0], '>');
	cr_assert_eq(line_with(t, "set_tid_address(", l, sizeof(l))[0], '>');
	cr_assert_eq(line_with(t, "#4 ", l, sizeof(l))[0], '>');
	cr_assert_eq(line_with(t, "#2 ", l, sizeof(l))[0], '!', "an earlier call of a candidate: it differs too");
	cr_assert_eq(line_with(t, "getpid(", l, sizeof(l))[0], ' ');
	cr_assert_not_null(strstr(t, "'>' a candidate"), "%s", t);
}

Test(syscmp, more_syscalls_differ_than_are_kept)
{
	for (int i = 0; i < LS_SYSCMP_MAX_CANDS + 2; i++) {
		size_t k = both(10 + (uint64_t)i, 100 + i, 0, 0, 0, 5);
		rb[k].ret = 6;
	}
	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 100), LS_CAUSE_INPUTS);
	cr_assert_eq(r.ncand, LS_SYSCMP_MAX_CANDS);
	cr_assert_eq(r.cand_dropped, 2);
	cr_assert_eq(r.cand[0].index, LS_SYSCMP_MAX_CANDS + 1, "most recent kept");
	cr_assert_eq(r.cand[LS_SYSCMP_MAX_CANDS - 1].index, 2, "the two earliest dropped");
	cr_assert(strstr(r.headline, "(14 candidates; the data does not tell which)"), "%s", r.headline);
	cr_assert(strstr(r.headline, ", and 2 earlier syscalls"), "%s", r.headline);
	cr_assert(strstr(r.candidates, "\n2 further syscalls returned differently earlier (not listed)"), "%s", r.candidates);
}

static bool forward_getrandom(const struct ls_sys_rec *a, const struct ls_sys_rec *b, void *ctx)
{
	(void)b;
	++*(int *)ctx;
	return a->num == NR_GETRANDOM;
}

Test(syscmp, a_forwarded_input_is_no_candidate)
{
	int asked = 0;
	const struct ls_syscmp_span span = { .div_seq = { 100, 100 }, .forwarded = forward_getrandom, .forwarded_ctx = &asked };

	startup_that_differs();
	cr_assert_eq(ls_syscmp_classify_span(&r, LS_ARCH_X86_64, logs, &span), LS_CAUSE_INPUTS);
	cr_assert_eq(asked, 2, "asked only about pairs whose results differ");
	cr_assert_eq(r.ncand, 1);
	cr_assert_eq(r.cand[0].num, NR_SET_TID_ADDRESS);
	cr_assert_eq(r.forwarded, 1);
	cr_assert_str_eq(r.headline, "inputs differed: set_tid_address #0 at block 2 returned different values");
	cr_assert(strstr(r.coverage, "1 pair forwarded from A to B (the same by construction) is no candidate"), "%s",
		  r.coverage);
}

static enum ls_cause classify_threads(const struct ls_syscmp_threads *t)
{
	const struct ls_syscmp_span span = { .div_seq = { 100, 100 }, .threads = t };

	return ls_syscmp_classify_span(&r, LS_ARCH_X86_64, logs, &span);
}

Test(syscmp, interleaving_in_synchronisation_code_never_says_code_generation)
{
	struct ls_syscmp_threads t = { .n = 3, .syms = { "worker+0x10", "pthread_cond_signal+0x2c" } };

	typical_prefix();
	cr_assert_eq(classify_threads(&t), LS_CAUSE_INTERLEAVING, "%s", r.headline);
	cr_assert(r.interleaving && r.interleaving_likely);
	cr_assert_str_eq(r.headline, "thread interleaving, most likely: this thread's syscalls before it all returned the "
				     "same, and the divergence is in synchronisation code (pthread_cond_signal+0x2c) of a "
				     "guest that ran 3 threads; code generation is not implied");
	cr_assert_null(strstr(r.headline, "suspect code generation"));
	cr_assert_str_eq(ls_cause_name(r.cause), "thread_interleaving");
	cr_assert_not_null(r.caveat);

	/* One thread: the same symbol says nothing about interleaving. */
	t.n = 1;
	cr_assert_eq(classify_threads(&t), LS_CAUSE_SAME_INPUTS);
	cr_assert_not(r.interleaving);
}

Test(syscmp, interleaving_with_inputs_that_differed_too)
{
	struct ls_syscmp_threads t = { .n = 2, .syms = { "__lll_lock_wait+0x1c" } };

	startup_that_differs();
	size_t k = both(50, NR_SYSINFO, 0x7ffe0000, 0, 0, 0);
	set_out(&ra[k], "\x01\x02", 2, 1);
	set_out(&rb[k], "\x01\x03", 2, 2);
	cr_assert_eq(classify_threads(&t), LS_CAUSE_INPUTS);
	cr_assert_str_eq(r.headline, "thread interleaving or inputs that differed before the divergence (4 candidates; the "
				     "data does not tell which): thread interleaving, sysinfo #2, getrandom #1, "
				     "set_tid_address #0");
	cr_assert(!strncmp(r.candidates, "thread interleaving: the divergence is in synchronisation code (__lll_lock_wait+0x1c) "
					 "of a guest that ran 2 threads; code generation is not implied\nsysinfo #2 at block 50: ",
			   120),
		  "%s", r.candidates);
}

Test(syscmp, interleaving_without_evidence_is_one_possibility)
{
	struct ls_syscmp_threads t = { .n = 2, .syms = { "main+0x10", "(no symbols: guest map unknown)" } };

	typical_prefix();
	cr_assert_eq(classify_threads(&t), LS_CAUSE_INTERLEAVING);
	cr_assert_not(r.interleaving_likely);
	cr_assert_str_eq(r.headline, "thread interleaving or code generation (the data does not tell which): this thread's "
				     "syscalls before it all returned the same, but the guest ran 2 threads, whose "
				     "interleaving is not recorded");

	/* With inputs that differed it comes after them, but before a pid (which differs in any two runs). */
	startup_that_differs();
	cr_assert_eq(classify_threads(&t), LS_CAUSE_INPUTS);
	cr_assert(strstr(r.headline, "(3 candidates; the data does not tell which): getrandom #4, thread interleaving, "
				     "set_tid_address #3"),
		  "%s", r.headline);
	cr_assert(strstr(r.candidates, "\nthread interleaving: the guest ran 2 threads, whose interleaving is not recorded"),
		  "%s", r.candidates);
}

Test(syscmp, interleaving_after_a_futex_an_atomic_or_a_partner_that_parted)
{
	struct ls_syscmp_threads t = { .n = 2, .syms = { "main+0x10" } };

	size_t k = both(20, NR_FUTEX, 0x4cc000, 0x81, 1, 0);
	rb[k].ret = 1;
	cr_assert_eq(classify_threads(&t), LS_CAUSE_INPUTS);
	cr_assert(r.interleaving_likely);
	cr_assert(strstr(r.interleaving_why, "futex #0 returned differently before it"), "%s", r.interleaving_why);
	cr_assert(!strncmp(r.headline, "thread interleaving or inputs that differed before the divergence (2 candidates; "
				       "the data does not tell which): thread interleaving, futex #0",
			   120),
		  "%s", r.headline);

	setup();
	const char *ins[] = { "mov eax, 1", "lock cmpxchg dword ptr [rdi], ecx", "jne 0x401000" };
	t.insns = ins;
	t.ninsns = 3;
	cr_assert_eq(classify_threads(&t), LS_CAUSE_INTERLEAVING);
	cr_assert(strstr(r.interleaving_why, "atomic instruction (lock cmpxchg dword ptr [rdi], ecx)"), "%s",
		  r.interleaving_why);

	t.ninsns = 1;
	t.partner_apart = true;
	t.partner = 1;
	cr_assert_eq(classify_threads(&t), LS_CAUSE_INTERLEAVING);
	cr_assert(r.interleaving_likely);
	cr_assert(strstr(r.interleaving_why, "another thread (vCPU 1) had parted already"), "%s", r.interleaving_why);
}

Test(syscmp, synchronisation_symbols_and_atomic_instructions)
{
	const char *yes[] = { "__lll_lock_wait+0x1c", "pthread_mutex_lock", "__pthread_cond_wait+0x100",
			      "___pthread_cond_signal+0x2c", "__futex_abstimed_wait_common+0x4", "sem_wait+0x8",
			      "__new_sem_wait_slow64", "__condvar_dec_grefs", "lzma_atomic_add+0x3" };
	const char *no[] = { "main+0x10", "(no symbols: guest map unknown)", "", NULL, "memcpy+0x40",
			     "xz+0x1234 (no symbol)", "sort_r+0x8" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		cr_assert(ls_sync_symbol(yes[i]), "%s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_assert_not(ls_sync_symbol(no[i]), "%s", no[i] ? no[i] : "NULL");

	const char *at[] = { "lock cmpxchg dword ptr [rdi], ecx", "lock xadd qword ptr [rax], rdx", "xchg dword ptr [rdi], eax",
			     "cmpxchg16b xmmword ptr [rsi]", "ldaxr w0, [x1]", "stlxr w2, w3, [x1]", "casal w0, w1, [x2]",
			     "ldadd x0, x1, [x2]", "swpal w0, w1, [x2]" };
	const char *na[] = { "xchg eax, ebx", "mov eax, dword ptr [rdi]", "jne 0x401000", "ldr x0, [x1]", "str w0, [x1]",
			     "", NULL };
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		cr_assert(ls_atomic_insn(at[i]), "%s", at[i]);
	for (size_t i = 0; i < sizeof(na) / sizeof(na[0]); i++)
		cr_assert_not(ls_atomic_insn(na[i]), "%s", na[i] ? na[i] : "NULL");
}

Test(syscmp, a_thread_started_before_the_divergence_counts_without_the_monitor)
{
	/* glibc's pthread_create: clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|..., ...) = tid */
	size_t k = both(20, 56 /* clone */, 0x3d0f00, 0x7f0000, 0x7f1000, 4321);
	rb[k].ret = 4330;

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 100), LS_CAUSE_INPUTS);
	cr_assert_eq(r.threads_made, 1);
	cr_assert(r.interleaving);
	cr_assert(strstr(r.headline, "clone #0, thread interleaving"), "%s", r.headline);
	cr_assert_str_eq(r.interleaving_why, "the guest ran 2 threads");

	/* fork is no thread (no CLONE_THREAD) */
	setup();
	k = both(20, 56, 0x1200011, 0, 0, 4321);
	rb[k].ret = 4330;
	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, logs, 100), LS_CAUSE_INPUTS);
	cr_assert_not(r.interleaving);
	cr_assert_str_eq(r.headline, "inputs differed: clone #0 at block 20 returned different values");
}

Test(syscmp, interleaving_is_said_when_the_logs_cannot_be_judged)
{
	struct ls_syscmp_threads t = { .n = 2, .syms = { "pthread_cond_signal+0x16" } };

	both(20, NR_GETPID, 0, 0, 0, 7);
	both(30, NR_BRK, 0, 0, 0, 0x4c9000);
	rb[1].seq = 31; /* the logs stop lining up */
	cr_assert_eq(classify_threads(&t), LS_CAUSE_UNKNOWN);
	cr_assert(strstr(r.coverage, "thread interleaving is a candidate, a likely one: the divergence is in "
				     "synchronisation code (pthread_cond_signal+0x16)"),
		  "%s", r.coverage);
}

/* A log the monitor could not trust (a corrupt target) leaves the cause unknown and says why, not "not logged". */
Test(syscmp, a_log_that_could_not_be_used_is_named)
{
	struct ls_sys_rec rec = { .seq = 1, .num = 39, .state = LS_SYS_RETURNED };
	struct ls_sys_log log[2] = { { .problem = "sys_next is out of range" }, { .recs = &rec, .n = 1, .enabled = true } };
	struct ls_syscmp r;

	cr_assert_eq(ls_syscmp_classify(&r, LS_ARCH_X86_64, log, 10), LS_CAUSE_UNKNOWN);
	cr_assert_str_eq(r.headline, "cause unknown: A's syscall log could not be used (sys_next is out of range)");
}

/* ---- asynchronous signals ---- */

#define NR_RT_SIGACTION 13
#define NR_RT_SIGRETURN 15
#define NR_ALARM 37
#define NR_SETITIMER 38
#define NR_KILL 62

/* The signals guest (tests/guests/signals.c) up to its loop: handlers, a timer, kill(getpid(), SIGUSR1). */
static void signals_prefix(bool pids)
{
	both(8931, NR_RT_SIGACTION, 14, 0x4000800280, 0, 0);
	both(8978, NR_RT_SIGACTION, 10, 0x4000800280, 0, 0);
	both(8992, NR_SETITIMER, 0, 0x40008003d0, 0, 0);
	size_t k = both(9000, NR_GETPID, 0, 0, 0, 8294);
	if (pids)
		rb[k].ret = 8295;
	k = both(9003, NR_KILL, 8294, 10, 0, 0);
	if (pids)
		rb[k].args[0] = 8295;
	both(9010, NR_RT_SIGRETURN, 0, 0, 0, -513);
}

/* A went on at the SIGALRM handler after step's loop branch, B around the loop. */
static struct ls_syscmp_signals handler_on_a = {
	.next = { LS_SUCC_NO, LS_SUCC_YES },
	.succ_why = { "jne 0x401686 goes to 0x401686 or 0x401699 only", "jne 0x401686 can go to 0x401686" },
	.sym = { "on_alarm", "step+0x1b" },
	.last_block = { 79736, 79736 },
};

static enum ls_cause classify_signals(const struct ls_syscmp_signals *s)
{
	const struct ls_syscmp_span span = { .div_seq = { 79737, 79737 }, .signals = s };

	return ls_syscmp_classify_span(&r, LS_ARCH_X86_64, logs, &span);
}

Test(syscmp, a_side_interrupted_at_a_handler_names_an_asynchronous_signal_first)
{
	signals_prefix(true);
	cr_assert_eq(classify_signals(&handler_on_a), LS_CAUSE_INPUTS, "%s", r.headline);
	cr_assert(r.signal);
	cr_assert(r.signal_likely);
	cr_assert_eq(r.interrupted, 0);
	cr_assert(r.specific_first);
	cr_assert_str_eq(r.signal_why,
			 "A was interrupted after block 79736 (jne 0x401686 goes to 0x401686 or 0x401699 only; A went on at "
			 "on_alarm, a function entered without a call: a signal handler); the guest set signal actions with "
			 "rt_sigaction #0 (SIGALRM), #1 (SIGUSR1); it armed a timer with setitimer #2; it sent signals with "
			 "kill #4; handlers returned before it (1 rt_sigreturn)");
	cr_assert_str_eq(r.headline, "an asynchronous signal or inputs that differed before the divergence (2 candidates; "
				     "the first is the likely one): asynchronous signal, getpid #3");
	cr_assert(!strncmp(r.candidates, "asynchronous signal (likely): A was interrupted", 47), "%s", r.candidates);
	cr_assert(strstr(r.candidates, "code generation is not implied\ngetpid #3 at block 9000: returned A 8294, B 8295 "
				       "(a process or thread id: it differs in any two runs)"),
		  "%s", r.candidates);
	cr_assert_null(strstr(r.headline, "suspect code generation"));
}

Test(syscmp, same_inputs_and_an_interrupted_side_is_a_signal_not_code_generation)
{
	signals_prefix(false);
	cr_assert_eq(classify_signals(&handler_on_a), LS_CAUSE_SIGNAL, "%s", r.headline);
	cr_assert_str_eq(ls_cause_name(r.cause), "asynchronous_signal");
	cr_assert(!strncmp(r.headline, "asynchronous signal, most likely: A was interrupted after block 79736", 69), "%s",
		  r.headline);
	cr_assert(strstr(r.headline, "code generation is not implied"), "%s", r.headline);
	cr_assert_null(strstr(r.headline, "suspect"));
	cr_assert_not_null(r.caveat);
	cr_assert(strstr(r.caveat, "inferred"), "%s", r.caveat);

	struct ls_syscmp_fields f;
	ls_syscmp_fields(&r, &f);
	cr_assert_str_eq(f.cause, "asynchronous_signal");
	cr_assert_not(f.have_syscall);
}

Test(syscmp, both_sides_followed_the_branch_so_no_signal)
{
	struct ls_syscmp_signals s = handler_on_a;

	s.next[0] = LS_SUCC_YES;
	s.sym[0] = "step+0x2e";
	signals_prefix(false);
	cr_assert_eq(classify_signals(&s), LS_CAUSE_SAME_INPUTS, "%s", r.headline);
	cr_assert_not(r.signal);
	cr_assert_str_eq(r.headline, "same inputs, different execution: suspect code generation");
}

Test(syscmp, an_indirect_branch_leaves_a_signal_possible_with_a_timer)
{
	struct ls_syscmp_signals s = {
		.next = { LS_SUCC_UNKNOWN, LS_SUCC_UNKNOWN },
		.succ_why = { "jmp rax is indirect: any target is possible", "jmp rax is indirect: any target is possible" },
		.sym = { "dispatch+0x40", "dispatch+0x80" },
		.last_block = { 500, 500 },
	};

	signals_prefix(false);
	cr_assert_eq(classify_signals(&s), LS_CAUSE_SIGNAL, "%s", r.headline);
	cr_assert_not(r.signal_likely);
	cr_assert_eq(r.interrupted, -1);
	cr_assert(!strncmp(r.headline, "an asynchronous signal or code generation (the data does not tell which): the "
				       "syscalls before it all returned the same, and where the last common block goes "
				       "cannot be told (jmp rax is indirect",
			   160),
		  "%s", r.headline);

	/* Without signal actions, a timer or a signal sent, an indirect jump proves nothing: code generation. */
	setup();
	both(3, NR_BRK, 0, 0, 0, 0x4c9000);
	cr_assert_eq(classify_signals(&s), LS_CAUSE_SAME_INPUTS);
	cr_assert_not(r.signal);
}

Test(syscmp, after_rt_sigreturn_the_side_at_a_function_entry_took_a_signal)
{
	/* The signals guest's second shape: a SIGUSR1 handler returns, and B goes straight into on_alarm. */
	struct ls_syscmp_signals s = {
		.next = { LS_SUCC_SYSCALL, LS_SUCC_SYSCALL },
		.succ_why = { "syscall returns to 0x401a27 unless the syscall moves the pc",
			      "syscall returns to 0x401a27 unless the syscall moves the pc" },
		.sym = { "step+0x1b", "on_alarm" },
		.last_block = { 65740, 65740 },
	};

	signals_prefix(false);
	const struct ls_syscmp_span span = { .div_seq = { 9011, 9011 }, .signals = &s };
	cr_assert_eq(ls_syscmp_classify_span(&r, LS_ARCH_X86_64, logs, &span), LS_CAUSE_SIGNAL, "%s", r.headline);
	cr_assert(r.signal_likely, "%s", r.signal_why);
	cr_assert_eq(r.interrupted, 1);
	cr_assert(!strncmp(r.signal_why, "B went on at on_alarm, a function's first instruction that no call reached", 74),
		  "%s", r.signal_why);

	/* A syscall that returns where it was made: B's handler entry is no successor. */
	setup();
	signals_prefix(false);
	both(9011, NR_KILL, 8294, 10, 0, 0);
	s.syscall_next[0] = true;
	s.sym[0] = "main+0x24a";
	const struct ls_syscmp_span span2 = { .div_seq = { 9012, 9012 }, .signals = &s };
	cr_assert_eq(ls_syscmp_classify_span(&r, LS_ARCH_X86_64, logs, &span2), LS_CAUSE_SIGNAL, "%s", r.headline);
	cr_assert(r.signal_likely);
	cr_assert_eq(r.interrupted, 1);
	cr_assert(!strncmp(r.signal_why, "B was interrupted after block 65740", 35), "%s", r.signal_why);
}

Test(syscmp, an_interrupted_side_without_any_signal_setup_is_only_possible)
{
	both(3, NR_BRK, 0, 0, 0, 0x4c9000);
	cr_assert_eq(classify_signals(&handler_on_a), LS_CAUSE_SIGNAL, "%s", r.headline);
	cr_assert_not(r.signal_likely);
	cr_assert(strstr(r.signal_why, "; no rt_sigaction is in the log before it"), "%s", r.signal_why);
	cr_assert_null(strstr(r.headline, "suspect"));
}

Test(syscmp, alarm_zero_disarms_and_is_no_timer)
{
	struct ls_syscmp_signals s = {
		.next = { LS_SUCC_UNKNOWN, LS_SUCC_UNKNOWN },
		.sym = { "f+0x4", "f+0x8" },
	};

	both(3, NR_RT_SIGACTION, 14, 0x7ffe0000, 0, 0);
	both(4, NR_ALARM, 0, 0, 0, 0);
	cr_assert_eq(classify_signals(&s), LS_CAUSE_SAME_INPUTS, "%s", r.headline);
	ra[1].args[0] = rb[1].args[0] = 1;
	cr_assert_eq(classify_signals(&s), LS_CAUSE_SIGNAL, "%s", r.headline);
	cr_assert(strstr(r.signal_why, "it armed a timer with alarm #1"), "%s", r.signal_why);
}

Test(syscmp, a_pid_goes_after_a_possible_signal)
{
	struct ls_syscmp_signals s = {
		.next = { LS_SUCC_RETURN, LS_SUCC_RETURN },
		.succ_why = { "ret returns to an address from the stack", "ret returns to an address from the stack" },
		.sym = { "main+0x30", "loop+0x8" },
		.last_block = { 90, 90 },
	};

	signals_prefix(true);
	cr_assert_eq(classify_signals(&s), LS_CAUSE_INPUTS, "%s", r.headline);
	cr_assert_not(r.signal_likely);
	cr_assert(r.specific_first, "every syscall candidate is a pid");
	cr_assert(strstr(r.headline, "(2 candidates; the data does not tell which): asynchronous signal, getpid #3"), "%s",
		  r.headline);
	cr_assert(!strncmp(r.candidates, "asynchronous signal (possible): ", 32), "%s", r.candidates);
}

Test(syscmp, both_sides_interrupted_by_different_signals)
{
	/* After kill(getpid(), SIGUSR1): A runs the SIGUSR1 handler, B the SIGALRM one that arrived first. */
	struct ls_syscmp_signals s = {
		.next = { LS_SUCC_SYSCALL, LS_SUCC_SYSCALL },
		.succ_why = { "syscall returns to 0x408cf7 unless the syscall moves the pc",
			      "syscall returns to 0x408cf7 unless the syscall moves the pc" },
		.sym = { "on_usr1", "on_alarm" },
		.last_block = { 189256, 189256 },
	};

	signals_prefix(false);
	both(189250, NR_KILL, 8294, 10, 0, 0);
	const struct ls_syscmp_span span = { .div_seq = { 189257, 189257 }, .signals = &s };
	cr_assert_eq(ls_syscmp_classify_span(&r, LS_ARCH_X86_64, logs, &span), LS_CAUSE_SIGNAL, "%s", r.headline);
	cr_assert(r.signal_likely);
	cr_assert_eq(r.interrupted, -1);
	static const char want[] = "both sides were interrupted after block 189256 (syscall returns to 0x408cf7 unless "
				   "the syscall moves the pc): A went on at on_usr1, B at on_alarm, functions entered "
				   "without a call: signal handlers";
	cr_assert(!strncmp(r.signal_why, want, sizeof(want) - 1), "%s", r.signal_why);
}

Test(syscmp, a_handler_reported_as_an_old_action_is_recognised_by_address)
{
	/* sigaction(SIGALRM, &sa, NULL), later sigaction(SIGALRM, NULL, &old): the log keeps what the second wrote. */
	struct ls_syscmp_signals s = {
		.next = { LS_SUCC_UNKNOWN, LS_SUCC_UNKNOWN },
		.succ_why = { "jmp rax is indirect: any target is possible", "jmp rax is indirect: any target is possible" },
		.sym = { "(no symbols: guest map unknown)", "(no symbols: guest map unknown)" },
		.pc = { 0x401643, 0x401686 },
		.last_block = { 500, 500 },
	};
	uint8_t old[32] = { 0 };

	both(10, NR_RT_SIGACTION, 14, 0x7ffe0000, 0, 0);
	size_t k = both(20, NR_RT_SIGACTION, 14, 0, 0x7ffe0100, 0);
	put_le64(old, 0x401643);
	set_out(&ra[k], old, 32, 0x77);
	set_out(&rb[k], old, 32, 0x77);
	cr_assert_eq(classify_signals(&s), LS_CAUSE_SIGNAL, "%s", r.headline);
	cr_assert(r.signal_likely, "%s", r.signal_why);
	cr_assert_eq(r.interrupted, 0);
	cr_assert(strstr(r.signal_why, "; 0x401643, where A went on, is the SIGALRM handler (the old action rt_sigaction #1 "
				       "reported)"),
		  "%s", r.signal_why);

	/* SIG_IGN (1) as the old action is no address. */
	setup();
	both(10, NR_RT_SIGACTION, 14, 0x7ffe0000, 0, 0);
	k = both(20, NR_RT_SIGACTION, 14, 0, 0x7ffe0100, 0);
	memset(old, 0, sizeof(old));
	old[0] = 1;
	set_out(&ra[k], old, 32, 0x78);
	set_out(&rb[k], old, 32, 0x78);
	s.pc[0] = 1;
	cr_assert_eq(classify_signals(&s), LS_CAUSE_SAME_INPUTS, "%s", r.headline);
}
