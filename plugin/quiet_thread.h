/* SPDX-License-Identifier: MIT */
/*
 * quiet_thread.h - every thread the plugin creates is started here, so no
 * signal meant for the guest is ever delivered to it (quiet_thread.c says why).
 */
#ifndef LOCKSTEP_QUIET_THREAD_H
#define LOCKSTEP_QUIET_THREAD_H

#include <pthread.h>

/* pthread_create with all signals blocked in the new thread; the caller's mask is unchanged.  0 or an errno. */
int ls_quiet_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

#endif
