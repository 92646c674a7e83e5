/* scansplit.c: one large directory read in slices by several workers.
 *
 * A per-directory queue hands a directory of 200,000 names to one worker, and the other cores
 * idle while it stats them all. So once a directory is listed and sorted, a large one is cut
 * into slices of SCAN_SPLIT_SLICE names. The worker that listed it (the owner) pushes one
 * invitation per other worker onto the queue and starts taking slices itself; a worker that pops
 * an invitation takes slices too. Each slice is filtered, stat-ed and encoded into its own batch;
 * the owner, once every slice is taken and the slices others took are finished, appends the
 * batches in order, so the directory still reaches the store as one sorted batch.
 *
 * The owner waits only for slices that other workers are reading at that moment, never for an
 * invitation still in the queue: invitations that arrive late find no slice and return. The
 * split is reference counted (owner plus invitations), so a late invitation never touches freed
 * memory; the names it points to belong to the owner and are read only while a slice is held.
 */
#include "service/scan/scan_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_SPLIT_SLICE 4096

struct scan_split {
	atomic_uint refs;
	pthread_mutex_t lock;
	pthread_cond_t finished;
	const struct scan_pass *pass; /* the owner's; valid until the last slice is finished */
	size_t count, nslices;
	size_t next;     /* the next slice to hand out */
	size_t done;     /* slices finished */
	int rc;          /* first failure of a slice */
	struct scan_found *slices;
};

void scansplit_unref(struct scan_split *split)
{
	if (!split || atomic_fetch_sub(&split->refs, 1) != 1)
		return;
	for (size_t i = 0; i < split->nslices; i++) {
		store_batch_destroy(split->slices[i].batch);
		store_skips_destroy(split->slices[i].skips);
		free(split->slices[i].subdirs);
	}
	free(split->slices);
	pthread_cond_destroy(&split->finished);
	pthread_mutex_destroy(&split->lock);
	free(split);
}

/* Takes and reads slices until none is left. */
static void scansplit_work(struct scan_worker *w, struct scan_split *split)
{
	for (;;) {
		pthread_mutex_lock(&split->lock);
		size_t k = split->next < split->nslices ? split->next++ : SIZE_MAX;
		const struct scan_pass *pass = split->pass;
		pthread_mutex_unlock(&split->lock);
		if (k == SIZE_MAX)
			return;
		size_t lo = k * SCAN_SPLIT_SLICE;
		size_t hi = lo + SCAN_SPLIT_SLICE < split->count ? lo + SCAN_SPLIT_SLICE : split->count;
		int rc = scanentry_range(w, pass, lo, hi, &split->slices[k]);
		pthread_mutex_lock(&split->lock);
		if (rc < 0 && split->rc == 0)
			split->rc = rc;
		if (++split->done == split->nslices)
			pthread_cond_broadcast(&split->finished);
		pthread_mutex_unlock(&split->lock);
	}
}

void scansplit_help(struct scan_worker *w, struct scan_split *split)
{
	uint64_t t0 = (uint64_t)clock_mono_ns();
	scansplit_work(w, split);
	atomic_fetch_add_explicit(&w->c.busy_ns, (uint64_t)clock_mono_ns() - t0, memory_order_relaxed);
}

static struct scan_split *scansplit_create(const struct scan_pass *pass, size_t count)
{
	struct scan_split *split = calloc(1, sizeof(*split));
	if (!split)
		return NULL;
	split->nslices = (count + SCAN_SPLIT_SLICE - 1) / SCAN_SPLIT_SLICE;
	split->slices = calloc(split->nslices, sizeof(*split->slices));
	if (!split->slices || pthread_mutex_init(&split->lock, NULL) != 0) {
		free(split->slices);
		free(split);
		return NULL;
	}
	if (pthread_cond_init(&split->finished, NULL) != 0) {
		pthread_mutex_destroy(&split->lock);
		free(split->slices);
		free(split);
		return NULL;
	}
	atomic_init(&split->refs, 1);
	split->pass = pass;
	split->count = count;
	for (size_t i = 0; i < split->nslices; i++) {
		if (store_batch_create(&split->slices[i].batch, NULL) < 0) {
			split->nslices = i; /* destroy only what exists */
			scansplit_unref(split);
			return NULL;
		}
	}
	return split;
}

