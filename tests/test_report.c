/* test_report.c - the exact text of the header, the divergence report and the end-of-run summary. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static const struct ls_side_desc sides[2] = {
	{ .label = 'A', .pid = 4242, .exe = "/usr/bin/qemu-x86_64", .cmdline = "qemu-x86_64 -plugin ./liblockstep.so ./guest",
	  .guest = "./guest", .plugin_version = "0.1.0" },
	{ .label = 'B', .pid = 4243, .exe = "/opt/qemu/bin/qemu-x86_64", .cmdline = "" },
};

static char *out;
static size_t outlen;

static FILE *open_out(void)
{
	FILE *f = open_memstream(&out, &outlen);

	cr_assert_not_null(f);
	return f;
}

static void close_out(FILE *f)
{
	cr_assert_eq(fclose(f), 0);
}

static void release(void)
{
	free(out);
	out = NULL;
}

TestSuite(report, .fini = release);

/* The whole line, not a substring of a longer one. */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

static unsigned count_lines_starting(const char *text, const char *prefix)
{
	unsigned n = 0;
	size_t len = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, prefix, len))
			n++;
	return n;
}

#define assert_line(text, line) cr_assert(has_line(text, line), "missing line:\n[%s]\nin:\n%s", line, text)

Test(report, header_names_qemu_guest_plugin_and_cmdline)
{
	FILE *f = open_out();

	ls_print_header(f, sides);
	close_out(f);
	cr_assert_str_eq(out, "A: pid 4242, QEMU /usr/bin/qemu-x86_64, guest ./guest, plugin 0.1.0\n"
			      "   qemu-x86_64 -plugin ./liblockstep.so ./guest\n"
			      "B: pid 4243, QEMU /opt/qemu/bin/qemu-x86_64, guest (unknown), plugin (unknown)\n");
}

Test(report, live_line_columns)
{
	struct ls_live l = { .elapsed_s = 2.5, .blocks = { 1000, 900 }, .rate = { 400.4, 360.6 }, .compared_blocks = 800,
			     .compared_rate = 320, .lag = -100, .divergences = 1, .uncompared = 7, .lost = 2,
			     .ended = { false, true } };
	FILE *f = open_out();

	ls_print_live_header(f);
	ls_print_live_line(f, &l);
	close_out(f);
	cr_assert(strstr(out, "\n     2.500            400            361              800            320         -100      1           7      2  B ended\n"),
		  "%s", out);
}

Test(report, live_view_redraws_in_place)
{
	struct ls_live l = { .elapsed_s = 1, .blocks = { 1234567, 1234000 }, .rate = { 5e8, 4.9e8 } };
	FILE *f = open_out();

	ls_print_live_view(f, sides, &l, false);
	ls_print_live_view(f, sides, &l, true);
	close_out(f);
	cr_assert_eq(count_lines_starting(out, "lockstep-bpf  1.0 s  lag A-B 0 blocks"), 1, "the first view has no escape in front");
	cr_assert(strstr(out, "\033[6A\033[J"), "the second view moves up over the first:\n%s", out);
	cr_assert_eq(count_lines_starting(out, "  blocks/s     500.00M"), 2, "%s", out);
	cr_assert(strstr(out, "  blocks       1.23M"), "%s", out);
}

Test(report, si_units)
{
	char b[32];

	cr_assert_str_eq(ls_si(b, sizeof(b), 999), "999");
	cr_assert_str_eq(ls_si(b, sizeof(b), 1000), "1.00k");
	cr_assert_str_eq(ls_si(b, sizeof(b), 2.5e9), "2.50G");
	cr_assert_str_eq(ls_si(b, sizeof(b), -131072), "-131.07k");
}

