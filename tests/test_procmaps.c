/* test_procmaps.c - /proc/PID/maps line parsing, iteration with the bad-line counter, and file offset to address. */
#include <criterion/criterion.h>
#include <string.h>

#include "procmaps.h"

static struct ls_map m;

static void assert_path(const struct ls_map *map, const char *want)
{
	cr_assert_not_null(map->path);
	cr_assert_eq(map->path_len, strlen(want), "path_len %zu for '%s'", map->path_len, want);
	cr_assert_eq(memcmp(map->path, want, map->path_len), 0, "path '%.*s' != '%s'", (int)map->path_len,
		     map->path, want);
}

Test(procmaps, file_mapping)
{
	const char *line = "55d4c8a00000-55d4c8a28000 r-xp 00001000 08:01 1311234                    /usr/bin/qemu-x86_64\n";

	cr_assert_eq(ls_maps_parse_line(line, &m), 0);
	cr_assert_eq(m.start, 0x55d4c8a00000ULL);
	cr_assert_eq(m.end, 0x55d4c8a28000ULL);
	cr_assert_eq(m.offset, 0x1000);
	cr_assert_str_eq(m.perms, "r-xp");
	cr_assert_eq(m.inode, 1311234);
	assert_path(&m, "/usr/bin/qemu-x86_64");
}

Test(procmaps, without_newline)
{
	cr_assert_eq(ls_maps_parse_line("7f0000000000-7f0000001000 rw-s 00000000 00:05 42 /dev/shm/x", &m), 0);
	cr_assert_str_eq(m.perms, "rw-s");
	assert_path(&m, "/dev/shm/x");
}

Test(procmaps, anonymous_mapping)
{
	cr_assert_eq(ls_maps_parse_line("7f1c2a000000-7f1c2a021000 rw-p 00000000 00:00 0 \n", &m), 0);
	cr_assert_eq(m.start, 0x7f1c2a000000ULL);
	cr_assert_eq(m.end, 0x7f1c2a021000ULL);
	cr_assert_eq(m.inode, 0);
	cr_assert_null(m.path);
	cr_assert_eq(m.path_len, 0);

	cr_assert_eq(ls_maps_parse_line("7f1c2a000000-7f1c2a021000 ---p 00000000 00:00 0", &m), 0);
	cr_assert_str_eq(m.perms, "---p");
	cr_assert_null(m.path);
}

Test(procmaps, pseudo_paths)
{
	cr_assert_eq(ls_maps_parse_line("5581d7a4f000-5581d7a70000 rw-p 00000000 00:00 0                          [heap]\n", &m), 0);
	assert_path(&m, "[heap]");
	cr_assert_eq(ls_maps_parse_line("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]", &m), 0);
	cr_assert_eq(m.start, 0xffffffffff600000ULL);
	assert_path(&m, "[vsyscall]");
}

Test(procmaps, spaces_in_path)
{
	cr_assert_eq(ls_maps_parse_line("7f0000000000-7f0000002000 r--p 00000000 fd:01 99 /home/u/my build/lib lockstep.so\n", &m), 0);
	cr_assert_eq(m.inode, 99);
	assert_path(&m, "/home/u/my build/lib lockstep.so");
}

Test(procmaps, deleted_file_keeps_the_marker)
{
	/* The marker stays part of the path: lookups must use the path exactly as maps shows it. */
	cr_assert_eq(ls_maps_parse_line("7f0000000000-7f0000002000 r-xp 00002000 08:01 77 /opt/ls/liblockstep.so (deleted)\n", &m), 0);
	assert_path(&m, "/opt/ls/liblockstep.so (deleted)");
	cr_assert_eq(m.offset, 0x2000);
}

Test(procmaps, large_device_numbers)
{
	cr_assert_eq(ls_maps_parse_line("00400000-00452000 r-xp 00000000 103:02 3145761 /bin/guest", &m), 0);
	cr_assert_eq(m.start, 0x400000);
	cr_assert_eq(m.end, 0x452000);
	cr_assert_eq(m.inode, 3145761);
}