/* Pushes up to `n` invitations; fewer when memory runs short (the owner reads the rest). */
static void scansplit_invite(struct scanner *sc, struct scan_split *split, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct scan_item *inv = calloc(1, sizeof(*inv) + 1);
		if (!inv)
			return;
		atomic_fetch_add(&split->refs, 1);
		inv->split = split;
		scanq_push(sc->q, &inv->node);
	}
}

/* Appends every slice's findings, in order, to the owner's. */
static int scansplit_merge(struct scan_worker *w, struct scan_split *split)
{
	struct scan_found *dst = &w->found;
	struct errbuf err;
	errbuf_clear(&err);
	size_t bytes = 0;
	for (size_t k = 0; k < split->nslices; k++)
		bytes += store_batch_bytes(split->slices[k].batch);
	/* One allocation of the exact size, not doublings: a 200,000-name batch is ~9 MB. */
	if (store_batch_reserve(dst->batch, bytes, &err) < 0) {
		scan_fail(w->sc, &err);
		return err.code;
	}
	for (size_t k = 0; k < split->nslices; k++) {
		struct scan_found *src = &split->slices[k];
		if (store_batch_append(dst->batch, src->batch, &err) < 0) {
			scan_fail(w->sc, &err);
			return err.code;
		}
		/* Each slice's memory goes as soon as it is copied, so the peak is one copy, not two. */
		store_batch_destroy(src->batch);
		src->batch = NULL;
		if (src->nsub > 0) {
			size_t need = dst->nsub + src->nsub;
			if (need > dst->subdirs_cap) {
				struct scan_sub *p = realloc(dst->subdirs, need * sizeof(*p));
				if (!p) {
					errbuf_errno(&err, ENOMEM, "merging the slices of a large directory");
					scan_fail(w->sc, &err);
					return -ENOMEM;
				}
				dst->subdirs = p;
				dst->subdirs_cap = need;
			}
			memcpy(dst->subdirs + dst->nsub, src->subdirs, src->nsub * sizeof(*src->subdirs));
			dst->nsub = need;
		}
		for (int t = 0; t < 4; t++)
			dst->counts[t] += src->counts[t];
		dst->bytes += src->bytes;
	}
	return 0;
}

int scansplit_run(struct scan_worker *w, const struct scan_pass *pass, size_t count)
{
	struct scanner *sc = w->sc;
	struct scan_split *split = scansplit_create(pass, count);
	if (!split) /* no memory for the slices: read it alone */
		return scanentry_range(w, pass, 0, count, &w->found);
	/* The workers, and the I/O threads while they are awake (reads block: more in flight). */
	unsigned helpers = sc->nworkers - 1 + scanio_active(sc);
	if (helpers > split->nslices - 1)
		helpers = (unsigned)(split->nslices - 1);
	scansplit_invite(sc, split, helpers);
	scansplit_work(w, split);
	/* Sleeping here is waiting on helpers, not on the device: the gate does not count it. */
	long slept = scanio_sleeps_begin(w);
	pthread_mutex_lock(&split->lock);
	/* Waiting on others, this worker frees no descriptor meanwhile (scanfd.c counts it). */
	atomic_fetch_add(&sc->fd_waiters, 1);
	while (split->done < split->nslices)
		pthread_cond_wait(&split->finished, &split->lock);
	atomic_fetch_sub(&sc->fd_waiters, 1);
	int rc = split->rc;
	/* Late invitations must not read the owner's pass once we return. */
	split->pass = NULL;
	pthread_mutex_unlock(&split->lock);
	scanio_sleeps_end(w, slept);
	if (rc == 0)
		rc = scansplit_merge(w, split);
	scansplit_unref(split);
	return rc;
}
