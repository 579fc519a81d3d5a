/*
 * test_fwd.c - --forward-inputs without QEMU: which bytes each syscall
 * forwards, the channel's slot protocol, and both plugins' sides on one
 * channel with fake guest memories and a fake clock (B ahead, A gone, A that
 * never comes, a different syscall, a restart), then the monitor's words.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fwd.h"
#include "fwdsum.h"

#define X_READ 0
#define X_GETPID 39
#define X_GETPPID 110
#define X_TIME 201
#define X_CLOCK_GETTIME 228
#define X_NEWFSTATAT 262
#define X_GETRANDOM 318
#define X_STATX 332
#define A64_CLOCK_GETTIME 113

static const uint64_t none[6];

Test(fwd, rules_say_which_bytes_differ_between_runs)
{
	struct ls_fwd_what w;
	uint64_t a[6] = { 0x1000, 24, 0, 0, 0, 0 };

	cr_assert(ls_fwd_rule(LS_ARCH_X86_64, X_GETRANDOM, a, 24, &w));
	cr_assert_eq(w.addr, 0x1000);
	cr_assert_eq(w.len, 24);
	cr_assert(!w.ret_varies);
	cr_assert(!ls_fwd_rule(LS_ARCH_X86_64, X_GETRANDOM, a, -14, &w), "a failed call forwards nothing");
	cr_assert(ls_fwd_rule(LS_ARCH_X86_64, X_GETRANDOM, a, 4096, &w));
	cr_assert_eq(w.len, 4096, "Python's random.seed() reads 2500 bytes");
	cr_assert(ls_fwd_rule(LS_ARCH_X86_64, X_GETRANDOM, a, LS_FWD_DATA + 1, &w));
	cr_assert_eq(w.len, 0, "longer than the channel takes: not forwarded");
	cr_assert_eq(w.full_len, LS_FWD_DATA + 1, "but counted");

	uint64_t c[6] = { 1, 0x2000 };
	cr_assert(ls_fwd_rule(LS_ARCH_X86_64, X_CLOCK_GETTIME, c, 0, &w));
	cr_assert_eq(w.addr, 0x2000);
	cr_assert_eq(w.len, 16);
	cr_assert(ls_fwd_rule(LS_ARCH_AARCH64, A64_CLOCK_GETTIME, c, 0, &w));
	cr_assert_eq(w.len, 16);

	uint64_t st[6] = { (uint64_t)-100, 0x10, 0x3000, 0 };
	cr_assert(ls_fwd_rule(LS_ARCH_X86_64, X_NEWFSTATAT, st, 0, &w));
	cr_assert_eq(w.addr, 0x3000 + 72, "st_atim, st_mtim, st_ctim only");
	cr_assert_eq(w.len, 48);
	uint64_t sx[6] = { (uint64_t)-100, 0x10, 0, 0x7ff, 0x4000 };
	cr_assert(ls_fwd_rule(LS_ARCH_X86_64, X_STATX, sx, 0, &w));
	cr_assert_eq(w.addr, 0x4000 + 64);
	cr_assert_eq(w.len, 64);

	cr_assert(ls_fwd_rule(LS_ARCH_X86_64, X_TIME, none, 1700000000, &w), "time(NULL): only its return value varies");
	cr_assert(w.ret_varies);
	cr_assert_eq(w.len, 0);
	uint64_t t[6] = { 0x5000 };
	cr_assert(ls_fwd_rule(LS_ARCH_X86_64, X_TIME, t, 1700000000, &w));
	cr_assert_eq(w.len, 8);
	cr_assert(ls_fwd_rule(LS_ARCH_X86_64, X_GETPID, none, 1234, &w));
	cr_assert(w.ret_varies);
	cr_assert_eq(w.len, 0);

	uint64_t r[6] = { 3, 0x6000, 100 };
	cr_assert(!ls_fwd_rule(LS_ARCH_X86_64, X_READ, r, 100, &w), "a read is the program's input, not noise");
	cr_assert(!ls_fwd_forwards(LS_ARCH_X86_64, X_READ));
	cr_assert(ls_fwd_forwards(LS_ARCH_X86_64, X_GETRANDOM));
	cr_assert(ls_fwd_forwards(LS_ARCH_X86_64, X_TIME));
	cr_assert(ls_fwd_forwards(LS_ARCH_X86_64, X_STATX));
	cr_assert(!ls_fwd_rule(LS_ARCH_UNKNOWN, X_GETRANDOM, a, 24, &w));
}

static void *new_map(void)
{
	void *m = mmap(NULL, ls_fwd_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	cr_assert_neq(m, MAP_FAILED);
	ls_fwd_init(m, 3000);
	cr_assert_eq(ls_fwd_check(m, ls_fwd_size()), 0);
	return m;
}

Test(fwd, slots_are_taken_whole_or_not_at_all)
{
	void *m = new_map();
	struct ls_fwd_hdr *h = m;
	struct ls_fwd_lane *lane = &h->lane[2];
	struct ls_fwd_rings *r = ls_fwd_rings(m, 2);
	struct ls_fwd_slot s;
	uint8_t data[4] = { 1, 2, 3, 4 }, got[LS_FWD_DATA];
	uint64_t word;

	cr_assert_eq(ls_fwd_take(lane, r, 0, false, &s, got), LS_FWD_NOT_YET);
	cr_assert_eq(ls_fwd_take_call(lane, r, 0, &word), LS_FWD_NOT_YET);
	ls_fwd_a_enter(lane, r, 0, 0, false, 70, X_READ); /* not forwarded: a word, no slot */
	ls_fwd_a_enter(lane, r, 1, 0, true, 77, X_GETRANDOM);
	cr_assert_eq(ls_fwd_take_call(lane, r, 1, &word), LS_FWD_TAKEN);
	cr_assert_eq(word, ls_fwd_call_word(X_GETRANDOM, 77));
	cr_assert_eq(ls_fwd_take(lane, r, 0, true, &s, got), LS_FWD_NOT_YET, "entered, not returned");
	cr_assert_eq(ls_fwd_take(lane, r, 0, false, &s, got), LS_FWD_TAKEN, "enough to compare numbers");
	cr_assert_eq(s.num, X_GETRANDOM);
	cr_assert_eq(s.len, 0);
	ls_fwd_a_return(lane, r, 0, 4, data, 4);
	cr_assert_eq(ls_fwd_take(lane, r, 0, true, &s, got), LS_FWD_TAKEN);
	cr_assert_eq(s.tag, 1);
	cr_assert_eq(s.ret, 4);
	cr_assert_eq(s.len, 4);
	cr_assert_arr_eq(got, data, 4);

	/* A guest scribbling a length or an offset that makes no sense: no output, never out of bounds. */
	r->slots[0].len = LS_FWD_DATA + 1;
	cr_assert_eq(ls_fwd_take(lane, r, 0, true, &s, got), LS_FWD_TAKEN);
	cr_assert_eq(s.len, 0);
	r->slots[0].len = 4;
	r->slots[0].doff = 1ull << 40;
	cr_assert_eq(ls_fwd_take(lane, r, 0, true, &s, got), LS_FWD_TAKEN);
	cr_assert_eq(s.len, 0);
	r->slots[0].doff = 0;

	/* Output bytes wrap around the data ring. */
	uint8_t big[LS_FWD_DATA];
	memset(big, 0x5a, sizeof(big));
	uint64_t f = 1;
	while (lane->a_dhead % LS_FWD_DATA_RING <= LS_FWD_DATA_RING - LS_FWD_DATA) {
		ls_fwd_a_enter(lane, r, f + 1, f, true, 100 + f, X_GETRANDOM);
		ls_fwd_a_return(lane, r, f, LS_FWD_DATA, big, LS_FWD_DATA);
		f++;
	}
	big[0] = 0x11;
	big[LS_FWD_DATA - 1] = 0x22;
	uint64_t wrap_at = lane->a_dhead;
	ls_fwd_a_enter(lane, r, f + 1, f, true, 100 + f, X_GETRANDOM);
	ls_fwd_a_return(lane, r, f, LS_FWD_DATA, big, LS_FWD_DATA);
	cr_assert_gt(wrap_at % LS_FWD_DATA_RING + LS_FWD_DATA, LS_FWD_DATA_RING, "this one wraps");
	cr_assert_eq(ls_fwd_take(lane, r, f, true, &s, got), LS_FWD_TAKEN);
	cr_assert_eq(s.len, LS_FWD_DATA);
	cr_assert_arr_eq(got, big, LS_FWD_DATA);
	/* ...and the first one's bytes were overwritten since: gone, not misread. */
	cr_assert_eq(ls_fwd_take(lane, r, 0, true, &s, got), LS_FWD_GONE);

	/* A a whole slot ring ahead (said by a_fnext, or found in the slot's tag): the old slot is gone. */
	uint64_t was = lane->a_fnext;
	lane->a_fnext = f + 1 + LS_FWD_SLOTS;
	cr_assert_eq(ls_fwd_take(lane, r, f, true, &s, got), LS_FWD_GONE);
	lane->a_fnext = was;
	r->slots[f & (LS_FWD_SLOTS - 1)].tag = f + 1 + LS_FWD_SLOTS;
	cr_assert_eq(ls_fwd_take(lane, r, f, true, &s, got), LS_FWD_GONE);
	r->slots[f & (LS_FWD_SLOTS - 1)].tag = 0; /* being rewritten */
	cr_assert_eq(ls_fwd_take(lane, r, f, true, &s, got), LS_FWD_GONE);
	/* The same for syscall words. */
	lane->a_next = 2 + LS_FWD_CALLS;
	cr_assert_eq(ls_fwd_take_call(lane, r, 1, &word), LS_FWD_GONE);
	munmap(m, ls_fwd_size());
}

