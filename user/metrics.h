/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - the summary as Prometheus metrics: the text exposition format,
 * an atomic textfile for node_exporter, and a tiny /metrics HTTP server.
 * No libbpf: the unit tests format, write and scrape for real.
 */
#ifndef LOCKSTEP_METRICS_H
#define LOCKSTEP_METRICS_H

#include <stddef.h>
#include <sys/socket.h>

#include "report.h" /* struct ls_summary, struct ls_side_desc */

/*
 * Prometheus text exposition format (version 0.0.4) of one summary.
 * Returns the length written (excluding NUL), or -1 if buf is too small (then
 * buf holds a truncated but NUL-terminated text; with len 0 it is untouched).
 * sides may be NULL: then the per-side samples carry side="A"/"B" and no pid.
 */
int ls_metrics_format(char *buf, size_t len, const struct ls_summary *s, const struct ls_side_desc sides[2]);

/*
 * A label value escaped for the text format (backslash, double quote and
 * newline). Like snprintf: returns the escaped length (excluding NUL) even if
 * it did not fit; dst is NUL-terminated whenever len > 0.
 */
size_t ls_metrics_escape_label(char *dst, size_t len, const char *src);

/*
 * Write text to path atomically for node_exporter's textfile collector:
 * write PATH.tmp.<pid> in the same directory (the collector reads only *.prom,
 * so it never sees a half-written file), fsync, rename over PATH.
 * 0 or -errno; on error the temporary file is removed.
 */
int ls_textfile_write(const char *path, const char *text);

/*
 * Parse "[ADDR:]PORT". ADDR: an IPv4 dotted quad, "localhost" (127.0.0.1) or
 * "[IPv6]"; without ADDR, 127.0.0.1 (the metrics describe the traced
 * processes: all interfaces only when asked for). PORT: decimal 0..65535, 0 =
 * any free port. ":PORT" (an empty address, "all interfaces" in Go programs)
 * is refused, naming 0.0.0.0:PORT and PORT as the two unambiguous spellings.
 * 0, or -1 with a specific message in err.
 */
int ls_listen_spec_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen, char *err, size_t errlen);

struct ls_http;

/*
 * Bind+listen (SO_REUSEADDR) and start a serving thread. NULL with a specific
 * message in err (e.g. "127.0.0.1:9100: Address already in use").
 * The thread blocks all signals, so they keep reaching the rest of the program.
 * Until ls_http_set_body is called, /metrics serves an empty body.
 */
struct ls_http *ls_http_start(const char *spec, char *err, size_t errlen);
/* The port actually bound (useful with port 0). */
int ls_http_port(const struct ls_http *h);
/* The address actually bound, "127.0.0.1:9100" or "[::1]:9100". */
const char *ls_http_addr(const struct ls_http *h);
/* Replace the body served on GET /metrics (copied under a mutex). NULL = empty. */
void ls_http_set_body(struct ls_http *h, const char *text);
/* Successful GET or HEAD /metrics requests answered so far. */
unsigned long ls_http_scrapes(const struct ls_http *h);
/* Stop the thread, close sockets, free. NULL is fine. */
void ls_http_stop(struct ls_http *h);

/* How long one connection may take, from accept to close, before it is dropped. */
#define LS_HTTP_DEADLINE_MS 1000
/* The most of a request read: the request line and headers must fit. */
#define LS_HTTP_MAX_REQUEST 8192

#endif
