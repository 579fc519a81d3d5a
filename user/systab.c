/* SPDX-License-Identifier: MIT */
/*
 * systab.c - guest syscall names and output rules for x86_64 and aarch64
 * linux-user targets (systab.h).
 *
 * The name tables were generated from the kernel headers of Debian 12
 * (linux-libc-dev 6.1 for x86_64, linux-libc-dev-arm64-cross 6.1 for
 * aarch64, which uses the asm-generic numbering), every __NR_ macro
 * resolved through the preprocessor:
 *
 *   names=$(echo '#include <asm/unistd.h>' | $CC -dM -E - |
 *           awk '$2 ~ /^__NR_/ {print substr($2, 6)}' | grep -vx 'syscalls\|arch_specific_syscall')
 *   { echo '#include <asm/unistd.h>'; for n in $names; do echo "NR __NR_$n $n"; done; } |
 *       $CC -E -P - | awk '$1 == "NR" {printf "\t[%s] = \"%s\",\n", $2, $3}' | sort -t[ -k2 -n
 *
 * with CC=gcc and asm/unistd_64.h for x86_64, CC=aarch64-linux-gnu-gcc for
 * aarch64; the syscalls of later kernels are added by hand at the end.
 */
#include "systab.h"

#include <stdbool.h>
#include <string.h>

