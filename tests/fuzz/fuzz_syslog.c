/*
 * fuzz_syslog.c - two sides' syscall logs as copied from targets
 * (struct ls_sys_rec, every field hostile), classified and printed as a
 * divergence report does (syscmp.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "syscmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct {
		uint64_t first_index[2], from[2], div[2];
		uint8_t split, by_order, arch, last;
	} h;
	struct ls_sys_log log[2];
	struct ls_syscmp r;
	struct ls_syscmp_fields f;
	char buf[4096];

	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	data += sizeof(h);
	size -= sizeof(h);
	size_t n = size / sizeof(struct ls_sys_rec);
	struct ls_sys_rec *recs = malloc((n ? n : 1) * sizeof(*recs));
	if (!recs)
		return 0;
	memcpy(recs, data, n * sizeof(*recs));
	size_t na = n ? h.split % (n + 1) : 0;
	/* first_index + n stays below 2^48 + 2^20: what ls_sys_span_of lets through */
	log[0] = (struct ls_sys_log){ .recs = recs, .n = na, .first_index = h.first_index[0] % (1ull << 48),
				      .enabled = h.arch & 1 };
	log[1] = (struct ls_sys_log){ .recs = recs + na, .n = n - na, .first_index = h.first_index[1] % (1ull << 48),
				      .enabled = h.arch & 2 };
	struct ls_syscmp_span span = { .from_seq = { h.from[0], h.from[1] }, .div_seq = { h.div[0], h.div[1] },
				       .by_order = h.by_order & 1 };
	ls_syscmp_classify_span(&r, (enum ls_arch)(h.arch >> 2) % 4, log, &span);
	ls_syscmp_table(&r, h.last % 32, buf, sizeof(buf));
	ls_syscmp_fields(&r, &f);
	ls_syscmp_classify(&r, (enum ls_arch)(h.arch >> 4) % 4, log, h.div[0]);
	ls_syscmp_table(&r, h.last % 32, buf, 100);
	free(recs);
	return 0;
}
