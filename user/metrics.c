/* SPDX-License-Identifier: MIT */
/* metrics.c - Prometheus text of the summary, the node_exporter textfile, the /metrics server. */
#include "metrics.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* ---- text exposition format ---- */

/* Appending stops at the first piece that does not fit, leaving a NUL-terminated prefix. */
struct out {
	char *buf;
	size_t len, pos;
	bool over;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	size_t room = o->len - o->pos;
	int n;

	if (o->over)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->pos, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		o->over = true;
		return;
	}
	o->pos += (size_t)n;
}

size_t ls_metrics_escape_label(char *dst, size_t len, const char *src)
{
	size_t n = 0, stored = 0;
	bool full = false;

	for (const char *p = src ? src : ""; *p; p++) {
		char esc = *p == '\\' ? '\\' : *p == '"' ? '"' : *p == '\n' ? 'n' : 0;
		size_t w = esc ? 2 : 1;

		/* An escape is never split: a lone backslash would escape the closing quote. */
		if (!full && n + w < len) {
			if (esc) {
				dst[n] = '\\';
				dst[n + 1] = esc;
			} else {
				dst[n] = *p;
			}
			stored = n + w;
		} else {
			full = true;
		}
		n += w;
	}
	if (len)
		dst[stored] = '\0';
	return n;
}

