/* test_systab.c - guest syscall names for x86_64 and aarch64, and where each covered syscall writes its output. */
#include <criterion/criterion.h>
#include <string.h>

#include "systab.h"

#define X LS_ARCH_X86_64
#define A LS_ARCH_AARCH64
#define EFAULT_RET (-14)

static int64_t nr_of(enum ls_arch arch, const char *name)
{
	for (int64_t n = 0; n < 1024; n++) {
		const char *s = ls_sys_name(arch, n);
		if (s && !strcmp(s, name))
			return n;
	}
	return -1;
}

Test(systab, arch_from_target)
{
	cr_assert_eq(ls_arch_from_target("x86_64"), X);
	cr_assert_eq(ls_arch_from_target("aarch64"), A);
	cr_assert_eq(ls_arch_from_target("aarch64_be"), A);
	cr_assert_eq(ls_arch_from_target("i386"), LS_ARCH_UNKNOWN);
	cr_assert_eq(ls_arch_from_target("riscv64"), LS_ARCH_UNKNOWN);
	cr_assert_eq(ls_arch_from_target(""), LS_ARCH_UNKNOWN);
	cr_assert_eq(ls_arch_from_target(NULL), LS_ARCH_UNKNOWN);
}

Test(systab, names_x86_64)
{
	static const struct {
		int64_t nr;
		const char *name;
	} known[] = {
		{ 0, "read" },		 { 1, "write" },	  { 2, "open" },	 { 5, "fstat" },
		{ 9, "mmap" },		 { 39, "getpid" },	  { 56, "clone" },	 { 57, "fork" },
		{ 59, "execve" },	 { 60, "exit" },	  { 186, "gettid" },	 { 202, "futex" },
		{ 228, "clock_gettime" }, { 231, "exit_group" },	  { 262, "newfstatat" }, { 318, "getrandom" },
		{ 332, "statx" },	 { 334, "rseq" },	  { 424, "pidfd_send_signal" },
		{ 435, "clone3" },	 { 450, "set_mempolicy_home_node" }, { 451, "cachestat" },
		{ 462, "mseal" },
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		const char *s = ls_sys_name(X, known[i].nr);
		cr_assert(s && !strcmp(s, known[i].name), "x86_64 %lld: %s, want %s", (long long)known[i].nr,
			  s ? s : "NULL", known[i].name);
	}
	cr_assert_null(ls_sys_name(X, -1));
	cr_assert_null(ls_sys_name(X, 335), "the gap before the unified numbers");
	cr_assert_null(ls_sys_name(X, 423));
	cr_assert_null(ls_sys_name(X, 463));
	cr_assert_null(ls_sys_name(X, 0x40000000), "x32 numbers are not x86_64's");
	cr_assert_null(ls_sys_name(X, INT64_MAX));
	cr_assert_null(ls_sys_name(X, INT64_MIN));
}

Test(systab, names_aarch64)
{
	static const struct {
		int64_t nr;
		const char *name;
	} known[] = {
		{ 17, "getcwd" },	 { 25, "fcntl" },	  { 56, "openat" },	  { 57, "close" },
		{ 62, "lseek" },	 { 63, "read" },	  { 64, "write" },	  { 79, "newfstatat" },
		{ 80, "fstat" },	 { 93, "exit" },	  { 94, "exit_group" },	  { 113, "clock_gettime" },
		{ 160, "uname" },	 { 172, "getpid" },	  { 178, "gettid" },	  { 214, "brk" },
		{ 220, "clone" },	 { 221, "execve" },	  { 222, "mmap" },	  { 260, "wait4" },
		{ 278, "getrandom" },	 { 291, "statx" },	  { 293, "rseq" },	  { 435, "clone3" },
		{ 462, "mseal" },
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		const char *s = ls_sys_name(A, known[i].nr);
		cr_assert(s && !strcmp(s, known[i].name), "aarch64 %lld: %s, want %s", (long long)known[i].nr,
			  s ? s : "NULL", known[i].name);
	}
	cr_assert_null(ls_sys_name(A, 244), "arch-specific range is empty on aarch64");
	cr_assert_null(ls_sys_name(A, 259));
	cr_assert_null(ls_sys_name(A, 295));
	cr_assert_null(ls_sys_name(A, 1024));
	cr_assert_eq(nr_of(A, "open"), -1, "no open on asm-generic");
	cr_assert_eq(nr_of(A, "stat"), -1);
	cr_assert_eq(nr_of(A, "fork"), -1);
	cr_assert_null(ls_sys_name(LS_ARCH_UNKNOWN, 0));
}

