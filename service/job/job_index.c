/* job_index.c: the job manager's jobs by id, a hash table with O(1) lookups (see job_impl.h). */
#include <errno.h>
#include <stdlib.h>

#include "service/job/job_impl.h"

/*
 * Readers look a scan up once per scan record they answer with (/stats, /metrics and GET /scans
 * overlay every record with the manager's view), so the lookup must not depend on how many
 * scans are queued: with a list walk, 26,000 queued scans made each /stats call walk 26,000^2
 * links. Ids are consecutive, so they are spread by a Fibonacci multiplication before masking.
 * Deletion shifts the following entries of the probe run back (no tombstone slots), so the table
 * never degrades however many jobs come and go. The table grows (never shrinks) by doubling.
 */

static size_t jobq_index_slot(const struct jobq_index *ix, uint64_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & (ix->cap - 1);
}

/* Puts `job` in `slots` of `cap` (a power of two with a free slot). */
static void jobq_index_place(struct jobq_job **slots, size_t cap, struct jobq_job *job)
{
	struct jobq_index tmp = {.cap = cap};
	size_t i = jobq_index_slot(&tmp, job->run.id);
	while (slots[i])
		i = (i + 1) & (cap - 1);
	slots[i] = job;
}

int jobq_index_reserve(struct jobq_index *ix, size_t n)
{
	if (n <= ix->cap / 2)
		return 0;
	size_t cap = ix->cap ? ix->cap : 64;
	while (n > cap / 2) {
		if (cap > SIZE_MAX / 2 / sizeof(*ix->slots))
			return -ENOMEM;
		cap *= 2;
	}
	struct jobq_job **slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < ix->cap; i++)
		if (ix->slots[i])
			jobq_index_place(slots, cap, ix->slots[i]);
	free(ix->slots);
	ix->slots = slots;
	ix->cap = cap;
	return 0;
}

void jobq_index_put(struct jobq_index *ix, struct jobq_job *job)
{
	jobq_index_place(ix->slots, ix->cap, job);
	ix->len++;
}

struct jobq_job *jobq_index_get(struct jobq_index *ix, uint64_t id)
{
	ix->lookups++;
	if (!ix->cap)
		return NULL;
	for (size_t i = jobq_index_slot(ix, id);; i = (i + 1) & (ix->cap - 1)) {
		ix->probes++;
		if (!ix->slots[i])
			return NULL;
		if (ix->slots[i]->run.id == id)
			return ix->slots[i];
	}
}

void jobq_index_del(struct jobq_index *ix, const struct jobq_job *job)
{
	size_t mask = ix->cap - 1;
	size_t i = jobq_index_slot(ix, job->run.id);
	while (ix->slots[i] != job)
		i = (i + 1) & mask;
	/* Backward shift: move up each later entry of the run whose home is not in (i, j]. */
	for (size_t j = (i + 1) & mask; ix->slots[j]; j = (j + 1) & mask) {
		size_t home = jobq_index_slot(ix, ix->slots[j]->run.id);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			ix->slots[i] = ix->slots[j];
			i = j;
		}
	}
	ix->slots[i] = NULL;
	ix->len--;
}

void jobq_index_free(struct jobq_index *ix)
{
	free(ix->slots);
	*ix = (struct jobq_index){0};
}
