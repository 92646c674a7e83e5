/* test_job_life.c: the job manager beyond one scan's races: readers' cost, shutdown at each
 * point, scanner_create failures (service and CLI), scanner_stats from two threads. */
#include "tests/unit/test_job_util.h"

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
		{"shutdown while held at each point", test_shutdown_at_each_point},
		{"readers cost O(1) per scan record", test_readers_linear},
		{"scanner_create failure in the job manager", test_scanner_create_failure_job},
		{"scanner_create failure in the one-shot CLI", test_scanner_create_failure_cli},
		{"scanner_stats from two threads", test_scanner_stats_concurrent},
		{NULL, NULL},
	};
	return unit_run("job life", tests);
}
