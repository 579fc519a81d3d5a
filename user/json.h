/* SPDX-License-Identifier: MIT */
/*
 * json.h - --json output: one JSON object per line for every event (start,
 * interval, divergence, side_exit, summary).  The schema is in README.md;
 * every object has "type" and "time" (seconds since the monitor started).
 * Pure formatting, so tests check it directly.
 */
#ifndef LOCKSTEP_JSON_H
#define LOCKSTEP_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "report.h"

#define LS_JSON_SCHEMA 1

/* A JSON string literal for s (NULL prints null). */
void ls_json_str(FILE *f, const char *s);

void ls_json_start(FILE *f, const struct ls_side_desc sides[2], unsigned batch_blocks, double t);
void ls_json_interval(FILE *f, const struct ls_live *l);
void ls_json_divergence(FILE *f, const struct ls_side_desc sides[2], const struct ls_divergence *d,
			unsigned index, double t);
/* how: "exited", "killed", "ended"; status: exit status or signal, -1 if unknown. */
void ls_json_side_exit(FILE *f, const struct ls_side_desc *side, const char *how, int status, uint64_t blocks,
		       double t);
void ls_json_summary(FILE *f, const struct ls_side_desc sides[2], const struct ls_summary *s, int exit_code,
		     const char *result);
/*
 * The end of divergent region `index` on a vCPU: rejoined (the streams came
 * back together after len[i] units on side i, starting at at[i]) or not
 * within the window.  unit: "blocks" or "instructions".
 */
void ls_json_region(FILE *f, int vcpu, unsigned index, bool rejoined, const char *unit, const uint64_t at[2],
		    const uint64_t len[2], double t);
/* A message the text mode prints on stderr (warnings, notices). */
void ls_json_notice(FILE *f, const char *level, const char *msg, double t);

#endif
