/* test_wirecheck.c - what the monitor accepts from a target's memory: crafted infos, batches and log spans. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safeopen.h"
#include "wirecheck.h"

static struct ls_plugin_info good_info(void)
{
	return (struct ls_plugin_info){ .magic = LS_MAGIC, .version = LS_WIRE_VERSION, .batch_order = 16,
					.ring_order = 21, .batches_addr = 0x7f0000001000, .flags = LS_INFO_SYSCALLS,
					.sys_order = 16, .tlog_addr = 0x7f1000000000, .tlog_cap = 64 << 20 };
}

static struct ls_batch good_batch(void)
{
	return (struct ls_batch){ .magic = LS_MAGIC, .version = LS_WIRE_VERSION, .batch_order = 16, .ring_order = 21,
				  .ring_addr = 0x7f2000000000, .head_addr = 0x7f0000002000, .sys_addr = 0x7f3000000000,
				  .sys_next = 70000, .nblocks = 10 };
}

Test(wirecheck, plugin_values_pass)
{
	struct ls_plugin_info i = good_info();
	struct ls_batch b = good_batch();

	cr_assert_null(ls_info_problem(&i));
	cr_assert_null(ls_batch_problem(&b, &i));
}

Test(wirecheck, info_out_of_range)
{
	struct ls_plugin_info i;

#define BAD_INFO(field, val)                                                                            \
	do {                                                                                            \
		i = good_info();                                                                        \
		i.field = val;                                                                          \
		cr_expect_not_null(ls_info_problem(&i), #field " = " #val " accepted");                 \
	} while (0)
	BAD_INFO(batch_order, 7);
	BAD_INFO(batch_order, 17);
	BAD_INFO(batch_order, 64);
	BAD_INFO(ring_order, 22);
	BAD_INFO(ring_order, 63);
	BAD_INFO(ring_order, 19); /* fewer than 16 chunks */
	BAD_INFO(sys_order, 21);
	BAD_INFO(sys_order, 3);
	BAD_INFO(sys_order, 40);
	BAD_INFO(batches_addr, 0);
	BAD_INFO(batches_addr, 0x7f0000001004);
	BAD_INFO(batches_addr, ~0ull - 8);
	BAD_INFO(tlog_cap, (16ull << 30) + 8);
	BAD_INFO(tlog_addr, ~0ull - 4096 + 8);
	/* sys_order only counts when syscalls are logged */
	i = good_info();
	i.flags = 0;
	i.sys_order = 99;
	cr_expect_null(ls_info_problem(&i));
}

