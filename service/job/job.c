/* job.c: the job manager: queue, runners, cancel, delete, shutdown (runs: scan_run.c; reads: job_view.c). */
#include "service/job/job.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "service/job/job_impl.h"

/*
 * Design.
 *
 * The manager holds every scan that is not finished yet (and the few being recorded as finished)
 * in a hash index by id (job_index.c), so every lookup is O(1) however many scans wait; finished
 * scans live only in the store. A scan waits in a FIFO queue until one of max_running runner
 * threads ("jobq-N") takes it: lock, take the head, move it to the running list, unlock, run the
 * scan through scanrun_run() (scan_run.c: the life cycle the one-shot CLI shares; the scanner
 * starts and joins the scan's own worker pool), relock, retire. Each job's scanrun borrows
 * jq->lock. The memory view wins while a scan is held, so readers never see the store lag
 * behind a transition: a scan leaves the index only after its final record is committed.
 *
 * Stopping a scan sets its run's stop reason once (cancel by a user, or interrupt at shutdown:
 * the first one wins) and cancels its scanner. The scanner is attached and detached under the
 * lock and destroyed only after it is detached, so any thread holding the lock may use it.
 *
 * Deletion is durable before it is answered: jobq_delete() first commits the scan's tombstone
 * (store_scan_tombstone(), one small synced transaction, made without any jobq lock), after
 * which the store answers -ENOENT for it on every route and refuses its writes; if that fails,
 * nothing else was touched and the scan stays whole. Only then does the manager let go of it: a
 * queued job leaves the queue; a running one is marked deleted (readers treat it as gone) and
 * cancelled, and its runner drops it once stopped: its final record write meets -ENOENT and is
 * not an error. The purge of the rows, bulk work, is left to one deleter thread ("jobq-delete"),
 * queued once no writer of the scan is left; a purge a crash or shutdown cut short is resumed by
 * the next store_open(). So the manager keeps no set of deleted ids: the store has them.
 *
 * Submissions reserve their queue slot (and room in the index) under the lock before the store
 * write that gives them an id, so concurrent POSTs never overshoot max_queued and the job can
 * always be indexed once its record exists; shutdown waits for reservations before it drains
 * the queue. Between that write and the indexing, the scan has a record and no job: a delete or
 * cancel that finds it then would miss the job about to be queued (a delete would purge the
 * record under a scan that then runs, fails and stays in memory, visible on some routes only).
 * So a submission holds jq->submit_lock shared across both steps, and a delete or cancel that
 * finds a record but no job while reservations are out takes it exclusively once, which waits
 * for those submissions to index their jobs (jobq_settle_locked()). Ids only grow, so a
 * submission that starts later cannot be creating that id.
 *
 * Process totals for /metrics (jobq_metrics()) are kept apart from the store, so deleting a scan
 * never takes its figures back: a runner folds what its scan found into jq->done in the same
 * critical section that detaches the scanner (the scanrun's fold hook), and readers add the live
 * progress of the scanners still attached, walking the running list only.
 *
 * Events (jobq_opts.events, job_tick.c) are published under the lock, in the step that makes
 * them true: created when the job is indexed, started when a runner takes it, finished when it
 * is retired (its final record committed), deleted when its tombstone is; progress and slow_dir
 * by the ticker thread ("jobq-tick"), which also keeps each running scan's progress samples.
 *
 * Tests hold a thread at a named point (jobq_opts.test_hook) to replay each interleaving of
 * submit, cancel, delete and shutdown with a running scan.
 */

static void jobq_job_free(struct jobq_job *job)
{
	if (!job)
		return;
	scanrun_clear(&job->run);
	scansamples_clear(&job->samples);
	free(job);
}

static void jobq_list_append(struct jobq_list *l, struct jobq_job *job)
{
	job->prev = l->tail;
	job->next = NULL;
	if (l->tail)
		l->tail->next = job;
	else
		l->head = job;
	l->tail = job;
	l->len++;
}

