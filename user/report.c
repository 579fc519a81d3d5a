/* SPDX-License-Identifier: MIT */
/* report.c - formatting the divergence report and the summary. */
#include "report.h"

#include <inttypes.h>
#include <string.h>

static const char *or_unknown(const char *s)
{
	return s && *s ? s : "(unknown)";
}

void ls_print_header(FILE *f, const struct ls_side_desc sides[2])
{
	for (int i = 0; i < 2; i++) {
		fprintf(f, "%c: pid %d, QEMU %s, guest %s, plugin %s\n", sides[i].label, (int)sides[i].pid,
			or_unknown(sides[i].exe), or_unknown(sides[i].guest), or_unknown(sides[i].plugin_version));
		if (sides[i].cmdline && *sides[i].cmdline)
			fprintf(f, "   %s\n", sides[i].cmdline);
	}
}

const char *ls_si(char *buf, size_t len, double v)
{
	static const char suffix[] = " kMGTPE";
	int k = 0;
	double a = v < 0 ? -v : v;

	while (a >= 999.95 && k < 6) {
		a /= 1000;
		v /= 1000;
		k++;
	}
	if (k == 0)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.2f%c", v, suffix[k]);
	return buf;
}

void ls_print_live_header(FILE *f)
{
	fprintf(f, "#%9s %14s %14s %16s %14s %12s %6s %11s %6s\n", "time(s)", "A blocks/s", "B blocks/s",
		"compared", "compared/s", "lag(A-B)", "div", "uncompared", "lost");
}

void ls_print_live_line(FILE *f, const struct ls_live *l)
{
	fprintf(f, "%10.3f %14.0f %14.0f %16" PRIu64 " %14.0f %12" PRId64 " %6u %11" PRIu64 " %6" PRIu64 "%s%s\n",
		l->elapsed_s, l->rate[0], l->rate[1], l->compared_blocks, l->compared_rate, l->lag, l->divergences,
		l->uncompared, l->lost, l->ended[0] ? "  A ended" : "", l->ended[1] ? "  B ended" : "");
}

void ls_print_live_view(FILE *f, const struct ls_side_desc sides[2], const struct ls_live *l, bool redraw)
{
	char a[32], b[32], c[32], d[32];

	if (redraw) /* cursor up over the last view, then clear to the end of the screen */
		fprintf(f, "\033[%dA\033[J", LS_LIVE_VIEW_LINES);
	/* Every line stays under 80 columns: a wrapped line would break the redraw. */
	fprintf(f, "lockstep-bpf  %.1f s  lag A-B %s blocks  (Ctrl-C stops)\n", l->elapsed_s,
		ls_si(d, sizeof(d), (double)l->lag));
	snprintf(a, sizeof(a), "A (pid %d)%s", (int)sides[0].pid, l->ended[0] ? " ended" : "");
	snprintf(b, sizeof(b), "B (pid %d)%s", (int)sides[1].pid, l->ended[1] ? " ended" : "");
	fprintf(f, "  %-12s %-24s %-24s\n", "", a, b);
	fprintf(f, "  %-12s %-24s %-24s\n", "blocks", ls_si(a, sizeof(a), (double)l->blocks[0]),
		ls_si(b, sizeof(b), (double)l->blocks[1]));
	fprintf(f, "  %-12s %-24s %-24s\n", "blocks/s", ls_si(a, sizeof(a), l->rate[0]),
		ls_si(b, sizeof(b), l->rate[1]));
	fprintf(f, "  %-12s %s blocks (%s/s), %s instructions\n", "compared",
		ls_si(a, sizeof(a), (double)l->compared_blocks), ls_si(b, sizeof(b), l->compared_rate),
		ls_si(c, sizeof(c), (double)l->compared_insns));
	fprintf(f, "  %-12s %u divergence%s, %" PRIu64 " blocks not compared, %" PRIu64 " lost\n", "found",
		l->divergences, l->divergences == 1 ? "" : "s", l->uncompared, l->lost);
	fflush(f);
}

