/* clock.c: see clock.h. */
#include "base/clock.h"

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t clock_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int64_t clock_wall_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

int clock_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t ca;
	int rc = pthread_condattr_init(&ca);
	if (rc != 0)
		return rc;
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(cond, &ca);
	pthread_condattr_destroy(&ca);
	return rc;
}

struct timespec clock_deadline(int64_t ns)
{
	int64_t at = clock_mono_ns() + (ns > 0 ? ns : 0);
	return (struct timespec){.tv_sec = at / 1000000000, .tv_nsec = at % 1000000000};
}
