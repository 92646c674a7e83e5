/* scan_run.c: one scan's life, shared by the job manager and the one-shot CLI (see scan_run.h). */
#include "service/job/scan_run.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "service/job/scanjson.h"

/*
 * Design. A run moves through: created (queued or running) -> running -> scanner attached ->
 * scanner_run() -> folded (final state, counters, scanner detached) -> final record written.
 * Each step that changes what readers see is one critical section under *lock, so a reader
 * sees either the live scanner or the folded counts, never both or neither; the scanner is
 * attached and detached under the lock and destroyed only after it is detached, so any thread
 * holding the lock may cancel it or read its progress. The store writes (start and final
 * record) are made outside the lock from a snapshot taken under it.
 */

int scanrun_init(struct scanrun *r, const struct scanrun_args *a, struct errbuf *err)
{
	memset(r, 0, sizeof(*r));
	r->store = a->store;
	r->lock = a->lock;
	r->hooks = a->hooks;
	r->opts = *a->opts;
	r->opts.root = NULL;
	r->opts.allowed_root = NULL;
	r->opts.ignore = NULL;
	r->opts.ignore_count = 0;
	r->opts.log_tag = r->tag;
	snprintf(r->tag, sizeof(r->tag), "scan");
	char *root = strdup(a->opts->root ? a->opts->root : "");
	r->opts.root = root;
	r->options_json = strdup(a->options_json ? a->options_json : "{}");
	if (!root || !r->options_json)
		goto oom;
	if (a->opts->allowed_root && !(r->opts.allowed_root = strdup(a->opts->allowed_root)))
		goto oom;
	if (a->opts->ignore_count) {
		char **ign = calloc(a->opts->ignore_count, sizeof(*ign));
		if (!ign)
			goto oom;
		r->opts.ignore = (const char *const *)ign;
		for (size_t i = 0; i < a->opts->ignore_count; i++) {
			if (!(ign[i] = strdup(a->opts->ignore[i])))
				goto oom;
			r->opts.ignore_count++;
		}
	}
	return 0;
oom:
	return errbuf_errno(err, ENOMEM, "copying the options of a scan of %s",
			    a->opts->root ? a->opts->root : "(no root)");
}

void scanrun_clear(struct scanrun *r)
{
	if (!r)
		return;
	free((char *)r->opts.root);
	free((char *)r->opts.allowed_root);
	for (size_t i = 0; i < r->opts.ignore_count; i++)
		free((char *)r->opts.ignore[i]);
	free((char **)r->opts.ignore);
	free(r->options_json);
	free(r->counters_json);
	memset(r, 0, sizeof(*r));
}

struct store_scan_totals scanrun_totals(const struct scanner_progress *p)
{
	return (struct store_scan_totals){.dirs = p->dirs, .files = p->files,
					  .symlinks = p->symlinks, .other = p->other,
					  .bytes = p->bytes, .errors = p->errors};
}

char *scanrun_counters_json(const struct scanner_stats *st, const struct store_scan_totals *t)
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
	char *text = o ? scanjson_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

/* The record of `r`, borrowing its strings. *lock held, or `r` not shared yet. */
static void scanrun_record(const struct scanrun *r, struct store_scan *rec)
{
	*rec = (struct store_scan){
		.id = r->id, .state = r->state, .root = (char *)r->opts.root,
		.root_len = strlen(r->opts.root), .options_json = r->options_json,
		.counters_json = r->counters_json, .error = r->error[0] ? (char *)r->error : NULL,
		.created_ns = r->created_ns, .started_ns = r->started_ns,
		.finished_ns = r->finished_ns, .totals = scanrun_totals(&r->progress)};
}

void scanrun_record_locked(const struct scanrun *r, struct store_scan *rec)
{
	scanrun_record(r, rec);
}

