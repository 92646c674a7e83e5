/* job.c: the job manager: queue, runners, cancel, delete, shutdown (runs: scan_run.c; reads: job_view.c). */
#include "service/job/job.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "service/job/job_impl.h"

/*
 * Design.
 *
 * The manager holds every scan that is not finished yet (and the few being recorded as finished)
 * in an "active" list; finished scans live only in the store. A scan waits in a FIFO queue until
 * one of max_running runner threads ("jobq-N") takes it: lock, take the head, unlock, run the
 * scan through scanrun_run() (scan_run.c: the life cycle the one-shot CLI shares; the scanner
 * starts and joins the scan's own worker pool), relock, retire. Each job's scanrun borrows
 * jq->lock. The memory view wins while a scan is active, so readers never see the store lag
 * behind a transition: a scan leaves the active list only after its final record is committed.
 *
 * Stopping a scan sets its run's stop reason once (cancel by a user, or interrupt at shutdown:
 * the first one wins) and cancels its scanner. The scanner is attached and detached under the
 * lock and destroyed only after it is detached, so any thread holding the lock may use it.
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
 * critical section that detaches the scanner (the scanrun's fold hook), and readers add the live
 * progress of the scanners still attached, which they may only touch under the lock.
 *
 * Tests hold a runner at a named point (jobq_opts.test_hook) to replay each interleaving of
 * cancel, delete and shutdown with a running scan.
 */

