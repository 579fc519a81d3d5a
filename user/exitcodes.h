/* SPDX-License-Identifier: MIT */
/* exitcodes.h - the documented exit codes of lockstep-bpf (README, --help). */
#ifndef LOCKSTEP_EXITCODES_H
#define LOCKSTEP_EXITCODES_H

enum ls_exit {
	LS_EXIT_OK = 0, /* compared, no divergence */
	LS_EXIT_DIVERGED = 1, /* the two executions parted ways */
	LS_EXIT_USAGE = 2, /* bad command line, or an environment that cannot work */
	LS_EXIT_SIDE_ENDED = 3, /* a side ended before the comparison finished */
	LS_EXIT_STOPPED = 4, /* --timeout, SIGINT or SIGTERM before the comparison finished */
};

#endif