static const char *const x86_64_names[] = {
	[0] = "read",
	[1] = "write",
	[2] = "open",
	[3] = "close",
	[4] = "stat",
	[5] = "fstat",
	[6] = "lstat",
	[7] = "poll",
	[8] = "lseek",
	[9] = "mmap",
	[10] = "mprotect",
	[11] = "munmap",
	[12] = "brk",
	[13] = "rt_sigaction",
	[14] = "rt_sigprocmask",
	[15] = "rt_sigreturn",
	[16] = "ioctl",
	[17] = "pread64",
	[18] = "pwrite64",
	[19] = "readv",
	[20] = "writev",
	[21] = "access",
	[22] = "pipe",
	[23] = "select",
	[24] = "sched_yield",
	[25] = "mremap",
	[26] = "msync",
	[27] = "mincore",
	[28] = "madvise",
	[29] = "shmget",
	[30] = "shmat",
	[31] = "shmctl",
	[32] = "dup",
	[33] = "dup2",
	[34] = "pause",
	[35] = "nanosleep",
	[36] = "getitimer",
	[37] = "alarm",
	[38] = "setitimer",
	[39] = "getpid",
	[40] = "sendfile",
	[41] = "socket",
	[42] = "connect",
	[43] = "accept",
	[44] = "sendto",
	[45] = "recvfrom",
	[46] = "sendmsg",
	[47] = "recvmsg",
	[48] = "shutdown",
	[49] = "bind",
	[50] = "listen",
	[51] = "getsockname",
	[52] = "getpeername",
	[53] = "socketpair",
	[54] = "setsockopt",
	[55] = "getsockopt",
	[56] = "clone",
	[57] = "fork",
	[58] = "vfork",
	[59] = "execve",
	[60] = "exit",
	[61] = "wait4",
	[62] = "kill",
	[63] = "uname",
	[64] = "semget",
	[65] = "semop",
	[66] = "semctl",
	[67] = "shmdt",
	[68] = "msgget",
	[69] = "msgsnd",
	[70] = "msgrcv",
	[71] = "msgctl",
	[72] = "fcntl",
	[73] = "flock",
	[74] = "fsync",
	[75] = "fdatasync",
	[76] = "truncate",
	[77] = "ftruncate",
	[78] = "getdents",
	[79] = "getcwd",
	[80] = "chdir",
	[81] = "fchdir",
	[82] = "rename",
	[83] = "mkdir",
	[84] = "rmdir",
	[85] = "creat",
	[86] = "link",
	[87] = "unlink",
	[88] = "symlink",
	[89] = "readlink",
	[90] = "chmod",
	[91] = "fchmod",
	[92] = "chown",
	[93] = "fchown",
	[94] = "lchown",
	[95] = "umask",
	[96] = "gettimeofday",
	[97] = "getrlimit",
	[98] = "getrusage",
	[99] = "sysinfo",
	[100] = "times",
	[101] = "ptrace",
	[102] = "getuid",
	[103] = "syslog",
	[104] = "getgid",
	[105] = "setuid",
	[106] = "setgid",
	[107] = "geteuid",
	[108] = "getegid",
	[109] = "setpgid",
	[110] = "getppid",
	[111] = "getpgrp",
	[112] = "setsid",
	[113] = "setreuid",
	[114] = "setregid",
	[115] = "getgroups",
	[116] = "setgroups",
	[117] = "setresuid",
	[118] = "getresuid",
	[119] = "setresgid",
	[120] = "getresgid",
	[121] = "getpgid",
	[122] = "setfsuid",
	[123] = "setfsgid",
	[124] = "getsid",
	[125] = "capget",
	[126] = "capset",
	[127] = "rt_sigpending",
	[128] = "rt_sigtimedwait",
	[129] = "rt_sigqueueinfo",
	[130] = "rt_sigsuspend",
	[131] = "sigaltstack",
	[132] = "utime",
	[133] = "mknod",
	[134] = "uselib",
	[135] = "personality",
	[136] = "ustat",
	[137] = "statfs",
	[138] = "fstatfs",
	[139] = "sysfs",
	[140] = "getpriority",
	[141] = "setpriority",
	[142] = "sched_setparam",
	[143] = "sched_getparam",
	[144] = "sched_setscheduler",
	[145] = "sched_getscheduler",
	[146] = "sched_get_priority_max",
	[147] = "sched_get_priority_min",
	[148] = "sched_rr_get_interval",
	[149] = "mlock",
	[150] = "munlock",
	[151] = "mlockall",
	[152] = "munlockall",
	[153] = "vhangup",
	[154] = "modify_ldt",
	[155] = "pivot_root",
	[156] = "_sysctl",
	[157] = "prctl",
	[158] = "arch_prctl",
	[159] = "adjtimex",
	[160] = "setrlimit",
	[161] = "chroot",
	[162] = "sync",
	[163] = "acct",
	[164] = "settimeofday",
	[165] = "mount",
	[166] = "umount2",
	[167] = "swapon",
	[168] = "swapoff",
	[169] = "reboot",
	[170] = "sethostname",
	[171] = "setdomainname",
	[172] = "iopl",
	[173] = "ioperm",
	[174] = "create_module",
	[175] = "init_module",
	[176] = "delete_module",
	[177] = "get_kernel_syms",
	[178] = "query_module",
	[179] = "quotactl",
	[180] = "nfsservctl",
	[181] = "getpmsg",
	[182] = "putpmsg",
	[183] = "afs_syscall",
	[184] = "tuxcall",
	[185] = "security",
	[186] = "gettid",
	[187] = "readahead",
	[188] = "setxattr",
	[189] = "lsetxattr",
	[190] = "fsetxattr",
	[191] = "getxattr",
	[192] = "lgetxattr",
	[193] = "fgetxattr",
	[194] = "listxattr",
	[195] = "llistxattr",
	[196] = "flistxattr",
	[197] = "removexattr",
	[198] = "lremovexattr",
	[199] = "fremovexattr",
	[200] = "tkill",
	[201] = "time",
	[202] = "futex",
	[203] = "sched_setaffinity",
	[204] = "sched_getaffinity",
	[205] = "set_thread_area",
	[206] = "io_setup",
	[207] = "io_destroy",
	[208] = "io_getevents",
	[209] = "io_submit",
	[210] = "io_cancel",
	[211] = "get_thread_area",
	[212] = "lookup_dcookie",
	[213] = "epoll_create",
	[214] = "epoll_ctl_old",
	[215] = "epoll_wait_old",
	[216] = "remap_file_pages",
	[217] = "getdents64",
	[218] = "set_tid_address",
	[219] = "restart_syscall",
	[220] = "semtimedop",
	[221] = "fadvise64",
	[222] = "timer_create",
	[223] = "timer_settime",
	[224] = "timer_gettime",
	[225] = "timer_getoverrun",
	[226] = "timer_delete",
	[227] = "clock_settime",
	[228] = "clock_gettime",
	[229] = "clock_getres",
	[230] = "clock_nanosleep",
	[231] = "exit_group",
	[232] = "epoll_wait",
	[233] = "epoll_ctl",
	[234] = "tgkill",
	[235] = "utimes",
	[236] = "vserver",
	[237] = "mbind",
	[238] = "set_mempolicy",
	[239] = "get_mempolicy",
	[240] = "mq_open",
	[241] = "mq_unlink",
	[242] = "mq_timedsend",
	[243] = "mq_timedreceive",
	[244] = "mq_notify",
	[245] = "mq_getsetattr",
	[246] = "kexec_load",
	[247] = "waitid",
	[248] = "add_key",
	[249] = "request_key",
	[250] = "keyctl",
	[251] = "ioprio_set",
	[252] = "ioprio_get",
	[253] = "inotify_init",
	[254] = "inotify_add_watch",
	[255] = "inotify_rm_watch",
	[256] = "migrate_pages",
	[257] = "openat",
	[258] = "mkdirat",
	[259] = "mknodat",
	[260] = "fchownat",
	[261] = "futimesat",
	[262] = "newfstatat",
	[263] = "unlinkat",
	[264] = "renameat",
	[265] = "linkat",
	[266] = "symlinkat",
	[267] = "readlinkat",
	[268] = "fchmodat",
	[269] = "faccessat",
	[270] = "pselect6",
	[271] = "ppoll",
	[272] = "unshare",
	[273] = "set_robust_list",
	[274] = "get_robust_list",
	[275] = "splice",
	[276] = "tee",
	[277] = "sync_file_range",
	[278] = "vmsplice",
	[279] = "move_pages",
	[280] = "utimensat",
	[281] = "epoll_pwait",
	[282] = "signalfd",
	[283] = "timerfd_create",
	[284] = "eventfd",
	[285] = "fallocate",
	[286] = "timerfd_settime",
	[287] = "timerfd_gettime",
	[288] = "accept4",
	[289] = "signalfd4",
	[290] = "eventfd2",
	[291] = "epoll_create1",
	[292] = "dup3",
	[293] = "pipe2",
	[294] = "inotify_init1",
	[295] = "preadv",
	[296] = "pwritev",
	[297] = "rt_tgsigqueueinfo",
	[298] = "perf_event_open",
	[299] = "recvmmsg",
	[300] = "fanotify_init",
	[301] = "fanotify_mark",
	[302] = "prlimit64",
	[303] = "name_to_handle_at",
	[304] = "open_by_handle_at",
	[305] = "clock_adjtime",
	[306] = "syncfs",
	[307] = "sendmmsg",
	[308] = "setns",
	[309] = "getcpu",
	[310] = "process_vm_readv",
	[311] = "process_vm_writev",
	[312] = "kcmp",
	[313] = "finit_module",
	[314] = "sched_setattr",
	[315] = "sched_getattr",
	[316] = "renameat2",
	[317] = "seccomp",
	[318] = "getrandom",
	[319] = "memfd_create",
	[320] = "kexec_file_load",
	[321] = "bpf",
	[322] = "execveat",
	[323] = "userfaultfd",
	[324] = "membarrier",
	[325] = "mlock2",
	[326] = "copy_file_range",
	[327] = "preadv2",
	[328] = "pwritev2",
	[329] = "pkey_mprotect",
	[330] = "pkey_alloc",
	[331] = "pkey_free",
	[332] = "statx",
	[333] = "io_pgetevents",
	[334] = "rseq",
	/* After 6.1 (the headers above), the same numbers on every architecture: */
};