Test(systab, tables_complete)
{
	unsigned nx = 0, na = 0;

	for (int64_t n = 0; n < 1024; n++) {
		nx += ls_sys_name(X, n) != NULL;
		na += ls_sys_name(A, n) != NULL;
	}
	/* Linux 6.1 headers (362 and 306) plus the 12 syscalls of 6.5-6.10. */
	cr_assert_eq(nx, 374);
	cr_assert_eq(na, 318);
}

/* Typical arguments: every pointer non-NULL and distinct, counts small. */
static const uint64_t ARGS[6] = { 0x10000, 0x20000, 0x30000, 0x40000, 0x50000, 0x60000 };

static int out(enum ls_arch arch, const char *name, const uint64_t args[6], int64_t ret, uint64_t *addr, uint64_t *len)
{
	int64_t nr = nr_of(arch, name);

	cr_assert_neq(nr, -1, "%s has no number", name);
	*addr = *len = 0xdead;
	int r = ls_sys_output(arch, nr, args, ret, addr, len);
	if (!r) {
		cr_assert_eq(*addr, 0xdead, "untouched without output");
		cr_assert_eq(*len, 0xdead);
	}
	return r;
}

static void expect(enum ls_arch arch, const char *name, int64_t ret, unsigned argi, uint64_t len)
{
	uint64_t a, l;

	cr_assert_eq(out(arch, name, ARGS, ret, &a, &l), 1, "%s (%s) ret %lld: no output", name, arch == X ? "x86_64" : "aarch64",
		     (long long)ret);
	cr_assert_eq(a, ARGS[argi], "%s: output at args[%u]", name, argi);
	cr_assert_eq(l, len, "%s (%s): %llu bytes, want %llu", name, arch == X ? "x86_64" : "aarch64", (unsigned long long)l,
		     (unsigned long long)len);
}

static void none(enum ls_arch arch, const char *name, int64_t ret)
{
	uint64_t a, l;

	cr_assert_eq(out(arch, name, ARGS, ret, &a, &l), 0, "%s ret %lld has an output", name, (long long)ret);
}

/* The rules on both architectures (x86_64-only ones separately). */
static void both_expect(const char *name, int64_t ret, unsigned argi, uint64_t len_x, uint64_t len_a)
{
	expect(X, name, ret, argi, len_x);
	expect(A, name, ret, argi, len_a);
}

Test(systab, outputs_byte_counts)
{
	both_expect("read", 100, 1, 100, 100);
	both_expect("pread64", 5, 1, 5, 5);
	both_expect("recvfrom", 7, 1, 7, 7);
	both_expect("mq_timedreceive", 7, 1, 7, 7);
	both_expect("getrandom", 16, 0, 16, 16);
	both_expect("getdents64", 4096, 1, 4096, 4096);
	both_expect("getcwd", 10, 0, 10, 10);
	both_expect("readlinkat", 12, 2, 12, 12);
	both_expect("sched_getaffinity", 8, 2, 8, 8);
	expect(X, "readlink", 12, 1, 12);
	expect(X, "getdents", 300, 1, 300);
	/* Nothing read: nothing written. */
	none(X, "read", 0);
	none(A, "read", 0);
	none(X, "read", EFAULT_RET);
	none(X, "read", -4095);
	none(X, "getrandom", -11);
}