/* Two fake guests: guest address g is mem[side][g]; a fake clock that each pause moves on. */
static uint8_t mem[2][4096];
static uint64_t fake_now;
static struct ls_fwd_side fa, fb;
static void (*on_pause)(unsigned round);
static unsigned said;

static uint64_t now_ns(void)
{
	return fake_now;
}

static void pause_(unsigned round)
{
	fake_now += 1000000000ull;
	if (on_pause)
		on_pause(round);
}

static int rd(void *ctx, uint64_t g, void *dst, uint32_t n)
{
	if (g + n > sizeof(mem[0]))
		return 14;
	memcpy(dst, &mem[(uintptr_t)ctx][g], n);
	return 0;
}

static int wr(void *ctx, uint64_t g, const void *src, uint32_t n)
{
	if (g + n > sizeof(mem[0]))
		return 14;
	memcpy(&mem[(uintptr_t)ctx][g], src, n);
	return 0;
}

static void say(void *ctx, const char *msg)
{
	(void)ctx;
	cr_log_info("%s", msg);
	said++;
}

static void *map;

static void sides(void)
{
	const struct ls_fwd_ops oa = { now_ns, pause_, rd, wr, say, (void *)0 };
	const struct ls_fwd_ops ob = { now_ns, pause_, rd, wr, say, (void *)1 };

	map = new_map();
	memset(mem, 0, sizeof(mem));
	fake_now = 1;
	on_pause = NULL;
	said = 0;
	ls_fwd_side_init(&fa, map, 0, LS_ARCH_X86_64, &oa);
	ls_fwd_side_init(&fb, map, 1, LS_ARCH_X86_64, &ob);
	fa.v[0] = ls_fwd_vcpu_new();
	fb.v[0] = ls_fwd_vcpu_new();
}