int scanrun_record_create(struct scanrun *r, enum scan_state state, struct errbuf *err)
{
	r->state = state;
	r->created_ns = clock_wall_ns();
	if (state == SCAN_RUNNING) {
		r->started_ns = r->created_ns;
		r->stored_running = true;
	}
	struct store_scan rec;
	scanrun_record(r, &rec);
	rec.id = 0;
	int rc = store_scan_create(r->store, &rec, err);
	if (rc < 0)
		return rc;
	r->id = rec.id;
	r->opts.scan_id = rec.id;
	snprintf(r->tag, sizeof(r->tag), "scan %llu", (unsigned long long)rec.id);
	return 0;
}

void scanrun_start_locked(struct scanrun *r)
{
	r->state = SCAN_RUNNING;
	r->started_ns = clock_wall_ns();
}

bool scanrun_stop_locked(struct scanrun *r, enum scanrun_stop why)
{
	if (r->stop != SCANRUN_GO)
		return false;
	r->stop = why;
	if (r->sc)
		scanner_cancel(r->sc);
	return true;
}

void scanrun_end_locked(struct scanrun *r, enum scan_state state)
{
	r->state = state;
	r->finished_ns = clock_wall_ns();
	free(r->counters_json);
	r->counters_json = scanrun_counters_json(NULL, NULL);
}

void scanrun_progress_locked(const struct scanrun *r, struct scanner_progress *out)
{
	if (r->sc)
		scanner_progress(r->sc, out);
	else
		*out = r->progress;
}

int scanrun_write(struct scanrun *r, struct errbuf *err)
{
	struct store_scan rec;
	pthread_mutex_lock(r->lock);
	scanrun_record(r, &rec);
	pthread_mutex_unlock(r->lock);
	return store_scan_update(r->store, &rec, err);
}

static void scanrun_point(struct scanrun *r, enum scanrun_point pt)
{
	if (r->hooks.point)
		r->hooks.point(r->hooks.ctx, r->id, pt);
}

/* scanner_create() failed: the scan ends failed with its message, having found nothing. */
static void scanrun_fail_create(struct scanrun *r, const struct errbuf *e)
{
	pthread_mutex_lock(r->lock);
	scanrun_end_locked(r, SCAN_FAILED);
	r->final_unwritten = true;
	snprintf(r->error, sizeof(r->error), "%s",
		 e->msg[0] ? e->msg : "the scanner could not be created");
	pthread_mutex_unlock(r->lock);
	LOG_EV(LOG_ERROR, "scan failed to start", LOG_U64("scan_id", r->id),
	       LOG_STR("error", r->error));
}

/*
 * After scanner_run() returned: takes the final counts (they no longer change), then in one
 * critical section publishes them with the final state and detaches the scanner, so readers
 * never see the counts missing or twice.
 */
static void scanrun_fold(struct scanrun *r, struct scanner *sc, enum scanner_outcome outcome,
			 const struct errbuf *e)
{
	struct scanner_progress prog;
	scanner_progress(sc, &prog);
	prog.queued_dirs = 0;
	struct scanner_stats st;
	if (scanner_stats(sc, &st) < 0)
		LOG_EV(LOG_ERROR, "reading the counters of a scan: out of memory",
		       LOG_U64("scan_id", r->id));
	struct store_scan_totals totals = scanrun_totals(&prog);
	char *counters = scanrun_counters_json(&st, &totals);

	pthread_mutex_lock(r->lock);
	if (r->hooks.fold)
		r->hooks.fold(r->hooks.ctx, &prog, &st);
	r->sc = NULL;
	r->progress = prog;
	free(r->counters_json);
	r->counters_json = counters;
	if (outcome == SCANNER_DONE)
		r->state = SCAN_COMPLETED;
	else if (outcome == SCANNER_FAILED)
		r->state = SCAN_FAILED;
	else
		r->state = r->stop == SCANRUN_INTERRUPT ? SCAN_INTERRUPTED : SCAN_CANCELLED;
	if (outcome == SCANNER_FAILED)
		snprintf(r->error, sizeof(r->error), "%s", e->msg[0] ? e->msg : "the scan failed");
	r->finished_ns = clock_wall_ns();
	r->final_unwritten = true;
	pthread_mutex_unlock(r->lock);
	scanner_stats_clear(&st);
}

