/* SPDX-License-Identifier: MIT */
/* json.c - the --json event objects (schema LS_JSON_SCHEMA, documented in README.md). */
#include "json.h"

#include <inttypes.h>

void ls_json_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			/* Other control bytes escaped; bytes from 0x80 pass through (UTF-8 assumed). */
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void side_obj(FILE *f, const struct ls_side_desc *s)
{
	fprintf(f, "{\"label\":\"%c\",\"pid\":%d,\"qemu\":", s->label, (int)s->pid);
	ls_json_str(f, s->exe);
	fputs(",\"guest\":", f);
	ls_json_str(f, s->guest);
	fputs(",\"plugin_version\":", f);
	ls_json_str(f, s->plugin_version);
	fputs(",\"cmdline\":", f);
	ls_json_str(f, s->cmdline);
	fputc('}', f);
}

static void end(FILE *f)
{
	fputs("}\n", f);
	fflush(f);
}

void ls_json_start(FILE *f, const struct ls_side_desc sides[2], unsigned batch_blocks, double t)
{
	fprintf(f, "{\"type\":\"start\",\"schema\":%d,\"time\":%.6f,\"batch_blocks\":%u,\"sides\":[", LS_JSON_SCHEMA, t,
		batch_blocks);
	side_obj(f, &sides[0]);
	fputc(',', f);
	side_obj(f, &sides[1]);
	fputc(']', f);
	end(f);
}

void ls_json_interval(FILE *f, const struct ls_live *l)
{
	fprintf(f,
		"{\"type\":\"interval\",\"time\":%.6f,\"blocks\":{\"A\":%" PRIu64 ",\"B\":%" PRIu64 "},"
		"\"blocks_per_s\":{\"A\":%.1f,\"B\":%.1f},\"ended\":{\"A\":%s,\"B\":%s},"
		"\"compared_blocks\":%" PRIu64 ",\"compared_instructions\":%" PRIu64 ",\"compared_per_s\":%.1f,"
		"\"lag_blocks\":%" PRId64 ",\"divergences\":%u,\"uncompared_blocks\":%" PRIu64 ",\"lost\":%" PRIu64,
		l->elapsed_s, l->blocks[0], l->blocks[1], l->rate[0], l->rate[1], l->ended[0] ? "true" : "false",
		l->ended[1] ? "true" : "false", l->compared_blocks, l->compared_insns, l->compared_rate, l->lag,
		l->divergences, l->uncompared, l->lost);
	end(f);
}

static void cell(FILE *f, const struct ls_hist_row *r, int i, const char *sym)
{
	if (!r->have[i]) {
		fputs("null", f);
		return;
	}
	fprintf(f, "{\"pc\":\"0x%" PRIx64 "\",\"insns\":%u,\"cumulative_insns\":%" PRIu64, r->pc[i], r->ninsns[i],
		r->cum[i]);
	if (sym) {
		fputs(",\"symbol\":", f);
		ls_json_str(f, sym);
	}
	fputc('}', f);
}

/* A candidate syscall (kind: in cause.candidates) or the culprit (cause.syscall). */
static void syscall_obj(FILE *f, const struct ls_cause_syscall *c, bool kind)
{
	fputc('{', f);
	if (kind)
		fputs("\"kind\":\"syscall\",", f);
	fputs("\"name\":", f);
	ls_json_str(f, c->name);
	fprintf(f, ",\"num\":%" PRId64 ",\"index\":%" PRIu64 ",\"block\":%" PRIu64 ",\"count\":%" PRIu64, c->num,
		c->index, c->block, c->count);
	for (int i = 0; i < 2; i++) {
		fprintf(f, ",\"%c\":{\"state\":", 'A' + i);
		ls_json_str(f, c->state[i]);
		fprintf(f, ",\"ret\":%" PRId64 ",\"out_len\":%" PRIu32 ",\"out_head\":", c->ret[i], c->out_len[i]);
		ls_json_str(f, c->out_hex[i]);
		fputc('}', f);
	}
	fputc('}', f);
}

static void interleaving_obj(FILE *f, const struct ls_divergence *d)
{
	fprintf(f, "{\"kind\":\"thread_interleaving\",\"likely\":%s,\"why\":", d->interleaving_likely ? "true" : "false");
	ls_json_str(f, d->interleaving);
	fputc('}', f);
}

static void signal_obj(FILE *f, const struct ls_divergence *d)
{
	fprintf(f, "{\"kind\":\"signal\",\"likely\":%s,\"why\":", d->signal_likely ? "true" : "false");
	ls_json_str(f, d->signal);
	fputc('}', f);
}

static void insn_obj(FILE *f, const struct ls_insn_line *l)
{
	fprintf(f, "{\"addr\":\"0x%" PRIx64 "\",\"symbol\":", l->addr);
	ls_json_str(f, l->sym);
	fputs(",\"text\":", f);
	ls_json_str(f, l->text);
	fputc('}', f);
}

