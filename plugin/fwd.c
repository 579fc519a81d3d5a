/* SPDX-License-Identifier: MIT */
/* fwd.c - the forwarding channel's layout, rules and slot protocol (fwd.h). */
#include "fwd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void ls_fwd_init(void *map, uint32_t wait_ms)
{
	struct ls_fwd_hdr *h = map;

	memset(h, 0, sizeof(*h));
	h->magic = LS_FWD_MAGIC;
	h->version = LS_FWD_VERSION;
	h->order = LS_FWD_ORDER;
	h->data = LS_FWD_DATA_RING;
	h->wait_ms = wait_ms;
	for (unsigned i = 0; i < LS_FWD_BYNUM; i++)
		h->st.by_num[i].num = -1;
}

int ls_fwd_check(const void *map, uint64_t size)
{
	const struct ls_fwd_hdr *h = map;

	if (size < ls_fwd_size())
		return EMSGSIZE;
	if (h->magic != LS_FWD_MAGIC || h->version != LS_FWD_VERSION || h->order != LS_FWD_ORDER ||
	    h->data != LS_FWD_DATA_RING)
		return EPROTO;
	return 0;
}

static bool is(const char *name, const char *want)
{
	return name && !strcmp(name, want);
}

bool ls_fwd_forwards(enum ls_arch arch, int64_t num)
{
	static const uint64_t nothing[6];
	struct ls_fwd_what w;

	/* Every kind the rule knows, judged on a success (ret 1: a byte of getrandom). */
	return ls_fwd_rule(arch, num, nothing, 1, &w);
}

bool ls_fwd_rule(enum ls_arch arch, int64_t num, const uint64_t args[6], int64_t ret, struct ls_fwd_what *w)
{
	const char *n = ls_sys_name(arch, num);
	uint64_t addr = 0, len = 0;

	memset(w, 0, sizeof(*w));
	/* Both targets this table knows are 64-bit: timespec and timeval are 16 bytes, time_t 8. */
	if (!n || (arch != LS_ARCH_X86_64 && arch != LS_ARCH_AARCH64))
		return false;
	/* Values that differ in any two runs, returned in a register: counted, not forwardable with API 1. */
	if (is(n, "getpid") || is(n, "getppid") || is(n, "gettid") || is(n, "set_tid_address") || is(n, "clone") ||
	    is(n, "clone3") || is(n, "fork") || is(n, "vfork")) {
		w->ret_varies = true;
		return true;
	}
	if (is(n, "time") || is(n, "times")) {
		w->ret_varies = true; /* seconds since the epoch, clock ticks since boot */
		if (ret < 0 && ret >= -4095)
			return true; /* failed: nothing written */
		addr = args[0];
		len = is(n, "time") ? 8 : 32; /* struct tms: four clock_t */
	} else if (ret < 0) {
		return false;
	} else if (is(n, "getrandom")) {
		addr = args[0];
		len = (uint64_t)ret;
	} else if (is(n, "clock_gettime")) {
		addr = args[1];
		len = 16;
	} else if (is(n, "gettimeofday")) {
		addr = args[0];
		len = 16;
	} else if (is(n, "sysinfo")) {
		addr = args[0];
		len = 112; /* uptime, loads, memory and swap, procs: all of it moves */
	} else if (is(n, "getrusage")) {
		addr = args[1];
		len = 144; /* times, page faults, context switches */
	} else if (is(n, "stat") || is(n, "lstat") || is(n, "fstat")) {
		addr = args[1] + 72; /* st_atim, st_mtim, st_ctim (same offsets in x86_64's and the generic struct stat) */
		len = 48;
	} else if (is(n, "newfstatat")) {
		addr = args[2] + 72;
		len = 48;
	} else if (is(n, "statx")) {
		addr = args[4] + 64; /* stx_atime, stx_btime, stx_ctime, stx_mtime */
		len = 64;
	} else {
		return false;
	}
	if (!addr)
		return true; /* no buffer: time(NULL), gettimeofday(NULL, tz): nothing to forward, a slot all the same */
	if (len > LS_FWD_DATA) {
		w->full_len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
		return true;
	}
	w->addr = addr;
	w->len = (uint32_t)len;
	return true;
}

