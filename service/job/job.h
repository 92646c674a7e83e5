/* job.h: the job manager: queues scans, runs at most max_running at once, cancels and deletes. */
#ifndef LEINDEX_JOB_H
#define LEINDEX_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "base/errbuf.h"
#include "service/job/job_events.h"
#include "service/job/scan_run.h"
#include "service/scan/scanner.h"
#include "store/store.h"

/*
 * Calling sequence: jobq_create() once the store is open; jobq_submit(), jobq_live(),
 * jobq_view_get(), jobq_view_overlay(), jobq_cancel(), jobq_delete(), jobq_counts(),
 * jobq_metrics() from any thread; jobq_shutdown() on SIGTERM (running and queued scans become
 * interrupted); jobq_destroy() last, before store_close().
 *
 * Every function is thread-safe. None of them does scan or bulk store work on the caller's
 * thread: scans run on the manager's runner threads, purges of deleted scans on its deleter
 * thread. A caller only pays for single small record writes (submit, cancelling a queued scan,
 * a deletion's tombstone).
 *
 * Cost: looking a scan up is O(1) whatever the number of scans held (a hash of the jobs by id),
 * so a reader that overlays every stored record (/stats, /metrics, GET /scans) is linear in the
 * records; jobq_metrics() visits the running scans only.
 */

struct jobq;

/** Called (outside any jobq lock, on a jobq thread or the caller's) when scan `id` finished. */
typedef void (*jobq_finish_cb)(void *ctx, uint64_t id);

/** Scans running at once when jobq_opts.max_running is 0 (and `--max-running`'s default). */
#define JOBQ_MAX_RUNNING_DEFAULT 2

/** Named points where jobq_opts.test_hook is called. */
enum jobq_point {
	/** Running, start record written, no scanner yet. */
	JOBQ_POINT_STARTED = SCANRUN_STARTED,
	/** The scanner is attached; scanner_run() not called yet. */
	JOBQ_POINT_ATTACHED = SCANRUN_ATTACHED,
	/** scanner_run() returned; the scanner is still attached. */
	JOBQ_POINT_RAN = SCANRUN_RAN,
	/** The final state is set in memory; the final record is not written yet. */
	JOBQ_POINT_FINAL = SCANRUN_FINAL,
	/** jobq_shutdown() has stopped the queued and running scans and will now join (id 0). */
	JOBQ_POINT_SHUTDOWN,
	/** jobq_submit(): the record of the new scan `id` is created; it is not queued yet. */
	JOBQ_POINT_CREATED,
	/** jobq_delete(): the tombstone of `id` is committed; the manager has not let go of it. */
	JOBQ_POINT_TOMBSTONED,
	/**
	 * jobq_delete() or jobq_cancel() found the record of `id` but no job, while submissions
	 * are in flight: it now waits for them, since one of them may be about to queue `id`.
	 */
	JOBQ_POINT_SETTLE,
};

/**
 * Tests only: called without any jobq lock on the thread at the point (a runner, the one in
 * jobq_shutdown(), jobq_submit() or jobq_delete()), which may block in it to hold the scan there
 * while the test acts. At JOBQ_POINT_CREATED the submission holds the manager's submit lock
 * shared: a delete or cancel that must wait for submissions (JOBQ_POINT_SETTLE) waits for it.
 */
typedef void (*jobq_test_hook)(void *ctx, uint64_t id, enum jobq_point pt);

/** How to create a job manager. */
struct jobq_opts {
	/** The store scans are written to; borrowed, must outlive the jobq. */
	struct store *store;
	/** Scans running at once; 0: JOBQ_MAX_RUNNING_DEFAULT. The others wait in FIFO order. */
	unsigned max_running;
	/** Scans waiting to run; past it jobq_submit() answers -EAGAIN. */
	unsigned max_queued;
	/**
	 * --keep-scans: after a scan completes, the oldest completed scans of its root beyond this
	 * many are deleted (as jobq_delete() does), never the baseline of a kept scan or of a
	 * queued or running one. 0: keep every scan.
	 */
	unsigned keep_scans;
	/** Optional notification of finished scans (wakes HTTP waiters). */
	jobq_finish_cb on_finish;
	void *on_finish_ctx;
	/**
	 * Where the manager publishes what happens to scans (created, started, progress about once
	 * a second, slow_dir, finished, deleted: job_events.h), or NULL. Borrowed: it must outlive
	 * the jobq. Events are published under the manager's lock, so those of one scan are in the
	 * order they happened, and `finished` follows the final record's commit.
	 */
	struct jobev_bus *events;
	/** Tests only (NULL in the service): replays races deterministically (tests/unit/test_job.c). */
	jobq_test_hook test_hook;
	void *test_hook_ctx;
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
	char error[SCANRUN_ERROR_MAX];
};

/**
 * Fills `out` and returns 1 when the manager holds scan `id`; 0 when it does not (read the store,
 * which answers -ENOENT for a deleted scan); -ENOENT when the scan was deleted but the manager
 * still holds it (its runner is stopping it).
 */
int jobq_live(struct jobq *jq, uint64_t id, struct jobq_live *out);

/**
 * Whether scan `id` is deleted and the manager still holds it (its runner is stopping it). A
 * deleted scan the manager does not hold is gone from the store's answers already.
 */
bool jobq_deleted(struct jobq *jq, uint64_t id);

/**
 * Asks a queued or running scan to stop; it becomes cancelled (a queued one at once, a running
 * one within about a second). -ENOENT: unknown or deleted; -EALREADY: already finished or
 * already stopping.
 */
int jobq_cancel(struct jobq *jq, uint64_t id, struct errbuf *err);

