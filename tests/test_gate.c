/*
 * test_gate.c - the gate handshake, both ends in one process: the monitor's
 * server (user/gatesrv.c) offers a memfd standing in for the frozen gate
 * map, the plugin's side (plugin/gate.c) connects without waiting, picks up
 * the answer at a later poll, maps it and says so.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "gate.h"
#include "gatesrv.h"
#include "stream.h"

#define STATE_SIZE sizeof(struct ls_gate_state)

static struct ls_plugin_info info;
static struct ls_gate_server srv;
static int state_fd;
static struct ls_gate_state *state; /* our writable view of the "map" (the BPF program's, really) */

static int open_server(struct ls_gate_server *g, int *fd_out)
{
	char err[160];
	int fd = memfd_create("fake-gate", MFD_CLOEXEC);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, STATE_SIZE), 0);
	if (fd_out)
		*fd_out = fd;
	cr_assert_eq(ls_gate_server_open(g, dup(fd), STATE_SIZE, err, sizeof(err)), 0, "%s", err);
	return fd;
}

static void setup(void)
{
	memset(&info, 0, sizeof(info));
	ls_gate_view = (struct ls_gate_view){ 0 };
	open_server(&srv, &state_fd);
	state = mmap(NULL, STATE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, state_fd, 0);
	cr_assert_neq(state, MAP_FAILED);
}

static void teardown(void)
{
	ls_gate_server_close(&srv);
	close(state_fd);
}

TestSuite(gate, .init = setup, .fini = teardown, .timeout = 20);

/* Poll (the plugin) and serve (the monitor) in turn until the plugin has an answer. */
static int handshake(struct ls_gate_server *g, const pid_t pids[2])
{
	int served = 0;

	for (int i = 0; i < 2000; i++) {
		ls_gate_poll(&info);
		uint32_t st = __atomic_load_n(&info.gate_state, __ATOMIC_ACQUIRE);
		if (st == LS_GATE_MAPPED || st == LS_GATE_FAILED)
			break;
		served += ls_gate_serve(g, pids);
		usleep(1000);
	}
	return served;
}

static const char *perms_of(const void *addr, char perms[8])
{
	FILE *m = fopen("/proc/self/maps", "r");
	unsigned long lo, hi;
	char line[512];

	perms[0] = 0;
	while (m && fgets(line, sizeof(line), m))
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && (uintptr_t)addr >= lo && (uintptr_t)addr < hi)
			break;
	if (m)
		fclose(m);
	return perms;
}

Test(gate, nothing_offered_nothing_done)
{
	ls_gate_poll(&info);
	cr_assert_eq(info.gate_state, LS_GATE_NONE);
	cr_assert_null(ls_gate_view.state);
	/* A name without the offer (the first of the monitor's two writes): still nothing. */
	snprintf(info.gate_name, sizeof(info.gate_name), "%s", srv.name);
	ls_gate_poll(&info);
	cr_assert_eq(info.gate_state, LS_GATE_NONE, "a name alone is no offer: it may be half written");
}

Test(gate, the_plugin_maps_the_state_read_only_without_waiting)
{
	const pid_t pids[2] = { 999999, getpid() }; /* we play B */
	char perms[8];

	cr_assert_eq(ls_gate_offer(&srv, getpid(), (uint64_t)(uintptr_t)&info), 0);
	cr_assert_str_eq(info.gate_name, srv.name);
	cr_assert_eq(strncmp(info.gate_name, "lockstep-bpf.", 13), 0);
	cr_assert_eq(info.gate_state, LS_GATE_OFFERED);
	ls_gate_poll(&info);
	cr_assert_eq(info.gate_state, LS_GATE_CONNECTING, "connected, not waiting for the answer");
	ls_gate_poll(&info);
	cr_assert_eq(info.gate_state, LS_GATE_CONNECTING, "no answer yet: look again later");
	cr_assert_eq(handshake(&srv, pids), 1);
	cr_assert_eq(srv.served[1], 1);
	cr_assert_eq(info.gate_state, LS_GATE_MAPPED, "errno %d", info.gate_errno);
	cr_assert_not_null(ls_gate_view.state);

	/* A live view of what the BPF program writes... */
	state->pairs[3].hi1[1] = 77;
	state->freeze_gen = 2;
	cr_assert_eq(ls_gate_view.state->pairs[3].hi1[1], 77);
	cr_assert_eq(ls_gate_view.state->freeze_gen, 2);
	/* ...mapped without write access (the real map is frozen for user space besides). */
	cr_assert_str_eq(perms_of(ls_gate_view.state, perms), "r--s");

	/* Taken once: later polls do nothing. */
	const struct ls_gate_state *was = ls_gate_view.state;
	ls_gate_poll(&info);
	cr_assert_eq(ls_gate_view.state, was);
}