Test(wirecheck, batch_out_of_range)
{
	struct ls_plugin_info i = good_info();
	struct ls_batch b;

#define BAD_BATCH(field, val)                                                                           \
	do {                                                                                            \
		b = good_batch();                                                                       \
		b.field = val;                                                                          \
		cr_expect_not_null(ls_batch_problem(&b, &i), #field " = " #val " accepted");            \
	} while (0)
	BAD_BATCH(magic, 0);
	BAD_BATCH(version, 99);
	BAD_BATCH(ring_order, 40);
	BAD_BATCH(ring_order, 20);
	BAD_BATCH(batch_order, 15);
	BAD_BATCH(vcpu, 64);
	BAD_BATCH(nblocks, 65537);
	BAD_BATCH(ring_addr, 0);
	BAD_BATCH(ring_addr, 0x7f2000000001);
	BAD_BATCH(ring_addr, ~0ull - 4096 + 1);
	BAD_BATCH(head_addr, 3);
}

Test(wirecheck, head_seq)
{
	struct ls_batch b = good_batch();
	uint64_t seq = 0;

	b.chunk = 3;
	b.nblocks = 65536;
	cr_assert_eq(ls_head_seq_of(&b, b.ring_addr + 8 * (4ull << 16), &seq), 0);
	cr_expect_eq(seq, 4ull << 16);
	cr_expect_eq(ls_head_seq_of(&b, b.ring_addr - 8, &seq), -EFAULT);
	cr_expect_eq(ls_head_seq_of(&b, b.ring_addr + 8 * (1ull << 21) + 8, &seq), -EFAULT);
	cr_expect_eq(ls_head_seq_of(&b, b.ring_addr + 3, &seq), -EFAULT);
}

Test(wirecheck, sys_span)
{
	struct ls_batch b = good_batch();
	struct ls_sys_span s;

	/* 70000 logged in a log of 65536: the last 65536, wrapping at slot 70000 % 65536 */
	cr_assert_null(ls_sys_span_of(&b, 16, 1u << 20, &s));
	cr_expect_eq(s.n, 65536);
	cr_expect_eq(s.first_index, 70000 - 65536);
	cr_expect_eq(s.slot[0], 70000 - 65536);
	cr_expect_eq(s.cnt[0] + s.cnt[1], 65536);
	cr_expect_eq(s.slot[1], 0);
	/* the monitor's own cap */
	cr_assert_null(ls_sys_span_of(&b, 16, 100, &s));
	cr_expect_eq(s.n, 100);
	cr_expect_eq(s.first_index, 69900);
	cr_expect_eq(s.cnt[0], 100);
	cr_expect_eq(s.cnt[1], 0);
	/* fewer than the log holds */
	b.sys_next = 5;
	cr_assert_null(ls_sys_span_of(&b, 16, 1u << 20, &s));
	cr_expect_eq(s.n, 5);
	cr_expect_eq(s.first_index, 0);
	/* hostile values */
	b.sys_next = ~0ull;
	cr_expect_not_null(ls_sys_span_of(&b, 16, 1u << 20, &s));
	b.sys_next = 10;
	cr_expect_not_null(ls_sys_span_of(&b, 63, 1u << 20, &s));
	cr_expect_not_null(ls_sys_span_of(&b, 200, 1u << 20, &s));
	b.sys_addr = 0x7f3000000004;
	cr_expect_not_null(ls_sys_span_of(&b, 16, 1u << 20, &s), "misaligned");
	b.sys_addr = 0xffffffffffff0000ull;
	cr_expect_not_null(ls_sys_span_of(&b, 16, 1u << 20, &s), "wraps");
	b.sys_addr = 0;
	cr_expect_not_null(ls_sys_span_of(&b, 16, 1u << 20, &s), "none");
	/* a bad log is the log's problem, not the stream's */
	struct ls_plugin_info i = good_info();
	b.sys_next = ~0ull;
	cr_expect_null(ls_batch_problem(&b, &i));
}

Test(wirecheck, sys_records)
{
	struct ls_sys_rec r[4] = { { .seq = 5, .state = 2 }, { .seq = 9, .state = 2 }, { .seq = 9, .state = 1 },
				   { .seq = 12, .state = 0 } };

	cr_expect_null(ls_sys_recs_problem(r, 4));
	r[0].seq = 100; /* the oldest replaced by a newer one during the copy */
	cr_expect_null(ls_sys_recs_problem(r, 4));
	r[2].seq = 1;
	cr_expect_not_null(ls_sys_recs_problem(r, 4));
	r[2].seq = 9;
	r[1].state = 7;
	cr_expect_not_null(ls_sys_recs_problem(r, 4));
}

Test(wirecheck, tlog_used)
{
	struct ls_plugin_info i = good_info();

	cr_expect_null(ls_tlog_used_problem(&i, 4096, 0));
	cr_expect_null(ls_tlog_used_problem(&i, 4096, 4096));
	cr_expect_not_null(ls_tlog_used_problem(&i, (64 << 20) + 8, 0));
	cr_expect_not_null(ls_tlog_used_problem(&i, 8, 16));
}

/* ---- files a target names ---- */

Test(safeopen, regular_symlink_fifo)
{
	char dir[] = "/tmp/ls-safeopen-XXXXXX", f[64], l[64], p[64];
	int fd;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(f, sizeof(f), "%s/file", dir);
	snprintf(l, sizeof(l), "%s/link", dir);
	snprintf(p, sizeof(p), "%s/fifo", dir);
	fd = open(f, O_CREAT | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(symlink(f, l), 0);
	cr_assert_eq(mkfifo(p, 0600), 0);

	fd = ls_open_regular(f);
	cr_expect_geq(fd, 0);
	if (fd >= 0)
		close(fd);
	cr_expect_eq(ls_open_regular(l), -ELOOP, "a symlink is not followed");
	/* Would block forever without O_NONBLOCK (no writer); refused as not a regular file. */
	cr_expect_eq(ls_open_regular(p), -EINVAL);
	cr_expect_eq(ls_open_regular(dir), -EINVAL);
	cr_expect_eq(ls_open_mapped(-1, 0, 0, "", p), -EINVAL);
	cr_expect_eq(ls_open_mapped(-1, 0, 0, "", l), -ELOOP);
	/* A directory component swapped for a link: not followed either. */
	char d2[80], via[96];
	snprintf(d2, sizeof(d2), "%s/dirlink", dir);
	snprintf(via, sizeof(via), "%s/file", d2);
	cr_assert_eq(symlink(dir, d2), 0);
	fd = ls_open_regular(via);
	cr_expect_geq(fd, 0, "O_NOFOLLOW alone follows a directory link");
	if (fd >= 0)
		close(fd);
	char root[64];
	snprintf(root, sizeof(root), "/proc/%d/root", (int)getpid());
	cr_expect_eq(ls_open_regular_in(root, via), -ELOOP);
	cr_expect_eq(ls_open_mapped(-1, 0, 0, root, via), -ELOOP);
	fd = ls_open_regular_in(root, f);
	cr_expect_geq(fd, 0, "through /proc/PID/root: %d", fd);
	if (fd >= 0)
		close(fd);
	cr_expect_eq(ls_open_regular_in(root, p), -EINVAL);
	unlink(d2);
	unlink(f);
	unlink(l);
	unlink(p);
	rmdir(dir);
}
