/*
 * test_gate.c - the gate handshake, both ends in one process: the monitor's
 * server (user/gatesrv.c) offers a memfd standing in for the correlator's
 * BPF map, the plugin's side (plugin/gate.c) connects, maps it and says so.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "gate.h"
#include "gatesrv.h"
#include "stream.h"

#define STATE_SIZE (sizeof(struct ls_control) + 64 + sizeof(struct ls_pair_state) * LS_MAX_VCPUS)
#define PAIRS_OFF 128

static struct ls_plugin_info info;
static struct ls_gate_server srv;
static int state_fd;
static char *state; /* our writable view of the "map" */

static void setup(void)
{
	char err[160];

	memset(&info, 0, sizeof(info));
	ls_gate_view = (struct ls_gate_view){ 0 };
	state_fd = memfd_create("fake-correlator", MFD_CLOEXEC);
	cr_assert_geq(state_fd, 0);
	cr_assert_eq(ftruncate(state_fd, STATE_SIZE + PAIRS_OFF), 0);
	state = mmap(NULL, STATE_SIZE + PAIRS_OFF, PROT_READ | PROT_WRITE, MAP_SHARED, state_fd, 0);
	cr_assert_neq(state, MAP_FAILED);
	cr_assert_eq(ls_gate_server_open(&srv, dup(state_fd), STATE_SIZE + PAIRS_OFF, 0, PAIRS_OFF, err, sizeof(err)), 0,
		     "%s", err);
}

static void teardown(void)
{
	ls_gate_server_close(&srv);
	close(state_fd);
}

TestSuite(gate, .init = setup, .fini = teardown, .timeout = 20);

static void *poll_thread(void *arg)
{
	(void)arg;
	ls_gate_poll(&info);
	return NULL;
}

/* Run the plugin's side in a thread (it waits for the answer) and serve until it is done. */
static void handshake(const pid_t pids[2], int *served)
{
	pthread_t t;

	*served = 0;
	cr_assert_eq(pthread_create(&t, NULL, poll_thread, NULL), 0);
	for (int i = 0; i < 2000 && __atomic_load_n(&info.gate_state, __ATOMIC_ACQUIRE) == LS_GATE_NONE; i++) {
		*served += ls_gate_serve(&srv, pids);
		usleep(1000);
	}
	pthread_join(t, NULL);
}

Test(gate, nothing_offered_nothing_done)
{
	ls_gate_poll(&info);
	cr_assert_eq(info.gate_state, LS_GATE_NONE);
	cr_assert_null(ls_gate_view.control);
}

Test(gate, the_plugin_maps_the_state_read_only)
{
	const pid_t pids[2] = { 999999, getpid() }; /* we play B */
	int served;

	cr_assert_eq(ls_gate_offer(&srv, getpid(), (uint64_t)(uintptr_t)&info), 0);
	cr_assert_str_eq(info.gate_name, srv.name);
	cr_assert_eq(strncmp(info.gate_name, "lockstep-bpf.", 13), 0);
	handshake(pids, &served);
	cr_assert_eq(served, 1);
	cr_assert_eq(srv.served[1], 1);
	cr_assert_eq(info.gate_state, LS_GATE_MAPPED, "errno %d", info.gate_errno);
	cr_assert_not_null(ls_gate_view.control);
	cr_assert_eq((const char *)ls_gate_view.pairs - (const char *)ls_gate_view.control, PAIRS_OFF);

	/* A live view: what the correlator writes shows through. */
	struct ls_pair_state *p = (struct ls_pair_state *)(state + PAIRS_OFF);
	p[3].side[1].hi1 = 77;
	((struct ls_control *)state)->frozen = 1;
	cr_assert_eq(ls_gate_view.pairs[3].side[1].hi1, 77);
	cr_assert_eq(ls_gate_view.control->frozen, 1);
	/*
	 * Mapped without write access (a BPF map also drops the right to add
	 * it later; a memfd does not, so that part is the kernel's, not tested here).
	 */
	char perms[8] = "";
	FILE *m = fopen("/proc/self/maps", "r");
	unsigned long lo, hi;
	char line[512];
	while (m && fgets(line, sizeof(line), m))
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && (uintptr_t)ls_gate_view.control >= lo &&
		    (uintptr_t)ls_gate_view.control < hi)
			break;
	if (m)
		fclose(m);
	cr_assert_str_eq(perms, "r--s", "the plugin's view is mapped %s", perms);

	/* Taken once: later polls do nothing. */
	const struct ls_control *was = ls_gate_view.control;
	ls_gate_poll(&info);
	cr_assert_eq(ls_gate_view.control, was);
}