Test(gate, a_stranger_is_turned_away_and_the_plugin_says_why)
{
	const pid_t pids[2] = { 999998, 999999 };

	cr_assert_eq(ls_gate_offer(&srv, getpid(), (uint64_t)(uintptr_t)&info), 0);
	cr_assert_eq(handshake(&srv, pids), 0);
	cr_assert_eq(srv.refused, 1);
	cr_assert_eq(info.gate_state, LS_GATE_FAILED);
	cr_assert_eq(info.gate_errno, EPROTO, "no state came: %d", info.gate_errno);
	cr_assert_null(ls_gate_view.state);
}

Test(gate, each_side_is_served_once)
{
	const pid_t pids[2] = { getpid(), 999999 };

	cr_assert_eq(ls_gate_offer(&srv, getpid(), (uint64_t)(uintptr_t)&info), 0);
	cr_assert_eq(handshake(&srv, pids), 1);
	cr_assert_eq(info.gate_state, LS_GATE_MAPPED);
	/* Anything else in the same process (the guest, say) asking again gets nothing. */
	int c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(srv.name);
	memcpy(sa.sun_path + 1, srv.name, n);
	cr_assert_eq(connect(c, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)), 0);
	cr_assert_eq(ls_gate_serve(&srv, pids), 0);
	char buf[64];
	cr_assert_eq(recv(c, buf, sizeof(buf), 0), 0, "closed without an answer");
	cr_assert_eq(srv.refused, 1);
	close(c);
}

Test(gate, no_one_listening)
{
	cr_assert_eq(ls_gate_offer(&srv, getpid(), (uint64_t)(uintptr_t)&info), 0);
	close(srv.listen_fd);
	srv.listen_fd = -1;
	ls_gate_poll(&info);
	cr_assert_eq(info.gate_state, LS_GATE_FAILED);
	cr_assert_eq(info.gate_errno, ECONNREFUSED);
	cr_assert_eq(ls_gate_offer(&srv, getpid(), (uint64_t)(uintptr_t)&info), -EBADF, "a closed server offers nothing");
}

Test(gate, a_new_offer_replaces_an_old_one)
{
	const pid_t pids[2] = { getpid(), 999999 };

	cr_assert_eq(ls_gate_offer(&srv, getpid(), (uint64_t)(uintptr_t)&info), 0);
	handshake(&srv, pids);
	cr_assert_eq(info.gate_state, LS_GATE_MAPPED);
	const struct ls_gate_state *first = ls_gate_view.state;

	/* A second monitor (after the first died): its own socket, its own state. */
	struct ls_gate_server srv2;
	int fd2 = open_server(&srv2, NULL);
	cr_assert_str_neq(srv2.name, srv.name);
	cr_assert_eq(ls_gate_offer(&srv2, getpid(), (uint64_t)(uintptr_t)&info), 0);
	cr_assert_eq(info.gate_state, LS_GATE_OFFERED, "the offer resets the state");
	handshake(&srv2, pids);
	cr_assert_eq(info.gate_state, LS_GATE_MAPPED);
	cr_assert_neq(ls_gate_view.state, first);
	ls_gate_server_close(&srv2);
	close(fd2);
}

/* A server that answers with a message of another version: the plugin refuses it. */
static void *bad_server(void *arg)
{
	int lfd = *(int *)arg, c = -1;

	for (int i = 0; i < 2000 && c < 0; i++) {
		c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			usleep(1000);
	}
	struct ls_gate_msg m = { .magic = LS_MAGIC, .version = LS_WIRE_VERSION + 1, .map_size = STATE_SIZE,
				 .state_size = STATE_SIZE };
	char cbuf[CMSG_SPACE(sizeof(int))] __attribute__((aligned(8))) = { 0 };
	struct iovec iov = { &m, sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &state_fd, sizeof(int));
	sendmsg(c, &mh, MSG_NOSIGNAL);
	close(c);
	return NULL;
}

Test(gate, a_message_of_another_version_is_refused)
{
	pthread_t t;

	cr_assert_eq(ls_gate_offer(&srv, getpid(), (uint64_t)(uintptr_t)&info), 0);
	cr_assert_eq(pthread_create(&t, NULL, bad_server, &srv.listen_fd), 0);
	for (int i = 0; i < 2000 && info.gate_state != LS_GATE_FAILED && info.gate_state != LS_GATE_MAPPED; i++) {
		ls_gate_poll(&info);
		usleep(1000);
	}
	pthread_join(t, NULL);
	cr_assert_eq(info.gate_state, LS_GATE_FAILED);
	cr_assert_eq(info.gate_errno, EPROTO);
	cr_assert_null(ls_gate_view.state);
}

#include "fwd.h"