void ls_json_divergence(FILE *f, const struct ls_side_desc sides[2], const struct ls_divergence *d,
			unsigned index, double t)
{
	fprintf(f,
		"{\"type\":\"divergence\",\"time\":%.6f,\"index\":%u,\"vcpu\":%u,\"found\":%s,"
		"\"range\":{\"from_block\":%" PRIu64 ",\"to_block\":%" PRIu64 "}",
		t, index, d->vcpu, d->found ? "true" : "false", d->range_lo, d->range_hi);
	if (!d->found) {
		fputs(",\"problem\":", f);
		ls_json_str(f, d->problem ? d->problem : "unknown");
		end(f);
		return;
	}
	fprintf(f, ",\"unit\":\"%s\",\"block\":%" PRIu64 ",\"block_b\":%" PRIu64 ",\"same_pc\":%s,\"headline\":",
		d->unit ? d->unit : "block", d->seq, d->seq_b, d->pc[0] == d->pc[1] ? "true" : "false");
	ls_json_str(f, d->headline);
	fputs(",\"sides\":{", f);
	for (int i = 0; i < 2; i++) {
		fprintf(f, "%s\"%c\":{\"pid\":%d,\"pc\":\"0x%" PRIx64 "\",\"insns\":%u,\"cumulative_insns\":%" PRIu64
			   ",\"in_block\":%" PRIu64 ",\"symbol\":",
			i ? "," : "", sides[i].label, (int)sides[i].pid, d->pc[i], d->ninsns[i], d->cum[i], d->block[i]);
		ls_json_str(f, d->sym[i][0] ? d->sym[i] : NULL);
		fputs(",\"disassembly\":[", f);
		for (size_t k = 0; k < d->ndis[i]; k++) {
			if (k)
				fputc(',', f);
			insn_obj(f, &d->dis[i][k]);
		}
		fputs("]}", f);
	}
	fputs("},\"first_instruction\":", f);
	if (d->insn_found) {
		fprintf(f, "{\"index\":%" PRIu64 ",\"last_common\":", d->insn_index);
		if (d->have_common)
			insn_obj(f, &d->common);
		else
			fputs("null", f);
		fputs(",\"A\":", f);
		insn_obj(f, &d->first[0]);
		fputs(",\"B\":", f);
		insn_obj(f, &d->first[1]);
		fputc('}', f);
	} else {
		fputs("null", f);
	}
	fputs(",\"cause\":", f);
	if (d->cause_key) {
		fputs("{\"cause\":", f);
		ls_json_str(f, d->cause_key);
		fputs(",\"text\":", f);
		ls_json_str(f, d->cause);
		fputs(",\"syscalls\":", f);
		ls_json_str(f, d->syscalls);
		fputs(",\"syscall\":", f);
		if (d->culprit.have)
			syscall_obj(f, &d->culprit, false);
		else
			fputs("null", f);
		fputs(",\"candidates\":[", f);
		/* As the text lists them: leading signal/interleaving, the syscalls, the rest before the first pid. */
		bool comma = false, trailing_done = false;
		for (size_t step = 0; step <= d->ncandidates + 1; step++) {
			const struct ls_cause_syscall *c = step && step <= d->ncandidates ? &d->candidates[step - 1] : NULL;

			if (step == 0 || (!trailing_done && ((c && c->pid) || step == d->ncandidates + 1))) {
				bool lead = step == 0;

				trailing_done = !lead;
				if (d->signal && (d->specific_first || d->signal_likely) == lead) {
					if (comma)
						fputc(',', f);
					signal_obj(f, d);
					comma = true;
				}
				if (d->interleaving && (d->specific_first || d->interleaving_likely) == lead) {
					if (comma)
						fputc(',', f);
					interleaving_obj(f, d);
					comma = true;
				}
			}
			if (!c)
				continue;
			if (comma)
				fputc(',', f);
			syscall_obj(f, c, true);
			comma = true;
		}
		fputc(']', f);
		fputs(",\"started_differently\":", f);
		ls_json_str(f, d->started_differently);
		fputs(",\"qemu_options\":", f);
		ls_json_str(f, d->qemu_options);
		fputc('}', f);
	} else {
		fputs("null", f);
	}
	fputs(",\"next_step\":", f);
	ls_json_str(f, d->next_step);
	fputs(",\"history\":[", f);
	for (size_t k = 0; k < d->nrows; k++) {
		const struct ls_hist_row *r = &d->rows[k];
		fprintf(f, "%s{\"block\":%" PRIu64 ",\"block_b\":%" PRIu64 ",\"differs\":%s,\"A\":", k ? "," : "", r->seq,
			r->seq_b, r->differs ? "true" : "false");
		cell(f, r, 0, d->row_sym ? d->row_sym[k][0] : NULL);
		fputs(",\"B\":", f);
		cell(f, r, 1, d->row_sym ? d->row_sym[k][1] : NULL);
		fputc('}', f);
	}
	fputc(']', f);
	end(f);
}