static void jobq_list_unlink(struct jobq_list *l, struct jobq_job *job)
{
	if (job->prev)
		job->prev->next = job->next;
	else
		l->head = job->next;
	if (job->next)
		job->next->prev = job->prev;
	else
		l->tail = job->prev;
	job->prev = job->next = NULL;
	l->len--;
}

struct jobq_job *jobq_find_locked(struct jobq *jq, uint64_t id)
{
	return jobq_index_get(&jq->index, id);
}

static void jobq_hook(struct jobq *jq, uint64_t id, enum jobq_point pt)
{
	if (jq->test_hook)
		jq->test_hook(jq->test_hook_ctx, id, pt);
}

static int jobq_no_scan(struct errbuf *err, uint64_t id)
{
	return errbuf_set(err, -ENOENT, "scan %llu does not exist", (unsigned long long)id);
}

/* Queues the purge of tombstoned scan `id`'s rows for the deleter thread. Under the lock. */
static void jobq_queue_purge_locked(struct jobq *jq, uint64_t id)
{
	if (jq->delq_head == jq->delq_len)
		jq->delq_head = jq->delq_len = 0;
	if (jq->delq_len == jq->delq_cap && jq->delq_head > 0) {
		memmove(jq->delq, jq->delq + jq->delq_head,
			(jq->delq_len - jq->delq_head) * sizeof(*jq->delq));
		jq->delq_len -= jq->delq_head;
		jq->delq_head = 0;
	}
	if (jq->delq_len == jq->delq_cap) {
		size_t ncap = jq->delq_cap ? jq->delq_cap * 2 : 16;
		uint64_t *n = realloc(jq->delq, ncap * sizeof(*n));
		if (!n) {
			/* The scan is gone for readers anyway; the next start purges its rows. */
			LOG_EV(LOG_ERROR, "queueing the purge of a deleted scan: out of memory; the next "
			       "start purges it", LOG_U64("scan_id", id));
			return;
		}
		jq->delq = n;
		jq->delq_cap = ncap;
	}
	jq->delq[jq->delq_len++] = id;
	pthread_cond_signal(&jq->del_cond);
}

/* Lets go of `job`, which no thread owns any more: out of the index, freed, purged if deleted. */
static void jobq_let_go_locked(struct jobq *jq, struct jobq_job *job)
{
	jobq_index_del(&jq->index, job);
	if (job->deleted)
		jobq_queue_purge_locked(jq, job->run.id);
	jobq_job_free(job);
}

/*
 * Retires `job`, whose final record write returned `rc` (message in `err`): it is let go of,
 * unless the write failed (readers then keep seeing its final state from memory), and stops
 * counting as running in the same step, so whoever on_finish wakes sees the counts settled. A
 * write that met -ENOENT found the scan tombstoned (deleted while it ran or ended): that is no
 * failure, and nothing of it is kept. Its runner, or the thread that ended it while queued, owns
 * it until here. Called without the lock.
 */
static void jobq_retire(struct jobq *jq, struct jobq_job *job, int rc, const struct errbuf *err)
{
	uint64_t id = job->run.id;
	pthread_mutex_lock(&jq->lock);
	if (job->where == JOBQ_RUNNING)
		jobq_list_unlink(&jq->runs, job);
	if (rc < 0 && rc != -ENOENT)
		LOG_EV(LOG_ERROR, "recording the end of a scan failed", LOG_U64("scan_id", id),
		       LOG_STR("state", scan_state_name(job->run.state)), LOG_STR("error", err->msg));
	/* A deleted scan had its `deleted` event; -ENOENT: it is being deleted. */
	if (!job->deleted && rc != -ENOENT)
		jobq_event_locked(jq, job, JOBEV_FINISHED);
	if (rc < 0 && rc != -ENOENT && !job->deleted)
		job->where = JOBQ_UNRECORDED;
	else
		jobq_let_go_locked(jq, job);
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
	jobq_retire(jq, job, rc, &err);
}

/*
 * Writes the final records of the jobs listed from `head` (ended while queued, the list ours) at
 * once, in one transaction synced once, and retires each: a shutdown with thousands queued does
 * not sync thousands of times. One by one when memory is short. Without the lock.
 */
