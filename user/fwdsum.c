/* SPDX-License-Identifier: MIT */
/* fwdsum.c - the --forward-inputs statistics in words (fwdsum.h). */
#include "fwdsum.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "textbuf.h"

bool ls_fwd_report_mismatch(const struct ls_fwd_hdr *h, enum ls_arch arch, char *buf, size_t size)
{
	struct ls_fwd_mismatch m = h->mm;

	if (m.set != 1 || m.vcpu >= LS_FWD_VCPUS || (m.kind != LS_FWD_MM_NUM && m.kind != LS_FWD_MM_LEN))
		return false;
	ls_fwd_mismatch_text(&m, arch, buf, size);
	return true;
}

void ls_fwd_report_build(struct ls_fwd_report *r, const struct ls_fwd_hdr *h, enum ls_arch arch)
{
	const struct ls_fwd_stats *st = &h->st;
	struct ls_fwd_summary *s = &r->s;

	memset(r, 0, sizeof(*r));
	s->forwarded = st->forwarded;
	s->bytes = st->bytes;
	s->ret_differs = st->ret_differs;
	s->one_failed = st->one_failed;
	s->too_long = st->too_long;
	s->no_lane = st->no_lane;
	s->unwritable = st->unwritable;
	s->after_stop = st->after_stop;
	s->checked = st->checked;
	s->waits = st->waits;
	s->wait_ms = (double)st->wait_ns / 1e6;
	s->max_wait_ms = (double)st->max_wait_ns / 1e6;
	s->ns_each = st->forwarded ? (double)st->cost_ns / (double)st->forwarded : 0;
	for (unsigned i = 0; i < LS_FWD_BYNUM; i++) {
		int64_t num = st->by_num[i].num;
		const char *name = ls_sys_name(arch, num);
		char nb[32];
		if (num < 0)
			continue;
		if (!name) {
			snprintf(nb, sizeof(nb), "syscall_%" PRId64, num);
			name = nb;
		}
		if (st->by_num[i].forwarded) {
			ls_text_add(r->by, sizeof(r->by), "%s%s %" PRIu64, *r->by ? ", " : "", name, st->by_num[i].forwarded);
			ls_text_add(r->by_json, sizeof(r->by_json), "%s\"%s\":%" PRIu64, *r->by_json ? "," : "", name,
			    st->by_num[i].forwarded);
		}
		if (st->by_num[i].ret_differs) {
			ls_text_add(r->ret, sizeof(r->ret), "%s%s %" PRIu64, *r->ret ? ", " : "", name, st->by_num[i].ret_differs);
			ls_text_add(r->ret_json, sizeof(r->ret_json), "%s\"%s\":%" PRIu64, *r->ret_json ? "," : "", name,
			    st->by_num[i].ret_differs);
		}
	}
	s->by_syscall = r->by;
	s->by_syscall_json = r->by_json;
	s->ret_by_syscall = r->ret;
	s->ret_by_syscall_json = r->ret_json;
	if (ls_fwd_report_mismatch(h, arch, r->mm, sizeof(r->mm)))
		s->mismatch = r->mm;
	for (unsigned v = 0; v < LS_FWD_VCPUS; v++) {
		uint32_t why = h->lane[v].b_stopped;
		if (why == LS_FWD_GOING || why == LS_FWD_STOP_MISMATCH)
			continue;
		ls_text_add(r->stopped, sizeof(r->stopped), "%svCPU %u at syscall #%" PRIu64 ": %s", *r->stopped ? "; " : "", v,
		    h->lane[v].b_stop_index, ls_fwd_stop_name(why));
	}
	if (*r->stopped)
		s->stopped = r->stopped;
}

bool ls_fwd_seed_of(const char *cmdline, char *out, size_t size)
{
	const char *p = cmdline;
	bool found = false;

	/* Each argument: QEMU takes -seed and --seed, the value as the next argument; the last one wins. */
	while (p && *p) {
		const char *end = strchr(p, ' ');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if ((n == 5 && !strncmp(p, "-seed", 5)) || (n == 6 && !strncmp(p, "--seed", 6))) {
			const char *v = end ? end + 1 : NULL;
			if (!v || !*v)
				break;
			const char *ve = strchr(v, ' ');
			size_t vn = ve ? (size_t)(ve - v) : strlen(v);
			if (vn + 1 > size || !vn)
				return false;
			memcpy(out, v, vn);
			out[vn] = 0;
			found = true;
			p = ve ? ve + 1 : NULL;
			continue;
		}
		p = end ? end + 1 : NULL;
	}
	return found;
}
