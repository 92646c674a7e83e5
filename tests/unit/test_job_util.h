/* test_job_util.h: the world of the job manager tests: a tree, a store, a jobq with a test hook
 * holding runners at named points, and the checks the tests share (test_job*.c). */
#ifndef LEINDEX_TEST_JOB_UTIL_H
#define LEINDEX_TEST_JOB_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "service/cli_scan.h"
#include "service/config.h"
#include "service/job/job.h"
#include "service/scan/scanner.h"
#include "tests/unit/test_store_util.h"
#include "tests/unit/unit.h"

/*
 * Like bfs's tests/ioq.c check_ioq_push_block(): a scan's runner is held at one named point of
 * its life (jobq_opts.test_hook), the test performs the other action (cancel, delete, shutdown,
 * or nothing: the scan finishes), then releases it and checks what a user can see: the stored
 * record, jobq_live(), the merged view. Every wait is on a condition with a generous deadline,
 * never a sleep. Scans run on a small real tree made under a temp dir.
 */

/** Generous: a loaded machine under TSan must never hit it. */
#define TJ_DEADLINE_NS (60ll * 1000000000ll)

/* The small tree: the root, 3 directories and 7 files of 1 byte each. */
#define TJ_DIRS 3
#define TJ_FILES 7

/* Points a test can hold a thread at (enum jobq_point). */
#define TJ_POINTS (JOBQ_POINT_SETTLE + 1)

/* A gate a runner stops at, and what the hooks saw. */
struct tj_gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Armed: hold the first runner that reaches `point`. */
	bool armed;
	enum jobq_point point;
	bool arrived, released;
	bool shutdown_seen;
	/* on_finish calls per scan id (small ids only). */
	unsigned finished[16];
	/*
	 * Per point, for scenarios that hold several threads at once: hold[pt] holds the first
	 * thread that reaches pt until freed[pt]; reached[pt] and at[pt] (its id) say who came.
	 */
	bool hold[TJ_POINTS], reached[TJ_POINTS], freed[TJ_POINTS];
	uint64_t at[TJ_POINTS];
};

static inline void tj_gate_init(struct tj_gate *g)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->lock, NULL);
	clock_cond_init(&g->cond);
}

static inline void tj_gate_destroy(struct tj_gate *g)
{
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}

/* Waits (g->lock held) until *flag, or the deadline; returns *flag. */
static inline bool tj_wait_flag(struct tj_gate *g, const bool *flag)
{
	struct timespec until = clock_deadline(TJ_DEADLINE_NS);
	while (!*flag)
		if (pthread_cond_timedwait(&g->cond, &g->lock, &until) == ETIMEDOUT)
			break;
	return *flag;
}

/* The jobq test hook: holds the runner at the armed point until released. */
static inline void tj_hook(void *ctx, uint64_t id, enum jobq_point pt)
{
	(void)id;
	struct tj_gate *g = ctx;
	pthread_mutex_lock(&g->lock);
	if ((unsigned)pt < TJ_POINTS) {
		g->reached[pt] = true;
		g->at[pt] = id;
		pthread_cond_broadcast(&g->cond);
		if (g->hold[pt]) {
			g->hold[pt] = false;
			tj_wait_flag(g, &g->freed[pt]);
		}
	}
	if (pt == JOBQ_POINT_SHUTDOWN) {
		g->shutdown_seen = true;
		pthread_cond_broadcast(&g->cond);
	} else if (g->armed && pt == g->point) {
		g->armed = false;
		g->arrived = true;
		pthread_cond_broadcast(&g->cond);
		/* Not a CUnit assertion: this runs on a jobq thread. The test fails on its side. */
		tj_wait_flag(g, &g->released);
	}
	pthread_mutex_unlock(&g->lock);
}

