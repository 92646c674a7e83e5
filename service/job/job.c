/* job.c: the job manager's life cycle: queue, runners, cancel, delete, shutdown (reads: job_view.c). */
#include "service/job/job.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/job/job_impl.h"
#include "base/log.h"

/*
 * Design.
 *
 * The manager holds every scan that is not finished yet (and the few being recorded as finished)
 * in an "active" list; finished scans live only in the store. A scan waits in a FIFO queue until
 * one of max_running runner threads ("jobq-N") takes it: lock, take the head, unlock, run the
 * scan (scanner_run() starts and joins the scan's own worker pool), relock, retire. The memory
 * view wins while a scan is active, so readers never see the store lag behind a transition: a
 * scan leaves the active list only after its final record is committed.
 *
 * Stopping a scan sets job->stop once (cancel by a user, or interrupt at shutdown: the first one
 * wins) and calls scanner_cancel(). job->sc is set and cleared under the lock, and the runner
 * destroys the scanner only after clearing it, so any thread holding the lock may use it.
 *
 * Deletion hides the id at once (the "deleted" set, consulted by every read) and hands the store
 * removal, which is bulk work, to one deleter thread ("jobq-delete"); a running scan is first
 * cancelled and queued for removal by its runner once its record is final. The id leaves the
 * deleted set when the store no longer has it.
 *
 * Submissions reserve their queue slot under the lock before the store write that gives them an
 * id, so concurrent POSTs never overshoot max_queued, and shutdown waits for reservations before
 * it drains the queue.
 *
 * Process totals for /metrics (jobq_metrics()) are kept apart from the store, so deleting a scan
 * never takes its figures back: a runner folds what its scan found into jq->done in the same
 * critical section that detaches the scanner, and readers add the live progress of the scanners
 * still attached. Every scanner_stats() call is made under the lock, since it fills buffers of
 * the scanner that a second caller would overwrite.
 */

static int64_t jobq_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void jobq_job_free(struct jobq_job *job)
{
	if (!job)
		return;
	free(job->root);
	for (size_t i = 0; i < job->ignore_count; i++)
		free(job->ignore[i]);
	free(job->ignore);
	free(job->options_json);
	free(job->counters_json);
	free(job);
}

