/* job_impl.h: the job manager's private state, shared by job.c, job_view.c and job_index.c. */
#ifndef LEINDEX_JOB_IMPL_H
#define LEINDEX_JOB_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service/job/job.h"
#include "service/job/scan_samples.h"

/** Where a job the manager holds is, and so who owns it. */
enum jobq_where {
	/** In the FIFO queue (jq->queue): owned by the manager; whoever takes it out owns it. */
	JOBQ_QUEUED,
	/** In the running list (jq->runs): owned by its runner until it retires it. */
	JOBQ_RUNNING,
	/** Ended while queued (cancel, shutdown): owned by the thread writing its final record. */
	JOBQ_ENDING,
	/** Its final record could not be written: kept so readers see the truth; owned by no one. */
	JOBQ_UNRECORDED,
};

/**
 * One scan the manager holds (queued, running, or being recorded as finished), in jq->index by
 * id from its submission until it is let go. Guarded by jq->lock, like its run's guarded fields
 * (the run borrows the lock).
 */
struct jobq_job {
	struct scanrun run;
	enum jobq_where where;
	/**
	 * Its tombstone is committed (the store answers -ENOENT for it): readers treat it as gone,
	 * and its owner drops it and queues the purge of its rows when it lets it go.
	 */
	bool deleted;
	/** Links in jq->queue (JOBQ_QUEUED) or jq->runs (JOBQ_RUNNING); NULL otherwise. */
	struct jobq_job *prev, *next;
	/** Its progress samples (job_tick.c), written to the store when it ends. */
	struct scansamples samples;
	/**
	 * The previous completed scan of the same root, for the percent and ETA of progress
	 * events: its entries and seconds; est_ok false when there is none (or not looked up yet).
	 */
	bool est_ok;
	uint64_t est_entries;
	double est_seconds;
};

/** A doubly-linked list of jobs: O(1) append and unlink. */
struct jobq_list {
	struct jobq_job *head, *tail;
	size_t len;
};

/**
 * The jobs the manager holds, by id: open addressing with linear probing and backward-shift
 * deletion, at most half full, so a lookup looks at O(1) slots whatever the number of jobs.
 * Not thread-safe: used under jq->lock.
 */
struct jobq_index {
	struct jobq_job **slots; /**< cap slots, NULL when free */
	size_t cap;              /**< 0 or a power of two */
	size_t len;
	/** Work done, for tests (jobq_test_work()): lookups and the slots they looked at. */
	uint64_t lookups, probes;
};

struct jobq {
	struct store *store;
	unsigned max_running, max_queued, keep_scans;
	jobq_finish_cb on_finish;
	void *on_finish_ctx;
	jobq_test_hook test_hook;
	void *test_hook_ctx;

	/**
	 * Held shared by a submission from before its record is created until its job is in the
	 * index, and exclusively (briefly) by a cancel or delete that found a record but no job
	 * while submissions are in flight: the job of that record is then about to appear (see the
	 * design note of job.c). Writers are preferred, so a stream of POSTs cannot starve it.
	 * Taken before jq->lock, never while holding it.
	 */
	pthread_rwlock_t submit_lock;
	pthread_mutex_t lock;
	pthread_cond_t work_cond; /**< runners: queue not empty or stopping */
	pthread_cond_t idle_cond; /**< reservations done */
	pthread_cond_t del_cond;  /**< deleter: delq not empty or stopping */
	bool submit_ok, lock_ok, work_ok, idle_ok, del_ok;

	struct jobq_index index; /**< every job held */
	struct jobq_list queue;  /**< FIFO of the queued jobs */
	struct jobq_list runs;   /**< the jobs runners hold; runs.len is the running count */
	unsigned reserved;
	bool stopping, del_stopping, shut_done;

	/**
	 * What the scans that stopped running in this process found, folded in under the lock in
	 * the same step that detaches their scanner (so the process totals never go backwards).
	 * running and queued are unused here.
	 */
	struct jobq_metrics done;
	/** Jobs visited by list walks (jobq_metrics(), shutdown), for tests (jobq_test_work()). */
	uint64_t visits;