/*
 * A symbol cut to w columns in the middle of its name, so the offset and a
 * "(no symbol)" note always show: "__vfprin...+0x11a4".
 */
static const char *fit_sym(char *out, size_t w, const char *sym)
{
	size_t n = strlen(sym);
	const char *tail = strrchr(sym, '+');

	if (n <= w) {
		snprintf(out, w + 1, "%s", sym);
		return out;
	}
	size_t t = tail ? n - (size_t)(tail - sym) : 0;
	if (!tail || t + 3 > w) {
		snprintf(out, w + 1, "%.*s...", (int)(w - 3), sym);
		return out;
	}
	snprintf(out, w + 1, "%.*s...%s", (int)(w - 3 - t), sym, tail);
	return out;
}

static void print_cell(FILE *f, const struct ls_hist_row *r, int i, const char *sym)
{
	char cut[32];

	if (r->have[i])
		fprintf(f, "0x%-12" PRIx64 " %-24s %5u", r->pc[i], fit_sym(cut, 24, sym ? sym : ""), r->ninsns[i]);
	else
		fprintf(f, "%-14s %-24s %5s", "(not there)", "", "");
}

static void print_insn(FILE *f, const char *label, const struct ls_insn_line *l)
{
	char cut[32];

	fprintf(f, "    %-15s 0x%-12" PRIx64 " %-28s %s\n", label, l->addr, fit_sym(cut, 28, l->sym), l->text);
}

void ls_print_divergence(FILE *f, const struct ls_side_desc sides[2], const struct ls_divergence *d)
{
	const char *unit = d->unit ? d->unit : "block";
	bool insns = !strcmp(unit, "instruction");

	if (!d->found) {
		fprintf(f, "\nDIVERGENCE on vCPU %u between %ss %" PRIu64 " and %" PRIu64
			   " (the two sides' digests differ there)\n",
			d->vcpu, unit, d->range_lo, d->range_hi - 1);
		fprintf(f, "  the exact %s could not be located: %s\n", unit, d->problem ? d->problem : "unknown");
		return;
	}
	if (d->seq == d->seq_b)
		fprintf(f, "\nDIVERGENCE on vCPU %u at %s %" PRIu64 ": %s\n", d->vcpu, unit, d->seq,
			d->headline ? d->headline : "the two sides differ");
	else
		fprintf(f, "\nDIVERGENCE on vCPU %u at A's %s %" PRIu64 " = B's %" PRIu64 ": %s\n", d->vcpu, unit, d->seq,
			d->seq_b, d->headline ? d->headline : "the two sides differ");
	for (int i = 0; i < 2; i++) {
		if (insns)
			fprintf(f, "  %c (pid %d): 0x%" PRIx64 " %s, in block %" PRIu64 "\n", sides[i].label, (int)sides[i].pid,
				d->pc[i], d->sym[i], d->block[i]);
		else
			fprintf(f, "  %c (pid %d): block at 0x%" PRIx64 " %s, %u instruction%s, %" PRIu64
				   " executed through it\n",
				sides[i].label, (int)sides[i].pid, d->pc[i], d->sym[i], d->ninsns[i], d->ninsns[i] == 1 ? "" : "s",
				d->cum[i]);
	}
	if (d->insn_found) {
		fprintf(f, "  first divergent instruction, #%" PRIu64 ":\n", d->insn_index);
		if (d->have_common)
			print_insn(f, "last in common", &d->common);
		print_insn(f, "A ran", &d->first[0]);
		print_insn(f, "B ran", &d->first[1]);
	} else if (d->insn_problem) {
		fprintf(f, "  first divergent instruction: not known (%s)\n", d->insn_problem);
	}
	fprintf(f, "\n  %-12s | %-14s %-24s %5s | %-14s %-24s %5s\n", insns ? "instruction" : "block", "A pc", "symbol",
		"insns", "B pc", "symbol", "insns");
	for (size_t k = 0; k < d->nrows; k++) {
		const struct ls_hist_row *r = &d->rows[k];
		char mark = r->seq == d->seq ? '>' : r->differs ? '!' : ' ';
		fprintf(f, "%c %-12" PRIu64 " | ", mark, r->seq);
		print_cell(f, r, 0, d->row_sym ? d->row_sym[k][0] : NULL);
		fprintf(f, " | ");
		print_cell(f, r, 1, d->row_sym ? d->row_sym[k][1] : NULL);
		fprintf(f, "\n");
	}
	fprintf(f, "  ('>' first divergent %s, '!' the sides differ%s)\n", unit,
		d->seq != d->seq_b ? "; B's numbers are A's shifted by the earlier regions" : "");
	for (int i = 0; i < 2; i++) {
		if (!d->ndis[i])
			continue;
		fprintf(f, "\n  %c's divergent block:\n", sides[i].label);
		for (size_t k = 0; k < d->ndis[i]; k++) {
			const struct ls_insn_line *l = &d->dis[i][k];
			char cut[32];
			fprintf(f, "  %c 0x%-12" PRIx64 " %-28s %s\n", l->mark ? '>' : ' ', l->addr, fit_sym(cut, 28, l->sym),
				l->text);
		}
	}
	if (d->dis_problem)
		fprintf(f, "\n  disassembly: %s\n", d->dis_problem);
	if (d->cause) {
		fprintf(f, "\n  cause: %s\n", d->cause);
		if (d->syscalls)
			fprintf(f, "%s", d->syscalls);
		if (d->caveat)
			fprintf(f, "  (%s)\n", d->caveat);
	}
	if (d->next_step)
		fprintf(f, "\n  next: %s", d->next_step);
}