static const char *const aarch64_names[] = {
	[0] = "io_setup",
	[1] = "io_destroy",
	[2] = "io_submit",
	[3] = "io_cancel",
	[4] = "io_getevents",
	[5] = "setxattr",
	[6] = "lsetxattr",
	[7] = "fsetxattr",
	[8] = "getxattr",
	[9] = "lgetxattr",
	[10] = "fgetxattr",
	[11] = "listxattr",
	[12] = "llistxattr",
	[13] = "flistxattr",
	[14] = "removexattr",
	[15] = "lremovexattr",
	[16] = "fremovexattr",
	[17] = "getcwd",
	[18] = "lookup_dcookie",
	[19] = "eventfd2",
	[20] = "epoll_create1",
	[21] = "epoll_ctl",
	[22] = "epoll_pwait",
	[23] = "dup",
	[24] = "dup3",
	[25] = "fcntl",
	[26] = "inotify_init1",
	[27] = "inotify_add_watch",
	[28] = "inotify_rm_watch",
	[29] = "ioctl",
	[30] = "ioprio_set",
	[31] = "ioprio_get",
	[32] = "flock",
	[33] = "mknodat",
	[34] = "mkdirat",
	[35] = "unlinkat",
	[36] = "symlinkat",
	[37] = "linkat",
	[38] = "renameat",
	[39] = "umount2",
	[40] = "mount",
	[41] = "pivot_root",
	[42] = "nfsservctl",
	[43] = "statfs",
	[44] = "fstatfs",
	[45] = "truncate",
	[46] = "ftruncate",
	[47] = "fallocate",
	[48] = "faccessat",
	[49] = "chdir",
	[50] = "fchdir",
	[51] = "chroot",
	[52] = "fchmod",
	[53] = "fchmodat",
	[54] = "fchownat",
	[55] = "fchown",
	[56] = "openat",
	[57] = "close",
	[58] = "vhangup",
	[59] = "pipe2",
	[60] = "quotactl",
	[61] = "getdents64",
	[62] = "lseek",
	[63] = "read",
	[64] = "write",
	[65] = "readv",
	[66] = "writev",
	[67] = "pread64",
	[68] = "pwrite64",
	[69] = "preadv",
	[70] = "pwritev",
	[71] = "sendfile",
	[72] = "pselect6",
	[73] = "ppoll",
	[74] = "signalfd4",
	[75] = "vmsplice",
	[76] = "splice",
	[77] = "tee",
	[78] = "readlinkat",
	[79] = "newfstatat",
	[80] = "fstat",
	[81] = "sync",
	[82] = "fsync",
	[83] = "fdatasync",
	[84] = "sync_file_range",
	[85] = "timerfd_create",
	[86] = "timerfd_settime",
	[87] = "timerfd_gettime",
	[88] = "utimensat",
	[89] = "acct",
	[90] = "capget",
	[91] = "capset",
	[92] = "personality",
	[93] = "exit",
	[94] = "exit_group",
	[95] = "waitid",
	[96] = "set_tid_address",
	[97] = "unshare",
	[98] = "futex",
	[99] = "set_robust_list",
	[100] = "get_robust_list",
	[101] = "nanosleep",
	[102] = "getitimer",
	[103] = "setitimer",
	[104] = "kexec_load",
	[105] = "init_module",
	[106] = "delete_module",
	[107] = "timer_create",
	[108] = "timer_gettime",
	[109] = "timer_getoverrun",
	[110] = "timer_settime",
	[111] = "timer_delete",
	[112] = "clock_settime",
	[113] = "clock_gettime",
	[114] = "clock_getres",
	[115] = "clock_nanosleep",
	[116] = "syslog",
	[117] = "ptrace",
	[118] = "sched_setparam",
	[119] = "sched_setscheduler",
	[120] = "sched_getscheduler",
	[121] = "sched_getparam",
	[122] = "sched_setaffinity",
	[123] = "sched_getaffinity",
	[124] = "sched_yield",
	[125] = "sched_get_priority_max",
	[126] = "sched_get_priority_min",
	[127] = "sched_rr_get_interval",
	[128] = "restart_syscall",
	[129] = "kill",
	[130] = "tkill",
	[131] = "tgkill",
	[132] = "sigaltstack",
	[133] = "rt_sigsuspend",
	[134] = "rt_sigaction",
	[135] = "rt_sigprocmask",
	[136] = "rt_sigpending",
	[137] = "rt_sigtimedwait",
	[138] = "rt_sigqueueinfo",
	[139] = "rt_sigreturn",
	[140] = "setpriority",
	[141] = "getpriority",
	[142] = "reboot",
	[143] = "setregid",
	[144] = "setgid",
	[145] = "setreuid",
	[146] = "setuid",
	[147] = "setresuid",
	[148] = "getresuid",
	[149] = "setresgid",
	[150] = "getresgid",
	[151] = "setfsuid",
	[152] = "setfsgid",
	[153] = "times",
	[154] = "setpgid",
	[155] = "getpgid",
	[156] = "getsid",
	[157] = "setsid",
	[158] = "getgroups",
	[159] = "setgroups",
	[160] = "uname",
	[161] = "sethostname",
	[162] = "setdomainname",
	[163] = "getrlimit",
	[164] = "setrlimit",
	[165] = "getrusage",
	[166] = "umask",
	[167] = "prctl",
	[168] = "getcpu",
	[169] = "gettimeofday",
	[170] = "settimeofday",
	[171] = "adjtimex",
	[172] = "getpid",
	[173] = "getppid",
	[174] = "getuid",
	[175] = "geteuid",
	[176] = "getgid",
	[177] = "getegid",
	[178] = "gettid",
	[179] = "sysinfo",
	[180] = "mq_open",
	[181] = "mq_unlink",
	[182] = "mq_timedsend",
	[183] = "mq_timedreceive",
	[184] = "mq_notify",
	[185] = "mq_getsetattr",
	[186] = "msgget",
	[187] = "msgctl",
	[188] = "msgrcv",
	[189] = "msgsnd",
	[190] = "semget",
	[191] = "semctl",
	[192] = "semtimedop",
	[193] = "semop",
	[194] = "shmget",
	[195] = "shmctl",
	[196] = "shmat",
	[197] = "shmdt",
	[198] = "socket",
	[199] = "socketpair",
	[200] = "bind",
	[201] = "listen",
	[202] = "accept",
	[203] = "connect",
	[204] = "getsockname",
	[205] = "getpeername",
	[206] = "sendto",
	[207] = "recvfrom",
	[208] = "setsockopt",
	[209] = "getsockopt",
	[210] = "shutdown",
	[211] = "sendmsg",
	[212] = "recvmsg",
	[213] = "readahead",
	[214] = "brk",
	[215] = "munmap",
	[216] = "mremap",
	[217] = "add_key",
	[218] = "request_key",
	[219] = "keyctl",
	[220] = "clone",
	[221] = "execve",
	[222] = "mmap",
	[223] = "fadvise64",
	[224] = "swapon",
	[225] = "swapoff",
	[226] = "mprotect",
	[227] = "msync",
	[228] = "mlock",
	[229] = "munlock",
	[230] = "mlockall",
	[231] = "munlockall",
	[232] = "mincore",
	[233] = "madvise",
	[234] = "remap_file_pages",
	[235] = "mbind",
	[236] = "get_mempolicy",
	[237] = "set_mempolicy",
	[238] = "migrate_pages",
	[239] = "move_pages",
	[240] = "rt_tgsigqueueinfo",
	[241] = "perf_event_open",
	[242] = "accept4",
	[243] = "recvmmsg",
	[260] = "wait4",
	[261] = "prlimit64",
	[262] = "fanotify_init",
	[263] = "fanotify_mark",
	[264] = "name_to_handle_at",
	[265] = "open_by_handle_at",
	[266] = "clock_adjtime",
	[267] = "syncfs",
	[268] = "setns",
	[269] = "sendmmsg",
	[270] = "process_vm_readv",
	[271] = "process_vm_writev",
	[272] = "kcmp",
	[273] = "finit_module",
	[274] = "sched_setattr",
	[275] = "sched_getattr",
	[276] = "renameat2",
	[277] = "seccomp",
	[278] = "getrandom",
	[279] = "memfd_create",
	[280] = "bpf",
	[281] = "execveat",
	[282] = "userfaultfd",
	[283] = "membarrier",
	[284] = "mlock2",
	[285] = "copy_file_range",
	[286] = "preadv2",
	[287] = "pwritev2",
	[288] = "pkey_mprotect",
	[289] = "pkey_alloc",
	[290] = "pkey_free",
	[291] = "statx",
	[292] = "io_pgetevents",
	[293] = "rseq",
	[294] = "kexec_file_load",
	/* After 6.1 (the headers above), the same numbers on every architecture: */
};