static const struct ls_hist_row rows[] = {
	{ .seq = 998, .have = { true, true }, .pc = { 0x401000, 0x401000 }, .ninsns = { 4, 4 }, .cum = { 12338, 12338 } },
	{ .seq = 999, .have = { true, true }, .pc = { 0x401010, 0x401010 }, .ninsns = { 4, 4 }, .cum = { 12342, 12342 } },
	{ .seq = 1000, .have = { true, true }, .pc = { 0x401020, 0x7f0000001000ULL }, .ninsns = { 3, 3 },
	  .cum = { 12345, 12345 }, .differs = true },
	{ .seq = 1001, .have = { true, true }, .pc = { 0x401030, 0x7f0000001040ULL }, .ninsns = { 2, 5 },
	  .cum = { 12347, 12350 }, .differs = true },
	{ .seq = 1002, .have = { true, false }, .pc = { 0x401040, 0 }, .ninsns = { 1, 0 }, .cum = { 12348, 0 },
	  .differs = true },
};

static const ls_sym_pair row_syms[] = {
	{ "work+0x10", "work+0x10" }, { "work+0x20", "work+0x20" }, { "path_a", "path_b" },
	{ "path_a+0x10", "path_b+0x40" }, { "main+0x5", "" },
};

static const struct ls_insn_line dis_a[] = {
	{ .addr = 0x401020, .sym = "path_a", .text = "push rbp", .mark = true },
	{ .addr = 0x401021, .sym = "path_a+0x1", .text = "mov rbp, rsp" },
};

Test(report, divergence_found)
{
	struct ls_divergence d = {
		.vcpu = 0,
		.found = true,
		.seq = 1000,
		.seq_b = 1000,
		.block = { 1000, 1000 },
		.range_lo = 768,
		.range_hi = 1024,
		.pc = { 0x401020, 0x7f0000001000ULL },
		.ninsns = { 3, 3 },
		.cum = { 12345, 12345 },
		.rows = rows,
		.nrows = 5,
		.headline = "after call rax (main+0x30), A went on at path_a and B at path_b",
		.sym = { "path_a", "path_b" },
		.row_sym = row_syms,
		.insn_found = true,
		.have_common = true,
		.insn_index = 12342,
		.common = { .addr = 0x401130, .sym = "main+0x30", .text = "call rax" },
		.first = { { .addr = 0x401020, .sym = "path_a", .text = "push rbp" },
			   { .addr = 0x7f0000001000ULL, .sym = "path_b", .text = "push rbp" } },
		.dis = { dis_a, NULL },
		.ndis = { 2, 0 },
		.cause_key = "same_inputs",
		.cause = "same inputs, different execution",
		.caveat = "rdtsc is not an input recorded here",
		.next_step = "suspect the translation.\n",
	};
	FILE *f = open_out();

	ls_print_divergence(f, sides, &d);
	close_out(f);
	cr_assert(!strncmp(out, "\nDIVERGENCE on vCPU 0 at block 1000: after call rax (main+0x30), A went on at path_a and B at path_b\n", 99), "%s", out);
	assert_line(out, "  A (pid 4242): block at 0x401020 path_a, 3 instructions, 12345 executed through it");
	assert_line(out, "  B (pid 4243): block at 0x7f0000001000 path_b, 3 instructions, 12345 executed through it");
	assert_line(out, "  first divergent instruction, #12342:");
	assert_line(out, "    last in common  0x401130       main+0x30                    call rax");
	assert_line(out, "    A ran           0x401020       path_a                       push rbp");
	assert_line(out, "  block        | A pc           symbol                   insns | B pc           symbol                   insns");
	assert_line(out, "  998          | 0x401000       work+0x10                    4 | 0x401000       work+0x10                    4");
	assert_line(out, "> 1000         | 0x401020       path_a                       3 | 0x7f0000001000 path_b                       3");
	assert_line(out, "! 1002         | 0x401040       main+0x5                     1 | (not there)                                  ");
	assert_line(out, "  ('>' first divergent block, '!' the sides differ)");
	assert_line(out, "  A's divergent block:");
	assert_line(out, "  > 0x401020       path_a                       push rbp");
	assert_line(out, "    0x401021       path_a+0x1                   mov rbp, rsp");
	cr_assert_null(strstr(out, "B's divergent block"), "B has no disassembly here");
	assert_line(out, "  cause: same inputs, different execution");
	assert_line(out, "  (rdtsc is not an input recorded here)");
	assert_line(out, "  next: suspect the translation.");
	cr_assert_eq(count_lines_starting(out, ">"), 1);
	cr_assert_eq(count_lines_starting(out, "!"), 2);
	cr_assert_null(strstr(out, "could not be located"));
}

