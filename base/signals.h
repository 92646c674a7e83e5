/* signals.h: taking signals away from every thread so that one thread can sigwait() for them. */
#ifndef LEINDEX_BASE_SIGNALS_H
#define LEINDEX_BASE_SIGNALS_H

#include <signal.h>

/**
 * Gives each signal of `set` its default action back and blocks them all in the calling thread.
 * Call it before any thread starts: every thread inherits the mask, so none is killed by these
 * signals and only a sigwait() on `set` takes them. (A shell starts background commands with
 * SIGINT ignored, and an ignored signal is dropped even while blocked: hence the default action.)
 */
void signals_take(const sigset_t *set);

#endif
