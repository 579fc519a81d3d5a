/* SPDX-License-Identifier: MIT */
/* relay.c - the run-mode QEMUs' output, prefixed, carried by a process that outlives the monitor (relay.h). */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What the relay tells the monitor, in a shared mapping. */
struct ls_relay_shared {
	uint32_t eof[2]; /* both streams of side s ended */
	uint32_t seq[2]; /* odd while last[s] is being written */
	char last[2][LS_LAST_LINE];
};

void ls_prefix_lines(char *buf, size_t *len, size_t cap, bool final, void (*emit)(void *ctx, const char *line, size_t n),
		     void *ctx)
{
	size_t start = 0;

	for (size_t i = 0; i < *len; i++) {
		if (buf[i] != '\n')
			continue;
		emit(ctx, buf + start, i - start);
		start = i + 1;
	}
	/* The unterminated end at the stream's end, or a line longer than the buffer, goes out as it is. */
	if (start < *len && (final || (start == 0 && *len == cap))) {
		emit(ctx, buf + start, *len - start);
		start = *len;
	}
	memmove(buf, buf + start, *len - start);
	*len -= start;
}

bool ls_last_line(const char *buf, size_t len, char *out, size_t outlen)
{
	size_t end = len;

	if (!outlen)
		return false;
	out[0] = 0;
	while (end > 0) {
		while (end > 0 && (buf[end - 1] == '\n' || buf[end - 1] == '\r' || buf[end - 1] == ' ' ||
				   buf[end - 1] == '\t'))
			end--;
		size_t start = end;
		while (start > 0 && buf[start - 1] != '\n')
			start--;
		if (end > start) {
			size_t n = end - start < outlen - 1 ? end - start : outlen - 1;
			memcpy(out, buf + start, n);
			out[n] = 0;
			/* Control characters from a hostile guest must not reach a terminal through our messages. */
			for (size_t i = 0; i < n; i++)
				if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
					out[i] = '?';
			return true;
		}
		end = start;
	}
	return false;
}

struct relay_stream {
	int fd;
	int side, which; /* which: 0 stdout, 1 stderr */
	size_t len;
	char buf[LS_RELAY_LINE];
};

struct relay_ctx {
	struct ls_relay_shared *sh;
	int out_fd;
	bool out_dead; /* the terminal went away: keep draining so the QEMUs never block or die */
	struct relay_stream *s;
};

static void relay_emit(void *p, const char *line, size_t n)
{
	struct relay_ctx *c = p;
	char out[LS_RELAY_LINE + 8];

	if (c->s->which == 1) {
		char last[LS_LAST_LINE];
		if (ls_last_line(line, n, last, sizeof(last))) {
			struct ls_relay_shared *sh = c->sh;
			int s = c->s->side;
			__atomic_add_fetch(&sh->seq[s], 1, __ATOMIC_ACQ_REL);
			memcpy(sh->last[s], last, sizeof(last));
			__atomic_add_fetch(&sh->seq[s], 1, __ATOMIC_ACQ_REL);
		}
	}
	if (c->out_dead)
		return;
	/* One write per line, so lines from A, B and the monitor never mix within a line. */
	out[0] = (char)('A' + c->s->side);
	out[1] = '|';
	out[2] = ' ';
	memcpy(out + 3, line, n);
	out[3 + n] = '\n';
	for (size_t off = 0, total = n + 4; off < total;) {
		ssize_t w = write(c->out_fd, out + off, total - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			c->out_dead = true;
			return;
		}
		off += (size_t)w;
	}
}

/* Close every descriptor from 3 up except those in keep (the relay must hold nothing else open). */
static void close_others(const int *keep, int nkeep)
{
	unsigned lo = 3;

	for (;;) {
		int next = -1;
		for (int i = 0; i < nkeep; i++)
			if (keep[i] >= (int)lo && (next < 0 || keep[i] < next))
				next = keep[i];
		if (next < 0) {
			close_range(lo, ~0u, 0);
			return;
		}
		if ((unsigned)next > lo)
			close_range(lo, (unsigned)next - 1, 0);
		lo = (unsigned)next + 1;
	}
}

