/* SPDX-License-Identifier: MIT */
/*
 * gate.c - taking over the monitor's flow control: when a monitor offers
 * its gate state (gate_state LS_GATE_OFFERED, an abstract UNIX socket named
 * in lockstep_plugin_info.gate_name), connect without waiting, pick up the
 * answer (the state's file descriptor) at a later chunk boundary, map it
 * read-only and publish it in ls_gate_view, so streams whose permit is
 * LS_PERMIT_GATE decide for themselves at each chunk boundary (stream.c).
 * Runs in whichever vCPU thread reaches a chunk boundary, never per block,
 * and never blocks it.
 */
#include "gate.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fwd.h"
#include "stream.h"

void *ls_gate_fwd_map;
int ls_gate_fwd_err;

/* How long the answer may take: the monitor answers from its event loop, which a long report can keep busy. */
#define LS_GATE_ANSWER_NS (5ull * 1000000000ull)

static int busy; /* one thread at a time; the others go on */
static int conn = -1; /* while LS_GATE_CONNECTING */
static uint64_t conn_deadline;
static uint64_t retry_until; /* while the monitor's backlog is full: when to give up (0: not retrying) */

/*
 * Move gate_state from `from` to `to` unless the monitor wrote a new offer
 * meanwhile (then the next poll takes that one).
 */
static bool move(struct ls_plugin_info *info, uint32_t from, uint32_t to)
{
	return __atomic_compare_exchange_n(&info->gate_state, &from, to, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static void fail(struct ls_plugin_info *info, uint32_t from, int err)
{
	if (conn >= 0)
		close(conn);
	conn = -1;
	__atomic_store_n(&info->gate_errno, err, __ATOMIC_RELAXED);
	move(info, from, LS_GATE_FAILED);
}

/* Start connecting: 0, or an errno. */
static int start(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strnlen(name, sizeof(((struct ls_plugin_info *)0)->gate_name));

	if (!n || n >= sizeof(sa.sun_path) - 1)
		return EINVAL;
	memcpy(sa.sun_path + 1, name, n); /* abstract namespace: a leading NUL */
	conn = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (conn < 0)
		return errno;
	/* A full backlog is EAGAIN, not a wait: the vCPU thread must never block here. */
	if (connect(conn, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) &&
	    errno != EINPROGRESS) {
		int e = errno;
		close(conn);
		conn = -1;
		return e;
	}
	conn_deadline = ls_mono_ns() + LS_GATE_ANSWER_NS;
	return 0;
}

bool ls_gate_msg_ok(const struct ls_gate_msg *msg, size_t got)
{
	return got == sizeof(*msg) && msg->magic == LS_MAGIC && msg->version == LS_WIRE_VERSION &&
	       msg->state_size == sizeof(struct ls_gate_state) && msg->map_size >= msg->state_size &&
	       msg->map_size <= (1u << 20);
}

/* The forwarding channel that came with the answer: mapped and checked, or an errno. */
static int map_forward(int fd, void **out)
{
	struct stat st;
	void *p;
	int err;

	if (fstat(fd, &st))
		return errno;
	if ((uint64_t)st.st_size != ls_fwd_size())
		return EMSGSIZE;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return errno;
	if ((err = ls_fwd_check(p, (uint64_t)st.st_size)) != 0) {
		munmap(p, (size_t)st.st_size);
		return err;
	}
	*out = p;
	return 0;
}

/* The answer, if it came: 0 mapped, EAGAIN not yet, or an errno. */
static int finish(struct ls_gate_view *out)
{
	struct ls_gate_msg msg;
	char cbuf[CMSG_SPACE(2 * sizeof(int))] __attribute__((aligned(8)));
	struct iovec iov = { &msg, sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	int fds[2] = { -1, -1 }, err;
	ssize_t got = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

	if (got < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? (ls_mono_ns() < conn_deadline ? EAGAIN : ETIMEDOUT)
							       : errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    (c->cmsg_len == CMSG_LEN(sizeof(int)) || c->cmsg_len == CMSG_LEN(2 * sizeof(int))))
			memcpy(fds, CMSG_DATA(c), c->cmsg_len - CMSG_LEN(0));
	err = EPROTO;
	if (fds[0] >= 0 && !(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) && ls_gate_msg_ok(&msg, (size_t)got)) {
		/* Read-only: the map is frozen for user space anyway; this plugin never writes it. */
		void *p = mmap(NULL, msg.map_size, PROT_READ, MAP_SHARED, fds[0], 0);
		if (p != MAP_FAILED) {
			out->state = p;
			err = 0;
		} else {
			err = errno;
		}
	}
	if (!err && fds[1] >= 0) {
		void *f = NULL;
		int ferr = map_forward(fds[1], &f);
		__atomic_store_n(&ls_gate_fwd_err, ferr, __ATOMIC_RELAXED);
		__atomic_store_n(&ls_gate_fwd_map, f, __ATOMIC_RELEASE);
	}
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]); /* the mappings keep what they need */
	return err;
}

void ls_gate_poll(struct ls_plugin_info *info)
{
	uint32_t st = __atomic_load_n(&info->gate_state, __ATOMIC_ACQUIRE);
	struct ls_gate_view v = { 0 };
	int err;

	if (st != LS_GATE_OFFERED && st != LS_GATE_CONNECTING)
		return;
	if (__atomic_exchange_n(&busy, 1, __ATOMIC_ACQ_REL))
		return;
	st = __atomic_load_n(&info->gate_state, __ATOMIC_ACQUIRE);
	if (st == LS_GATE_OFFERED) {
		/*
		 * A new offer (a monitor that attached after another one resets the
		 * state): forget a connection in flight.  An old mapping stays (a
		 * stream may still read it), a few KiB once per monitor.
		 */
		char name[sizeof(info->gate_name)];
		if (conn >= 0)
			close(conn);
		conn = -1;
		memcpy(name, (const void *)info->gate_name, sizeof(name));
		name[sizeof(name) - 1] = 0;
		err = start(name);
		/*
		 * A full backlog: anyone can connect to an abstract socket, and a
		 * flood of strangers fills it although the monitor turns each away
		 * at once.  Try again at the next chunk boundaries, for as long as
		 * an answer may take, before giving the gate up.
		 */
		if (err == EAGAIN) {
			uint64_t now = ls_mono_ns();
			if (!retry_until)
				retry_until = now + LS_GATE_ANSWER_NS;
			else if (now >= retry_until) {
				retry_until = 0;
				fail(info, LS_GATE_OFFERED, EAGAIN);
			}
		} else if (err) {
			fail(info, LS_GATE_OFFERED, err);
		} else {
			move(info, LS_GATE_OFFERED, LS_GATE_CONNECTING);
		}
		if (err != EAGAIN)
			retry_until = 0;
	} else if (st == LS_GATE_CONNECTING && conn >= 0) {
		err = finish(&v);
		if (!err) {
			close(conn);
			conn = -1;
			__atomic_store_n(&ls_gate_view.state, v.state, __ATOMIC_RELEASE);
			/* The monitor switches streams to LS_PERMIT_GATE only after it reads this. */
			move(info, LS_GATE_CONNECTING, LS_GATE_MAPPED);
		} else if (err != EAGAIN) {
			fail(info, LS_GATE_CONNECTING, err);
		}
	} else if (st == LS_GATE_CONNECTING) {
		fail(info, LS_GATE_CONNECTING, EPROTO); /* not ours to finish (cannot happen) */
	}
	__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
}
