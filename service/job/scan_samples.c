/* scan_samples.c: a scan's progress samples (see scan_samples.h). */
#include "service/job/scan_samples.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t scansamples_step(const struct scansamples *s)
{
	return s->step_ms ? s->step_ms : SCANSAMPLES_STEP_MS;
}

/* Keeps samples 0, 2, 4, ... and doubles the spacing: half the room is free again. */
static void scansamples_decimate(struct scansamples *s)
{
	size_t k = 0;
	for (size_t i = 0; i < s->n; i += 2)
		s->v[k++] = s->v[i];
	s->n = k;
	s->step_ms = scansamples_step(s) * 2;
}

static int scansamples_room(struct scansamples *s)
{
	if (!s->v && !(s->v = malloc(SCANSAMPLES_CAP * sizeof(*s->v))))
		return -ENOMEM;
	if (s->n == SCANSAMPLES_CAP)
		scansamples_decimate(s);
	return 0;
}

/* Whether `t_ms` falls in the bucket of the last sample kept. */
static int scansamples_same_bucket(const struct scansamples *s, uint64_t t_ms)
{
	uint64_t step = scansamples_step(s);
	return s->n > 0 && t_ms / step <= s->v[s->n - 1].t_ms / step;
}

int scansamples_add(struct scansamples *s, const struct store_sample *x)
{
	if (scansamples_same_bucket(s, x->t_ms))
		return 0;
	if (scansamples_room(s) < 0)
		return -ENOMEM;
	/* Decimation may have widened the buckets: check again. */
	if (scansamples_same_bucket(s, x->t_ms))
		return 0;
	s->v[s->n++] = *x;
	return 0;
}

int scansamples_final(struct scansamples *s, const struct store_sample *x)
{
	if (scansamples_same_bucket(s, x->t_ms) && s->n > 1) {
		s->v[s->n - 1] = *x;
		return 0;
	}
	if (scansamples_room(s) < 0)
		return -ENOMEM;
	if (s->n > 0 && s->v[s->n - 1].t_ms >= x->t_ms && s->n > 1)
		s->n--; /* the same instant: the final counts win */
	s->v[s->n++] = *x;
	return 0;
}

void scansamples_clear(struct scansamples *s)
{
	if (!s)
		return;
	free(s->v);
	memset(s, 0, sizeof(*s));
}