static void sides_fini(void)
{
	ls_fwd_vcpu_free(fa.v[0]);
	ls_fwd_vcpu_free(fb.v[0]);
	munmap(map, ls_fwd_size());
}

TestSuite(fwd_sides, .init = sides, .fini = sides_fini, .timeout = 20);

/* One syscall on one side: memory written as the kernel would, then the return callback. */
static void sys(struct ls_fwd_side *f, uint64_t seq, int64_t num, const uint64_t args[6], int64_t ret, uint8_t fill,
		uint64_t at, uint32_t n)
{
	int side = f == &fb;

	ls_fwd_sys_enter(f, 0, seq, num, args);
	memset(&mem[side][at], fill, n);
	ls_fwd_sys_return(f, 0, num, ret);
}

static const uint64_t rnd[6] = { 100, 8 };
static const uint64_t clk[6] = { 1, 200 };

Test(fwd_sides, b_gets_a_s_bytes_and_counts_them)
{
	struct ls_fwd_hdr *h = map;

	cr_assert(h->ready[0] && h->ready[1]);
	sys(&fa, 5, X_GETRANDOM, rnd, 8, 0xaa, 100, 8);
	sys(&fa, 9, X_CLOCK_GETTIME, clk, 0, 0x11, 200, 16);
	sys(&fb, 5, X_GETRANDOM, rnd, 8, 0xbb, 100, 8);
	sys(&fb, 9, X_CLOCK_GETTIME, clk, 0, 0x22, 200, 16);
	cr_assert_arr_eq(&mem[1][100], &mem[0][100], 8, "B's getrandom bytes are A's");
	cr_assert_arr_eq(&mem[1][200], &mem[0][200], 16, "B's timespec is A's");
	cr_assert_eq(h->st.forwarded, 2);
	cr_assert_eq(h->st.bytes, 24);
	cr_assert_eq(h->st.waits, 0);
	cr_assert_eq(h->st.checked, 2);
	cr_assert_eq(h->lane[0].b_stopped, LS_FWD_GOING);
	cr_assert_eq(h->st.by_num[0].num, X_GETRANDOM);
	cr_assert_eq(h->st.by_num[1].num, X_CLOCK_GETTIME);
}

