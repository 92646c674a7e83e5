/* test_store_concurrent.c: two scans written at once from two threads (run it under TSan too). */
#include <inttypes.h>
#include <pthread.h>

#include "tests/unit/test_store_util.h"

struct conc_arg {
	struct store *s;
	uint64_t scan;
};

/* A reader and deleter that runs beside the writers: walks the previous round's scans, pages
 * of 50, then deletes them. */
struct churn_arg {
	struct store *s;
	uint64_t scans[2];
	size_t walked[2];
	int walk_rc[2], delete_rc[2];
};

static int churn_count(void *ctx, const char *path, size_t len, const struct entry *e)
{
	(void)path;
	(void)len;
	(void)e;
	++*(size_t *)ctx;
	return 0;
}

static void *churn_main(void *p)
{
	struct churn_arg *c = p;
	struct errbuf err = {0};
	for (int i = 0; i < 2; i++) {
		struct store_pos pos, next;
		bool more = true, first = true;
		while (more && c->walk_rc[i] == 0) {
			c->walk_rc[i] = store_walk(c->s, c->scans[i], NULL, first ? NULL : &pos, 50,
						   churn_count, &c->walked[i], &next, &more, &err);
			pos = next;
			first = false;
		}
		c->delete_rc[i] = store_scan_delete(c->s, c->scans[i], &err);
	}
	return c;
}

static void *conc_main(void *p)
{
	struct conc_arg *a = p;
	struct errbuf err = {0};
	uint64_t root, id;
	char name[16];
	/* A level of 150 directories of 20 files each, interleaved with the other writer's. */
	struct store_batch *b;
	if (store_batch_create(&b, &err) < 0)
		return NULL;
	for (int i = 0; i < 150; i++) {
		snprintf(name, sizeof(name), "d%03d", i);
		struct entry e = tsu_entry(name, ENTRY_DIR, (uint64_t)i);
		store_batch_add(b, &e, &err);
	}
	if (store_put_dir(a->s, a->scan, 0, "", 0, b, &root, &err) < 0)
		return NULL;
	store_batch_destroy(b);
	for (int i = 0; i < 150; i++) {
		snprintf(name, sizeof(name), "d%03d", i);
		if (tsu_put_files(a->s, a->scan, root, name, 20, &id, &err) < 0)
			return NULL;
		if (i % 10 == 0)
			store_put_error(a->s, a->scan, name, 4, "open", EACCES, &err);
	}
	store_flush(a->s, a->scan, &err);
	struct store_scan up = {.id = a->scan, .state = SCAN_COMPLETED, .root = "/c", .root_len = 2};
	store_scan_update(a->s, &up, &err);
	return a;
}

static int count_err_cb(void *ctx, const struct store_error *e)
{
	(void)e;
	++*(size_t *)ctx;
	return 0;
}

static void test_two_scans_concurrently(void)
{
	char dir[64];
	struct store *s = tsu_open(tsu_tmpdir(dir), 0);
	uint64_t prev[2] = {0, 0};
	for (int round = 0; round < 4; round++) {
		struct conc_arg args[2];
		struct churn_arg churn = {.s = s, .scans = {prev[0], prev[1]}};
		pthread_t th[3];
		for (int i = 0; i < 2; i++) {
			args[i] = (struct conc_arg){.s = s, .scan = tsu_scan(s, SCAN_RUNNING, "/c")};
			CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, conc_main, &args[i]), 0);
		}
		if (round > 0)
			CU_ASSERT_EQUAL_FATAL(pthread_create(&th[2], NULL, churn_main, &churn), 0);
		for (int i = 0; i < (round > 0 ? 3 : 2); i++) {
			void *ret;
			pthread_join(th[i], &ret);
			CU_ASSERT_PTR_NOT_NULL(ret);
		}
		for (int i = 0; round > 0 && i < 2; i++) {
			CU_ASSERT_EQUAL(churn.walk_rc[i], 0);
			CU_ASSERT_EQUAL(churn.walked[i], 150 * 21);
			CU_ASSERT_EQUAL(churn.delete_rc[i], 0);
		}
		for (int i = 0; i < 2; i++) {
			struct tsu_list l = {0};
			CU_ASSERT_EQUAL(tsu_walk_all(s, args[i].scan, NULL, 333, &l), 0);
			CU_ASSERT_EQUAL_FATAL(l.n, 150 * 21);
			CU_ASSERT_STRING_EQUAL(l.paths[0], "d000");
			CU_ASSERT_STRING_EQUAL(l.paths[1], "d000/f0000000");
			CU_ASSERT_STRING_EQUAL(l.paths[21], "d001");
			CU_ASSERT_STRING_EQUAL(l.paths[150 * 21 - 1], "d149/f0000019");
			for (size_t k = 1; k < l.n; k++)
				CU_ASSERT_TRUE(strcmp(l.paths[k - 1], l.paths[k]) < 0);
			tsu_list_free(&l);
			struct store_scan sc;
			struct errbuf err = {0};
			CU_ASSERT_EQUAL(store_scan_get(s, args[i].scan, &sc, &err), 0);
			CU_ASSERT_EQUAL(sc.state, SCAN_COMPLETED);
			store_scan_clear(&sc);
			uint64_t next;
			bool more;
			size_t nerr = 0;
			CU_ASSERT_EQUAL(store_errors(s, args[i].scan, 0, 64, count_err_cb, &nerr,
						     &next, &more, &err), 0);
			CU_ASSERT_EQUAL(nerr, 15);
			CU_ASSERT_EQUAL(next, 15);
			prev[i] = args[i].scan;
		}
	}
	store_close(s);
	tsu_rmrf(dir);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"two scans written concurrently", test_two_scans_concurrently},
		{NULL, NULL},
	};
	return unit_run("store_concurrent", tests);
}