/* side="A",pid="4242", escaped; side letters by position when there are no descriptions. */
static void side_labels(char *dst, size_t len, const struct ls_side_desc *sides, int i)
{
	char label[2] = { sides && sides[i].label ? sides[i].label : (char)('A' + i), '\0' };
	char val[32], pid[16];

	ls_metrics_escape_label(val, sizeof(val), label);
	if (!sides) {
		snprintf(dst, len, "side=\"%s\"", val);
		return;
	}
	snprintf(pid, sizeof(pid), "%d", (int)sides[i].pid);
	size_t at = (size_t)snprintf(dst, len, "side=\"%s\",pid=\"", val);
	if (at < len)
		at += ls_metrics_escape_label(dst + at, len - at, pid);
	if (at < len)
		snprintf(dst + at, len - at, "\"");
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_u64(struct out *o, const char *name, const char *labels, uint64_t v)
{
	if (labels)
		put(o, "%s{%s} %" PRIu64 "\n", name, labels, v);
	else
		put(o, "%s %" PRIu64 "\n", name, v);
}

/* Go's ParseFloat spellings, which Prometheus expects for the special values. */
static void sample_double(struct out *o, const char *name, double v)
{
	if (isnan(v))
		put(o, "%s NaN\n", name);
	else if (isinf(v))
		put(o, "%s %cInf\n", name, v > 0 ? '+' : '-');
	else
		put(o, "%s %.6f\n", name, v);
}

int ls_metrics_format(char *buf, size_t len, const struct ls_summary *s, const struct ls_side_desc sides[2])
{
	struct out o = { .buf = buf, .len = len, .over = len == 0 };
	char lab[2][64], rlab[160];
	static const char *const reasons[] = { "before_start", "after_stop" };

	for (int i = 0; i < 2; i++)
		side_labels(lab[i], sizeof(lab[i]), sides, i);

	family(&o, "lockstep_elapsed_seconds", "gauge", "Seconds since the monitor started.");
	sample_double(&o, "lockstep_elapsed_seconds", s->elapsed_s);

	family(&o, "lockstep_comparison_started", "gauge",
	       "1 once the two sides published a common block range and the comparison began.");
	sample_u64(&o, "lockstep_comparison_started", NULL, s->started);

	/* Absent rather than 0 before the start: 0 is a real start block. */
	if (s->started) {
		family(&o, "lockstep_comparison_start_block", "gauge",
		       "Block number from which the two sides are compared (the lowest over vCPU streams).");
		sample_u64(&o, "lockstep_comparison_start_block", NULL, s->start_seq);
	}

	family(&o, "lockstep_vcpus", "gauge", "vCPU streams seen publishing.");
	sample_u64(&o, "lockstep_vcpus", NULL, s->vcpus);

	family(&o, "lockstep_blocks_compared_total", "counter", "Blocks compared between the two sides.");
	sample_u64(&o, "lockstep_blocks_compared_total", NULL, s->compared_blocks);

	family(&o, "lockstep_instructions_compared_total", "counter",
	       "Guest instructions in the blocks compared.");
	sample_u64(&o, "lockstep_instructions_compared_total", NULL, s->compared_insns);

	family(&o, "lockstep_divergences_total", "counter", "Divergences found between the two sides.");
	sample_u64(&o, "lockstep_divergences_total", NULL, s->divergences);

	family(&o, "lockstep_blocks_published_total", "counter", "Blocks a side has published.");
	for (int i = 0; i < 2; i++)
		sample_u64(&o, "lockstep_blocks_published_total", lab[i], s->side[i].published_end);

	family(&o, "lockstep_blocks_uncompared_total", "counter",
	       "Blocks a side published that will never be compared: before_start (published before the "
	       "comparison began), after_stop (after the comparison stopped at a divergence or the "
	       "monitor's stop, or past the other side's end).");
	for (int i = 0; i < 2; i++) {
		const uint64_t v[] = { s->side[i].early, s->side[i].late };

		for (int r = 0; r < 2; r++) {
			snprintf(rlab, sizeof(rlab), "%s,reason=\"%s\"", lab[i], reasons[r]);
			sample_u64(&o, "lockstep_blocks_uncompared_total", rlab, v[r]);
		}
	}

	/* A gauge, not a third reason above: it falls whenever the other side catches up. */
	family(&o, "lockstep_blocks_unmatched", "gauge",
	       "Blocks a side published that the other side has not matched yet (in the final "
	       "summary: never matched).");
	for (int i = 0; i < 2; i++)
		sample_u64(&o, "lockstep_blocks_unmatched", lab[i], s->side[i].pending);

	family(&o, "lockstep_window_overrun_blocks_total", "counter",
	       "Blocks a side ran past the comparison window (too far ahead of the other side); "
	       "counted in after_stop.");
	for (int i = 0; i < 2; i++)
		sample_u64(&o, "lockstep_window_overrun_blocks_total", lab[i], s->side[i].overruns);

	family(&o, "lockstep_lag_blocks", "gauge", "Blocks published by side A minus blocks published by side B.");
	{
		uint64_t a = s->side[0].published_end, b = s->side[1].published_end;

		/* Sign and magnitude apart: the difference of two u64 may not fit an int64. */
		put(&o, "lockstep_lag_blocks %s%" PRIu64 "\n", a < b ? "-" : "", a < b ? b - a : a - b);
	}

	family(&o, "lockstep_side_running", "gauge", "1 while the side's process is running, 0 once it ended.");
	for (int i = 0; i < 2; i++)
		sample_u64(&o, "lockstep_side_running", lab[i], !s->side[i].ended);

	family(&o, "lockstep_events_lost_total", "counter",
	       "Kernel events dropped because the BPF ring buffer was full.");
	sample_u64(&o, "lockstep_events_lost_total", NULL, s->ringbuf_lost);

	family(&o, "lockstep_bad_batches_total", "counter", "Publications that could not be read or made no sense.");
	sample_u64(&o, "lockstep_bad_batches_total", NULL, s->bad_batches);

	if (o.over || o.pos > INT_MAX)
		return -1;
	return (int)o.pos;
}

/* ---- node_exporter textfile ---- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Best effort: makes the rename itself survive a crash; the data is already safe. */
static void fsync_dir_of(const char *path)
{
	char *dir = strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	int fd;

	if (!dir)
		return;
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

int ls_textfile_write(const char *path, const char *text)
{
	char *tmp;
	int fd, ret;

	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		return -ENOMEM;
	/* O_NOFOLLOW: textfile directories are often shared with other writers. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		ret = -errno;
		free(tmp);
		return ret;
	}
	ret = write_all(fd, text, strlen(text));
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	else
		fsync_dir_of(path);
	free(tmp);
	return ret;
}

/* ---- listen address ---- */

static int spec_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int spec_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int parse_port(const char *s, unsigned *port)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 65535)
			return -1;
	}
	*port = (unsigned)v;
	return 0;
}

