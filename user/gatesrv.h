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

#define LS_GATE_UIDS 4 /* refusals counted by uid for these many uids */
#define LS_GATE_ACCEPT_BURST 256 /* connections answered in one ls_gate_serve call at most */

struct ls_gate_server {
	int listen_fd; /* -1 when closed */
	int state_fd; /* mmapable, frozen for user space: what the plugins map (read-only) */
	int fwd_fd; /* -1, or the --forward-inputs channel (a memfd both plugins map read-write), sent with state_fd */
	char name[sizeof(((struct ls_plugin_info *)0)->gate_name)];
	struct ls_gate_msg msg;
	unsigned served[2], refused; /* each side is served once: a second connection from it is refused */
	struct ls_gate_refusal {
		uid_t uid;
		unsigned count;
	} refused_by[LS_GATE_UIDS]; /* the refused, by uid (the heaviest kept) */
	unsigned refused_other;
};

/*
 * Listen on a fresh abstract socket for the gate state in state_fd (a
 * struct ls_gate_state at offset 0 of map_size bytes; ownership passes to
 * the server, also when this fails: close it with ls_gate_server_close).
 * 0, or -errno with err filled.
 */
int ls_gate_server_open(struct ls_gate_server *g, int state_fd, uint64_t map_size, char *err, size_t errlen);

/*
 * Also hand every plugin served from now on the forwarding channel fd (a
 * memfd of ls_fwd_size() bytes; ownership passes to the server).
 */
void ls_gate_server_forward(struct ls_gate_server *g, int fwd_fd);

/*
 * Offer the gate to the plugin whose lockstep_plugin_info is at info_addr
 * in pid: write the socket's name (gate_state LS_GATE_NONE meanwhile), then
 * LS_GATE_OFFERED, so the plugin never sees half a name, and a plugin that
 * took an earlier monitor's gate takes this one.  0 or -errno.
 */
int ls_gate_offer(const struct ls_gate_server *g, pid_t pid, uint64_t info_addr);

/*
 * Answer every pending connection: the first from process pids[i] gets the
 * state (served[i]++); anyone else, and any later one from that process, is
 * turned away (refused++) at once, whoever they are; at most
 * LS_GATE_ACCEPT_BURST a call.  Returns how many were served, or -errno
 * when the socket broke (the caller stops serving it); never blocks.
 */
int ls_gate_serve(struct ls_gate_server *g, const pid_t pids[2]);

/*
 * "N from uid U, ..." for the refused connections (who flooded the gate);
 * the length, like snprintf.
 */
size_t ls_gate_refusals(const struct ls_gate_server *g, char *buf, size_t len);

/* Read the plugin's gate_state and gate_errno.  0 or -errno. */
int ls_gate_state(pid_t pid, uint64_t info_addr, uint32_t *state, int32_t *err);

void ls_gate_server_close(struct ls_gate_server *g);

#endif
