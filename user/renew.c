// SPDX-License-Identifier: MIT
/*
 * renew.c - the lease renewal thread (see renew.h for why it exists).
 */
#include "renew.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>

uint64_t ls_renew_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void ls_renewer_beat(struct ls_renewer *r)
{
	__atomic_store_n(&r->beat_ns, ls_renew_now_ns(), __ATOMIC_RELEASE);
}

static void *renew_loop(void *arg)
{
	struct ls_renewer *r = arg;
	uint64_t last = 0;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		uint64_t now = ls_renew_now_ns(), beat = __atomic_load_n(&r->beat_ns, __ATOMIC_ACQUIRE);
		if (last && now - last > r->max_gap_ns)
			r->max_gap_ns = now - last;
		last = now;
		if (now - beat <= r->stall_ns) {
			r->fn(r->ctx, now);
			uint64_t took = ls_renew_now_ns() - now;
			if (took > r->max_round_ns)
				r->max_round_ns = took;
			__atomic_add_fetch(&r->renewals, 1, __ATOMIC_RELAXED);
		} else {
			__atomic_add_fetch(&r->stalled, 1, __ATOMIC_RELAXED);
		}
		struct timespec ts = { (time_t)(r->period_ns / 1000000000ull), (long)(r->period_ns % 1000000000ull) };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int ls_renewer_start(struct ls_renewer *r, uint64_t lease_ns, uint64_t stall_ns, ls_renew_fn fn, void *ctx)
{
	sigset_t all, old;
	int e;

	memset(r, 0, sizeof(*r));
	r->fn = fn;
	r->ctx = ctx;
	r->period_ns = lease_ns / 8 ? lease_ns / 8 : 1; /* room for a late wake-up or two */
	r->stall_ns = stall_ns;
	ls_renewer_beat(r);
	/* Signals are the main thread's (Ctrl-C, SIGCHLD...): none may land here. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&r->thread, NULL, renew_loop, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e)
		return -e;
	r->running = true;
	/*
	 * Real-time priority (root, or CAP_SYS_NICE) so that a loaded machine
	 * cannot keep the renewal from running; it wakes a few times a lease
	 * for microseconds, so it takes nothing from anyone.  Without it the
	 * renewal still runs apart from the main loop's long work.
	 */
	struct sched_param sp = { .sched_priority = 1 };
	r->realtime = pthread_setschedparam(r->thread, SCHED_FIFO, &sp) == 0;
	return 0;
}

void ls_renewer_stop(struct ls_renewer *r)
{
	if (!r->running)
		return;
	__atomic_store_n(&r->stop, true, __ATOMIC_RELEASE);
	pthread_join(r->thread, NULL);
	r->running = false;
}
