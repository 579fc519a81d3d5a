/* test_json.c - --json objects: string escaping and the fields of each event type. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static char *buf;
static size_t len;

static FILE *open_out(void)
{
	FILE *f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	return f;
}

static void release(void)
{
	free(buf);
	buf = NULL;
}

TestSuite(json, .fini = release);

Test(json, string_escapes)
{
	FILE *f = open_out();

	ls_json_str(f, "a\"b\\c\nd\te\x01\x7f\xc3\xa9");
	fputc(' ', f);
	ls_json_str(f, NULL);
	fclose(f);
	cr_assert_str_eq(buf, "\"a\\\"b\\\\c\\nd\\te\\u0001\\u007f\xc3\xa9\" null");
}

static const struct ls_side_desc sides[2] = {
	{ .label = 'A', .pid = 10, .exe = "/usr/bin/qemu-x86_64", .cmdline = "qemu \"x\"", .guest = "./g",
	  .plugin_version = "0.1.0" },
	{ .label = 'B', .pid = 11, .exe = "/q", .cmdline = "", .guest = NULL, .plugin_version = "0.1.0" },
};

Test(json, start_and_interval_are_one_line_each)
{
	struct ls_live l = { .elapsed_s = 1.5, .blocks = { 5, 3 }, .lag = 2, .ended = { false, true } };
	FILE *f = open_out();

	ls_json_start(f, sides, 16384, 0);
	ls_json_interval(f, &l);
	fclose(f);
	cr_assert(strstr(buf, "{\"type\":\"start\",\"schema\":1,"), "%s", buf);
	cr_assert(strstr(buf, "\"cmdline\":\"qemu \\\"x\\\"\""), "%s", buf);
	cr_assert(strstr(buf, "\"guest\":null"), "%s", buf);
	cr_assert(strstr(buf, "\"blocks\":{\"A\":5,\"B\":3}"), "%s", buf);
	cr_assert(strstr(buf, "\"ended\":{\"A\":false,\"B\":true}"), "%s", buf);
	cr_assert(strstr(buf, "\"lag_blocks\":2,"), "%s", buf);
	size_t lines = 0;
	for (char *p = buf; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(lines, 2);
}

Test(json, divergence_not_found_says_why)
{
	struct ls_divergence d = { .vcpu = 1, .range_lo = 10, .range_hi = 20, .problem = "gone" };
	FILE *f = open_out();

	ls_json_divergence(f, sides, &d, 1, 0.5);
	fclose(f);
	cr_assert(strstr(buf, "\"found\":false,\"range\":{\"from_block\":10,\"to_block\":20},\"problem\":\"gone\"}"), "%s",
		  buf);
}

Test(json, summary_totals_uncompared_per_side)
{
	struct ls_summary s = { .elapsed_s = 2, .started = true, .compared_blocks = 100 };
	s.side[0].early = 1, s.side[0].late = 2, s.side[0].pending = 3, s.side[0].end_how = "still running";
	s.side[1].stopped = 7, s.side[1].end_how = "exited";
	FILE *f = open_out();

	ls_json_summary(f, sides, &s, 4, "stopped");
	fclose(f);
	cr_assert(strstr(buf, "\"uncompared\":{\"before_start\":1,\"after_stop\":2,\"unmatched\":3,"
			      "\"comparison_stopped\":0,\"total\":6}"),
		  "%s", buf);
	/* Blocks a stopped user-space comparison never reached count in the total too. */
	cr_assert(strstr(buf, "\"unmatched\":0,\"comparison_stopped\":7,\"total\":7}"), "%s", buf);
	cr_assert(strstr(buf, "\"exit_code\":4,\"result\":\"stopped\"}\n"), "%s", buf);
}

