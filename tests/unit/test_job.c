/* test_job.c: the job manager's races, each replayed deterministically by holding a runner. */
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

static void tj_gate_init(struct tj_gate *g)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->lock, NULL);
	clock_cond_init(&g->cond);
}

static void tj_gate_destroy(struct tj_gate *g)
{
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}

/* Waits (g->lock held) until *flag, or the deadline; returns *flag. */
static bool tj_wait_flag(struct tj_gate *g, const bool *flag)
{
	struct timespec until = clock_deadline(TJ_DEADLINE_NS);
	while (!*flag)
		if (pthread_cond_timedwait(&g->cond, &g->lock, &until) == ETIMEDOUT)
			break;
	return *flag;
}

/* The jobq test hook: holds the runner at the armed point until released. */
static void tj_hook(void *ctx, uint64_t id, enum jobq_point pt)
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

static void tj_on_finish(void *ctx, uint64_t id)
{
	struct tj_gate *g = ctx;
	pthread_mutex_lock(&g->lock);
	if (id < 16)
		g->finished[id]++;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static bool tj_wait_arrived(struct tj_gate *g)
{
	pthread_mutex_lock(&g->lock);
	bool ok = tj_wait_flag(g, &g->arrived);
	pthread_mutex_unlock(&g->lock);
	return ok;
}

static void tj_release(struct tj_gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->released = true;
	for (unsigned i = 0; i < TJ_POINTS; i++)
		g->freed[i] = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

/* Waits until scan `id` was reported finished `count` times. */
static bool tj_wait_finished(struct tj_gate *g, uint64_t id, unsigned count)
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

static void tj_mkdir(const char *base, const char *rel)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", base, rel);
	CU_ASSERT_EQUAL_FATAL(mkdir(p, 0755), 0);
}

static void tj_file(const char *base, const char *rel)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", base, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "x", 1), 1);
	close(fd);
}

/* Makes the tree (TJ_DIRS directories, TJ_FILES files) under `root`. */
static void tj_tree(const char *root)
{
	CU_ASSERT_EQUAL_FATAL(mkdir(root, 0755), 0);
	tj_mkdir(root, "a");
	tj_mkdir(root, "b");
	tj_mkdir(root, "b/c");
	static const char *const files[TJ_FILES] = {"f", "a/1", "a/2", "a/3", "b/x", "b/c/y", "b/c/z"};
	for (int i = 0; i < TJ_FILES; i++)
		tj_file(root, files[i]);
}

static void tj_start_jobq(struct tj_world *w, unsigned max_running, unsigned max_queued)
{
	struct jobq_opts o = {.store = w->store, .max_running = max_running, .max_queued = max_queued,
			      .on_finish = tj_on_finish, .on_finish_ctx = &w->gate,
			      .test_hook = tj_hook, .test_hook_ctx = &w->gate};
	struct errbuf err;
	errbuf_clear(&err);
	CU_ASSERT_EQUAL_FATAL(jobq_create(&w->jq, &o, &err), 0);
}

static void tj_open_q(struct tj_world *w, unsigned max_running, unsigned max_queued)
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
static void tj_restart(struct tj_world *w)
{
	tj_release(&w->gate);
	jobq_destroy(w->jq);
	store_close(w->store);
	w->store = tsu_open(w->data, 64ull << 20);
	tj_start_jobq(w, 1, 8);
}

static void tj_open(struct tj_world *w, unsigned max_running)
{
	tj_open_q(w, max_running, 8);
}

static void tj_close(struct tj_world *w)
{
	/* Never leave a runner held: destroy joins it. */
	tj_release(&w->gate);
	jobq_destroy(w->jq);
	store_close(w->store);
	tj_gate_destroy(&w->gate);
	tsu_rmrf(w->dir);
}