int ls_listen_spec_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen, char *err, size_t errlen)
{
	char host[64];
	const char *port_s, *colon;
	unsigned port;
	size_t hlen;

	if (!spec || !*spec)
		return spec_fail(err, errlen, "empty listen address: give [ADDR:]PORT, such as 9100 or 0.0.0.0:9100");
	memset(ss, 0, sizeof(*ss));

	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (!rb)
			return spec_fail(err, errlen, "'%s': missing ']' after the IPv6 address", spec);
		if (rb[1] != ':')
			return spec_fail(err, errlen, "'%s': expected :PORT after ']'", spec);
		hlen = (size_t)(rb - spec - 1);
		port_s = rb + 2;
		if (hlen >= sizeof(host))
			return spec_fail(err, errlen, "'%s': the IPv6 address is too long", spec);
		memcpy(host, spec + 1, hlen);
		host[hlen] = '\0';
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return spec_fail(err, errlen, "'%s': '%s' is not an IPv6 address", spec, host);
		a6->sin6_family = AF_INET6;
		*sslen = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		colon = strrchr(spec, ':');
		if (colon && colon != strchr(spec, ':'))
			return spec_fail(err, errlen, "'%s': an IPv6 address goes in brackets, as in [::1]:9100", spec);
		if (colon == spec && !spec[1])
			return spec_fail(err, errlen, "':': missing address and port");
		if (colon == spec)
			return spec_fail(err, errlen,
					 "'%s': no address before ':' (0.0.0.0%s listens on all interfaces, %s on 127.0.0.1)",
					 spec, spec, spec + 1);
		a4->sin_family = AF_INET;
		*sslen = sizeof(*a4);
		port_s = colon ? colon + 1 : spec;
		hlen = colon ? (size_t)(colon - spec) : 0;
		if (hlen >= sizeof(host))
			return spec_fail(err, errlen, "'%s': the address is too long", spec);
		memcpy(host, spec, hlen);
		host[hlen] = '\0';
		if (!colon || !strcasecmp(host, "localhost"))
			a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return spec_fail(err, errlen, "'%s': '%s' is not an IPv4 address, localhost or [IPv6 address]",
					 spec, host);
	}
	if (!*port_s)
		return spec_fail(err, errlen, "'%s': missing port after ':'", spec);
	if (parse_port(port_s, &port))
		return spec_fail(err, errlen, "'%s': port '%s' is not a whole number from 0 to 65535", spec,
				 port_s);
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	return 0;
}

/* "127.0.0.1:9100" or "[::1]:9100". */
static void sockaddr_str(const struct sockaddr_storage *ss, char *dst, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof(host));
		snprintf(dst, len, "[%s]:%u", host, ntohs(a6->sin6_port));
	} else {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &a4->sin_addr, host, sizeof(host));
		snprintf(dst, len, "%s:%u", host, ntohs(a4->sin_port));
	}
}

/* ---- HTTP server ---- */

