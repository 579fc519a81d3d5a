/* test_wire.c - the shared wire format: record packing, the chunk digest and the struct layouts. */
#include <criterion/criterion.h>
#include <stddef.h>

#include "lockstep_wire.h"

static __u64 chunk_digest(const __u64 *words, size_t n, __u64 first_seq)
{
	__u64 d = LS_DIGEST_INIT;

	for (size_t i = 0; i < n; i++)
		d += ls_digest_term(words[i], first_seq + i);
	return d;
}

Test(wire, rec_round_trip_user_pc)
{
	__u64 w = ls_rec_make(0x401136, 7);

	cr_assert_eq(w, 0x0007000000401136ULL);
	cr_assert_eq(ls_rec_pc(w), 0x401136ULL);
	cr_assert_eq(ls_rec_ninsns(w), 7u);
}

Test(wire, rec_round_trip_highest_user_pc)
{
	/* Bit 47 clear: the largest pc that must come back without sign extension. */
	__u64 pc = (1ULL << 47) - 1;
	__u64 w = ls_rec_make(pc, 1);

	cr_assert_eq(ls_rec_pc(w), 0x00007fffffffffffULL);
	cr_assert_eq(ls_rec_ninsns(w), 1u);
}

Test(wire, rec_round_trip_kernel_pc_sign_extends)
{
	__u64 w = ls_rec_make(0xffffffff81000000ULL, 512);

	cr_assert_eq(w & LS_REC_PC_MASK, 0x0000ffff81000000ULL);
	cr_assert_eq(ls_rec_pc(w), 0xffffffff81000000ULL);
	cr_assert_eq(ls_rec_ninsns(w), 512u);
}

Test(wire, rec_lowest_canonical_high_pc)
{
	__u64 w = ls_rec_make(0xffff800000000000ULL, 3);

	cr_assert_eq(ls_rec_pc(w), 0xffff800000000000ULL);
	cr_assert_eq(ls_rec_ninsns(w), 3u);
}

Test(wire, rec_ninsns_extremes)
{
	/* ninsns owns the top 16 bits: its maximum must not leak into the pc. */
	__u64 w = ls_rec_make(0x1000, 65535);

	cr_assert_eq(w, 0xffff000000001000ULL);
	cr_assert_eq(ls_rec_ninsns(w), 65535u);
	cr_assert_eq(ls_rec_pc(w), 0x1000ULL);

	w = ls_rec_make(0xffffffff81000000ULL, 65535);
	cr_assert_eq(ls_rec_ninsns(w), 65535u);
	cr_assert_eq(ls_rec_pc(w), 0xffffffff81000000ULL);

	w = ls_rec_make(0x1000, 0);
	cr_assert_eq(w, 0x1000ULL);
	cr_assert_eq(ls_rec_ninsns(w), 0u);
}

Test(wire, rec_pc_high_bits_do_not_corrupt_ninsns)
{
	/* A canonical high pc has bits 48..63 set; they must be masked off, not ORed into ninsns. */
	__u64 w = ls_rec_make(0xffffffffffffffffULL, 5);

	cr_assert_eq(ls_rec_ninsns(w), 5u);
	cr_assert_eq(ls_rec_pc(w), 0xffffffffffffffffULL);
}

Test(wire, digest_term_values)
{
	cr_assert_eq(ls_digest_term(0x1234, 0), 0x1234ULL);
	cr_assert_eq(ls_digest_term(0, 1), LS_DIGEST_K1);
	cr_assert_eq(ls_digest_term(0, 2), 2 * LS_DIGEST_K1);
	cr_assert_eq(ls_digest_term(LS_DIGEST_K1, 1), 0ULL);
}

Test(wire, digest_is_order_sensitive)
{
	__u64 a[4] = { ls_rec_make(0x401000, 3), ls_rec_make(0x401020, 5), ls_rec_make(0x401040, 2),
		       ls_rec_make(0x401060, 9) };
	__u64 b[4] = { a[0], a[2], a[1], a[3] }; /* two blocks swapped */
	__u64 da = chunk_digest(a, 4, 256), db = chunk_digest(b, 4, 256);

	cr_assert_neq(da, db);
}

Test(wire, digest_depends_on_position)
{
	/* The same records in another chunk (another seq) must not look equal. */
	__u64 a[2] = { ls_rec_make(0x401000, 3), ls_rec_make(0x401020, 5) };

	cr_assert_neq(chunk_digest(a, 2, 0), chunk_digest(a, 2, 256));
}

Test(wire, digest_of_empty_chunk_is_init)
{
	cr_assert_eq(chunk_digest(NULL, 0, 1024), LS_DIGEST_INIT);
}

Test(wire, digest_catches_single_word_change)
{
	__u64 a[3] = { ls_rec_make(0x401000, 3), ls_rec_make(0x401020, 5), ls_rec_make(0x401040, 2) };
	__u64 b[3] = { a[0], ls_rec_make(0x401020, 6), a[2] };

	cr_assert_neq(chunk_digest(a, 3, 0), chunk_digest(b, 3, 0));
}

