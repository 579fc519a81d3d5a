/* SPDX-License-Identifier: MIT */
/* fwd.c - the forwarding channel's layout, rules and slot protocol (fwd.h). */
#include "fwd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void ls_fwd_init(void *map, uint32_t wait_ms)
{
	struct ls_fwd_hdr *h = map;

	memset(h, 0, sizeof(*h));
	h->magic = LS_FWD_MAGIC;
	h->version = LS_FWD_VERSION;
	h->order = LS_FWD_ORDER;
	h->data = LS_FWD_DATA;
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
	    h->data != LS_FWD_DATA)
		return EPROTO;
	return 0;
}

static bool is(const char *name, const char *want)
{
	return name && !strcmp(name, want);
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
		return w->ret_varies; /* no buffer: time(NULL); gettimeofday(NULL, tz) forwards nothing */
	if (len > LS_FWD_DATA) {
		w->full_len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
		return true;
	}
	w->addr = addr;
	w->len = (uint32_t)len;
	return true;
}

void ls_fwd_a_enter(struct ls_fwd_lane *lane, struct ls_fwd_slot *ring, uint64_t k, uint64_t seq, int64_t num)
{
	struct ls_fwd_slot *s = &ring[k & (LS_FWD_SLOTS - 1)];

	/* A reader that copies the slot from here on finds the tag changed and drops its copy. */
	__atomic_store_n(&s->tag, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	s->seq = seq;
	s->num = num;
	s->ret = 0;
	s->len = 0;
	__atomic_store_n(&s->state, LS_FWD_ENTERED, __ATOMIC_RELAXED);
	__atomic_store_n(&s->tag, k + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&lane->a_next, k + 1, __ATOMIC_RELEASE);
}

void ls_fwd_a_return(struct ls_fwd_slot *ring, uint64_t k, int64_t ret, const void *data, uint32_t len)
{
	struct ls_fwd_slot *s = &ring[k & (LS_FWD_SLOTS - 1)];

	if (len > LS_FWD_DATA)
		len = 0;
	s->ret = ret;
	s->len = len;
	if (len)
		memcpy(s->data, data, len);
	__atomic_store_n(&s->state, LS_FWD_RETURNED, __ATOMIC_RELEASE);
}

enum ls_fwd_take ls_fwd_take(const struct ls_fwd_lane *lane, const struct ls_fwd_slot *ring, uint64_t k,
			     bool need_return, struct ls_fwd_slot *out)
{
	const struct ls_fwd_slot *s = &ring[k & (LS_FWD_SLOTS - 1)];
	uint64_t n = __atomic_load_n(&lane->a_next, __ATOMIC_ACQUIRE);

	if (n <= k)
		return LS_FWD_NOT_YET;
	if (n - k > LS_FWD_SLOTS)
		return LS_FWD_GONE;
	uint64_t tag = __atomic_load_n(&s->tag, __ATOMIC_ACQUIRE);
	if (tag != k + 1)
		return LS_FWD_GONE; /* A entered k (n > k), so only a later entry changes its tag */
	uint32_t state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
	if (need_return && state != LS_FWD_RETURNED)
		return LS_FWD_NOT_YET;
	memcpy(out, s, sizeof(*out));
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&s->tag, __ATOMIC_RELAXED) != k + 1 ||
	    __atomic_load_n(&lane->a_next, __ATOMIC_RELAXED) - k > LS_FWD_SLOTS)
		return LS_FWD_GONE;
	/* What was read before the copy: data is final only if state said so first. */
	out->state = state;
	out->tag = tag;
	if (state != LS_FWD_RETURNED || out->len > LS_FWD_DATA)
		out->len = 0; /* A's guest can write the channel: never trust a length beyond the slot */
	return LS_FWD_TAKEN;
}

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

#define RESTART (-512) /* QEMU_ERESTARTSYS: QEMU enters the same call again */

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
	struct ls_fwd_vcpu *v = vcpu < LS_MAX_VCPUS ? f->v[vcpu] : NULL;

	if (!v)
		return;
	v->pending = true;
	v->num = num;
	memcpy(v->args, args, sizeof(v->args));
	if (f->side == 0) {
		ls_fwd_a_enter(&f->h->lane[vcpu], ls_fwd_ring(f->map, vcpu), v->next, seq, num);
	} else {
		v->hnum[v->next & (LS_FWD_SLOTS - 1)] = num;
		v->hseq[v->next & (LS_FWD_SLOTS - 1)] = seq;
	}
	v->next++;
}

