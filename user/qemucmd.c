/* SPDX-License-Identifier: MIT */
/* qemucmd.c - finding the guest in a qemu-user command line. */
#include "qemucmd.h"

#include <string.h>

/* qemu-user options that take a value (7.2 to 10.x); all others are flags. */
static const char *const with_value[] = {
	"L", "s", "cpu", "E", "U", "0", "r", "B", "R", "d", "D", "dfilter", "p", "g", "plugin", "seed", "trace",
};

int ls_qemu_opt_takes_value(const char *opt)
{
	/* QEMU reads "-x" and "--x" alike. */
	while (*opt == '-')
		opt++;
	for (size_t i = 0; i < sizeof(with_value) / sizeof(with_value[0]); i++)
		if (!strcmp(opt, with_value[i]))
			return 1;
	return 0;
}

int ls_qemu_guest_index(const char *const *argv, int argc)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || !a[1])
			return i;
		if (!strcmp(a, "--"))
			return i + 1 < argc ? i + 1 : -1;
		if (ls_qemu_opt_takes_value(a))
			i++;
	}
	return -1;
}

int ls_split_cmdline(char *buf, size_t len, const char **argv, int max)
{
	int n = 0;
	size_t i = 0;

	while (i < len && n < max) {
		argv[n++] = buf + i;
		while (i < len && buf[i])
			i++;
		if (i == len && len && buf[len - 1]) /* unterminated last argument: cut it */
			buf[len - 1] = 0;
		i++;
	}
	return n;
}
