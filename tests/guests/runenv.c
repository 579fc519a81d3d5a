/*
 * runenv: what `lockstep-bpf run` hands a guest, printed so a test can see
 * it: the ids it runs with, the stdin it was given, and output written after
 * a pause (to see whether it still reaches the user after the monitor died).
 *   runenv [SECONDS]
 * The same on both sides when both QEMUs get the same user and input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec ts = { argc > 1 ? atoi(argv[1]) : 0, 0 };
	unsigned long bytes = 0, sum = 0;
	char buf[4096];
	ssize_t n;

	printf("uid %d euid %d gid %d egid %d groups %d\n", (int)getuid(), (int)geteuid(), (int)getgid(),
	       (int)getegid(), getgroups(0, NULL));
	while ((n = read(0, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			sum = sum * 31 + (unsigned char)buf[i];
		bytes += (unsigned long)n;
	}
	printf("stdin %lu bytes, hash %lx%s\n", bytes, sum, n < 0 ? ", read error" : "");
	fflush(stdout);
	fprintf(stderr, "early stderr\n");
	nanosleep(&ts, NULL);
	printf("late stdout\n");
	fflush(stdout);
	fprintf(stderr, "late stderr\n");
	return 0;
}