static uint64_t tj_submit(struct tj_world *w, const char *root)
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
static int tj_stored(struct tj_world *w, uint64_t id, struct store_scan_totals *totals,
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
static int tj_live(struct tj_world *w, uint64_t id)
{
	struct jobq_live l;
	int rc = jobq_live(w->jq, id, &l);
	return rc < 0 ? rc : rc == 0 ? -1 : (int)l.state;
}

/* Holds the next runner at `pt`, submits a scan of the tree and waits until it is held there. */
static uint64_t tj_hold(struct tj_world *w, enum jobq_point pt)
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
static bool tj_stoppable(enum jobq_point pt)
{
	return pt == JOBQ_POINT_STARTED || pt == JOBQ_POINT_ATTACHED;
}

/* A completed scan of the tree counts all of it. */
static void tj_assert_complete_totals(const struct store_scan_totals *t)
{
	CU_ASSERT_EQUAL(t->dirs, TJ_DIRS);
	CU_ASSERT_EQUAL(t->files, TJ_FILES);
	CU_ASSERT_EQUAL(t->bytes, TJ_FILES);
	CU_ASSERT_EQUAL(t->errors, 0);
}

/* ---------------------------------------------------------------- finish */

static void test_finish_at_each_point(void)
{
	for (size_t i = 0; i < 4; i++) {
		enum jobq_point pt = tj_points[i];
		fprintf(stderr, "  finish, held at %s\n", tj_point_names[i]);
		struct tj_world w;
		tj_open(&w, 1);
		uint64_t id = tj_hold(&w, pt);
		/* Held: the manager's view wins over the store's, which says running; a final state
		 * not yet written is shown as running too (a crash now would not keep it). */
		CU_ASSERT_EQUAL(tj_live(&w, id), SCAN_RUNNING);
		CU_ASSERT_EQUAL(tj_stored(&w, id, NULL, NULL, 0), SCAN_RUNNING);
		struct jobq_view v;
		struct errbuf err;
		errbuf_clear(&err);
		CU_ASSERT_EQUAL(jobq_view_get(w.jq, id, JOBQ_VIEW_COUNTERS, &v, &err), 0);
		CU_ASSERT_TRUE(v.live);
		CU_ASSERT_EQUAL(v.state, SCAN_RUNNING);
		CU_ASSERT_PTR_NOT_NULL(v.counters_json);
		if (pt == JOBQ_POINT_RAN || pt == JOBQ_POINT_FINAL)
			CU_ASSERT_EQUAL(v.progress.files, TJ_FILES);
		jobq_view_clear(&v);

		tj_release(&w.gate);
		CU_ASSERT_TRUE(tj_wait_finished(&w.gate, id, 1));
		struct store_scan_totals t = {0};
		CU_ASSERT_EQUAL(tj_stored(&w, id, &t, NULL, 0), SCAN_COMPLETED);
		tj_assert_complete_totals(&t);
		CU_ASSERT_EQUAL(tj_live(&w, id), -1);
		errbuf_clear(&err);
		CU_ASSERT_EQUAL(jobq_view_get(w.jq, id, JOBQ_VIEW_COUNTERS, &v, &err), 0);
		CU_ASSERT_FALSE(v.live);
		CU_ASSERT_EQUAL(v.state, SCAN_COMPLETED);
		CU_ASSERT_EQUAL(v.progress.files, TJ_FILES);
		CU_ASSERT_PTR_NOT_NULL(v.counters_json);
		CU_ASSERT_PTR_NULL(v.error);
		jobq_view_clear(&v);
		struct jobq_metrics m;
		jobq_metrics(w.jq, &m);
		CU_ASSERT_EQUAL(m.entries, TJ_DIRS + TJ_FILES);
		CU_ASSERT_EQUAL(m.running, 0);
		tj_close(&w);
	}
}

/* ---------------------------------------------------------------- cancel */

static void test_cancel_at_each_point(void)
{
	for (size_t i = 0; i < 4; i++) {
		enum jobq_point pt = tj_points[i];
		fprintf(stderr, "  cancel, held at %s\n", tj_point_names[i]);
		struct tj_world w;
		tj_open(&w, 1);
		uint64_t id = tj_hold(&w, pt);
		/* A second scan waits behind the held one; cancelling it ends it at once. */
		uint64_t queued = tj_submit(&w, w.tree);
		CU_ASSERT_EQUAL(tj_live(&w, queued), SCAN_QUEUED);
		struct errbuf err;
		errbuf_clear(&err);
		CU_ASSERT_EQUAL(jobq_cancel(w.jq, queued, &err), 0);
		CU_ASSERT_EQUAL(tj_stored(&w, queued, NULL, NULL, 0), SCAN_CANCELLED);
		CU_ASSERT_EQUAL(tj_live(&w, queued), -1);

		errbuf_clear(&err);
		int rc = jobq_cancel(w.jq, id, &err);
		if (pt == JOBQ_POINT_FINAL) {
			/* Already completed in memory: too late, and said so. */
			CU_ASSERT_EQUAL(rc, -EALREADY);
			CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "completed"));
		} else {
			CU_ASSERT_EQUAL(rc, 0);
			errbuf_clear(&err);
			CU_ASSERT_EQUAL(jobq_cancel(w.jq, id, &err), -EALREADY);
			CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "already stopping"));
		}
		tj_release(&w.gate);
		CU_ASSERT_TRUE(tj_wait_finished(&w.gate, id, 1));
		struct store_scan_totals t = {0};
		if (tj_stoppable(pt)) {
			CU_ASSERT_EQUAL(tj_stored(&w, id, &t, NULL, 0), SCAN_CANCELLED);
			CU_ASSERT_TRUE(t.files <= TJ_FILES);
		} else {
			/* scanner_run() had returned: the scan completed whole. */
			CU_ASSERT_EQUAL(tj_stored(&w, id, &t, NULL, 0), SCAN_COMPLETED);
			tj_assert_complete_totals(&t);
		}
		CU_ASSERT_EQUAL(tj_live(&w, id), -1);
		/* Finished now: a cancel is refused, naming the state. */
		errbuf_clear(&err);
		CU_ASSERT_EQUAL(jobq_cancel(w.jq, id, &err), -EALREADY);
		tj_close(&w);
	}
}