void ls_fwd_a_enter(struct ls_fwd_lane *lane, struct ls_fwd_rings *r, uint64_t k, uint64_t f, bool slot,
		    uint64_t seq, int64_t num)
{
	__atomic_store_n(&r->calls[k & (LS_FWD_CALLS - 1)], ls_fwd_call_word(num, seq), __ATOMIC_RELAXED);
	if (slot) {
		struct ls_fwd_slot *s = &r->slots[f & (LS_FWD_SLOTS - 1)];
		/* A reader that copies the slot from here on finds the tag changed and drops its copy. */
		__atomic_store_n(&s->tag, 0, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		s->num = (uint16_t)(ls_fwd_call_word(num, 0) & 0xffff);
		s->ret = 0;
		s->len = 0;
		s->doff = 0;
		__atomic_store_n(&s->state, LS_FWD_ENTERED, __ATOMIC_RELAXED);
		__atomic_store_n(&s->tag, f + 1, __ATOMIC_RELEASE);
		__atomic_store_n(&lane->a_fnext, f + 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&lane->a_next, k + 1, __ATOMIC_RELEASE);
}

void ls_fwd_a_return(struct ls_fwd_lane *lane, struct ls_fwd_rings *r, uint64_t f, int64_t ret, const void *data,
		     uint32_t len)
{
	struct ls_fwd_slot *s = &r->slots[f & (LS_FWD_SLOTS - 1)];
	uint64_t head = lane->a_dhead; /* only A writes it */

	if (len > LS_FWD_DATA)
		len = 0;
	if (len) {
		uint64_t at = head % LS_FWD_DATA_RING, first = LS_FWD_DATA_RING - at < len ? LS_FWD_DATA_RING - at : len;
		memcpy(r->data + at, data, first);
		memcpy(r->data, (const uint8_t *)data + first, len - first);
		__atomic_store_n(&lane->a_dhead, head + len, __ATOMIC_RELEASE);
	}
	s->ret = ret;
	s->len = len;
	s->doff = head;
	__atomic_store_n(&s->state, LS_FWD_RETURNED, __ATOMIC_RELEASE);
}

enum ls_fwd_take ls_fwd_take_call(const struct ls_fwd_lane *lane, const struct ls_fwd_rings *r, uint64_t k,
				  uint64_t *word)
{
	uint64_t n = __atomic_load_n(&lane->a_next, __ATOMIC_ACQUIRE);

	if (n <= k)
		return LS_FWD_NOT_YET;
	if (n - k >= LS_FWD_CALLS)
		return LS_FWD_GONE;
	*word = __atomic_load_n(&r->calls[k & (LS_FWD_CALLS - 1)], __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	/* While a_next < k + 2^21, A has not begun to write word k + 2^21 over it. */
	if (__atomic_load_n(&lane->a_next, __ATOMIC_RELAXED) - k >= LS_FWD_CALLS)
		return LS_FWD_GONE;
	return LS_FWD_TAKEN;
}

enum ls_fwd_take ls_fwd_take(const struct ls_fwd_lane *lane, const struct ls_fwd_rings *r, uint64_t f,
			     bool need_return, struct ls_fwd_slot *out, uint8_t *data)
{
	const struct ls_fwd_slot *s = &r->slots[f & (LS_FWD_SLOTS - 1)];
	uint64_t n = __atomic_load_n(&lane->a_fnext, __ATOMIC_ACQUIRE);

	if (n <= f)
		return LS_FWD_NOT_YET;
	if (n - f > LS_FWD_SLOTS)
		return LS_FWD_GONE;
	uint64_t tag = __atomic_load_n(&s->tag, __ATOMIC_ACQUIRE);
	if (tag != f + 1)
		return LS_FWD_GONE; /* A entered f (n > f), so only a later entry changes its tag */
	uint32_t state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
	if (need_return && state != LS_FWD_RETURNED)
		return LS_FWD_NOT_YET;
	memcpy(out, s, sizeof(*out));
	out->state = state; /* what was read before the copy: ret, len and doff are final only if it said so */
	out->tag = tag;
	if (state != LS_FWD_RETURNED)
		out->len = 0;
	/* A's guest can write the channel: a length or offset that makes no sense is no output. */
	uint64_t head = __atomic_load_n(&lane->a_dhead, __ATOMIC_ACQUIRE);
	if (out->len > LS_FWD_DATA || out->doff > head || head - out->doff < out->len)
		out->len = 0;
	if (out->len) {
		if (head - out->doff > LS_FWD_DATA_RING - LS_FWD_DATA)
			return LS_FWD_GONE;
		uint64_t at = out->doff % LS_FWD_DATA_RING;
		uint64_t first = LS_FWD_DATA_RING - at < out->len ? LS_FWD_DATA_RING - at : out->len;
		memcpy(data, r->data + at, first);
		memcpy(data + first, r->data, out->len - first);
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&s->tag, __ATOMIC_RELAXED) != f + 1 ||
	    __atomic_load_n(&lane->a_fnext, __ATOMIC_RELAXED) - f > LS_FWD_SLOTS)
		return LS_FWD_GONE;
	/* A appends at most LS_FWD_DATA at a time before moving the head: the copied bytes were not being rewritten. */
	if (out->len && __atomic_load_n(&lane->a_dhead, __ATOMIC_RELAXED) - out->doff > LS_FWD_DATA_RING - LS_FWD_DATA)
		return LS_FWD_GONE;
	return LS_FWD_TAKEN;
}

#define RESTART (-512) /* QEMU_ERESTARTSYS: QEMU enters the same call again */

void ls_fwd_count(struct ls_fwd_stats *st, int64_t num, bool forwarded, bool ret_differs)
{
	for (unsigned i = 0; i < LS_FWD_BYNUM; i++) {
		if (st->by_num[i].num != num && st->by_num[i].num != -1)
			continue;
		st->by_num[i].num = num;
		st->by_num[i].forwarded += forwarded;
		st->by_num[i].ret_differs += ret_differs;
		return;
	}
}

void ls_fwd_mismatch(struct ls_fwd_hdr *h, unsigned vcpu, enum ls_fwd_mm_kind kind, uint64_t index,
		     const int64_t num[2], const uint64_t seq[2], const uint64_t len[2])
{
	struct ls_fwd_mismatch m = { .set = 0, .vcpu = vcpu, .kind = kind, .index = index };
	uint32_t zero = 0;

	/* Threads of B may race: the first wins (a guest could have set it, then the monitor bounds it). */
	if (!__atomic_compare_exchange_n(&h->mm.set, &zero, 2, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return;
	memcpy(m.num, num, sizeof(m.num));
	memcpy(m.seq, seq, sizeof(m.seq));
	memcpy(m.len, len, sizeof(m.len));
	h->mm.vcpu = m.vcpu;
	h->mm.kind = m.kind;
	h->mm.index = m.index;
	memcpy(h->mm.num, m.num, sizeof(m.num));
	memcpy(h->mm.seq, m.seq, sizeof(m.seq));
	memcpy(h->mm.len, m.len, sizeof(m.len));
	__atomic_store_n(&h->mm.set, 1, __ATOMIC_RELEASE);
}

static const char *name_of(enum ls_arch arch, int64_t num, char *buf, size_t size)
{
	const char *n = ls_sys_name(arch, num);

	if (n)
		return n;
	snprintf(buf, size, "syscall %" PRId64, num);
	return buf;
}

size_t ls_fwd_mismatch_text(const struct ls_fwd_mismatch *m, enum ls_arch arch, char *buf, size_t size)
{
	char n0[32], n1[32];
	const char *a = name_of(arch, m->num[0], n0, sizeof(n0)), *b = name_of(arch, m->num[1], n1, sizeof(n1));
	/* seq counts the block that made the call: the syscall is in block seq - 1. */
	uint64_t ba = m->seq[0] ? m->seq[0] - 1 : 0, bb = m->seq[1] ? m->seq[1] - 1 : 0;
	int k;

	if (m->kind == LS_FWD_MM_LEN)
		k = snprintf(buf, size,
			     "A's %s #%" PRIu64 " (vCPU %u, block %" PRIu64 ") wrote %" PRIu64 " bytes where B's (block %" PRIu64
			     ") wrote %" PRIu64,
			     a, m->index, m->vcpu, ba, m->len[0], bb, m->len[1]);
	else
		k = snprintf(buf, size,
			     "A made %s where B made %s: syscall #%" PRIu64 " of vCPU %u, A's in block %" PRIu64
			     ", B's in block %" PRIu64,
			     a, b, m->index, m->vcpu, ba, bb);
	return k < 0 ? 0 : (size_t)k;
}

const char *ls_fwd_stop_name(uint32_t why)
{
	switch (why) {
	case LS_FWD_GOING:
		return "";
	case LS_FWD_STOP_MISMATCH:
		return "the syscalls differ";
	case LS_FWD_STOP_TIMEOUT:
		return "A did not get there in time";
	case LS_FWD_STOP_A_ENDED:
		return "A had ended";
	case LS_FWD_STOP_LOST:
		return "A was too far ahead";
	default:
		return "unknown";
	}
}


struct ls_fwd_vcpu *ls_fwd_vcpu_new(void)
{
	struct ls_fwd_vcpu *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->buf = malloc(LS_FWD_DATA);
	/* 16 MiB of address space, backed as B makes syscalls. */
	void *c = mmap(NULL, sizeof(uint64_t) * LS_FWD_CALLS, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!v->buf || c == MAP_FAILED) {
		free(v->buf);
		free(v);
		return NULL;
	}
	v->calls = c;
	return v;
}

void ls_fwd_vcpu_free(struct ls_fwd_vcpu *v)
{
	if (!v)
		return;
	munmap(v->calls, sizeof(uint64_t) * LS_FWD_CALLS);
	free(v->buf);
	free(v);
}

void ls_fwd_side_init(struct ls_fwd_side *f, void *map, int side, enum ls_arch arch, const struct ls_fwd_ops *ops)
{
	uint32_t ms;

	memset(f, 0, sizeof(*f));
	f->side = side;
	f->map = map;
	f->h = map;
	f->arch = arch;
	f->ops = *ops;
	ms = __atomic_load_n(&f->h->wait_ms, __ATOMIC_RELAXED);
	if (ms < 1 || ms > 3600000)
		ms = LS_FWD_DEFAULT_WAIT_MS;
	f->wait_ns = ms * 1000000ull;
	__atomic_store_n(&f->h->ready[side ? 1 : 0], 1, __ATOMIC_RELEASE);
}

void ls_fwd_sys_enter(struct ls_fwd_side *f, unsigned vcpu, uint64_t seq, int64_t num, const uint64_t args[6])
{
	struct ls_fwd_vcpu *v = vcpu < LS_FWD_VCPUS ? f->v[vcpu] : NULL;

	if (!v)
		return;
	v->pending = true;
	v->num = num;
	v->seq = seq;
	v->slot = ls_fwd_forwards(f->arch, num);
	memcpy(v->args, args, sizeof(v->args));
	if (f->side == 0) {
		/* exit and exit_group never return: B's wait for what comes after is for no progress. */
		const char *n = ls_sys_name(f->arch, num);
		bool returns = !n || (strcmp(n, "exit") && strcmp(n, "exit_group"));
		__atomic_store_n(&f->h->lane[vcpu].a_in_call, returns, __ATOMIC_RELAXED);
		ls_fwd_a_enter(&f->h->lane[vcpu], ls_fwd_rings(f->map, vcpu), v->next, v->fnext, v->slot, seq, num);
	}
	else
		v->calls[v->next & (LS_FWD_CALLS - 1)] = ls_fwd_call_word(num, seq);
	v->next++;
	v->fnext += v->slot;
}

static void a_return(struct ls_fwd_side *f, unsigned vcpu, struct ls_fwd_vcpu *v, int64_t ret)
{
	struct ls_fwd_what w;
	uint32_t len = 0;

	if (!v->slot)
		return;
	if (ls_fwd_rule(f->arch, v->num, v->args, ret, &w) && w.len && f->ops.read(f->ops.ctx, w.addr, v->buf, w.len) == 0)
		len = w.len;
	ls_fwd_a_return(&f->h->lane[vcpu], ls_fwd_rings(f->map, vcpu), v->fnext - 1, ret, v->buf, len);
}

static void stop(struct ls_fwd_side *f, unsigned vcpu, struct ls_fwd_vcpu *v, uint32_t why, uint64_t k)
{
	v->stopped = why;
	f->h->lane[vcpu].b_stop_index = k;
	__atomic_store_n(&f->h->lane[vcpu].b_stopped, why, __ATOMIC_RELEASE);
}

static void mismatch(struct ls_fwd_side *f, unsigned vcpu, struct ls_fwd_vcpu *v, enum ls_fwd_mm_kind kind,
		     uint64_t k, uint64_t a_word, uint64_t b_word, uint64_t alen, uint64_t blen)
{
	int64_t num[2] = { (int64_t)(a_word & 0xffff), (int64_t)(b_word & 0xffff) };
	uint64_t seq[2] = { a_word >> 16, b_word >> 16 }, len[2] = { alen, blen };

	ls_fwd_mismatch(f->h, vcpu, kind, k, num, seq, len);
	stop(f, vcpu, v, LS_FWD_STOP_MISMATCH, k);
}

/* Compare B's syscalls [v->checked, upto) with A's as far as A got; false on a mismatch (then stopped). */
static bool check_upto(struct ls_fwd_side *f, unsigned vcpu, struct ls_fwd_vcpu *v, uint64_t upto)
{
	const struct ls_fwd_lane *lane = &f->h->lane[vcpu];
	const struct ls_fwd_rings *r = ls_fwd_rings(f->map, vcpu);
	uint64_t word;

	for (; v->checked < upto; v->checked++) {
		uint64_t j = v->checked;
		enum ls_fwd_take t = ls_fwd_take_call(lane, r, j, &word);
		if (t == LS_FWD_NOT_YET)
			break;
		if (t == LS_FWD_GONE || v->next - j > LS_FWD_CALLS)
			continue; /* out of A's or B's words: not compared (cannot happen within the gate's window) */
		f->h->st.checked++;
		uint64_t mine = v->calls[j & (LS_FWD_CALLS - 1)];
		if ((word & 0xffff) != (mine & 0xffff)) {
			mismatch(f, vcpu, v, LS_FWD_MM_NUM, j, word, mine, 0, 0);
			return false;
		}
	}
	__atomic_store_n(&f->h->lane[vcpu].b_checked, v->checked, __ATOMIC_RELAXED);
	return true;
}

/* B waits for A's slot fi: TAKEN, or the lane stopped (and said why). */
static enum ls_fwd_take wait_for(struct ls_fwd_side *f, unsigned vcpu, struct ls_fwd_vcpu *v, uint64_t k,
				 uint64_t fi, struct ls_fwd_slot *s, uint64_t *waited)
{
	const struct ls_fwd_lane *lane = &f->h->lane[vcpu];
	const struct ls_fwd_rings *r = ls_fwd_rings(f->map, vcpu);
	uint64_t start = 0, last = 0, last_n = 0;
	unsigned round = 0;
	enum ls_fwd_take t;

	while ((t = ls_fwd_take(lane, r, fi, true, s, v->buf)) == LS_FWD_NOT_YET) {
		uint64_t now = f->ops.now_ns();
		uint64_t n = __atomic_load_n(&lane->a_next, __ATOMIC_ACQUIRE);
		uint64_t fn = __atomic_load_n(&lane->a_fnext, __ATOMIC_ACQUIRE);
		if (!round) {
			start = last = now;
			last_n = n;
		}
		if (__atomic_load_n(&f->h->a_ended, __ATOMIC_ACQUIRE)) {
			stop(f, vcpu, v, LS_FWD_STOP_A_ENDED, k);
			break;
		}
		/*
		 * A inside a syscall (a sleep, a read from a terminal) is not stuck: the
		 * bound is for no progress.  Only while the monitor is there to say
		 * when A has ended (exit_group never returns).
		 */
		uint64_t mon = __atomic_load_n(&f->h->mon_ns, __ATOMIC_RELAXED);
		bool monitored = mon && now - mon < 2000000000ull;
		bool a_inside = (monitored && __atomic_load_n(&lane->a_in_call, __ATOMIC_RELAXED)) ||
				(fn > fi && fn - fi <= LS_FWD_SLOTS &&
				 __atomic_load_n(&r->slots[fi & (LS_FWD_SLOTS - 1)].state, __ATOMIC_RELAXED) == LS_FWD_ENTERED);
		if (n != last_n || a_inside) {
			last_n = n;
			last = now;
		} else if (now - last > f->wait_ns) {
			char msg[200];
			snprintf(msg, sizeof(msg),
				 "forward-inputs: vCPU %u: A made no syscall for %" PRIu64
				 " ms while B waited at its syscall #%" PRIu64 ": inputs are no longer forwarded on this vCPU",
				 vcpu, f->wait_ns / 1000000, k);
			f->ops.say(f->ops.ctx, msg);
			stop(f, vcpu, v, LS_FWD_STOP_TIMEOUT, k);
			break;
		}
		f->ops.pause(round++);
	}
	if (t == LS_FWD_GONE) {
		char msg[200];
		snprintf(msg, sizeof(msg),
			 "forward-inputs: vCPU %u: A ran more than %u forwarded syscalls (or %u MiB of their results) ahead "
			 "of B's syscall #%" PRIu64 ": inputs are no longer forwarded on this vCPU",
			 vcpu, LS_FWD_SLOTS, LS_FWD_DATA_RING >> 20, k);
		f->ops.say(f->ops.ctx, msg);
		stop(f, vcpu, v, LS_FWD_STOP_LOST, k);
	}
	*waited = 0;
	if (round) {
		uint64_t d = f->ops.now_ns() - start;
		*waited = d;
		f->h->st.waits++;
		f->h->st.wait_ns += d;
		if (d > f->h->st.max_wait_ns)
			f->h->st.max_wait_ns = d;
	}
	return v->stopped ? LS_FWD_NOT_YET : t;
}

static void b_return(struct ls_fwd_side *f, unsigned vcpu, struct ls_fwd_vcpu *v, int64_t ret)
{
	struct ls_fwd_stats *st = &f->h->st;
	uint64_t k = v->next - 1, t0 = f->ops.now_ns(), waited = 0;
	struct ls_fwd_what w;
	struct ls_fwd_slot s;
	/* A slot pairs with A's whatever either returned: a call that failed on one side only is counted. */
	bool need = v->slot;
	ls_fwd_rule(f->arch, v->num, v->args, ret, &w);

	if (v->stopped) {
		if (need)
			st->after_stop++;
		return;
	}
	/*
	 * Everything A got to, k included when A is there: a different syscall
	 * earlier is the divergence, not k, and a different one at k needs no wait.
	 */
	if (!check_upto(f, vcpu, v, k + 1) || !need)
		return;
	if (wait_for(f, vcpu, v, k, v->fnext - 1, &s, &waited) != LS_FWD_TAKEN) {
		st->after_stop++;
		return;
	}
	uint64_t a_word = ls_fwd_call_word(s.num, 0);
	ls_fwd_take_call(&f->h->lane[vcpu], ls_fwd_rings(f->map, vcpu), k, &a_word); /* with A's block, if there */
	if (s.num != (ls_fwd_call_word(v->num, 0) & 0xffff)) {
		mismatch(f, vcpu, v, LS_FWD_MM_NUM, k, a_word, ls_fwd_call_word(v->num, v->seq), 0, 0);
		return;
	}
	if (!check_upto(f, vcpu, v, k + 1)) {
		st->after_stop++;
		return;
	}
	bool fwd = false, rd = w.ret_varies && s.ret != ret;
	bool a_failed = s.ret < 0 && s.ret >= -4095, b_failed = ret < 0 && ret >= -4095;
	if (w.len && s.len) {
		if (s.len != w.len) {
			mismatch(f, vcpu, v, LS_FWD_MM_LEN, k, a_word, ls_fwd_call_word(v->num, v->seq), s.len, w.len);
			return;
		}
		if (f->ops.write(f->ops.ctx, w.addr, v->buf, w.len) == 0) {
			fwd = true;
			st->forwarded++;
			st->bytes += w.len;
		} else {
			st->unwritable++;
		}
	} else if (w.full_len) {
		st->too_long++;
	} else if (w.len || s.len || a_failed != b_failed) {
		st->one_failed++;
	}
	st->ret_differs += rd;
	ls_fwd_count(st, v->num, fwd, rd);
	uint64_t spent = f->ops.now_ns() - t0;
	st->cost_ns += spent > waited ? spent - waited : 0; /* this call's own wait: other threads wait too */
}

void ls_fwd_sys_return(struct ls_fwd_side *f, unsigned vcpu, int64_t num, int64_t ret)
{
	struct ls_fwd_vcpu *v = vcpu < LS_FWD_VCPUS ? f->v[vcpu] : NULL;

	if (!v && f->side == 1 && vcpu >= LS_FWD_VCPUS && ret != RESTART && ls_fwd_forwards(f->arch, num))
		__atomic_fetch_add(&f->h->st.no_lane, 1, __ATOMIC_RELAXED);
	if (!v || !v->pending || v->num != num)
		return;
	v->pending = false;
	if (ret == RESTART) {
		/* QEMU enters the call again: that entry takes this index (A leaves the slot ENTERED till then). */
		v->next--;
		v->fnext -= v->slot;
		return;
	}
	if (f->side == 0) {
		a_return(f, vcpu, v, ret);
		__atomic_store_n(&f->h->lane[vcpu].a_in_call, 0, __ATOMIC_RELAXED);
	} else
		b_return(f, vcpu, v, ret);
	if (f->side)
		__atomic_store_n(&f->h->lane[vcpu].b_next, v->next, __ATOMIC_RELAXED);
}