Test(json, divergence_found_carries_symbols_instructions_cause)
{
	struct ls_hist_row row = { .seq = 7, .seq_b = 7, .have = { true, true }, .pc = { 0x401000, 0x402000 },
				   .ninsns = { 2, 3 }, .cum = { 9, 10 }, .differs = true };
	static const ls_sym_pair syms[] = { { "path_a", "path_b" } };
	static const struct ls_insn_line dis[] = { { .addr = 0x401000, .sym = "path_a", .text = "push rbp", .mark = true } };
	struct ls_divergence d = {
		.vcpu = 0, .found = true, .seq = 7, .seq_b = 7, .block = { 7, 7 }, .pc = { 0x401000, 0x402000 },
		.ninsns = { 2, 3 }, .cum = { 9, 10 }, .rows = &row, .nrows = 1, .row_sym = syms,
		.headline = "A went on at path_a, B at path_b", .sym = { "path_a", "path_b" },
		.insn_found = true, .have_common = true, .insn_index = 7,
		.common = { .addr = 0x400ff0, .sym = "main+0x10", .text = "call rax" },
		.first = { { .addr = 0x401000, .sym = "path_a", .text = "push rbp" },
			   { .addr = 0x402000, .sym = "path_b", .text = "push rbp" } },
		.dis = { dis, NULL }, .ndis = { 1, 0 },
		.cause_key = "inputs_differed", .cause = "inputs differed: getpid #1", .next_step = "make it the same\n",
	};
	FILE *f = open_out();

	ls_json_divergence(f, sides, &d, 1, 0.5);
	fclose(f);
	cr_assert(strstr(buf, "\"headline\":\"A went on at path_a, B at path_b\""), "%s", buf);
	cr_assert(strstr(buf, "\"in_block\":7,\"symbol\":\"path_a\",\"disassembly\":[{\"addr\":\"0x401000\",\"symbol\":"
			      "\"path_a\",\"text\":\"push rbp\"}]}"),
		  "%s", buf);
	cr_assert(strstr(buf, "\"first_instruction\":{\"index\":7,\"last_common\":{\"addr\":\"0x400ff0\",\"symbol\":"
			      "\"main+0x10\",\"text\":\"call rax\"}"),
		  "%s", buf);
	cr_assert(strstr(buf, "\"cause\":{\"cause\":\"inputs_differed\",\"text\":\"inputs differed: getpid #1\","
			      "\"syscalls\":null,\"syscall\":null,\"candidates\":[],\"started_differently\":null,"
			      "\"qemu_options\":null}"),
		  "%s", buf);
	cr_assert(strstr(buf, "\"A\":{\"pc\":\"0x401000\",\"insns\":2,\"cumulative_insns\":9,\"symbol\":\"path_a\"}"), "%s",
		  buf);
}

Test(json, region_rejoined_and_not)
{
	const uint64_t at[2] = { 100, 100 }, len[2] = { 5, 0 };
	FILE *f = open_out();

	ls_json_region(f, 0, 1, true, "blocks", at, len, 1.0);
	ls_json_region(f, 2, 3, false, "instructions", at, len, 2.0);
	fclose(f);
	cr_assert(strstr(buf, "{\"type\":\"region\",\"time\":1.000000,\"index\":1,\"vcpu\":0,\"unit\":\"blocks\","
			      "\"rejoined\":true,\"A\":{\"from\":100,\"length\":5},\"B\":{\"from\":100,\"length\":0},"
			      "\"rejoined_at\":{\"A\":105,\"B\":100}}\n"),
		  "%s", buf);
	cr_assert(strstr(buf, "\"vcpu\":2,\"unit\":\"instructions\",\"rejoined\":false,\"A\":{\"from\":100,\"length\":5},"
			      "\"B\":{\"from\":100,\"length\":0}}\n"),
		  "%s", buf);
}

