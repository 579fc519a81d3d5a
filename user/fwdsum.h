/* SPDX-License-Identifier: MIT */
/*
 * fwdsum.h - the monitor's reading of the --forward-inputs channel
 * (plugin/fwd.h): B's statistics and the first unpaired syscall, turned into
 * the summary's words (struct ls_fwd_summary).  Pure: it works on a copy of
 * the header, which either guest could have scribbled on, so every count is
 * taken as it is but every index and name is bounded.
 */
#ifndef LOCKSTEP_FWDSUM_H
#define LOCKSTEP_FWDSUM_H

#include <stdbool.h>

#include "../plugin/fwd.h"
#include "report.h"

struct ls_fwd_report {
	struct ls_fwd_summary s;
	char by[512], by_json[768], ret[256], ret_json[384], mm[256], stopped[512];
};

/* Fill r from a copy of the channel's header; problem/auxv are the caller's (left NULL here). */
void ls_fwd_report_build(struct ls_fwd_report *r, const struct ls_fwd_hdr *h, enum ls_arch arch);

/* The first unpaired syscall of a header copy, as text; false when there is none (or it is not well formed). */
bool ls_fwd_report_mismatch(const struct ls_fwd_hdr *h, enum ls_arch arch, char *buf, size_t size);

/* The value of QEMU's -seed in a command line (arguments separated by spaces), copied into out; false if none. */
bool ls_fwd_seed_of(const char *cmdline, char *out, size_t size);

#endif