Test(systab, outputs_structs)
{
	both_expect("clock_gettime", 0, 1, 16, 16);
	both_expect("clock_getres", 0, 1, 16, 16);
	both_expect("gettimeofday", 0, 0, 16, 16);
	both_expect("uname", 0, 0, 390, 390);
	both_expect("fstat", 0, 1, 144, 128);
	both_expect("newfstatat", 0, 2, 144, 128);
	both_expect("statx", 0, 4, 256, 256);
	both_expect("statfs", 0, 1, 120, 120);
	both_expect("fstatfs", 0, 1, 120, 120);
	both_expect("pipe2", 0, 0, 8, 8);
	both_expect("socketpair", 0, 3, 8, 8);
	both_expect("waitid", 0, 2, 128, 128);
	both_expect("sysinfo", 0, 0, 112, 112);
	both_expect("getrusage", 0, 1, 144, 144);
	both_expect("getrlimit", 0, 1, 16, 16);
	both_expect("prlimit64", 0, 3, 16, 16);
	both_expect("getitimer", 0, 1, 32, 32);
	both_expect("timer_gettime", 0, 1, 32, 32);
	both_expect("timerfd_gettime", 0, 1, 32, 32);
	both_expect("sigaltstack", 0, 1, 24, 24);
	both_expect("getcpu", 0, 0, 4, 4);
	expect(X, "stat", 0, 1, 144);
	expect(X, "lstat", 0, 1, 144);
	expect(X, "pipe", 0, 0, 8);
	/* Failed: nothing. */
	none(X, "fstat", -9);
	none(A, "clock_gettime", -22);
	none(X, "uname", EFAULT_RET);
	none(A, "statx", -2);
}

Test(systab, outputs_with_values)
{
	/* times and time return a value, not 0: their outputs count unless they failed. */
	both_expect("times", 1234567, 0, 32, 32);
	both_expect("times", 0, 0, 32, 32);
	expect(X, "times", -4096, 0, 32); /* a clock value, not an errno */
	none(X, "times", EFAULT_RET);
	expect(X, "time", 1700000000, 0, 8);
	/* wait4: the status when a child was reaped (ret is its pid), not with WNOHANG and nothing. */
	both_expect("wait4", 4242, 1, 4, 4);
	none(X, "wait4", 0);
	none(A, "wait4", -10);
}

Test(systab, outputs_counted_arrays)
{
	uint64_t args[6] = { 0x10000, 5, 0x30000, 8, 0, 0 }, a, l;

	/* epoll_event: packed 12 bytes on x86_64, 16 on aarch64. */
	expect(X, "epoll_wait", 3, 1, 36);
	both_expect("epoll_pwait", 3, 1, 36, 48);
	both_expect("epoll_pwait2", 2, 1, 24, 32);
	none(X, "epoll_wait", 0);
	both_expect("io_getevents", 2, 3, 64, 64);
	/* poll: the whole pollfd array (revents), timeouts included. */
	cr_assert_eq(out(X, "poll", args, 0, &a, &l), 1);
	cr_assert(a == 0x10000 && l == 40);
	cr_assert_eq(out(A, "ppoll", args, 2, &a, &l), 1);
	cr_assert(a == 0x10000 && l == 40);
	cr_assert_eq(out(X, "poll", args, -4, &a, &l), 0, "EINTR");
	/* Signal state: rt_sigaction's old action is handler, flags, restorer and the mask. */
	cr_assert_eq(out(X, "rt_sigaction", args, 0, &a, &l), 1);
	cr_assert(a == 0x30000 && l == 32, "%llx %llu", (unsigned long long)a, (unsigned long long)l);
	cr_assert_eq(out(A, "rt_sigaction", args, 0, &a, &l), 1);
	cr_assert(a == 0x30000 && l == 32);
	cr_assert_eq(out(X, "rt_sigprocmask", args, 0, &a, &l), 1);
	cr_assert(a == 0x30000 && l == 8);
	cr_assert_eq(out(A, "rt_sigprocmask", args, -22, &a, &l), 0);
}