static void a_catches_up(unsigned round)
{
	if (round == 2)
		sys(&fa, 5, X_GETRANDOM, rnd, 8, 0xaa, 100, 8);
}

Test(fwd_sides, b_ahead_waits_for_a)
{
	struct ls_fwd_hdr *h = map;

	on_pause = a_catches_up;
	sys(&fb, 5, X_GETRANDOM, rnd, 8, 0xbb, 100, 8);
	cr_assert_eq(mem[1][100], 0xaa);
	cr_assert_eq(h->st.forwarded, 1);
	cr_assert_eq(h->st.waits, 1);
	cr_assert_geq(h->st.wait_ns, 3000000000ull);
	cr_assert_eq(said, 0);
}

Test(fwd_sides, a_that_never_comes_is_waited_for_only_so_long)
{
	struct ls_fwd_hdr *h = map;

	sys(&fb, 5, X_GETRANDOM, rnd, 8, 0xbb, 100, 8);
	cr_assert_eq(mem[1][100], 0xbb, "B keeps its own bytes");
	cr_assert_eq(h->lane[0].b_stopped, LS_FWD_STOP_TIMEOUT);
	cr_assert_eq(said, 1, "and says so");
	cr_assert_leq(h->st.wait_ns, 5000000000ull, "3 s without progress (the header's bound), not more");
	/* From then on, that vCPU forwards nothing and waits for nothing. */
	sys(&fb, 9, X_CLOCK_GETTIME, clk, 0, 0x22, 200, 16);
	cr_assert_eq(h->st.after_stop, 2);
	cr_assert_eq(h->st.waits, 1);
}

Test(fwd_sides, a_that_ended_is_not_waited_for)
{
	struct ls_fwd_hdr *h = map;

	h->a_ended = 1;
	sys(&fb, 5, X_GETRANDOM, rnd, 8, 0xbb, 100, 8);
	cr_assert_eq(h->lane[0].b_stopped, LS_FWD_STOP_A_ENDED);
	cr_assert_eq(said, 0);
}