/* ---------------------------------------------------------------- delete */

static void test_delete_at_each_point(void)
{
	for (size_t i = 0; i < 4; i++) {
		enum jobq_point pt = tj_points[i];
		fprintf(stderr, "  delete, held at %s\n", tj_point_names[i]);
		struct tj_world w;
		tj_open(&w, 1);
		uint64_t id = tj_hold(&w, pt);
		uint64_t queued = tj_submit(&w, w.tree);
		struct errbuf err;
		errbuf_clear(&err);
		CU_ASSERT_EQUAL(jobq_delete(w.jq, queued, &err), 0);
		/* Durable on return: the store has its tombstone; the manager no longer holds it. */
		CU_ASSERT_EQUAL(tj_stored(&w, queued, NULL, NULL, 0), -ENOENT);
		CU_ASSERT_EQUAL(tj_live(&w, queued), -1);
		errbuf_clear(&err);
		CU_ASSERT_EQUAL(jobq_delete(w.jq, queued, &err), -ENOENT);

		errbuf_clear(&err);
		CU_ASSERT_EQUAL(jobq_delete(w.jq, id, &err), 0);
		/* Hidden at once, from every reader, although its runner is still held; durable too. */
		CU_ASSERT_EQUAL(tj_stored(&w, id, NULL, NULL, 0), -ENOENT);
		CU_ASSERT_EQUAL(tj_live(&w, id), -ENOENT);
		CU_ASSERT_TRUE(jobq_deleted(w.jq, id));
		struct jobq_view v;
		errbuf_clear(&err);
		CU_ASSERT_EQUAL(jobq_view_get(w.jq, id, 0, &v, &err), -ENOENT);
		jobq_view_clear(&v);
		errbuf_clear(&err);
		CU_ASSERT_EQUAL(jobq_delete(w.jq, id, &err), -ENOENT);
		errbuf_clear(&err);
		CU_ASSERT_EQUAL(jobq_cancel(w.jq, id, &err), -ENOENT);

		tj_release(&w.gate);
		/* Once from jobq_delete(), once when its runner let it go. */
		CU_ASSERT_TRUE(tj_wait_finished(&w.gate, id, 2));
		/* Its runner met the tombstone and dropped it: nothing held, nothing written back. */
		CU_ASSERT_EQUAL(tj_live(&w, id), -1);
		CU_ASSERT_FALSE(jobq_deleted(w.jq, id));
		CU_ASSERT_EQUAL(tj_stored(&w, id, NULL, NULL, 0), -ENOENT);
		unsigned running = 9, nqueued = 9;
		jobq_counts(w.jq, &running, &nqueued);
		CU_ASSERT_EQUAL(running, 0);
		CU_ASSERT_EQUAL(nqueued, 0);
		/* Gone after a restart too, rows and all (a purge left undone is resumed at open). */
		tj_restart(&w);
		CU_ASSERT_EQUAL(tj_stored(&w, id, NULL, NULL, 0), -ENOENT);
		CU_ASSERT_EQUAL(tj_stored(&w, queued, NULL, NULL, 0), -ENOENT);
		struct store_info info;
		CU_ASSERT_EQUAL(store_info(w.store, &info, &err), 0);
		CU_ASSERT_EQUAL(info.tombstones, 0);
		tj_close(&w);
	}
}

