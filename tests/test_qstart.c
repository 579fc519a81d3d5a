/* test_qstart.c - waiting for a QEMU that is still starting, refusing one that never will have the plugin. */
#include <criterion/criterion.h>
#include <string.h>

#include "qstart.h"

static enum ls_qstart judge(const char *exe, const char *parent, bool mapped, bool init, bool wants, bool guest)
{
	struct ls_qstart_facts f = { exe, parent, mapped, init, wants, guest };
	return ls_qstart_judge(&f);
}

Test(qstart, ready_and_not_initialised_yet)
{
	cr_assert_eq(judge("/usr/bin/qemu-x86_64", "/usr/bin/bash", true, true, true, true), LS_QSTART_READY);
	cr_assert_eq(judge("/usr/bin/qemu-x86_64", "/usr/bin/bash", true, false, true, false), LS_QSTART_STARTING);
}

Test(qstart, qemu_before_it_loads_the_plugin)
{
	cr_assert_eq(judge("/usr/bin/qemu-x86_64", "/usr/bin/bash", false, false, true, false), LS_QSTART_STARTING);
}

Test(qstart, qemu_without_the_plugin_is_refused_at_once)
{
	/* No -plugin asked for, or its guest already mapped (plugins load before the guest). */
	cr_assert_eq(judge("/usr/bin/qemu-x86_64", "/usr/bin/bash", false, false, false, false), LS_QSTART_NO_PLUGIN);
	cr_assert_eq(judge("/opt/q/qemu-aarch64-static", "", false, false, true, true), LS_QSTART_NO_PLUGIN);
}

Test(qstart, fork_before_exec_and_wrapper_scripts_wait)
{
	cr_assert_eq(judge("/usr/bin/bash", "/usr/bin/bash", false, false, false, false), LS_QSTART_STARTING);
	cr_assert_eq(judge("/work/lockstep-bpf", "/work/lockstep-bpf", false, false, false, false), LS_QSTART_STARTING);
	cr_assert_eq(judge("/bin/dash", "/usr/sbin/sshd", false, false, false, false), LS_QSTART_STARTING);
}

Test(qstart, other_programs_are_not_qemu)
{
	cr_assert_eq(judge("/usr/bin/sleep", "/usr/bin/bash", false, false, false, false), LS_QSTART_NOT_QEMU);
	cr_assert_eq(judge("", "", false, false, false, false), LS_QSTART_NOT_QEMU);
	cr_assert_eq(judge(NULL, NULL, false, false, false, false), LS_QSTART_NOT_QEMU);
}

Test(qstart, argv_and_environment_ask_for_a_plugin)
{
	const char *const a[] = { "qemu-x86_64", "-cpu", "max", "-plugin", "/x.so", "./g", NULL };
	const char *const b[] = { "qemu-x86_64", "./g", "-plugin", NULL };
	const char *const c[] = { "qemu-x86_64", "-cpu", "-plugin", "./g", NULL }; /* -plugin is -cpu's value */

	cr_assert(ls_qstart_argv_wants_plugin(a, 6));
	cr_assert(!ls_qstart_argv_wants_plugin(b, 3), "the guest's own arguments do not count");
	cr_assert(!ls_qstart_argv_wants_plugin(c, 4));
	static const char env[] = "A=1\0QEMU_PLUGIN=/x.so\0";
	static const char env2[] = "A=1\0QEMU_PLUGINX=1\0QEMU_PLUGIN=";
	cr_assert(ls_qstart_env_wants_plugin(env, sizeof(env) - 1));
	cr_assert(!ls_qstart_env_wants_plugin(env2, sizeof(env2) - 1));
}

Test(qstart, stat_ppid)
{
	cr_assert_eq(ls_qstart_stat_ppid("123 (qemu-x86_64) S 45 123 1 0"), 45);
	cr_assert_eq(ls_qstart_stat_ppid("123 (a) b) (c) R 7 1"), 7);
	cr_assert_eq(ls_qstart_stat_ppid("123 (x) S"), -1);
	cr_assert_eq(ls_qstart_stat_ppid("garbage"), -1);
	cr_assert_eq(ls_qstart_stat_ppid(NULL), -1);
}
