/* job_view.c: what readers see: the merged view of a scan, live scans, process totals. */
#include "service/job/job.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/job/job_impl.h"
#include "service/job/scanjson.h"

/*
 * Every function here takes the manager's lock for a short copy (see the design note of job.c):
 * a scanner is only used while the lock is held, and the runner detaches it under the lock.
 * Each looks one scan up in O(1) (the index), so callers that overlay every stored record stay
 * linear in the records; jobq_metrics() walks the running scans only.
 * Store reads are made without the lock, after the manager's view was taken: a scan the manager
 * no longer holds has its final record committed, so that order never shows a stale record.
 */

/* The merged fields of `out` from run `r`. r->lock held. -ENOMEM (counters). */
static int jobq_view_run_locked(const struct scanrun *r, unsigned flags, struct jobq_view *out)
{
	out->live = true;
	out->state = scanrun_state_shown_locked(r);
	out->started_ns = r->started_ns;
	out->finished_ns = r->finished_ns;
	scanrun_progress_locked(r, &out->progress);
	snprintf(out->live_error, sizeof(out->live_error), "%s", r->error);
	out->error = out->live_error[0] ? out->live_error : NULL;
	if (!(flags & JOBQ_VIEW_COUNTERS) || r->state == SCAN_QUEUED)
		return 0;
	if (r->sc) {
		struct scanner_stats st;
		if (scanner_stats(r->sc, &st) < 0)
			return -ENOMEM;
		struct store_scan_totals t = scanrun_totals(&out->progress);
		out->counters_json = scanrun_counters_json(&st, &t);
		scanner_stats_clear(&st);
	} else {
		/* Between start and attach, or a scanner that could not be created: zeros. */
		out->counters_json = r->counters_json ? strdup(r->counters_json)
						      : scanrun_counters_json(NULL, NULL);
	}
	return out->counters_json ? 0 : -ENOMEM;
}

/* The merged fields of `out` from its record alone. */
static int jobq_view_rec(unsigned flags, struct jobq_view *out)
{
	const struct store_scan *rec = &out->rec;
	out->live = false;
	out->state = rec->state;
	out->started_ns = rec->started_ns;
	out->finished_ns = rec->finished_ns;
	out->progress = (struct scanner_progress){
		.dirs = rec->totals.dirs, .files = rec->totals.files, .symlinks = rec->totals.symlinks,
		.other = rec->totals.other, .bytes = rec->totals.bytes, .errors = rec->totals.errors};
	out->error = rec->error;
	if (!(flags & JOBQ_VIEW_COUNTERS))
		return 0;
	/*
	 * A scan cut short by a crash has no counters: zeros with its totals. Stored counters are
	 * rewritten as this version writes them (records of older versions have 17-digit reals).
	 */
	out->counters_json = rec->counters_json ? scanjson_normalize(rec->counters_json)
						: scanrun_counters_json(NULL, &rec->totals);
	return out->counters_json ? 0 : -ENOMEM;
}

/* Overlays the manager's view of scan `id` when it holds it: 1, 0 (not held), -ENOENT, -ENOMEM. */
static int jobq_view_live(struct jobq *jq, uint64_t id, unsigned flags, struct jobq_view *out)
{
	int ret = 0;
	pthread_mutex_lock(&jq->lock);
	struct jobq_job *job = jobq_find_locked(jq, id);
	if (job && job->deleted)
		ret = -ENOENT;
	else if (job)
		ret = jobq_view_run_locked(&job->run, flags, out) < 0 ? -ENOMEM : 1;
	pthread_mutex_unlock(&jq->lock);
	return ret;
}

int jobq_view_get(struct jobq *jq, uint64_t id, unsigned flags, struct jobq_view *out,
		  struct errbuf *err)
{
	memset(out, 0, sizeof(*out));
	int lv = jobq_view_live(jq, id, flags, out);
	if (lv == -ENOENT)
		return errbuf_set(err, -ENOENT, "scan %llu does not exist", (unsigned long long)id);
	if (lv < 0)
		return errbuf_errno(err, -lv, "reading scan %llu", (unsigned long long)id);
	out->owns_rec = true;
	int rc = store_scan_get(jq->store, id, &out->rec, err);
	if (rc == -ENOENT)
		return errbuf_set(err, -ENOENT, "scan %llu does not exist", (unsigned long long)id);
	if (rc < 0)
		return rc;
	if (lv == 0 && (rc = jobq_view_rec(flags, out)) < 0)
		return errbuf_errno(err, -rc, "reading scan %llu", (unsigned long long)id);
	return 0;
}

int jobq_view_overlay(struct jobq *jq, const struct store_scan *rec, unsigned flags,
		      struct jobq_view *out)
{
	memset(out, 0, sizeof(*out));
	out->rec = *rec;
	int lv = jobq_view_live(jq, rec->id, flags, out);
	if (lv < 0)
		return lv;
	return lv ? 0 : jobq_view_rec(flags, out);
}