static void a_return(struct ls_fwd_side *f, unsigned vcpu, struct ls_fwd_vcpu *v, int64_t ret)
{
	struct ls_fwd_what w;
	uint8_t buf[LS_FWD_DATA];
	uint32_t len = 0;

	if (ls_fwd_rule(f->arch, v->num, v->args, ret, &w) && w.len && f->ops.read(f->ops.ctx, w.addr, buf, w.len) == 0)
		len = w.len;
	ls_fwd_a_return(ls_fwd_ring(f->map, vcpu), v->next - 1, ret, buf, len);
}

static void stop(struct ls_fwd_side *f, unsigned vcpu, struct ls_fwd_vcpu *v, uint32_t why, uint64_t k)
{
	v->stopped = why;
	f->h->lane[vcpu].b_stop_index = k;
	__atomic_store_n(&f->h->lane[vcpu].b_stopped, why, __ATOMIC_RELEASE);
}

/* Compare B's syscalls [v->checked, upto) with A's as far as A got; false on a mismatch (then stopped). */
static bool check_upto(struct ls_fwd_side *f, unsigned vcpu, struct ls_fwd_vcpu *v, uint64_t upto)
{
	const struct ls_fwd_lane *lane = &f->h->lane[vcpu];
	const struct ls_fwd_slot *ring = ls_fwd_ring(f->map, vcpu);
	struct ls_fwd_slot s;

	for (; v->checked < upto; v->checked++) {
		uint64_t j = v->checked;
		enum ls_fwd_take r = ls_fwd_take(lane, ring, j, false, &s);
		if (r == LS_FWD_NOT_YET)
			return true;
		if (r == LS_FWD_GONE || v->next - j > LS_FWD_SLOTS)
			continue; /* out of both histories: not compared (A that far ahead forwards nothing) */
		f->h->st.checked++;
		if (s.num != v->hnum[j & (LS_FWD_SLOTS - 1)]) {
			int64_t num[2] = { s.num, v->hnum[j & (LS_FWD_SLOTS - 1)] };
			uint64_t seq[2] = { s.seq, v->hseq[j & (LS_FWD_SLOTS - 1)] }, len[2] = { 0, 0 };
			ls_fwd_mismatch(f->h, vcpu, LS_FWD_MM_NUM, j, num, seq, len);
			stop(f, vcpu, v, LS_FWD_STOP_MISMATCH, j);
			return false;
		}
	}
	__atomic_store_n(&f->h->lane[vcpu].b_checked, v->checked, __ATOMIC_RELAXED);
	return true;
}

/* B waits for A's record k: TAKEN, or the lane stopped (and said why). */
static enum ls_fwd_take wait_for(struct ls_fwd_side *f, unsigned vcpu, struct ls_fwd_vcpu *v, uint64_t k,
				 struct ls_fwd_slot *s)
{
	const struct ls_fwd_lane *lane = &f->h->lane[vcpu];
	const struct ls_fwd_slot *ring = ls_fwd_ring(f->map, vcpu);
	uint64_t start = 0, last = 0, last_n = 0;
	unsigned round = 0;
	enum ls_fwd_take r;