static inline void tj_on_finish(void *ctx, uint64_t id)
{
	struct tj_gate *g = ctx;
	pthread_mutex_lock(&g->lock);
	if (id < 16)
		g->finished[id]++;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static inline bool tj_wait_arrived(struct tj_gate *g)
{
	pthread_mutex_lock(&g->lock);
	bool ok = tj_wait_flag(g, &g->arrived);
	pthread_mutex_unlock(&g->lock);
	return ok;
}

static inline void tj_release(struct tj_gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->released = true;
	for (unsigned i = 0; i < TJ_POINTS; i++)
		g->freed[i] = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

/* Waits until scan `id` was reported finished `count` times. */
static inline bool tj_wait_finished(struct tj_gate *g, uint64_t id, unsigned count)
{
	struct timespec until = clock_deadline(TJ_DEADLINE_NS);
	pthread_mutex_lock(&g->lock);
	while (g->finished[id] < count)
		if (pthread_cond_timedwait(&g->cond, &g->lock, &until) == ETIMEDOUT)
			break;
	bool ok = g->finished[id] >= count;
	pthread_mutex_unlock(&g->lock);
	return ok;
}

/* One scenario's world: a tree, a store, a job manager with the gate as its test hook. */
struct tj_world {
	char dir[64];
	char tree[PATH_MAX];
	char data[PATH_MAX];
	struct store *store;
	struct jobq *jq;
	struct tj_gate gate;
};

static inline void tj_mkdir(const char *base, const char *rel)
{
	char p[PATH_MAX];
	CU_ASSERT_FATAL(snprintf(p, sizeof(p), "%s/%s", base, rel) < (int)sizeof(p));
	CU_ASSERT_EQUAL_FATAL(mkdir(p, 0755), 0);
}

static inline void tj_file(const char *base, const char *rel)
{
	char p[PATH_MAX];
	CU_ASSERT_FATAL(snprintf(p, sizeof(p), "%s/%s", base, rel) < (int)sizeof(p));
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "x", 1), 1);
	close(fd);
}

/* Makes the tree (TJ_DIRS directories, TJ_FILES files) under `root`. */
static inline void tj_tree(const char *root)
{
	CU_ASSERT_EQUAL_FATAL(mkdir(root, 0755), 0);
	tj_mkdir(root, "a");
	tj_mkdir(root, "b");
	tj_mkdir(root, "b/c");
	static const char *const files[TJ_FILES] = {"f", "a/1", "a/2", "a/3", "b/x", "b/c/y", "b/c/z"};
	for (int i = 0; i < TJ_FILES; i++)
		tj_file(root, files[i]);
}

static inline void tj_start_jobq(struct tj_world *w, unsigned max_running, unsigned max_queued)
{
	struct jobq_opts o = {.store = w->store, .max_running = max_running, .max_queued = max_queued,
			      .on_finish = tj_on_finish, .on_finish_ctx = &w->gate,
			      .test_hook = tj_hook, .test_hook_ctx = &w->gate};
	struct errbuf err;
	errbuf_clear(&err);
	CU_ASSERT_EQUAL_FATAL(jobq_create(&w->jq, &o, &err), 0);
}

static inline void tj_open_q(struct tj_world *w, unsigned max_running, unsigned max_queued)
{
	memset(w, 0, sizeof(*w));
	tsu_tmpdir(w->dir);
	snprintf(w->tree, sizeof(w->tree), "%s/tree", w->dir);
	snprintf(w->data, sizeof(w->data), "%s/data", w->dir);
	tj_tree(w->tree);
	w->store = tsu_open(w->data, 64ull << 20);
	tj_gate_init(&w->gate);
	tj_start_jobq(w, max_running, max_queued);
}

/* As a restart would: a new store and job manager on the same data directory. */
static inline void tj_restart(struct tj_world *w)
{
	tj_release(&w->gate);
	jobq_destroy(w->jq);
	store_close(w->store);
	w->store = tsu_open(w->data, 64ull << 20);
	tj_start_jobq(w, 1, 8);
}

static inline void tj_open(struct tj_world *w, unsigned max_running)
{
	tj_open_q(w, max_running, 8);
}

static inline void tj_close(struct tj_world *w)
{
	/* Never leave a runner held: destroy joins it. */
	tj_release(&w->gate);
	jobq_destroy(w->jq);
	store_close(w->store);
	tj_gate_destroy(&w->gate);
	tsu_rmrf(w->dir);
}

static inline uint64_t tj_submit(struct tj_world *w, const char *root)
{
	struct scanner_opts so = {.root = root, .workers = 2, .max_depth = -1};
	struct errbuf err;
	errbuf_clear(&err);
	uint64_t id = 0;
	int rc = jobq_submit(w->jq, &so, "{}", &id, &err);
	CU_ASSERT_EQUAL(rc, 0);
	if (rc < 0)
		fprintf(stderr, "jobq_submit: %s\n", err.msg);
	return id;
}

/* The stored record of `id`: its state, or -ENOENT; its totals in *totals. */
static inline int tj_stored(struct tj_world *w, uint64_t id, struct store_scan_totals *totals,
		     char *error, size_t error_cap)
{
	struct store_scan rec = {0};
	struct errbuf err;
	errbuf_clear(&err);
	int rc = store_scan_get(w->store, id, &rec, &err);
	if (rc == 0) {
		rc = (int)rec.state;
		if (totals)
			*totals = rec.totals;
		if (error)
			snprintf(error, error_cap, "%s", rec.error ? rec.error : "");
	}
	store_scan_clear(&rec);
	return rc;
}