/* ---------------------------------------------------------------- races with a submission */

/* Arms pt: the first thread that reaches it from now on is held there until tj_free(). */
static void tj_arm(struct tj_gate *g, enum jobq_point pt)
{
	pthread_mutex_lock(&g->lock);
	g->hold[pt] = true;
	g->reached[pt] = false;
	g->freed[pt] = false;
	pthread_mutex_unlock(&g->lock);
}

/* Waits until a thread reached pt; returns the id it reported there. */
static uint64_t tj_wait_reached(struct tj_gate *g, enum jobq_point pt)
{
	pthread_mutex_lock(&g->lock);
	bool ok = tj_wait_flag(g, &g->reached[pt]);
	uint64_t id = g->at[pt];
	pthread_mutex_unlock(&g->lock);
	CU_ASSERT_TRUE_FATAL(ok);
	return id;
}

static void tj_free(struct tj_gate *g, enum jobq_point pt)
{
	pthread_mutex_lock(&g->lock);
	g->freed[pt] = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

/* A jobq call made on a thread of its own, so that the test can hold it at a point. */
struct tj_call {
	struct tj_world *w;
	uint64_t id;
	int rc;
	struct errbuf err;
	pthread_t thread;
};

static void *tj_submit_main(void *arg)
{
	struct tj_call *c = arg;
	struct scanner_opts so = {.root = c->w->tree, .workers = 2, .max_depth = -1};
	errbuf_clear(&c->err);
	c->rc = jobq_submit(c->w->jq, &so, "{}", &c->id, &c->err);
	return NULL;
}

static void *tj_delete_main(void *arg)
{
	struct tj_call *c = arg;
	errbuf_clear(&c->err);
	c->rc = jobq_delete(c->w->jq, c->id, &c->err);
	return NULL;
}

static void *tj_cancel_main(void *arg)
{
	struct tj_call *c = arg;
	errbuf_clear(&c->err);
	c->rc = jobq_cancel(c->w->jq, c->id, &c->err);
	return NULL;
}

static void tj_call_start(struct tj_call *c, struct tj_world *w, uint64_t id, void *(*fn)(void *))
{
	memset(c, 0, sizeof(*c));
	c->w = w;
	c->id = id;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&c->thread, NULL, fn, c), 0);
}

static int tj_list_has_cb(void *ctx, const struct store_scan *scan)
{
	uint64_t *want = ctx;
	if (scan->id == *want)
		*want = 0;
	return 0;
}

static int tj_walk_cb(void *ctx, const char *path, size_t len, const struct entry *e)
{
	(void)path;
	(void)len;
	(void)e;
	(*(unsigned *)ctx)++;
	return 0;
}

/* Scan `id` is gone for every reader: the manager, the record, the list, the entries. */
static void tj_assert_gone(struct tj_world *w, uint64_t id)
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
static void tj_assert_idle(struct tj_world *w)
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
static void test_delete_between_create_and_queue(void)
{
	struct tj_world w;
	tj_open(&w, 1);
	/* The only runner is busy, so the raced scan would stay queued. */
	uint64_t busy = tj_hold(&w, JOBQ_POINT_STARTED);
	tj_arm(&w.gate, JOBQ_POINT_CREATED);
	struct tj_call sub, del;
	tj_call_start(&sub, &w, 0, tj_submit_main);
	uint64_t id = tj_wait_reached(&w.gate, JOBQ_POINT_CREATED);
	CU_ASSERT_NOT_EQUAL(id, 0);
	/* The record exists; the job is not queued yet. */
	CU_ASSERT_EQUAL(tj_stored(&w, id, NULL, NULL, 0), SCAN_QUEUED);
	CU_ASSERT_EQUAL(tj_live(&w, id), -1);

	tj_call_start(&del, &w, id, tj_delete_main);
	/* The tombstone is committed, and the delete waits for the submission to queue its job. */
	CU_ASSERT_EQUAL(tj_wait_reached(&w.gate, JOBQ_POINT_TOMBSTONED), id);
	CU_ASSERT_EQUAL(tj_wait_reached(&w.gate, JOBQ_POINT_SETTLE), id);
	CU_ASSERT_EQUAL(tj_stored(&w, id, NULL, NULL, 0), -ENOENT);
	tj_free(&w.gate, JOBQ_POINT_CREATED);
	pthread_join(sub.thread, NULL);
	pthread_join(del.thread, NULL);
	CU_ASSERT_EQUAL(sub.rc, 0);
	CU_ASSERT_EQUAL(sub.id, id);
	CU_ASSERT_EQUAL(del.rc, 0);

	tj_assert_gone(&w, id);
	unsigned running = 0, queued = 9;
	jobq_counts(w.jq, &running, &queued);
	CU_ASSERT_EQUAL(running, 1);
	CU_ASSERT_EQUAL(queued, 0);
	tj_release(&w.gate);
	CU_ASSERT_TRUE(tj_wait_finished(&w.gate, busy, 1));
	tj_assert_idle(&w);
	tj_assert_gone(&w, id);
	tj_close(&w);
}

