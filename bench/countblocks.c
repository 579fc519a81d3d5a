/* SPDX-License-Identifier: MIT */
/*
 * countblocks.c - the benchmark's floor: a plugin that only counts executed
 * blocks in an exec callback.  Any per-block plugin costs at least this.
 */
#include <inttypes.h>
#include <stdio.h>

#include "qemu_api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

static uint64_t blocks;

static void on_exec(unsigned int vcpu, void *ud)
{
	(void)vcpu, (void)ud;
	blocks++;
}

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	(void)id;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, on_exec, QEMU_PLUGIN_CB_NO_REGS, NULL);
}

static void on_exit_cb(qemu_plugin_id_t id, void *ud)
{
	(void)id, (void)ud;
	fprintf(stderr, "countblocks: %" PRIu64 " blocks\n", blocks);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
	(void)info, (void)argc, (void)argv;
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
	qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
	return 0;
}
