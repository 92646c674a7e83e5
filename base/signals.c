/* signals.c: see signals.h. */
#include "base/signals.h"

#include <pthread.h>

void signals_take(const sigset_t *set)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigemptyset(&dfl.sa_mask);
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(set, sig) == 1)
			sigaction(sig, &dfl, NULL);
	pthread_sigmask(SIG_BLOCK, set, NULL);
}
