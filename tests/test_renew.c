/* test_renew.c - the lease renewal thread renews while the main loop beats, and stops when it stalls. */
#include <criterion/criterion.h>
#include <time.h>

#include "renew.h"

static uint64_t calls;

static void count(void *ctx, uint64_t now)
{
	(void)ctx;
	(void)now;
	__atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

Test(renew, renews_while_beaten_then_stops_when_stalled)
{
	struct ls_renewer r;

	calls = 0;
	/* 8 ms lease: a round every ms; a main loop silent for 100 ms is stalled. */
	cr_assert_eq(ls_renewer_start(&r, 8000000, 100000000, count, NULL), 0);
	for (int k = 0; k < 20; k++) {
		ls_renewer_beat(&r);
		sleep_ms(10);
	}
	uint64_t beaten = __atomic_load_n(&calls, __ATOMIC_RELAXED);
	cr_assert_gt(beaten, 0, "no round while beaten");
	sleep_ms(400); /* no beat: after 100 ms no more renewals */
	uint64_t a = __atomic_load_n(&calls, __ATOMIC_RELAXED);
	sleep_ms(200);
	uint64_t b = __atomic_load_n(&calls, __ATOMIC_RELAXED);
	cr_assert_eq(a, b, "renewed while the main loop was stalled");
	cr_assert_gt(__atomic_load_n(&r.stalled, __ATOMIC_RELAXED), 0);
	/* Alive again: renewals resume (bounded wait, no timing asserted). */
	for (int k = 0; k < 500 && __atomic_load_n(&calls, __ATOMIC_RELAXED) == b; k++) {
		ls_renewer_beat(&r);
		sleep_ms(10);
	}
	cr_assert_gt(__atomic_load_n(&calls, __ATOMIC_RELAXED), b);
	ls_renewer_stop(&r);
	ls_renewer_stop(&r); /* idempotent */
}

Test(renew, stop_without_start)
{
	struct ls_renewer r = { 0 };

	ls_renewer_stop(&r);
}
