/* SPDX-License-Identifier: MIT */
/* test_quiet_thread.c - a plugin thread blocks every signal from its first instruction; its creator's mask is kept. */
#include <criterion/criterion.h>
#include <signal.h>

#include "quiet_thread.h"

static void *report_mask(void *out)
{
	pthread_sigmask(SIG_BLOCK, NULL, out);
	return NULL;
}

Test(quiet_thread, blocks_every_signal_and_keeps_the_callers_mask)
{
	sigset_t before, after, in_thread, usr2;
	pthread_t t;

	/* The caller's own mask, neither empty nor full, must come back as it was. */
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &usr2, &before);
	pthread_sigmask(SIG_BLOCK, NULL, &before);
	cr_assert_eq(ls_quiet_thread_start(&t, report_mask, &in_thread), 0);
	pthread_join(t, NULL);
	pthread_sigmask(SIG_BLOCK, NULL, &after);
	for (int sig = 1; sig < SIGRTMIN; sig++)
		cr_expect_eq(sigismember(&after, sig), sigismember(&before, sig), "caller's signal %d changed", sig);
	/* Every signal a guest or a user can send: the standard ones and the real-time ones glibc hands out. */
	const int sigs[] = { SIGALRM, SIGVTALRM, SIGPROF, SIGUSR1, SIGUSR2, SIGCHLD, SIGINT, SIGTERM, SIGHUP,
			     SIGPIPE, SIGIO, SIGWINCH, SIGURG, SIGSEGV, SIGBUS, SIGRTMIN, SIGRTMAX };
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		cr_expect(sigismember(&in_thread, sigs[i]), "signal %d is open in the plugin thread", sigs[i]);
	pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);
}
