/* scan_run.h: one scan's life: its record, the scanner run, its counters, its final record. */
#ifndef LEINDEX_SCAN_RUN_H
#define LEINDEX_SCAN_RUN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/errbuf.h"
#include "service/scan/scanner.h"
#include "store/store.h"

/*
 * The job manager's runners and the one-shot CLI run scans through these functions, so a scan
 * is recorded, run, counted and finished the same way whoever started it.
 *
 * Calling sequence: scanrun_init(); scanrun_record_create() (the job manager does it at submit
 * time, as queued; the CLI as running); then either scanrun_start_locked() and scanrun_run() on
 * one thread, or, for a scan that never runs, scanrun_end_locked() and scanrun_write();
 * scanrun_stop_locked() from any thread at any time; scanrun_clear() last.
 *
 * Locking: the fields under "guarded" are read and written only with *lock held (the caller's
 * mutex: the job manager's, or one of the CLI's own), so readers on other threads (views,
 * cancel) see each step whole. scanrun_run() takes the lock itself for each step and never holds
 * it while scanning or writing to the store. The other fields are set by scanrun_init() and
 * scanrun_record_create() and then only read.
 */

/** Who asked a scan to stop; the first one wins. */
enum scanrun_stop {
	SCANRUN_GO = 0,
	SCANRUN_CANCEL,    /**< a user: the scan ends cancelled */
	SCANRUN_INTERRUPT, /**< a shutdown: the scan ends interrupted */
};

/** Named points of scanrun_run(), where hooks.point is called (without the lock). */
enum scanrun_point {
	SCANRUN_STARTED,  /**< the start record is written; no scanner yet */
	SCANRUN_ATTACHED, /**< the scanner is created and attached; scanner_run() not called yet */
	SCANRUN_RAN,      /**< scanner_run() returned; the scanner is still attached */
	SCANRUN_FINAL,    /**< the final state is set in memory; its record is not written yet */
};

/** Optional callbacks of a run. */
struct scanrun_hooks {
	/**
	 * Called with *lock held in the step that detaches the scanner, with what the scan found
	 * (the job manager folds it into its process totals in the same critical section).
	 */
	void (*fold)(void *ctx, const struct scanner_progress *p, const struct scanner_stats *st);
	/** Tests only: called at each enum scanrun_point, without the lock, on the running thread. */
	void (*point)(void *ctx, uint64_t id, enum scanrun_point pt);
	void *ctx;
};

/** What scanrun_init() needs. */
struct scanrun_args {
	/** The store the scan is written to; borrowed, must outlive the run. */
	struct store *store;
	/** Guards the run's changing fields against other threads; borrowed, must outlive the run. */
	pthread_mutex_t *lock;
	/** The scan's options; copied (scan_id and log_tag are set by scanrun_record_create()). */
	const struct scanner_opts *opts;
	/** JSON text of the effective options, copied; NULL: "{}". */
	const char *options_json;
	struct scanrun_hooks hooks;
};

/** Room for a scan's error text, terminating NUL included. */
#define SCANRUN_ERROR_MAX 1024

/**
 * One scan and its run. Embed it (the job manager's job, the CLI's stack) and scanrun_init() it;
 * it points into itself (opts.log_tag), so it must not be moved or copied once initialised.
 */
struct scanrun {
	/* Set by scanrun_init() and scanrun_record_create(), then read-only. */
	/** The options; root, ignore and log_tag point into this struct's own copies. */
	struct scanner_opts opts;
	char *options_json;
	char tag[32];
	struct store *store;
	pthread_mutex_t *lock;
	struct scanrun_hooks hooks;
	uint64_t id;
	int64_t created_ns;

	/* Guarded by *lock. */
	enum scan_state state;
	int64_t started_ns, finished_ns;
	/** Attached between scanner_create() and the end of scanner_run(): use only under *lock. */
	struct scanner *sc;
	enum scanrun_stop stop;
	/** The final counts (the live ones come from sc while it is attached). */
	struct scanner_progress progress;
	/** JSON text of the final counters (scanjson_counters()), malloc'ed; NULL until final. */
	char *counters_json;
	/** Why it failed; empty when it did not. */
	char error[SCANRUN_ERROR_MAX];
	/** The store record already says running (created so), so no start record is written. */
	bool stored_running;
	/**
	 * The final state is set but its record not written yet: readers are shown `running`
	 * (scanrun_state_shown_locked()) until it is, so that no client acts on a `completed` a
	 * crash would turn back into `interrupted`.
	 */
	bool final_unwritten;
};

