/*
 * fuzz_gate.c - the gate as a plugin sees it: the message on the gate
 * socket (gate.c), and the permit a stream computes from the gate state
 * and its batch's gate fields (stream.c), any of which may be garbage.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "stream.h"

/* The uprobe's target, defined by the plugin proper: never called here. */
void lockstep_publish(struct ls_batch *b)
{
	(void)b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ls_gate_state st;
	struct ls_gate_view v = { &st };
	struct ls_gate_msg msg;
	struct ls_batch b;
	uint64_t chunk = 0;
	bool hold;

	memset(&msg, 0, sizeof(msg));
	memcpy(&msg, data, size < sizeof(msg) ? size : sizeof(msg));
	ls_gate_msg_ok(&msg, size);
	if (size < sizeof(b) + 8)
		return 0;
	memcpy(&b, data, sizeof(b));
	memcpy(&chunk, data + sizeof(b), 8);
	memset(&st, 0, sizeof(st));
	size_t rest = size - sizeof(b) - 8;
	memcpy(&st, data + sizeof(b) + 8, rest < sizeof(st) ? rest : sizeof(st));
	uint64_t p = ls_gate_permit(&v, &b, chunk, &hold);
	if (hold && p)
		abort(); /* a hold permits nothing */
	v.state = NULL;
	ls_gate_permit(&v, &b, chunk, &hold);
	return 0;
}