static void __attribute__((noreturn)) relay_main(struct ls_relay_shared *sh, int out_fd, const int rfd[2][2])
{
	static struct relay_stream st[4];
	struct relay_ctx c = { .sh = sh, .out_fd = out_fd };
	int keep[5] = { out_fd }, open_n = 0;

	/*
	 * The terminal's signals reach the whole foreground group; the monitor
	 * answers them by stopping the QEMUs, and the relay ends when their
	 * output does.  A write to a vanished terminal is an error, not death.
	 */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	setpriority(PRIO_PROCESS, 0, 0);
	prctl(PR_SET_NAME, "lockstep-relay");
	for (int s = 0; s < 2; s++)
		for (int w = 0; w < 2; w++) {
			st[s * 2 + w] = (struct relay_stream){ .fd = rfd[s][w], .side = s, .which = w };
			keep[1 + s * 2 + w] = rfd[s][w];
			open_n++;
		}
	close_others(keep, 5);
	/* Only out_fd is the relay's business: a pipe on our stdout must not wait for it. */
	int null = open("/dev/null", O_RDWR);
	for (int fd = 0; null >= 0 && fd < 2; fd++)
		if (fd != out_fd)
			dup2(null, fd);
	if (null > 2 && null != out_fd)
		close(null);
	while (open_n > 0) {
		struct pollfd p[4];
		for (int i = 0; i < 4; i++)
			p[i] = (struct pollfd){ .fd = st[i].fd, .events = POLLIN };
		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		for (int i = 0; i < 4; i++) {
			struct relay_stream *s = &st[i];
			if (s->fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			c.s = s;
			if (n > 0) {
				s->len += (size_t)n;
				ls_prefix_lines(s->buf, &s->len, sizeof(s->buf), false, relay_emit, &c);
				continue;
			}
			ls_prefix_lines(s->buf, &s->len, sizeof(s->buf), true, relay_emit, &c);
			close(s->fd);
			s->fd = -1;
			open_n--;
			int side = s->side;
			if (st[side * 2].fd < 0 && st[side * 2 + 1].fd < 0)
				__atomic_store_n(&sh->eof[side], 1, __ATOMIC_RELEASE);
		}
	}
	_exit(0);
}

int ls_relay_start(struct ls_relay *r, int out_fd, char *err, size_t errlen)
{
	int rfd[2][2] = { { -1, -1 }, { -1, -1 } };

	memset(r, 0, sizeof(*r));
	for (int s = 0; s < 2; s++)
		r->wfd[s][0] = r->wfd[s][1] = -1;
	r->sh = mmap(NULL, sizeof(*r->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r->sh == MAP_FAILED) {
		r->sh = NULL;
		snprintf(err, errlen, "cannot map the output relay's state: %s", strerror(errno));
		return -1;
	}
	for (int s = 0; s < 2; s++) {
		for (int w = 0; w < 2; w++) {
			int p[2];
			if (pipe2(p, O_CLOEXEC)) {
				snprintf(err, errlen, "pipe: %s", strerror(errno));
				goto fail;
			}
			rfd[s][w] = p[0];
			r->wfd[s][w] = p[1];
		}
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		relay_main(r->sh, out_fd, (const int(*)[2])rfd);
	r->pid = pid;
	for (int s = 0; s < 2; s++)
		for (int w = 0; w < 2; w++)
			close(rfd[s][w]);
	return 0;
fail:
	for (int s = 0; s < 2; s++)
		for (int w = 0; w < 2; w++) {
			if (rfd[s][w] >= 0)
				close(rfd[s][w]);
			if (r->wfd[s][w] >= 0)
				close(r->wfd[s][w]);
			r->wfd[s][w] = -1;
		}
	munmap(r->sh, sizeof(*r->sh));
	r->sh = NULL;
	return -1;
}

void ls_relay_close_writers(struct ls_relay *r)
{
	for (int s = 0; s < 2; s++)
		for (int w = 0; w < 2; w++)
			if (r->wfd[s][w] >= 0) {
				close(r->wfd[s][w]);
				r->wfd[s][w] = -1;
			}
}

bool ls_relay_side_done(const struct ls_relay *r, int side)
{
	return !r->sh || __atomic_load_n(&r->sh->eof[side], __ATOMIC_ACQUIRE);
}

void ls_relay_wait(const struct ls_relay *r, const bool sides[2], unsigned timeout_ms)
{
	for (unsigned t = 0; t < timeout_ms; t += 2) {
		if ((!sides[0] || ls_relay_side_done(r, 0)) && (!sides[1] || ls_relay_side_done(r, 1)))
			return;
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
	}
}

void ls_relay_last_err(const struct ls_relay *r, int side, char *out, size_t len)
{
	if (!len)
		return;
	out[0] = 0;
	if (!r->sh)
		return;
	for (int tries = 0; tries < 1000; tries++) {
		uint32_t a = __atomic_load_n(&r->sh->seq[side], __ATOMIC_ACQUIRE);
		if (a & 1)
			continue;
		snprintf(out, len, "%.*s", LS_LAST_LINE - 1, r->sh->last[side]);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&r->sh->seq[side], __ATOMIC_ACQUIRE) == a)
			return;
	}
	out[0] = 0;
}

void ls_relay_finish(struct ls_relay *r, unsigned timeout_ms)
{
	ls_relay_close_writers(r);
	if (r->pid > 0) {
		ls_relay_wait(r, (const bool[2]){ true, true }, timeout_ms);
		for (unsigned t = 0; t <= 100; t += 2) {
			if (waitpid(r->pid, NULL, WNOHANG) != 0)
				break;
			struct timespec ts = { 0, 2000000 };
			nanosleep(&ts, NULL);
		}
		r->pid = 0;
	}
}
