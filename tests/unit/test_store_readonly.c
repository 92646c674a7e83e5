/*
 * test_store_readonly.c: reading a store beside its writer (STORE_OPEN_READ_ONLY), and the
 * progress samples kept with a scan.
 */
#include "tests/unit/test_store_util.h"

#include <sys/stat.h>

/* A read-only open sees what the writer committed, while the writer holds the directory. */
static void test_read_beside_writer(void)
{
	char dir[64];
	tsu_tmpdir(dir);
	struct store *w = tsu_open(dir, 0);
	uint64_t id = tsu_scan(w, SCAN_COMPLETED, "/srv/a");

	struct store_opts o = {.dir = dir, .flags = STORE_OPEN_READ_ONLY};
	struct errbuf err = {0};
	struct store *r = NULL;
	int rc = store_open(&r, &o, &err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	struct store_scan sc;
	CU_ASSERT_EQUAL(store_scan_get(r, id, &sc, &err), 0);
	CU_ASSERT_EQUAL(sc.state, SCAN_COMPLETED);
	CU_ASSERT_STRING_EQUAL(sc.root, "/srv/a");
	store_scan_clear(&sc);

	/* A scan the writer adds later is seen by the next read transaction. */
	uint64_t id2 = tsu_scan(w, SCAN_RUNNING, "/srv/b");
	CU_ASSERT_EQUAL(store_scan_get(r, id2, &sc, &err), 0);
	store_scan_clear(&sc);

	/* Writes are refused, not queued to a writer that does not exist. */
	struct store_scan nw = {.state = SCAN_QUEUED, .root = (char *)"/x", .root_len = 2,
				.options_json = (char *)"{}"};
	CU_ASSERT_EQUAL(store_scan_create(r, &nw, &err), -EROFS);
	CU_ASSERT_EQUAL(store_scan_tombstone(r, id, &err), -EROFS);
	struct store_sample one = {.t_ms = 1};
	CU_ASSERT_EQUAL(store_scan_samples_put(r, id, &one, 1, &err), -EROFS);

	/* The writer's lock is still the writer's: a second read-write open is refused. */
	struct store *w2 = NULL;
	struct store_opts wo = {.dir = dir};
	CU_ASSERT_EQUAL(store_open(&w2, &wo, &err), -EBUSY);
	store_close(r);
	store_close(w);
	tsu_rmrf(dir);
}

/* A directory with no store is named, and nothing is created in it. */
static void test_no_store(void)
{
	char dir[64];
	tsu_tmpdir(dir);
	char sub[128];
	snprintf(sub, sizeof(sub), "%s/none", dir);
	struct store_opts o = {.dir = sub, .flags = STORE_OPEN_READ_ONLY};
	struct errbuf err = {0};
	struct store *r = NULL;
	CU_ASSERT_EQUAL(store_open(&r, &o, &err), -ENOENT);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, sub));
	struct stat st;
	CU_ASSERT_EQUAL(stat(sub, &st), -1);
	tsu_rmrf(dir);
}

/* Samples round-trip, survive a reopen, and go with the scan when it is deleted. */
static void test_samples(void)
{
	char dir[64];
	tsu_tmpdir(dir);
	struct store *s = tsu_open(dir, 0);
	uint64_t id = tsu_scan(s, SCAN_COMPLETED, "/srv/a");
	struct errbuf err = {0};
	struct store_sample *got = NULL;
	size_t n = 99;
	CU_ASSERT_EQUAL(store_scan_samples_get(s, id, &got, &n, &err), 0);
	CU_ASSERT_EQUAL(n, 0);
	struct store_sample v[3];
	for (unsigned i = 0; i < 3; i++)
		v[i] = (struct store_sample){.t_ms = 1000 * i, .entries = 10 * i, .dirs = i,
					     .files = 9 * i, .bytes = (uint64_t)1 << (40 + i),
					     .errors = i};
	CU_ASSERT_EQUAL(store_scan_samples_put(s, id, v, 3, &err), 0);
	CU_ASSERT_EQUAL(store_scan_samples_put(s, id + 100, v, 3, &err), -ENOENT);
	store_close(s);
	s = tsu_open(dir, 0);
	CU_ASSERT_EQUAL(store_scan_samples_get(s, id, &got, &n, &err), 0);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_EQUAL(memcmp(got, v, sizeof(v)), 0);
	free(got);
	CU_ASSERT_EQUAL(store_scan_delete(s, id, &err), 0);
	CU_ASSERT_EQUAL(store_scan_samples_get(s, id, &got, &n, &err), -ENOENT);
	store_close(s);
	tsu_rmrf(dir);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"read-only open beside the writer: reads, refuses writes", test_read_beside_writer},
		{"read-only open of a directory with no store", test_no_store},
		{"progress samples: round trip, reopen, deletion", test_samples},
		{NULL, NULL},
	};
	return unit_run("store_readonly", tests);
}
