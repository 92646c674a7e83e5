/* scan_samples.h: a scan's progress samples: at most one a second, bounded, decimated when full. */
#ifndef LEINDEX_SCAN_SAMPLES_H
#define LEINDEX_SCAN_SAMPLES_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/*
 * The samples of one scan, for the chart of GET /scans/{id}/progress: its counts every second
 * while it runs, and once at its end. At most SCANSAMPLES_CAP are kept: when full, every other
 * one is dropped (the first stays) and the spacing doubles, so a scan of any length keeps an
 * even picture of its whole run in bounded memory. Samples are kept at most one per spacing
 * bucket (t_ms / step_ms), so never two within one second. Not thread-safe: the owner locks.
 */

/** The most samples kept (a scan of 9 minutes keeps one a second; longer ones fewer). */
#define SCANSAMPLES_CAP 512
/** The spacing of the first samples, in milliseconds. */
#define SCANSAMPLES_STEP_MS 1000

/** Zero it to start; scansamples_clear() frees it. */
struct scansamples {
	struct store_sample *v; /**< SCANSAMPLES_CAP slots (malloc'ed at the first sample), or NULL */
	size_t n;
	uint64_t step_ms;       /**< 0 means SCANSAMPLES_STEP_MS */
};

/**
 * Adds a sample taken x->t_ms after the scan started, unless one was kept in the same spacing
 * bucket already (then nothing changes). 0, or -ENOMEM (the sample is not kept).
 */
int scansamples_add(struct scansamples *s, const struct store_sample *x);

/** Adds the final sample: always kept, replacing the last one when it is in the same bucket. */
int scansamples_final(struct scansamples *s, const struct store_sample *x);

/** Frees the samples and zeroes `s`. NULL is fine. */
void scansamples_clear(struct scansamples *s);

#endif