/*
 * The same race when a runner takes the new scan before the delete looks for it: the delete
 * finds it running and cancels it; the runner's writes meet the tombstone and it drops the scan
 * without writing its record back.
 */
static void test_delete_between_create_and_run(void)
{
	struct tj_world w;
	tj_open(&w, 1);
	tj_arm(&w.gate, JOBQ_POINT_CREATED);
	tj_arm(&w.gate, JOBQ_POINT_TOMBSTONED);
	tj_arm(&w.gate, JOBQ_POINT_STARTED);
	struct tj_call sub, del;
	tj_call_start(&sub, &w, 0, tj_submit_main);
	uint64_t id = tj_wait_reached(&w.gate, JOBQ_POINT_CREATED);
	tj_call_start(&del, &w, id, tj_delete_main);
	CU_ASSERT_EQUAL(tj_wait_reached(&w.gate, JOBQ_POINT_TOMBSTONED), id);
	/* The submission queues it, and the free runner takes it (its start write meets -ENOENT). */
	tj_free(&w.gate, JOBQ_POINT_CREATED);
	pthread_join(sub.thread, NULL);
	CU_ASSERT_EQUAL(sub.rc, 0);
	CU_ASSERT_EQUAL(tj_wait_reached(&w.gate, JOBQ_POINT_STARTED), id);
	tj_free(&w.gate, JOBQ_POINT_TOMBSTONED);
	pthread_join(del.thread, NULL);
	CU_ASSERT_EQUAL(del.rc, 0);
	/* Held by its runner, deleted: gone for readers already. */
	CU_ASSERT_EQUAL(tj_live(&w, id), -ENOENT);
	CU_ASSERT_TRUE(jobq_deleted(w.jq, id));
	struct jobq_view v;
	struct errbuf err;
	errbuf_clear(&err);
	CU_ASSERT_EQUAL(jobq_view_get(w.jq, id, 0, &v, &err), -ENOENT);
	jobq_view_clear(&v);

	tj_free(&w.gate, JOBQ_POINT_STARTED);
	/* Once from jobq_delete(), once when its runner let it go. */
	CU_ASSERT_TRUE(tj_wait_finished(&w.gate, id, 2));
	tj_assert_idle(&w);
	tj_assert_gone(&w, id);
	tj_restart(&w);
	tj_assert_gone(&w, id);
	tj_close(&w);
}

/* A cancel in the same window waits for the job too, and cancels it, not "already queued". */
static void test_cancel_between_create_and_queue(void)
{
	struct tj_world w;
	tj_open(&w, 1);
	uint64_t busy = tj_hold(&w, JOBQ_POINT_STARTED);
	tj_arm(&w.gate, JOBQ_POINT_CREATED);
	struct tj_call sub, can;
	tj_call_start(&sub, &w, 0, tj_submit_main);
	uint64_t id = tj_wait_reached(&w.gate, JOBQ_POINT_CREATED);
	tj_call_start(&can, &w, id, tj_cancel_main);
	CU_ASSERT_EQUAL(tj_wait_reached(&w.gate, JOBQ_POINT_SETTLE), id);
	tj_free(&w.gate, JOBQ_POINT_CREATED);
	pthread_join(sub.thread, NULL);
	pthread_join(can.thread, NULL);
	CU_ASSERT_EQUAL(sub.rc, 0);
	CU_ASSERT_EQUAL(can.rc, 0);
	if (can.rc < 0)
		fprintf(stderr, "jobq_cancel: %s\n", can.err.msg);
	CU_ASSERT_EQUAL(tj_stored(&w, id, NULL, NULL, 0), SCAN_CANCELLED);
	CU_ASSERT_EQUAL(tj_live(&w, id), -1);
	tj_release(&w.gate);
	CU_ASSERT_TRUE(tj_wait_finished(&w.gate, busy, 1));
	tj_assert_idle(&w);
	tj_close(&w);
}

