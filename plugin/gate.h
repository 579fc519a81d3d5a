/* SPDX-License-Identifier: MIT */
/*
 * gate.h - the plugin's side of the gate handshake (see struct ls_batch and
 * struct ls_gate_msg in lockstep_wire.h).
 */
#ifndef LOCKSTEP_GATE_H
#define LOCKSTEP_GATE_H

#include <stdbool.h>
#include <stddef.h>

#include "../bpf/lockstep_wire.h"

/*
 * One step of taking a monitor's offer (info->gate_state LS_GATE_OFFERED):
 * connect, and at a later call pick up the gate state and map it into
 * ls_gate_view; info->gate_state says where it stands (LS_GATE_CONNECTING,
 * LS_GATE_MAPPED, or LS_GATE_FAILED with gate_errno).  Never blocks, and
 * cheap when there is nothing to do: call it at every chunk boundary.
 */
void ls_gate_poll(struct ls_plugin_info *info);

/*
 * --forward-inputs: the forwarding channel (fwd.h) that came with the gate,
 * mapped read-write and checked, or NULL; ls_gate_fwd_err says why not when
 * one came and could not be used.  Stored with release before gate_state
 * LS_GATE_MAPPED.
 */
extern void *ls_gate_fwd_map;
extern int ls_gate_fwd_err;
/* Whether the got bytes received are a gate message this plugin can map (pure: fuzzed). */
bool ls_gate_msg_ok(const struct ls_gate_msg *msg, size_t got);

#endif
