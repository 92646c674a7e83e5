/* clock.h: the process's two clocks (monotonic for durations and waits, wall for records). */
#ifndef LEINDEX_BASE_CLOCK_H
#define LEINDEX_BASE_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/*
 * Durations, deadlines and timed waits use CLOCK_MONOTONIC, so a step of the wall clock neither
 * stalls nor hurries them; only timestamps that users read (created, started, finished, log
 * lines) use CLOCK_REALTIME. Every function is thread-safe.
 */

/** Nanoseconds on CLOCK_MONOTONIC (arbitrary origin, never goes back). */
int64_t clock_mono_ns(void);

/** Nanoseconds since the Unix epoch on CLOCK_REALTIME. */
int64_t clock_wall_ns(void);

/**
 * Initialises `cond` to time its waits on CLOCK_MONOTONIC: pair it with clock_deadline().
 * Returns 0 or an errno value, as pthread_cond_init() does.
 */
int clock_cond_init(pthread_cond_t *cond);

/** The CLOCK_MONOTONIC instant `ns` nanoseconds from now, for pthread_cond_timedwait(). */
struct timespec clock_deadline(int64_t ns);

#endif