Test(procmaps, malformed_lines)
{
	const char *bad[] = {
		"",
		"\n",
		"garbage",
		"7f0000000000 7f0000001000 r-xp 00000000 08:01 1 /x",
		"7f0000000000-7f0000001000",
		"7f0000000000-7f0000001000 r-x",
		"7f0000000000-7f0000001000 rwzp 00000000 08:01 1 /x",
		"7f0000000000-7f0000001000 r-xp",
		"7f0000000000-7f0000001000 r-xp 00000000",
		"7f0000000000-7f0000001000 r-xp 00000000 0801 1 /x",
		"7f0000000000-7f0000001000 r-xp 00000000 08:01",
		"7f0000000000-7f0000001000 r-xp 00000000 08:01 /x",
		"7f0000000000-7f0000001000 r-xp zz 08:01 1 /x",
		"7f0000002000-7f0000001000 r-xp 00000000 08:01 1 /x", /* end before start */
		"7f0000000000-7f0000001000  r-xp 00000000 08:01 1 /x",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(ls_maps_parse_line(bad[i], &m), -1, "accepted '%s'", bad[i]);
}

struct collect {
	unsigned n;
	uint64_t start[8];
	int stop_after;
};

static int collect_cb(const struct ls_map *map, void *vctx)
{
	struct collect *c = vctx;

	if (c->n < 8)
		c->start[c->n] = map->start;
	c->n++;
	return c->stop_after && (int)c->n == c->stop_after ? 42 : 0;
}

static const char sample[] =
	"00400000-00401000 r--p 00000000 08:01 10 /bin/guest\n"
	"this line is broken\n"
	"00401000-00402000 r-xp 00001000 08:01 10 /bin/guest\n"
	"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n"
	"7ffd00021000-7ffd00022000 r-xp\n";

Test(procmaps, foreach_counts_bad_lines)
{
	struct collect c = { 0 };
	unsigned bad = 0;

	cr_assert_eq(ls_maps_foreach(sample, collect_cb, &c, &bad), 0);
	cr_assert_eq(c.n, 3);
	cr_assert_eq(c.start[0], 0x400000);
	cr_assert_eq(c.start[1], 0x401000);
	cr_assert_eq(c.start[2], 0x7ffd00000000ULL);
	cr_assert_eq(bad, 2);
}

Test(procmaps, foreach_blank_line_is_bad_not_the_next_mapping)
{
	/* strtoull skips whitespace, newlines included: a blank line must not be parsed as the line after it. */
	struct collect c = { 0 };
	unsigned bad = 0;

	cr_assert_eq(ls_maps_foreach("1000-2000 r--p 00000000 08:01 1 /a\n"
				     "\n"
				     "3000-4000 r--p 00000000 08:01 1 /a\n",
				     collect_cb, &c, &bad), 0);
	cr_assert_eq(c.n, 2, "%u mappings reported for two lines", c.n);
	cr_assert_eq(bad, 1);
}

Test(procmaps, foreach_stops_on_nonzero)
{
	struct collect c = { .stop_after = 2 };
	unsigned bad = 0;

	cr_assert_eq(ls_maps_foreach(sample, collect_cb, &c, &bad), 42);
	cr_assert_eq(c.n, 2);
	cr_assert_eq(bad, 1, "lines after the stop are not looked at");
}

Test(procmaps, foreach_without_counter_and_empty_text)
{
	struct collect c = { 0 };

	cr_assert_eq(ls_maps_foreach(sample, collect_cb, &c, NULL), 0);
	cr_assert_eq(c.n, 3);
	c.n = 0;
	cr_assert_eq(ls_maps_foreach("", collect_cb, &c, NULL), 0);
	cr_assert_eq(c.n, 0);
}

Test(procmaps, foreach_last_line_without_newline)
{
	struct collect c = { 0 };
	unsigned bad = 0;

	cr_assert_eq(ls_maps_foreach("1000-2000 r--p 00000000 08:01 1 /a\n3000-4000 r--p 00000000 08:01 1 /a", collect_cb,
				     &c, &bad), 0);
	cr_assert_eq(c.n, 2);
	cr_assert_eq(c.start[1], 0x3000);
	cr_assert_eq(bad, 0);
}

/* A shared library as ld.so maps it: headers, text and data, with a gap and another file in between. */
static const char lib_maps[] =
	"55d4c8a00000-55d4c8a28000 r-xp 00000000 08:01 1311 /usr/bin/qemu-x86_64\n"
	"7f3a10000000-7f3a10001000 r--p 00000000 08:01 4242 /usr/local/lib/lockstep-bpf/liblockstep.so\n"
	"7f3a10001000-7f3a10004000 r-xp 00001000 08:01 4242 /usr/local/lib/lockstep-bpf/liblockstep.so\n"
	"7f3a10004000-7f3a10005000 ---p 00000000 00:00 0\n"
	"7f3a10005000-7f3a10007000 rw-p 00004000 08:01 4242 /usr/local/lib/lockstep-bpf/liblockstep.so\n"
	"7f3a10007000-7f3a10008000 rw-p 00000000 08:01 5 /usr/local/lib/lockstep-bpf/liblockstep.so.1\n";

#define LIB "/usr/local/lib/lockstep-bpf/liblockstep.so"

Test(procmaps, offset_to_addr_in_each_segment)
{
	cr_assert_eq(ls_maps_offset_to_addr(lib_maps, LIB, 0x0), 0x7f3a10000000ULL);
	cr_assert_eq(ls_maps_offset_to_addr(lib_maps, LIB, 0x40), 0x7f3a10000040ULL);
	cr_assert_eq(ls_maps_offset_to_addr(lib_maps, LIB, 0xfff), 0x7f3a10000fffULL);
	cr_assert_eq(ls_maps_offset_to_addr(lib_maps, LIB, 0x1000), 0x7f3a10001000ULL);
	cr_assert_eq(ls_maps_offset_to_addr(lib_maps, LIB, 0x2abc), 0x7f3a10002abcULL);
	/* The data segment sits after a guard gap: the address is not start + offset of the first map. */
	cr_assert_eq(ls_maps_offset_to_addr(lib_maps, LIB, 0x4000), 0x7f3a10005000ULL);
	cr_assert_eq(ls_maps_offset_to_addr(lib_maps, LIB, 0x5e40), 0x7f3a10006e40ULL);
}

Test(procmaps, offset_to_addr_not_mapped)
{
	cr_assert_eq(ls_maps_offset_to_addr(lib_maps, LIB, 0x6000), 0, "one past the data segment");
	cr_assert_eq(ls_maps_offset_to_addr(lib_maps, LIB, 0x100000), 0);
	cr_assert_eq(ls_maps_offset_to_addr(lib_maps, "/usr/local/lib/lockstep-bpf/liblockstep", 0x10), 0,
		     "a prefix of the path is another file");
	cr_assert_eq(ls_maps_offset_to_addr(lib_maps, "/other.so", 0x10), 0);
	cr_assert_eq(ls_maps_offset_to_addr("", LIB, 0x10), 0);
}

Test(procmaps, offset_to_addr_exact_path_only)
{
	cr_assert_eq(ls_maps_offset_to_addr(lib_maps, LIB ".1", 0x10), 0x7f3a10007010ULL);
	cr_assert_eq(ls_maps_offset_to_addr(lib_maps, "/usr/bin/qemu-x86_64", 0x27fff), 0x55d4c8a27fffULL);
}

Test(procmaps, offset_to_addr_of_a_deleted_library)
{
	const char maps[] = "7f0000000000-7f0000001000 r--p 00000000 08:01 77 /opt/ls/liblockstep.so (deleted)\n"
			    "7f0000001000-7f0000002000 rw-p 00001000 08:01 77 /opt/ls/liblockstep.so (deleted)\n";

	cr_assert_eq(ls_maps_offset_to_addr(maps, "/opt/ls/liblockstep.so (deleted)", 0x1008), 0x7f0000001008ULL);
}
