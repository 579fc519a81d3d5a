/* SPDX-License-Identifier: MIT */
/*
 * textbuf.h - appending formatted text to a fixed buffer that is always
 * NUL-terminated: report lines are built in pieces, and one that does not
 * fit is cut, never overrun.  Pure; one copy for every module that builds
 * such lines.
 */
#ifndef LOCKSTEP_TEXTBUF_H
#define LOCKSTEP_TEXTBUF_H

#include <stddef.h>

/* Append to buf (size bytes, holding a string); what does not fit is cut. */
void ls_text_add(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