/**
 * Deletes scan `id` durably, whatever its state: commits and syncs its tombstone in the store
 * (store_scan_tombstone()) before anything else, then lets go of it (a queued scan leaves the
 * queue; a running one is cancelled, and its runner drops it once stopped, never writing its
 * record again), and has the deleter thread purge its rows in the background. On return the
 * scan is gone from every reader (-ENOENT). Returns 0; -ENOENT when there is no such scan or it
 * was deleted already; another negative error, with the store's reason in `err`, when the
 * tombstone could not be committed: the scan is then left exactly as it was. When the tombstone
 * was committed but the sync after it failed, the scan is gone as on success, and the error
 * (its message says so) is returned too: the deletion may not survive a power loss.
 */
int jobq_delete(struct jobq *jq, uint64_t id, struct errbuf *err);

/** What jobq_view_get() and jobq_view_overlay() fill beyond the record. */
enum jobq_view_flags {
	/** counters_json: the performance counters (live ones while the scan runs). */
	JOBQ_VIEW_COUNTERS = 1u << 0,
};

/**
 * One scan as readers see it (API answers, the CLI's summary): the stored record, overlaid with
 * the manager's view while it holds the scan, which is always the newer one. Read the merged
 * fields; rec gives what never changes (id, root, options_json, created_ns).
 */
struct jobq_view {
	/**
	 * The record: owned by the view after jobq_view_get() (freed by jobq_view_clear()); after
	 * jobq_view_overlay() and jobq_view_of_run(), a shallow copy borrowing the caller's strings.
	 */
	struct store_scan rec;
	enum scan_state state;
	int64_t started_ns, finished_ns;
	/** The counts; queued_dirs is non-zero only while the scan runs. */
	struct scanner_progress progress;
	/** Why it failed, or NULL; points into the view (or the borrowed record). */
	const char *error;
	/**
	 * With JOBQ_VIEW_COUNTERS: the JSON text of the counters (GET /scans/{id}/stats; zeros with
	 * the totals when the record has none), malloc'ed, owned by the view. NULL while the scan
	 * is queued in the manager (it has none yet).
	 */
	char *counters_json;
	/** Whether the manager (or the run) held the scan: the merged fields come from it. */
	bool live;
	/* Private. */
	bool owns_rec;
	char live_error[SCANRUN_ERROR_MAX];
};

/**
 * Fills `out` with scan `id`: the manager's view when it holds the scan, read before the store
 * so that a scan it has let go of is read final. Returns 0; -ENOENT when there is no such scan
 * or it was deleted; -ENOMEM (counters); another negative error from the store. `err` says
 * which. jobq_view_clear(out) afterwards, whatever the result.
 */
int jobq_view_get(struct jobq *jq, uint64_t id, unsigned flags, struct jobq_view *out,
		  struct errbuf *err);

/**
 * Fills `out` from `rec` (borrowed: it must outlive the view), overlaid with the manager's view
 * when it holds the scan (scan lists). Returns 0, -ENOENT when the scan was deleted, -ENOMEM.
 */
int jobq_view_overlay(struct jobq *jq, const struct store_scan *rec, unsigned flags,
		      struct jobq_view *out);

/**
 * Fills `out` from a scan run outside any manager (the one-shot CLI), borrowing from `r`: takes
 * r->lock. Returns 0 or -ENOMEM (counters).
 */
int jobq_view_of_run(struct scanrun *r, unsigned flags, struct jobq_view *out);

/**
 * Fills `out` from a stored record alone (the CLI reading a store, with or without a server
 * beside it), borrowing `rec`, which must outlive the view. Returns 0 or -ENOMEM (counters).
 */
int jobq_view_of_record(const struct store_scan *rec, unsigned flags, struct jobq_view *out);

/** Frees what the view owns and zeroes it. NULL is fine. */
void jobq_view_clear(struct jobq_view *v);

/**
 * The progress samples of scan `id` (GET /scans/{id}/progress): the manager's while it holds the
 * scan (those taken so far; the final one once it has ended), else the store's. *v is malloc'ed
 * (the caller frees; NULL when *n is 0). 0; -ENOENT when there is no such scan or it was
 * deleted; -ENOMEM or a store error, with a message in `err`.
 */
int jobq_samples(struct jobq *jq, uint64_t id, struct store_sample **v, size_t *n,
		 struct errbuf *err);

/**
 * The JSON object text of a scan's state as events carry it: {"scan_id", "state", "entries",
 * "dirs", "files", "symlinks", "other", "bytes", "errors", "queued_dirs", "elapsed_seconds",
 * "error"}: the data of `finished`, and of the `state` an event stream opens with. Malloc'ed;
 * NULL when out of memory. Pure.
 */
char *jobq_view_doc(const struct jobq_view *v);

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
 * interrupted, keeping what they found), and waits for them and for the purge under way, if any.
 * Purges not begun are left to the next store_open(), which resumes them (their tombstones are
 * durable), so a long list of deletions does not hold up a shutdown.
 */
void jobq_shutdown(struct jobq *jq);

/** Tests only: the work the manager did, to check costs by counting rather than timing. */
struct jobq_work {
	/** Lookups of a scan by id, and the hash slots they looked at. */
	uint64_t lookups, probes;
	/** Jobs visited by walks of the manager's lists (jobq_metrics(), shutdown). */
	uint64_t visits;
	/** Jobs the manager holds. */
	uint64_t held;
};

/** Tests only: fills `out` with the work done since jobq_create(). */
void jobq_test_work(struct jobq *jq, struct jobq_work *out);

#endif