static void print_side_uncompared(FILE *f, const struct ls_side_desc *d, const struct ls_side_summary *s,
				  const char *late_why, bool diverged)
{
	if (diverged) { /* what was not compared after the stop is one category */
		fprintf(f, "    %c: %" PRIu64 " before the comparison started, %" PRIu64 " apart in divergent regions, %" PRIu64
			   " after the comparison stopped",
			d->label, s->early, s->apart, s->late + s->pending);
		if (s->gave_up)
			fprintf(f, ", %" PRIu64 " after the sides did not come back together (--window)", s->gave_up);
	} else {
		fprintf(f, "    %c: %" PRIu64 " before the comparison started, %" PRIu64 " %s, %" PRIu64
			   " published but never matched by the other side",
			d->label, s->early, s->late, late_why ? late_why : "after the comparison stopped", s->pending);
	}
	if (s->stopped)
		fprintf(f, ", %" PRIu64 " after the user-space comparison stopped (see the notice)", s->stopped);
	fputc('\n', f);
}

void ls_print_fwd_summary(FILE *f, const struct ls_fwd_summary *w)
{
	if (w->problem) {
		fprintf(f, "  forwarded:     nothing: %s\n", w->problem);
	} else {
		fprintf(f, "  forwarded:     %" PRIu64 " syscall result%s from A to B%s%s%s, %" PRIu64 " bytes\n", w->forwarded,
			w->forwarded == 1 ? "" : "s", *w->by_syscall ? " (" : "", w->by_syscall, *w->by_syscall ? ")" : "",
			w->bytes);
		fprintf(f, "                 B waited for A %" PRIu64 " time%s (%.3f ms in all, longest %.3f ms); %.0f ns a "
			   "forwarded syscall besides waiting; %" PRIu64 " syscall pairs checked to be the same call\n",
			w->waits, w->waits == 1 ? "" : "s", w->wait_ms, w->max_wait_ms, w->ns_each, w->checked);
	}
	if (w->ret_differs)
		fprintf(f, "  NOT FORWARDED: %" PRIu64 " return value%s that differ (%s): plugin API 1 cannot set a register\n",
			w->ret_differs, w->ret_differs == 1 ? "" : "s", w->ret_by_syscall);
	if (w->one_failed || w->too_long || w->unwritable || w->after_stop || w->no_lane)
		fprintf(f, "  NOT FORWARDED: %" PRIu64 " failed on one side only, %" PRIu64 " longer than 64 KiB, %" PRIu64
			   " not writable in B, %" PRIu64 " after forwarding stopped, %" PRIu64 " in threads beyond the 8th\n",
			w->one_failed, w->too_long, w->unwritable, w->after_stop, w->no_lane);
	if (w->auxv)
		fprintf(f, "  %s %s\n", w->auxv_same ? "AT_RANDOM:    " : "AT_RANDOM:     NOT FORWARDED:", w->auxv);
	if (w->mismatch)
		fprintf(f, "  DIVERGED:      syscalls could not be paired: %s\n", w->mismatch);
	if (w->stopped)
		fprintf(f, "  forwarding stopped: %s\n", w->stopped);
}