/* What jobq_live() says of `id`: its state, or -ENOENT (deleted), or -1 (not held). */
static inline int tj_live(struct tj_world *w, uint64_t id)
{
	struct jobq_live l;
	int rc = jobq_live(w->jq, id, &l);
	return rc < 0 ? rc : rc == 0 ? -1 : (int)l.state;
}

/* Holds the next runner at `pt`, submits a scan of the tree and waits until it is held there. */
static inline uint64_t tj_hold(struct tj_world *w, enum jobq_point pt)
{
	pthread_mutex_lock(&w->gate.lock);
	w->gate.armed = true;
	w->gate.point = pt;
	pthread_mutex_unlock(&w->gate.lock);
	uint64_t id = tj_submit(w, w->tree);
	CU_ASSERT_TRUE_FATAL(tj_wait_arrived(&w->gate));
	return id;
}

static const char *const tj_point_names[] = {"started", "attached", "ran", "final"};
static const enum jobq_point tj_points[] = {JOBQ_POINT_STARTED, JOBQ_POINT_ATTACHED,
					    JOBQ_POINT_RAN, JOBQ_POINT_FINAL};

/* Whether a stop asked at `pt` still stops the scan (scanner_run() has not returned yet). */
static inline bool tj_stoppable(enum jobq_point pt)
{
	return pt == JOBQ_POINT_STARTED || pt == JOBQ_POINT_ATTACHED;
}

/* A completed scan of the tree counts all of it. */
static inline void tj_assert_complete_totals(const struct store_scan_totals *t)
{
	CU_ASSERT_EQUAL(t->dirs, TJ_DIRS);
	CU_ASSERT_EQUAL(t->files, TJ_FILES);
	CU_ASSERT_EQUAL(t->bytes, TJ_FILES);
	CU_ASSERT_EQUAL(t->errors, 0);
}

static inline int tj_list_has_cb(void *ctx, const struct store_scan *scan)
{
	uint64_t *want = ctx;
	if (scan->id == *want)
		*want = 0;
	return 0;
}

static inline int tj_walk_cb(void *ctx, const char *path, size_t len, const struct entry *e)
{
	(void)path;
	(void)len;
	(void)e;
	(*(unsigned *)ctx)++;
	return 0;
}

/* Scan `id` is gone for every reader: the manager, the record, the list, the entries. */
static inline void tj_assert_gone(struct tj_world *w, uint64_t id)
{
	struct errbuf err;
	errbuf_clear(&err);
	struct jobq_view v;
	CU_ASSERT_EQUAL(jobq_view_get(w->jq, id, 0, &v, &err), -ENOENT);
	jobq_view_clear(&v);
	CU_ASSERT_EQUAL(tj_live(w, id), -1);
	CU_ASSERT_FALSE(jobq_deleted(w->jq, id));
	CU_ASSERT_EQUAL(tj_stored(w, id, NULL, NULL, 0), -ENOENT);
	uint64_t want = id;
	CU_ASSERT_EQUAL(store_scan_list(w->store, 0, 0, tj_list_has_cb, &want, &err), 0);
	CU_ASSERT_EQUAL(want, 0 * id + id); /* not listed: still the id */
	unsigned n = 0;
	struct store_pos next;
	bool more = false;
	CU_ASSERT_EQUAL(store_walk(w->store, id, NULL, NULL, 100, tj_walk_cb, &n, &next, &more, &err),
			-ENOENT);
	CU_ASSERT_EQUAL(n, 0);
}

/* Nothing is queued or running, and the manager holds no scan. */
static inline void tj_assert_idle(struct tj_world *w)
{
	unsigned running = 9, queued = 9;
	jobq_counts(w->jq, &running, &queued);
	CU_ASSERT_EQUAL(running, 0);
	CU_ASSERT_EQUAL(queued, 0);
	struct jobq_work work;
	jobq_test_work(w->jq, &work);
	CU_ASSERT_EQUAL(work.held, 0);
}

/*
 * Defect 6, replayed: DELETE lands between the store write that gives a new scan its id and
 * the moment the manager queues it. The old manager found no job, purged the record, and then
 * queued a scan that ran, failed on its missing record and stayed in memory: 404 on GET
 * /scans/{id}, 200 [] on /entries. Now the delete waits for the submission (JOBQ_POINT_SETTLE)
 * and then takes the job out of the queue: the scan is gone everywhere and nothing is held.
 */
#endif
