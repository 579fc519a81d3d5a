/*
 * fuzz_plugin_args.c - the plugin's argument parser (plugin_args.c) on any
 * text, cut at NUL bytes into QEMU's key=value arguments.  An accepted set
 * must be within the limits the monitor checks (wirecheck.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *argv[32], err[256];
	struct ls_plugin_args a;
	int argc = 0;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	for (char *p = text; argc < 32 && p <= text + size; p += strlen(p) + 1)
		argv[argc++] = p;
	if (ls_plugin_args_parse(&a, argc, argv, err, sizeof(err)) == 0) {
		if (a.batch_order < LS_MIN_BATCH_ORDER || a.batch_order > LS_MAX_BATCH_ORDER ||
		    a.ring_order > LS_MAX_RING_ORDER || a.ring_order < a.batch_order + 4 ||
		    (a.syscalls && (a.sys_order < LS_MIN_SYS_ORDER || a.sys_order > LS_MAX_SYS_ORDER)) ||
		    a.tlog_bytes > LS_MAX_TLOG_BYTES)
			abort();
	} else if (!memchr(err, 0, sizeof(err)) || !err[0]) {
		abort(); /* a refusal says why */
	}
	free(text);
	return 0;
}