/* Since Linux 5.1 every architecture gives new syscalls the same numbers, from 424 on. */
#define LS_SYS_COMMON_FIRST 424

static const char *const common_names[] = {
	[424 - LS_SYS_COMMON_FIRST] = "pidfd_send_signal",
	[425 - LS_SYS_COMMON_FIRST] = "io_uring_setup",
	[426 - LS_SYS_COMMON_FIRST] = "io_uring_enter",
	[427 - LS_SYS_COMMON_FIRST] = "io_uring_register",
	[428 - LS_SYS_COMMON_FIRST] = "open_tree",
	[429 - LS_SYS_COMMON_FIRST] = "move_mount",
	[430 - LS_SYS_COMMON_FIRST] = "fsopen",
	[431 - LS_SYS_COMMON_FIRST] = "fsconfig",
	[432 - LS_SYS_COMMON_FIRST] = "fsmount",
	[433 - LS_SYS_COMMON_FIRST] = "fspick",
	[434 - LS_SYS_COMMON_FIRST] = "pidfd_open",
	[435 - LS_SYS_COMMON_FIRST] = "clone3",
	[436 - LS_SYS_COMMON_FIRST] = "close_range",
	[437 - LS_SYS_COMMON_FIRST] = "openat2",
	[438 - LS_SYS_COMMON_FIRST] = "pidfd_getfd",
	[439 - LS_SYS_COMMON_FIRST] = "faccessat2",
	[440 - LS_SYS_COMMON_FIRST] = "process_madvise",
	[441 - LS_SYS_COMMON_FIRST] = "epoll_pwait2",
	[442 - LS_SYS_COMMON_FIRST] = "mount_setattr",
	[443 - LS_SYS_COMMON_FIRST] = "quotactl_fd",
	[444 - LS_SYS_COMMON_FIRST] = "landlock_create_ruleset",
	[445 - LS_SYS_COMMON_FIRST] = "landlock_add_rule",
	[446 - LS_SYS_COMMON_FIRST] = "landlock_restrict_self",
	[447 - LS_SYS_COMMON_FIRST] = "memfd_secret",
	[448 - LS_SYS_COMMON_FIRST] = "process_mrelease",
	[449 - LS_SYS_COMMON_FIRST] = "futex_waitv",
	[450 - LS_SYS_COMMON_FIRST] = "set_mempolicy_home_node",
	[451 - LS_SYS_COMMON_FIRST] = "cachestat",
	[452 - LS_SYS_COMMON_FIRST] = "fchmodat2",
	[453 - LS_SYS_COMMON_FIRST] = "map_shadow_stack",
	[454 - LS_SYS_COMMON_FIRST] = "futex_wake",
	[455 - LS_SYS_COMMON_FIRST] = "futex_wait",
	[456 - LS_SYS_COMMON_FIRST] = "futex_requeue",
	[457 - LS_SYS_COMMON_FIRST] = "statmount",
	[458 - LS_SYS_COMMON_FIRST] = "listmount",
	[459 - LS_SYS_COMMON_FIRST] = "lsm_get_self_attr",
	[460 - LS_SYS_COMMON_FIRST] = "lsm_set_self_attr",
	[461 - LS_SYS_COMMON_FIRST] = "lsm_list_modules",
	[462 - LS_SYS_COMMON_FIRST] = "mseal",
};

