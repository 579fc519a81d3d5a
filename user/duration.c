/* SPDX-License-Identifier: MIT */
/* duration.c - the one duration parser of the monitor and the plugin. */
#include "duration.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ls_parse_duration(const char *s, uint64_t bare_unit_ms, uint64_t min_ms, uint64_t max_ms, uint64_t *out_ms)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 } };
	uint64_t mul = 0;
	char *end;

	/* strtoull would accept leading spaces and signs. */
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (!*end)
		mul = bare_unit_ms;
	for (size_t i = 0; !mul && i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(end, units[i].unit))
			mul = units[i].ms;
	if (!mul || v > max_ms / mul || v * mul < min_ms)
		return -1;
	*out_ms = v * mul;
	return 0;
}
