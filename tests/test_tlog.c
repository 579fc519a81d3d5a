/* test_tlog.c - the translation log: entry layout, release publication, full and unfit blocks, concurrent writers; the tlog=, syscalls= and verbose=syscalls arguments. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "plugin_args.h"
#include "tlog.h"

static struct ls_plugin_info info;
static struct ls_tlog t;

static void fini(void)
{
	ls_tlog_fini(&t);
}

/* x86-like variable-length instructions: insn i is i % 15 + 1 bytes of value (pc + i). */
static size_t make_block(uint64_t pc, size_t n, struct ls_tlog_insn *insns, uint8_t *bytes)
{
	uint64_t at = pc;
	size_t total = 0;

	for (size_t i = 0; i < n; i++) {
		size_t len = i % 15 + 1;
		memset(bytes + total, (int)((pc + i) & 0xff), len);
		insns[i] = (struct ls_tlog_insn){ .vaddr = at, .data = bytes + total, .size = len };
		at += len;
		total += len;
	}
	return total;
}

Test(tlog, one_entry_layout, .fini = fini)
{
	static const uint8_t i0[] = { 0x48, 0x89, 0xe5 }, i1[] = { 0xc3 }, i2[] = { 0x0f, 0x05 };
	struct ls_tlog_insn insns[] = {
		{ 0x401000, i0, sizeof(i0) },
		{ 0x401003, i1, sizeof(i1) },
		{ 0x401004, i2, sizeof(i2) },
	};
	struct ls_tlog_view v;

	cr_assert_eq(ls_tlog_init(&t, &info, 1 << 20), 0);
	cr_assert_eq(info.tlog_addr, (uint64_t)(uintptr_t)t.base);
	cr_assert_eq(info.tlog_cap, 1 << 20);
	cr_assert_eq(ls_tlog_append(&t, 0x401000, insns, 3), LS_TLOG_LOGGED);
	/* 16-byte header, 3 offsets (6), 3 lengths (3), 6 code bytes: 31, padded to 32. */
	cr_assert_eq(ls_tlog_ent_size(3, 6), 32);
	cr_assert_eq(info.tlog_used, 32);
	cr_assert_eq(info.tlog_dropped, 0);

	const struct ls_tlog_ent *e = (const void *)t.base;
	cr_assert_eq(e->pc, 0x401000);
	cr_assert_eq(e->ninsns, 3);
	cr_assert_eq(e->nbytes, 6);
	cr_assert_eq(e->size, 32);
	const uint16_t *off = (const uint16_t *)(e + 1);
	const uint8_t *len = (const uint8_t *)(off + 3), *code = len + 3;
	cr_assert_eq(off[0], 0);
	cr_assert_eq(off[1], 3);
	cr_assert_eq(off[2], 4);
	cr_assert_eq(len[0], 3);
	cr_assert_eq(len[1], 1);
	cr_assert_eq(len[2], 2);
	cr_assert_arr_eq(code, ((uint8_t[]){ 0x48, 0x89, 0xe5, 0xc3, 0x0f, 0x05 }), 6);
	cr_assert_eq(code[6], 0, "padding is zero");

	cr_assert_eq(ls_tlog_parse(t.base, info.tlog_used, 0, &v), 0);
	cr_assert_eq(v.pc, 0x401000);
	cr_assert_eq(v.ninsns, 3);
	cr_assert_eq(v.code, code);
	cr_assert_eq(ls_tlog_parse(t.base, info.tlog_used, 32, &v), -1, "end of log");
}