/* ---------------------------------------------------------------- cost of the readers */

struct tj_overlay_acc {
	struct jobq *jq;
	uint64_t by_state[SCAN_STATE_COUNT];
};

/* What /stats and /metrics do per stored record (api_scan_states()). */
static int tj_overlay_cb(void *ctx, const struct store_scan *scan)
{
	struct tj_overlay_acc *a = ctx;
	struct jobq_view v;
	if (jobq_view_overlay(a->jq, scan, 0, &v) == 0 && (unsigned)v.state < SCAN_STATE_COUNT)
		a->by_state[v.state]++;
	jobq_view_clear(&v);
	return 0;
}

/*
 * Defect 11: /stats and /metrics overlay every stored record with the manager's view, which
 * walked the list of held scans per record: quadratic in the queued scans. Counted, not timed:
 * with many scans queued, one overlay per record looks at O(1) slots each, jobq_metrics()
 * visits the running scan only, and deleting every queued scan costs O(1) lookups each.
 */
static void test_readers_linear(void)
{
	enum { N = 1500 };
	struct tj_world w;
	tj_open_q(&w, 1, N);
	uint64_t busy = tj_hold(&w, JOBQ_POINT_STARTED);
	uint64_t *ids = calloc(N, sizeof(*ids));
	CU_ASSERT_PTR_NOT_NULL_FATAL(ids);
	for (unsigned i = 0; i < N; i++)
		ids[i] = tj_submit(&w, w.tree);

	struct jobq_work before, after;
	jobq_test_work(w.jq, &before);
	CU_ASSERT_EQUAL(before.held, N + 1);
	struct tj_overlay_acc acc = {.jq = w.jq};
	struct errbuf err;
	errbuf_clear(&err);
	CU_ASSERT_EQUAL(store_scan_list(w.store, 0, 0, tj_overlay_cb, &acc, &err), 0);
	CU_ASSERT_EQUAL(acc.by_state[SCAN_QUEUED], N);
	CU_ASSERT_EQUAL(acc.by_state[SCAN_RUNNING], 1);
	jobq_test_work(w.jq, &after);
	uint64_t lookups = after.lookups - before.lookups, probes = after.probes - before.probes;
	fprintf(stderr, "  %u records overlaid: %llu lookups, %llu slots looked at\n", N + 1,
		(unsigned long long)lookups, (unsigned long long)probes);
	CU_ASSERT_EQUAL(lookups, N + 1);
	CU_ASSERT_TRUE(probes <= 3 * lookups);

	struct jobq_metrics m;
	jobq_test_work(w.jq, &before);
	jobq_metrics(w.jq, &m);
	jobq_test_work(w.jq, &after);
	CU_ASSERT_EQUAL(m.running, 1);
	CU_ASSERT_EQUAL(m.queued, N);
	CU_ASSERT_EQUAL(after.visits - before.visits, 1);

	jobq_test_work(w.jq, &before);
	for (unsigned i = 0; i < N; i++) {
		errbuf_clear(&err);
		CU_ASSERT_EQUAL(jobq_delete(w.jq, ids[i], &err), 0);
	}
	jobq_test_work(w.jq, &after);
	lookups = after.lookups - before.lookups;
	probes = after.probes - before.probes;
	CU_ASSERT_TRUE(lookups <= 3 * N);
	CU_ASSERT_TRUE(probes <= 3 * lookups);
	CU_ASSERT_EQUAL(after.held, 1);
	unsigned running = 0, queued = 9;
	jobq_counts(w.jq, &running, &queued);
	CU_ASSERT_EQUAL(queued, 0);
	tj_release(&w.gate);
	CU_ASSERT_TRUE(tj_wait_finished(&w.gate, busy, 1));
	tj_assert_idle(&w);
	free(ids);
	tj_close(&w);
}

