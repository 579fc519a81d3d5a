/* SPDX-License-Identifier: MIT */
/*
 * gate.h - the plugin's side of the gate handshake (see struct ls_batch and
 * struct ls_gate_msg in lockstep_wire.h).
 */
#ifndef LOCKSTEP_GATE_H
#define LOCKSTEP_GATE_H

#include "../bpf/lockstep_wire.h"

/*
 * If a monitor offered its correlator state in info->gate_name and this
 * plugin has not taken it yet, connect, map it into ls_gate_view and set
 * info->gate_state (LS_GATE_MAPPED, or LS_GATE_FAILED with gate_errno).
 * Cheap when there is nothing to do: call it at every chunk boundary.
 */
void ls_gate_poll(struct ls_plugin_info *info);

#endif
