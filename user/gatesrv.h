/* SPDX-License-Identifier: MIT */
/*
 * gatesrv.h - the monitor's side of the gate (see struct ls_batch in
 * lockstep_wire.h): an abstract UNIX socket on which each monitored QEMU's
 * plugin receives a read-only file descriptor of the correlator's state, so
 * it can pace itself against its partner without the monitor's tick.  No
 * libbpf here: the caller passes the descriptor (a BPF map's, in the
 * monitor; a memfd in the tests).
 */
#ifndef LOCKSTEP_GATESRV_H
#define LOCKSTEP_GATESRV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lockstep_wire.h"

struct ls_gate_server {
	int listen_fd; /* -1 when closed */
	int state_fd; /* mmapable: what the plugins map (read-only) */
	char name[sizeof(((struct ls_plugin_info *)0)->gate_name)];
	struct ls_gate_msg msg;
	unsigned served[2], refused;
};

/*
 * Listen on a fresh abstract socket for the state in state_fd (ownership
 * passes to the server).  0, or -errno with err filled.
 */
int ls_gate_server_open(struct ls_gate_server *g, int state_fd, uint64_t map_size, uint64_t control_off,
			uint64_t pairs_off, char *err, size_t errlen);

/*
 * Offer the gate to the plugin whose lockstep_plugin_info is at info_addr
 * in pid: write the socket's name and reset gate_state, so a plugin that
 * took an earlier monitor's gate takes this one.  0 or -errno.
 */
int ls_gate_offer(const struct ls_gate_server *g, pid_t pid, uint64_t info_addr);

/*
 * Answer every pending connection: a peer whose process is pids[i] gets the
 * state (served[i]++); anyone else is turned away (refused++).  Returns how
 * many were served; never blocks.
 */
int ls_gate_serve(struct ls_gate_server *g, const pid_t pids[2]);

/* Read the plugin's gate_state and gate_errno.  0 or -errno. */
int ls_gate_state(pid_t pid, uint64_t info_addr, uint32_t *state, int32_t *err);

void ls_gate_server_close(struct ls_gate_server *g);

#endif
