/*
 * fuzz_ginputs.c - what each guest was started with, as read from its
 * QEMU's /proc/PID/cmdline and environ (ginputs.c, qemucmd.c): both are the
 * target's to write (a guest can rewrite its own argv and environment
 * area), so any bytes, with or without NULs, must be compared safely.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ginputs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ls_qemu_launch l[2];
	struct ls_ginputs_diff d;
	size_t cut[4];

	if (size < 4)
		return 0;
	/* four pieces: A's cmdline and environ, B's cmdline and environ */
	size_t rest = size - 4, at = 4;
	for (int k = 0; k < 4; k++) {
		cut[k] = k < 3 && rest ? (data[k] * rest / 255) / (4 - k) : rest;
		if (cut[k] > rest)
			cut[k] = rest;
		rest -= cut[k];
	}
	char *copy[4];
	for (int k = 0; k < 4; k++) {
		copy[k] = malloc(cut[k] + 1);
		if (!copy[k])
			abort();
		memcpy(copy[k], data + at, cut[k]);
		copy[k][cut[k]] = 0;
		at += cut[k];
	}
	for (int i = 0; i < 2; i++)
		l[i] = (struct ls_qemu_launch){ .cmdline = copy[2 * i],
						.cmdline_len = cut[2 * i],
						.environ = copy[2 * i + 1],
						.environ_len = cut[2 * i + 1],
						.cwd = data[3] & (1 << i) ? (i ? "/b" : "/a") : "",
						.cwd_late = data[3] & (4 << i) };
	ls_ginputs_compare(&l[0], &l[1], &d);
	if (!memchr(d.inputs, 0, sizeof(d.inputs)) || !memchr(d.options, 0, sizeof(d.options)))
		abort();
	for (int k = 0; k < 4; k++)
		free(copy[k]);
	return 0;
}