struct ls_http {
	int lfd, stopfd;
	int port;
	char addr[INET6_ADDRSTRLEN + 8];
	pthread_t thread;
	pthread_mutex_t lock; /* guards body */
	char *body;
	unsigned long scrapes; /* __atomic: read by other threads */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Where the headers end (one past the blank line), bare LF line ends accepted;
 * NULL if not yet. Starts at from, so a client sending a byte at a time costs
 * linear, not quadratic, time.
 */
static const char *headers_end(const char *buf, size_t n, size_t from)
{
	for (size_t i = from; i + 1 < n; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return buf + i + 2;
		if (buf[i + 1] == '\r' && i + 2 < n && buf[i + 2] == '\n')
			return buf + i + 3;
	}
	return NULL;
}

static bool is_tchar(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The request line, "METHOD SP TARGET SP HTTP/d.d"; false if it is not one. */
static bool parse_request_line(const char *buf, size_t n, char *method, size_t mlen, char *path, size_t plen)
{
	const char *eol = memchr(buf, '\n', n);
	const char *p = buf, *sp1, *sp2, *q;
	size_t len;

	if (!eol)
		return false;
	len = (size_t)(eol - buf);
	if (len && buf[len - 1] == '\r')
		len--;
	sp1 = memchr(p, ' ', len);
	if (!sp1 || sp1 == p || (size_t)(sp1 - p) >= mlen)
		return false;
	for (q = p; q < sp1; q++)
		if (!is_tchar(*q))
			return false;
	sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - p));
	if (!sp2 || sp2 == sp1 + 1)
		return false;
	for (q = sp1 + 1; q < sp2; q++)
		if (*q <= ' ' || *q > '~')
			return false;
	q = sp2 + 1;
	if (buf + len - q != 8 || memcmp(q, "HTTP/", 5) || !isdigit((unsigned char)q[5]) || q[6] != '.' ||
	    !isdigit((unsigned char)q[7]))
		return false;
	memcpy(method, p, (size_t)(sp1 - p));
	method[sp1 - p] = '\0';
	/* The query string does not select anything here. */
	const char *t = sp1 + 1, *end = memchr(t, '?', (size_t)(sp2 - t));
	size_t tl = (size_t)((end ? end : sp2) - t);
	if (tl >= plen)
		tl = plen - 1; /* too long to be /metrics anyway */
	memcpy(path, t, tl);
	path[tl] = '\0';
	return true;
}

/*
 * One client at a time would let idle ones hold up a scrape (30 half-open
 * connections once delayed one by 20 s): every connection is served side by
 * side in one poll loop, each with its own deadline, and when too many are
 * open the oldest goes first.
 */
#define MAX_CONNS 64

struct conn {
	int fd; /* -1: free */
	uint64_t deadline;
	size_t got, from;
	char *out; /* the response once the request is read, sent from off */
	size_t outlen, off;
	bool ok; /* a 200: counted as a scrape once sent */
	char req[LS_HTTP_MAX_REQUEST];
};

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	c->out = NULL;
	c->fd = -1;
}

/* The whole response for status (a body for GET, none for HEAD), or false out of memory. */
static bool respond(struct conn *c, int status, const char *body, bool head_only)
{
	static const char metrics_type[] = "text/plain; version=0.0.4; charset=utf-8";
	const char *reason = status == 200   ? "OK"
			     : status == 400 ? "Bad Request"
			     : status == 404 ? "Not Found"
			     : status == 405 ? "Method Not Allowed"
					     : "Request Header Fields Too Large";
	int hl = asprintf(&c->out,
			  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n%s",
			  status, reason, status == 200 ? metrics_type : "text/plain; charset=utf-8", strlen(body),
			  status == 405 ? "Allow: GET, HEAD\r\n" : "", head_only ? "" : body);
	if (hl < 0) {
		c->out = NULL;
		return false;
	}
	c->outlen = (size_t)hl;
	c->off = 0;
	c->ok = status == 200;
	return true;
}

/* The request is complete (or the client stopped sending): choose the answer. */
static bool answer(struct ls_http *h, struct conn *c, const char *end)
{
	char method[16], path[64];

	if (!end && c->got == sizeof(c->req))
		return respond(c, 431, "Request headers too large (at most 8192 bytes).\n", false);
	if (!end || !parse_request_line(c->req, c->got, method, sizeof(method), path, sizeof(path)))
		return respond(c, 400, "Bad request: expected GET /metrics HTTP/1.1.\n", false);
	bool head = !strcmp(method, "HEAD");
	if (!head && strcmp(method, "GET"))
		return respond(c, 405, "Method not allowed: use GET /metrics.\n", false);
	if (strcmp(path, "/metrics"))
		return respond(c, 404, "Not found: the metrics are at /metrics.\n", head);
	pthread_mutex_lock(&h->lock);
	bool r = respond(c, 200, h->body ? h->body : "", head);
	pthread_mutex_unlock(&h->lock);
	return r;
}

