/* SPDX-License-Identifier: MIT */
/*
 * renew.h - renewing the QEMUs' leases from a thread of its own.
 *
 * A lease lets a QEMU run on alone when the monitor dies.  Renewed only by
 * the main loop, it also ran out whenever that loop was late: a long copy
 * of both rings (attach backlog, divergence) or a monitor not scheduled for
 * a lease on a loaded machine, and the QEMUs then ran past the window and
 * comparisons were lost.  This thread renews every lease an eighth of a lease
 * apart, at real-time priority where allowed, as long as the main loop
 * shows it is alive (ls_renewer_beat) within a hard bound: a monitor that
 * is slow slows the guests; one that is dead, stopped or stuck for longer
 * than the bound lets them go.
 */
#ifndef LOCKSTEP_RENEW_H
#define LOCKSTEP_RENEW_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* How long the main loop may go without a beat before its QEMUs are let go. */
#define LS_RENEW_STALL_NS 10000000000ull

/* Renew every lease the caller granted: called with the time the new leases start from. */
typedef void (*ls_renew_fn)(void *ctx, uint64_t now_ns);

struct ls_renewer {
	pthread_t thread;
	ls_renew_fn fn;
	void *ctx;
	uint64_t period_ns; /* a quarter lease */
	uint64_t stall_ns;
	uint64_t beat_ns; /* the main loop's last sign of life (atomic) */
	uint64_t renewals, stalled; /* atomic: rounds done, rounds skipped for a stalled main loop */
	uint64_t max_gap_ns, max_round_ns; /* longest time between two rounds' starts, longest round */
	bool stop, running, realtime;
};

uint64_t ls_renew_now_ns(void);
/* Start the thread (all signals blocked in it); 0 or a negative errno. */
int ls_renewer_start(struct ls_renewer *r, uint64_t lease_ns, uint64_t stall_ns, ls_renew_fn fn, void *ctx);
/* The main loop is alive: renewals may go on for stall_ns from now. */
void ls_renewer_beat(struct ls_renewer *r);
void ls_renewer_stop(struct ls_renewer *r);

#endif /* LOCKSTEP_RENEW_H */