void ls_print_summary(FILE *f, const struct ls_side_desc sides[2], const struct ls_summary *s)
{
	fprintf(f, "\nSummary after %.2f s:\n", s->elapsed_s);
	if (s->started)
		fprintf(f, "  compared:      %" PRIu64 " blocks, %" PRIu64 " instructions, from block %" PRIu64
			   " on (%u vCPU stream%s)\n",
			s->compared_blocks, s->compared_insns, s->start_seq, s->vcpus, s->vcpus == 1 ? "" : "s");
	else
		fprintf(f, "  compared:      nothing: the two sides never published a common block range\n");
	if (s->insn_mode)
		for (int i = 0; i < 2; i++)
			fprintf(f, "%s%c: %" PRIu64 " back-to-back re-executions of one instruction counted once, %" PRIu64
				   " instructions QEMU listed but backed out\n",
				i ? "                 " : "  folded:        ", sides[i].label, s->side[i].insn_repeats,
				s->side[i].insn_phantoms);
	fprintf(f, "  divergences:   %u region%s", s->divergences, s->divergences == 1 ? "" : "s");
	if (s->regions_open)
		fprintf(f, ", %u still apart at the end", s->regions_open);
	if (s->gave_up_vcpus)
		fprintf(f, ", %u vCPU%s not back together within --window", s->gave_up_vcpus,
			s->gave_up_vcpus == 1 ? "" : "s");
	if (s->stopped_vcpus)
		fprintf(f, ", %u vCPU%s no longer compared (see the notice)", s->stopped_vcpus,
			s->stopped_vcpus == 1 ? "" : "s");
	fputc('\n', f);
	fprintf(f, "  not compared:  blocks per side\n");
	for (int i = 0; i < 2; i++)
		print_side_uncompared(f, &sides[i], &s->side[i], s->late_why, s->divergences > 0);
	for (int i = 0; i < 2; i++) {
		fprintf(f, "  %c (pid %d):   %s, %" PRIu64 " blocks published\n", sides[i].label, (int)sides[i].pid,
			s->side[i].end_how ? s->side[i].end_how : "?", s->side[i].published_end);
		if (s->side[i].overruns)
			fprintf(f, "  OVERRUN:       %c ran past the comparison window: %" PRIu64
				   " blocks could not be compared\n",
				sides[i].label, s->side[i].overruns);
	}
	if (s->fwd)
		ls_print_fwd_summary(f, s->fwd);
	if (s->ringbuf_lost || s->bad_batches)
		fprintf(f, "  LOST:          %" PRIu64 " events dropped (ring buffer full), %" PRIu64
			   " unreadable publications\n",
			s->ringbuf_lost, s->bad_batches);
	else
		fprintf(f, "  lost:          none\n");
}
