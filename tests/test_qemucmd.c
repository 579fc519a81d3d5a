/* test_qemucmd.c - the guest in a qemu-user command line, and splitting /proc/PID/cmdline. */
#include <criterion/criterion.h>
#include <string.h>

#include "qemucmd.h"

#define ARGC(v) ((int)(sizeof(v) / sizeof((v)[0])))

Test(qemucmd, guest_after_options_with_values)
{
	const char *v[] = { "qemu-x86_64", "-E", "X=1", "-plugin", "./l.so,wait=1s", "-singlestep", "--cpu", "max",
			    "./guest", "-E", "guest-arg" };

	cr_assert_eq(ls_qemu_guest_index(v, ARGC(v)), 8);
}

Test(qemucmd, guest_first_and_double_dash)
{
	const char *a[] = { "qemu-x86_64", "./guest" };
	const char *b[] = { "qemu-x86_64", "-d", "plugin", "--", "-strange-guest-name" };
	const char *c[] = { "qemu-x86_64", "-strace" };
	const char *d[] = { "qemu-x86_64", "-plugin" };

	cr_assert_eq(ls_qemu_guest_index(a, ARGC(a)), 1);
	cr_assert_eq(ls_qemu_guest_index(b, ARGC(b)), 4);
	cr_assert_eq(ls_qemu_guest_index(c, ARGC(c)), -1, "flags only: no guest");
	cr_assert_eq(ls_qemu_guest_index(d, ARGC(d)), -1, "a value-taking option at the end: no guest");
}

Test(qemucmd, split_cmdline)
{
	char buf[] = "qemu\0-E\0A=1\0./g\0";
	const char *v[8];
	int n = ls_split_cmdline(buf, sizeof(buf) - 1, v, 8);

	cr_assert_eq(n, 4);
	cr_assert_str_eq(v[0], "qemu");
	cr_assert_str_eq(v[3], "./g");
	cr_assert_eq(ls_qemu_guest_index(v, n), 3);
	cr_assert_eq(ls_split_cmdline(buf, sizeof(buf) - 1, v, 2), 2, "at most max");
}