Test(json, the_culprit_syscall_is_an_object)
{
	struct ls_side_desc sides[2] = { { 'A', 10, "q", "q", "g", "0.1.0" }, { 'B', 11, "q", "q", "g", "0.1.0" } };
	struct ls_divergence d = { .found = true, .seq = 7, .seq_b = 7, .cause_key = "inputs_differed",
				   .cause = "inputs differed: getpid #13", .started_differently = "environment X (A \"1\", B unset)",
				   .qemu_options = "B -singlestep" };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	d.culprit.have = true;
	d.culprit.name = "getpid";
	d.culprit.num = 39;
	d.culprit.index = 13;
	d.culprit.block = 208745;
	d.culprit.state[0] = d.culprit.state[1] = "returned";
	d.culprit.ret[0] = 6037;
	d.culprit.ret[1] = 6038;
	d.culprit.out_hex[0] = d.culprit.out_hex[1] = "";
	d.culprit.count = 1;
	/* Two candidates and thread interleaving, not likely: it comes last. */
	struct ls_cause_syscall cands[2] = { d.culprit, d.culprit };
	cands[1].name = "getrandom";
	cands[1].num = 318;
	cands[1].index = 4;
	cands[1].count = 2;
	d.candidates = cands;
	d.ncandidates = 2;
	d.interleaving = "the guest ran 2 threads";
	ls_json_divergence(f, sides, &d, 1, 0.5);
	fclose(f);
	cr_assert(strstr(buf, "\"syscall\":{\"name\":\"getpid\",\"num\":39,\"index\":13,\"block\":208745,\"count\":1,"
			      "\"A\":{\"state\":\"returned\",\"ret\":6037,\"out_len\":0,\"out_head\":\"\"},"
			      "\"B\":{\"state\":\"returned\",\"ret\":6038,\"out_len\":0,\"out_head\":\"\"}}"),
		  "%s", buf);
	cr_assert(strstr(buf, "\"candidates\":[{\"kind\":\"syscall\",\"name\":\"getpid\",\"num\":39,\"index\":13,"),
		  "%s", buf);
	cr_assert(strstr(buf, "}},{\"kind\":\"syscall\",\"name\":\"getrandom\",\"num\":318,\"index\":4,\"block\":208745,"
			      "\"count\":2,"),
		  "%s", buf);
	cr_assert(strstr(buf, "}},{\"kind\":\"thread_interleaving\",\"likely\":false,\"why\":\"the guest ran 2 threads\"}],"),
		  "%s", buf);
	cr_assert(strstr(buf, "\"started_differently\":\"environment X (A \\\"1\\\", B unset)\",\"qemu_options\":\"B -singlestep\"}"),
		  "%s", buf);
	free(buf);
}

Test(json, a_likely_signal_leads_and_pids_come_last)
{
	struct ls_side_desc sides[2] = { { 'A', 10, "q", "q", "g", "0.1.0" }, { 'B', 11, "q", "q", "g", "0.1.0" } };
	struct ls_divergence d = { .found = true, .seq = 7, .seq_b = 7, .cause_key = "inputs_differed",
				   .cause = "an asynchronous signal or inputs ..." };
	struct ls_cause_syscall cands[2] = { { .have = true, .name = "getrandom", .num = 318, .index = 20, .count = 1 },
					     { .have = true, .name = "getpid", .num = 39, .index = 18, .count = 2, .pid = true } };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	for (int i = 0; i < 2; i++)
		for (int s = 0; s < 2; s++) {
			cands[i].state[s] = "returned";
			cands[i].out_hex[s] = "";
		}
	d.culprit = cands[0];
	d.candidates = cands;
	d.ncandidates = 2;
	d.signal = "A was interrupted after block 6";
	d.signal_likely = true;
	d.interleaving = "the guest ran 2 threads";
	ls_json_divergence(f, sides, &d, 1, 0.5);
	fclose(f);
	const char *sig = strstr(buf, "\"candidates\":[{\"kind\":\"signal\",\"likely\":true,\"why\":\"A was interrupted "
				      "after block 6\"},{\"kind\":\"syscall\",\"name\":\"getrandom\"");
	cr_assert(sig, "%s", buf);
	const char *thr = strstr(sig, "{\"kind\":\"thread_interleaving\",\"likely\":false,\"why\":\"the guest ran 2 "
				      "threads\"},{\"kind\":\"syscall\",\"name\":\"getpid\"");
	cr_assert(thr, "the possible interleaving before the pid: %s", buf);
	free(buf);
}
