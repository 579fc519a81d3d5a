/* SPDX-License-Identifier: MIT */
/*
 * gatesrv.c - the gate socket: name, offer, serve (see gatesrv.h).
 */
#include "gatesrv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "procmem.h"

int ls_gate_server_open(struct ls_gate_server *g, int state_fd, uint64_t map_size, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t nonce = 0;
	int fd, rnd, e;

	memset(g, 0, sizeof(*g));
	g->listen_fd = -1;
	g->state_fd = state_fd;
	g->fwd_fd = -1;
	/* A name nobody can guess, so no one else listens on it first. */
	rnd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (rnd < 0 || read(rnd, &nonce, sizeof(nonce)) != (ssize_t)sizeof(nonce)) {
		e = errno ? -errno : -EIO;
		if (rnd >= 0)
			close(rnd);
		snprintf(err, errlen, "cannot read /dev/urandom: %s", strerror(-e));
		return e;
	}
	close(rnd);
	snprintf(g->name, sizeof(g->name), "lockstep-bpf.%d.%016llx", (int)getpid(), (unsigned long long)nonce);
	size_t n = strlen(g->name);
	memcpy(sa.sun_path + 1, g->name, n);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) ||
	    listen(fd, SOMAXCONN)) { /* deep: strangers' connects must not fill it before the plugins' */
		e = -errno;
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "cannot listen on the gate socket: %s", strerror(-e));
		return e;
	}
	g->listen_fd = fd;
	g->msg = (struct ls_gate_msg){ .magic = LS_MAGIC, .version = LS_WIRE_VERSION, .map_size = map_size,
				       .state_size = sizeof(struct ls_gate_state) };
	return 0;
}

void ls_gate_server_forward(struct ls_gate_server *g, int fwd_fd)
{
	if (g->fwd_fd >= 0)
		close(g->fwd_fd);
	g->fwd_fd = fwd_fd;
}

int ls_gate_offer(const struct ls_gate_server *g, pid_t pid, uint64_t info_addr)
{
	/* gate_name, gate_state and gate_errno are adjacent: one write. */
	struct {
		char name[sizeof(g->name)];
		uint32_t state;
		int32_t err;
	} offer = { .state = LS_GATE_NONE };
	_Static_assert(sizeof(offer) == 48, "gate offer layout");
	memcpy(offer.name, g->name, sizeof(offer.name));
	uint32_t offered = LS_GATE_OFFERED;
	int e;

	if (g->listen_fd < 0)
		return -EBADF;
	if ((e = ls_target_write(pid, info_addr + offsetof(struct ls_plugin_info, gate_name), &offer, sizeof(offer))))
		return e;
	return ls_target_write(pid, info_addr + offsetof(struct ls_plugin_info, gate_state), &offered, sizeof(offered));
}

/* Who was turned away, for the monitor's -v: the uids that refused the most. */
static void note_refused(struct ls_gate_server *g, uid_t uid)
{
	struct ls_gate_refusal *r = g->refused_by, *least = r;

	for (int k = 0; k < LS_GATE_UIDS; k++) {
		if (r[k].count && r[k].uid == uid) {
			r[k].count++;
			return;
		}
		if (r[k].count < least->count)
			least = &r[k];
	}
	if (least->count) { /* a table of the heaviest: the lightest entry makes way */
		g->refused_other += least->count;
	}
	*least = (struct ls_gate_refusal){ uid, 1 };
}

size_t ls_gate_refusals(const struct ls_gate_server *g, char *buf, size_t len)
{
	size_t w = 0;

	if (len)
		buf[0] = 0;
	for (int k = 0; k < LS_GATE_UIDS; k++) {
		if (!g->refused_by[k].count)
			continue;
		int n = snprintf(buf + w, len > w ? len - w : 0, "%s%u from uid %d", w ? ", " : "",
				 g->refused_by[k].count, (int)g->refused_by[k].uid);
		w += n > 0 ? (size_t)n : 0;
	}
	if (g->refused_other) {
		int n = snprintf(buf + w, len > w ? len - w : 0, "%s%u from other uids", w ? ", " : "", g->refused_other);
		w += n > 0 ? (size_t)n : 0;
	}
	return w;
}

int ls_gate_serve(struct ls_gate_server *g, const pid_t pids[2])
{
	int served = 0;

	if (g->listen_fd < 0)
		return 0;
	/*
	 * At most LS_GATE_ACCEPT_BURST a call: a flood of connects (anyone can
	 * reach an abstract socket) must not hold the event loop; the socket
	 * stays readable and the next wake takes the rest.
	 */
	for (unsigned burst = 0; burst < LS_GATE_ACCEPT_BURST; burst++) {
		int c = accept4(g->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
				return served;
			return -errno; /* EMFILE and the like: the socket stays readable, so stop serving it */
		}
		struct ucred cred;
		socklen_t len = sizeof(cred);
		int side = -1;
		if (!getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) && len == sizeof(cred))
			side = cred.pid == pids[0] ? 0 : cred.pid == pids[1] ? 1 : -1;
		/* Once a side: its plugin asks once per offer, and nothing else in that process needs it. */
		if (side >= 0 && g->served[side])
			side = -1;
		if (side < 0) {
			g->refused++;
			note_refused(g, len == sizeof(cred) ? cred.uid : (uid_t)-1);
			close(c);
			continue;
		}
		/* The state, and with --forward-inputs the forwarding channel after it. */
		int fds[2] = { g->state_fd, g->fwd_fd };
		size_t nfd = g->fwd_fd >= 0 ? 2 : 1;
		char cbuf[CMSG_SPACE(2 * sizeof(int))] __attribute__((aligned(8))) = { 0 };
		struct iovec iov = { &g->msg, sizeof(g->msg) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = CMSG_SPACE(nfd * sizeof(int)) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfd * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfd * sizeof(int));
		if (sendmsg(c, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)sizeof(g->msg)) {
			g->served[side]++;
			served++;
		}
		close(c);
	}
	return served;
}

int ls_gate_state(pid_t pid, uint64_t info_addr, uint32_t *state, int32_t *err)
{
	uint32_t v[2];
	int e = ls_target_read(pid, info_addr + offsetof(struct ls_plugin_info, gate_state), v, sizeof(v));

	if (e)
		return e;
	*state = v[0];
	*err = (int32_t)v[1];
	return 0;
}

void ls_gate_server_close(struct ls_gate_server *g)
{
	if (g->listen_fd >= 0)
		close(g->listen_fd);
	if (g->state_fd >= 0)
		close(g->state_fd);
	if (g->fwd_fd >= 0)
		close(g->fwd_fd);
	g->listen_fd = g->state_fd = g->fwd_fd = -1;
}