static void jobq_finish_unstarted_all(struct jobq *jq, struct jobq_job *head)
{
	size_t n = 0;
	for (struct jobq_job *j = head; j; j = j->next)
		n++;
	struct store_scan *recs = calloc(n ? n : 1, sizeof(*recs));
	int *rcs = calloc(n ? n : 1, sizeof(*rcs));
	struct errbuf *errs = calloc(n ? n : 1, sizeof(*errs));
	struct errbuf err;
	errbuf_clear(&err);
	bool together = recs && rcs && errs;
	if (together) {
		size_t i = 0;
		pthread_mutex_lock(&jq->lock);
		for (struct jobq_job *j = head; j; j = j->next)
			scanrun_record_locked(&j->run, &recs[i++]);
		pthread_mutex_unlock(&jq->lock);
		store_scan_update_many(jq->store, recs, n, rcs, errs, &err);
	}
	size_t i = 0;
	for (struct jobq_job *j = head, *next; j; j = next, i++) {
		next = j->next;
		j->prev = j->next = NULL;
		if (together)
			jobq_retire(jq, j, rcs[i], &errs[i]);
		else
			jobq_finish_unstarted(jq, j);
	}
	free(recs);
	free(rcs);
	free(errs);
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
		while (!jq->stopping && !jq->queue.head)
			pthread_cond_wait(&jq->work_cond, &jq->lock);
		if (jq->stopping)
			break;
		struct jobq_job *job = jq->queue.head;
		jobq_list_unlink(&jq->queue, job);
		jobq_list_append(&jq->runs, job);
		job->where = JOBQ_RUNNING;
		scanrun_start_locked(&job->run);
		jobq_sample_start_locked(job);
		jobq_event_locked(jq, job, JOBEV_STARTED);
		pthread_mutex_unlock(&jq->lock);

		jobq_estimate(jq, job);
		struct errbuf err;
		errbuf_clear(&err);
		int rc = scanrun_run(&job->run, &err);
		if (rc == 0)
			jobq_samples_save(jq, job);
		/* The job may be freed by jobq_retire(): what --keep-scans needs is copied first. */
		char *kept_root = rc == 0 && jq->keep_scans && job->run.state == SCAN_COMPLETED
					  ? strdup(job->run.opts.root)
					  : NULL;
		jobq_retire(jq, job, rc, &err);
		if (kept_root)
			jobq_keep_scans(jq, kept_root);
		free(kept_root);

		pthread_mutex_lock(&jq->lock);
	}
	pthread_mutex_unlock(&jq->lock);
	return NULL;
}

/*
 * Purges the rows of tombstoned scans, one at a time, in queue order. At shutdown it finishes
 * the purge under way and leaves the others to the next store_open().
 */
