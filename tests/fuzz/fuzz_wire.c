/*
 * fuzz_wire.c - the plugin info and a stream's batch as a target's memory
 * may hold them (wirecheck.c): whatever is accepted must keep every read,
 * allocation and shift the monitor derives from it within bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wirecheck.h"

#define CHECK(c) ((c) ? (void)0 : abort())

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ls_plugin_info info;
	struct ls_batch b;
	uint64_t cur = 0, used = 0, off = 0, seq, max;

	if (size < sizeof(info) + sizeof(b))
		return 0;
	memcpy(&info, data, sizeof(info));
	memcpy(&b, data + sizeof(info), sizeof(b));
	data += sizeof(info) + sizeof(b);
	size -= sizeof(info) + sizeof(b);
	memcpy(&cur, data, size < 8 ? size : 8);
	if (size > 8)
		memcpy(&used, data + 8, size - 8 < 8 ? size - 8 : 8);
	if (size > 16)
		memcpy(&off, data + 16, size - 16 < 8 ? size - 16 : 8);
	max = (off & 0xfffff) + 1;

	if (ls_info_problem(&info))
		return 0;
	CHECK(info.ring_order <= LS_MAX_RING_ORDER && info.batch_order <= LS_MAX_BATCH_ORDER);
	if (ls_tlog_used_problem(&info, used, off) == NULL)
		CHECK(used <= info.tlog_cap && used >= off);
	if (ls_batch_problem(&b, &info))
		return 0;
	CHECK(b.ring_order == info.ring_order && b.nblocks <= (1u << b.batch_order));
	if (ls_head_seq_of(&b, cur, &seq) == 0)
		CHECK(((seq - (b.chunk << b.batch_order) - b.nblocks) >> b.ring_order) == 0);
	if (b.sys_addr) {
		struct ls_sys_span s;
		if (ls_sys_span_of(&b, info.sys_order, max, &s) == NULL) {
			uint64_t slots = 1ull << info.sys_order;
			CHECK(s.n <= slots && s.n <= max && s.cnt[0] + s.cnt[1] == s.n);
			CHECK(s.slot[0] + s.cnt[0] <= slots && s.slot[1] + s.cnt[1] <= slots);
			CHECK(s.first_index + s.n == b.sys_next);
			/* the bytes read stay in the log the batch declares */
			CHECK(b.sys_addr + slots * sizeof(struct ls_sys_rec) > b.sys_addr);
		}
	}
	return 0;
}
