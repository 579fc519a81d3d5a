/* test_relay.c - cutting a QEMU's output into prefixed lines, and the last line quoted in error messages. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "relay.h"

struct got {
	char lines[8][64];
	int n;
};

static void collect(void *ctx, const char *line, size_t n)
{
	struct got *g = ctx;

	cr_assert_lt(g->n, 8);
	snprintf(g->lines[g->n++], sizeof(g->lines[0]), "%.*s", (int)n, line);
}

Test(relay, whole_lines_out_rest_kept)
{
	char buf[16] = "ab\ncd\nef";
	size_t len = 8;
	struct got g = { 0 };

	ls_prefix_lines(buf, &len, sizeof(buf), false, collect, &g);
	cr_assert_eq(g.n, 2);
	cr_assert_str_eq(g.lines[0], "ab");
	cr_assert_str_eq(g.lines[1], "cd");
	cr_assert_eq(len, 2, "the unterminated 'ef' waits for its newline");
	cr_assert_eq(memcmp(buf, "ef", 2), 0);
	ls_prefix_lines(buf, &len, sizeof(buf), true, collect, &g);
	cr_assert_eq(g.n, 3, "at the stream's end it goes out as it is");
	cr_assert_str_eq(g.lines[2], "ef");
	cr_assert_eq(len, 0);
}

Test(relay, full_buffer_without_newline_goes_out)
{
	char buf[4] = { 'w', 'x', 'y', 'z' };
	size_t len = 4;
	struct got g = { 0 };

	ls_prefix_lines(buf, &len, sizeof(buf), false, collect, &g);
	cr_assert_eq(g.n, 1);
	cr_assert_str_eq(g.lines[0], "wxyz");
	cr_assert_eq(len, 0);
}

Test(relay, last_line_skips_blank_trims_and_defangs)
{
	char out[32];
	const char *s = "first\nqemu: Invalid ELF image\r\n\n  \n";

	cr_assert(ls_last_line(s, strlen(s), out, sizeof(out)));
	cr_assert_str_eq(out, "qemu: Invalid ELF image");
	cr_assert_not(ls_last_line("\n\n", 2, out, sizeof(out)));
	cr_assert_str_eq(out, "");
	cr_assert(ls_last_line("a\x1b[2Jb", 6, out, sizeof(out)));
	cr_assert_str_eq(out, "a?[2Jb", "no terminal escapes from a guest in our messages");
	cr_assert(ls_last_line("0123456789", 10, out, 5));
	cr_assert_str_eq(out, "0123");
}