/* Read what the client sent; false when the connection is finished with (closed by the caller). */
static bool conn_read(struct ls_http *h, struct conn *c)
{
	const char *end = NULL;

	for (;;) {
		if ((end = headers_end(c->req, c->got, c->from)) != NULL || c->got == sizeof(c->req))
			break;
		c->from = c->got > 2 ? c->got - 2 : 0; /* a terminator may straddle what is read next */
		ssize_t n = recv(c->fd, c->req + c->got, sizeof(c->req) - c->got, 0);
		if (n > 0) {
			c->got += (size_t)n;
			continue;
		}
		if (n == 0)
			break; /* the client stopped sending: complete or not, answer now */
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK;
	}
	return answer(h, c, end);
}

/* Send what the socket takes; false when done (sent, or the client went away). */
static bool conn_write(struct ls_http *h, struct conn *c)
{
	while (c->off < c->outlen) {
		ssize_t w = send(c->fd, c->out + c->off, c->outlen - c->off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK;
		c->off += (size_t)w;
	}
	char sink[512];
	/* Counted before the client sees the end of the response, so it can rely on the count. */
	if (c->ok)
		__atomic_add_fetch(&h->scrapes, 1, __ATOMIC_RELEASE);
	shutdown(c->fd, SHUT_WR);
	/* Unread bytes at close() make the kernel reset the connection, which can discard the response. */
	for (int k = 0; k < 64 && recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; k++)
		;
	return false;
}

/* Take every pending connection; with all slots busy, the one nearest its deadline makes room. */
static void accept_all(struct ls_http *h, struct conn *conns, bool *backoff)
{
	for (;;) {
		int fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* Out of descriptors or memory: the socket stays readable, so back off rather than spin. */
			*backoff = errno != EAGAIN && errno != EWOULDBLOCK;
			return;
		}
		struct conn *slot = NULL;
		for (int i = 0; i < MAX_CONNS && !slot; i++)
			if (conns[i].fd < 0)
				slot = &conns[i];
		if (!slot) {
			slot = &conns[0];
			for (int i = 1; i < MAX_CONNS; i++)
				if (conns[i].deadline < slot->deadline)
					slot = &conns[i];
			conn_close(slot);
		}
		slot->fd = fd;
		slot->deadline = mono_ns() + (uint64_t)LS_HTTP_DEADLINE_MS * 1000000;
		slot->got = slot->from = 0;
		slot->out = NULL;
	}
}

static void *serve(void *arg)
{
	struct ls_http *h = arg;
	struct conn *conns = calloc(MAX_CONNS, sizeof(*conns));
	struct pollfd p[MAX_CONNS + 2];
	int idx[MAX_CONNS + 2];
	bool backoff = false;

	if (!conns)
		return NULL;
	for (int i = 0; i < MAX_CONNS; i++)
		conns[i].fd = -1;
	for (;;) {
		uint64_t now = mono_ns(), next = now + 60000000000ull;
		int n = 0;

		p[n++] = (struct pollfd){ .fd = h->stopfd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = backoff ? -1 : h->lfd, .events = POLLIN };
		for (int i = 0; i < MAX_CONNS; i++) {
			struct conn *c = &conns[i];
			if (c->fd < 0)
				continue;
			if (now >= c->deadline) { /* silent, trickling or not reading: dropped without an answer */
				conn_close(c);
				continue;
			}
			if (c->deadline < next)
				next = c->deadline;
			idx[n] = i;
			p[n++] = (struct pollfd){ .fd = c->fd, .events = c->out ? POLLOUT : POLLIN };
		}
		if (backoff && now + 100000000ull < next)
			next = now + 100000000ull;
		int r = poll(p, (nfds_t)n, (int)((next - now + 999999) / 1000000));
		backoff = false;
		if (r < 0)
			continue; /* EINTR: signals are blocked, but be safe */
		if (p[0].revents)
			break;
		for (int k = 2; k < n; k++) {
			struct conn *c = &conns[idx[k]];
			if (!p[k].revents)
				continue;
			/* Errors and hangups too: the next call reports them. */
			bool more = c->out ? conn_write(h, c) : conn_read(h, c) && (!c->out || conn_write(h, c));
			if (!more)
				conn_close(c);
		}
		if (p[1].revents)
			accept_all(h, conns, &backoff);
	}
	for (int i = 0; i < MAX_CONNS; i++)
		conn_close(&conns[i]);
	free(conns);
	return NULL;
}