Test(wire, batch_layout)
{
	cr_assert_eq(sizeof(struct ls_batch), 128);
	cr_assert_eq(offsetof(struct ls_batch, magic), 0);
	cr_assert_eq(offsetof(struct ls_batch, version), 4);
	cr_assert_eq(offsetof(struct ls_batch, flags), 6);
	cr_assert_eq(offsetof(struct ls_batch, vcpu), 8);
	cr_assert_eq(offsetof(struct ls_batch, nblocks), 12);
	cr_assert_eq(offsetof(struct ls_batch, chunk), 16);
	cr_assert_eq(offsetof(struct ls_batch, digest), 24);
	cr_assert_eq(offsetof(struct ls_batch, insn_base), 32);
	cr_assert_eq(offsetof(struct ls_batch, insns), 40);
	cr_assert_eq(offsetof(struct ls_batch, ring_addr), 48);
	cr_assert_eq(offsetof(struct ls_batch, head_addr), 56);
	cr_assert_eq(offsetof(struct ls_batch, ring_order), 64);
	cr_assert_eq(offsetof(struct ls_batch, batch_order), 68);
	cr_assert_eq(offsetof(struct ls_batch, pub_id), 72);
	/* The monitor writes {gate_side, gate_window, gate_thaw} with one 16-byte process_vm_writev. */
	cr_assert_eq(offsetof(struct ls_batch, gate_side), 112);
	cr_assert_eq(offsetof(struct ls_batch, gate_window), 116);
	cr_assert_eq(offsetof(struct ls_batch, gate_thaw), 120);
	cr_assert_eq(sizeof(struct ls_gate_state), 64 + 32 * LS_MAX_VCPUS);
	cr_assert_eq(offsetof(struct ls_gate_state, pairs), 64, "freeze_gen has a cache line to itself");
}

Test(wire, permit_and_lease_are_one_write)
{
	/* The monitor writes {permit_chunk, lease_until_ns} with one 16-byte process_vm_writev. */
	cr_assert_eq(offsetof(struct ls_batch, permit_chunk), 80);
	cr_assert_eq(offsetof(struct ls_batch, lease_until_ns),
		     offsetof(struct ls_batch, permit_chunk) + sizeof(__u64));
	cr_assert_eq(offsetof(struct ls_batch, lease_until_ns) + sizeof(__u64), offsetof(struct ls_batch, sys_addr));
}

Test(wire, plugin_info_and_event_layout)
{
	cr_assert_eq(sizeof(struct ls_rec), 8);
	cr_assert_eq(sizeof(struct ls_plugin_info), 272);
	/* Forks and execs (wire format 4): the monitor acknowledges an execve with one 8-byte write. */
	cr_assert_eq(offsetof(struct ls_plugin_info, forks), 152);
	cr_assert_eq(offsetof(struct ls_plugin_info, exec_seen), 184);
	cr_assert_eq(offsetof(struct ls_plugin_info, exec_path), 208);
	/* The gate offer {gate_name, gate_state, gate_errno} is one 48-byte write. */
	cr_assert_eq(offsetof(struct ls_plugin_info, gate_name), 104);
	cr_assert_eq(offsetof(struct ls_plugin_info, gate_state), 144);
	cr_assert_eq(offsetof(struct ls_plugin_info, gate_errno), 148);
	cr_assert_eq(sizeof(struct ls_gate_msg), 32);
	/* The first 40 bytes never move: an old plugin's version is read from there. */
	cr_assert_eq(offsetof(struct ls_plugin_info, guest_base), LS_INFO_V1_SIZE);
	cr_assert_eq(offsetof(struct ls_plugin_info, target), 88);
	cr_assert_eq(sizeof(struct ls_sys_rec), 128);
	cr_assert_eq(sizeof(struct ls_tlog_ent), 16);
	cr_assert_eq(ls_tlog_ent_size(3, 10), 40u); /* 16 + 3 * 2 + 3 + 10 = 35, rounded up to 8 */
	cr_assert_eq(offsetof(struct ls_plugin_info, batch_order), 8);
	cr_assert_eq(offsetof(struct ls_plugin_info, ring_order), 12);
	cr_assert_eq(offsetof(struct ls_plugin_info, batches_addr), 16);
	cr_assert_eq(offsetof(struct ls_plugin_info, plugin_version), 24);
	cr_assert_eq(sizeof(struct ls_event), 96);
	cr_assert_eq(offsetof(struct ls_event, chunk), 8);
	cr_assert_eq(offsetof(struct ls_event, range_lo), 16);
	cr_assert_eq(offsetof(struct ls_event, range_hi), 24);
	cr_assert_eq(offsetof(struct ls_event, digest), 32);
	cr_assert_eq(offsetof(struct ls_event, batch_addr), 48);
	cr_assert_eq(offsetof(struct ls_event, insn_end), 64);
	cr_assert_eq(offsetof(struct ls_event, ts_ns), 80);
	cr_assert_eq(offsetof(struct ls_event, side), 88);
}

Test(wire, window_from_chunk_and_ring_sizes)
{
	cr_assert_eq(ls_window(16, 21), 28, "the defaults: 32 chunks, 4 spare");
	cr_assert_eq(ls_window(14, 21), LS_WINDOW, "128 chunks: capped at the correlator's slots");
	cr_assert_eq(ls_window(8, 12), 12, "16 chunks, the smallest ring the plugin accepts");
	cr_assert_eq(ls_window(10, 10), 1, "degenerate: never 0 or negative");
	cr_assert_eq(ls_window(12, 10), 1, "chunk larger than ring");
	cr_assert_eq(ls_window(0, 63), LS_WINDOW, "no shift overflow");
	cr_assert_neq(LS_PERMIT_GATE, ~0ULL, "the gate is not 'no limit'");
}

Test(wire, constants)
{
	/* "LSBP" in ASCII: what a hex dump of a batch shows at offset 0 (read big-endian). */
	cr_assert_eq(LS_MAGIC, 0x4c534250u);
	cr_assert_eq(LS_REC_PC_MASK, 0x0000ffffffffffffULL);
	cr_assert_eq(LS_PUB_FULL | LS_PUB_PARTIAL | LS_PUB_FINAL, 7);
}
