/* job.h: the job manager: queues scans, runs at most max_running at once, cancels and deletes. */
#ifndef LEINDEX_JOB_H
#define LEINDEX_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "base/errbuf.h"
#include "service/scan/scanner.h"
#include "store/store.h"

/*
 * Calling sequence: jobq_create() once the store is open; jobq_submit(), jobq_live(),
 * jobq_cancel(), jobq_delete(), jobq_stats_json(), jobq_counts(), jobq_metrics() from any
 * thread; jobq_shutdown() on SIGTERM (running and queued scans become interrupted);
 * jobq_destroy() last, before store_close().
 *
 * Every function is thread-safe. None of them does scan or bulk store work on the caller's
 * thread: scans run on the manager's runner threads, deletions on its deleter thread. A caller
 * only pays for single small record writes (submit, cancelling a queued scan).
 */

struct jobq;

/** Called (outside any jobq lock, on a jobq thread or the caller's) when scan `id` finished. */
typedef void (*jobq_finish_cb)(void *ctx, uint64_t id);

/** Scans running at once when jobq_opts.max_running is 0 (and `--max-running`'s default). */
#define JOBQ_MAX_RUNNING_DEFAULT 2

/** How to create a job manager. */
struct jobq_opts {
	/** The store scans are written to; borrowed, must outlive the jobq. */
	struct store *store;
	/** Scans running at once; 0: JOBQ_MAX_RUNNING_DEFAULT. The others wait in FIFO order. */
	unsigned max_running;
	/** Scans waiting to run; past it jobq_submit() answers -EAGAIN. */
	unsigned max_queued;
	/** Optional notification of finished scans (wakes HTTP waiters). */
	jobq_finish_cb on_finish;
	void *on_finish_ctx;
};

int jobq_create(struct jobq **out, const struct jobq_opts *opts, struct errbuf *err);

/** Shuts down (if not done yet) and frees. NULL is fine. */
void jobq_destroy(struct jobq *jq);

/**
 * Records a new queued scan (opts->scan_id and opts->log_tag are set by the jobq;
 * options_json is the JSON text of the effective options, copied) and queues it. *id is set on
 * success. -EAGAIN: the queue is full; -ESHUTDOWN: the manager is shutting down; other
 * negative values: the store could not record it (message in err).
 */
int jobq_submit(struct jobq *jq, const struct scanner_opts *opts, const char *options_json,
		uint64_t *id, struct errbuf *err);

/** The in-memory view of a scan the manager still holds (queued, running, or being recorded). */
struct jobq_live {
	enum scan_state state;
	int64_t started_ns, finished_ns;
	struct scanner_progress progress;
	/** Why it failed (copied, NUL-terminated), empty when it did not. */
	char error[1024];
};

/**
 * Fills `out` and returns 1 when the manager holds scan `id`; 0 when it does not (read the store);
 * -ENOENT when the scan was deleted (its removal may still be under way).
 */
int jobq_live(struct jobq *jq, uint64_t id, struct jobq_live *out);

/** Whether scan `id` was deleted (or is being). */
bool jobq_deleted(struct jobq *jq, uint64_t id);

/**
 * Asks a queued or running scan to stop; it becomes cancelled (a queued one at once, a running
 * one within about a second). -ENOENT: unknown or deleted; -EALREADY: already finished or
 * already stopping.
 */
int jobq_cancel(struct jobq *jq, uint64_t id, struct errbuf *err);

/**
 * Deletes scan `id`: cancels it if needed, hides it at once (jobq_live() says -ENOENT), and
 * removes its records on the deleter thread. -ENOENT: unknown or already deleted.
 */
int jobq_delete(struct jobq *jq, uint64_t id, struct errbuf *err);

/**
 * The live counters of a scan the manager holds, as JSON text (malloc'ed, caller frees) in *json.
 * Returns 1 with *json set, 0 when the manager does not hold it (read counters_json from the
 * store), -ENOENT when deleted, -EAGAIN when the scan is still queued, -ENOMEM.
 */
int jobq_stats_json(struct jobq *jq, uint64_t id, char **json);

/**
 * Formats counters as the JSON object text of GET /scans/{id}/stats (malloc'ed): the document of
 * scanjson_counters(), the same as `leindexd scan --json` gives. `st` and `totals` may be NULL
 * (all zero). Returns NULL when out of memory.
 */
char *jobq_counters_json(const struct scanner_stats *st, const struct store_scan_totals *totals);

/** Scans running and waiting now. */
void jobq_counts(struct jobq *jq, unsigned *running, unsigned *queued);

/**
 * Process-wide figures for /metrics. The scan counters add what every scan that ran in this
 * process found, finished ones and the live progress of running ones: they only grow (deleting
 * a scan does not take its figures back), and they start from zero at each process start.
 */
struct jobq_metrics {
	unsigned running, queued;
	/** Entries (dirs + files + symlinks + other), directories and bytes of regular files found. */
	uint64_t entries, dirs, bytes;
	/** Directories slower than their scan's slow_threshold_ms. */
	uint64_t slow_scandirs;
	/** Directories per scanner_latency_bounds bucket (not cumulative), and their summed time. */
	uint64_t scandir_latency[SCANNER_LATENCY_BUCKETS];
	uint64_t scandir_latency_ns;
};

/** Fills `out` (a consistent snapshot, taken under the manager's lock). */
void jobq_metrics(struct jobq *jq, struct jobq_metrics *out);

/**
 * Stops taking work, marks queued scans interrupted, stops running ones (they become
 * interrupted, keeping what they found), and waits for them and for pending deletions.
 */
void jobq_shutdown(struct jobq *jq);

#endif