/* Attaches `sc`, runs it, folds what it found and destroys it. */
static void scanrun_scan(struct scanrun *r, struct scanner *sc)
{
	pthread_mutex_lock(r->lock);
	r->sc = sc;
	bool stop = r->stop != SCANRUN_GO;
	pthread_mutex_unlock(r->lock);
	/* Asked to stop before there was a scanner to cancel. Only this thread destroys sc. */
	if (stop)
		scanner_cancel(sc);
	scanrun_point(r, SCANRUN_ATTACHED);

	struct errbuf e;
	errbuf_clear(&e);
	enum scanner_outcome outcome = scanner_run(sc, &e);
	scanrun_point(r, SCANRUN_RAN);
	scanrun_fold(r, sc, outcome, &e);
	scanner_destroy(sc);
}

/*
 * A completed scan's per-directory totals (GET /scans/{id}/tree), computed once from what it
 * stored, before its final record says it is completed. A failure costs only those totals: the
 * first read of /tree computes them again.
 */
static void scanrun_tree(struct scanrun *r)
{
	struct errbuf e;
	errbuf_clear(&e);
	int64_t t0 = clock_mono_ns();
	int rc = store_flush(r->store, r->id, &e);
	if (rc == 0)
		rc = store_tree_build(r->store, r->id, &e);
	if (rc < 0 && rc != -ENOENT) /* -ENOENT: deleted meanwhile */
		LOG_EV(LOG_WARN, "computing the directory totals of a scan failed",
		       LOG_U64("scan_id", r->id), LOG_STR("error", e.msg));
	else if (rc == 0)
		LOG_EV(LOG_DEBUG, "directory totals computed", LOG_U64("scan_id", r->id),
		       LOG_DBL("seconds", (double)(clock_mono_ns() - t0) / 1e9));
}

int scanrun_options_baseline(const char *options_json, uint64_t *out)
{
	json_t *o = options_json ? json_loads(options_json, 0, NULL) : NULL;
	json_t *b = o ? json_object_get(o, "baseline") : NULL;
	int rc = 1;
	if (b && json_is_integer(b) && json_integer_value(b) > 0) {
		*out = (uint64_t)json_integer_value(b);
		rc = 0;
	}
	json_decref(o);
	return rc;
}

/* Adds "diff": {"against", "added", "removed", "modified", "type_changed"} to counters text. */
static char *scanrun_counters_diff(const char *counters, uint64_t against,
				   const struct store_diff_counts *c)
{
	json_t *o = counters ? json_loads(counters, 0, NULL) : json_object();
	json_t *d = json_object();
	char *text = NULL;
	if (o && d && json_is_object(o) &&
	    json_object_set_new(d, "against", json_integer((json_int_t)against)) == 0) {
		bool ok = true;
		for (unsigned i = 0; i < STORE_DIFF_CHANGE_COUNT && ok; i++)
			ok = json_object_set_new(d, store_diff_change_name((enum store_diff_change)i),
						 json_integer((json_int_t)c->n[i])) == 0;
		if (ok && json_object_set(o, "diff", d) == 0)
			text = scanjson_dumps(o, JSON_COMPACT);
	}
	json_decref(d);
	json_decref(o);
	return text;
}

/*
 * A completed scan with a baseline: the counts of its diff from the baseline, computed once and
 * kept in its counters (GET /scans/{id}/stats), so that a consumer learns how much changed
 * without reading the diff. A failure costs only the counts (the diff itself stays readable).
 */
