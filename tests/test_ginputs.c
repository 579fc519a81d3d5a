/* test_ginputs.c - what two guests were given at start: arguments, environment, cwd, QEMU options. */
#include <criterion/criterion.h>
#include <string.h>

#include "ginputs.h"

/* A NUL-separated block from a list of strings ending in NULL. */
struct blk {
	char buf[2048];
	size_t len;
};

static void mk(struct blk *b, const char *const *items)
{
	b->len = 0;
	for (; *items; items++) {
		size_t n = strlen(*items) + 1;
		memcpy(b->buf + b->len, *items, n);
		b->len += n;
	}
}

static struct blk ca, cb, ea, eb;
static struct ls_ginputs_diff d;

static bool cmp(const char *const *cmd_a, const char *const *env_a, const char *const *cmd_b,
		const char *const *env_b, const char *cwd_a, const char *cwd_b)
{
	mk(&ca, cmd_a);
	mk(&cb, cmd_b);
	mk(&ea, env_a);
	mk(&eb, env_b);
	struct ls_qemu_launch la = { ca.buf, ca.len, ea.buf, ea.len, cwd_a, false };
	struct ls_qemu_launch lb = { cb.buf, cb.len, eb.buf, eb.len, cwd_b, false };
	return ls_ginputs_compare(&la, &lb, &d);
}

static const char *const env0[] = { "PATH=/usr/bin", "HOME=/root", "_=/usr/bin/qemu-x86_64", NULL };
static const char *const env_other_qemu[] = { "PATH=/usr/bin", "HOME=/root", "_=/opt/qemu/bin/qemu-x86_64", NULL };

Test(ginputs, identical_launches)
{
	const char *const cmd[] = { "qemu-x86_64", "-plugin", "/x/liblockstep.so,wait=60s", "./guest", "a", NULL };
	const char *const cmd2[] = { "/opt/qemu/bin/qemu-x86_64", "-plugin", "/y/liblockstep.so", "-d", "plugin",
				     "./guest", "a", NULL };

	cr_assert(!cmp(cmd, env0, cmd2, env0, "/w", "/w"), "%s", d.inputs);
	cr_assert_str_eq(d.inputs, "");
	cr_assert_str_eq(d.options, "", "plugin and logging options do not count: %s", d.options);
	cr_assert_eq(d.env + d.args + d.cwd + d.opts, 0);
}

Test(ginputs, qemu_E_differs)
{
	const char *const a[] = { "qemu-x86_64", "-E", "BRANCHY=a", "./branchy", "env", NULL };
	const char *const b[] = { "qemu-x86_64", "-E", "BRANCHY=b", "./branchy", "env", NULL };

	cr_assert(cmp(a, env0, b, env0, "", ""));
	cr_assert_eq(d.env, 1);
	cr_assert_str_eq(d.inputs, "environment BRANCHY (A \"a\", B \"b\")");
}

Test(ginputs, set_on_one_side_only_and_lists)
{
	/* -E takes comma-separated lists; -U removes; QEMU_SET_ENV works like -E, and -E comes after it. */
	const char *const a[] = { "qemu-x86_64", "-E", "X=1,Y=2", "-U", "HOME", "./g", NULL };
	const char *const b[] = { "qemu-x86_64", "-E", "Y=2", "./g", NULL };
	const char *const envb[] = { "PATH=/usr/bin", "QEMU_SET_ENV=X=1,HOME=/elsewhere", "HOME=/root", NULL };
	const char *const enva[] = { "PATH=/usr/bin", "HOME=/root", "QEMU_SET_ENV=X=1,HOME=/elsewhere", NULL };

	cr_assert(cmp(a, enva, b, envb, "", ""));
	cr_assert_eq(d.env, 1, "%s", d.inputs);
	cr_assert_str_eq(d.inputs, "environment HOME (A unset, B \"/elsewhere\")");
}

Test(ginputs, arguments_and_argv0)
{
	const char *const a[] = { "qemu-x86_64", "-0", "guest", "./inputs", "pid", "100", NULL };
	const char *const b[] = { "qemu-x86_64", "./inputs", "clock", NULL };

	cr_assert(cmp(a, env0, b, env0, "", ""));
	cr_assert_eq(d.args, 3);
	cr_assert_str_eq(d.inputs,
			 "argv[0] (A \"guest\", B \"./inputs\"); argv[1] (A \"pid\", B \"clock\"); argv[2] (A \"100\", B none)");
}

Test(ginputs, working_directory)
{
	const char *const c[] = { "qemu-x86_64", "./g", NULL };

	cr_assert(cmp(c, env0, c, env0, "/tmp/a", "/tmp/b"));
	cr_assert_eq(d.cwd, 1);
	cr_assert_str_eq(d.inputs, "working directory (A \"/tmp/a\", B \"/tmp/b\")");
}

Test(ginputs, qemu_options_are_named_not_blamed)
{
	const char *const a[] = { "qemu-x86_64", "-cpu", "max", "./g", NULL };
	const char *const b[] = { "qemu-x86_64", "-singlestep", "-cpu", "qemu64", "./g", NULL };

	cr_assert(!cmp(a, env0, b, env0, "", ""), "options are not the guest's inputs");
	cr_assert_eq(d.opts, 3);
	cr_assert_str_eq(d.options, "A -cpu max; B -singlestep -cpu qemu64");
}