Test(tlog, many_entries_walk_back, .fini = fini)
{
	struct ls_tlog_insn insns[512];
	uint8_t bytes[512 * 15];
	struct ls_tlog_view v;
	uint64_t off = 0;
	unsigned n = 0;

	cr_assert_eq(ls_tlog_init(&t, &info, 4 << 20), 0);
	for (unsigned b = 0; b < 1000; b++) {
		size_t ni = b % 512 + 1;
		make_block(0x10000 + b * 0x1000, ni, insns, bytes);
		cr_assert_eq(ls_tlog_append(&t, 0x10000 + b * 0x1000, insns, ni), LS_TLOG_LOGGED);
	}
	cr_assert_eq(t.logged, 1000);
	while (ls_tlog_parse(t.base, info.tlog_used, off, &v) == 0) {
		uint64_t pc = 0x10000 + n * 0x1000, at = 0;
		cr_assert_eq(v.pc, pc);
		cr_assert_eq(v.ninsns, n % 512 + 1);
		for (unsigned i = 0, c = 0; i < v.ninsns; i++) {
			cr_assert_eq(v.off[i], at);
			cr_assert_eq(v.len[i], i % 15 + 1);
			for (unsigned k = 0; k < v.len[i]; k++)
				cr_assert_eq(v.code[c++], (uint8_t)(pc + i));
			at += v.len[i];
		}
		cr_assert_eq(v.size % 8, 0);
		off += v.size;
		n++;
	}
	cr_assert_eq(n, 1000);
	cr_assert_eq(off, info.tlog_used, "entries tile the used bytes exactly");
}

Test(tlog, full_stops_and_counts, .fini = fini)
{
	struct ls_tlog_insn insns[64];
	uint8_t bytes[64 * 15];

	cr_assert_eq(ls_tlog_init(&t, &info, 4096), 0);
	size_t nbytes = make_block(0x1000, 64, insns, bytes);
	cr_assert_eq(nbytes, 490);
	uint32_t size = ls_tlog_ent_size(64, 490); /* 16 + 128 + 64 + 490 = 698, padded */
	cr_assert_eq(size, 704);
	unsigned fits = 4096 / 704;
	for (unsigned i = 0; i < fits; i++)
		cr_assert_eq(ls_tlog_append(&t, 0x1000, insns, 64), LS_TLOG_LOGGED);
	uint64_t used = info.tlog_used;
	cr_assert_eq(used, fits * 704);
	cr_assert_eq(ls_tlog_append(&t, 0x1000, insns, 64), LS_TLOG_FULL);
	/* A one-instruction block would still fit, but the log stays a prefix. */
	cr_assert_eq(ls_tlog_append(&t, 0x1000, insns, 1), LS_TLOG_FULL);
	cr_assert_eq(info.tlog_used, used);
	cr_assert_eq(info.tlog_dropped, 2);
	cr_assert_eq(t.dropped_full, 2);
	cr_assert_eq(t.dropped_unfit, 0);
}

Test(tlog, unfit_blocks_dropped_with_count, .fini = fini)
{
	static uint8_t big[300], code[70000];
	struct ls_tlog_insn far[2] = { { 0x1000, big, 4 }, { 0x1000 + 65536, big, 4 } };
	struct ls_tlog_insn longi[1] = { { 0x1000, big, 256 } };
	struct ls_tlog_insn back[2] = { { 0x1000, big, 4 }, { 0xffc, big, 4 } };
	struct ls_tlog_insn nodata[1] = { { 0x1000, NULL, 4 } };
	static struct ls_tlog_insn many[300];

	cr_assert_eq(ls_tlog_init(&t, &info, 1 << 20), 0);
	cr_assert_eq(ls_tlog_append(&t, 0x1000, far, 2), LS_TLOG_UNFIT, "offset beyond u16");
	cr_assert_eq(ls_tlog_append(&t, 0x1000, longi, 1), LS_TLOG_UNFIT, "length beyond u8");
	cr_assert_eq(ls_tlog_append(&t, 0x1000, back, 2), LS_TLOG_UNFIT, "instruction before pc");
	cr_assert_eq(ls_tlog_append(&t, 0x1000, nodata, 1), LS_TLOG_UNFIT, "no bytes");
	/* Every offset and length in range, but 300 * 255 code bytes (overlapping instructions). */
	for (unsigned i = 0; i < 300; i++)
		many[i] = (struct ls_tlog_insn){ 0x1000 + i, code, 255 };
	cr_assert_eq(ls_tlog_append(&t, 0x1000, many, 300), LS_TLOG_UNFIT, "more than 65535 code bytes");
	cr_assert_eq(info.tlog_dropped, 5);
	cr_assert_eq(t.dropped_unfit, 5);
	cr_assert_eq(info.tlog_used, 0);
	/* Limits themselves fit. */
	struct ls_tlog_insn edge[2] = { { 0x1000, big, 255 }, { 0x1000 + 65535, big, 1 } };
	cr_assert_eq(ls_tlog_append(&t, 0x1000, edge, 2), LS_TLOG_LOGGED);
	cr_assert_eq(t.full, false);
}