Test(fwd_sides, a_different_syscall_is_the_divergence)
{
	struct ls_fwd_hdr *h = map;
	char text[256];

	sys(&fa, 5, X_GETRANDOM, rnd, 8, 0xaa, 100, 8);
	sys(&fa, 7, X_GETPID, none, 1000, 0, 0, 0);
	sys(&fa, 9, X_CLOCK_GETTIME, clk, 0, 0x11, 200, 16);
	sys(&fb, 5, X_GETRANDOM, rnd, 8, 0xbb, 100, 8);
	sys(&fb, 7, X_GETPPID, none, 999, 0, 0, 0);
	sys(&fb, 9, X_CLOCK_GETTIME, clk, 0, 0x22, 200, 16);
	cr_assert_eq(h->mm.set, 1);
	cr_assert_eq(h->mm.kind, LS_FWD_MM_NUM);
	cr_assert_eq(h->mm.index, 1);
	cr_assert_eq(h->mm.num[0], X_GETPID);
	cr_assert_eq(h->mm.num[1], X_GETPPID);
	cr_assert_eq(h->lane[0].b_stopped, LS_FWD_STOP_MISMATCH);
	cr_assert_eq(mem[1][200], 0x22, "nothing forwarded after it");
	cr_assert_eq(h->st.forwarded, 1);
	ls_fwd_mismatch_text(&h->mm, LS_ARCH_X86_64, text, sizeof(text));
	cr_assert_str_eq(text, "A made getpid where B made getppid: syscall #1 of vCPU 0, A's in block 6, B's in block 6");
}

Test(fwd_sides, a_different_syscall_b_did_not_wait_for_is_found_later)
{
	struct ls_fwd_hdr *h = map;

	/* B's read is not forwarded, so B does not wait at it; its partner's number is checked at the next one. */
	sys(&fb, 3, X_READ, (const uint64_t[6]){ 0, 300, 10 }, 10, 0x33, 300, 10);
	cr_assert_eq(h->mm.set, 0);
	sys(&fa, 3, X_GETPID, none, 1000, 0, 0, 0);
	on_pause = a_catches_up;
	sys(&fb, 5, X_GETRANDOM, rnd, 8, 0xbb, 100, 8); /* index 1 for both (A's getrandom comes at the pause) */
	cr_assert_eq(h->mm.set, 1);
	cr_assert_eq(h->mm.index, 0);
	cr_assert_eq(h->mm.num[0], X_GETPID);
	cr_assert_eq(h->mm.num[1], X_READ);
	cr_assert_eq(mem[1][100], 0xbb);
}

Test(fwd_sides, outputs_of_different_lengths_are_the_divergence)
{
	struct ls_fwd_hdr *h = map;
	char text[256];

	sys(&fa, 5, X_GETRANDOM, (const uint64_t[6]){ 100, 16 }, 16, 0xaa, 100, 16);
	sys(&fb, 5, X_GETRANDOM, rnd, 8, 0xbb, 100, 8);
	cr_assert_eq(h->mm.kind, LS_FWD_MM_LEN);
	cr_assert_eq(mem[1][100], 0xbb);
	ls_fwd_mismatch_text(&h->mm, LS_ARCH_X86_64, text, sizeof(text));
	cr_assert_str_eq(text, "A's getrandom #0 (vCPU 0, block 4) wrote 16 bytes where B's (block 4) wrote 8");
}

Test(fwd_sides, return_values_that_differ_are_counted_not_forwarded)
{
	struct ls_fwd_hdr *h = map;

	sys(&fa, 5, X_TIME, none, 1700000000, 0, 0, 0);
	sys(&fa, 6, X_GETPID, none, 1000, 0, 0, 0);
	sys(&fb, 5, X_TIME, none, 1700000001, 0, 0, 0);
	sys(&fb, 6, X_GETPID, none, 1000, 0, 0, 0); /* the same pid (another namespace): nothing to say */
	cr_assert_eq(h->st.ret_differs, 1);
	cr_assert_eq(h->st.forwarded, 0);
	cr_assert_eq(h->st.by_num[0].num, X_TIME);
	cr_assert_eq(h->st.by_num[0].ret_differs, 1);
	cr_assert_eq(h->mm.set, 0);
}