Test(report, long_symbols_are_cut_in_the_middle_so_the_offset_shows)
{
	static const ls_sym_pair long_syms[] = {
		{ "__vfprintf_internal+0x11a4", "libc.so.6:_IO_default_xsputn+0x1c" },
		{ "dataonly-stripped+0x409b61 (no symbol)", "short+0x1" },
	};
	static const struct ls_insn_line dis[] = {
		{ .addr = 0x401020, .sym = "____strtol_l_internal+0x1f4", .text = "ret", .mark = true },
	};
	struct ls_divergence d = {
		.found = true, .seq = 998, .seq_b = 998, .block = { 998, 998 }, .range_lo = 768, .range_hi = 1024,
		.pc = { 0x401000, 0x401000 }, .ninsns = { 4, 4 }, .rows = rows, .nrows = 2, .row_sym = long_syms,
		.sym = { "a", "b" }, .dis = { dis, NULL }, .ndis = { 1, 0 },
	};
	FILE *f = open_out();

	ls_print_divergence(f, sides, &d);
	close_out(f);
	cr_assert(strstr(out, " __vfprintf_int...+0x11a4 "), "%s", out);
	cr_assert(strstr(out, " libc.so.6:_IO_de...+0x1c "), "%s", out);
	cr_assert(strstr(out, " ...+0x409b61 (no symbol) "), "%s", out);
	cr_assert(strstr(out, " ____strtol_l_internal+0x1f4 "), "28 columns fit it whole: %s", out);
}

Test(report, divergence_after_realignment_shows_both_positions)
{
	struct ls_hist_row one = { .seq = 5000, .seq_b = 4990, .have = { true, true }, .pc = { 0x401000, 0x402000 },
				   .ninsns = { 3, 4 }, .cum = { 30, 31 }, .differs = true };
	struct ls_divergence d = {
		.vcpu = 7, .found = true, .seq = 5000, .seq_b = 4990, .block = { 5000, 4990 },
		.pc = { 0x401000, 0x402000 }, .ninsns = { 3, 4 }, .cum = { 30, 31 }, .rows = &one, .nrows = 1,
	};
	FILE *f = open_out();

	ls_print_divergence(f, sides, &d);
	close_out(f);
	assert_line(out, "DIVERGENCE on vCPU 7 at A's block 5000 = B's 4990: the two sides differ");
	assert_line(out, "  ('>' first divergent block, '!' the sides differ; B's numbers are A's shifted by the earlier regions)");
}

Test(report, divergence_in_instructions)
{
	struct ls_divergence d = {
		.vcpu = 0, .found = true, .unit = "instruction", .seq = 77, .seq_b = 77, .block = { 20, 70 },
		.pc = { 0x401000, 0x402000 }, .ninsns = { 1, 1 }, .sym = { "path_a", "path_b" },
		.insn_problem = "a block is missing from the translation log",
	};
	FILE *f = open_out();

	ls_print_divergence(f, sides, &d);
	close_out(f);
	assert_line(out, "DIVERGENCE on vCPU 0 at instruction 77: the two sides differ");
	assert_line(out, "  A (pid 4242): 0x401000 path_a, in block 20");
	assert_line(out, "  B (pid 4243): 0x402000 path_b, in block 70");
	assert_line(out, "  first divergent instruction: not known (a block is missing from the translation log)");
}

