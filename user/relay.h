/* SPDX-License-Identifier: MIT */
/*
 * relay.h - `lockstep-bpf run` without --output-dir: the QEMUs' stdout and
 * stderr, each line prefixed "A| " or "B| ", carried to the monitor's stderr
 * by a small process of their own.  The monitor does not read those pipes:
 * if it is killed (SIGKILL) the QEMUs run on unmonitored, as documented, and
 * their output still reaches the user instead of killing them with SIGPIPE
 * at their next write.  The relay ends when both QEMUs (and whatever they
 * started) have closed their ends; it ignores the terminal's signals, which
 * the monitor handles by stopping the QEMUs.
 */
#ifndef LOCKSTEP_RELAY_H
#define LOCKSTEP_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LS_RELAY_LINE 4096 /* a longer line goes out in pieces of this size */
#define LS_LAST_LINE 256 /* the last stderr line kept per side, for error messages */

struct ls_relay_shared;

struct ls_relay {
	pid_t pid; /* 0: not started */
	struct ls_relay_shared *sh;
	int wfd[2][2]; /* write ends for side A/B stdout/stderr, until handed to the QEMUs */
};

/*
 * Start the relay writing to out_fd.  r->wfd are the ends to give the QEMUs;
 * close them (ls_relay_close_writers) once both are started.  0, or -1 and err.
 */
int ls_relay_start(struct ls_relay *r, int out_fd, char *err, size_t errlen);
void ls_relay_close_writers(struct ls_relay *r);
/* Both of a side's streams reached their end (everything it wrote is out). */
bool ls_relay_side_done(const struct ls_relay *r, int side);
/* Wait at most timeout_ms for the chosen sides' streams to end. */
void ls_relay_wait(const struct ls_relay *r, const bool sides[2], unsigned timeout_ms);
/* The last non-empty line the side wrote on stderr, or "" (never torn). */
void ls_relay_last_err(const struct ls_relay *r, int side, char *out, size_t len);
/*
 * At the monitor's end: wait at most timeout_ms for everything to be carried
 * out and reap the relay; if something still holds a pipe open, the relay
 * stays and carries on.
 */
void ls_relay_finish(struct ls_relay *r, unsigned timeout_ms);

/*
 * Pure helpers, unit-tested.  ls_prefix_lines: cut buf[0..*len) into lines,
 * handing each to emit(); keeps an unterminated rest
 * in buf unless final or the buffer is full.  emit() gets a line without its
 * newline; the caller adds prefix and newline.  ls_last_line: the last
 * non-empty line of buf, trimmed, into out.
 */
void ls_prefix_lines(char *buf, size_t *len, size_t cap, bool final, void (*emit)(void *ctx, const char *line, size_t n),
		     void *ctx);
bool ls_last_line(const char *buf, size_t len, char *out, size_t outlen);

#endif