static void scanrun_diff_counts(struct scanrun *r)
{
	uint64_t against = 0;
	if (scanrun_options_baseline(r->options_json, &against) != 0)
		return;
	struct errbuf e;
	errbuf_clear(&e);
	struct store_diff_counts c;
	int64_t t0 = clock_mono_ns();
	int rc = store_diff_count(r->store, against, r->id, &c, &e);
	if (rc != 0) {
		struct store_scan self = {0};
		bool gone = rc == -ENOENT && store_scan_get(r->store, r->id, &self, NULL) == -ENOENT;
		store_scan_clear(&self);
		if (!gone) /* the baseline deleted meanwhile, or a failure: say so */
			LOG_EV(LOG_WARN, "counting the diff of a scan from its baseline failed",
			       LOG_U64("scan_id", r->id), LOG_U64("baseline", against),
			       LOG_STR("error", rc > 0 ? "out of memory" : e.msg));
		return;
	}
	pthread_mutex_lock(r->lock);
	char *text = scanrun_counters_diff(r->counters_json, against, &c);
	if (text) {
		free(r->counters_json);
		r->counters_json = text;
	}
	pthread_mutex_unlock(r->lock);
	if (!text)
		LOG_EV(LOG_WARN, "recording the diff counts of a scan failed: out of memory",
		       LOG_U64("scan_id", r->id));
	else
		LOG_EV(LOG_DEBUG, "diff from the baseline counted", LOG_U64("scan_id", r->id),
		       LOG_DBL("seconds", (double)(clock_mono_ns() - t0) / 1e9));
}

static void *scanrun_diff_thread(void *arg)
{
	scanrun_diff_counts(arg);
	return NULL;
}

/*
 * A completed scan's totals and diff counts, before its final record: the diff only reads, so
 * it runs beside the totals in a thread of its own when there is a baseline (a rescan's time is
 * short, and these two were a third of it), inline when no thread can be had.
 */
static void scanrun_complete(struct scanrun *r)
{
	uint64_t against;
	pthread_t t;
	bool apart = scanrun_options_baseline(r->options_json, &against) == 0 &&
		     pthread_create(&t, NULL, scanrun_diff_thread, r) == 0;
	scanrun_tree(r);
	if (apart)
		pthread_join(t, NULL);
	else
		scanrun_diff_counts(r);
}

int scanrun_run(struct scanrun *r, struct errbuf *err)
{
	struct errbuf e;
	errbuf_clear(&e);
	/* -ENOENT: deleted (tombstoned) meanwhile; the job manager is stopping it. Not a failure. */
	int wrc = r->stored_running ? 0 : scanrun_write(r, &e);
	if (wrc < 0 && wrc != -ENOENT)
		LOG_EV(LOG_WARN, "recording the start of a scan failed", LOG_U64("scan_id", r->id),
		       LOG_STR("error", e.msg));
	LOG_EV(LOG_INFO, "scan started", LOG_U64("scan_id", r->id),
	       LOG_BYTES("root", r->opts.root, strlen(r->opts.root)));
	scanrun_point(r, SCANRUN_STARTED);

	struct scanner *sc = NULL;
	errbuf_clear(&e);
	if (scanner_create(&sc, &r->opts, r->store, &e) < 0)
		scanrun_fail_create(r, &e);
	else
		scanrun_scan(r, sc);

	pthread_mutex_lock(r->lock);
	enum scan_state state = r->state;
	pthread_mutex_unlock(r->lock);
	if (state == SCAN_COMPLETED) {
		scanrun_complete(r);
	}
	/* The scanner logged "scan finished" with its counts; say only what it cannot know. */
	if (state == SCAN_INTERRUPTED)
		LOG_EV(LOG_INFO, "scan interrupted by shutdown", LOG_U64("scan_id", r->id));
	scanrun_point(r, SCANRUN_FINAL);
	int rc = scanrun_write(r, err);
	/* Written (or not writable: then memory is all there is, and it is shown). */
	pthread_mutex_lock(r->lock);
	r->final_unwritten = false;
	pthread_mutex_unlock(r->lock);
	return rc;
}