/* ---------------------------------------------------------------- shutdown */

static void *tj_shutdown_main(void *arg)
{
	jobq_shutdown(arg);
	return NULL;
}

static void test_shutdown_at_each_point(void)
{
	for (size_t i = 0; i < 4; i++) {
		enum jobq_point pt = tj_points[i];
		fprintf(stderr, "  shutdown, held at %s\n", tj_point_names[i]);
		struct tj_world w;
		tj_open(&w, 1);
		uint64_t id = tj_hold(&w, pt);
		uint64_t queued = tj_submit(&w, w.tree);
		/* jobq_shutdown() joins the held runner: run it beside, up to its join. */
		pthread_t t;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, tj_shutdown_main, w.jq), 0);
		pthread_mutex_lock(&w.gate.lock);
		CU_ASSERT_TRUE(tj_wait_flag(&w.gate, &w.gate.shutdown_seen));
		pthread_mutex_unlock(&w.gate.lock);
		/* Stopping: no new scans, and a running one is already being stopped. */
		struct scanner_opts so = {.root = w.tree, .workers = 1, .max_depth = -1};
		struct errbuf err;
		errbuf_clear(&err);
		uint64_t nid;
		CU_ASSERT_EQUAL(jobq_submit(w.jq, &so, "{}", &nid, &err), -ESHUTDOWN);
		if (pt != JOBQ_POINT_FINAL) {
			errbuf_clear(&err);
			CU_ASSERT_EQUAL(jobq_cancel(w.jq, id, &err), -EALREADY);
		}

		tj_release(&w.gate);
		pthread_join(t, NULL);
		struct store_scan_totals tot = {0};
		if (tj_stoppable(pt)) {
			CU_ASSERT_EQUAL(tj_stored(&w, id, &tot, NULL, 0), SCAN_INTERRUPTED);
		} else {
			CU_ASSERT_EQUAL(tj_stored(&w, id, &tot, NULL, 0), SCAN_COMPLETED);
			tj_assert_complete_totals(&tot);
		}
		CU_ASSERT_EQUAL(tj_stored(&w, queued, NULL, NULL, 0), SCAN_INTERRUPTED);
		CU_ASSERT_EQUAL(tj_live(&w, id), -1);
		CU_ASSERT_EQUAL(tj_live(&w, queued), -1);
		tj_close(&w);
	}
}

/* ---------------------------------------------------------------- scanner_create failures */

/* The runner's scanner_create() fails (a relative root): the record says failed, with why. */
static void test_scanner_create_failure_job(void)
{
	struct tj_world w;
	tj_open(&w, 1);
	uint64_t id = tj_submit(&w, "not/absolute");
	CU_ASSERT_TRUE(tj_wait_finished(&w.gate, id, 1));
	char error[1024] = "";
	CU_ASSERT_EQUAL(tj_stored(&w, id, NULL, error, sizeof(error)), SCAN_FAILED);
	CU_ASSERT_PTR_NOT_NULL(strstr(error, "absolute"));
	struct jobq_view v;
	struct errbuf err;
	errbuf_clear(&err);
	CU_ASSERT_EQUAL(jobq_view_get(w.jq, id, JOBQ_VIEW_COUNTERS, &v, &err), 0);
	CU_ASSERT_EQUAL(v.state, SCAN_FAILED);
	CU_ASSERT_PTR_NOT_NULL(v.error);
	CU_ASSERT_PTR_NOT_NULL(v.counters_json);
	CU_ASSERT_NOT_EQUAL(v.finished_ns, 0);
	jobq_view_clear(&v);
	tj_close(&w);
}

/*
 * The one-shot CLI's scanner_create() fails (more workers than the engine takes, which the
 * option parser would refuse, so the config is built here): the record must say failed with
 * the message, not stay running, and the exit status is 1.
 */