static void jobq_job_free(struct jobq_job *job)
{
	if (!job)
		return;
	scanrun_clear(&job->run);
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
		if (j->run.id == id)
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

/* Whether the job being retired ran (it held a runner) or ended while queued. */
enum jobq_retire_from { JOBQ_FROM_QUEUE, JOBQ_FROM_RUNNER };

/*
 * Retires `job`, whose final record write returned `rc` (message in `err`): it leaves the active
 * list, unless the write failed (readers then keep seeing its final state from memory), and stops
 * counting as running in the same step, so whoever on_finish wakes sees the counts settled. Its
 * runner, or the thread that ended it while queued, owns it until here. Called without the lock.
 */
static void jobq_retire(struct jobq *jq, struct jobq_job *job, int rc, const struct errbuf *err,
			enum jobq_retire_from from)
{
	uint64_t id = job->run.id;
	pthread_mutex_lock(&jq->lock);
	if (from == JOBQ_FROM_RUNNER)
		jq->running--;
	if (rc < 0) {
		LOG_EV(LOG_ERROR, "recording the end of a scan failed", LOG_U64("scan_id", id),
		       LOG_STR("state", scan_state_name(job->run.state)), LOG_STR("error", err->msg));
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

/* Writes the final record of `job`, ended while queued, and retires it. Without the lock. */
static void jobq_finish_unstarted(struct jobq *jq, struct jobq_job *job)
{
	struct errbuf err;
	errbuf_clear(&err);
	int rc = scanrun_write(&job->run, &err);
	jobq_retire(jq, job, rc, &err, JOBQ_FROM_QUEUE);
}

/* The scanrun fold hook: under jq->lock, a finished scan's figures join the process totals. */
static void jobq_fold(void *ctx, const struct scanner_progress *p, const struct scanner_stats *st)
{
	struct jobq *jq = ctx;
	jobq_metrics_add(&jq->done, p, st);
}

/* The scanrun point hook, passed on to the test hook. */
static void jobq_point(void *ctx, uint64_t id, enum scanrun_point pt)
{
	struct jobq *jq = ctx;
	jq->test_hook(jq->test_hook_ctx, id, (enum jobq_point)pt);
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
		scanrun_start_locked(&job->run);
		jq->running++;
		pthread_mutex_unlock(&jq->lock);

		struct errbuf err;
		errbuf_clear(&err);
		int rc = scanrun_run(&job->run, &err);
		jobq_retire(jq, job, rc, &err, JOBQ_FROM_RUNNER);

		pthread_mutex_lock(&jq->lock);
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
	jq->test_hook = opts->test_hook;
	jq->test_hook_ctx = opts->test_hook_ctx;
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
	for (struct jobq_job *j = queued; j; j = j->qnext) {
		j->run.stop = SCANRUN_INTERRUPT;
		scanrun_end_locked(&j->run, SCAN_INTERRUPTED);
	}
	for (struct jobq_job *j = jq->active; j; j = j->anext)
		if (j->run.state == SCAN_RUNNING)
			scanrun_stop_locked(&j->run, SCANRUN_INTERRUPT);
	pthread_cond_broadcast(&jq->work_cond);
	pthread_mutex_unlock(&jq->lock);
	if (jq->test_hook)
		jq->test_hook(jq->test_hook_ctx, 0, JOBQ_POINT_SHUTDOWN);

	while (queued) {
		struct jobq_job *next = queued->qnext;
		queued->qnext = NULL;
		jobq_finish_unstarted(jq, queued);
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

/* A new job with a copy of the options, its run borrowing jq->lock and reporting to jq. */
static struct jobq_job *jobq_job_new(struct jobq *jq, const struct scanner_opts *opts,
				     const char *options_json, struct errbuf *err)
{
	struct jobq_job *job = calloc(1, sizeof(*job));
	if (!job) {
		errbuf_errno(err, ENOMEM, "queueing a scan of %s", opts->root);
		return NULL;
	}
	struct scanrun_args a = {
		.store = jq->store, .lock = &jq->lock, .opts = opts, .options_json = options_json,
		.hooks = {.fold = jobq_fold, .point = jq->test_hook ? jobq_point : NULL, .ctx = jq}};
	if (scanrun_init(&job->run, &a, err) < 0) {
		jobq_job_free(job);
		return NULL;
	}
	return job;
}

int jobq_submit(struct jobq *jq, const struct scanner_opts *opts, const char *options_json,
		uint64_t *id, struct errbuf *err)
{
	struct jobq_job *job = jobq_job_new(jq, opts, options_json, err);
	if (!job)
		return -ENOMEM;

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

	/* Not shared yet: the record is created without the lock. */
	int rc = scanrun_record_create(&job->run, SCAN_QUEUED, err);

	pthread_mutex_lock(&jq->lock);
	jq->reserved--;
	if (rc == 0) {
		job->anext = jq->active;
		jq->active = job;
		if (jq->qtail)
			jq->qtail->qnext = job;
		else
			jq->qhead = job;
		jq->qtail = job;
		jq->qlen++;
		*id = job->run.id;
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
 * Finds scan `id` for cancel and delete and returns with jq->lock HELD: *job is the live job, or
 * NULL when the scan is only in the store (its stored state then in *stored). Returns -ENOENT or
 * a store error, with the lock NOT held, when there is no such scan or it is being deleted.
 */
static int jobq_lock_scan(struct jobq *jq, uint64_t id, struct jobq_job **job,
			  enum scan_state *stored, struct errbuf *err)
{
	pthread_mutex_lock(&jq->lock);
	bool deleted = jobq_is_deleted_locked(jq, id);
	*job = deleted ? NULL : jobq_find_locked(jq, id);
	if (*job)
		return 0;
	pthread_mutex_unlock(&jq->lock);
	if (deleted)
		return errbuf_set(err, -ENOENT, "scan %llu does not exist", (unsigned long long)id);
	/* Not held: read the store without the lock (it may be slow). */
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
	int rc = jobq_lock_scan(jq, id, &job, &stored, err);
	if (rc < 0)
		return rc;
	if (!job) {
		pthread_mutex_unlock(&jq->lock);
		return errbuf_set(err, -EALREADY, "scan %llu is already %s; only queued or running scans can be cancelled",
				  (unsigned long long)id, scan_state_name(stored));
	}
	struct scanrun *r = &job->run;
	if (r->state == SCAN_QUEUED) {
		jobq_unlink_queue_locked(jq, job);
		r->stop = SCANRUN_CANCEL;
		scanrun_end_locked(r, SCAN_CANCELLED);
		pthread_mutex_unlock(&jq->lock);
		jobq_finish_unstarted(jq, job);
		return 0;
	}
	if (r->state != SCAN_RUNNING || !scanrun_stop_locked(r, SCANRUN_CANCEL)) {
		const char *what = r->state == SCAN_RUNNING ? "already stopping" : scan_state_name(r->state);
		pthread_mutex_unlock(&jq->lock);
		return errbuf_set(err, -EALREADY, "scan %llu is %s; only queued or running scans can be cancelled",
				  (unsigned long long)id, what);
	}
	pthread_mutex_unlock(&jq->lock);
	LOG_EV(LOG_INFO, "scan cancel requested", LOG_U64("scan_id", id));
	return 0;
}

int jobq_delete(struct jobq *jq, uint64_t id, struct errbuf *err)
{
	struct jobq_job *job;
	enum scan_state stored;
	int rc = jobq_lock_scan(jq, id, &job, &stored, err);
	if (rc < 0)
		return rc;
	if (jobq_push_id(&jq->deleted, &jq->deleted_len, &jq->deleted_cap, id) < 0) {
		pthread_mutex_unlock(&jq->lock);
		return errbuf_errno(err, ENOMEM, "deleting scan %llu", (unsigned long long)id);
	}
	if (!job) {
		jobq_queue_delete_locked(jq, id);
	} else if (job->run.state == SCAN_QUEUED) {
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
		scanrun_stop_locked(&job->run, SCANRUN_CANCEL);
	}
	pthread_mutex_unlock(&jq->lock);
	if (jq->on_finish)
		jq->on_finish(jq->on_finish_ctx, id);
	LOG_EV(LOG_INFO, "scan delete requested", LOG_U64("scan_id", id));
	return 0;
}