#define NAMES(t) (sizeof(t) / sizeof((t)[0]))

enum ls_arch ls_arch_from_target(const char *target_name)
{
	if (!target_name)
		return LS_ARCH_UNKNOWN;
	if (!strcmp(target_name, "x86_64"))
		return LS_ARCH_X86_64;
	if (!strcmp(target_name, "aarch64") || !strcmp(target_name, "aarch64_be"))
		return LS_ARCH_AARCH64;
	return LS_ARCH_UNKNOWN;
}

const char *ls_sys_name(enum ls_arch arch, int64_t num)
{
	if (num < 0)
		return NULL;
	if (num >= LS_SYS_COMMON_FIRST && (arch == LS_ARCH_X86_64 || arch == LS_ARCH_AARCH64))
		return (uint64_t)(num - LS_SYS_COMMON_FIRST) < NAMES(common_names) ? common_names[num - LS_SYS_COMMON_FIRST]
										  : NULL;
	switch (arch) {
	case LS_ARCH_X86_64:
		return (uint64_t)num < NAMES(x86_64_names) ? x86_64_names[num] : NULL;
	case LS_ARCH_AARCH64:
		return (uint64_t)num < NAMES(aarch64_names) ? aarch64_names[num] : NULL;
	default:
		return NULL;
	}
}