Test(gate, a_stranger_is_turned_away_and_the_plugin_says_why)
{
	const pid_t pids[2] = { 999998, 999999 };
	int served;

	cr_assert_eq(ls_gate_offer(&srv, getpid(), (uint64_t)(uintptr_t)&info), 0);
	handshake(pids, &served);
	cr_assert_eq(served, 0);
	cr_assert_eq(srv.refused, 1);
	cr_assert_eq(info.gate_state, LS_GATE_FAILED);
	cr_assert_eq(info.gate_errno, EPROTO, "no state came: %d", info.gate_errno);
	cr_assert_null(ls_gate_view.control);
}

Test(gate, no_one_listening)
{
	struct ls_gate_server gone = srv;

	cr_assert_eq(ls_gate_offer(&srv, getpid(), (uint64_t)(uintptr_t)&info), 0);
	close(srv.listen_fd);
	srv.listen_fd = -1;
	ls_gate_poll(&info);
	cr_assert_eq(info.gate_state, LS_GATE_FAILED);
	cr_assert_eq(info.gate_errno, ECONNREFUSED);
	cr_assert_eq(ls_gate_offer(&srv, getpid(), (uint64_t)(uintptr_t)&info), -EBADF, "a closed server offers nothing");
	(void)gone;
}

Test(gate, a_new_offer_replaces_an_old_one)
{
	const pid_t pids[2] = { getpid(), 999999 };
	int served;
	char err[160];

	cr_assert_eq(ls_gate_offer(&srv, getpid(), (uint64_t)(uintptr_t)&info), 0);
	handshake(pids, &served);
	cr_assert_eq(info.gate_state, LS_GATE_MAPPED);
	const struct ls_control *first = ls_gate_view.control;

	/* A second monitor (after the first died): its own socket, its own state. */
	struct ls_gate_server srv2;
	int fd2 = memfd_create("second", MFD_CLOEXEC);
	cr_assert_eq(ftruncate(fd2, STATE_SIZE + PAIRS_OFF), 0);
	cr_assert_eq(ls_gate_server_open(&srv2, fd2, STATE_SIZE + PAIRS_OFF, 0, PAIRS_OFF, err, sizeof(err)), 0);
	cr_assert_str_neq(srv2.name, srv.name);
	cr_assert_eq(ls_gate_offer(&srv2, getpid(), (uint64_t)(uintptr_t)&info), 0);
	cr_assert_eq(info.gate_state, LS_GATE_NONE, "the offer resets the state");
	struct ls_gate_server keep = srv;
	srv = srv2;
	handshake(pids, &served);
	srv2 = srv;
	srv = keep;
	cr_assert_eq(info.gate_state, LS_GATE_MAPPED);
	cr_assert_neq(ls_gate_view.control, first);
	ls_gate_server_close(&srv2);
}

/* A server that answers with a bad message: the plugin refuses it. */
static void *bad_server(void *arg)
{
	int lfd = *(int *)arg, c = -1;

	for (int i = 0; i < 2000 && c < 0; i++) {
		c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			usleep(1000);
	}
	struct ls_gate_msg m = { .magic = LS_MAGIC, .version = LS_WIRE_VERSION + 1, .map_size = 4096 };
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
	ls_gate_poll(&info);
	pthread_join(t, NULL);
	cr_assert_eq(info.gate_state, LS_GATE_FAILED);
	cr_assert_eq(info.gate_errno, EPROTO);
	cr_assert_null(ls_gate_view.control);
}
