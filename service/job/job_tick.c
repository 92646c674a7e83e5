/* job_tick.c: what the manager publishes about scans, and the ticker sampling running ones. */
#include "service/job/job.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "service/job/job_impl.h"
#include "service/job/scanjson.h"

/*
 * Design. Every event's data is one JSON object with at least "scan_id" and "state". Events are
 * built and published under jq->lock (the bus's lock is a leaf), in the step that makes them
 * true, so those of one scan are in order: no progress after finished, no finished after
 * deleted. The documents are small; building one costs a few allocations.
 *
 * The ticker ("jobq-tick") wakes every JOBQ_TICK_NS on CLOCK_MONOTONIC and, under the lock, for
 * each running scan with its scanner attached: adds a progress sample (scan_samples.h) and
 * publishes a progress event (the counts of GET /scans/{id}'s progress, elapsed_seconds, and
 * percent and eta_seconds when the previous completed scan of the same root gives an estimate).
 * slow_dir events come from the scan's workers as each slow directory is read
 * (jobq_on_slow_dir()).
 */

/* The progress fields of `p` into `o`. */
static int jobq_doc_counts(json_t *o, const struct scanner_progress *p)
{
	json_t *n[] = {json_integer((json_int_t)(p->dirs + p->files + p->symlinks + p->other)),
		       json_integer((json_int_t)p->dirs),     json_integer((json_int_t)p->files),
		       json_integer((json_int_t)p->symlinks), json_integer((json_int_t)p->other),
		       json_integer((json_int_t)p->bytes),    json_integer((json_int_t)p->errors),
		       json_integer((json_int_t)p->queued_dirs)};
	static const char *const keys[] = {"entries", "dirs", "files", "symlinks", "other",
					   "bytes", "errors", "queued_dirs"};
	int rc = 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_set_new(o, keys[i], n[i]) < 0) /* takes n[i], NULL included */
			rc = -1;
	return rc;
}

/* Publishes `o` (taken) as a `kind` event of scan `id`. */
static void jobq_publish_doc(struct jobq *jq, enum jobev_kind kind, uint64_t id, json_t *o, int rc)
{
	char *text = o && rc == 0 ? scanjson_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text || !jobev_publish(jq->events, kind, id, text, strlen(text)))
		LOG_EV(LOG_WARN, "an event could not be published (out of memory)",
		       LOG_U64("scan_id", id), LOG_STR("event", jobev_kind_name(kind)));
	free(text);
}

/* The document's start: scan_id and state. */
static json_t *jobq_doc(uint64_t id, const char *state)
{
	return json_pack("{sI ss}", "scan_id", (json_int_t)id, "state", state);
}

/*
 * The document of a scan's state: scan_id, state, its counts, elapsed_seconds and error (the
 * `finished` event, and the `state` an event stream opens with). NULL when out of memory.
 */