Test(ginputs, long_values_are_cut_and_many_differences_counted)
{
	const char *const a[] = { "qemu-x86_64", "-E", "A1=1,A2=1,A3=1,A4=1,A5=1,A6=1", "./g", NULL };
	const char *const b[] = { "qemu-x86_64", "-E", "LONG=0123456789012345678901234567890123456789", "./g", NULL };

	cr_assert(cmp(a, env0, b, env0, "", ""));
	cr_assert_eq(d.env, 7);
	cr_assert(strstr(d.inputs, "3 more environment variables"), "%s", d.inputs);
	cr_assert_lt(strlen(d.inputs), sizeof(d.inputs));
	const char *const c[] = { "qemu-x86_64", "./g", NULL };
	cr_assert(cmp(c, env0, b, env0, "", ""));
	cr_assert_str_eq(d.inputs, "environment LONG (A unset, B \"012345678901234567890...\")");
}

Test(ginputs, empty_or_odd_input_never_crashes)
{
	const char *const none[] = { NULL };
	const char *const dash[] = { "qemu-x86_64", "-cpu", NULL };

	cmp(none, none, none, none, NULL, NULL);
	cmp(dash, none, none, env0, "", NULL);
	cr_assert_eq(d.args, 0, "no guest on either side: no arguments to compare");
}

Test(ginputs, qemu_argv0_from_the_environment)
{
	const char *const a[] = { "qemu-x86_64", "./g", NULL };
	const char *const b[] = { "qemu-x86_64", "-0", "other", "./g", NULL };
	const char *const enva[] = { "PATH=/usr/bin", "HOME=/root", "QEMU_ARGV0=other", "_=/usr/bin/qemu-x86_64", NULL };

	cmp(a, enva, b, env0, "", "");
	cr_assert_eq(d.args, 0, "QEMU_ARGV0 is what -0 sets: %s", d.inputs);
	cr_assert_eq(d.env, 1, "the variable itself still differs: %s", d.inputs);
}

Test(ginputs, shell_underscore_is_an_input)
{
	/* A wrapper script's exec sets `_` to another path: the guest's libc walks it at start. */
	const char *const c[] = { "qemu-x86_64", "./g", NULL };

	cr_assert(cmp(c, env0, c, env_other_qemu, "/w", "/w"));
	cr_assert_eq(d.env, 1);
	cr_assert_str_eq(d.inputs, "environment _ (A \"/usr/bin/qemu-x86_64\", B \"/opt/qemu/bin/qemu-x8...\")");
}

Test(ginputs, wrapper_adds_pwd_and_shlvl)
{
	const char *const c[] = { "qemu-x86_64", "./g", NULL };
	const char *const wrapped[] = { "PATH=/usr/bin", "HOME=/root", "PWD=/w", "SHLVL=0", "_=/usr/bin/qemu-x86_64", NULL };

	cr_assert(cmp(c, env0, c, wrapped, "/w", "/w"));
	cr_assert_eq(d.env, 2);
	cr_assert_str_eq(d.inputs, "environment PWD (A unset, B \"/w\"); environment SHLVL (A unset, B \"0\")");
}

Test(ginputs, cwd_read_after_the_guest_ran_is_named_so)
{
	const char *const c[] = { "qemu-x86_64", "./g", NULL };

	mk(&ca, c);
	mk(&ea, env0);
	struct ls_qemu_launch la = { ca.buf, ca.len, ea.buf, ea.len, "/tmp/a", false };
	struct ls_qemu_launch lb = { ca.buf, ca.len, ea.buf, ea.len, "/tmp/b", true };
	cr_assert(ls_ginputs_compare(&la, &lb, &d));
	cr_assert_str_eq(d.inputs, "working directory when the monitor attached (A \"/tmp/a\", B \"/tmp/b\")");
}

Test(ginputs, same_variables_in_another_order)
{
	/* bash re-exports the environment in its own order: PATH moved to the end. */
	const char *const c[] = { "qemu-x86_64", "./g", NULL };
	const char *const moved[] = { "HOME=/root", "_=/usr/bin/qemu-x86_64", "PATH=/usr/bin", NULL };

	cr_assert(cmp(c, env0, c, moved, "/w", "/w"));
	cr_assert_eq(d.env, 1);
	cr_assert_str_eq(d.inputs, "environment order: the same 3 variables, but variable 0 is PATH in A and HOME in B");
}

Test(ginputs, unset_keeps_the_order)
{
	const char *const a[] = { "qemu-x86_64", "-U", "HOME", "./g", NULL };
	const char *const b[] = { "qemu-x86_64", "./g", NULL };
	const char *const envb[] = { "PATH=/usr/bin", "_=/usr/bin/qemu-x86_64", NULL };

	cr_assert(!cmp(a, env0, b, envb, "/w", "/w"), "%s", d.inputs);
}

/* A CPU model or a seed changes what the guest sees; -singlestep only where blocks end. */
Test(ginputs, options_that_the_guest_sees)
{
	cr_assert(ls_ginputs_opts_visible("B -cpu qemu64"));
	cr_assert(ls_ginputs_opts_visible("A -singlestep; B -seed 5"));
	cr_assert(ls_ginputs_opts_visible("A -R 0x1000000"));
	cr_assert_not(ls_ginputs_opts_visible("B -singlestep"));
	cr_assert_not(ls_ginputs_opts_visible("A -one-insn-per-tb; B --singlestep"));
	cr_assert_not(ls_ginputs_opts_visible(""));
}