static int jobq_push_id(uint64_t **arr, size_t *len, size_t *cap, uint64_t id)
{
	if (*len == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		uint64_t *n = realloc(*arr, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		*arr = n;
		*cap = ncap;
	}
	(*arr)[(*len)++] = id;
	return 0;
}

bool jobq_is_deleted_locked(const struct jobq *jq, uint64_t id)
{
	for (size_t i = 0; i < jq->deleted_len; i++)
		if (jq->deleted[i] == id)
			return true;
	return false;
}

static void jobq_undelete_locked(struct jobq *jq, uint64_t id)
{
	for (size_t i = 0; i < jq->deleted_len; i++) {
		if (jq->deleted[i] == id) {
			jq->deleted[i] = jq->deleted[--jq->deleted_len];
			return;
		}
	}
}

struct jobq_job *jobq_find_locked(struct jobq *jq, uint64_t id)
{
	for (struct jobq_job *j = jq->active; j; j = j->anext)
		if (j->id == id)
			return j;
	return NULL;
}

static void jobq_unlink_active_locked(struct jobq *jq, struct jobq_job *job)
{
	for (struct jobq_job **p = &jq->active; *p; p = &(*p)->anext) {
		if (*p == job) {
			*p = job->anext;
			return;
		}
	}
}

static void jobq_unlink_queue_locked(struct jobq *jq, struct jobq_job *job)
{
	struct jobq_job *prev = NULL;
	for (struct jobq_job *j = jq->qhead; j; prev = j, j = j->qnext) {
		if (j != job)
			continue;
		if (prev)
			prev->qnext = j->qnext;
		else
			jq->qhead = j->qnext;
		if (jq->qtail == j)
			jq->qtail = prev;
		jq->qlen--;
		j->qnext = NULL;
		return;
	}
}

/* Queues a store removal of `id` (already in the deleted set). Under the lock. */
static void jobq_queue_delete_locked(struct jobq *jq, uint64_t id)
{
	if (jobq_push_id(&jq->delq, &jq->delq_len, &jq->delq_cap, id) < 0) {
		/* The id stays hidden for this process's life; a restart shows it again. */
		LOG_EV(LOG_ERROR, "queueing a scan deletion: out of memory", LOG_U64("scan_id", id));
		return;
	}
	pthread_cond_signal(&jq->del_cond);
}

struct store_scan_totals jobq_totals(const struct scanner_progress *p)
{
	return (struct store_scan_totals){.dirs = p->dirs, .files = p->files,
					  .symlinks = p->symlinks, .other = p->other,
					  .bytes = p->bytes, .errors = p->errors};
}

/* The record of a job, borrowing its strings. The caller holds the lock or owns the job. */
static void jobq_record(const struct jobq_job *job, struct store_scan *rec)
{
	*rec = (struct store_scan){
		.id = job->id, .state = job->state, .root = job->root, .root_len = strlen(job->root),
		.options_json = job->options_json, .counters_json = job->counters_json,
		.error = job->error[0] ? (char *)job->error : NULL, .created_ns = job->created_ns,
		.started_ns = job->started_ns, .finished_ns = job->finished_ns,
		.totals = jobq_totals(&job->progress)};
}

/* Writes the store record of `job` as it stands (a snapshot taken under the lock). */
static int jobq_write_record(struct jobq *jq, struct jobq_job *job, struct errbuf *err)
{
	errbuf_clear(err);
	struct store_scan rec;
	pthread_mutex_lock(&jq->lock);
	jobq_record(job, &rec);
	pthread_mutex_unlock(&jq->lock);
	return store_scan_update(jq->store, &rec, err);
}

/*
 * Writes the final record of `job` (already in a finished state, owned by the caller while it
 * stays in the active list), then retires it. Called without the lock.
 */
static void jobq_finish(struct jobq *jq, struct jobq_job *job)
{
	struct errbuf err;
	int rc = jobq_write_record(jq, job, &err);

	uint64_t id = job->id;
	pthread_mutex_lock(&jq->lock);
	if (rc < 0) {
		LOG_EV(LOG_ERROR, "recording the end of a scan failed", LOG_U64("scan_id", id),
		       LOG_STR("state", scan_state_name(job->state)), LOG_STR("error", err.msg));
		job->unrecorded = true;
		if (job->deleted) {
			jobq_unlink_active_locked(jq, job);
			jobq_queue_delete_locked(jq, id);
			jobq_job_free(job);
		}
	} else {
		jobq_unlink_active_locked(jq, job);
		if (job->deleted)
			jobq_queue_delete_locked(jq, id);
		jobq_job_free(job);
	}
	pthread_mutex_unlock(&jq->lock);
	if (jq->on_finish)
		jq->on_finish(jq->on_finish_ctx, id);
}

static void jobq_run(struct jobq *jq, struct jobq_job *job)
{
	struct errbuf err;
	if (jobq_write_record(jq, job, &err) < 0)
		LOG_EV(LOG_WARN, "recording the start of a scan failed", LOG_U64("scan_id", job->id),
		       LOG_STR("error", err.msg));
	LOG_EV(LOG_INFO, "scan started", LOG_U64("scan_id", job->id),
	       LOG_BYTES("root", job->root, strlen(job->root)));

	errbuf_clear(&err);
	struct scanner *sc = NULL;
	if (scanner_create(&sc, &job->sopts, jq->store, &err) < 0) {
		pthread_mutex_lock(&jq->lock);
		job->state = SCAN_FAILED;
		snprintf(job->error, sizeof(job->error), "%s", err.msg[0] ? err.msg : "scanner_create failed");
		job->counters_json = jobq_counters_json(NULL, NULL);
		job->finished_ns = jobq_now_ns();
		pthread_mutex_unlock(&jq->lock);
		jobq_finish(jq, job);
		return;
	}
	pthread_mutex_lock(&jq->lock);
	job->sc = sc;
	bool stop = job->stop != JOBQ_RUN;
	pthread_mutex_unlock(&jq->lock);
	if (stop)
		scanner_cancel(sc);

	enum scanner_outcome outcome = scanner_run(sc, &err);
	struct scanner_progress prog;
	struct scanner_stats st;
	/*
	 * One step under the lock: readers call scanner_stats() under it too (it fills buffers of
	 * the scanner), and the live view, the counters and the process totals pass from the
	 * scanner to the job at once, so no reader sees them missing or counted twice.
	 */
	pthread_mutex_lock(&jq->lock);
	scanner_progress(sc, &prog);
	prog.queued_dirs = 0;
	scanner_stats(sc, &st);
	struct store_scan_totals totals = jobq_totals(&prog);
	job->counters_json = jobq_counters_json(&st, &totals);
	jobq_metrics_add(&jq->done, &prog, &st);
	job->sc = NULL;
	job->progress = prog;
	if (outcome == SCANNER_DONE)
		job->state = SCAN_COMPLETED;
	else if (outcome == SCANNER_FAILED)
		job->state = SCAN_FAILED;
	else
		job->state = job->stop == JOBQ_INTERRUPT ? SCAN_INTERRUPTED : SCAN_CANCELLED;
	if (outcome == SCANNER_FAILED)
		snprintf(job->error, sizeof(job->error), "%s", err.msg[0] ? err.msg : "the scan failed");
	job->finished_ns = jobq_now_ns();
	pthread_mutex_unlock(&jq->lock);
	scanner_destroy(sc);
	/* The scanner logged "scan finished" with its counts; say only what it cannot know. */
	if (job->state == SCAN_INTERRUPTED)
		LOG_EV(LOG_INFO, "scan interrupted by shutdown", LOG_U64("scan_id", job->id));
	jobq_finish(jq, job);
}

static void *jobq_runner_main(void *arg)
{
	struct jobq *jq = arg;
	pthread_mutex_lock(&jq->lock);
	for (;;) {
		while (!jq->stopping && !jq->qhead)
			pthread_cond_wait(&jq->work_cond, &jq->lock);
		if (jq->stopping)
			break;
		struct jobq_job *job = jq->qhead;
		jobq_unlink_queue_locked(jq, job);
		job->state = SCAN_RUNNING;
		job->started_ns = jobq_now_ns();
		jq->running++;
		pthread_mutex_unlock(&jq->lock);

		jobq_run(jq, job);

		pthread_mutex_lock(&jq->lock);
		jq->running--;
	}
	pthread_mutex_unlock(&jq->lock);
	return NULL;
}

static void *jobq_deleter_main(void *arg)
{
	struct jobq *jq = arg;
	pthread_mutex_lock(&jq->lock);
	for (;;) {
		while (!jq->del_stopping && jq->delq_len == 0)
			pthread_cond_wait(&jq->del_cond, &jq->lock);
		if (jq->delq_len == 0)
			break;
		uint64_t id = jq->delq[0];
		memmove(jq->delq, jq->delq + 1, (jq->delq_len - 1) * sizeof(*jq->delq));
		jq->delq_len--;
		pthread_mutex_unlock(&jq->lock);

		struct errbuf err;
		errbuf_clear(&err);
		int rc = store_scan_delete(jq->store, id, &err);
		if (rc < 0 && rc != -ENOENT)
			LOG_EV(LOG_ERROR, "deleting a scan failed", LOG_U64("scan_id", id),
			       LOG_STR("error", err.msg));
		else
			LOG_EV(LOG_INFO, "scan deleted", LOG_U64("scan_id", id));

		pthread_mutex_lock(&jq->lock);
		/* On failure the id stays hidden: its records are half gone. */
		if (rc == 0 || rc == -ENOENT)
			jobq_undelete_locked(jq, id);
	}
	pthread_mutex_unlock(&jq->lock);
	return NULL;
}

int jobq_create(struct jobq **out, const struct jobq_opts *opts, struct errbuf *err)
{
	*out = NULL;
	struct jobq *jq = calloc(1, sizeof(*jq));
	if (!jq)
		return errbuf_errno(err, ENOMEM, "creating the job manager");
	jq->store = opts->store;
	jq->max_running = opts->max_running ? opts->max_running : JOBQ_MAX_RUNNING_DEFAULT;
	jq->max_queued = opts->max_queued;
	jq->on_finish = opts->on_finish;
	jq->on_finish_ctx = opts->on_finish_ctx;
	int rc;
	if ((rc = pthread_mutex_init(&jq->lock, NULL)) != 0)
		goto fail_rc;
	jq->lock_ok = true;
	if ((rc = pthread_cond_init(&jq->work_cond, NULL)) != 0)
		goto fail_rc;
	jq->work_ok = true;
	if ((rc = pthread_cond_init(&jq->idle_cond, NULL)) != 0)
		goto fail_rc;
	jq->idle_ok = true;
	if ((rc = pthread_cond_init(&jq->del_cond, NULL)) != 0)
		goto fail_rc;
	jq->del_ok = true;

	jq->runners = calloc(jq->max_running, sizeof(*jq->runners));
	if (!jq->runners) {
		rc = ENOMEM;
		goto fail_rc;
	}
	for (unsigned i = 0; i < jq->max_running; i++) {
		if ((rc = pthread_create(&jq->runners[i], NULL, jobq_runner_main, jq)) != 0)
			goto fail_rc;
		jq->runner_count++;
		char name[16];
		snprintf(name, sizeof(name), "jobq-%u", i);
		pthread_setname_np(jq->runners[i], name);
	}
	if ((rc = pthread_create(&jq->deleter, NULL, jobq_deleter_main, jq)) != 0)
		goto fail_rc;
	jq->deleter_started = true;
	pthread_setname_np(jq->deleter, "jobq-delete");
	*out = jq;
	return 0;

fail_rc:
	errbuf_errno(err, rc, "creating the job manager (%u runner threads)", jq->max_running);
	jobq_destroy(jq);
	return -rc;
}

void jobq_shutdown(struct jobq *jq)
{
	pthread_mutex_lock(&jq->lock);
	if (jq->shut_done) {
		pthread_mutex_unlock(&jq->lock);
		return;
	}
	jq->shut_done = true;
	jq->stopping = true;
	while (jq->reserved > 0)
		pthread_cond_wait(&jq->idle_cond, &jq->lock);
	struct jobq_job *queued = jq->qhead;
	jq->qhead = jq->qtail = NULL;
	jq->qlen = 0;
	int64_t now = jobq_now_ns();
	for (struct jobq_job *j = queued; j; j = j->qnext) {
		j->state = SCAN_INTERRUPTED;
		j->stop = JOBQ_INTERRUPT;
		j->finished_ns = now;
		j->counters_json = jobq_counters_json(NULL, NULL);
	}
	for (struct jobq_job *j = jq->active; j; j = j->anext) {
		if (j->state != SCAN_RUNNING)
			continue;
		if (j->stop == JOBQ_RUN)
			j->stop = JOBQ_INTERRUPT;
		if (j->sc)
			scanner_cancel(j->sc);
	}
	pthread_cond_broadcast(&jq->work_cond);
	pthread_mutex_unlock(&jq->lock);

	while (queued) {
		struct jobq_job *next = queued->qnext;
		queued->qnext = NULL;
		jobq_finish(jq, queued);
		queued = next;
	}
	for (unsigned i = 0; i < jq->runner_count; i++)
		pthread_join(jq->runners[i], NULL);
	jq->runner_count = 0;

	pthread_mutex_lock(&jq->lock);
	jq->del_stopping = true;
	pthread_cond_broadcast(&jq->del_cond);
	pthread_mutex_unlock(&jq->lock);
	if (jq->deleter_started) {
		pthread_join(jq->deleter, NULL);
		jq->deleter_started = false;
	}
}

void jobq_destroy(struct jobq *jq)
{
	if (!jq)
		return;
	if (jq->lock_ok && jq->work_ok && jq->idle_ok && jq->del_ok) {
		jobq_shutdown(jq);
	} else {
		/* Half-built: no thread was started (they are started last). */
	}
	while (jq->active) {
		struct jobq_job *j = jq->active;
		jq->active = j->anext;
		jobq_job_free(j);
	}
	free(jq->runners);
	free(jq->deleted);
	free(jq->delq);
	if (jq->del_ok)
		pthread_cond_destroy(&jq->del_cond);
	if (jq->idle_ok)
		pthread_cond_destroy(&jq->idle_cond);
	if (jq->work_ok)
		pthread_cond_destroy(&jq->work_cond);
	if (jq->lock_ok)
		pthread_mutex_destroy(&jq->lock);
	free(jq);
}

/* Copies the options into a new job. */
static struct jobq_job *jobq_job_new(const struct scanner_opts *opts, const char *options_json)
{
	struct jobq_job *job = calloc(1, sizeof(*job));
	if (!job)
		return NULL;
	job->root = strdup(opts->root);
	job->options_json = strdup(options_json ? options_json : "{}");
	if (!job->root || !job->options_json)
		goto fail;
	if (opts->ignore_count) {
		job->ignore = calloc(opts->ignore_count, sizeof(*job->ignore));
		if (!job->ignore)
			goto fail;
		for (size_t i = 0; i < opts->ignore_count; i++) {
			job->ignore[i] = strdup(opts->ignore[i]);
			if (!job->ignore[i])
				goto fail;
			job->ignore_count++;
		}
	}
	job->sopts = *opts;
	job->sopts.root = job->root;
	job->sopts.ignore = (const char *const *)job->ignore;
	job->sopts.ignore_count = job->ignore_count;
	job->sopts.log_tag = job->tag;
	return job;
fail:
	jobq_job_free(job);
	return NULL;
}

int jobq_submit(struct jobq *jq, const struct scanner_opts *opts, const char *options_json,
		uint64_t *id, struct errbuf *err)
{
	struct jobq_job *job = jobq_job_new(opts, options_json);
	if (!job)
		return errbuf_errno(err, ENOMEM, "queueing a scan of %s", opts->root);

	pthread_mutex_lock(&jq->lock);
	if (jq->stopping) {
		pthread_mutex_unlock(&jq->lock);
		jobq_job_free(job);
		return errbuf_set(err, -ESHUTDOWN, "the server is shutting down; no new scans are accepted");
	}
	/* Free runners take queued jobs at once, so they count as room. */
	size_t room = (size_t)(jq->max_running - jq->running) + jq->max_queued;
	if (jq->qlen + jq->reserved >= room) {
		pthread_mutex_unlock(&jq->lock);
		jobq_job_free(job);
		return errbuf_set(err, -EAGAIN, "%u scans are already waiting (--max-queued %u)",
				  jq->max_queued, jq->max_queued);
	}
	jq->reserved++;
	pthread_mutex_unlock(&jq->lock);

	job->state = SCAN_QUEUED;
	job->created_ns = jobq_now_ns();
	struct store_scan rec;
	jobq_record(job, &rec);
	rec.id = 0;
	int rc = store_scan_create(jq->store, &rec, err);

	pthread_mutex_lock(&jq->lock);
	jq->reserved--;
	if (rc == 0) {
		job->id = rec.id;
		job->sopts.scan_id = rec.id;
		snprintf(job->tag, sizeof(job->tag), "scan %llu", (unsigned long long)rec.id);
		job->anext = jq->active;
		jq->active = job;
		if (jq->qtail)
			jq->qtail->qnext = job;
		else
			jq->qhead = job;
		jq->qtail = job;
		jq->qlen++;
		*id = rec.id;
		pthread_cond_signal(&jq->work_cond);
	}
	if (jq->reserved == 0)
		pthread_cond_broadcast(&jq->idle_cond);
	pthread_mutex_unlock(&jq->lock);
	if (rc < 0) {
		jobq_job_free(job);
		return rc;
	}
	LOG_EV(LOG_INFO, "scan queued", LOG_U64("scan_id", *id),
	       LOG_BYTES("root", opts->root, strlen(opts->root)));
	return 0;
}

/*
 * Finds scan `id` for cancel and delete. On success jq->lock is held and *job is the live job,
 * or NULL when the scan is only in the store (its stored state then in *stored). Returns -ENOENT
 * or a store error, with the lock released, when there is no such scan or it is being deleted.
 */
static int jobq_lookup_locked(struct jobq *jq, uint64_t id, struct jobq_job **job,
			      enum scan_state *stored, struct errbuf *err)
{
	pthread_mutex_lock(&jq->lock);
	*job = jobq_is_deleted_locked(jq, id) ? NULL : jobq_find_locked(jq, id);
	if (*job)
		return 0;
	bool deleted = jobq_is_deleted_locked(jq, id);
	pthread_mutex_unlock(&jq->lock);
	if (deleted)
		return errbuf_set(err, -ENOENT, "scan %llu does not exist", (unsigned long long)id);
	struct store_scan rec = {0};
	int rc = store_scan_get(jq->store, id, &rec, err);
	*stored = rec.state;
	store_scan_clear(&rec);
	if (rc == -ENOENT)
		return errbuf_set(err, -ENOENT, "scan %llu does not exist", (unsigned long long)id);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&jq->lock);
	/* Ids are never reused, so only a delete can have raced with us. */
	if (jobq_is_deleted_locked(jq, id)) {
		pthread_mutex_unlock(&jq->lock);
		return errbuf_set(err, -ENOENT, "scan %llu does not exist", (unsigned long long)id);
	}
	*job = jobq_find_locked(jq, id);
	return 0;
}

