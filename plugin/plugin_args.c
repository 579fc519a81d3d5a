/* SPDX-License-Identifier: MIT */
/* plugin_args.c - parsing and validating the plugin's key=value arguments. */
#include "plugin_args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bpf/lockstep_wire.h"
#include "../user/duration.h"

static int parse_u64(const char *s, uint64_t *out, char **end)
{
	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, end, 10);
	if (errno || *end == s)
		return -1;
	*out = v;
	return 0;
}

int ls_parse_duration_ms(const char *s, uint32_t max_ms, uint32_t *out)
{
	uint64_t v;

	/* Bare numbers are milliseconds here: flush=50 reads as a short bound. */
	if (ls_parse_duration(s, 1, 0, max_ms, &v))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int ls_parse_size(const char *s, uint64_t *out)
{
	static const char sfxs[] = "kKmMgG";
	uint64_t v, mul = 1ull << 20;
	const char *sfx;
	char *end;

	if (parse_u64(s, &v, &end))
		return -1;
	if (*end) {
		if (!(sfx = strchr(sfxs, *end)))
			return -1;
		mul = 1ull << (10 * (1 + (sfx - sfxs) / 2));
		end++;
		if (!strcmp(end, "iB"))
			end += 2; /* 64MiB */
		else if (!strcmp(end, "B"))
			end++; /* 64MB, read as MiB */
		if (*end)
			return -1;
	}
	if (v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int log2_exact(uint64_t v)
{
	if (!v || (v & (v - 1)))
		return -1;
	return __builtin_ctzll(v);
}

static int parse_bool(const char *s, bool *out)
{
	if (!strcmp(s, "on") || !strcmp(s, "true") || !strcmp(s, "yes")) {
		*out = true;
		return 0;
	}
	if (!strcmp(s, "off") || !strcmp(s, "false") || !strcmp(s, "no")) {
		*out = false;
		return 0;
	}
	return -1;
}

#define FAIL(...)                                      \
	do {                                           \
		snprintf(err, errlen, __VA_ARGS__);    \
		return -1;                             \
	} while (0)

int ls_plugin_args_parse(struct ls_plugin_args *a, int argc, char **argv, char *err, size_t errlen)
{
	bool ring_given = false;

	memset(a, 0, sizeof(*a));
	a->batch_order = LS_DEFAULT_BATCH_ORDER;
	a->ring_order = LS_DEFAULT_RING_ORDER;
	a->flush_ms = LS_DEFAULT_FLUSH_MS;
	a->tlog_bytes = LS_DEFAULT_TLOG_BYTES;
	a->sys_order = LS_DEFAULT_SYS_ORDER;
	a->syscalls = true;

	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *eq = strchr(arg, '=');
		uint64_t v;
		char *end;
		int o;

		if (!eq || eq == arg)
			FAIL("argument '%s' is not key=value", arg);
		size_t klen = (size_t)(eq - arg);
		const char *val = eq + 1;
#define KEY(k) (klen == sizeof(k) - 1 && !strncmp(arg, k, klen))
		if (KEY("batch")) {
			if (parse_u64(val, &v, &end) || *end || (o = log2_exact(v)) < LS_MIN_BATCH_ORDER ||
			    o > LS_MAX_BATCH_ORDER)
				FAIL("batch=%s: must be a power of two from %u to %u blocks", val,
				     1u << LS_MIN_BATCH_ORDER, 1u << LS_MAX_BATCH_ORDER);
			a->batch_order = (uint32_t)o;
		} else if (KEY("ring")) {
			if (parse_u64(val, &v, &end) || *end || (o = log2_exact(v)) < 0 || o > LS_MAX_RING_ORDER)
				FAIL("ring=%s: must be a power of two of at most %u records", val,
				     1u << LS_MAX_RING_ORDER);
			a->ring_order = (uint32_t)o;
			ring_given = true;
		} else if (KEY("flush")) {
			if (ls_parse_duration_ms(val, 60000, &a->flush_ms))
				FAIL("flush=%s: must be a duration like 50ms or 1s, at most 60s (0 turns it off)", val);
		} else if (KEY("wait")) {
			if (ls_parse_duration_ms(val, 3600000, &a->wait_ms))
				FAIL("wait=%s: must be a duration like 500ms or 30s, at most 3600s", val);
		} else if (KEY("dump")) {
			if (!*val)
				FAIL("dump=: needs a file path");
			a->dump_path = val;
		} else if (KEY("tlog")) {
			if (ls_parse_size(val, &v) || (v && (v < LS_MIN_TLOG_BYTES || v > LS_MAX_TLOG_BYTES)))
				FAIL("tlog=%s: must be a size from 64K to 16G (a bare number is MiB; 0 turns it off)",
				     val);
			a->tlog_bytes = v;
		} else if (KEY("syscalls")) {
			if (parse_u64(val, &v, &end) || *end ||
			    (v && ((o = log2_exact(v)) < LS_MIN_SYS_ORDER || o > LS_MAX_SYS_ORDER)))
				FAIL("syscalls=%s: must be a power of two from %u to %u records (0 turns it off)", val,
				     1u << LS_MIN_SYS_ORDER, 1u << LS_MAX_SYS_ORDER);
			a->syscalls = v != 0;
			if (v)
				a->sys_order = (uint32_t)o;
		} else if (KEY("verbose")) {
			a->verbose_syscalls = !strcmp(val, "syscalls");
			if (a->verbose_syscalls)
				a->verbose = true;
			else if (parse_bool(val, &a->verbose))
				FAIL("verbose=%s: must be on, off or syscalls", val);
		} else if (KEY("forward")) {
			if (!strcmp(val, "a") || !strcmp(val, "A"))
				a->forward = 1;
			else if (!strcmp(val, "b") || !strcmp(val, "B"))
				a->forward = 2;
			else
				FAIL("forward=%s: must be a (the QEMU whose results are forwarded) or b (the one that takes "
				     "them)",
				     val);
		} else {
			FAIL("unknown argument '%.*s' (known: batch, ring, flush, wait, dump, tlog, syscalls, verbose, "
			     "forward)",
			     (int)klen, arg);
		}
#undef KEY
	}
	/* Syscalls are paired from the first: the channel must be there before the guest's first block. */
	if (a->forward && !a->wait_ms)
		FAIL("forward=%s needs wait= (hold the guest until the monitor hands over the forwarding channel)",
		     a->forward == 1 ? "a" : "b");
	/* The ring must hold every chunk the monitor may still need: a window of
	 * at least 12 chunks (ls_window), the chunk being written, one more
	 * before the hold lands, and the history. */
	uint64_t need = (uint64_t)LS_MIN_RING_CHUNKS << a->batch_order;
	if ((1ull << a->ring_order) < need) {
		if (ring_given)
			FAIL("ring=%llu is too small for batch=%llu: needs at least %llu records",
			     1ull << a->ring_order, 1ull << a->batch_order, (unsigned long long)need);
		while ((1ull << a->ring_order) < need)
			a->ring_order++;
		if (a->ring_order > LS_MAX_RING_ORDER)
			FAIL("batch=%llu needs a ring larger than %u records", 1ull << a->batch_order,
			     1u << LS_MAX_RING_ORDER);
	}
	return 0;
}