static void test_scanner_create_failure_cli(void)
{
	char dir[64], tree[PATH_MAX], data[PATH_MAX];
	tsu_tmpdir(dir);
	snprintf(tree, sizeof(tree), "%s/tree", dir);
	snprintf(data, sizeof(data), "%s/data", dir);
	tj_tree(tree);
	struct config cfg = {.data_dir = data, .map_size = 64ull << 20, .scan_root = tree,
			     .scan = {.root = tree, .workers = 300, .max_depth = -1}};
	/* The summary goes to stdout; keep the test's output readable. */
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	int null = open("/dev/null", O_WRONLY);
	CU_ASSERT_FATAL(saved >= 0 && null >= 0);
	dup2(null, STDOUT_FILENO);
	int status = cli_scan(&cfg);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(null);
	CU_ASSERT_EQUAL(status, 1);

	struct store *s = tsu_open(data, 64ull << 20);
	struct store_scan rec = {0};
	struct errbuf err;
	errbuf_clear(&err);
	CU_ASSERT_EQUAL(store_scan_get(s, 1, &rec, &err), 0);
	CU_ASSERT_EQUAL(rec.state, SCAN_FAILED);
	CU_ASSERT_PTR_NOT_NULL(rec.error);
	if (rec.error)
		CU_ASSERT_PTR_NOT_NULL(strstr(rec.error, "workers"));
	CU_ASSERT_NOT_EQUAL(rec.finished_ns, 0);
	store_scan_clear(&rec);
	store_close(s);
	tsu_rmrf(dir);
}

/* ---------------------------------------------------------------- scanner_stats */

struct tj_stats_arg {
	struct scanner *sc;
	unsigned bad;
};

static void *tj_stats_main(void *arg)
{
	struct tj_stats_arg *a = arg;
	for (int i = 0; i < 2000; i++) {
		struct scanner_stats st;
		if (scanner_stats(a->sc, &st) < 0 || st.workers != 2 || !st.per_worker ||
		    !st.slowest_scandir_path || strlen(st.slowest_scandir_path) != st.slowest_scandir_len)
			a->bad++;
		scanner_stats_clear(&st);
	}
	return NULL;
}

/* Two threads reading the counters of one scanner at once each get whole, separate copies. */
static void test_scanner_stats_concurrent(void)
{
	char dir[64], tree[PATH_MAX], data[PATH_MAX];
	tsu_tmpdir(dir);
	snprintf(tree, sizeof(tree), "%s/tree", dir);
	snprintf(data, sizeof(data), "%s/data", dir);
	tj_tree(tree);
	struct store *s = tsu_open(data, 64ull << 20);
	uint64_t id = tsu_scan(s, SCAN_RUNNING, tree);
	struct scanner_opts so = {.root = tree, .workers = 2, .max_depth = -1, .scan_id = id};
	struct scanner *sc = NULL;
	struct errbuf err;
	errbuf_clear(&err);
	CU_ASSERT_EQUAL_FATAL(scanner_create(&sc, &so, s, &err), 0);
	CU_ASSERT_EQUAL(scanner_run(sc, &err), SCANNER_DONE);
	struct tj_stats_arg a[2] = {{.sc = sc}, {.sc = sc}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, tj_stats_main, &a[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CU_ASSERT_EQUAL(a[0].bad, 0);
	CU_ASSERT_EQUAL(a[1].bad, 0);
	struct scanner_stats st;
	CU_ASSERT_EQUAL(scanner_stats(sc, &st), 0);
	CU_ASSERT_EQUAL(st.scandir_calls, TJ_DIRS + 1);
	uint64_t dirs = 0;
	for (unsigned i = 0; i < st.workers; i++)
		dirs += st.per_worker[i].dirs;
	CU_ASSERT_EQUAL(dirs, TJ_DIRS + 1);
	scanner_stats_clear(&st);
	CU_ASSERT_PTR_NULL(st.per_worker);
	scanner_destroy(sc);
	store_close(s);
	tsu_rmrf(dir);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"finish while held at each point", test_finish_at_each_point},
		{"cancel while held at each point", test_cancel_at_each_point},
		{"delete while held at each point", test_delete_at_each_point},
		{"shutdown while held at each point", test_shutdown_at_each_point},
		{"delete between a scan's record and its queueing", test_delete_between_create_and_queue},
		{"delete between a scan's record and its run", test_delete_between_create_and_run},
		{"cancel between a scan's record and its queueing", test_cancel_between_create_and_queue},
		{"readers cost O(1) per scan record", test_readers_linear},
		{"scanner_create failure in the job manager", test_scanner_create_failure_job},
		{"scanner_create failure in the one-shot CLI", test_scanner_create_failure_cli},
		{"scanner_stats from two threads", test_scanner_stats_concurrent},
		{NULL, NULL},
	};
	return unit_run("job", tests);
}
