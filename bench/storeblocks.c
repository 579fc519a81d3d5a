/* SPDX-License-Identifier: MIT */
/*
 * storeblocks.c - the benchmark's second floor: a plugin that stores one
 * 8-byte word per executed block into a 16 MiB ring and does nothing else.
 * Any plugin that records the order of blocks (not just their number) costs
 * at least this, so it separates the cost of recording at all from the cost
 * of liblockstep's own design (chunk digest, publication, per-vCPU streams).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "qemu_api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

#define RING_WORDS (1u << 21)

static uint64_t *ring, *cur, *ring_end;
static uint64_t wraps;

static void on_exec(unsigned int vcpu, void *ud)
{
	(void)vcpu;
	*cur++ = (uint64_t)(uintptr_t)ud;
	if (__builtin_expect(cur == ring_end, 0)) {
		cur = ring;
		wraps++;
	}
}

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	(void)id;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, on_exec, QEMU_PLUGIN_CB_NO_REGS,
					     (void *)(uintptr_t)qemu_plugin_tb_vaddr(tb));
}

static void on_exit_cb(qemu_plugin_id_t id, void *ud)
{
	(void)id, (void)ud;
	fprintf(stderr, "storeblocks: %llu blocks\n",
		(unsigned long long)(wraps * RING_WORDS + (uint64_t)(cur - ring)));
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
	(void)info, (void)argc, (void)argv;
	/* In 2 MiB pages, as liblockstep's ring (stream.c), so this stays a floor. */
	if (posix_memalign((void **)&ring, 2u << 20, RING_WORDS * sizeof(*ring))) {
		fprintf(stderr, "storeblocks: cannot allocate its ring\n");
		return -1;
	}
	madvise(ring, RING_WORDS * sizeof(*ring), MADV_HUGEPAGE);
	cur = ring;
	ring_end = ring + RING_WORDS;
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
	qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
	return 0;
}