static struct ls_http *start_fail(char *err, size_t errlen, int lfd, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static struct ls_http *start_fail(char *err, size_t errlen, int lfd, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	if (lfd >= 0)
		close(lfd);
	return NULL;
}

struct ls_http *ls_http_start(const char *spec, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	char where[INET6_ADDRSTRLEN + 8];
	int one = 1, lfd, e;

	if (ls_listen_spec_parse(spec, &ss, &sslen, err, errlen))
		return NULL;
	sockaddr_str(&ss, where, sizeof(where));
	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return start_fail(err, errlen, -1, "%s: %s", where, strerror(errno));
	/* A restarted monitor must not wait out the previous one's TIME_WAIT connections. */
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, sslen) || listen(lfd, 16))
		return start_fail(err, errlen, lfd, "%s: %s", where, strerror(errno));
	sslen = sizeof(ss);
	if (getsockname(lfd, (struct sockaddr *)&ss, &sslen))
		return start_fail(err, errlen, lfd, "%s: %s", where, strerror(errno));

	struct ls_http *h = calloc(1, sizeof(*h));
	if (!h)
		return start_fail(err, errlen, lfd, "%s: %s", where, strerror(ENOMEM));
	h->lfd = lfd;
	h->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);
	sockaddr_str(&ss, h->addr, sizeof(h->addr));
	h->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->stopfd < 0) {
		e = errno;
		free(h);
		return start_fail(err, errlen, lfd, "%s: eventfd: %s", where, strerror(e));
	}
	pthread_mutex_init(&h->lock, NULL);

	/* The thread inherits this mask: Ctrl-C must reach the thread that acts on it. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&h->thread, NULL, serve, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		close(h->stopfd);
		pthread_mutex_destroy(&h->lock);
		free(h);
		return start_fail(err, errlen, lfd, "%s: cannot start the HTTP thread: %s", where, strerror(e));
	}
	return h;
}

int ls_http_port(const struct ls_http *h)
{
	return h->port;
}

const char *ls_http_addr(const struct ls_http *h)
{
	return h->addr;
}

void ls_http_set_body(struct ls_http *h, const char *text)
{
	char *copy = text ? strdup(text) : NULL;
	char *old;

	/* Out of memory: keep serving the previous body rather than an empty one. */
	if (text && !copy)
		return;
	pthread_mutex_lock(&h->lock);
	old = h->body;
	h->body = copy;
	pthread_mutex_unlock(&h->lock);
	free(old);
}

unsigned long ls_http_scrapes(const struct ls_http *h)
{
	return __atomic_load_n(&h->scrapes, __ATOMIC_ACQUIRE);
}

void ls_http_stop(struct ls_http *h)
{
	uint64_t one = 1;

	if (!h)
		return;
	while (write(h->stopfd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	pthread_join(h->thread, NULL);
	close(h->lfd);
	close(h->stopfd);
	pthread_mutex_destroy(&h->lock);
	free(h->body);
	free(h);
}