/*
 * Where a syscall writes its results.  Only one region per syscall: the one
 * a guest's behaviour most depends on (wait4's status, not its rusage).
 * Syscalls whose output buffers are only found by reading guest memory
 * (readv, recvmsg, getsockname's length, ...) are not covered: this table
 * works from the registers alone.
 */
/*
 * The plugin reads an output in place when its length equals the return
 * value, trusting that the call then wrote all of it (plugin/syslog.c): a
 * new rule must not produce len == ret otherwise.
 */
enum out_kind {
	OUT_RET_BYTES, /* ret bytes at the pointer, when ret > 0: read, getrandom, getcwd ... */
	OUT_FIXED, /* size bytes when ret == 0: clock_gettime, fstat, uname ... */
	OUT_FIXED_ANY, /* size bytes unless it failed (ret is a value): times, time */
	OUT_FIXED_POS, /* size bytes when ret > 0: wait4's status (ret 0: WNOHANG, no child changed) */
	OUT_RET_ELEMS, /* ret elements of size bytes, when ret > 0: epoll_wait, io_getevents */
	OUT_ARG_ELEMS, /* args[count] elements of size bytes unless it failed: poll's revents */
	OUT_ARG_BYTES, /* args[count] bytes when ret == 0: rt_sigprocmask's old set */
	OUT_SIGACTION, /* struct sigaction: 24 + args[count] (sigsetsize) bytes when ret == 0 */
};

struct out_rule {
	int16_t nr[2]; /* x86_64, aarch64; -1: no such syscall there */
	uint8_t kind; /* enum out_kind */
	uint8_t ptr; /* the argument that points at the output */
	uint8_t count; /* the argument with the element count or byte length, where the kind uses one */
	uint16_t size[2]; /* element or struct size on x86_64, aarch64 */
};

#define RULE(x, a, k, p, sx, sa) { { x, a }, k, p, 0, { sx, sa } }
#define RULE_N(x, a, k, p, n, sx, sa) { { x, a }, k, p, n, { sx, sa } }