int jobq_view_of_run(struct scanrun *r, unsigned flags, struct jobq_view *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(r->lock);
	out->rec = (struct store_scan){
		.id = r->id, .state = scanrun_state_shown_locked(r), .root = (char *)r->opts.root,
		.root_len = strlen(r->opts.root), .options_json = r->options_json,
		.created_ns = r->created_ns};
	int rc = jobq_view_run_locked(r, flags, out);
	pthread_mutex_unlock(r->lock);
	return rc;
}

int jobq_view_of_record(const struct store_scan *rec, unsigned flags, struct jobq_view *out)
{
	memset(out, 0, sizeof(*out));
	out->rec = *rec;
	return jobq_view_rec(flags, out);
}

void jobq_view_clear(struct jobq_view *v)
{
	if (!v)
		return;
	if (v->owns_rec)
		store_scan_clear(&v->rec);
	free(v->counters_json);
	memset(v, 0, sizeof(*v));
}

int jobq_live(struct jobq *jq, uint64_t id, struct jobq_live *out)
{
	int ret = 0;
	pthread_mutex_lock(&jq->lock);
	struct jobq_job *job = jobq_find_locked(jq, id);
	if (job && job->deleted) {
		ret = -ENOENT;
	} else if (job) {
		const struct scanrun *r = &job->run;
		out->state = scanrun_state_shown_locked(r);
		out->started_ns = r->started_ns;
		out->finished_ns = r->finished_ns;
		scanrun_progress_locked(r, &out->progress);
		snprintf(out->error, sizeof(out->error), "%s", r->error);
		ret = 1;
	}
	pthread_mutex_unlock(&jq->lock);
	return ret;
}

bool jobq_deleted(struct jobq *jq, uint64_t id)
{
	pthread_mutex_lock(&jq->lock);
	struct jobq_job *job = jobq_find_locked(jq, id);
	bool d = job && job->deleted;
	pthread_mutex_unlock(&jq->lock);
	return d;
}

void jobq_counts(struct jobq *jq, unsigned *running, unsigned *queued)
{
	pthread_mutex_lock(&jq->lock);
	*running = (unsigned)jq->runs.len;
	*queued = (unsigned)jq->queue.len;
	pthread_mutex_unlock(&jq->lock);
}

void jobq_metrics_add(struct jobq_metrics *m, const struct scanner_progress *p,
		      const struct scanner_stats *st)
{
	m->entries += p->dirs + p->files + p->symlinks + p->other;
	m->dirs += p->dirs;
	m->bytes += p->bytes;
	m->slow_scandirs += st->slow_scandirs;
	for (unsigned b = 0; b < SCANNER_LATENCY_BUCKETS; b++)
		m->scandir_latency[b] += st->scandir_latency[b];
	/* Whole nanoseconds: an integer sum stays monotonic whatever order scans are added in. */
	m->scandir_latency_ns += (uint64_t)llround(st->scandir_latency_sum * 1e9);
}

void jobq_metrics(struct jobq *jq, struct jobq_metrics *out)
{
	pthread_mutex_lock(&jq->lock);
	*out = jq->done;
	/* Only running scans have a scanner attached: the queued ones are not walked. */
	for (struct jobq_job *j = jq->runs.head; j; j = j->next) {
		jq->visits++;
		if (!j->run.sc)
			continue;
		struct scanner_progress p;
		struct scanner_stats st;
		scanner_progress(j->run.sc, &p);
		/* Out of memory: the latency figures of this one scan are left out of this answer. */
		scanner_stats(j->run.sc, &st);
		jobq_metrics_add(out, &p, &st);
		scanner_stats_clear(&st);
	}
	out->running = (unsigned)jq->runs.len;
	out->queued = (unsigned)jq->queue.len;
	pthread_mutex_unlock(&jq->lock);
}

int jobq_samples(struct jobq *jq, uint64_t id, struct store_sample **v, size_t *n,
		 struct errbuf *err)
{
	*v = NULL;
	*n = 0;
	pthread_mutex_lock(&jq->lock);
	struct jobq_job *job = jobq_find_locked(jq, id);
	if (job && job->deleted) {
		pthread_mutex_unlock(&jq->lock);
		return errbuf_set(err, -ENOENT, "scan %llu does not exist", (unsigned long long)id);
	}
	if (job) {
		size_t cnt = job->samples.n;
		struct store_sample *copy = cnt ? malloc(cnt * sizeof(*copy)) : NULL;
		if (copy)
			memcpy(copy, job->samples.v, cnt * sizeof(*copy));
		pthread_mutex_unlock(&jq->lock);
		if (cnt && !copy)
			return errbuf_errno(err, ENOMEM, "reading the progress of scan %llu",
					    (unsigned long long)id);
		*v = copy;
		*n = cnt;
		return 0;
	}
	pthread_mutex_unlock(&jq->lock);
	/* Let go of: its samples were written before (jobq_samples_save()). */
	int rc = store_scan_samples_get(jq->store, id, v, n, err);
	if (rc == -ENOENT)
		return errbuf_set(err, -ENOENT, "scan %llu does not exist", (unsigned long long)id);
	return rc;
}
