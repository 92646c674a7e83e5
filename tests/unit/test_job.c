/* test_job.c: the job manager's races, each replayed deterministically by holding a runner. */
#include "tests/unit/test_job_util.h"

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

int main(void)
{
	static const struct unit_test tests[] = {
		{"finish while held at each point", test_finish_at_each_point},
		{"cancel while held at each point", test_cancel_at_each_point},
		{"delete while held at each point", test_delete_at_each_point},
		{"delete between a scan's record and its queueing", test_delete_between_create_and_queue},
		{"delete between a scan's record and its run", test_delete_between_create_and_run},
		{"cancel between a scan's record and its queueing", test_cancel_between_create_and_queue},
		{NULL, NULL},
	};
	return unit_run("job", tests);
}