/* Struct sizes checked against each architecture's uapi headers (tests/test_systab.c lists them). */
static const struct out_rule out_rules[] = {
	RULE(0, 63, OUT_RET_BYTES, 1, 1, 1), /* read */
	RULE(17, 67, OUT_RET_BYTES, 1, 1, 1), /* pread64 */
	RULE(45, 207, OUT_RET_BYTES, 1, 1, 1), /* recvfrom (the data, not the source address) */
	RULE(243, 183, OUT_RET_BYTES, 1, 1, 1), /* mq_timedreceive */
	RULE(318, 278, OUT_RET_BYTES, 0, 1, 1), /* getrandom */
	RULE(217, 61, OUT_RET_BYTES, 1, 1, 1), /* getdents64 */
	RULE(78, -1, OUT_RET_BYTES, 1, 1, 1), /* getdents */
	RULE(79, 17, OUT_RET_BYTES, 0, 1, 1), /* getcwd: ret counts the NUL */
	RULE(89, -1, OUT_RET_BYTES, 1, 1, 1), /* readlink */
	RULE(267, 78, OUT_RET_BYTES, 2, 1, 1), /* readlinkat */
	RULE(204, 123, OUT_RET_BYTES, 2, 1, 1), /* sched_getaffinity: ret is the mask size copied */
	RULE(228, 113, OUT_FIXED, 1, 16, 16), /* clock_gettime: struct timespec */
	RULE(229, 114, OUT_FIXED, 1, 16, 16), /* clock_getres (NULL allowed) */
	RULE(96, 169, OUT_FIXED, 0, 16, 16), /* gettimeofday: struct timeval (the timezone is not covered) */
	RULE(201, -1, OUT_FIXED_ANY, 0, 8, 0), /* time (NULL allowed; the time is also ret) */
	RULE(63, 160, OUT_FIXED, 0, 390, 390), /* uname: struct new_utsname */
	RULE(5, 80, OUT_FIXED, 1, 144, 128), /* fstat: struct stat */
	RULE(4, -1, OUT_FIXED, 1, 144, 0), /* stat */
	RULE(6, -1, OUT_FIXED, 1, 144, 0), /* lstat */
	RULE(262, 79, OUT_FIXED, 2, 144, 128), /* newfstatat */
	RULE(332, 291, OUT_FIXED, 4, 256, 256), /* statx */
	RULE(137, 43, OUT_FIXED, 1, 120, 120), /* statfs */
	RULE(138, 44, OUT_FIXED, 1, 120, 120), /* fstatfs */
	RULE(22, -1, OUT_FIXED, 0, 8, 0), /* pipe: int[2] */
	RULE(293, 59, OUT_FIXED, 0, 8, 8), /* pipe2 */
	RULE(53, 199, OUT_FIXED, 3, 8, 8), /* socketpair */
	RULE(61, 260, OUT_FIXED_POS, 1, 4, 4), /* wait4: the int status (not the rusage) */
	RULE(247, 95, OUT_FIXED, 2, 128, 128), /* waitid: siginfo_t */
	RULE(99, 179, OUT_FIXED, 0, 112, 112), /* sysinfo */
	RULE(100, 153, OUT_FIXED_ANY, 0, 32, 32), /* times: struct tms (NULL allowed) */
	RULE(98, 165, OUT_FIXED, 1, 144, 144), /* getrusage: struct rusage */
	RULE(97, 163, OUT_FIXED, 1, 16, 16), /* getrlimit */
	RULE(302, 261, OUT_FIXED, 3, 16, 16), /* prlimit64: the old limit (NULL allowed) */
	RULE(36, 102, OUT_FIXED, 1, 32, 32), /* getitimer: struct itimerval */
	RULE(224, 108, OUT_FIXED, 1, 32, 32), /* timer_gettime: struct itimerspec */
	RULE(287, 87, OUT_FIXED, 1, 32, 32), /* timerfd_gettime */
	RULE(131, 132, OUT_FIXED, 1, 24, 24), /* sigaltstack: the old stack_t (NULL allowed) */
	RULE(309, 168, OUT_FIXED, 0, 4, 4), /* getcpu: the cpu (the node is not covered) */
	RULE_N(13, 134, OUT_SIGACTION, 2, 3, 0, 0), /* rt_sigaction: the old action (NULL allowed) */
	RULE_N(14, 135, OUT_ARG_BYTES, 2, 3, 0, 0), /* rt_sigprocmask: the old set (NULL allowed) */
	RULE(232, -1, OUT_RET_ELEMS, 1, 12, 0), /* epoll_wait: struct epoll_event is packed on x86_64 */
	RULE(281, 22, OUT_RET_ELEMS, 1, 12, 16), /* epoll_pwait */
	RULE(441, 441, OUT_RET_ELEMS, 1, 12, 16), /* epoll_pwait2 */
	RULE(208, 4, OUT_RET_ELEMS, 3, 32, 32), /* io_getevents: struct io_event */
	RULE_N(7, -1, OUT_ARG_ELEMS, 0, 1, 8, 0), /* poll: the pollfd array with its revents */
	RULE_N(271, 73, OUT_ARG_ELEMS, 0, 1, 8, 8), /* ppoll */
};

#define LS_MAX_ERRNO 4095
/* Counts and lengths beyond this are not believed (a buggy or hostile guest). */
#define LS_MAX_OUT (1ull << 32)

/*
 * Where the fields of struct stat (each architecture's) and struct statx
 * are that ls_sys_out_denoise clears: offset and size of the file type
 * word, then (offset, size) pairs of the identity and time fields.
 */
struct noise_layout {
	uint16_t mode_off, mode_size;
	uint16_t always[2][2]; /* access times: cleared for every file type */
	uint16_t volatile_[8][2]; /* device, inode, links, other times: cleared for pipes, sockets, char devices */
};