int jobq_cancel(struct jobq *jq, uint64_t id, struct errbuf *err)
{
	struct jobq_job *job;
	enum scan_state stored = SCAN_COMPLETED;
	int rc = jobq_lookup_locked(jq, id, &job, &stored, err);
	if (rc < 0)
		return rc;
	if (!job) {
		pthread_mutex_unlock(&jq->lock);
		return errbuf_set(err, -EALREADY, "scan %llu is already %s; only queued or running scans can be cancelled",
				  (unsigned long long)id, scan_state_name(stored));
	}
	if (job->state == SCAN_QUEUED) {
		jobq_unlink_queue_locked(jq, job);
		job->stop = JOBQ_CANCEL;
		job->state = SCAN_CANCELLED;
		job->finished_ns = jobq_now_ns();
		job->counters_json = jobq_counters_json(NULL, NULL);
		pthread_mutex_unlock(&jq->lock);
		jobq_finish(jq, job);
		return 0;
	}
	if (job->state != SCAN_RUNNING || job->stop != JOBQ_RUN) {
		const char *what = job->state == SCAN_RUNNING ? "already stopping" : scan_state_name(job->state);
		pthread_mutex_unlock(&jq->lock);
		return errbuf_set(err, -EALREADY, "scan %llu is %s; only queued or running scans can be cancelled",
				  (unsigned long long)id, what);
	}
	job->stop = JOBQ_CANCEL;
	if (job->sc)
		scanner_cancel(job->sc);
	pthread_mutex_unlock(&jq->lock);
	LOG_EV(LOG_INFO, "scan cancel requested", LOG_U64("scan_id", id));
	return 0;
}