Test(systab, outputs_null_pointers_and_absurd_counts)
{
	uint64_t args[6] = { 0 }, a, l;

	cr_assert_eq(out(X, "clock_getres", args, 0, &a, &l), 0, "NULL res");
	cr_assert_eq(out(X, "time", args, 1700000000, &a, &l), 0, "time(NULL)");
	cr_assert_eq(out(A, "times", args, 5, &a, &l), 0, "times(NULL)");
	cr_assert_eq(out(X, "prlimit64", args, 0, &a, &l), 0, "no old limit asked");
	cr_assert_eq(out(X, "rt_sigaction", args, 0, &a, &l), 0, "no old action asked");
	cr_assert_eq(out(A, "wait4", args, 77, &a, &l), 0, "status NULL");
	args[0] = args[1] = 0x1000;
	args[3] = ~0ull;
	cr_assert_eq(out(X, "rt_sigaction", (uint64_t[6]){ 1, 1, 1, ~0ull, 0, 0 }, 0, &a, &l), 0, "absurd sigsetsize");
	args[1] = 1ull << 40;
	cr_assert_eq(out(X, "poll", args, 0, &a, &l), 0, "absurd nfds");
	cr_assert_eq(out(X, "epoll_wait", ARGS, INT64_MAX, &a, &l), 0, "absurd count");
}

/* getpid, gettid and friends have no output: their value is the return value. */
Test(systab, no_output_syscalls)
{
	static const char *names[] = { "getpid", "gettid", "getppid", "getuid", "write", "close", "openat", "mmap",
				       "brk", "futex", "exit_group", "execve", "clone", "nanosleep", "ioctl",
				       "readv", "recvmsg", "getresuid", "getresgid" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		none(X, names[i], 0);
		none(X, names[i], 8);
		none(A, names[i], 0);
		none(A, names[i], 8);
	}
	uint64_t a, l;
	cr_assert_eq(ls_sys_output(LS_ARCH_UNKNOWN, 0, ARGS, 8, &a, &l), 0);
	cr_assert_eq(ls_sys_output(X, -1, ARGS, 8, &a, &l), 0);
	cr_assert_eq(ls_sys_output(X, 1ll << 40, ARGS, 8, &a, &l), 0);
}

/*
 * Every number of each table, tried with pointers everywhere and the return
 * values that mean success: exactly the syscalls listed here have an output.
 * A rule with a wrong number shows up as a name missing or an extra one.
 */
static const char *const covered_x86_64[] = {
	"clock_getres", "clock_gettime", "epoll_pwait", "epoll_pwait2", "epoll_wait", "fstat", "fstatfs",
	"getcpu", "getcwd", "getdents", "getdents64", "getitimer", "getrandom", "getrlimit", "getrusage",
	"gettimeofday", "io_getevents", "lstat", "mq_timedreceive", "newfstatat", "pipe", "pipe2", "poll",
	"ppoll", "pread64", "prlimit64", "read", "readlink", "readlinkat", "recvfrom", "rt_sigaction",
	"rt_sigprocmask", "sched_getaffinity", "sigaltstack", "socketpair", "stat", "statfs", "statx",
	"sysinfo", "time", "timer_gettime", "timerfd_gettime", "times", "uname", "wait4", "waitid",
};
static const char *const covered_aarch64[] = {
	"clock_getres", "clock_gettime", "epoll_pwait", "epoll_pwait2", "fstat", "fstatfs", "getcpu",
	"getcwd", "getdents64", "getitimer", "getrandom", "getrlimit", "getrusage", "gettimeofday",
	"io_getevents", "mq_timedreceive", "newfstatat", "pipe2", "ppoll", "pread64", "prlimit64", "read",
	"readlinkat", "recvfrom", "rt_sigaction", "rt_sigprocmask", "sched_getaffinity", "sigaltstack",
	"socketpair", "statfs", "statx", "sysinfo", "timer_gettime", "timerfd_gettime", "times", "uname",
	"wait4", "waitid",
};

static void check_coverage(enum ls_arch arch, const char *const *want, size_t nwant)
{
	uint64_t args[6] = { 0x10000, 1, 0x30000, 8, 0x50000, 0 }, a, l;
	size_t found = 0;

	for (int64_t n = 0; n < 1024; n++) {
		int any = 0;
		for (int64_t ret = 0; ret <= 1 && !any; ret++)
			any = ls_sys_output(arch, n, args, ret, &a, &l);
		if (!any)
			continue;
		const char *name = ls_sys_name(arch, n);
		cr_assert_not_null(name, "number %lld has an output rule but no name", (long long)n);
		size_t i;
		for (i = 0; i < nwant && strcmp(want[i], name); i++)
			;
		cr_assert_lt(i, nwant, "%s (%lld) has an output rule it should not have", name, (long long)n);
		found++;
	}
	cr_assert_eq(found, nwant, "%zu of %zu covered syscalls have a rule", found, nwant);
}