Test(report, divergence_not_found)
{
	struct ls_divergence d = {
		.vcpu = 2,
		.found = false,
		.range_lo = 768,
		.range_hi = 1024,
		.problem = "the faster side had already overwritten the divergent chunk",
		.rows = rows,
		.nrows = 5,
	};
	FILE *f = open_out();

	ls_print_divergence(f, sides, &d);
	close_out(f);
	cr_assert_str_eq(out, "\nDIVERGENCE on vCPU 2 between blocks 768 and 1023 (the two sides' digests differ there)\n"
			      "  the exact block could not be located: the faster side had already overwritten the "
			      "divergent chunk\n");
}

Test(report, divergence_not_found_without_reason)
{
	struct ls_divergence d = { .vcpu = 0, .found = false, .range_lo = 0, .range_hi = 256 };
	FILE *f = open_out();

	ls_print_divergence(f, sides, &d);
	close_out(f);
	assert_line(out, "DIVERGENCE on vCPU 0 between blocks 0 and 255 (the two sides' digests differ there)");
	assert_line(out, "  the exact block could not be located: unknown");
}

static struct ls_summary base_summary(void)
{
	struct ls_summary s = {
		.elapsed_s = 61.25,
		.started = true,
		.start_seq = 16384,
		.compared_blocks = 1000000,
		.compared_insns = 4500000,
		.divergences = 0,
		.vcpus = 1,
		.side = {
			{ .published_end = 1016384, .early = 16384, .late = 0, .pending = 0, .end_how = "finished (published its last block)" },
			{ .published_end = 1020000, .early = 16384, .late = 3616, .pending = 0, .end_how = "still running" },
		},
		.late_why = "past the other side's end",
	};
	return s;
}

Test(report, summary_clean_run)
{
	struct ls_summary s = base_summary();
	FILE *f = open_out();

	ls_print_summary(f, sides, &s);
	close_out(f);
	cr_assert_str_eq(out,
			 "\nSummary after 61.25 s:\n"
			 "  compared:      1000000 blocks, 4500000 instructions, from block 16384 on (1 vCPU stream)\n"
			 "  divergences:   0 regions\n"
			 "  not compared:  blocks per side\n"
			 "    A: 16384 before the comparison started, 0 past the other side's end, 0 published but never matched by the other side\n"
			 "    B: 16384 before the comparison started, 3616 past the other side's end, 0 published but never matched by the other side\n"
			 "  A (pid 4242):   finished (published its last block), 1016384 blocks published\n"
			 "  B (pid 4243):   still running, 1020000 blocks published\n"
			 "  lost:          none\n");
}

Test(report, summary_plural_streams_and_default_texts)
{
	struct ls_summary s = base_summary();
	FILE *f = open_out();

	s.vcpus = 4;
	s.late_why = NULL;
	s.side[1].end_how = NULL;
	ls_print_summary(f, sides, &s);
	close_out(f);
	assert_line(out, "  compared:      1000000 blocks, 4500000 instructions, from block 16384 on (4 vCPU streams)");
	assert_line(out, "    B: 16384 before the comparison started, 3616 after the comparison stopped, 0 published but never matched by the other side");
	assert_line(out, "  B (pid 4243):   ?, 1020000 blocks published");
}

Test(report, summary_after_a_divergence_merges_late_and_pending)
{
	/* After a divergence "late" and "pending" are one thing: what came after the comparison stopped. */
	struct ls_summary s = base_summary();
	FILE *f = open_out();

	s.divergences = 1;
	s.side[0].late = 500;
	s.side[0].pending = 256;
	s.side[0].apart = 12;
	s.side[1].pending = 100;
	s.side[1].apart = 3;
	s.side[1].gave_up = 40;
	s.regions_open = 1;
	s.gave_up_vcpus = 1;
	ls_print_summary(f, sides, &s);
	close_out(f);
	assert_line(out, "    A: 16384 before the comparison started, 12 apart in divergent regions, 756 after the comparison stopped");
	assert_line(out, "    B: 16384 before the comparison started, 3 apart in divergent regions, 3716 after the comparison "
			 "stopped, 40 after the sides did not come back together (--window)");
	assert_line(out, "  divergences:   1 region, 1 still apart at the end, 1 vCPU not back together within --window");
	cr_assert_null(strstr(out, "never matched"));
	cr_assert_null(strstr(out, "past the other side's end"));
}