/* --forward-inputs: the channel comes with the gate, read-write, and a channel of the wrong size is refused. */
Test(gate, the_forwarding_channel_comes_with_the_state)
{
	const pid_t pids[2] = { getpid(), 999999 };
	int fd = memfd_create("fake-forward", MFD_CLOEXEC);
	char perms[8];

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)ls_fwd_size()), 0);
	void *mine = mmap(NULL, ls_fwd_size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(mine, MAP_FAILED);
	ls_fwd_init(mine, 1234);
	ls_gate_fwd_map = NULL;
	ls_gate_fwd_err = 0;
	ls_gate_server_forward(&srv, fd);
	cr_assert_eq(ls_gate_offer(&srv, getpid(), (uint64_t)(uintptr_t)&info), 0);
	cr_assert_eq(handshake(&srv, pids), 1);
	cr_assert_eq(info.gate_state, LS_GATE_MAPPED, "errno %d", info.gate_errno);
	cr_assert_not_null(ls_gate_view.state);
	cr_assert_not_null(ls_gate_fwd_map, "channel refused: %d", ls_gate_fwd_err);
	cr_assert_str_eq(perms_of(ls_gate_fwd_map, perms), "rw-s");
	struct ls_fwd_hdr *h = ls_gate_fwd_map;
	cr_assert_eq(h->wait_ms, 1234);
	h->lane[5].a_next = 42;
	cr_assert_eq(((struct ls_fwd_hdr *)mine)->lane[5].a_next, 42, "one shared channel");
	munmap(ls_gate_fwd_map, ls_fwd_size());
	munmap(mine, ls_fwd_size());
	ls_gate_fwd_map = NULL;
}

Test(gate, a_forwarding_channel_of_another_size_is_refused_but_the_gate_works)
{
	const pid_t pids[2] = { getpid(), 999999 };
	int fd = memfd_create("fake-forward", MFD_CLOEXEC);

	cr_assert_eq(ftruncate(fd, 4096), 0);
	ls_gate_fwd_map = NULL;
	ls_gate_fwd_err = 0;
	ls_gate_server_forward(&srv, fd);
	cr_assert_eq(ls_gate_offer(&srv, getpid(), (uint64_t)(uintptr_t)&info), 0);
	handshake(&srv, pids);
	cr_assert_eq(info.gate_state, LS_GATE_MAPPED);
	cr_assert_null(ls_gate_fwd_map);
	cr_assert_eq(ls_gate_fwd_err, EMSGSIZE);
}

/*
 * A stranger floods the abstract socket (anyone can connect to one: its
 * name is in /proc/net/unix) and keeps its backlog full.  The plugin must
 * still get the gate: it tries again at later chunk boundaries instead of
 * giving up at the first full backlog, and the server turns the flood away
 * a burst at a time, counted by uid.
 */
Test(gate, a_flood_of_strangers_does_not_keep_the_plugin_out)
{
	const pid_t pids[2] = { getpid(), 999999 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(srv.name);
	int ready[2];

	memcpy(sa.sun_path + 1, srv.name, n);
	cr_assert_eq(pipe(ready), 0);
	pid_t child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		/* Fill the backlog, tell the parent, then keep it full for 10 s at most. */
		int full = 0;
		for (int i = 0; i < 2000000; i++) {
			int c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (c < 0)
				_exit(2);
			int r = connect(c, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n));
			int e = errno;
			close(c);
			if (r && e == EAGAIN && !full) {
				full = 1;
				if (write(ready[1], "x", 1) != 1)
					_exit(3);
			}
			if (full && i % 1024 == 0) {
				struct timespec ts;
				clock_gettime(CLOCK_MONOTONIC, &ts);
				static time_t t0;
				if (!t0)
					t0 = ts.tv_sec;
				if (ts.tv_sec - t0 > 10)
					break;
			}
		}
		_exit(0);
	}
	char x;
	cr_assert_eq(read(ready[0], &x, 1), 1, "the flood never filled the backlog");
	cr_assert_eq(ls_gate_offer(&srv, getpid(), (uint64_t)(uintptr_t)&info), 0);
	ls_gate_poll(&info); /* the backlog is full now */
	cr_expect_neq(info.gate_state, LS_GATE_FAILED, "gave up at the first full backlog (errno %d)", info.gate_errno);
	handshake(&srv, pids);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	cr_assert_eq(info.gate_state, LS_GATE_MAPPED, "errno %d", info.gate_errno);
	cr_assert_eq(srv.served[0], 1);
	cr_assert_gt(srv.refused, 0);
	char who[160];
	ls_gate_refusals(&srv, who, sizeof(who));
	char want[64];
	snprintf(want, sizeof(want), "from uid %d", (int)getuid());
	cr_assert_not_null(strstr(who, want), "%s", who);
	close(ready[0]);
	close(ready[1]);
}