static void *jobq_deleter_main(void *arg)
{
	struct jobq *jq = arg;
	pthread_mutex_lock(&jq->lock);
	for (;;) {
		while (!jq->del_stopping && jq->delq_head == jq->delq_len)
			pthread_cond_wait(&jq->del_cond, &jq->lock);
		if (jq->del_stopping)
			break;
		uint64_t id = jq->delq[jq->delq_head++];
		pthread_mutex_unlock(&jq->lock);

		struct errbuf err;
		errbuf_clear(&err);
		int rc = store_scan_purge(jq->store, id, &err);
		if (rc < 0)
			LOG_EV(LOG_ERROR, "purging a deleted scan failed; the next start resumes it",
			       LOG_U64("scan_id", id), LOG_STR("error", err.msg));
		else
			LOG_EV(LOG_INFO, "scan deleted", LOG_U64("scan_id", id));

		pthread_mutex_lock(&jq->lock);
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
	jq->keep_scans = opts->keep_scans;
	jq->on_finish = opts->on_finish;
	jq->on_finish_ctx = opts->on_finish_ctx;
	jq->test_hook = opts->test_hook;
	jq->test_hook_ctx = opts->test_hook_ctx;
	jq->events = opts->events;
	int rc;
	pthread_rwlockattr_t ra;
	if ((rc = pthread_rwlockattr_init(&ra)) != 0)
		goto fail_rc;
	/* Writers first: a delete waiting for submissions must not wait for every later POST. */
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	rc = pthread_rwlock_init(&jq->submit_lock, &ra);
	pthread_rwlockattr_destroy(&ra);
	if (rc != 0)
		goto fail_rc;
	jq->submit_ok = true;
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
	if ((rc = clock_cond_init(&jq->tick_cond)) != 0)
		goto fail_rc;
	jq->tick_ok = true;

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
	if ((rc = pthread_create(&jq->ticker, NULL, jobq_tick_main, jq)) != 0)
		goto fail_rc;
	jq->ticker_started = true;
	pthread_setname_np(jq->ticker, "jobq-tick");
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
	struct jobq_list queued = jq->queue;
	jq->queue = (struct jobq_list){0};
	for (struct jobq_job *j = queued.head; j; j = j->next) {
		jq->visits++;
		j->where = JOBQ_ENDING;
		j->run.stop = SCANRUN_INTERRUPT;
		scanrun_end_locked(&j->run, SCAN_INTERRUPTED);
	}
	for (struct jobq_job *j = jq->runs.head; j; j = j->next) {
		jq->visits++;
		scanrun_stop_locked(&j->run, SCANRUN_INTERRUPT);
	}
	pthread_cond_broadcast(&jq->work_cond);
	pthread_cond_broadcast(&jq->tick_cond);
	pthread_mutex_unlock(&jq->lock);
	jobq_hook(jq, 0, JOBQ_POINT_SHUTDOWN);

	/* The drained list is ours: its links are read before each job is retired and freed. */
	jobq_finish_unstarted_all(jq, queued.head);
	for (unsigned i = 0; i < jq->runner_count; i++)
		pthread_join(jq->runners[i], NULL);
	jq->runner_count = 0;
	if (jq->ticker_started) {
		pthread_join(jq->ticker, NULL);
		jq->ticker_started = false;
	}

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
	if (jq->submit_ok && jq->lock_ok && jq->work_ok && jq->idle_ok && jq->del_ok && jq->tick_ok) {
		jobq_shutdown(jq);
	} else {
		/* Half-built: no thread was started (they are started last). */
	}
	/* Left after shutdown: unrecorded jobs. */
	for (size_t i = 0; i < jq->index.cap; i++)
		jobq_job_free(jq->index.slots[i]);
	jobq_index_free(&jq->index);
	free(jq->runners);
	free(jq->delq);
	if (jq->tick_ok)
		pthread_cond_destroy(&jq->tick_cond);
	if (jq->del_ok)
		pthread_cond_destroy(&jq->del_cond);
	if (jq->idle_ok)
		pthread_cond_destroy(&jq->idle_cond);
	if (jq->work_ok)
		pthread_cond_destroy(&jq->work_cond);
	if (jq->lock_ok)
		pthread_mutex_destroy(&jq->lock);
	if (jq->submit_ok)
		pthread_rwlock_destroy(&jq->submit_lock);
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
	job->run.opts.on_slow_dir = jobq_on_slow_dir;
	job->run.opts.on_slow_dir_ctx = jq;
	return job;
}

/* Reserves a queue slot and index room for a submission. Under the lock. 0 or an error. */
static int jobq_reserve_locked(struct jobq *jq, struct errbuf *err)
{
	if (jq->stopping)
		return errbuf_set(err, -ESHUTDOWN, "the server is shutting down; no new scans are accepted");
	/* Free runners take queued jobs at once, so they count as room. */
	size_t room = (size_t)(jq->max_running - jq->runs.len) + jq->max_queued;
	if (jq->queue.len + jq->reserved >= room)
		return errbuf_set(err, -EAGAIN, "%u scans are already waiting (--max-queued %u)",
				  jq->max_queued, jq->max_queued);
	if (jobq_index_reserve(&jq->index, jq->index.len + jq->reserved + 1) < 0)
		return errbuf_errno(err, ENOMEM, "queueing a scan (%zu scans held)", jq->index.len);
	jq->reserved++;
	return 0;
}

int jobq_submit(struct jobq *jq, const struct scanner_opts *opts, const char *options_json,
		uint64_t *id, struct errbuf *err)
{
	struct jobq_job *job = jobq_job_new(jq, opts, options_json, err);
	if (!job)
		return -ENOMEM;

	/* Shared with other submissions; a delete or cancel settling takes it alone. */
	pthread_rwlock_rdlock(&jq->submit_lock);
	pthread_mutex_lock(&jq->lock);
	int rc = jobq_reserve_locked(jq, err);
	pthread_mutex_unlock(&jq->lock);
	if (rc < 0) {
		pthread_rwlock_unlock(&jq->submit_lock);
		jobq_job_free(job);
		return rc;
	}

	/* Not shared yet: the record is created without the lock. */
	rc = scanrun_record_create(&job->run, SCAN_QUEUED, err);
	if (rc == 0)
		jobq_hook(jq, job->run.id, JOBQ_POINT_CREATED);

	pthread_mutex_lock(&jq->lock);
	jq->reserved--;
	if (rc == 0) {
		*id = job->run.id;
		job->where = JOBQ_QUEUED;
		jobq_index_put(&jq->index, job);
		jobq_list_append(&jq->queue, job);
		jobq_event_locked(jq, job, JOBEV_CREATED);
		pthread_cond_signal(&jq->work_cond);
	}
	if (jq->reserved == 0)
		pthread_cond_broadcast(&jq->idle_cond);
	pthread_mutex_unlock(&jq->lock);
	pthread_rwlock_unlock(&jq->submit_lock);
	if (rc < 0) {
		jobq_job_free(job);
		return rc;
	}
	LOG_EV(LOG_INFO, "scan queued", LOG_U64("scan_id", *id),
	       LOG_BYTES("root", opts->root, strlen(opts->root)));
	return 0;
}

/*
 * The job of scan `id`, whose record exists (or existed a moment ago), or NULL when the manager
 * does not hold it. While submissions are in flight, one of them may have created that record
 * and not indexed its job yet: then waits until they have (see the design note). jq->lock held
 * on entry and on return; released in between while waiting.
 */
static struct jobq_job *jobq_settle_locked(struct jobq *jq, uint64_t id)
{
	struct jobq_job *job = jobq_find_locked(jq, id);
	if (job || jq->reserved == 0)
		return job;
	pthread_mutex_unlock(&jq->lock);
	jobq_hook(jq, id, JOBQ_POINT_SETTLE);
	pthread_rwlock_wrlock(&jq->submit_lock);
	pthread_mutex_lock(&jq->lock);
	/* Every submission that began before this point has indexed its job or failed. */
	pthread_rwlock_unlock(&jq->submit_lock);
	return jobq_find_locked(jq, id);
}

/*
 * Finds scan `id` for cancel and returns with jq->lock HELD: *job is the live job, or NULL when
 * the scan is only in the store (its stored state then in *stored). Returns -ENOENT or a store
 * error, with the lock NOT held, when there is no such scan or it was deleted.
 */
static int jobq_lock_scan(struct jobq *jq, uint64_t id, struct jobq_job **job,
			  enum scan_state *stored, struct errbuf *err)
{
	for (int pass = 0;; pass++) {
		pthread_mutex_lock(&jq->lock);
		*job = jobq_find_locked(jq, id);
		if (*job && (*job)->deleted) {
			pthread_mutex_unlock(&jq->lock);
			return jobq_no_scan(err, id);
		}
		if (*job)
			return 0;
		pthread_mutex_unlock(&jq->lock);
		/* Not held: read the store without the lock (it may be slow). */
		struct store_scan rec = {0};
		int rc = store_scan_get(jq->store, id, &rec, err);
		*stored = rec.state;
		store_scan_clear(&rec);
		if (rc == -ENOENT)
			return jobq_no_scan(err, id);
		if (rc < 0)
			return rc;
		pthread_mutex_lock(&jq->lock);
		/* A record not finished without a job: being submitted, or finished since it was read. */
		*job = scan_state_finished(*stored) ? jobq_find_locked(jq, id) : jobq_settle_locked(jq, id);
		if (*job && (*job)->deleted) {
			pthread_mutex_unlock(&jq->lock);
			return jobq_no_scan(err, id);
		}
		if (*job || scan_state_finished(*stored) || pass > 0)
			return 0;
		/* It finished between the read and the lock: read its final state. */
		pthread_mutex_unlock(&jq->lock);
	}
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
	if (job->where == JOBQ_QUEUED) {
		jobq_list_unlink(&jq->queue, job);
		job->where = JOBQ_ENDING;
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

/*
 * After scan `id`'s tombstone is committed: lets go of its job, if the manager holds one. A
 * queued job or one whose end could not be recorded has no owner: it goes now, and its purge is
 * queued. A job a thread owns (running, or being recorded) is marked deleted and cancelled; its
 * owner lets go of it and queues the purge once it has stopped writing. With no job (a finished
 * scan, or one whose runner already met the tombstone), the purge is queued now.
 */
static void jobq_let_go_deleted(struct jobq *jq, uint64_t id)
{
	pthread_mutex_lock(&jq->lock);
	struct jobq_job *job = jobq_settle_locked(jq, id);
	if (!job) {
		jobq_event_deleted_locked(jq, id);
		jobq_queue_purge_locked(jq, id);
	} else if (!job->deleted) {
		job->deleted = true;
		jobq_event_deleted_locked(jq, id);
		switch (job->where) {
		case JOBQ_QUEUED:
			jobq_list_unlink(&jq->queue, job);
			/* fall through */
		case JOBQ_UNRECORDED:
			jobq_let_go_locked(jq, job);
			break;
		case JOBQ_RUNNING:
		case JOBQ_ENDING:
			scanrun_stop_locked(&job->run, SCANRUN_CANCEL);
			break;
		}
	}
	/* else: another delete of the same scan got there first (one of them saw -ENOENT). */
	pthread_mutex_unlock(&jq->lock);
}

/* Whether scan `id` is tombstoned (the store no longer answers for it). */
static bool jobq_tombstoned(struct jobq *jq, uint64_t id)
{
	struct store_scan rec = {0};
	int rc = store_scan_get(jq->store, id, &rec, NULL);
	store_scan_clear(&rec);
	return rc == -ENOENT;
}

int jobq_delete(struct jobq *jq, uint64_t id, struct errbuf *err)
{
	pthread_mutex_lock(&jq->lock);
	struct jobq_job *job = jobq_find_locked(jq, id);
	bool gone = job && job->deleted;
	pthread_mutex_unlock(&jq->lock);
	if (gone)
		return jobq_no_scan(err, id);

	/* Durable first, without any jobq lock: one small synced write transaction. */
	struct errbuf e;
	errbuf_clear(&e);
	int rc = store_scan_tombstone(jq->store, id, &e);
	if (rc == -ENOENT)
		return jobq_no_scan(err, id);
	if (rc < 0 && !jobq_tombstoned(jq, id)) {
		LOG_EV(LOG_ERROR, "deleting a scan failed; it is left as it was", LOG_U64("scan_id", id),
		       LOG_STR("error", e.msg));
		return errbuf_set(err, rc, "%s", e.msg);
	}
	jobq_hook(jq, id, JOBQ_POINT_TOMBSTONED);
	jobq_let_go_deleted(jq, id);
	if (jq->on_finish)
		jq->on_finish(jq->on_finish_ctx, id);
	if (rc < 0) {
		/* Committed, not synced: gone now, but a power loss may bring it back. Say so. */
		LOG_EV(LOG_ERROR, "scan deleted, but the deletion was not synced to disk",
		       LOG_U64("scan_id", id), LOG_STR("error", e.msg));
		return errbuf_set(err, rc, "%s", e.msg);
	}
	LOG_EV(LOG_INFO, "scan deletion committed", LOG_U64("scan_id", id));
	return 0;
}

void jobq_test_work(struct jobq *jq, struct jobq_work *out)
{
	pthread_mutex_lock(&jq->lock);
	*out = (struct jobq_work){.lookups = jq->index.lookups, .probes = jq->index.probes,
				  .visits = jq->visits, .held = jq->index.len};
	pthread_mutex_unlock(&jq->lock);
}