/* Also rdev: which terminal (/dev/pts/3 or /dev/pts/4) two runs started from two shells write to. */
static const struct noise_layout stat_x86_64 = {
	24, 4, { { 72, 16 }, { 0, 0 } }, { { 0, 8 }, { 8, 8 }, { 16, 8 }, { 40, 8 }, { 88, 16 }, { 104, 16 } },
};
static const struct noise_layout stat_aarch64 = {
	16, 4, { { 72, 16 }, { 0, 0 } }, { { 0, 8 }, { 8, 8 }, { 20, 4 }, { 32, 8 }, { 88, 16 }, { 104, 16 } },
};
/* statx: nlink 16, mode 28 (u16), ino 32, atime 64, btime 80, ctime 96, mtime 112, rdev 128-135, dev 136-143, mnt_id 144. */
static const struct noise_layout statx_layout = {
	28, 2, { { 64, 16 }, { 0, 0 } },
	{ { 16, 4 }, { 32, 8 }, { 80, 16 }, { 96, 16 }, { 112, 16 }, { 128, 8 }, { 136, 8 }, { 144, 8 } },
};

size_t ls_sys_out_denoise(enum ls_arch arch, int64_t num, uint8_t *buf, size_t n)
{
	const char *name = ls_sys_name(arch, num);
	const struct noise_layout *l;

	if (!name)
		return 0;
	if (!strcmp(name, "statx"))
		l = &statx_layout;
	else if (!strcmp(name, "fstat") || !strcmp(name, "stat") || !strcmp(name, "lstat") || !strcmp(name, "newfstatat"))
		l = arch == LS_ARCH_X86_64 ? &stat_x86_64 : arch == LS_ARCH_AARCH64 ? &stat_aarch64 : NULL;
	else
		return 0;
	if (!l || n < (size_t)l->mode_off + l->mode_size)
		return 0;
	uint32_t mode = buf[l->mode_off] | (uint32_t)buf[l->mode_off + 1] << 8;
	if (l->mode_size == 4)
		mode |= (uint32_t)buf[l->mode_off + 2] << 16 | (uint32_t)buf[l->mode_off + 3] << 24;
	unsigned type = mode & 0170000;
	/* A fresh pipe or socket every run, and a terminal's times move while it is used. */
	bool fleeting = type == 0010000 || type == 0140000 || type == 0020000;
	size_t cleared = 0;
	for (unsigned i = 0; i < 2; i++)
		if (l->always[i][1] && l->always[i][0] + l->always[i][1] <= n) {
			memset(buf + l->always[i][0], 0, l->always[i][1]);
			cleared += l->always[i][1];
		}
	for (unsigned i = 0; fleeting && i < 8; i++)
		if (l->volatile_[i][1] && l->volatile_[i][0] + l->volatile_[i][1] <= n) {
			memset(buf + l->volatile_[i][0], 0, l->volatile_[i][1]);
			cleared += l->volatile_[i][1];
		}
	return cleared;
}

int ls_sys_output(enum ls_arch arch, int64_t num, const uint64_t args[6], int64_t ret, uint64_t *addr, uint64_t *len)
{
	const struct out_rule *r = NULL;
	unsigned a;
	uint64_t n;

	if (arch == LS_ARCH_X86_64)
		a = 0;
	else if (arch == LS_ARCH_AARCH64)
		a = 1;
	else
		return 0;
	if (num < 0 || num > INT16_MAX || (ret < 0 && ret >= -LS_MAX_ERRNO))
		return 0; /* unknown, or failed: a failed call's output is not defined */
	for (size_t i = 0; i < sizeof(out_rules) / sizeof(out_rules[0]); i++) {
		if (out_rules[i].nr[a] == num) {
			r = &out_rules[i];
			break;
		}
	}
	if (!r || !args[r->ptr])
		return 0;
	switch (r->kind) {
	case OUT_RET_BYTES:
		if (ret <= 0)
			return 0;
		n = (uint64_t)ret;
		break;
	case OUT_FIXED:
		if (ret != 0)
			return 0;
		n = r->size[a];
		break;
	case OUT_FIXED_ANY:
		n = r->size[a];
		break;
	case OUT_FIXED_POS:
		if (ret <= 0)
			return 0;
		n = r->size[a];
		break;
	case OUT_RET_ELEMS:
		if (ret <= 0)
			return 0;
		if ((uint64_t)ret > LS_MAX_OUT / r->size[a])
			return 0;
		n = (uint64_t)ret * r->size[a];
		break;
	case OUT_ARG_ELEMS:
		if (args[r->count] > LS_MAX_OUT / r->size[a])
			return 0;
		n = args[r->count] * r->size[a];
		break;
	case OUT_ARG_BYTES:
		if (ret != 0)
			return 0;
		n = args[r->count];
		break;
	case OUT_SIGACTION:
		if (ret != 0 || args[r->count] > LS_MAX_OUT)
			return 0;
		n = 24 + args[r->count]; /* handler, flags, restorer, then the mask */
		break;
	default:
		return 0;
	}
	if (n == 0 || n > LS_MAX_OUT)
		return 0;
	*addr = args[r->ptr];
	*len = n;
	return 1;
}
