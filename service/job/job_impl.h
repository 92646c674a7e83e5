/* job_impl.h: the job manager's private state, shared by job.c and job_view.c. */
#ifndef LEINDEX_JOB_IMPL_H
#define LEINDEX_JOB_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service/job/job.h"

/**
 * One scan the manager holds (queued, running, or being recorded as finished). Its run's
 * guarded fields are guarded by jq->lock (the run borrows it); the rest of it too.
 */
struct jobq_job {
	struct scanrun run;
	/** Deleted while running or being recorded: its runner queues the removal once final. */
	bool deleted;
	/** Its final record could not be written: kept in memory so readers see the truth. */
	bool unrecorded;
	struct jobq_job *qnext; /**< in the FIFO queue */
	struct jobq_job *anext; /**< in the active list */
};

struct jobq {
	struct store *store;
	unsigned max_running, max_queued;
	jobq_finish_cb on_finish;
	void *on_finish_ctx;
	jobq_test_hook test_hook;
	void *test_hook_ctx;

	pthread_mutex_t lock;
	pthread_cond_t work_cond; /**< runners: queue not empty or stopping */
	pthread_cond_t idle_cond; /**< reservations done */
	pthread_cond_t del_cond;  /**< deleter: delq not empty or stopping */
	bool lock_ok, work_ok, idle_ok, del_ok;

	struct jobq_job *qhead, *qtail;
	size_t qlen;
	struct jobq_job *active;
	unsigned running, reserved;
	bool stopping, del_stopping, shut_done;

	/**
	 * What the scans that stopped running in this process found, folded in under the lock in
	 * the same step that detaches their scanner (so the process totals never go backwards).
	 * running and queued are unused here.
	 */
	struct jobq_metrics done;

	uint64_t *deleted; /**< ids hidden from readers */
	size_t deleted_len, deleted_cap;
	uint64_t *delq; /**< ids ready for store removal, FIFO */
	size_t delq_len, delq_cap;

	pthread_t *runners;
	unsigned runner_count;
	pthread_t deleter;
	bool deleter_started;
};

/* Helpers of both files; the _locked ones need jq->lock held. */

/** Whether `id` is in the deleted set. */
bool jobq_is_deleted_locked(const struct jobq *jq, uint64_t id);
/** The active job `id`, or NULL. */
struct jobq_job *jobq_find_locked(struct jobq *jq, uint64_t id);
/** Adds what a scan found (its progress and scandir histogram) to `m`. */
void jobq_metrics_add(struct jobq_metrics *m, const struct scanner_progress *p,
		      const struct scanner_stats *st);

#endif