void ls_json_region(FILE *f, int vcpu, unsigned index, bool rejoined, const char *unit, const uint64_t at[2],
		    const uint64_t len[2], double t)
{
	fprintf(f,
		"{\"type\":\"region\",\"time\":%.6f,\"index\":%u,\"vcpu\":%d,\"unit\":\"%s\",\"rejoined\":%s,"
		"\"A\":{\"from\":%" PRIu64 ",\"length\":%" PRIu64 "},\"B\":{\"from\":%" PRIu64 ",\"length\":%" PRIu64 "}",
		t, index, vcpu, unit, rejoined ? "true" : "false", at[0], len[0], at[1], len[1]);
	if (rejoined)
		fprintf(f, ",\"rejoined_at\":{\"A\":%" PRIu64 ",\"B\":%" PRIu64 "}", at[0] + len[0], at[1] + len[1]);
	end(f);
}

void ls_json_side_exit(FILE *f, const struct ls_side_desc *side, const char *how, int status, uint64_t blocks,
		       double t)
{
	fprintf(f, "{\"type\":\"side_exit\",\"time\":%.6f,\"side\":\"%c\",\"pid\":%d,\"how\":", t, side->label,
		(int)side->pid);
	ls_json_str(f, how);
	if (status >= 0)
		fprintf(f, ",\"status\":%d", status);
	else
		fputs(",\"status\":null", f);
	fprintf(f, ",\"blocks_published\":%" PRIu64, blocks);
	end(f);
}

void ls_json_summary(FILE *f, const struct ls_side_desc sides[2], const struct ls_summary *s, int exit_code,
		     const char *result)
{
	fprintf(f,
		"{\"type\":\"summary\",\"time\":%.6f,\"started\":%s,\"start_block\":%" PRIu64
		",\"compared_blocks\":%" PRIu64 ",\"compared_instructions\":%" PRIu64 ",\"divergences\":%u,"
		"\"vcpus\":%u,\"events_lost\":%" PRIu64 ",\"bad_batches\":%" PRIu64 ",\"sides\":{",
		s->elapsed_s, s->started ? "true" : "false", s->start_seq, s->compared_blocks, s->compared_insns,
		s->divergences, s->vcpus, s->ringbuf_lost, s->bad_batches);
	for (int i = 0; i < 2; i++) {
		const struct ls_side_summary *ss = &s->side[i];
		fprintf(f,
			"%s\"%c\":{\"pid\":%d,\"blocks_published\":%" PRIu64 ",\"state\":",
			i ? "," : "", sides[i].label, (int)sides[i].pid, ss->published_end);
		ls_json_str(f, ss->end_how);
		fprintf(f,
			",\"uncompared\":{\"before_start\":%" PRIu64 ",\"after_stop\":%" PRIu64 ",\"unmatched\":%" PRIu64
			",\"comparison_stopped\":%" PRIu64 ",\"total\":%" PRIu64 "},\"window_overruns\":%" PRIu64
			",\"instructions_folded\":{\"repeats\":%" PRIu64 ",\"backed_out\":%" PRIu64 "}}",
			ss->early, ss->late, ss->pending, ss->stopped, ss->early + ss->late + ss->pending + ss->stopped,
			ss->overruns, ss->insn_repeats, ss->insn_phantoms);
	}
	fputs("},\"after_stop_reason\":", f);
	ls_json_str(f, s->late_why);
	if (s->fwd) {
		const struct ls_fwd_summary *w = s->fwd;
		fputs(",\"forward\":{\"problem\":", f);
		ls_json_str(f, w->problem);
		fprintf(f,
			",\"forwarded\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"by_syscall\":{%s},\"not_forwarded\":{"
			"\"return_value\":%" PRIu64 ",\"return_value_by_syscall\":{%s},\"failed_on_one_side\":%" PRIu64
			",\"too_long\":%" PRIu64 ",\"unwritable\":%" PRIu64 ",\"after_pairing_stopped\":%" PRIu64
			",\"threads_beyond_lanes\":%" PRIu64
			"},\"pairs_checked\":%" PRIu64 ",\"waits\":%" PRIu64 ",\"wait_ms\":%.3f,\"max_wait_ms\":%.3f,"
			"\"ns_per_forwarded\":%.0f,\"auxv_same\":%s,\"auxv\":",
			w->forwarded, w->bytes, w->by_syscall_json ? w->by_syscall_json : "", w->ret_differs,
			w->ret_by_syscall_json ? w->ret_by_syscall_json : "", w->one_failed, w->too_long, w->unwritable,
			w->after_stop, w->no_lane, w->checked, w->waits, w->wait_ms, w->max_wait_ms, w->ns_each,
			w->auxv_same ? "true" : "false");
		ls_json_str(f, w->auxv);
		fputs(",\"mismatch\":", f);
		ls_json_str(f, w->mismatch);
		fputs(",\"stopped\":", f);
		ls_json_str(f, w->stopped);
		fputc('}', f);
	}
	fprintf(f, ",\"exit_code\":%d,\"result\":", exit_code);
	ls_json_str(f, result);
	end(f);
}

void ls_json_notice(FILE *f, const char *level, const char *msg, double t)
{
	fprintf(f, "{\"type\":\"notice\",\"time\":%.6f,\"level\":", t);
	ls_json_str(f, level);
	fputs(",\"message\":", f);
	ls_json_str(f, msg);
	end(f);
}
