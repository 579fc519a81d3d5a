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
	FILE *f = open_out();

	ls_json_summary(f, sides, &s, 4, "stopped");
	fclose(f);
	cr_assert(strstr(buf, "\"uncompared\":{\"before_start\":1,\"after_stop\":2,\"unmatched\":3,\"total\":6}"), "%s",
		  buf);
	cr_assert(strstr(buf, "\"exit_code\":4,\"result\":\"stopped\"}\n"), "%s", buf);
}