int jobq_delete(struct jobq *jq, uint64_t id, struct errbuf *err)
{
	struct jobq_job *job;
	enum scan_state stored;
	int rc = jobq_lookup_locked(jq, id, &job, &stored, err);
	if (rc < 0)
		return rc;
	if (jobq_push_id(&jq->deleted, &jq->deleted_len, &jq->deleted_cap, id) < 0) {
		pthread_mutex_unlock(&jq->lock);
		return errbuf_errno(err, ENOMEM, "deleting scan %llu", (unsigned long long)id);
	}
	if (!job) {
		jobq_queue_delete_locked(jq, id);
	} else if (job->state == SCAN_QUEUED) {
		jobq_unlink_queue_locked(jq, job);
		jobq_unlink_active_locked(jq, job);
		jobq_job_free(job);
		jobq_queue_delete_locked(jq, id);
	} else if (job->unrecorded) {
		jobq_unlink_active_locked(jq, job);
		jobq_job_free(job);
		jobq_queue_delete_locked(jq, id);
	} else {
		/* Running or being recorded: its runner queues the removal once the record is final. */
		job->deleted = true;
		if (job->stop == JOBQ_RUN)
			job->stop = JOBQ_CANCEL;
		if (job->sc)
			scanner_cancel(job->sc);
	}
	pthread_mutex_unlock(&jq->lock);
	if (jq->on_finish)
		jq->on_finish(jq->on_finish_ctx, id);
	LOG_EV(LOG_INFO, "scan delete requested", LOG_U64("scan_id", id));
	return 0;
}