Test(fwd_sides, a_restarted_syscall_keeps_the_pairing)
{
	struct ls_fwd_hdr *h = map;

	/* A's first try is interrupted and restarted (QEMU returns -512, then enters it again); B's is not. */
	ls_fwd_sys_enter(&fa, 0, 5, X_GETRANDOM, rnd);
	ls_fwd_sys_return(&fa, 0, X_GETRANDOM, -512);
	sys(&fa, 5, X_GETRANDOM, rnd, 8, 0xaa, 100, 8);
	sys(&fa, 9, X_CLOCK_GETTIME, clk, 0, 0x11, 200, 16);
	sys(&fb, 5, X_GETRANDOM, rnd, 8, 0xbb, 100, 8);
	sys(&fb, 9, X_CLOCK_GETTIME, clk, 0, 0x22, 200, 16);
	cr_assert_eq(h->mm.set, 0);
	cr_assert_eq(h->st.forwarded, 2);
	cr_assert_eq(mem[1][200], 0x11);
}

Test(fwd_sides, the_summary_in_words)
{
	struct ls_fwd_report r;
	struct ls_fwd_hdr copy;

	sys(&fa, 5, X_GETRANDOM, rnd, 8, 0xaa, 100, 8);
	sys(&fa, 6, X_TIME, none, 1700000000, 0, 0, 0);
	sys(&fb, 5, X_GETRANDOM, rnd, 8, 0xbb, 100, 8);
	sys(&fb, 6, X_TIME, none, 1700000001, 0, 0, 0);
	memcpy(&copy, map, sizeof(copy));
	ls_fwd_report_build(&r, &copy, LS_ARCH_X86_64);
	cr_assert_eq(r.s.forwarded, 1);
	cr_assert_str_eq(r.s.by_syscall, "getrandom 1");
	cr_assert_str_eq(r.s.by_syscall_json, "\"getrandom\":1");
	cr_assert_str_eq(r.s.ret_by_syscall, "time 1");
	cr_assert_null(r.s.mismatch);
	cr_assert_null(r.s.stopped);

	/* A guest scribbled on the channel: a mismatch naming vCPU 9999 is not believed. */
	copy.mm.set = 1;
	copy.mm.vcpu = 9999;
	copy.mm.kind = LS_FWD_MM_NUM;
	copy.lane[3].b_stopped = 77;
	ls_fwd_report_build(&r, &copy, LS_ARCH_X86_64);
	cr_assert_null(r.s.mismatch);
	cr_assert_str_eq(r.s.stopped, "vCPU 3 at syscall #0: unknown");
}

Test(fwd, seed_of_a_command_line)
{
	char v[32];

	cr_assert(ls_fwd_seed_of("qemu-x86_64 -seed 7 -plugin x.so ./guest", v, sizeof(v)));
	cr_assert_str_eq(v, "7");
	cr_assert(ls_fwd_seed_of("qemu-x86_64 --seed 123456", v, sizeof(v)));
	cr_assert_str_eq(v, "123456");
	cr_assert(!ls_fwd_seed_of("qemu-x86_64 -plugin x.so ./guest -seedy 3", v, sizeof(v)));
	cr_assert(!ls_fwd_seed_of("qemu-x86_64 -seed", v, sizeof(v)));
	cr_assert(!ls_fwd_seed_of("", v, sizeof(v)));
	cr_assert(!ls_fwd_seed_of("q -seed 12345678901234567890123456789012345", v, sizeof(v)), "too long for out");
}

#define X_NANOSLEEP 35

static void a_sleeps_then_catches_up(unsigned round)
{
	struct ls_fwd_hdr *h = map;

	h->mon_ns = fake_now; /* the monitor ticks */
	if (round == 20) {
		ls_fwd_sys_return(&fa, 0, X_NANOSLEEP, 0);
		sys(&fa, 5, X_GETRANDOM, rnd, 8, 0xaa, 100, 8);
	}
}

