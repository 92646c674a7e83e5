/* job_keep.c: --keep-scans, the oldest completed scans of a root deleted beyond N. */
#include "service/job/job_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "service/job/scan_run.h"

/* The completed scans of one root, newest first, with the baseline each was taken against. */
struct jobq_keep {
	const char *root;
	struct jobq_keep_scan {
		uint64_t id, baseline;
	} *scans;
	size_t n, cap;
	bool nomem;
};

static int jobq_keep_cb(void *ctx, const struct store_scan *scan)
{
	struct jobq_keep *k = ctx;
	if (!scan->root || strcmp(scan->root, k->root) != 0)
		return 0;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 16;
		void *p = realloc(k->scans, cap * sizeof(*k->scans));
		if (!p) {
			k->nomem = true;
			return 1;
		}
		k->scans = p;
		k->cap = cap;
	}
	uint64_t baseline = 0;
	scanrun_options_baseline(scan->options_json, &baseline);
	k->scans[k->n++] = (struct jobq_keep_scan){scan->id, baseline};
	return 0;
}

/* Whether `id` is the baseline of a queued or running job. Under the lock. */
static bool jobq_keep_in_use_locked(struct jobq *jq, uint64_t id)
{
	const struct jobq_list *lists[] = {&jq->queue, &jq->runs};
	for (size_t i = 0; i < 2; i++)
		for (const struct jobq_job *j = lists[i]->head; j; j = j->next)
			if (j->run.opts.baseline > 0 && (uint64_t)j->run.opts.baseline == id)
				return true;
	return false;
}

/*
 * After a scan of `root` completed: deletes its oldest completed scans beyond jq->keep_scans
 * through jobq_delete() (tombstone now, rows purged by the deleter thread), sparing the
 * baselines of the kept scans and of queued or running ones. Without the lock. Failures are
 * logged: the scans stay, and the next completion tries again.
 */
void jobq_keep_scans(struct jobq *jq, const char *root)
{
	struct jobq_keep k = {.root = root};
	struct errbuf err;
	errbuf_clear(&err);
	if (store_scan_list(jq->store, 0, 1u << SCAN_COMPLETED, jobq_keep_cb, &k, &err) < 0 ||
	    k.nomem) {
		LOG_EV(LOG_ERROR, "--keep-scans: listing the scans of a root failed; none deleted",
		       LOG_STR("root", root), LOG_STR("error", k.nomem ? "out of memory" : err.msg));
		free(k.scans);
		return;
	}
	for (size_t i = k.n; i-- > jq->keep_scans;) {
		uint64_t id = k.scans[i].id;
		bool spared = false;
		for (size_t j = 0; j < jq->keep_scans && j < k.n && !spared; j++)
			spared = k.scans[j].baseline == id;
		pthread_mutex_lock(&jq->lock);
		spared = spared || jobq_keep_in_use_locked(jq, id);
		pthread_mutex_unlock(&jq->lock);
		if (spared)
			continue;
		errbuf_clear(&err);
		if (jobq_delete(jq, id, &err) == 0)
			LOG_EV(LOG_INFO, "--keep-scans: deleted an old scan", LOG_U64("scan_id", id),
			       LOG_STR("root", root));
		else if (err.code != -ENOENT)
			LOG_EV(LOG_ERROR, "--keep-scans: deleting an old scan failed",
			       LOG_U64("scan_id", id), LOG_STR("error", err.msg));
	}
	free(k.scans);
}
