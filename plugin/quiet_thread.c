/* SPDX-License-Identifier: MIT */
/*
 * quiet_thread.c - starting the plugin's own threads with every signal
 * blocked.
 *
 * In linux-user QEMU's host signal handler assumes it runs on a vCPU thread
 * (it looks up that thread's CPU to queue the guest's signal).  A
 * process-directed signal - a guest's SIGALRM from setitimer, a kill() of
 * the QEMU pid - may be delivered to any thread that does not block it, and
 * on a plugin thread that handler crashes QEMU with SIGSEGV.  A new thread
 * inherits its creator's mask, so the mask is full across pthread_create and
 * restored right after: the thread never has a window with signals open.
 */
#include "quiet_thread.h"

#include <signal.h>

int ls_quiet_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	if ((err = pthread_sigmask(SIG_SETMASK, &all, &old)) != 0)
		return err;
	err = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}
