/*
 * signals: deterministic work while asynchronous and synchronous signals
 * interrupt it, so the plugin is tried on a guest whose QEMU takes host
 * signals all the time:
 *   - a HZ ITIMER_REAL timer (SIGALRM, process-directed: the kernel may hand
 *     it to any thread of QEMU that does not block it) whose handler does
 *     work of its own and checks its result;
 *   - SIGUSR1 sent to itself with kill() every 4096 iterations (synchronous:
 *     delivered before kill returns, so its count is deterministic);
 *   - SIGALRM blocked around part of the loop (sigprocmask), so pending
 *     signals are delivered at unblock too.
 * Output depends only on the work and the SIGUSR1 count, never on how many
 * alarms arrived (that varies run to run); it says whether any did.
 *   signals ITERATIONS [HZ]     (HZ default 1000; 0: no timer)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms, usr1s, bad;
static volatile unsigned long sink;

/* The same small computation in the handler and once in main: it must agree. */
__attribute__((noinline)) static unsigned long handler_work(void)
{
	unsigned long h = 1469598103934665603ul;

	for (unsigned i = 0; i < 200; i++)
		h = (h ^ i) * 1099511628211ul;
	return h;
}

static unsigned long expect;

static void on_alarm(int sig)
{
	(void)sig;
	if (handler_work() != expect)
		bad = 1;
	alarms = alarms + 1;
}

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (sig != SIGUSR1 || si->si_pid != getpid())
		bad = 1;
	usr1s = usr1s + 1;
}

__attribute__((noinline)) static unsigned long step(unsigned long s, unsigned long i)
{
	for (unsigned k = 0; k < 16; k++)
		s = (s ^ (i + k)) * 6364136223846793005ul + 1442695040888963407ul;
	return s;
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 200000ul;
	long hz = argc > 2 ? strtol(argv[2], NULL, 0) : 1000;
	struct sigaction sa;
	sigset_t alrm;
	unsigned long s = 0;

	expect = handler_work();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);

	if (hz > 0) {
		struct itimerval it = { { 0, 1000000 / hz }, { 0, 1000000 / hz } };
		setitimer(ITIMER_REAL, &it, NULL);
	}
	for (unsigned long i = 0; i < n; i++) {
		if ((i & 4095) == 0)
			kill(getpid(), SIGUSR1);
		if ((i & 65535) == 32768)
			sigprocmask(SIG_BLOCK, &alrm, NULL);
		else if ((i & 65535) == 49152)
			sigprocmask(SIG_UNBLOCK, &alrm, NULL);
		s = step(s, i);
	}
	sigprocmask(SIG_UNBLOCK, &alrm, NULL);
	/* At least one alarm, however loaded the machine: the output says so. */
	while (hz > 0 && !alarms)
		pause();
	if (hz > 0) {
		struct itimerval off = { { 0, 0 }, { 0, 0 } };
		setitimer(ITIMER_REAL, &off, NULL);
	}
	sink = s;
	printf("checksum %016lx, %d SIGUSR1, alarms %s, handlers %s\n", s, (int)usr1s,
	       hz > 0 ? (alarms ? "taken" : "none") : "off", bad ? "WRONG" : "right");
	return bad ? 3 : 0;
}