/** The state readers are shown: r->state, or running while the final record is unwritten. */
static inline enum scan_state scanrun_state_shown_locked(const struct scanrun *r)
{
	return r->final_unwritten ? SCAN_RUNNING : r->state;
}

/** Copies the arguments into `r` (zeroed first). -ENOMEM with a message; then scanrun_clear(r). */
int scanrun_init(struct scanrun *r, const struct scanrun_args *args, struct errbuf *err);

/** Frees what `r` owns (not the scanner: none is attached outside scanrun_run()). NULL is fine. */
void scanrun_clear(struct scanrun *r);

/**
 * Creates the store record of `r` in `state` (SCAN_QUEUED or SCAN_RUNNING, which also sets the
 * start time), giving the scan its id: sets r->id, opts.scan_id and opts.log_tag ("scan N").
 * Call before any other thread sees `r`. 0, or a negative error with a message in `err`.
 */
int scanrun_record_create(struct scanrun *r, enum scan_state state, struct errbuf *err);

/** Marks a queued scan running (its start time is now). *lock held. */
void scanrun_start_locked(struct scanrun *r);

/**
 * Runs a started scan to its end on the calling thread: writes the start record (unless it was
 * created running), creates the scanner (a failure ends the scan `failed` with the message),
 * runs it, folds its counters, sets the final state (completed, failed with the error text, or
 * cancelled/interrupted as r->stop says), destroys the scanner and writes the final record.
 * Returns that last write's result: 0; -ENOENT when the scan was deleted (tombstoned) meanwhile,
 * which is no failure (its record must not come back: drop `r`); or another negative error with
 * a message in `err` (the final state is then only in memory: keep `r` for readers).
 */
int scanrun_run(struct scanrun *r, struct errbuf *err);

/**
 * Asks a scan to stop for `why` (not SCANRUN_GO): the first request wins and cancels the
 * attached scanner; a scan not attached yet is cancelled as soon as it is. Returns false when
 * the scan was already asked to stop. *lock held.
 */
bool scanrun_stop_locked(struct scanrun *r, enum scanrun_stop why);

/** Ends a scan that never ran (queued) in `state`, with zero counters. *lock held. */
void scanrun_end_locked(struct scanrun *r, enum scan_state state);

/**
 * Writes the record of `r` as it stands (a snapshot taken under *lock). 0, or a negative error
 * with a message in `err`.
 */
int scanrun_write(struct scanrun *r, struct errbuf *err);

/**
 * The "baseline" of a scan's echoed options (JSON text, NULL allowed): 0 with its id in *out,
 * 1 when there is none (*out untouched). Thread-safe.
 */
int scanrun_options_baseline(const char *options_json, uint64_t *out);

/**
 * The record of `r` as it stands, for a write of many at once (store_scan_update_many()); its
 * strings point into `r`. Call with *lock held; valid while `r` is not changed.
 */
void scanrun_record_locked(const struct scanrun *r, struct store_scan *rec);

/**
 * The counts of `r` now: the attached scanner's live ones, or the last folded ones (queued_dirs
 * is 0 then). *lock held.
 */
void scanrun_progress_locked(const struct scanrun *r, struct scanner_progress *out);

/** The store totals of a progress. */
struct store_scan_totals scanrun_totals(const struct scanner_progress *p);

/**
 * Formats counters as the JSON object text of GET /scans/{id}/stats (malloc'ed): the document of
 * scanjson_counters(), the same as `leindexd scan --json` gives. `st` and `totals` may be NULL
 * (all zero). Returns NULL when out of memory.
 */
char *scanrun_counters_json(const struct scanner_stats *st, const struct store_scan_totals *totals);

#endif
