/* SPDX-License-Identifier: MIT */
/* ginputs.c - comparing what two guests were given at start (see ginputs.h). */
#include "ginputs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemucmd.h"
#include "textbuf.h"

#define MAX_ARGS 512
#define MAX_ENV 2048
#define MAX_OPTS 64

struct view {
	char *cmd, *envbuf; /* private copies, split in place */
	const char *argv[MAX_ARGS];
	int argc, guest; /* guest: index of the guest program in argv, or -1 */
	const char *argv0; /* -0: what the guest sees as argv[0] */
	const char *env[MAX_ENV]; /* "KEY=VALUE" */
	int nenv;
	bool env_truncated;
	const char *opts[MAX_OPTS]; /* "-cpu qemu64", "-singlestep" */
	char *optbuf[MAX_OPTS];
	int nopts;
	char *qemu_set, *qemu_unset; /* copies of QEMU_SET_ENV and QEMU_UNSET_ENV, split in place */
};

static size_t keylen(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

static int find(const struct view *v, const char *key, size_t klen)
{
	for (int i = 0; i < v->nenv; i++)
		if (keylen(v->env[i]) == klen && !strncmp(v->env[i], key, klen))
			return i;
	return -1;
}

static void set_env(struct view *v, const char *kv)
{
	int i = find(v, kv, keylen(kv));

	if (!strchr(kv, '='))
		return; /* qemu-user ignores a -E without '=' */
	if (i >= 0)
		v->env[i] = kv;
	else if (v->nenv < MAX_ENV)
		v->env[v->nenv++] = kv;
	else
		v->env_truncated = true;
}

static void unset_env(struct view *v, const char *key)
{
	int i = find(v, key, strlen(key));

	/* Keep the order: the guest's libc walks the variables in it. */
	if (i >= 0) {
		memmove(&v->env[i], &v->env[i + 1], (size_t)(v->nenv - i - 1) * sizeof(v->env[0]));
		v->nenv--;
	}
}

/* -E and -U take comma-separated lists, as qemu-user splits them. */
static void apply_list(struct view *v, char *list, bool set)
{
	for (char *p = list, *tok; (tok = strsep(&p, ",")) != NULL;)
		if (*tok) {
			if (set)
				set_env(v, tok);
			else
				unset_env(v, tok);
		}
}

static const char *opt_name(const char *a)
{
	while (*a == '-')
		a++;
	return a;
}

/* Options that do not change what the guest executes: the plugin, logging, tracing, the gdbstub. */
static bool ignored(const char *name)
{
	static const char *const skip[] = { "plugin", "d", "D", "E", "U", "0", "g", "trace", "dfilter", "strace" };

	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (!strcmp(name, skip[i]))
			return true;
	return false;
}

static int build(struct view *v, const struct ls_qemu_launch *l)
{
	memset(v, 0, sizeof(*v));
	v->cmd = malloc(l->cmdline_len + 1);
	v->envbuf = malloc(l->environ_len + 1);
	if (!v->cmd || !v->envbuf)
		return -1;
	memcpy(v->cmd, l->cmdline, l->cmdline_len);
	v->cmd[l->cmdline_len] = 0;
	memcpy(v->envbuf, l->environ, l->environ_len);
	v->envbuf[l->environ_len] = 0;
	v->argc = ls_split_cmdline(v->cmd, l->cmdline_len, v->argv, MAX_ARGS);
	v->guest = ls_qemu_guest_index(v->argv, v->argc);

	const char *envs[MAX_ENV];
	int ne = ls_split_cmdline(v->envbuf, l->environ_len, envs, MAX_ENV);
	for (int i = 0; i < ne; i++)
		set_env(v, envs[i]);
	/* qemu-user reads its QEMU_* variables first, then the command line. */
	int k;
	if ((k = find(v, "QEMU_ARGV0", 10)) >= 0)
		v->argv0 = v->env[k] + 11; /* what -0 sets; a -0 on the command line wins (below) */
	if ((k = find(v, "QEMU_SET_ENV", 12)) >= 0 && (v->qemu_set = strdup(v->env[k] + 13)))
		apply_list(v, v->qemu_set, true);
	if ((k = find(v, "QEMU_UNSET_ENV", 14)) >= 0 && (v->qemu_unset = strdup(v->env[k] + 15)))
		apply_list(v, v->qemu_unset, false);

	int end = v->guest < 0 ? v->argc : v->guest;
	for (int i = 1; i < end; i++) {
		const char *name = opt_name(v->argv[i]);
		bool has_value = i + 1 < end && ls_qemu_opt_takes_value(v->argv[i]);
		const char *val = has_value ? v->argv[i + 1] : NULL;
		if (!strcmp(name, "E") && val)
			apply_list(v, (char *)val, true);
		else if (!strcmp(name, "U") && val)
			apply_list(v, (char *)val, false);
		else if (!strcmp(name, "0") && val)
			v->argv0 = val;
		else if (!ignored(name) && v->nopts < MAX_OPTS) {
			size_t n = strlen(name) + (val ? strlen(val) + 1 : 0) + 2;
			char *o = malloc(n);
			if (o) {
				snprintf(o, n, "-%s%s%s", name, val ? " " : "", val ? val : "");
				v->optbuf[v->nopts] = o;
				v->opts[v->nopts++] = o;
			}
		}
		if (has_value)
			i++;
	}
	return 0;
}

static void drop(struct view *v)
{
	free(v->cmd);
	free(v->envbuf);
	for (int i = 0; i < v->nopts; i++)
		free(v->optbuf[i]);
	free(v->qemu_set);
	free(v->qemu_unset);
}

/* "\"value\"", or "unset"; cut to 24 characters. */
static void quote(char *out, size_t size, const char *v)
{
	if (!v) {
		snprintf(out, size, "unset");
		return;
	}
	size_t n = strlen(v);
	if (n > 24)
		snprintf(out, size, "\"%.21s...\"", v);
	else
		snprintf(out, size, "\"%s\"", v);
}

static void sep(char *buf, size_t size)
{
	if (buf[0])
		ls_text_add(buf, size, "; ");
}

static void diff_env(const struct view *a, const struct view *b, struct ls_ginputs_diff *d)
{
	char qa[40], qb[40];
	unsigned shown = 0;

	for (int pass = 0; pass < 2; pass++) {
		const struct view *x = pass ? b : a, *y = pass ? a : b;
		for (int i = 0; i < x->nenv; i++) {
			size_t kl = keylen(x->env[i]);
			int j = find(y, x->env[i], kl);
			/*
			 * `_` too: a shell sets it to the command it ran (a wrapper
			 * script's exec, another QEMU's path), and the guest's libc
			 * walks every variable at start, so its length alone parts them.
			 */
			if (pass && j >= 0)
				continue; /* seen from A's side */
			if (j >= 0 && !strcmp(x->env[i] + kl, y->env[j] + kl))
				continue;
			d->env++;
			if (shown++ >= 4)
				continue;
			const char *xv = x->env[i][kl] == '=' ? x->env[i] + kl + 1 : "";
			const char *yv = j >= 0 && y->env[j][kl] == '=' ? y->env[j] + kl + 1 : NULL;
			quote(qa, sizeof(qa), pass ? yv : xv);
			quote(qb, sizeof(qb), pass ? xv : yv);
			sep(d->inputs, sizeof(d->inputs));
			ls_text_add(d->inputs, sizeof(d->inputs), "environment %.*s (A %s, B %s)", (int)kl, x->env[i], qa, qb);
		}
	}
	if (shown > 4) {
		sep(d->inputs, sizeof(d->inputs));
		ls_text_add(d->inputs, sizeof(d->inputs), "%u more environment variables", shown - 4);
	}
}

/*
 * The same variables in another order part the guests too (glibc's start-up
 * walks them in order, a wrapper shell exports them in its own): name the
 * first place they differ.
 */
static void diff_env_order(const struct view *a, const struct view *b, struct ls_ginputs_diff *d)
{
	if (a->nenv != b->nenv)
		return;
	for (int i = 0; i < a->nenv; i++) {
		size_t ka = keylen(a->env[i]), kb = keylen(b->env[i]);
		if (ka == kb && !strncmp(a->env[i], b->env[i], ka))
			continue;
		d->env++;
		sep(d->inputs, sizeof(d->inputs));
		ls_text_add(d->inputs, sizeof(d->inputs),
		    "environment order: the same %d variables, but variable %d is %.*s in A and %.*s in B", a->nenv,
		    i, (int)(ka > 32 ? 32 : ka), a->env[i], (int)(kb > 32 ? 32 : kb), b->env[i]);
		return;
	}
}

static void diff_args(const struct view *a, const struct view *b, struct ls_ginputs_diff *d)
{
	int na = a->guest < 0 ? 0 : a->argc - a->guest, nb = b->guest < 0 ? 0 : b->argc - b->guest;
	char qa[40], qb[40];
	unsigned shown = 0;

	for (int k = 0; k < na || k < nb; k++) {
		const char *x = k < na ? (k == 0 && a->argv0 ? a->argv0 : a->argv[a->guest + k]) : NULL;
		const char *y = k < nb ? (k == 0 && b->argv0 ? b->argv0 : b->argv[b->guest + k]) : NULL;
		if (x && y && !strcmp(x, y))
			continue;
		d->args++;
		if (shown++ >= 3)
			continue;
		quote(qa, sizeof(qa), x);
		quote(qb, sizeof(qb), y);
		sep(d->inputs, sizeof(d->inputs));
		ls_text_add(d->inputs, sizeof(d->inputs), "argv[%d] (A %s, B %s)", k, x ? qa : "none", y ? qb : "none");
	}
}

static void diff_opts(const struct view *a, const struct view *b, struct ls_ginputs_diff *d)
{
	for (int pass = 0; pass < 2; pass++) {
		const struct view *x = pass ? b : a, *y = pass ? a : b;
		bool first = true;
		for (int i = 0; i < x->nopts; i++) {
			bool found = false;
			for (int j = 0; j < y->nopts && !found; j++)
				found = !strcmp(x->opts[i], y->opts[j]);
			if (found)
				continue;
			d->opts++;
			if (first) {
				sep(d->options, sizeof(d->options));
				ls_text_add(d->options, sizeof(d->options), "%c", pass ? 'B' : 'A');
				first = false;
			}
			ls_text_add(d->options, sizeof(d->options), " %s", x->opts[i]);
		}
	}
}

bool ls_ginputs_compare(const struct ls_qemu_launch *la, const struct ls_qemu_launch *lb, struct ls_ginputs_diff *d)
{
	/* Zeroed, so drop() is safe on a view build() never reached. */
	struct view *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));

	memset(d, 0, sizeof(*d));
	if (!a || !b || build(a, la) || build(b, lb)) {
		if (a)
			drop(a);
		if (b)
			drop(b);
		free(a);
		free(b);
		return false;
	}
	diff_args(a, b, d);
	diff_env(a, b, d);
	if (!d->env)
		diff_env_order(a, b, d);
	if (a->env_truncated || b->env_truncated) {
		sep(d->inputs, sizeof(d->inputs));
		ls_text_add(d->inputs, sizeof(d->inputs), "(only the first %d environment variables compared)", MAX_ENV);
	}
	if (la->cwd && lb->cwd && la->cwd[0] && lb->cwd[0] && strcmp(la->cwd, lb->cwd)) {
		char qa[40], qb[40];
		d->cwd = 1;
		quote(qa, sizeof(qa), la->cwd);
		quote(qb, sizeof(qb), lb->cwd);
		sep(d->inputs, sizeof(d->inputs));
		ls_text_add(d->inputs, sizeof(d->inputs), "working directory%s (A %s, B %s)",
		    la->cwd_late || lb->cwd_late ? " when the monitor attached" : "", qa, qb);
	}
	diff_opts(a, b, d);
	drop(a);
	drop(b);
	free(a);
	free(b);
	return d->env || d->args || d->cwd;
}

bool ls_ginputs_opts_visible(const char *options)
{
	static const char *const cut_only[] = { "singlestep", "one-insn-per-tb" };

	for (const char *p = options; *p; p++) {
		if (*p != '-' || (p > options && p[-1] != ' '))
			continue;
		const char *name = p;
		while (*name == '-')
			name++;
		size_t n = strcspn(name, " ;");
		bool only_cut = false;
		for (size_t k = 0; k < sizeof(cut_only) / sizeof(cut_only[0]); k++)
			only_cut |= strlen(cut_only[k]) == n && !strncmp(name, cut_only[k], n);
		if (n && !only_cut)
			return true;
	}
	return false;
}