Test(systab, coverage_x86_64)
{
	check_coverage(X, covered_x86_64, sizeof(covered_x86_64) / sizeof(covered_x86_64[0]));
}

Test(systab, coverage_aarch64)
{
	check_coverage(A, covered_aarch64, sizeof(covered_aarch64) / sizeof(covered_aarch64[0]));
}

/* A stat of a pipe differs in any two runs (inode, times); a stat of a file only in its access time. */
Test(systab, stat_outputs_lose_what_differs_between_runs)
{
	uint8_t st[144], st2[144];
	int64_t fstat_nr = 5, statx_nr = 332;

	memset(st, 0x5a, sizeof(st));
	/* x86_64 struct stat: st_mode at 24. */
	uint32_t fifo = 0010600;
	memcpy(st + 24, &fifo, 4);
	memcpy(st2, st, sizeof(st));
	cr_assert_gt(ls_sys_out_denoise(LS_ARCH_X86_64, fstat_nr, st, sizeof(st)), 0);
	for (int i = 0; i < 24; i++)
		cr_assert_eq(st[i], 0, "dev, ino, nlink cleared for a pipe (byte %d)", i);
	cr_assert_eq(memcmp(st + 24, st2 + 24, 16), 0, "mode, uid, gid stay");
	for (int i = 40; i < 48; i++)
		cr_assert_eq(st[i], 0, "rdev cleared for a pipe or terminal (byte %d)", i);
	cr_assert_eq(memcmp(st + 48, st2 + 48, 8), 0, "size stays");
	cr_assert_eq(st[56], 0x5a, "blksize stays");
	for (int i = 72; i < 120; i++)
		cr_assert_eq(st[i], 0, "times cleared (byte %d)", i);

	/* A regular file: only the access time goes. */
	memset(st, 0x5a, sizeof(st));
	uint32_t reg = 0100644;
	memcpy(st + 24, &reg, 4);
	ls_sys_out_denoise(LS_ARCH_X86_64, fstat_nr, st, sizeof(st));
	cr_assert_eq(st[8], 0x5a, "a file's inode is its identity: kept");
	cr_assert_eq(st[72], 0, "atime cleared");
	cr_assert_eq(st[88], 0x5a, "mtime kept");

	/* aarch64: struct stat puts st_mode at 16 and nlink (4 bytes) at 20. */
	uint8_t a64[128];
	memset(a64, 0x5a, sizeof(a64));
	memcpy(a64 + 16, &fifo, 4);
	cr_assert_gt(ls_sys_out_denoise(LS_ARCH_AARCH64, 80, a64, sizeof(a64)), 0);
	cr_assert_eq(a64[8], 0, "ino");
	cr_assert_eq(a64[16], fifo & 0xff, "mode kept");
	cr_assert_eq(a64[20], 0, "nlink");

	/* statx: mode is 16 bits at 28, ino at 32, dev at 136. */
	uint8_t sx[256];
	memset(sx, 0x5a, sizeof(sx));
	uint16_t sock = 0140777;
	memcpy(sx + 28, &sock, 2);
	cr_assert_gt(ls_sys_out_denoise(LS_ARCH_X86_64, statx_nr, sx, sizeof(sx)), 0);
	cr_assert_eq(sx[32], 0);
	cr_assert_eq(sx[136], 0);
	cr_assert_eq(sx[40], 0x5a, "size kept");

	/* Anything else, or a short buffer: untouched. */
	memset(st, 0x5a, sizeof(st));
	cr_assert_eq(ls_sys_out_denoise(LS_ARCH_X86_64, 228 /* clock_gettime */, st, 16), 0);
	cr_assert_eq(ls_sys_out_denoise(LS_ARCH_X86_64, fstat_nr, st, 20), 0);
	cr_assert_eq(st[0], 0x5a);
}
