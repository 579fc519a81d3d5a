/* SPDX-License-Identifier: MIT */
/*
 * gate.c - taking over the monitor's flow control: when a monitor offers
 * its correlator state (an abstract UNIX socket named in
 * lockstep_plugin_info.gate_name), connect once, receive the state's file
 * descriptor, map it read-only and publish it in ls_gate_view, so streams
 * whose permit is LS_PERMIT_GATE decide for themselves at each chunk
 * boundary (stream.c).  Runs in whichever vCPU thread reaches a chunk
 * boundary first after the offer; never per block.
 */
#include "gate.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "stream.h"

static int busy; /* one thread connects; the others go on */
/*
 * A monitor that attaches after another one offers its own state and resets
 * gate_state first; the old mapping stays (a stream may still be reading
 * it), which costs its few hundred KiB once per monitor.
 */

static int gate_connect(const char *name, struct ls_gate_view *out, void **map, size_t *map_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strnlen(name, sizeof(((struct ls_plugin_info *)0)->gate_name));
	struct ls_gate_msg msg;
	char cbuf[CMSG_SPACE(sizeof(int))] __attribute__((aligned(8)));
	struct iovec iov = { &msg, sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	/* The monitor answers from its event loop at once; never hold a vCPU longer than this. */
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	int fd = -1, mfd = -1, err;
	ssize_t got;

	if (!n || n >= sizeof(sa.sun_path) - 1)
		return -EINVAL;
	memcpy(sa.sun_path + 1, name, n); /* abstract namespace: a leading NUL */
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n))) {
		err = -errno;
		goto out;
	}
	got = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (got < 0) {
		err = -errno;
		goto out;
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&mfd, CMSG_DATA(c), sizeof(int));
	err = -EPROTO;
	if (mfd < 0 || got != (ssize_t)sizeof(msg) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    msg.magic != LS_MAGIC || msg.version != LS_WIRE_VERSION || msg.map_size > (64u << 20) ||
	    msg.control_off > msg.map_size || msg.map_size - msg.control_off < sizeof(struct ls_control) ||
	    msg.pairs_off > msg.map_size ||
	    msg.map_size - msg.pairs_off < sizeof(struct ls_pair_state) * LS_MAX_VCPUS ||
	    msg.control_off % 8 || msg.pairs_off % 8)
		goto out;
	void *p = mmap(NULL, msg.map_size, PROT_READ, MAP_SHARED, mfd, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		goto out;
	}
	*map = p;
	*map_len = msg.map_size;
	out->control = (const struct ls_control *)((const char *)p + msg.control_off);
	out->pairs = (const struct ls_pair_state *)((const char *)p + msg.pairs_off);
	err = 0;
out:
	if (mfd >= 0)
		close(mfd); /* the mapping keeps what it needs */
	close(fd);
	return err;
}

void ls_gate_poll(struct ls_plugin_info *info)
{
	void *map = NULL;
	size_t len = 0;
	struct ls_gate_view v = { 0 };
	char name[sizeof(info->gate_name)];

	/* The monitor writes the name with process_vm_writev: read it as it is now. */
	if (!__atomic_load_n(&info->gate_name[0], __ATOMIC_RELAXED) ||
	    __atomic_load_n(&info->gate_state, __ATOMIC_ACQUIRE) != LS_GATE_NONE)
		return;
	if (__atomic_exchange_n(&busy, 1, __ATOMIC_ACQ_REL))
		return;
	memcpy(name, (const void *)info->gate_name, sizeof(name));
	name[sizeof(name) - 1] = 0;
	int err = gate_connect(name, &v, &map, &len);
	if (err) {
		/* One attempt per offer: gate_state stays FAILED until a monitor offers again. */
		__atomic_store_n(&info->gate_errno, -err, __ATOMIC_RELAXED);
		__atomic_store_n(&info->gate_state, LS_GATE_FAILED, __ATOMIC_RELEASE);
		__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
		return;
	}
	__atomic_store_n(&ls_gate_view.pairs, v.pairs, __ATOMIC_RELAXED);
	__atomic_store_n(&ls_gate_view.control, v.control, __ATOMIC_RELEASE);
	/* The monitor switches streams to LS_PERMIT_GATE only after it reads this. */
	__atomic_store_n(&info->gate_state, LS_GATE_MAPPED, __ATOMIC_RELEASE);
	__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
}