	while ((r = ls_fwd_take(lane, ring, k, true, s)) == LS_FWD_NOT_YET) {
		uint64_t t = f->ops.now_ns();
		uint64_t n = __atomic_load_n(&lane->a_next, __ATOMIC_ACQUIRE);
		if (!round) {
			start = last = t;
			last_n = n;
		}
		if (__atomic_load_n(&f->h->a_ended, __ATOMIC_ACQUIRE)) {
			stop(f, vcpu, v, LS_FWD_STOP_A_ENDED, k);
			break;
		}
		/* A inside a syscall (a sleep, a read from a terminal) is not stuck: the bound is for no progress. */
		bool a_inside = n > 0 && n - 1 < k + LS_FWD_SLOTS &&
				__atomic_load_n(&ring[(n - 1) & (LS_FWD_SLOTS - 1)].state, __ATOMIC_RELAXED) == LS_FWD_ENTERED;
		if (n != last_n || a_inside) {
			last_n = n;
			last = t;
		} else if (t - last > f->wait_ns) {
			char msg[200];
			snprintf(msg, sizeof(msg),
				 "forward-inputs: vCPU %u: A did not reach syscall #%" PRIu64 " within %" PRIu64
				 " ms of B: inputs are no longer forwarded on this vCPU",
				 vcpu, k, f->wait_ns / 1000000);
			f->ops.say(f->ops.ctx, msg);
			stop(f, vcpu, v, LS_FWD_STOP_TIMEOUT, k);
			break;
		}
		f->ops.pause(round++);
	}
	if (r == LS_FWD_GONE)
		stop(f, vcpu, v, LS_FWD_STOP_LOST, k);
	if (round) {
		uint64_t d = f->ops.now_ns() - start;
		f->h->st.waits++;
		f->h->st.wait_ns += d;
		if (d > f->h->st.max_wait_ns)
			f->h->st.max_wait_ns = d;
	}
	return v->stopped ? LS_FWD_NOT_YET : r;
}

static void b_return(struct ls_fwd_side *f, unsigned vcpu, struct ls_fwd_vcpu *v, int64_t ret)
{
	struct ls_fwd_stats *st = &f->h->st;
	uint64_t k = v->next - 1, t0 = f->ops.now_ns(), waited0 = st->wait_ns;
	struct ls_fwd_what w;
	struct ls_fwd_slot s;
	bool need = ls_fwd_rule(f->arch, v->num, v->args, ret, &w);

	if (v->stopped) {
		if (need)
			st->after_stop++;
		return;
	}
	/* Everything A got to before k: a different syscall earlier is the divergence, not k. */
	if (!check_upto(f, vcpu, v, k))
		return;
	if (!need) {
		check_upto(f, vcpu, v, k + 1);
		return;
	}
	if (wait_for(f, vcpu, v, k, &s) != LS_FWD_TAKEN || !check_upto(f, vcpu, v, k + 1)) {
		st->after_stop++;
		return;
	}
	bool fwd = false, rd = w.ret_varies && s.ret != ret;
	if (w.len && s.len) {
		if (s.len != w.len) {
			int64_t num[2] = { s.num, v->num };
			uint64_t seq[2] = { s.seq, v->hseq[k & (LS_FWD_SLOTS - 1)] }, len[2] = { s.len, w.len };
			ls_fwd_mismatch(f->h, vcpu, LS_FWD_MM_LEN, k, num, seq, len);
			stop(f, vcpu, v, LS_FWD_STOP_MISMATCH, k);
			return;
		}
		if (f->ops.write(f->ops.ctx, w.addr, s.data, w.len) == 0) {
			fwd = true;
			st->forwarded++;
			st->bytes += w.len;
		} else {
			st->unwritable++;
		}
	} else if (w.full_len) {
		st->too_long++;
	} else if (w.len || s.len || (s.ret < 0 && s.ret >= -4095) != (ret < 0 && ret >= -4095)) {
		st->one_failed++;
	}
	st->ret_differs += rd;
	ls_fwd_count(st, v->num, fwd, rd);
	st->cost_ns += f->ops.now_ns() - t0 - (st->wait_ns - waited0);
}

void ls_fwd_sys_return(struct ls_fwd_side *f, unsigned vcpu, int64_t num, int64_t ret)
{
	struct ls_fwd_vcpu *v = vcpu < LS_MAX_VCPUS ? f->v[vcpu] : NULL;

	if (!v || !v->pending || v->num != num)
		return;
	v->pending = false;
	if (ret == RESTART) {
		/* QEMU enters the call again: that entry takes this index (A leaves the slot ENTERED till then). */
		v->next--;
		return;
	}
	if (f->side == 0)
		a_return(f, vcpu, v, ret);
	else
		b_return(f, vcpu, v, ret);
	if (f->side)
		__atomic_store_n(&f->h->lane[vcpu].b_next, v->next, __ATOMIC_RELAXED);
}
