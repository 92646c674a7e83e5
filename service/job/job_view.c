/* job_view.c: what readers see of the job manager: live scans, counters, process totals. */
#include "service/job/job.h"

#include <errno.h>
#include <jansson.h>
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
 */

int jobq_live(struct jobq *jq, uint64_t id, struct jobq_live *out)
{
	int ret = 0;
	pthread_mutex_lock(&jq->lock);
	struct jobq_job *job = jobq_find_locked(jq, id);
	if (jobq_is_deleted_locked(jq, id)) {
		ret = -ENOENT;
	} else if (job) {
		out->state = job->state;
		out->started_ns = job->started_ns;
		out->finished_ns = job->finished_ns;
		if (job->sc)
			scanner_progress(job->sc, &out->progress);
		else
			out->progress = job->progress;
		snprintf(out->error, sizeof(out->error), "%s", job->error);
		ret = 1;
	}
	pthread_mutex_unlock(&jq->lock);
	return ret;
}

bool jobq_deleted(struct jobq *jq, uint64_t id)
{
	pthread_mutex_lock(&jq->lock);
	bool d = jobq_is_deleted_locked(jq, id);
	pthread_mutex_unlock(&jq->lock);
	return d;
}

int jobq_stats_json(struct jobq *jq, uint64_t id, char **json)
{
	int ret = 0;
	*json = NULL;
	pthread_mutex_lock(&jq->lock);
	struct jobq_job *job = jobq_find_locked(jq, id);
	if (jobq_is_deleted_locked(jq, id)) {
		ret = -ENOENT;
	} else if (!job) {
		ret = 0;
	} else if (job->state == SCAN_QUEUED) {
		ret = -EAGAIN;
	} else if (job->sc) {
		struct scanner_stats st;
		struct scanner_progress p;
		scanner_stats(job->sc, &st);
		scanner_progress(job->sc, &p);
		struct store_scan_totals t = jobq_totals(&p);
		*json = jobq_counters_json(&st, &t);
		ret = *json ? 1 : -ENOMEM;
	} else {
		*json = job->counters_json ? strdup(job->counters_json) : jobq_counters_json(NULL, NULL);
		ret = *json ? 1 : -ENOMEM;
	}
	pthread_mutex_unlock(&jq->lock);
	return ret;
}

void jobq_counts(struct jobq *jq, unsigned *running, unsigned *queued)
{
	pthread_mutex_lock(&jq->lock);
	*running = jq->running;
	*queued = (unsigned)jq->qlen;
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
	for (struct jobq_job *j = jq->active; j; j = j->anext) {
		if (!j->sc)
			continue;
		struct scanner_progress p;
		struct scanner_stats st;
		scanner_progress(j->sc, &p);
		scanner_stats(j->sc, &st);
		jobq_metrics_add(out, &p, &st);
	}
	out->running = jq->running;
	out->queued = (unsigned)jq->qlen;
	pthread_mutex_unlock(&jq->lock);
}

char *jobq_counters_json(const struct scanner_stats *st, const struct store_scan_totals *t)
{
	static const struct scanner_stats zero_st;
	static const struct store_scan_totals zero_t;
	if (!st)
		st = &zero_st;
	if (!t)
		t = &zero_t;
	struct scanner_progress p = {.dirs = t->dirs, .files = t->files, .symlinks = t->symlinks,
				     .other = t->other, .bytes = t->bytes, .errors = t->errors};
	json_t *o = scanjson_counters(st, &p);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}