Test(report, summary_never_started)
{
	struct ls_summary s = base_summary();
	FILE *f = open_out();

	s.started = false;
	ls_print_summary(f, sides, &s);
	close_out(f);
	assert_line(out, "  compared:      nothing: the two sides never published a common block range");
	cr_assert_eq(count_lines_starting(out, "  compared:"), 1);
}

Test(report, summary_overrun_only_when_there_is_one)
{
	struct ls_summary s = base_summary();
	FILE *f = open_out();

	ls_print_summary(f, sides, &s);
	close_out(f);
	cr_assert_null(strstr(out, "OVERRUN"));
	release();

	s.side[1].overruns = 2048;
	s.divergences = 1;
	f = open_out();
	ls_print_summary(f, sides, &s);
	close_out(f);
	assert_line(out, "  OVERRUN:       B ran past the comparison window: 2048 blocks could not be compared");
	assert_line(out, "  divergences:   1 region");
	cr_assert_eq(count_lines_starting(out, "  OVERRUN:"), 1);
	/* It follows the line of the side it is about. */
	cr_assert_not_null(strstr(out, "  B (pid 4243):   still running, 1020000 blocks published\n  OVERRUN:       B "));
}

Test(report, summary_lost_events)
{
	struct ls_summary s = base_summary();
	FILE *f = open_out();

	s.ringbuf_lost = 3;
	ls_print_summary(f, sides, &s);
	close_out(f);
	assert_line(out, "  LOST:          3 events dropped (ring buffer full), 0 unreadable publications");
	cr_assert_null(strstr(out, "lost:          none"));
}

Test(report, forward_summary_lines)
{
	struct ls_fwd_summary w = {
		.forwarded = 312, .bytes = 7744, .by_syscall = "clock_gettime 226, getrandom 2", .ret_differs = 3,
		.ret_by_syscall = "set_tid_address 1, gettid 1, time 1", .checked = 584, .waits = 6, .wait_ms = 106.0391,
		.max_wait_ms = 55.4621, .ns_each = 3064.2, .auxv = "the same on both sides (both QEMUs run with -seed 7)",
		.auxv_same = true,
	};
	FILE *f = open_out();

	ls_print_fwd_summary(f, &w);
	close_out(f);
	cr_assert_str_eq(out,
			 "  forwarded:     312 syscall results from A to B (clock_gettime 226, getrandom 2), 7744 bytes\n"
			 "                 B waited for A 6 times (106.039 ms in all, longest 55.462 ms); 3064 ns a forwarded "
			 "syscall besides waiting; 584 syscall pairs checked to be the same call\n"
			 "  NOT FORWARDED: 3 return values that differ (set_tid_address 1, gettid 1, time 1): plugin API 1 "
			 "cannot set a register\n"
			 "  AT_RANDOM:     the same on both sides (both QEMUs run with -seed 7)\n");
	free(out);
	out = NULL;

	struct ls_fwd_summary bad = { .problem = "neither plugin took the forwarding channel (their stderr says why)",
				      .auxv = "QEMU writes it before the first block", .mismatch = "A made getpid where B made getppid",
				      .after_stop = 2 };
	f = open_out();
	ls_print_fwd_summary(f, &bad);
	close_out(f);
	cr_assert_str_eq(out,
			 "  forwarded:     nothing: neither plugin took the forwarding channel (their stderr says why)\n"
			 "  NOT FORWARDED: 0 failed on one side only, 0 longer than 64 KiB, 0 not writable in B, 2 after "
			 "forwarding stopped, 0 in threads beyond the 8th\n"
			 "  AT_RANDOM:     NOT FORWARDED: QEMU writes it before the first block\n"
			 "  DIVERGED:      syscalls could not be paired: A made getpid where B made getppid\n");
}