Test(fwd_sides, a_inside_a_long_syscall_is_waited_for_while_the_monitor_ticks)
{
	struct ls_fwd_hdr *h = map;

	sys(&fb, 3, X_NANOSLEEP, none, 0, 0, 0, 0);
	ls_fwd_sys_enter(&fa, 0, 3, X_NANOSLEEP, none); /* A sleeps 20 (fake) seconds */
	on_pause = a_sleeps_then_catches_up;
	sys(&fb, 5, X_GETRANDOM, rnd, 8, 0xbb, 100, 8);
	cr_assert_eq(h->lane[0].b_stopped, LS_FWD_GOING);
	cr_assert_eq(mem[1][100], 0xaa);
	cr_assert_geq(h->st.wait_ns, 20000000000ull, "longer than the 3 s bound: A was inside a syscall");
	cr_assert_eq(said, 0);
}

Test(fwd_sides, a_inside_a_syscall_without_a_monitor_is_waited_for_only_so_long)
{
	struct ls_fwd_hdr *h = map;

	h->mon_ns = 0; /* no monitor: exit_group never returns, and no one would say A ended */
	ls_fwd_sys_enter(&fa, 0, 3, X_NANOSLEEP, none);
	sys(&fb, 3, X_NANOSLEEP, none, 0, 0, 0, 0);
	sys(&fb, 5, X_GETRANDOM, rnd, 8, 0xbb, 100, 8);
	cr_assert_eq(h->lane[0].b_stopped, LS_FWD_STOP_TIMEOUT);
	cr_assert_eq(said, 1);
}

Test(fwd_sides, a_call_that_failed_on_one_side_is_counted_not_forwarded)
{
	struct ls_fwd_hdr *h = map;

	sys(&fa, 5, X_GETRANDOM, rnd, 8, 0xaa, 100, 8);
	sys(&fb, 5, X_GETRANDOM, rnd, -4, 0xbb, 100, 8); /* EINTR on B only */
	cr_assert_eq(h->st.one_failed, 1);
	cr_assert_eq(h->st.forwarded, 0);
	cr_assert_eq(mem[1][100], 0xbb);
	cr_assert_eq(h->mm.set, 0, "a result, not another syscall");
}

#define X_EXIT 60

static void the_monitor_ticks(unsigned round)
{
	(void)round;
	((struct ls_fwd_hdr *)map)->mon_ns = fake_now;
}

Test(fwd_sides, a_thread_that_exited_is_not_inside_a_syscall)
{
	struct ls_fwd_hdr *h = map;

	/*
	 * Both threads on this vCPU ended (exit never returns); on B a new thread
	 * took the index at once and makes a forwarded call, A's has yet to come.
	 */
	ls_fwd_sys_enter(&fa, 0, 3, X_EXIT, none);
	cr_assert_eq(h->lane[0].a_in_call, 0);
	ls_fwd_sys_enter(&fb, 0, 3, X_EXIT, none);
	on_pause = the_monitor_ticks;
	sys(&fb, 5, X_GETRANDOM, rnd, 8, 0xbb, 100, 8);
	cr_assert_eq(h->lane[0].b_stopped, LS_FWD_STOP_TIMEOUT, "the bound applies though the monitor ticks");
	cr_assert_eq(said, 1);
}

Test(fwd_sides, a_different_syscall_where_b_would_wait_is_found_without_waiting)
{
	struct ls_fwd_hdr *h = map;

	ls_fwd_sys_enter(&fa, 0, 3, X_EXIT, none);
	sys(&fb, 3, X_GETRANDOM, rnd, 8, 0xbb, 100, 8);
	cr_assert_eq(h->mm.set, 1);
	cr_assert_eq(h->mm.num[0], X_EXIT);
	cr_assert_eq(h->st.waits, 0);
}