static json_t *jobq_state_json(uint64_t id, enum scan_state state,
			       const struct scanner_progress *prog, int64_t started_ns,
			       int64_t finished_ns, const char *error)
{
	struct scanner_progress p = *prog;
	if (scan_state_finished(state))
		p.queued_dirs = 0;
	json_t *o = jobq_doc(id, scan_state_name(state));
	int rc = o ? jobq_doc_counts(o, &p) : -1;
	int64_t end = finished_ns ? finished_ns : clock_wall_ns();
	double secs = started_ns && end >= started_ns ? (double)(end - started_ns) / 1e9 : 0.0;
	if (rc == 0)
		rc = json_object_set_new(o, "elapsed_seconds", json_real(secs));
	if (rc == 0)
		rc = json_object_set_new(o, "error", error && error[0] ? json_string(error) : json_null());
	if (rc < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *jobq_view_doc(const struct jobq_view *v)
{
	json_t *o = jobq_state_json(v->rec.id, v->state, &v->progress, v->started_ns,
				    v->finished_ns, v->error);
	char *text = o ? scanjson_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

void jobq_event_locked(struct jobq *jq, struct jobq_job *job, enum jobev_kind kind)
{
	if (!jq->events)
		return;
	const struct scanrun *r = &job->run;
	json_t *o;
	int rc = 0;
	if (kind == JOBEV_FINISHED) {
		struct scanner_progress p;
		scanrun_progress_locked(r, &p);
		o = jobq_state_json(r->id, r->state, &p, r->started_ns, r->finished_ns, r->error);
	} else {
		o = jobq_doc(r->id, scan_state_name(r->state));
	}
	if (!o)
		rc = -1;
	if (rc == 0 && kind == JOBEV_CREATED)
		rc = scanjson_set_path(o, "root", r->opts.root, strlen(r->opts.root));
	jobq_publish_doc(jq, kind, r->id, o, rc);
}

void jobq_event_deleted_locked(struct jobq *jq, uint64_t id)
{
	if (!jq->events)
		return;
	json_t *o = jobq_doc(id, "deleted");
	jobq_publish_doc(jq, JOBEV_DELETED, id, o, o ? 0 : -1);
}

/* percent and eta_seconds from the estimate, or null without one. */
static int jobq_doc_estimate(json_t *o, const struct jobq_job *job, uint64_t entries,
			     double elapsed)
{
	json_t *pct = json_null(), *eta = json_null();
	if (job->est_ok && job->est_entries > 0) {
		double f = (double)entries / (double)job->est_entries;
		/* Running means not done: a tree that grew is near its end, not past it. */
		if (f > 0.99)
			f = 0.99;
		json_decref(pct);
		pct = json_real(100.0 * f);
		double left = entries > 0 && elapsed > 0
				      ? elapsed * (double)(job->est_entries > entries
							       ? job->est_entries - entries : 0) / (double)entries
				      : job->est_seconds - elapsed;
		json_decref(eta);
		eta = json_real(left > 0 ? left : 0.0);
	}
	int rc = json_object_set_new(o, "percent", pct);
	return json_object_set_new(o, "eta_seconds", eta) < 0 || rc < 0 ? -1 : 0;
}

void jobq_on_slow_dir(void *ctx, uint64_t scan_id, const char *path, size_t path_len,
		      uint64_t entries, double seconds)
{
	struct jobq *jq = ctx;
	if (!jq->events)
		return;
	json_t *o = jobq_doc(scan_id, "running");
	int rc = o ? scanjson_set_path(o, "path", path, path_len) : -1;
	if (rc == 0)
		rc = json_object_set_new(o, "entries", json_integer((json_int_t)entries));
	if (rc == 0)
		rc = json_object_set_new(o, "seconds", json_real(seconds));
	jobq_publish_doc(jq, JOBEV_SLOW_DIR, scan_id, o, rc);
}

/* One tick of a running scan: a sample and a progress event. */
static void jobq_tick_job_locked(struct jobq *jq, struct jobq_job *job, int64_t now_wall)
{
	struct scanner_progress p;
	scanner_progress(job->run.sc, &p);
	int64_t ns = now_wall > job->run.started_ns ? now_wall - job->run.started_ns : 0;
	uint64_t entries = p.dirs + p.files + p.symlinks + p.other;
	struct store_sample x = {.t_ms = (uint64_t)ns / 1000000, .entries = entries, .dirs = p.dirs,
				 .files = p.files, .bytes = p.bytes, .errors = p.errors};
	scansamples_add(&job->samples, &x); /* out of memory: this sample is missing */
	if (!jq->events)
		return;
	double elapsed = (double)ns / 1e9;
	json_t *o = jobq_doc(job->run.id, "running");
	int rc = o ? jobq_doc_counts(o, &p) : -1;
	if (rc == 0)
		rc = json_object_set_new(o, "elapsed_seconds", json_real(elapsed));
	if (rc == 0)
		rc = jobq_doc_estimate(o, job, entries, elapsed);
	jobq_publish_doc(jq, JOBEV_PROGRESS, job->run.id, o, rc);
}

void *jobq_tick_main(void *arg)
{
	struct jobq *jq = arg;
	int64_t next = clock_mono_ns() + JOBQ_TICK_NS;
	pthread_mutex_lock(&jq->lock);
	while (!jq->stopping) {
		struct timespec ts = {.tv_sec = next / 1000000000, .tv_nsec = next % 1000000000};
		if (pthread_cond_timedwait(&jq->tick_cond, &jq->lock, &ts) != ETIMEDOUT &&
		    clock_mono_ns() < next)
			continue; /* woken early (shutdown, or spuriously) */
		if (jq->stopping)
			break;
		int64_t now = clock_wall_ns();
		for (struct jobq_job *j = jq->runs.head; j; j = j->next)
			if (!j->deleted && j->run.sc && j->run.state == SCAN_RUNNING)
				jobq_tick_job_locked(jq, j, now);
		/* A late wake (a loaded machine) does not make ticks pile up. */
		int64_t m = clock_mono_ns();
		next += JOBQ_TICK_NS;
		if (next <= m)
			next = m + JOBQ_TICK_NS;
	}
	pthread_mutex_unlock(&jq->lock);
	return NULL;
}

void jobq_sample_start_locked(struct jobq_job *job)
{
	struct store_sample zero = {0};
	scansamples_add(&job->samples, &zero);
}

/* store_scan_list() callback: the newest completed scan of the root, older than the job. */
struct jobq_est_find {
	const struct scanrun *r;
	bool found;
	uint64_t entries;
	double seconds;
};

static int jobq_est_cb(void *arg, const struct store_scan *scan)
{
	struct jobq_est_find *f = arg;
	if (scan->id >= f->r->id || scan->root_len != strlen(f->r->opts.root) ||
	    memcmp(scan->root, f->r->opts.root, scan->root_len) != 0)
		return 0;
	const struct store_scan_totals *t = &scan->totals;
	f->entries = t->dirs + t->files + t->symlinks + t->other;
	f->seconds = scan->finished_ns > scan->started_ns
			     ? (double)(scan->finished_ns - scan->started_ns) / 1e9 : 0.0;
	f->found = true;
	return 1;
}

void jobq_estimate(struct jobq *jq, struct jobq_job *job)
{
	struct jobq_est_find f = {.r = &job->run};
	struct errbuf err;
	errbuf_clear(&err);
	if (store_scan_list(jq->store, job->run.id, 1u << SCAN_COMPLETED, jobq_est_cb, &f, &err) < 0)
		LOG_EV(LOG_WARN, "looking up the previous scan of the same root failed; progress "
		       "events have no estimate", LOG_U64("scan_id", job->run.id),
		       LOG_STR("error", err.msg));
	if (!f.found)
		return;
	pthread_mutex_lock(&jq->lock);
	job->est_ok = true;
	job->est_entries = f.entries;
	job->est_seconds = f.seconds;
	pthread_mutex_unlock(&jq->lock);
}

void jobq_samples_save(struct jobq *jq, struct jobq_job *job)
{
	pthread_mutex_lock(&jq->lock);
	const struct scanrun *r = &job->run;
	const struct scanner_progress *p = &r->progress;
	int64_t ns = r->finished_ns > r->started_ns ? r->finished_ns - r->started_ns : 0;
	struct store_sample fin = {.t_ms = (uint64_t)ns / 1000000,
				   .entries = p->dirs + p->files + p->symlinks + p->other,
				   .dirs = p->dirs, .files = p->files, .bytes = p->bytes,
				   .errors = p->errors};
	scansamples_final(&job->samples, &fin);
	size_t n = job->samples.n;
	struct store_sample *copy = n ? malloc(n * sizeof(*copy)) : NULL;
	if (copy)
		memcpy(copy, job->samples.v, n * sizeof(*copy));
	pthread_mutex_unlock(&jq->lock);
	struct errbuf err;
	errbuf_clear(&err);
	int rc = n && !copy ? errbuf_errno(&err, ENOMEM, "copying the progress samples")
			    : store_scan_samples_put(jq->store, r->id, copy, n, &err);
	if (rc < 0 && rc != -ENOENT)
		LOG_EV(LOG_WARN, "keeping the progress samples of a scan failed; its chart is lost",
		       LOG_U64("scan_id", r->id), LOG_STR("error", err.msg));
	free(copy);
}