Test(tlog, disabled, .fini = fini)
{
	struct ls_tlog_insn insns[1] = { { 0x1000, "x", 1 } };

	memset(&info, 0xff, sizeof(info));
	cr_assert_eq(ls_tlog_init(&t, &info, 0), 0);
	cr_assert_eq(info.tlog_addr, 0);
	cr_assert_eq(info.tlog_cap, 0);
	cr_assert_eq(info.tlog_used, 0);
	cr_assert_eq(info.tlog_dropped, 0);
	cr_assert_eq(ls_tlog_append(&t, 0x1000, insns, 1), LS_TLOG_OFF);
	cr_assert_eq(info.tlog_dropped, 0, "a disabled log drops nothing");
}

Test(tlog, parse_rejects_malformed)
{
	uint64_t buf[8] = { 0 };
	struct ls_tlog_ent *e = (void *)buf;
	struct ls_tlog_view v;

	e->pc = 1;
	e->ninsns = 1;
	e->nbytes = 2;
	e->size = 24;
	((uint8_t *)(e + 1))[2] = 2; /* len[0] */
	cr_assert_eq(ls_tlog_parse(buf, 24, 0, &v), 0);
	cr_assert_eq(ls_tlog_parse(buf, 23, 0, &v), -1, "past used");
	cr_assert_eq(ls_tlog_parse(buf, 24, 4, &v), -1, "misaligned");
	((uint8_t *)(e + 1))[2] = 3;
	cr_assert_eq(ls_tlog_parse(buf, 24, 0, &v), -1, "lengths do not add up");
	((uint8_t *)(e + 1))[2] = 2;
	e->size = 32;
	cr_assert_eq(ls_tlog_parse(buf, 64, 0, &v), -1, "size inconsistent");
}

/* Writers on several threads (system emulation translates concurrently): no entry torn or lost. */
#define WRITERS 4
#define PER_WRITER 2000
static void *writer(void *arg)
{
	uint64_t base = (uint64_t)(uintptr_t)arg << 32;
	struct ls_tlog_insn insns[32];
	uint8_t bytes[32 * 15];

	for (unsigned b = 0; b < PER_WRITER; b++) {
		size_t n = b % 32 + 1;
		make_block(base + b * 64, n, insns, bytes);
		ls_tlog_append(&t, base + b * 64, insns, n);
	}
	return NULL;
}

/* A reader that follows tlog_used as the monitor would, while writers run (asserts stay on the test's thread). */
struct reader_result {
	unsigned seen, bad;
};

static void *reader(void *arg)
{
	struct reader_result *r = arg;
	uint64_t off = 0;
	struct ls_tlog_view v;

	while (r->seen < WRITERS * PER_WRITER && !r->bad) {
		uint64_t used = __atomic_load_n(&info.tlog_used, __ATOMIC_ACQUIRE);
		while (off < used && !r->bad) {
			if (ls_tlog_parse(t.base, used, off, &v) != 0 || v.ninsns != (v.pc & 0xffffffff) / 64 % 32 + 1) {
				r->bad++;
				break;
			}
			for (unsigned i = 0, c = 0; i < v.ninsns; i++)
				for (unsigned k = 0; k < v.len[i]; k++)
					if (v.code[c++] != (uint8_t)(v.pc + i))
						r->bad++;
			off += v.size;
			r->seen++;
		}
	}
	return NULL;
}

Test(tlog, concurrent_writers_and_reader, .fini = fini)
{
	pthread_t w[WRITERS], r;
	struct reader_result res = { 0, 0 };

	cr_assert_eq(ls_tlog_init(&t, &info, 64 << 20), 0);
	pthread_create(&r, NULL, reader, &res);
	for (uintptr_t i = 0; i < WRITERS; i++)
		pthread_create(&w[i], NULL, writer, (void *)(i + 1));
	for (int i = 0; i < WRITERS; i++)
		pthread_join(w[i], NULL);
	pthread_join(r, NULL);
	cr_assert_eq(t.logged, WRITERS * PER_WRITER);
	cr_assert_eq(res.bad, 0, "the reader saw a torn entry");
	cr_assert_eq(res.seen, WRITERS * PER_WRITER);
	cr_assert_eq(info.tlog_dropped, 0);
}