	uint64_t *delq; /**< tombstoned ids whose rows are to be purged, FIFO from delq_head */
	size_t delq_head, delq_len, delq_cap;

	/** Where events go (jobq_opts.events), or NULL. */
	struct jobev_bus *events;
	/** The ticker ("jobq-tick"): samples and progress events of running scans, every second. */
	pthread_cond_t tick_cond;
	bool tick_ok;
	pthread_t ticker;
	bool ticker_started;

	pthread_t *runners;
	unsigned runner_count;
	pthread_t deleter;
	bool deleter_started;
};

/* Helpers of the files of the manager; the _locked ones need jq->lock held. */

/* ---------------------------------------------------------------- job_tick.c */

/** Seconds between two progress samples and events of a running scan. */
#define JOBQ_TICK_NS 1000000000LL

/** The ticker thread: every JOBQ_TICK_NS until jq->stopping, samples each running scan. */
void *jobq_tick_main(void *arg);

/**
 * Publishes a `kind` event about `job` (created, started, finished) with its state and counts.
 * Nothing without a bus; an event that cannot be built (out of memory) is logged and dropped.
 */
void jobq_event_locked(struct jobq *jq, struct jobq_job *job, enum jobev_kind kind);

/** Publishes the `deleted` event of scan `id`. */
void jobq_event_deleted_locked(struct jobq *jq, uint64_t id);
/**
 * scanner_opts.on_slow_dir of the manager's scans (ctx: the jobq): publishes a slow_dir event
 * with the directory's path, entries and seconds. Called on a scan worker, without the lock;
 * the event bus takes its own.
 */
void jobq_on_slow_dir(void *ctx, uint64_t scan_id, const char *path, size_t path_len,
		      uint64_t entries, double seconds);

/**
 * Looks up the previous completed scan of `job`'s root in the store (without the lock; `job`
 * is owned by the calling runner) and sets job->est_* under the lock.
 */
void jobq_estimate(struct jobq *jq, struct jobq_job *job);

/** Adds the sample of `job` at its start (zeros at t 0). */
void jobq_sample_start_locked(struct jobq_job *job);

/**
 * Adds the final sample of `job` (its run has ended) and writes its samples to the store.
 * Called by the job's owner without the lock. A failed write is logged: the chart is lost,
 * the scan is not.
 */
void jobq_samples_save(struct jobq *jq, struct jobq_job *job);


/** The job `id` the manager holds, or NULL. O(1). */
struct jobq_job *jobq_find_locked(struct jobq *jq, uint64_t id);

/**
 * --keep-scans (job_keep.c): after a scan of `root` completed, deletes its oldest completed
 * scans beyond jq->keep_scans through jobq_delete(), sparing the baselines of the kept scans and
 * of queued or running ones. Without the lock. Failures are logged.
 */
void jobq_keep_scans(struct jobq *jq, const char *root);
/** Adds what a scan found (its progress and scandir histogram) to `m`. */
void jobq_metrics_add(struct jobq_metrics *m, const struct scanner_progress *p,
		      const struct scanner_stats *st);

/** Makes room for `n` jobs in all, so that jobq_index_put() cannot fail. 0 or -ENOMEM. */
int jobq_index_reserve(struct jobq_index *ix, size_t n);
/** Adds `job` (its id not there yet) in room made by jobq_index_reserve(). */
void jobq_index_put(struct jobq_index *ix, struct jobq_job *job);
/** The job with `id`, or NULL. */
struct jobq_job *jobq_index_get(struct jobq_index *ix, uint64_t id);
/** Removes `job` (which is there). */
void jobq_index_del(struct jobq_index *ix, const struct jobq_job *job);
/** Frees the table (not the jobs) and zeroes it. */
void jobq_index_free(struct jobq_index *ix);

#endif
