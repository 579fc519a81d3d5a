/* SPDX-License-Identifier: MIT */
/*
 * duration.h - durations with units ("250ms", "2s", "10m", "1h"), parsed the
 * same way by the monitor's options and the plugin's key=value arguments.
 */
#ifndef LOCKSTEP_DURATION_H
#define LOCKSTEP_DURATION_H

#include <stdint.h>

/*
 * A whole number followed by ms, s, m or h; a bare number is in units of
 * bare_unit_ms.  0 and the value in *out_ms when it lies in [min_ms, max_ms],
 * else -1 (also for signs, spaces, fractions and overflow).
 */
int ls_parse_duration(const char *s, uint64_t bare_unit_ms, uint64_t min_ms, uint64_t max_ms, uint64_t *out_ms);

#endif