/* ---- tlog= and syscalls= plugin arguments ---- */

static int parse1(const char *arg, struct ls_plugin_args *a, char *err, size_t errlen)
{
	static char buf[128];
	char *argv[1] = { buf };

	snprintf(buf, sizeof(buf), "%s", arg);
	return ls_plugin_args_parse(a, 1, argv, err, errlen);
}

Test(plugin_args, tlog_and_syscalls_defaults)
{
	struct ls_plugin_args a;
	char err[256] = "";

	cr_assert_eq(ls_plugin_args_parse(&a, 0, NULL, err, sizeof(err)), 0);
	cr_assert_eq(a.tlog_bytes, 64ull << 20);
	cr_assert_eq(a.syscalls, true);
	cr_assert_eq(a.sys_order, 16);
}

Test(plugin_args, tlog_sizes)
{
	static const struct {
		const char *arg;
		uint64_t bytes;
	} ok[] = {
		{ "tlog=0", 0 },		{ "tlog=64", 64ull << 20 },   { "tlog=1", 1ull << 20 },
		{ "tlog=64K", 64ull << 10 },	{ "tlog=512k", 512ull << 10 }, { "tlog=256M", 256ull << 20 },
		{ "tlog=2G", 2ull << 30 },	{ "tlog=16G", 16ull << 30 },   { "tlog=128MiB", 128ull << 20 },
		{ "tlog=1GB", 1ull << 30 },
	};
	struct ls_plugin_args a;
	char err[256];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(parse1(ok[i].arg, &a, err, sizeof(err)), 0, "%s: %s", ok[i].arg, err);
		cr_assert_eq(a.tlog_bytes, ok[i].bytes, "%s", ok[i].arg);
	}
	static const char *bad[] = { "tlog=", "tlog=-1", "tlog=1T", "tlog=63K", "tlog=17G", "tlog=1.5M", "tlog=8Mx",
				     "tlog=99999999999999999999", "tlog=18446744073709551615G", "tlog=M" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse1(bad[i], &a, err, sizeof(err)), -1, "%s accepted", bad[i]);
		char want[200];
		snprintf(want, sizeof(want),
			 "%s: must be a size from 64K to 16G (a bare number is MiB; 0 turns it off)", bad[i]);
		cr_assert_str_eq(err, want);
	}
}

Test(plugin_args, syscalls_records)
{
	struct ls_plugin_args a;
	char err[256];

	cr_assert_eq(parse1("syscalls=0", &a, err, sizeof(err)), 0);
	cr_assert_eq(a.syscalls, false);
	cr_assert_eq(parse1("syscalls=16", &a, err, sizeof(err)), 0);
	cr_assert(a.syscalls && a.sys_order == 4);
	cr_assert_eq(parse1("syscalls=1048576", &a, err, sizeof(err)), 0);
	cr_assert(a.syscalls && a.sys_order == 20);
	static const char *bad[] = { "syscalls=8", "syscalls=1000", "syscalls=2097152", "syscalls=", "syscalls=-16",
				     "syscalls=64k" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse1(bad[i], &a, err, sizeof(err)), -1, "%s accepted", bad[i]);
		char want[200];
		snprintf(want, sizeof(want), "%s: must be a power of two from 16 to 1048576 records (0 turns it off)",
			 bad[i]);
		cr_assert_str_eq(err, want);
	}
	cr_assert_eq(parse1("nosuch=1", &a, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "unknown argument 'nosuch' (known: batch, ring, flush, wait, dump, tlog, syscalls, verbose, "
				   "forward)");
}

Test(plugin_args, verbose_syscalls)
{
	struct ls_plugin_args a;
	char err[256];

	cr_assert_eq(parse1("verbose=syscalls", &a, err, sizeof(err)), 0, "%s", err);
	cr_assert(a.verbose && a.verbose_syscalls);
	cr_assert_eq(parse1("verbose=on", &a, err, sizeof(err)), 0);
	cr_assert(a.verbose && !a.verbose_syscalls);
	cr_assert_eq(parse1("verbose=off", &a, err, sizeof(err)), 0);
	cr_assert(!a.verbose && !a.verbose_syscalls);
}
